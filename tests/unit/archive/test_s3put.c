/* Unit tests for services/archive/s3put against the scripted fake S3 server
 * of the s3 tests: the PUT as sent (encoded path, payload hash, content
 * type, a SigV4 signature a server accepts), results and error parsing,
 * connection reuse. */
#include <criterion/criterion.h>

#include <string.h>

#include "crypto.h"

#include "../../../services/archive/s3put.h"
#include "../s3/s3_fake_server.h"

#define US3_ACCESS "AKIDARCHIVE"
#define US3_SECRET "archive-unit-secret"

static struct s3_fake_server us3_srv;
static struct archive_s3put *us3;

static void us3_start(void) {
    char err[256], endpoint[64];
    cr_assert_eq(s3_fake_start(&us3_srv), 0);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", us3_srv.port);
    const struct archive_s3put_settings s = {.endpoint = endpoint,
                                             .region = "us-east-1",
                                             .bucket = "orders-archive",
                                             .access_key = US3_ACCESS,
                                             .secret_key = US3_SECRET,
                                             .timeout_ms = 3000,
                                             .max_connections = 4};
    us3 = archive_s3put_create(&s, err, sizeof err);
    cr_assert_not_null(us3, "%s", err);
}

static void us3_teardown(void) {
    archive_s3put_destroy(us3);
    us3 = NULL;
    s3_fake_stop(&us3_srv);
    s3_fake_release(&us3_srv);
    memset(&us3_srv, 0, sizeof us3_srv);
}

/* Runs one PUT to completion; returns its tag. */
static void *us3_put(const char *key, const char *body, struct s3_result *res) {
    void *tag = NULL;
    double secs = 0;
    cr_assert_eq(archive_s3put_start(us3, key, body, strlen(body), (void *)key, res), 0);
    cr_assert_eq(archive_s3put_in_flight(us3), 1);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(archive_s3put_wait(us3, NULL, 0, 100), 0);
        if (archive_s3put_next_done(us3, &tag, res, &secs) == 1)
            break;
    }
    cr_assert_eq(tag, (void *)key, "finished transfer reported with its tag");
    cr_assert_eq(archive_s3put_in_flight(us3), 0);
    return tag;
}

TestSuite(archive_s3put, .fini = us3_teardown);

Test(archive_s3put, put_is_signed_hashed_typed_and_connections_are_kept) {
    const char *body = "{\"specversion\":\"1.0\"}";
    unsigned char md[CRYPTO_SHA256_LEN];
    char hex[65], buf[256], why[256];
    struct s3_result res;
    us3_srv.replies[0] = (struct s3_fake_reply){.action = S3_FAKE_REPLY, .status = 200};
    us3_srv.replies[1] = (struct s3_fake_reply){.action = S3_FAKE_REPLY, .status = 200};
    us3_srv.nreplies = 2;
    us3_start();
    us3_put("orders/2026/01/31/c 1/o+1.json", body, &res);
    cr_assert_eq(res.http_status, 200);
    us3_put("orders/2026/01/31/c1/o2.json", body, &res);
    cr_assert_eq(res.http_status, 200);
    s3_fake_stop(&us3_srv);

    cr_assert_eq(us3_srv.nrequests, 2);
    cr_assert_eq(us3_srv.connections, 1, "keep-alive: one connection for both PUTs");
    const struct s3_fake_request *rq = &us3_srv.requests[0];
    cr_assert_str_eq(rq->method, "PUT");
    cr_assert_str_eq(rq->target, "/orders-archive/orders/2026/01/31/c%201/o%2B1.json");
    cr_assert_str_eq(rq->body, body);
    crypto_sha256(body, strlen(body), md);
    crypto_hex_encode(md, sizeof md, hex);
    cr_assert_str_eq(s3_fake_header(rq, "x-amz-content-sha256", buf, sizeof buf), hex);
    cr_assert_str_eq(s3_fake_header(rq, "Content-Type", buf, sizeof buf), "application/json");
    cr_assert_eq(s3_fake_verify_sigv4("PUT", rq->target, rq->headers, US3_ACCESS, US3_SECRET,
                                      "us-east-1", why, sizeof why),
                 0, "%s", why);
    cr_assert_null(strstr(rq->headers, US3_SECRET));
}

Test(archive_s3put, error_answers_are_parsed_for_classification) {
    struct s3_result res;
    us3_srv.replies[0] = (struct s3_fake_reply){
        .action = S3_FAKE_REPLY,
        .status = 503,
        .body = "<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>"};
    us3_srv.nreplies = 1;
    us3_start();
    us3_put("k.json", "{}", &res);
    cr_assert_eq(res.http_status, 503);
    cr_assert_str_eq(res.error_code, "SlowDown");
    cr_assert_str_eq(res.message, "Reduce your rate");
}

Test(archive_s3put, a_dropped_connection_is_a_transport_failure) {
    struct s3_result res;
    us3_srv.replies[0] = (struct s3_fake_reply){.action = S3_FAKE_CLOSE};
    us3_srv.nreplies = 1;
    us3_start();
    us3_put("k.json", "{}", &res);
    cr_assert_eq(res.http_status, 0);
    cr_assert_str_eq(res.error_code, "", "not a client error: transient");
    cr_assert_neq(res.message[0], '\0');
}

Test(archive_s3put, cancelled_transfers_are_not_reported) {
    struct s3_result res;
    void *tag;
    double secs;
    us3_srv.replies[0] = (struct s3_fake_reply){.action = S3_FAKE_HANG, .hang_ms = 500};
    us3_srv.nreplies = 1;
    us3_start();
    cr_assert_eq(archive_s3put_start(us3, "k.json", "{}", 2, &us3_srv, &res), 0);
    cr_assert_eq(archive_s3put_wait(us3, NULL, 0, 50), 0);
    archive_s3put_cancel(us3, &us3_srv);
    cr_assert_eq(archive_s3put_in_flight(us3), 0);
    cr_assert_eq(archive_s3put_wait(us3, NULL, 0, 10), 0);
    cr_assert_eq(archive_s3put_next_done(us3, &tag, &res, &secs), 0);
}

Test(archive_s3put, bad_keys_fail_before_sending) {
    struct s3_result res;
    us3_start();
    cr_assert_eq(archive_s3put_start(us3, "", "{}", 2, NULL, &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);
}
