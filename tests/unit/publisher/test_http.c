/* Unit tests for services/publisher/http: the internal protocol's answers,
 * with a batcher whose Kafka never answers (nothing listens on its port). */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "strbuf.h"

#include "../../../services/publisher/http.h"
#include "../../../services/publisher/stats.h"
#include "../../../services/publisher/subs.h"
#include "../../../services/publisher/txn_batcher.h"

#define PHTTP_TOKEN "unit-test-token-0123456789"
#define PHTTP_ORDER "{\"order_id\":\"ord-1\",\"currency\":\"EUR\",\"total_cents\":5}"

static struct metrics_registry *phttp_reg;
static struct publisher_stats phttp_stats;
static struct publisher_subs *phttp_subs;
static struct publisher_batcher *phttp_batcher;
static struct publisher_http *phttp_srv;
static FILE *phttp_devnull;
static const struct kafka_settings phttp_kafka = {
    .bootstrap = "127.0.0.1:1", /* nothing listens: init_transactions never completes */
    .security_protocol = "PLAINTEXT",
    .client_id = "unit-publisher",
};

static void phttp_setup(void) {
    char err[256];
    phttp_devnull = fopen("/dev/null", "w");
    log_set_output(phttp_devnull); /* librdkafka complains about the dead broker */
    phttp_reg = metrics_registry_create();
    cr_assert_eq(publisher_stats_init(&phttp_stats, phttp_reg, "test"), 0);
    phttp_subs = publisher_subs_parse("billing=orders.billing", err, sizeof err);
    cr_assert_not_null(phttp_subs, "%s", err);
    const char *filters = "{\"billing\":{\"currency\":[\"EUR\"]}}";
    cr_assert_eq(publisher_subs_set_filters(phttp_subs, filters, strlen(filters), err, sizeof err),
                 0, "%s", err);
    const struct publisher_batcher_settings bs = {
        .kafka = &phttp_kafka,
        .transactional_id = "publisher-unit",
        .subs = phttp_subs,
        .stats = &phttp_stats,
        .max_batch = 8,
        .queue_capacity = 8,
        .linger_ms = 1,
        .commit_timeout_ms = 500,
    };
    phttp_batcher = publisher_batcher_create(&bs, err, sizeof err);
    cr_assert_not_null(phttp_batcher, "%s", err);
    const struct publisher_http_settings hs = {
        .bind = "127.0.0.1",
        .port = 0,
        .threads = 2,
        .max_connections = 16,
        .connection_timeout_s = 5,
        .max_body = 128,
        .token = PHTTP_TOKEN,
        .retry_after_s = 3,
        .subs = phttp_subs,
        .batcher = phttp_batcher,
        .stats = &phttp_stats,
    };
    phttp_srv = publisher_http_start(&hs, err, sizeof err);
    cr_assert_not_null(phttp_srv, "%s", err);
    cr_assert_neq(publisher_http_port(phttp_srv), 0);
}

static void phttp_teardown(void) {
    if (phttp_batcher)
        publisher_batcher_stop(phttp_batcher, 0);
    publisher_http_stop(phttp_srv);
    publisher_batcher_destroy(phttp_batcher);
    publisher_subs_destroy(phttp_subs);
    metrics_registry_destroy(phttp_reg);
    log_set_output(NULL);
    if (phttp_devnull)
        fclose(phttp_devnull);
}

struct phttp_answer {
    long status;
    struct strbuf body, headers;
};

static size_t phttp_sink(char *p, size_t size, size_t n, void *ud) {
    strbuf_append(ud, p, size * n);
    return size * n;
}

/* Sends one request; `headers` is NULL-terminated; body NULL: none. */
static void phttp_send(const char *method, const char *path, const char *const *headers,
                       const char *body, struct phttp_answer *a) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)publisher_http_port(phttp_srv),
             path);
    strbuf_init(&a->body, 1 << 16);
    strbuf_init(&a->headers, 1 << 16);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, phttp_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, phttp_sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s", curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
}

static void phttp_release(struct phttp_answer *a) {
    strbuf_release(&a->body);
    strbuf_release(&a->headers);
}

/* Asserts status and exact body of an answer to the request. */
static void phttp_expect(const char *method, const char *path, const char *const *headers,
                         const char *body, long status, const char *want_body,
                         const char *want_header) {
    struct phttp_answer a;
    phttp_send(method, path, headers, body, &a);
    cr_assert_eq(a.status, status, "%s %s: got %ld %s", method, path, a.status,
                 strbuf_str(&a.body));
    if (want_body)
        cr_assert_str_eq(strbuf_str(&a.body), want_body);
    if (want_header)
        cr_assert(strstr(strbuf_str(&a.headers), want_header) != NULL, "no '%s' in:\n%s",
                  want_header, strbuf_str(&a.headers));
    cr_assert(strstr(strbuf_str(&a.headers), "Content-Type: application/json\r\n") != NULL);
    cr_assert(strstr(strbuf_str(&a.headers), "X-Request-Id: ") != NULL);
    phttp_release(&a);
}

#define PHTTP_AUTH "Authorization: Bearer " PHTTP_TOKEN
#define PHTTP_JSON "Content-Type: application/json"
#define PHTTP_CLIENT "X-Client-Id: unit-client"

TestSuite(publisher_http, .init = phttp_setup, .fini = phttp_teardown, .timeout = 30);

Test(publisher_http, routing_404_and_405) {
    const char *const h[] = {PHTTP_AUTH, PHTTP_JSON, PHTTP_CLIENT, NULL};
    phttp_expect("POST", "/v1/other", h, PHTTP_ORDER, 404,
                 "{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\"}}", NULL);
    phttp_expect("GET", "/v1/publish", h, NULL, 405,
                 "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"only POST is "
                 "allowed\"}}",
                 "Allow: POST\r\n");
}

Test(publisher_http, token_is_required_and_checked) {
    static const char want[] =
        "{\"error\":{\"code\":\"unauthorized\",\"message\":\"unauthorized\"}}";
    const char *const none[] = {PHTTP_JSON, PHTTP_CLIENT, NULL};
    const char *const wrong[] = {"Authorization: Bearer unit-test-token-0123456780", PHTTP_JSON,
                                 PHTTP_CLIENT, NULL};
    const char *const prefix[] = {"Authorization: Bearer unit-test-token", PHTTP_JSON, PHTTP_CLIENT,
                                  NULL};
    const char *const basic[] = {"Authorization: Basic " PHTTP_TOKEN, PHTTP_JSON, PHTTP_CLIENT,
                                 NULL};
    phttp_expect("POST", "/v1/publish", none, PHTTP_ORDER, 401, want, "WWW-Authenticate: Bearer");
    phttp_expect("POST", "/v1/publish", wrong, PHTTP_ORDER, 401, want, NULL);
    phttp_expect("POST", "/v1/publish", prefix, PHTTP_ORDER, 401, want, NULL);
    phttp_expect("POST", "/v1/publish", basic, PHTTP_ORDER, 401, want, NULL);
}

Test(publisher_http, headers_and_body_are_checked) {
    const char *const text[] = {PHTTP_AUTH, "Content-Type: text/plain", PHTTP_CLIENT, NULL};
    const char *const noclient[] = {PHTTP_AUTH, PHTTP_JSON, NULL};
    const char *const badclient[] = {PHTTP_AUTH, PHTTP_JSON, "X-Client-Id: a/b", NULL};
    const char *const ok[] = {PHTTP_AUTH, "Content-Type: application/json; charset=utf-8",
                              PHTTP_CLIENT, "X-Request-Id: req-42", NULL};
    phttp_expect("POST", "/v1/publish", text, PHTTP_ORDER, 415,
                 "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"Content-Type "
                 "must be application/json\"}}",
                 NULL);
    phttp_expect("POST", "/v1/publish", noclient, PHTTP_ORDER, 400,
                 "{\"error\":{\"code\":\"invalid_order\",\"message\":\"X-Client-Id is missing or "
                 "invalid\"}}",
                 NULL);
    phttp_expect("POST", "/v1/publish", badclient, PHTTP_ORDER, 400, NULL, NULL);
    phttp_expect("POST", "/v1/publish", ok, "{\"order_id\":", 400,
                 "{\"error\":{\"code\":\"invalid_json\",\"message\":\"the body is not one JSON "
                 "text\",\"field\":\"\"}}",
                 "X-Request-Id: req-42\r\n");
    phttp_expect("POST", "/v1/publish", ok, "", 400, NULL, NULL);
    phttp_expect("POST", "/v1/publish", ok, "{} {}", 400, NULL, NULL);
    static const char no_order[] = "{\"error\":{\"code\":\"invalid_order\",\"message\":\"the body "
                                   "must be an object with a valid order_id\",\"field\":"
                                   "\"/order_id\"}}";
    phttp_expect("POST", "/v1/publish", ok, "[1]", 400, no_order, NULL);
    phttp_expect("POST", "/v1/publish", ok, "{\"id\":1}", 400, no_order, NULL);
    phttp_expect("POST", "/v1/publish", ok, "{\"order_id\":7}", 400, no_order, NULL);
    phttp_expect("POST", "/v1/publish", ok, "{\"order_id\":\"a b\"}", 400, no_order, NULL);
}

Test(publisher_http, body_size_limit) {
    static const char want[] =
        "{\"error\":{\"code\":\"too_large\",\"message\":\"the body exceeds the size limit\"}}";
    const char *const h[] = {PHTTP_AUTH, PHTTP_JSON, PHTTP_CLIENT, NULL};
    const char *const chunked[] = {PHTTP_AUTH, PHTTP_JSON, PHTTP_CLIENT,
                                   "Transfer-Encoding: chunked", NULL};
    char big[200];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = '{';
    big[sizeof big - 2] = '}';
    phttp_expect("POST", "/v1/publish", h, big, 413, want, NULL);
    phttp_expect("POST", "/v1/publish", chunked, big, 413, want, NULL);
}

Test(publisher_http, kafka_not_ready_gives_503_with_retry_after) {
    const char *const h[] = {PHTTP_AUTH, PHTTP_JSON, PHTTP_CLIENT, "X-Request-Id: r-503", NULL};
    phttp_expect("POST", "/v1/publish", h, PHTTP_ORDER, 503,
                 "{\"error\":{\"code\":\"unavailable\",\"message\":\"kafka producer is not "
                 "ready\"}}",
                 "Retry-After: 3\r\n");
    struct strbuf why;
    strbuf_init(&why, 256);
    cr_assert_eq(publisher_batcher_ready(phttp_batcher, &why), 0);
    cr_assert_str_eq(strbuf_str(&why), "kafka producer not initialised (init_transactions)");
    strbuf_release(&why);
}

Test(publisher_http, order_matching_no_subscription_is_accepted_at_once) {
    const char *const h[] = {PHTTP_AUTH, PHTTP_JSON, PHTTP_CLIENT, NULL};
    struct phttp_answer a;
    phttp_send("POST", "/v1/publish", h, "{\"order_id\":\"ord-2\",\"currency\":\"USD\"}", &a);
    cr_assert_eq(a.status, 202, "%s", strbuf_str(&a.body));
    const char *b = strbuf_str(&a.body);
    cr_assert_eq(strlen(b), strlen("{\"event_id\":\"\",\"ce_time\":\"\"}") + 36 + 24, "%s", b);
    cr_assert_eq(strncmp(b, "{\"event_id\":\"", 13), 0, "%s", b);
    cr_assert_eq(strncmp(b + 49, "\",\"ce_time\":\"", 13), 0, "%s", b);
    cr_assert_eq(b[14 + 36 + 13 + 22], 'Z', "%s", b);
    phttp_release(&a);
}

Test(publisher_http, answers_are_counted_by_status) {
    const char *const h[] = {PHTTP_JSON, PHTTP_CLIENT, NULL};
    phttp_expect("POST", "/v1/publish", h, PHTTP_ORDER, 401, NULL, NULL);
    phttp_expect("POST", "/v1/publish", h, PHTTP_ORDER, 401, NULL, NULL);
    struct strbuf out;
    strbuf_init(&out, 1 << 20);
    cr_assert_eq(metrics_render(phttp_reg, &out), 0);
    cr_assert(strstr(strbuf_str(&out), "orders_publisher_requests_total{status=\"401\"} 2\n"), "%s",
              strbuf_str(&out));
    cr_assert(
        strstr(strbuf_str(&out), "orders_build_info{service=\"publisher\",version=\"test\"} 1"),
        "%s", strbuf_str(&out));
    strbuf_release(&out);
}
