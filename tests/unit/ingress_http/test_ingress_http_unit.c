/* Unit tests for ingress-auth's HTTP helpers: request id and traceparent
 * sanitising, media type and Content-Length checks (reqmeta), the exact
 * error and 202 bodies (answer), and the configuration table (config). */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../../services/ingress-auth/answer.h"
#include "../../../services/ingress-auth/config.h"
#include "../../../services/ingress-auth/reqmeta.h"

/* ---- request id ------------------------------------------------------------ */

Test(ingress_reqmeta, request_id_accepts_only_the_safe_alphabet) {
    char max[INGRESS_REQUEST_ID_MAX + 2];
    memset(max, 'a', sizeof max);
    max[INGRESS_REQUEST_ID_MAX] = '\0';
    cr_assert(ingress_request_id_valid("abc-DEF_1.2"));
    cr_assert(ingress_request_id_valid(max));
    max[INGRESS_REQUEST_ID_MAX] = 'a';
    max[INGRESS_REQUEST_ID_MAX + 1] = '\0';
    cr_assert_not(ingress_request_id_valid(max), "129 characters");
    const char *bad[] = {"", "a b", "a\"b", "a\nb", "a:b", "a/b", "caf\xc3\xa9", "a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(ingress_request_id_valid(bad[i]), "%zu", i);
    cr_assert_not(ingress_request_id_valid(NULL));
}

Test(ingress_reqmeta, request_id_pick_keeps_a_sane_id_and_replaces_others_with_a_uuid) {
    char out[INGRESS_REQUEST_ID_MAX + 1], out2[INGRESS_REQUEST_ID_MAX + 1];
    ingress_request_id_pick("req-1", out);
    cr_assert_str_eq(out, "req-1");
    ingress_request_id_pick("evil\r\nX-Injected: 1", out);
    cr_assert_eq(strlen(out), 36);
    cr_assert(out[8] == '-' && out[13] == '-' && out[14] == '4' && out[18] == '-');
    cr_assert(ingress_request_id_valid(out));
    ingress_request_id_pick(NULL, out2);
    cr_assert_str_neq(out, out2);
}

/* ---- traceparent ------------------------------------------------------------ */

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

Test(ingress_reqmeta, traceparent_validity_follows_event_schema) {
    cr_assert(ingress_traceparent_valid(TP_OK));
    cr_assert(ingress_traceparent_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    const char *bad[] = {
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* too long */
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  /* dash moved */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",  "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(ingress_traceparent_valid(bad[i]), "%zu", i);
    cr_assert_not(ingress_traceparent_valid(NULL));
}

Test(ingress_reqmeta, traceparent_pick_continues_a_valid_trace_and_starts_new_ones) {
    char out[INGRESS_TRACEPARENT_LEN + 1], tid[INGRESS_TRACE_ID_LEN + 1];
    cr_assert_eq(ingress_traceparent_pick(TP_OK, out), 1);
    cr_assert_str_eq(out, TP_OK);
    ingress_trace_id(out, tid);
    cr_assert_str_eq(tid, "4bf92f3577b34da6a3ce929d0e0e4736");
    cr_assert_eq(ingress_traceparent_pick("garbage", out), 0);
    cr_assert(ingress_traceparent_valid(out), "%s", out);
    cr_assert_eq(strncmp(out, "00-", 3), 0);
    cr_assert_str_eq(out + 52, "-01");
    cr_assert_eq(ingress_traceparent_pick(NULL, out), 0);
    cr_assert(ingress_traceparent_valid(out));
    ingress_trace_id("nope", tid);
    cr_assert_str_eq(tid, "");
}

/* ---- media type and Content-Length ------------------------------------------ */

Test(ingress_reqmeta, json_media_type_allows_only_a_utf8_charset) {
    const char *ok[] = {"application/json",
                        "Application/JSON",
                        "application/json; charset=utf-8",
                        "application/json;charset=UTF-8",
                        "application/json ; charset=\"utf-8\" ",
                        " application/json"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert(ingress_json_media_type(ok[i]), "%s", ok[i]);
    const char *bad[] = {"",
                         "text/plain",
                         "application/jsonx",
                         "application/json-patch+json",
                         "application/json; charset=latin1",
                         "application/json; boundary=x",
                         "application/json; charset=utf-8; x=y",
                         "application/json;",
                         "application/json; charset=\"utf-8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(ingress_json_media_type(bad[i]), "%s", bad[i]);
    cr_assert_not(ingress_json_media_type(NULL));
}

Test(ingress_reqmeta, content_length_is_compared_before_the_body_is_read) {
    cr_assert_eq(ingress_content_length_over(NULL, 10), 0);
    cr_assert_eq(ingress_content_length_over("10", 10), 0);
    cr_assert_eq(ingress_content_length_over("0", 10), 0);
    cr_assert_eq(ingress_content_length_over("11", 10), 1);
    cr_assert_eq(ingress_content_length_over("99999999999999999999999999", 10), 1);
    cr_assert_eq(ingress_content_length_over("-1", 10), -1);
    cr_assert_eq(ingress_content_length_over("1 0", 10), -1);
    cr_assert_eq(ingress_content_length_over("", 10), -1);
}

/* ---- bodies ------------------------------------------------------------------ */

Test(ingress_answer, error_body_is_exactly_the_contract_shape) {
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    cr_assert_eq(ingress_error_json(&sb, "unauthorized", "unauthorized", NULL), 0);
    cr_assert_str_eq(strbuf_str(&sb),
                     "{\"error\":{\"code\":\"unauthorized\",\"message\":\"unauthorized\"}}");
    strbuf_reset(&sb);
    cr_assert_eq(ingress_error_json(&sb, "invalid_order", "bad \"q\"\n", "/items/0/a~1b"), 0);
    cr_assert_str_eq(strbuf_str(&sb), "{\"error\":{\"code\":\"invalid_order\",\"message\":\"bad "
                                      "\\\"q\\\"\\n\",\"field\":\"/items/0/a~1b\"}}");
    cJSON *j = cJSON_Parse(strbuf_str(&sb));
    cr_assert_not_null(j, "must be valid JSON");
    cJSON_Delete(j);
    strbuf_reset(&sb);
    cr_assert_eq(ingress_error_json(&sb, "invalid_json", "x", ""), 0);
    cr_assert_str_eq(strbuf_str(&sb),
                     "{\"error\":{\"code\":\"invalid_json\",\"message\":\"x\",\"field\":\"\"}}");
    strbuf_release(&sb);
}

Test(ingress_answer, error_answer_falls_back_to_a_minimal_body_and_keeps_retry_after) {
    struct ingress_answer a;
    ingress_answer_init(&a);
    char *huge = malloc(INGRESS_ANSWER_BODY_MAX * 2);
    cr_assert_not_null(huge);
    memset(huge, 'm', INGRESS_ANSWER_BODY_MAX * 2 - 1);
    huge[INGRESS_ANSWER_BODY_MAX * 2 - 1] = '\0';
    ingress_answer_error(&a, 503, "unavailable", huge, NULL, 3);
    cr_assert_eq(a.status, 503);
    cr_assert_eq(a.retry_after_s, 3);
    cr_assert_str_eq(strbuf_str(&a.body),
                     "{\"error\":{\"code\":\"unavailable\",\"message\":\"unavailable\"}}");
    ingress_answer_error(&a, 429, "rate_limited", "rate limit exceeded", NULL, 2);
    cr_assert_str_eq(strbuf_str(&a.body),
                     "{\"error\":{\"code\":\"rate_limited\",\"message\":\"rate limit exceeded\"}}");
    free(huge);
    ingress_answer_release(&a);
}

Test(ingress_answer, accepted_body_has_the_three_members_in_order) {
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    cr_assert_eq(ingress_accepted_json(&sb, "ord-1", "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11"), 0);
    cr_assert_str_eq(strbuf_str(&sb), "{\"order_id\":\"ord-1\",\"event_id\":\"0b6f1c1e-3b7d-4d8e-"
                                      "9a55-2f1d8c0e7a11\",\"status\":\"accepted\"}");
    strbuf_release(&sb);
}

/* ---- configuration -------------------------------------------------------------- */

static const char *const cfgt_vars[] = {
    "INGRESS_CLIENTS_FILE",
    "REDIS_PASSWORD",
    "PUBLISHER_INTERNAL_TOKEN",
    "INGRESS_REDIS_POLICY",
    "PUBLISHER_URL",
    "INGRESS_MAX_BODY",
    "INGRESS_PUBLISH_TIMEOUT",
    "REDIS_PASSWORD_FILE",
    "PUBLISHER_INTERNAL_TOKEN_FILE",
    "INGRESS_CLIENTS_FILE_FILE",
    "INGRESS_TIMESTAMP_WINDOW",
    "LOG_LEVEL",
};

static void cfgt_clean(void) {
    for (size_t i = 0; i < sizeof cfgt_vars / sizeof cfgt_vars[0]; i++)
        unsetenv(cfgt_vars[i]);
}

static void cfgt_required(void) {
    cfgt_clean();
    setenv("INGRESS_CLIENTS_FILE", "/etc/clients.json", 1);
    setenv("REDIS_PASSWORD", "redis-secret-value", 1);
    setenv("PUBLISHER_INTERNAL_TOKEN", "a-token-of-24-bytes-long", 1);
}

TestSuite(ingress_config, .init = cfgt_required, .fini = cfgt_clean);

Test(ingress_config, defaults_are_the_agreed_values) {
    struct ingress_config c;
    char err[256];
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.max_body, 65536);
    cr_assert_eq(c.timestamp_window_ms, 300000);
    cr_assert_eq(c.idempotency_ttl_ms, 24LL * 3600 * 1000);
    cr_assert_eq(c.redis_policy, INGRESS_REDIS_FAIL_OPEN);
    cr_assert_str_eq(c.redis_key_prefix, "ingress:");
    cr_assert_str_eq(c.publisher_url, "http://127.0.0.1:18090/v1/publish");
    cr_assert_eq(c.port, 18080);
    ingress_config_free(&c);
}

Test(ingress_config, policy_and_url_are_validated) {
    struct ingress_config c;
    char err[256];
    setenv("INGRESS_REDIS_POLICY", "fail-closed", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.redis_policy, INGRESS_REDIS_FAIL_CLOSED);
    ingress_config_free(&c);
    setenv("INGRESS_REDIS_POLICY", "fail-sometimes", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "INGRESS_REDIS_POLICY"), "%s", err);
    unsetenv("INGRESS_REDIS_POLICY");
    const char *bad[] = {"ftp://x/y", "http://", "127.0.0.1:18090/v1/publish", "http:///p",
                         "http://a b/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("PUBLISHER_URL", bad[i], 1);
        cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1, "%s accepted", bad[i]);
        cr_assert_not_null(strstr(err, "PUBLISHER_URL"), "%s", err);
    }
    setenv("PUBLISHER_URL", "https://publisher.orders.svc:8443/v1/publish", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), 0, "%s", err);
    ingress_config_free(&c);
}

Test(ingress_config, secrets_are_required_checked_and_never_echoed) {
    struct ingress_config c;
    char err[256];
    setenv("PUBLISHER_INTERNAL_TOKEN", "short-token", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "PUBLISHER_INTERNAL_TOKEN"), "%s", err);
    cr_assert_null(strstr(err, "short-token"), "secret echoed: %s", err);
    setenv("PUBLISHER_INTERNAL_TOKEN", "a-token-of-24-bytes-long", 1);
    unsetenv("REDIS_PASSWORD");
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "REDIS_PASSWORD"), "%s", err);
    unsetenv("INGRESS_CLIENTS_FILE");
    setenv("REDIS_PASSWORD", "redis-secret-value", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "INGRESS_CLIENTS_FILE"), "%s", err);
}

Test(ingress_config, limits_are_bounded) {
    struct ingress_config c;
    char err[256];
    setenv("INGRESS_MAX_BODY", "1", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    setenv("INGRESS_MAX_BODY", "1024", 1);
    setenv("INGRESS_PUBLISH_TIMEOUT", "5ms", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "INGRESS_PUBLISH_TIMEOUT"), "%s", err);
    setenv("INGRESS_PUBLISH_TIMEOUT", "3s", 1);
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.max_body, 1024);
    cr_assert_eq(c.publish_timeout_ms, 3000);
    ingress_config_free(&c);
}

Test(ingress_config, describe_redacts_secrets) {
    struct ingress_config c;
    struct strbuf sb;
    char err[256];
    cr_assert_eq(ingress_config_load(&c, err, sizeof err), 0, "%s", err);
    strbuf_init(&sb, 16384);
    ingress_config_describe(&c, &sb);
    cr_assert_null(strstr(strbuf_str(&sb), "redis-secret-value"));
    cr_assert_null(strstr(strbuf_str(&sb), "a-token-of-24-bytes-long"));
    cr_assert_not_null(strstr(strbuf_str(&sb), "\"REDIS_PASSWORD\":\"<redacted>\""));
    strbuf_release(&sb);
    ingress_config_free(&c);
}
