/* Unit tests for common/s3 that need no server: encoding, error parsing, classification. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "s3.h"

/* ---- key and query encoding ---------------------------------------------- */

static void s3_test_key(const char *key, const char *expect) {
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    cr_assert_eq(s3_encode_key(key, &sb), 0, "encode %s", key);
    cr_assert_str_eq(strbuf_str(&sb), expect, "key '%s'", key);
    strbuf_release(&sb);
}

Test(s3, encode_key_table) {
    s3_test_key("orders/2024/01/02/c1/o1.json", "orders/2024/01/02/c1/o1.json");
    s3_test_key("AZaz09-._~", "AZaz09-._~");
    s3_test_key("a b", "a%20b");
    s3_test_key("a+b", "a%2Bb");
    s3_test_key("~user/x", "~user/x");
    s3_test_key("100%", "100%25");
    s3_test_key("%2F", "%252F");
    s3_test_key("caf\xc3\xa9", "caf%C3%A9");                       /* é */
    s3_test_key("\xe6\x97\xa5\xe6\x9c\xac", "%E6%97%A5%E6%9C%AC"); /* 日本 */
    s3_test_key("\xf0\x9f\x93\xa6", "%F0%9F%93%A6");               /* U+1F4E6 */
    s3_test_key("a//b/", "a//b/");
    s3_test_key("/lead", "/lead");
    s3_test_key("?#&=:@!$'()*,;", "%3F%23%26%3D%3A%40%21%24%27%28%29%2A%2C%3B");
    s3_test_key("\x01\x1f\x7f\xff", "%01%1F%7F%FF");
    s3_test_key("\"<>\\^`{|}[]", "%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D");
    s3_test_key("", "");
}

Test(s3, uri_encode_query_value_encodes_slash) {
    struct strbuf sb;
    strbuf_init(&sb, 256);
    cr_assert_eq(s3_uri_encode("orders/2024/a b", 15, 0, &sb), 0);
    cr_assert_str_eq(strbuf_str(&sb), "orders%2F2024%2Fa%20b");
    /* Only n bytes are read. */
    strbuf_reset(&sb);
    cr_assert_eq(s3_uri_encode("ab/cd", 3, 1, &sb), 0);
    cr_assert_str_eq(strbuf_str(&sb), "ab/");
    strbuf_release(&sb);
}

Test(s3, encode_appends_and_keeps_content_on_overflow) {
    struct strbuf sb;
    strbuf_init(&sb, 6);
    cr_assert_eq(strbuf_puts(&sb, "ab/"), 0);
    cr_assert_eq(s3_encode_key("c", &sb), 0);
    cr_assert_str_eq(strbuf_str(&sb), "ab/c");
    /* "d e" needs 5 more bytes; only 2 are left: nothing half-written. */
    cr_assert_eq(s3_encode_key("d e", &sb), -1);
    cr_assert_str_eq(strbuf_str(&sb), "ab/c");
    cr_assert_eq(sb.len, 4);
    strbuf_release(&sb);
}

/* ---- error body parsing ------------------------------------------------- */

static const char s3_test_access_denied[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
    "<RequestId>4442587FB7D0A2F9</RequestId><HostId>h</HostId></Error>";

Test(s3, parse_error_xml_access_denied) {
    struct s3_result res = {.http_status = 403};
    cr_assert_eq(s3_parse_error_xml(s3_test_access_denied, strlen(s3_test_access_denied), &res), 0);
    cr_assert_str_eq(res.error_code, "AccessDenied");
    cr_assert_str_eq(res.message, "Access Denied");
    cr_assert_eq(res.http_status, 403, "status untouched");
}

Test(s3, parse_error_xml_entities_and_controls) {
    const char *xml = "<Error><Code>NoSuchKey</Code>\n"
                      "<Message>Key &quot;a&amp;b&lt;c&gt;&apos; &#65;&#x42;&#1;&bogus;\tx\n"
                      "end</Message></Error>";
    struct s3_result res = {0};
    cr_assert_eq(s3_parse_error_xml(xml, strlen(xml), &res), 0);
    cr_assert_str_eq(res.error_code, "NoSuchKey");
    cr_assert_str_eq(res.message, "Key \"a&b<c>' AB?? x end");
}

Test(s3, parse_error_xml_without_message) {
    const char *xml = "<Error><Code>SlowDown</Code></Error>";
    struct s3_result res = {0};
    strcpy(res.message, "stale");
    cr_assert_eq(s3_parse_error_xml(xml, strlen(xml), &res), 0);
    cr_assert_str_eq(res.error_code, "SlowDown");
    cr_assert_str_eq(res.message, "");
}

Test(s3, parse_error_xml_rejects_non_errors) {
    struct s3_result res = {0};
    strcpy(res.error_code, "keep");
    strcpy(res.message, "keep too");
    const char *cases[] = {
        "",
        "<html><body>502 Bad Gateway</body></html>",
        "<Error><Code>Unterminated",
        "<Error><Code></Code></Error>",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(s3_parse_error_xml(cases[i], strlen(cases[i]), &res), -1, "case %zu", i);
    cr_assert_eq(s3_parse_error_xml(NULL, 0, &res), -1);
    cr_assert_str_eq(res.error_code, "keep");
    cr_assert_str_eq(res.message, "keep too");
}

Test(s3, parse_error_xml_respects_length_and_truncates) {
    struct s3_result res = {0};
    /* The closing tag lies beyond len: not found. */
    const char *xml = "<Code>AccessDenied</Code>";
    cr_assert_eq(s3_parse_error_xml(xml, 20, &res), -1);

    /* Over-long code and message are truncated, still NUL-terminated. */
    char big[1200];
    char longcode[100], longmsg[400];
    memset(longcode, 'C', sizeof(longcode) - 1);
    longcode[sizeof(longcode) - 1] = '\0';
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    snprintf(big, sizeof(big), "<Error><Code>%s</Code><Message>%s</Message></Error>", longcode,
             longmsg);
    cr_assert_eq(s3_parse_error_xml(big, strlen(big), &res), 0);
    cr_assert_eq(strlen(res.error_code), sizeof(res.error_code) - 1);
    cr_assert_eq(strlen(res.message), sizeof(res.message) - 1);
    cr_assert_eq(res.message[0], 'm');
}

/* ---- transient classification ------------------------------------------ */

static int s3_test_transient(long status, const char *code) {
    struct s3_result res = {.http_status = status};
    snprintf(res.error_code, sizeof(res.error_code), "%s", code);
    return s3_result_is_transient(&res);
}

Test(s3, transient_classification) {
    cr_assert_eq(s3_test_transient(0, ""), 1, "transport error");
    cr_assert_eq(s3_test_transient(0, S3_CLIENT_INVALID_ARGUMENT), 0);
    cr_assert_eq(s3_test_transient(0, S3_CLIENT_BODY_TOO_LARGE), 0);
    cr_assert_eq(s3_test_transient(200, ""), 0);
    cr_assert_eq(s3_test_transient(204, ""), 0);
    cr_assert_eq(s3_test_transient(500, "InternalError"), 1);
    cr_assert_eq(s3_test_transient(502, ""), 1);
    cr_assert_eq(s3_test_transient(503, "SlowDown"), 1);
    cr_assert_eq(s3_test_transient(503, ""), 1);
    cr_assert_eq(s3_test_transient(429, ""), 1);
    cr_assert_eq(s3_test_transient(408, ""), 1);
    cr_assert_eq(s3_test_transient(400, "RequestTimeout"), 1, "S3's idle-upload timeout");
    cr_assert_eq(s3_test_transient(400, "InvalidArgument"), 0);
    cr_assert_eq(s3_test_transient(403, "AccessDenied"), 0);
    cr_assert_eq(s3_test_transient(403, "SignatureDoesNotMatch"), 0);
    cr_assert_eq(s3_test_transient(404, "NoSuchBucket"), 0);
    cr_assert_eq(s3_test_transient(404, ""), 0);
    cr_assert_eq(s3_test_transient(409, "BucketAlreadyExists"), 0);
}

/* ---- client settings ----------------------------------------------------- */

#define S3_TEST_SECRET "s3-secret-Wq9-never-print"

static struct s3_settings s3_test_settings(const char *endpoint) {
    struct s3_settings s = {.endpoint = endpoint,
                            .region = "us-east-1",
                            .access_key = "archive",
                            .secret_key = S3_TEST_SECRET,
                            .timeout_ms = 2000};
    return s;
}

static void s3_test_bad_settings(struct s3_settings s, const char *needle) {
    char err[256] = "";
    struct s3_client *c = s3_client_create(&s, err, sizeof(err));
    cr_assert_null(c, "accepted settings that should fail with '%s'", needle);
    cr_assert(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
    cr_assert(strstr(err, S3_TEST_SECRET) == NULL, "secret leaked: %s", err);
}

Test(s3, client_create_validates_settings) {
    struct s3_settings s = s3_test_settings(NULL);
    s3_test_bad_settings(s, "endpoint");
    s.endpoint = "ftp://127.0.0.1:1";
    s3_test_bad_settings(s, "endpoint");
    s.endpoint = "http://";
    s3_test_bad_settings(s, "no host");
    s.endpoint = "http://h:1/?x";
    s3_test_bad_settings(s, "'?'");

    s = s3_test_settings("http://127.0.0.1:1");
    s.access_key = "";
    s3_test_bad_settings(s, "access key");
    s.access_key = "AK:with:colon";
    s3_test_bad_settings(s, "access key");
    s = s3_test_settings("http://127.0.0.1:1");
    s.secret_key = NULL;
    s3_test_bad_settings(s, "secret key is required");
    s = s3_test_settings("http://127.0.0.1:1");
    s.region = "us-east-1:evil";
    s3_test_bad_settings(s, "region");
}

Test(s3, client_create_defaults_and_destroy) {
    struct s3_settings s = s3_test_settings("https://minio.example:9000/");
    s.region = NULL;
    s.timeout_ms = 0;
    char err[256] = "";
    struct s3_client *c = s3_client_create(&s, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    s3_client_destroy(c);
    s3_client_destroy(NULL);
}

/* ---- local failures and transport errors --------------------------------- */

static double s3_test_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(s3, put_to_closed_port_is_a_fast_transient_transport_error) {
    struct s3_settings s = s3_test_settings("http://127.0.0.1:1");
    char err[256] = "";
    struct s3_result res;
    struct s3_client *c = s3_client_create(&s, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);

    double t0 = s3_test_now();
    int rc = s3_put_object(c, "orders-archive", "orders/x.json", "{}", 2, "application/json", &res);
    double elapsed = s3_test_now() - t0;
    cr_assert_eq(rc, -1);
    cr_assert_eq(res.http_status, 0);
    cr_assert_str_eq(res.error_code, "");
    cr_assert(res.message[0] != '\0', "transport error has a message");
    cr_assert(strstr(res.message, S3_TEST_SECRET) == NULL, "secret leaked: %s", res.message);
    cr_assert_eq(s3_result_is_transient(&res), 1);
    cr_assert(elapsed < 1.5, "took %.3f s", elapsed);

    /* The handle stays usable: the same failure again, for every verb. */
    struct strbuf body;
    strbuf_init(&body, 1024);
    cr_assert_eq(s3_get_object(c, "orders-archive", "orders/x.json", &body, &res), -1);
    cr_assert_eq(s3_result_is_transient(&res), 1);
    cr_assert_eq(s3_delete_object(c, "orders-archive", "orders/x.json", &res), -1);
    cr_assert_eq(s3_list_objects(c, "orders-archive", "orders/", NULL, &body, &res), -1);
    cr_assert_eq(s3_head_bucket(c, "orders-archive", &res), -1);
    cr_assert_eq(s3_result_is_transient(&res), 1);
    cr_assert_eq(body.len, 0);
    strbuf_release(&body);
    s3_client_destroy(c);
}

Test(s3, invalid_arguments_fail_before_sending_and_are_permanent) {
    struct s3_settings s = s3_test_settings("http://127.0.0.1:1");
    char err[256] = "";
    struct s3_result res;
    struct s3_client *c = s3_client_create(&s, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);

    cr_assert_eq(s3_put_object(c, "bad bucket", "k", "x", 1, NULL, &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);
    cr_assert_str_eq(res.message, "invalid bucket name");
    cr_assert_eq(s3_result_is_transient(&res), 0);

    cr_assert_eq(s3_put_object(c, "b/../other", "k", "x", 1, NULL, &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);
    cr_assert_eq(s3_head_bucket(c, "", &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);

    cr_assert_eq(s3_get_object(c, "b", "", NULL, &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);
    cr_assert_eq(s3_delete_object(c, "b", NULL, &res), -1);
    cr_assert_str_eq(res.error_code, S3_CLIENT_INVALID_ARGUMENT);

    char longkey[1026];
    memset(longkey, 'k', 1025);
    longkey[1025] = '\0';
    cr_assert_eq(s3_put_object(c, "b", longkey, "x", 1, NULL, &res), -1);
    cr_assert_str_eq(res.message, "object key must be 1-1024 bytes");
    longkey[1024] = '\0'; /* exactly 1024 is allowed: gets to the (closed) port */
    cr_assert_eq(s3_put_object(c, "b", longkey, "x", 1, NULL, &res), -1);
    cr_assert_str_eq(res.error_code, "");

    cr_assert_eq(s3_put_object(c, "b", "k", "x", 1, "text/plain\r\nX-Evil: 1", &res), -1);
    cr_assert_str_eq(res.message, "invalid content type");
    s3_client_destroy(c);
}
