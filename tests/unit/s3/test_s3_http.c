/* Unit tests for common/s3 against a scripted loopback server: wire format and SigV4. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "s3.h"
#include "s3_fake_server.h"

#define S3_HTTP_ACCESS "archive"
#define S3_HTTP_SECRET "dev-only-s3-archive-secret"
#define S3_HTTP_REGION "eu-west-3"

static struct s3_fake_server s3_http_srv;
static struct s3_client *s3_http_client;
static struct s3_result s3_http_res;

static void s3_http_setup(void) {
    memset(&s3_http_srv, 0, sizeof(s3_http_srv));
    s3_http_srv.listen_fd = -1;
    s3_http_client = NULL;
    memset(&s3_http_res, 0, sizeof(s3_http_res));
}

static void s3_http_teardown(void) {
    s3_fake_stop(&s3_http_srv);
    s3_fake_release(&s3_http_srv);
    s3_client_destroy(s3_http_client);
}

TestSuite(s3_http, .init = s3_http_setup, .fini = s3_http_teardown);

/* Starts the server with the replies already scripted and a client for it. */
static void s3_http_start(long timeout_ms) {
    char endpoint[64], err[256] = "";
    cr_assert_eq(s3_fake_start(&s3_http_srv), 0);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", s3_http_srv.port);
    struct s3_settings s = {.endpoint = endpoint,
                            .region = S3_HTTP_REGION,
                            .access_key = S3_HTTP_ACCESS,
                            .secret_key = S3_HTTP_SECRET,
                            .timeout_ms = timeout_ms};
    s3_http_client = s3_client_create(&s, err, sizeof(err));
    cr_assert_not_null(s3_http_client, "%s", err);
}

static void s3_http_reply(int i, int status, const char *headers, const char *body) {
    s3_http_srv.replies[i] = (struct s3_fake_reply){
        .action = S3_FAKE_REPLY, .status = status, .headers = headers, .body = body};
    if (i + 1 > s3_http_srv.nreplies)
        s3_http_srv.nreplies = i + 1;
}

/* Asserts request i carries a valid signature by our credentials. */
static void s3_http_assert_signed(int i) {
    const struct s3_fake_request *rq = &s3_http_srv.requests[i];
    char why[128] = "";
    cr_assert_eq(s3_fake_verify_sigv4(rq->method, rq->target, rq->headers, S3_HTTP_ACCESS,
                                      S3_HTTP_SECRET, S3_HTTP_REGION, why, sizeof(why)),
                 0, "request %d (%s %s): %s\n%s", i, rq->method, rq->target, why, rq->headers);
}

static void s3_http_assert_header(int i, const char *name, const char *expect) {
    char v[512];
    const char *got = s3_fake_header(&s3_http_srv.requests[i], name, v, sizeof(v));
    cr_assert_not_null(got, "request %d lacks %s", i, name);
    cr_assert_str_eq(got, expect, "request %d header %s", i, name);
}

/* The verifier itself, on AWS's published example (S3 SigV4 documentation,
 * "GET Object" example): it must accept exactly that signature. */
Test(s3_http, verifier_accepts_the_aws_documentation_example) {
    const char *headers =
        "Host: examplebucket.s3.amazonaws.com\r\n"
        "Range: bytes=0-9\r\n"
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
        "x-amz-date: 20130524T000000Z\r\n"
        "Authorization: AWS4-HMAC-SHA256 "
        "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\r\n";
    char why[128] = "";
    cr_assert_eq(s3_fake_verify_sigv4("GET", "/test.txt", headers, "AKIAIOSFODNN7EXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", why,
                                      sizeof(why)),
                 0, "%s", why);
    cr_assert_eq(s3_fake_verify_sigv4("GET", "/test.txt", headers, "AKIAIOSFODNN7EXAMPLE",
                                      "wrong-secret", "us-east-1", why, sizeof(why)),
                 -1);
    cr_assert_str_eq(why, "signature mismatch");
    cr_assert_eq(s3_fake_verify_sigv4("GET", "/test.txt?x=1", headers, "AKIAIOSFODNN7EXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", why,
                                      sizeof(why)),
                 -1);
}

Test(s3_http, put_sends_encoded_path_payload_hash_and_valid_signature) {
    const char *body = "{\"order_id\":\"A 1\"}";
    unsigned char md[CRYPTO_SHA256_LEN];
    char hex[65], len[16];

    s3_http_reply(0, 200, "ETag: \"abc\"\r\n", NULL);
    s3_http_start(5000);
    cr_assert_eq(s3_put_object(s3_http_client, "orders-archive", "orders/2024/01/02/c 1/a+b~.json",
                               body, strlen(body), "application/json", &s3_http_res),
                 0, "%s", s3_http_res.message);
    s3_fake_stop(&s3_http_srv);

    cr_assert_eq(s3_http_res.http_status, 200);
    cr_assert_str_eq(s3_http_res.error_code, "");
    cr_assert_str_eq(s3_http_res.message, "");
    cr_assert_eq(s3_http_srv.nrequests, 1);
    const struct s3_fake_request *rq = &s3_http_srv.requests[0];
    cr_assert_str_eq(rq->method, "PUT");
    cr_assert_str_eq(rq->target, "/orders-archive/orders/2024/01/02/c%201/a%2Bb~.json");
    cr_assert_eq(rq->body_len, strlen(body));
    cr_assert_str_eq(rq->body, body);
    crypto_sha256(body, strlen(body), md);
    crypto_hex_encode(md, sizeof(md), hex);
    s3_http_assert_header(0, "x-amz-content-sha256", hex);
    s3_http_assert_header(0, "Content-Type", "application/json");
    snprintf(len, sizeof(len), "%zu", strlen(body));
    s3_http_assert_header(0, "Content-Length", len);
    s3_http_assert_signed(0);
    /* Content-Type is covered by the signature too. */
    char auth[512];
    cr_assert_not_null(s3_fake_header(rq, "Authorization", auth, sizeof(auth)));
    cr_assert(strstr(auth, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date"), "%s",
              auth);
    cr_assert(strstr(auth, "Credential=" S3_HTTP_ACCESS "/"), "%s", auth);
    cr_assert(strstr(rq->headers, S3_HTTP_SECRET) == NULL, "secret sent in clear");
}

Test(s3_http, empty_put_and_default_content_type) {
    s3_http_reply(0, 200, NULL, NULL);
    s3_http_start(5000);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "empty", NULL, 0, NULL, &s3_http_res), 0);
    s3_fake_stop(&s3_http_srv);
    cr_assert_eq(s3_http_res.http_status, 200);
    cr_assert_eq(s3_http_srv.requests[0].body_len, 0);
    s3_http_assert_header(0, "Content-Type", "application/octet-stream");
    s3_http_assert_header(0, "x-amz-content-sha256",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s3_http_assert_signed(0);
}

Test(s3_http, get_reuses_the_connection_and_fills_the_body) {
    struct strbuf body;
    strbuf_init(&body, 1024);
    s3_http_reply(0, 200, NULL, "first object");
    s3_http_reply(1, 200, NULL, "second");
    s3_http_start(5000);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "k1", &body, &s3_http_res), 0);
    cr_assert_str_eq(strbuf_str(&body), "first object");
    strbuf_reset(&body);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "dir/k2", &body, &s3_http_res), 0);
    cr_assert_str_eq(strbuf_str(&body), "second");
    s3_fake_stop(&s3_http_srv);

    cr_assert_eq(s3_http_srv.nrequests, 2);
    cr_assert_eq(s3_http_srv.connections, 1, "keep-alive: one connection for two requests");
    cr_assert_str_eq(s3_http_srv.requests[0].method, "GET");
    cr_assert_str_eq(s3_http_srv.requests[1].target, "/b/dir/k2");
    s3_http_assert_header(1, "x-amz-content-sha256",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s3_http_assert_signed(0);
    s3_http_assert_signed(1);
    cr_assert_null(s3_fake_header(&s3_http_srv.requests[1], "Content-Type", (char[8]){0}, 8),
                   "a GET carries no Content-Type (left over from a previous request?)");
    strbuf_release(&body);
}

Test(s3_http, get_error_is_parsed_and_not_appended) {
    struct strbuf body;
    strbuf_init(&body, 1024);
    strbuf_puts(&body, "kept");
    s3_http_reply(0, 404, "Content-Type: application/xml\r\n",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                  "<Message>The specified key does not exist.</Message><Key>k</Key></Error>");
    s3_http_start(5000);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "k", &body, &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 404);
    cr_assert_str_eq(s3_http_res.error_code, "NoSuchKey");
    cr_assert_str_eq(s3_http_res.message, "The specified key does not exist.");
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 0);
    cr_assert_str_eq(strbuf_str(&body), "kept");
    strbuf_release(&body);
}

Test(s3_http, get_larger_than_buffer_fails_without_partial_data) {
    struct strbuf body;
    strbuf_init(&body, 8);
    strbuf_puts(&body, "ab");
    s3_http_reply(0, 200, NULL, "0123456789abcdef");
    s3_http_start(5000);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "k", &body, &s3_http_res), -1);
    cr_assert_str_eq(s3_http_res.error_code, S3_CLIENT_BODY_TOO_LARGE);
    cr_assert_eq(s3_http_res.http_status, 0);
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 0);
    cr_assert_str_eq(strbuf_str(&body), "ab");
    strbuf_release(&body);
}

Test(s3_http, get_without_buffer_discards_the_body) {
    s3_http_reply(0, 200, NULL, "ignored");
    s3_http_start(5000);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "k", NULL, &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 200);
}

Test(s3_http, list_sends_a_sorted_encoded_query) {
    struct strbuf xml;
    const char *answer = "<ListBucketResult><KeyCount>0</KeyCount></ListBucketResult>";
    strbuf_init(&xml, 4096);
    s3_http_reply(0, 200, NULL, answer);
    s3_http_reply(1, 200, NULL, answer);
    s3_http_reply(2, 200, NULL, answer);
    s3_http_start(5000);
    cr_assert_eq(s3_list_objects(s3_http_client, "orders-archive", "orders/2024/c 1+", NULL, &xml,
                                 &s3_http_res),
                 0);
    cr_assert_str_eq(strbuf_str(&xml), answer);
    cr_assert_eq(s3_list_objects(s3_http_client, "orders-archive", NULL, NULL, NULL, &s3_http_res),
                 0);
    cr_assert_eq(
        s3_list_objects(s3_http_client, "orders-archive", "o/", "o/a b/c.json", NULL, &s3_http_res),
        0);
    s3_fake_stop(&s3_http_srv);
    cr_assert_str_eq(s3_http_srv.requests[0].target,
                     "/orders-archive?list-type=2&prefix=orders%2F2024%2Fc%201%2B");
    cr_assert_str_eq(s3_http_srv.requests[1].target, "/orders-archive?list-type=2");
    cr_assert_str_eq(s3_http_srv.requests[2].target,
                     "/orders-archive?list-type=2&prefix=o%2F&start-after=o%2Fa%20b%2Fc.json");
    s3_http_assert_signed(0);
    s3_http_assert_signed(1);
    s3_http_assert_signed(2);
    strbuf_release(&xml);
}

Test(s3_http, head_bucket_and_delete) {
    s3_http_reply(0, 404, NULL, NULL);
    s3_http_reply(1, 200, NULL, NULL);
    s3_http_reply(2, 204, NULL, NULL);
    s3_http_start(5000);
    cr_assert_eq(s3_head_bucket(s3_http_client, "missing", &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 404);
    cr_assert_str_eq(s3_http_res.error_code, "");
    cr_assert_str_eq(s3_http_res.message, "HTTP 404");
    cr_assert_eq(s3_head_bucket(s3_http_client, "orders-archive", &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 200);
    cr_assert_str_eq(s3_http_res.message, "");
    cr_assert_eq(s3_delete_object(s3_http_client, "orders-archive", "a b", &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 204);
    s3_fake_stop(&s3_http_srv);
    cr_assert_str_eq(s3_http_srv.requests[0].method, "HEAD");
    cr_assert_str_eq(s3_http_srv.requests[0].target, "/missing");
    cr_assert_str_eq(s3_http_srv.requests[2].method, "DELETE");
    cr_assert_str_eq(s3_http_srv.requests[2].target, "/orders-archive/a%20b");
    s3_http_assert_signed(0);
    s3_http_assert_signed(1);
    s3_http_assert_signed(2);
    cr_assert_eq(s3_http_srv.connections, 1);
}

Test(s3_http, slow_down_is_transient_access_denied_is_not) {
    s3_http_reply(0, 503, NULL,
                  "<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                  "</Message></Error>");
    s3_http_reply(1, 403, NULL,
                  "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    s3_http_reply(2, 500, NULL, "not xml");
    s3_http_start(5000);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "k", "x", 1, NULL, &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 503);
    cr_assert_str_eq(s3_http_res.error_code, "SlowDown");
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 1);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "k", "x", 1, NULL, &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 403);
    cr_assert_str_eq(s3_http_res.error_code, "AccessDenied");
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 0);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "k", "x", 1, NULL, &s3_http_res), 0);
    cr_assert_eq(s3_http_res.http_status, 500);
    cr_assert_str_eq(s3_http_res.error_code, "");
    cr_assert_str_eq(s3_http_res.message, "HTTP 500");
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 1);
}

Test(s3_http, connection_closed_without_answer_is_transient) {
    s3_http_srv.replies[0] = (struct s3_fake_reply){.action = S3_FAKE_CLOSE};
    s3_http_srv.nreplies = 1;
    s3_http_start(5000);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "k", "x", 1, NULL, &s3_http_res), -1);
    cr_assert_eq(s3_http_res.http_status, 0);
    cr_assert_str_eq(s3_http_res.error_code, "");
    cr_assert(s3_http_res.message[0]);
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 1);
}

Test(s3_http, silent_server_times_out) {
    struct timespec t0, t1;
    s3_http_srv.replies[0] = (struct s3_fake_reply){.action = S3_FAKE_HANG, .hang_ms = 1500};
    s3_http_srv.nreplies = 1;
    s3_http_start(300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(s3_get_object(s3_http_client, "b", "k", NULL, &s3_http_res), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(elapsed >= 0.25 && elapsed < 1.2, "took %.3f s", elapsed);
    cr_assert(strstr(s3_http_res.message, "imed out") != NULL, "%s", s3_http_res.message);
    cr_assert_eq(s3_result_is_transient(&s3_http_res), 1);
}

Test(s3_http, reused_connection_closed_by_server_is_retried_with_the_body) {
    /* The server answers the first PUT, then drops the kept-alive connection
     * when the second arrives; curl must rewind the body and resend it on a
     * new connection, where the third reply answers. */
    const char *body = "0123456789";
    s3_http_reply(0, 200, NULL, NULL);
    s3_http_srv.replies[1] = (struct s3_fake_reply){.action = S3_FAKE_CLOSE};
    s3_http_reply(2, 200, NULL, NULL);
    s3_http_start(5000);
    cr_assert_eq(s3_put_object(s3_http_client, "b", "k1", body, 10, NULL, &s3_http_res), 0);
    int rc = s3_put_object(s3_http_client, "b", "k2", body, 10, NULL, &s3_http_res);
    s3_fake_stop(&s3_http_srv);
    /* libcurl retries a request that died on a reused connection before
     * any answer byte, which needs the seek callback to rewind the body. */
    cr_assert_eq(rc, 0, "%s", s3_http_res.message);
    cr_assert_eq(s3_http_res.http_status, 200);
    cr_assert_eq(s3_http_srv.nrequests, 3);
    cr_assert_eq(s3_http_srv.connections, 2);
    cr_assert_str_eq(s3_http_srv.requests[1].target, "/b/k2");
    cr_assert_str_eq(s3_http_srv.requests[2].target, "/b/k2");
    cr_assert_str_eq(s3_http_srv.requests[2].body, body);
    s3_http_assert_signed(2);
}
