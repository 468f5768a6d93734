/* order_event: every poison kind with its reason and message, and what a
 * good record decodes to. Records are built in pieces (key, value, header
 * list) and go through order_event_decode_parts, since librdkafka cannot
 * attach headers to a hand-built rd_kafka_message_t. */
#include <criterion/criterion.h>
#include <string.h>

#include "order_event.h"

TestSuite(order_event);

#define TOE_KEY "example-client/ord-2024-0001"
#define TOE_VALUE                                                                                  \
    "{\"order_id\":\"ord-2024-0001\",\"customer_id\":\"cust-42\",\"currency\":\"EUR\","            \
    "\"items\":[{\"sku\":\"BOOK-123\",\"quantity\":2,\"unit_price_cents\":1250},"                  \
    "{\"sku\":\"PEN-7\",\"quantity\":10,\"unit_price_cents\":99}],\"total_cents\":3490,"           \
    "\"metadata\":{\"channel\":\"web\",\"coupon\":\"SPRING\"}}"
#define TOE_TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *const toe_good[][2] = {
    {"ce_specversion", "1.0"},
    {"ce_id", "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11"},
    {"ce_source", "/clients/example-client"},
    {"ce_type", "orders.order.accepted.v1"},
    {"ce_time", "2024-05-01T12:34:56.789Z"},
    {"ce_subject", "ord-2024-0001"},
    {"ce_clientid", "example-client"},
    {"content-type", "application/json"},
    {"traceparent", TOE_TRACEPARENT},
};
#define TOE_NGOOD (sizeof toe_good / sizeof toe_good[0])

/* The good headers, with header `name` replaced by `value` (NULL: left out). */
static rd_kafka_headers_t *toe_headers_with(const char *name, const char *value) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(TOE_NGOOD);
    for (size_t i = 0; i < TOE_NGOOD; i++) {
        const char *v = toe_good[i][1];
        if (name && strcmp(name, toe_good[i][0]) == 0) {
            if (!value)
                continue;
            v = value;
        }
        cr_assert_eq(rd_kafka_header_add(h, toe_good[i][0], -1, v, -1), 0);
    }
    return h;
}

struct toe_result {
    enum order_event_status st;
    char why[512];
};

/* Decodes key/value with headers h (consumed), releasing any event. */
static struct toe_result toe_decode(const char *key, size_t keylen, const char *value,
                                    size_t valuelen, rd_kafka_headers_t *h) {
    struct toe_result r;
    struct order_event ev;
    r.st = order_event_decode_parts(key, keylen, value, valuelen, h, &ev, r.why, sizeof r.why);
    if (r.st != ORDER_EVENT_OK) {
        cr_assert_null(ev.data, "a refused record must leave the event empty");
        cr_assert_eq(ev.id[0], '\0');
    }
    order_event_release(&ev);
    if (h)
        rd_kafka_headers_destroy(h);
    return r;
}

static struct toe_result toe_decode_headers(rd_kafka_headers_t *h) {
    return toe_decode(TOE_KEY, strlen(TOE_KEY), TOE_VALUE, strlen(TOE_VALUE), h);
}

static void toe_expect(struct toe_result r, enum order_event_status st, const char *why) {
    cr_assert_eq(r.st, st, "status %d, want %d (%s)", r.st, st, r.why);
    cr_assert_str_eq(r.why, why);
}

Test(order_event, good_record_decodes_to_its_attributes_and_canonical_data) {
    rd_kafka_headers_t *h = toe_headers_with(NULL, NULL);
    cr_assert_eq(rd_kafka_header_add(h, "x-unknown", -1, "ignored", -1), 0);
    const char *spaced = " { \"order_id\" : \"ord-2024-0001\", \"customer_id\":\"cust-42\","
                         "\"currency\":\"EUR\",\"items\":[{\"sku\":\"BOOK-123\",\"quantity\":2,"
                         "\"unit_price_cents\":1250},{\"sku\":\"PEN-7\",\"quantity\":10,"
                         "\"unit_price_cents\":99}],\"total_cents\":3490,\"metadata\":"
                         "{\"channel\":\"web\",\"coupon\":\"SPRING\"} } ";
    struct order_event ev;
    char why[256] = "untouched";
    enum order_event_status st = order_event_decode_parts(TOE_KEY, strlen(TOE_KEY), spaced,
                                                          strlen(spaced), h, &ev, why, sizeof why);
    cr_assert_eq(st, ORDER_EVENT_OK, "%s", why);
    cr_assert_str_eq(why, "");
    cr_assert_str_eq(ev.id, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11");
    cr_assert_str_eq(ev.client_id, "example-client");
    cr_assert_str_eq(ev.time, "2024-05-01T12:34:56.789Z");
    cr_assert_eq(ev.time_unix_ms, INT64_C(1714566896789));
    cr_assert_str_eq(ev.traceparent, TOE_TRACEPARENT);
    cr_assert_str_eq(ev.data, TOE_VALUE, "data must be the canonical compact JSON");
    cr_assert_eq(ev.data_len, strlen(TOE_VALUE));
    cr_assert_str_eq(ev.order.order_id, "ord-2024-0001");
    cr_assert_str_eq(ev.order.customer_id, "cust-42");
    cr_assert_str_eq(ev.order.currency, "EUR");
    cr_assert_eq(ev.order.total_cents, 3490);
    cr_assert_eq(ev.order.item_count, 2);
    cr_assert_str_eq(order_metadata_get(&ev.order, "coupon"), "SPRING");
    cr_assert_eq(ev.partition, -1);
    cr_assert_eq(ev.offset, -1);
    order_event_release(&ev);
    cr_assert_null(ev.data);
    order_event_release(&ev); /* twice is harmless */
    rd_kafka_headers_destroy(h);
}

Test(order_event, traceparent_is_optional) {
    rd_kafka_headers_t *h = toe_headers_with("traceparent", NULL);
    struct order_event ev;
    char why[128];
    cr_assert_eq(order_event_decode_parts(TOE_KEY, strlen(TOE_KEY), TOE_VALUE, strlen(TOE_VALUE), h,
                                          &ev, why, sizeof why),
                 ORDER_EVENT_OK, "%s", why);
    cr_assert_str_eq(ev.traceparent, "");
    order_event_release(&ev);
    rd_kafka_headers_destroy(h);
}

Test(order_event, time_forms_of_rfc3339_utc_are_parsed_exactly) {
    static const struct {
        const char *t;
        int64_t ms;
    } ok[] = {
        {"2024-02-29T23:59:59Z", INT64_C(1709251199000)},
        {"1999-12-31T00:00:00.123456789Z", INT64_C(946598400123)},
        {"1970-01-01T00:00:00.5Z", 500},
        {"2000-02-29T00:00:00.00Z", INT64_C(951782400000)},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rd_kafka_headers_t *h = toe_headers_with("ce_time", ok[i].t);
        struct order_event ev;
        char why[128];
        cr_assert_eq(order_event_decode_parts(TOE_KEY, strlen(TOE_KEY), TOE_VALUE,
                                              strlen(TOE_VALUE), h, &ev, why, sizeof why),
                     ORDER_EVENT_OK, "%s: %s", ok[i].t, why);
        cr_assert_eq(ev.time_unix_ms, ok[i].ms, "%s", ok[i].t);
        cr_assert_str_eq(ev.time, ok[i].t);
        order_event_release(&ev);
        rd_kafka_headers_destroy(h);
    }
}

/* ---- undecodable ---- */

Test(order_event, key_not_utf8_is_undecodable) {
    toe_expect(toe_decode("ab\xff/c", 5, TOE_VALUE, strlen(TOE_VALUE), toe_headers_with(0, 0)),
               ORDER_EVENT_UNDECODABLE, "key is not UTF-8 (byte 2)");
}

Test(order_event, header_value_not_utf8_is_undecodable_even_when_unknown) {
    rd_kafka_headers_t *h = toe_headers_with(NULL, NULL);
    cr_assert_eq(rd_kafka_header_add(h, "x-extra", -1, "ok\xc3(", 4), 0);
    toe_expect(toe_decode_headers(h), ORDER_EVENT_UNDECODABLE,
               "header 'x-extra' is not UTF-8 (byte 2)");
    toe_expect(toe_decode_headers(toe_headers_with("ce_subject", "ord\xed\xa0\x80")),
               ORDER_EVENT_UNDECODABLE, "header 'ce_subject' is not UTF-8 (byte 3)");
}

Test(order_event, header_name_not_utf8_is_undecodable) {
    rd_kafka_headers_t *h = toe_headers_with(NULL, NULL);
    cr_assert_eq(rd_kafka_header_add(h, "bad\xff", -1, "v", -1), 0);
    toe_expect(toe_decode_headers(h), ORDER_EVENT_UNDECODABLE, "header name #10 is not UTF-8");
}

Test(order_event, each_missing_required_header_is_undecodable) {
    for (size_t i = 0; i + 1 < TOE_NGOOD; i++) { /* all but traceparent */
        char want[128];
        snprintf(want, sizeof want, "header %s is missing", toe_good[i][0]);
        toe_expect(toe_decode_headers(toe_headers_with(toe_good[i][0], NULL)),
                   ORDER_EVENT_UNDECODABLE, want);
    }
    toe_expect(toe_decode_headers(NULL), ORDER_EVENT_UNDECODABLE,
               "header ce_specversion is missing");
}

Test(order_event, each_repeated_required_header_is_undecodable) {
    for (size_t i = 0; i + 1 < TOE_NGOOD; i++) {
        rd_kafka_headers_t *h = toe_headers_with(NULL, NULL);
        cr_assert_eq(rd_kafka_header_add(h, toe_good[i][0], -1, toe_good[i][1], -1), 0);
        char want[128];
        snprintf(want, sizeof want, "header %s is repeated", toe_good[i][0]);
        toe_expect(toe_decode_headers(h), ORDER_EVENT_UNDECODABLE, want);
    }
}

Test(order_event, required_header_without_value_is_undecodable) {
    rd_kafka_headers_t *h = toe_headers_with("ce_id", NULL);
    cr_assert_eq(rd_kafka_header_add(h, "ce_id", -1, NULL, 0), 0);
    toe_expect(toe_decode_headers(h), ORDER_EVENT_UNDECODABLE, "header ce_id has no value");
}

Test(order_event, value_not_utf8_not_json_or_empty_is_undecodable) {
    toe_expect(
        toe_decode(TOE_KEY, strlen(TOE_KEY), "{\"a\":\"\xc0\xaf\"}", 9, toe_headers_with(0, 0)),
        ORDER_EVENT_UNDECODABLE, "value is not UTF-8 (byte 6)");
    struct toe_result r =
        toe_decode(TOE_KEY, strlen(TOE_KEY), "{\"order_id\":", 12, toe_headers_with(0, 0));
    cr_assert_eq(r.st, ORDER_EVENT_UNDECODABLE);
    cr_assert(strncmp(r.why, "value is not JSON: invalid JSON at line 1", 41) == 0, "%s", r.why);
    toe_expect(toe_decode(TOE_KEY, strlen(TOE_KEY), NULL, 0, toe_headers_with(0, 0)),
               ORDER_EVENT_UNDECODABLE, "value is empty");
}

Test(order_event, undecodable_wins_over_invalid) {
    /* Bad specversion (invalid) and a value that is not JSON (undecodable). */
    toe_expect(
        toe_decode(TOE_KEY, strlen(TOE_KEY), "nope", 4, toe_headers_with("ce_specversion", "0.3")),
        ORDER_EVENT_UNDECODABLE,
        "value is not JSON: invalid JSON at line 1, column 1: invalid literal, expected null");
}

/* ---- invalid ---- */

static void toe_expect_invalid_header(const char *name, const char *value, const char *why) {
    toe_expect(toe_decode_headers(toe_headers_with(name, value)), ORDER_EVENT_INVALID, why);
}

Test(order_event, wrong_constants_are_invalid) {
    toe_expect_invalid_header("ce_specversion", "1.1", "ce_specversion '1.1' is not '1.0'");
    toe_expect_invalid_header("ce_type", "orders.order.accepted.v2",
                              "ce_type 'orders.order.accepted.v2' is not "
                              "'orders.order.accepted.v1'");
    toe_expect_invalid_header("content-type", "application/json; charset=utf-8",
                              "content-type 'application/json; charset=utf-8' is not "
                              "'application/json'");
}

Test(order_event, ce_id_must_be_a_lowercase_uuid) {
    toe_expect_invalid_header("ce_id", "0B6F1C1E-3B7D-4D8E-9A55-2F1D8C0E7A11",
                              "ce_id '0B6F1C1E-3B7D-4D8E-9A55-2F1D8C0E7A11' is not a lowercase "
                              "UUID");
    toe_expect_invalid_header("ce_id", "0b6f1c1e3b7d4d8e9a552f1d8c0e7a11",
                              "ce_id '0b6f1c1e3b7d4d8e9a552f1d8c0e7a11' is not a lowercase UUID");
    toe_expect_invalid_header("ce_id", "", "ce_id '' is not a lowercase UUID");
}

Test(order_event, ce_time_must_be_rfc3339_utc_with_a_real_date) {
    static const char *const bad[] = {
        "2024-05-01T12:34:56.789+00:00",
        "2024-05-01t12:34:56Z",
        "2024-05-01 12:34:56Z",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:60Z",
        "2024-05-01T12:34:56.Z",
        "2024-05-01T12:34:56.1234567890Z",
        "2024-05-01T12:34:56",
        "2024-5-01T12:34:56Z",
        "2024-05-01T12:34:5xZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "ce_time '%s' is not an RFC 3339 UTC time", bad[i]);
        toe_expect_invalid_header("ce_time", bad[i], want);
    }
}

Test(order_event, malformed_traceparent_is_invalid) {
    static const char *const bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", /* uppercase */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",    /* short */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* separator */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[160];
        snprintf(want, sizeof want, "traceparent '%s' is not a W3C traceparent", bad[i]);
        toe_expect_invalid_header("traceparent", bad[i], want);
    }
    rd_kafka_headers_t *h = toe_headers_with(NULL, NULL);
    cr_assert_eq(rd_kafka_header_add(h, "traceparent", -1, TOE_TRACEPARENT, -1), 0);
    toe_expect(toe_decode_headers(h), ORDER_EVENT_INVALID, "header traceparent is repeated");
}

Test(order_event, value_breaking_the_order_rules_is_invalid) {
    const char *v = "{\"order_id\":\"ord-2024-0001\",\"customer_id\":\"c\",\"currency\":\"EUR\","
                    "\"items\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price_cents\":5}],"
                    "\"total_cents\":11}";
    toe_expect(toe_decode(TOE_KEY, strlen(TOE_KEY), v, strlen(v), toe_headers_with(0, 0)),
               ORDER_EVENT_INVALID,
               "value is not a valid order: total_cents must equal the sum of quantity * "
               "unit_price_cents over items: 10, not 11 (at /total_cents)");
}

Test(order_event, bad_client_id_is_invalid) {
    toe_expect_invalid_header("ce_clientid", "a b",
                              "ce_clientid 'a b' is not a client id (1-64 of [A-Za-z0-9._-])");
}

Test(order_event, key_must_be_clientid_slash_subject) {
    const char *k = "example-client/ord-2024-0002";
    toe_expect(toe_decode(k, strlen(k), TOE_VALUE, strlen(TOE_VALUE), toe_headers_with(0, 0)),
               ORDER_EVENT_INVALID,
               "key 'example-client/ord-2024-0002' does not match ce_clientid/ce_subject "
               "'example-client/ord-2024-0001'");
    /* A key that is a prefix of the expected one is not enough. */
    toe_expect(toe_decode(k, 15, TOE_VALUE, strlen(TOE_VALUE), toe_headers_with(0, 0)),
               ORDER_EVENT_INVALID,
               "key 'example-client/' does not match ce_clientid/ce_subject "
               "'example-client/ord-2024-0001'");
    toe_expect(toe_decode(NULL, 0, TOE_VALUE, strlen(TOE_VALUE), toe_headers_with(0, 0)),
               ORDER_EVENT_INVALID, "record has no key; expected 'example-client/ord-2024-0001'");
}

Test(order_event, source_must_name_the_client) {
    toe_expect_invalid_header("ce_source", "/clients/other",
                              "ce_source '/clients/other' is not '/clients/example-client'");
    toe_expect_invalid_header("ce_source", "/clients/example-client/x",
                              "ce_source '/clients/example-client/x' is not "
                              "'/clients/example-client'");
}

Test(order_event, subject_must_be_the_order_id) {
    /* Key and subject agree with each other but not with the value. */
    rd_kafka_headers_t *h = toe_headers_with("ce_subject", "ord-other");
    const char *k = "example-client/ord-other";
    toe_expect(toe_decode(k, strlen(k), TOE_VALUE, strlen(TOE_VALUE), h), ORDER_EVENT_INVALID,
               "ce_subject 'ord-other' does not match the value's order_id 'ord-2024-0001'");
}

Test(order_event, long_values_are_quoted_shortened) {
    char v[300];
    memset(v, 'x', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    char want[200];
    snprintf(want, sizeof want, "ce_type '%.64s...' is not 'orders.order.accepted.v1'", v);
    toe_expect_invalid_header("ce_type", v, want);
}

Test(order_event, small_why_buffer_is_truncated_not_overrun) {
    struct order_event ev;
    char why[8];
    rd_kafka_headers_t *h = toe_headers_with("ce_id", NULL);
    cr_assert_eq(order_event_decode_parts(TOE_KEY, strlen(TOE_KEY), TOE_VALUE, strlen(TOE_VALUE), h,
                                          &ev, why, sizeof why),
                 ORDER_EVENT_UNDECODABLE);
    cr_assert_str_eq(why, "header ");
    cr_assert_eq(order_event_decode_parts(TOE_KEY, strlen(TOE_KEY), TOE_VALUE, strlen(TOE_VALUE), h,
                                          &ev, NULL, 0),
                 ORDER_EVENT_UNDECODABLE);
    rd_kafka_headers_destroy(h);
}

Test(order_event, status_reasons_match_the_dlq_contract) {
    cr_assert_str_eq(order_event_status_reason(ORDER_EVENT_UNDECODABLE), "undecodable");
    cr_assert_str_eq(order_event_status_reason(ORDER_EVENT_INVALID), "invalid");
    cr_assert_null(order_event_status_reason(ORDER_EVENT_OK));
    cr_assert_null(order_event_status_reason(ORDER_EVENT_NO_MEMORY));
}
