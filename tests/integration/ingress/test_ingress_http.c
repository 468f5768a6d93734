/* Integration tests of ingress-auth's HTTP contract (DESIGN.md, openapi.yaml,
 * error.schema.json) over real HTTP: the ingress-auth and publisher binaries
 * run as child processes against the real Redis and Kafka; every status code
 * of POST /orders is provoked and its body checked byte for byte. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../services/ordersctl/sign.h"
#include "../support/itest_env.h"
#include "iing.h"

#define IHTTP_SECRET "itest-secret-one"
#define IHTTP_SECRET2 "itest-secret-two"
#define IHTTP_SLOW_SECRET "itest-slow-secret"

static struct iing_stack ihttp;
static char ihttp_client[64], ihttp_slow[64];

static void ihttp_setup(void) {
    char json[1024];
    memset(&ihttp, 0, sizeof ihttp);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_unique("ih", ihttp_client, sizeof ihttp_client);
    itest_unique("ihslow", ihttp_slow, sizeof ihttp_slow);
    snprintf(json, sizeof json,
             "{\"%s\":{\"secrets\":[\"%s\",\"%s\"],\"rate_per_second\":10000,\"burst\":10000},"
             "\"%s\":{\"secrets\":[\"%s\"],\"rate_per_second\":0.01,\"burst\":2}}",
             ihttp_client, IHTTP_SECRET, IHTTP_SECRET2, ihttp_slow, IHTTP_SLOW_SECRET);
    iing_start_publisher(&ihttp);
    iing_start_ingress(&ihttp, json, NULL);
}

static void ihttp_teardown(void) {
    iing_cleanup(&ihttp);
    curl_global_cleanup();
}

TestSuite(ingress_http, .init = ihttp_setup, .fini = ihttp_teardown, .timeout = 90);

/* Asserts status, exact body and an X-Request-Id on the reply. */
static void ihttp_expect(const struct iing_reply *r, long status, const char *body) {
    char rid[200];
    cr_assert_eq(r->status, status, "status %ld, want %ld; body %s", r->status, status,
                 strbuf_str(&r->body));
    if (body)
        cr_assert_str_eq(strbuf_str(&r->body), body);
    cr_assert(iing_header(r, "X-Request-Id", rid, sizeof rid) && rid[0],
              "no X-Request-Id on the %ld", status);
    char ct[100];
    cr_assert(iing_header(r, "Content-Type", ct, sizeof ct));
    cr_assert_str_eq(ct, "application/json");
}

static void ihttp_new_order(char *body, size_t len, char *order_id, size_t idlen, int qty) {
    itest_unique("ord", order_id, idlen);
    iing_order(body, len, order_id, qty);
}

Test(ingress_http, other_paths_are_404_for_every_method) {
    const char *paths[] = {"/", "/order", "/orders/", "/orders/1", "/v1/publish", "/healthz"};
    const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    const char *hdr[] = {"Content-Type: application/json", NULL};
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            struct iing_reply r;
            iing_request(ihttp.ing_port, methods[m], paths[p], hdr, "{}", 2, 0, &r);
            ihttp_expect(&r, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}");
            iing_reply_release(&r);
        }
    }
}

Test(ingress_http, other_methods_on_orders_are_405_with_allow_post) {
    const char *methods[] = {"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        struct iing_reply r;
        char allow[64];
        iing_request(ihttp.ing_port, methods[m], "/orders", NULL, NULL, 0, 0, &r);
        ihttp_expect(&r, 405,
                     strcmp(methods[m], "HEAD") == 0
                         ? ""
                         : "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"only POST is "
                           "allowed\"}}");
        cr_assert(iing_header(&r, "Allow", allow, sizeof allow), "%s: no Allow", methods[m]);
        cr_assert_str_eq(allow, "POST");
        iing_reply_release(&r);
    }
}

Test(ingress_http, content_type_must_be_json_else_415) {
    const char *bad[] = {NULL,
                         "Content-Type: text/plain",
                         "Content-Type: application/jsonx",
                         "Content-Type: application/json-patch+json",
                         "Content-Type: application/x-www-form-urlencoded",
                         "Content-Type: application/json; charset=iso-8859-1"};
    char body[512], oid[80];
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *hdr[] = {bad[i] ? bad[i] : "Content-Type:", NULL};
        struct iing_reply r;
        iing_request(ihttp.ing_port, "POST", "/orders", hdr, body, strlen(body), 0, &r);
        ihttp_expect(&r, 415,
                     "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"Content-Type "
                     "must be application/json\"}}");
        iing_reply_release(&r);
    }
    /* The charset parameter is allowed: the signed order goes through. */
    const char *ok[] = {"Content-Type: application/json; charset=utf-8", NULL};
    struct iing_reply r;
    char hex[65], hc[100], ht[40], hs[100];
    long long ts = (long long)time(NULL);
    cr_assert_eq(
        ordersctl_sign_hex(IHTTP_SECRET, strlen(IHTTP_SECRET), ts, body, strlen(body), hex), 0);
    snprintf(hc, sizeof hc, "X-Client-Id: %s", ihttp_client);
    snprintf(ht, sizeof ht, "X-Timestamp: %lld", ts);
    snprintf(hs, sizeof hs, "X-Signature: %s", hex);
    const char *hdr[] = {ok[0], hc, ht, hs, NULL};
    iing_request(ihttp.ing_port, "POST", "/orders", hdr, body, strlen(body), 0, &r);
    ihttp_expect(&r, 202, NULL);
    iing_reply_release(&r);
}

Test(ingress_http, body_over_the_limit_is_413_by_length_and_by_chunked_stream) {
    const char *expect = "{\"error\":{\"code\":\"too_large\",\"message\":\"body exceeds 65536 "
                         "bytes\"}}";
    const char *hdr[] = {"Content-Type: application/json", "X-Client-Id: x", NULL};
    size_t n = 65537;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    struct iing_reply r;
    iing_request(ihttp.ing_port, "POST", "/orders", hdr, big, n, 0, &r);
    ihttp_expect(&r, 413, expect);
    iing_reply_release(&r);
    iing_request(ihttp.ing_port, "POST", "/orders", hdr, big, n, 1, &r);
    ihttp_expect(&r, 413, expect);
    iing_reply_release(&r);
    /* exactly the limit is not too large (it fails later, at auth) */
    iing_request(ihttp.ing_port, "POST", "/orders", hdr, big, n - 1, 1, &r);
    ihttp_expect(&r, 401, NULL);
    iing_reply_release(&r);
    free(big);

    /* a signed order sent chunked is read whole and accepted */
    char body[512], oid[80], hex[65], hc[100], ht[40], hs[100];
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 3);
    long long ts = (long long)time(NULL);
    cr_assert_eq(
        ordersctl_sign_hex(IHTTP_SECRET, strlen(IHTTP_SECRET), ts, body, strlen(body), hex), 0);
    snprintf(hc, sizeof hc, "X-Client-Id: %s", ihttp_client);
    snprintf(ht, sizeof ht, "X-Timestamp: %lld", ts);
    snprintf(hs, sizeof hs, "X-Signature: sha256=%s", hex);
    const char *sh[] = {"Content-Type: application/json", hc, ht, hs, NULL};
    iing_request(ihttp.ing_port, "POST", "/orders", sh, body, strlen(body), 1, &r);
    ihttp_expect(&r, 202, NULL);
    iing_reply_release(&r);
}

Test(ingress_http, request_id_is_echoed_when_sane_and_made_up_otherwise) {
    struct iing_reply r;
    char rid[200];
    const char *good[] = {"X-Request-Id: abc.DEF_123-xyz", NULL};
    iing_request(ihttp.ing_port, "GET", "/nope", good, NULL, 0, 0, &r);
    cr_assert(iing_header(&r, "X-Request-Id", rid, sizeof rid));
    cr_assert_str_eq(rid, "abc.DEF_123-xyz");
    iing_reply_release(&r);
    const char *bad[] = {"X-Request-Id: has space\"quote", NULL};
    iing_request(ihttp.ing_port, "GET", "/nope", bad, NULL, 0, 0, &r);
    cr_assert(iing_header(&r, "X-Request-Id", rid, sizeof rid));
    cr_assert_eq(strlen(rid), 36, "not a UUID: %s", rid);
    cr_assert_eq(rid[8], '-');
    iing_reply_release(&r);
    /* 202 answers too, and the id reaches nothing it should not */
    char body[512], oid[80];
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
    const char *extra[] = {"X-Request-Id: my-request-42", NULL};
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, body, extra, &r);
    ihttp_expect(&r, 202, NULL);
    cr_assert(iing_header(&r, "X-Request-Id", rid, sizeof rid));
    cr_assert_str_eq(rid, "my-request-42");
    iing_reply_release(&r);
}

Test(ingress_http, every_auth_failure_is_the_same_401_and_counted_by_reason) {
    const char *expect = "{\"error\":{\"code\":\"unauthorized\",\"message\":\"unauthorized\"}}";
    char body[512], oid[80], hex[65], good_ts[32], stale_ts[32], sig[100], upper[100];
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
    long long now = (long long)time(NULL);
    snprintf(good_ts, sizeof good_ts, "%lld", now);
    snprintf(stale_ts, sizeof stale_ts, "%lld", now - 301);
    cr_assert_eq(
        ordersctl_sign_hex(IHTTP_SECRET, strlen(IHTTP_SECRET), now, body, strlen(body), hex), 0);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    snprintf(upper, sizeof upper, "%s", hex);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    char stale_hex[65];
    cr_assert_eq(ordersctl_sign_hex(IHTTP_SECRET, strlen(IHTTP_SECRET), now - 301, body,
                                    strlen(body), stale_hex),
                 0);
    struct {
        const char *reason, *client, *ts, *sig;
    } cases[] = {
        {"missing_header", ihttp_client, good_ts, NULL},
        {"missing_header", NULL, good_ts, sig},
        {"missing_header", ihttp_client, NULL, sig},
        {"bad_client_id", "bad client!", good_ts, sig},
        {"unknown_client", "no-such-client", good_ts, sig},
        {"bad_timestamp", ihttp_client, "12x", sig},
        {"stale_timestamp", ihttp_client, stale_ts, stale_hex},
        {"bad_signature_format", ihttp_client, good_ts, upper},
        {"signature_mismatch", ihttp_client, good_ts,
         "0000000000000000000000000000000000000000000000000000000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hc[100], ht[100], hs[120];
        const char *hdr[5];
        size_t n = 0;
        hdr[n++] = "Content-Type: application/json";
        if (cases[i].client) {
            snprintf(hc, sizeof hc, "X-Client-Id: %s", cases[i].client);
            hdr[n++] = hc;
        }
        if (cases[i].ts) {
            snprintf(ht, sizeof ht, "X-Timestamp: %s", cases[i].ts);
            hdr[n++] = ht;
        }
        if (cases[i].sig) {
            snprintf(hs, sizeof hs, "X-Signature: %s", cases[i].sig);
            hdr[n++] = hs;
        }
        hdr[n] = NULL;
        struct iing_reply r;
        iing_request(ihttp.ing_port, "POST", "/orders", hdr, body, strlen(body), 0, &r);
        ihttp_expect(&r, 401, expect);
        char www[100];
        cr_assert(iing_header(&r, "WWW-Authenticate", www, sizeof www));
        iing_reply_release(&r);
    }
    /* the right signature over a different body is a mismatch too */
    char other[512];
    iing_order(other, sizeof other, oid, 2);
    char hc[100], ht[100], hs[120];
    snprintf(hc, sizeof hc, "X-Client-Id: %s", ihttp_client);
    snprintf(ht, sizeof ht, "X-Timestamp: %s", good_ts);
    snprintf(hs, sizeof hs, "X-Signature: %s", sig);
    const char *hdr[] = {"Content-Type: application/json", hc, ht, hs, NULL};
    struct iing_reply r;
    iing_request(ihttp.ing_port, "POST", "/orders", hdr, other, strlen(other), 0, &r);
    ihttp_expect(&r, 401, expect);
    iing_reply_release(&r);

    const char *reasons[] = {"missing_header",    "bad_client_id",   "unknown_client",
                             "bad_timestamp",     "stale_timestamp", "bad_signature_format",
                             "signature_mismatch"};
    const double want[] = {3, 1, 1, 1, 1, 1, 2};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        char series[160];
        snprintf(series, sizeof series, "orders_ingress_auth_failures_total{reason=\"%s\"}",
                 reasons[i]);
        cr_assert_eq(iing_metric(ihttp.ing.admin_port, series), want[i], "%s", series);
    }
    /* the order was never published nor claimed */
    cr_assert_not(iing_idem_key_exists(ihttp_client, oid));
}

/* Asserts a 400 with the code and field, and the contract's body shape. */
static void ihttp_expect_400(const char *body, const char *code, const char *field) {
    struct iing_reply r;
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, body, NULL, &r);
    ihttp_expect(&r, 400, NULL);
    cJSON *j = cJSON_Parse(strbuf_str(&r.body));
    cr_assert_not_null(j, "not JSON: %s", strbuf_str(&r.body));
    cr_assert_eq(cJSON_GetArraySize(j), 1);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    cr_assert_eq(cJSON_GetArraySize(e), 3, "%s", strbuf_str(&r.body));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");
    cr_assert(cJSON_IsString(c) && cJSON_IsString(m) && cJSON_IsString(f));
    cr_assert_str_eq(c->valuestring, code);
    cr_assert_str_eq(f->valuestring, field);
    cr_assert_gt(strlen(m->valuestring), 0);
    cJSON_Delete(j);
    iing_reply_release(&r);
}

Test(ingress_http, invalid_bodies_are_400_with_code_message_and_field) {
    ihttp_expect_400("{\"order_id\":", "invalid_json", "");
    ihttp_expect_400("", "invalid_json", "");
    ihttp_expect_400("{\"order_id\":\"a\",\"customer_id\":\"c\",\"currency\":\"EUR\","
                     "\"items\":[{\"sku\":\"s\",\"quantity\":0,\"unit_price_cents\":1}],"
                     "\"total_cents\":0}",
                     "invalid_order", "/items/0/quantity");
    ihttp_expect_400("{\"order_id\":\"a\",\"customer_id\":\"c\",\"currency\":\"EUR\","
                     "\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":1}],"
                     "\"total_cents\":2}",
                     "invalid_order", "/total_cents");
    ihttp_expect_400("{\"order_id\":\"a\",\"customer_id\":\"c\",\"currency\":\"EUR\","
                     "\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":1}],"
                     "\"total_cents\":1,\"colour\":\"red\"}",
                     "invalid_order", "/colour");
}

Test(ingress_http, accepted_then_identical_replay_then_conflict_publishing_once) {
    struct iing_offsets off;
    struct iing_reply r1, r2, r3;
    char body[512], oid[80], other[512], hdr[100], tp[100];
    const char *tp_in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *extra[] = {"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                           NULL};
    iing_offsets_capture(&off);
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 2);

    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, body, extra, &r1);
    ihttp_expect(&r1, 202, NULL);
    cr_assert_not(iing_header(&r1, "Idempotent-Replayed", hdr, sizeof hdr));
    cJSON *j = cJSON_Parse(strbuf_str(&r1.body));
    cr_assert_not_null(j);
    cr_assert_eq(cJSON_GetArraySize(j), 3);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "order_id")->valuestring, oid);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "accepted");
    cr_assert_eq(strlen(cJSON_GetObjectItemCaseSensitive(j, "event_id")->valuestring), 36);
    cJSON_Delete(j);

    /* same body again, even signed with the other secret and a new request id */
    const char *extra2[] = {"X-Request-Id: replay-1", NULL};
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET2, 0, body, extra2, &r2);
    ihttp_expect(&r2, 202, NULL);
    cr_assert_eq(r2.body.len, r1.body.len);
    cr_assert(memcmp(strbuf_str(&r2.body), strbuf_str(&r1.body), r1.body.len) == 0,
              "replay differs: %s vs %s", strbuf_str(&r2.body), strbuf_str(&r1.body));
    cr_assert(iing_header(&r2, "Idempotent-Replayed", hdr, sizeof hdr));
    cr_assert_str_eq(hdr, "true");

    /* same order id, different body */
    iing_order(other, sizeof other, oid, 5);
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, other, NULL, &r3);
    cr_assert_eq(r3.status, 422);
    j = cJSON_Parse(strbuf_str(&r3.body));
    cr_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "code")
            ->valuestring,
        "idempotency_conflict");
    cJSON_Delete(j);
    ihttp_expect(&r3, 422, NULL);

    int counts[2];
    iing_count_copies(&off, ihttp_client, oid, 1, 15000, counts, tp, sizeof tp);
    cr_assert(counts[0] == 1 && counts[1] == 1, "copies billing=%d archive=%d", counts[0],
              counts[1]);
    cr_assert_str_eq(tp, tp_in, "traceparent not propagated");
    cr_assert_eq(iing_metric(ihttp.ing.admin_port, "orders_ingress_idempotent_replays_total"), 1);
    iing_reply_release(&r1);
    iing_reply_release(&r2);
    iing_reply_release(&r3);
}

Test(ingress_http, rate_limit_is_429_with_retry_after) {
    char body[512], oid[80], ra[32];
    int limited = 0;
    for (int i = 0; i < 5; i++) {
        struct iing_reply r;
        ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
        if (i == 4) /* the limit comes before validation: 429, not 400 */
            snprintf(body, sizeof body, "{\"order_id\":\"%s\"", oid);
        iing_post_signed(ihttp.ing_port, ihttp_slow, IHTTP_SLOW_SECRET, 0, body, NULL, &r);
        if (i < 2) {
            ihttp_expect(&r, 202, NULL); /* burst 2 */
        } else {
            ihttp_expect(&r, 429,
                         "{\"error\":{\"code\":\"rate_limited\",\"message\":\"rate "
                         "limit exceeded\"}}");
            cr_assert(iing_header(&r, "Retry-After", ra, sizeof ra));
            cr_assert_gt(atoi(ra), 0, "Retry-After %s", ra);
            cr_assert_eq(strspn(ra, "0123456789"), strlen(ra));
            limited++;
            cr_assert_not(iing_idem_key_exists(ihttp_slow, oid), "a 429 must not claim");
        }
        iing_reply_release(&r);
    }
    cr_assert_eq(limited, 3);
    cr_assert_eq(iing_metric(ihttp.ing.admin_port, "orders_ingress_rate_limited_total"), 3);
}

/* The smaller per-connection memory pool (server.c) still takes the headers
 * a proxy and a client may add: 6 KiB of them here, and a body at the limit
 * arriving in pieces. A pool too small for them answers 431 or 413. */
Test(ingress_http, large_headers_and_a_body_at_the_limit_still_fit_the_connection_pool) {
    char body[512], oid[80], big[2100];
    struct iing_reply r;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char h1[2200], h2[2200], h3[2200];
    snprintf(h1, sizeof h1, "X-Forwarded-Trace-A: %s", big);
    snprintf(h2, sizeof h2, "X-Forwarded-Trace-B: %s", big);
    snprintf(h3, sizeof h3, "X-Forwarded-Trace-C: %s", big);
    const char *const extra[] = {h1, h2, h3, NULL};
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, body, extra, &r);
    ihttp_expect(&r, 202, NULL);
    iing_reply_release(&r);

    /* 64 KiB (the default INGRESS_MAX_BODY): JSON whitespace before the
     * closing brace, four times the pool. */
    static char large[65536 + 1];
    ihttp_new_order(body, sizeof body, oid, sizeof oid, 1);
    size_t n = strlen(body);
    cr_assert(n > 2 && body[n - 1] == '}');
    memcpy(large, body, n - 1);
    memset(large + n - 1, ' ', 65536 - n);
    large[65535] = '}';
    large[65536] = '\0';
    iing_post_signed(ihttp.ing_port, ihttp_client, IHTTP_SECRET, 0, large, NULL, &r);
    ihttp_expect(&r, 202, NULL);
    iing_reply_release(&r);
}
