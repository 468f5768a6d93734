/* dlq: dead-letter headers (originals kept byte for byte, dlq_* exact,
 * dlq_error bounded on a UTF-8 boundary), time format and header reading. */
#include <criterion/criterion.h>
#include <string.h>

#include "dlq.h"

TestSuite(dlq);

#define TD_FAILED_AT INT64_C(1714567302001) /* 2024-05-01T12:41:42.001Z */

/* Header idx of `h` must be exactly name=value[n] (value NULL: a null value). */
static void td_assert_header(const rd_kafka_headers_t *h, size_t idx, const char *name,
                             const void *value, size_t n) {
    const char *got_name;
    const void *got;
    size_t got_n;
    cr_assert_eq(rd_kafka_header_get_all(h, idx, &got_name, &got, &got_n),
                 RD_KAFKA_RESP_ERR_NO_ERROR, "no header #%zu", idx);
    cr_assert_str_eq(got_name, name, "header #%zu", idx);
    if (!value) {
        cr_assert_null(got, "header %s should be null", name);
        return;
    }
    cr_assert_eq(got_n, n, "header %s: %zu bytes, want %zu", name, got_n, n);
    cr_assert_eq(memcmp(got, value, n), 0, "header %s differs", name);
}

static void td_assert_str_header(const rd_kafka_headers_t *h, size_t idx, const char *name,
                                 const char *value) {
    td_assert_header(h, idx, name, value, strlen(value));
}

static rd_kafka_headers_t *td_original(void) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    cr_assert_eq(rd_kafka_header_add(h, "ce_id", -1, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11", -1),
                 0);
    cr_assert_eq(rd_kafka_header_add(h, "bin", -1, "\xff\x00\xfe", 3), 0); /* not UTF-8, NUL */
    cr_assert_eq(rd_kafka_header_add(h, "dup", -1, "one", -1), 0);
    cr_assert_eq(rd_kafka_header_add(h, "dup", -1, "two", -1), 0);
    cr_assert_eq(rd_kafka_header_add(h, "nullvalue", -1, NULL, 0), 0);
    return h;
}

Test(dlq, keeps_original_headers_byte_for_byte_then_adds_dlq_headers) {
    rd_kafka_headers_t *orig = td_original();
    rd_kafka_headers_t *h =
        dlq_headers_build_parts(orig, "orders.billing", 3, 1042, DLQ_REASON_PERMANENT,
                                "postgres 22003: out", 5, TD_FAILED_AT);
    cr_assert_not_null(h);
    cr_assert_eq(rd_kafka_header_cnt(h), 5 + 7);
    td_assert_str_header(h, 0, "ce_id", "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11");
    td_assert_header(h, 1, "bin", "\xff\x00\xfe", 3);
    td_assert_str_header(h, 2, "dup", "one");
    td_assert_str_header(h, 3, "dup", "two");
    td_assert_header(h, 4, "nullvalue", NULL, 0);
    td_assert_str_header(h, 5, "dlq_reason", "permanent_store_error");
    td_assert_str_header(h, 6, "dlq_error", "postgres 22003: out");
    td_assert_str_header(h, 7, "dlq_source_topic", "orders.billing");
    td_assert_str_header(h, 8, "dlq_source_partition", "3");
    td_assert_str_header(h, 9, "dlq_source_offset", "1042");
    td_assert_str_header(h, 10, "dlq_attempts", "5");
    td_assert_str_header(h, 11, "dlq_failed_at", "2024-05-01T12:41:42.001Z");
    /* The source list is untouched (the copy is independent). */
    cr_assert_eq(rd_kafka_header_cnt(orig), 5);
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(orig);
}

Test(dlq, record_without_headers_gets_only_dlq_headers) {
    rd_kafka_headers_t *h = dlq_headers_build_parts(
        NULL, "orders.archive", 0, 0, DLQ_REASON_UNDECODABLE, "value is not UTF-8", 1, 0);
    cr_assert_not_null(h);
    cr_assert_eq(rd_kafka_header_cnt(h), 7);
    td_assert_str_header(h, 0, "dlq_reason", "undecodable");
    td_assert_str_header(h, 2, "dlq_source_topic", "orders.archive");
    td_assert_str_header(h, 3, "dlq_source_partition", "0");
    td_assert_str_header(h, 4, "dlq_source_offset", "0");
    td_assert_str_header(h, 5, "dlq_attempts", "1");
    td_assert_str_header(h, 6, "dlq_failed_at", "1970-01-01T00:00:00.000Z");
    rd_kafka_headers_destroy(h);
}

Test(dlq, large_numbers_are_decimal_and_exact) {
    rd_kafka_headers_t *h = dlq_headers_build_parts(
        NULL, "t", INT32_MAX, INT64_MAX, DLQ_REASON_EXHAUSTED, "x", UINT32_MAX, TD_FAILED_AT);
    td_assert_str_header(h, 3, "dlq_source_partition", "2147483647");
    td_assert_str_header(h, 4, "dlq_source_offset", "9223372036854775807");
    td_assert_str_header(h, 5, "dlq_attempts", "4294967295");
    rd_kafka_headers_destroy(h);
}

static void td_assert_error_header(const char *error, const char *want, size_t want_len) {
    rd_kafka_headers_t *h =
        dlq_headers_build_parts(NULL, "t", 0, 0, DLQ_REASON_INVALID, error, 1, TD_FAILED_AT);
    cr_assert_not_null(h);
    td_assert_header(h, 1, "dlq_error", want, want_len);
    rd_kafka_headers_destroy(h);
}

Test(dlq, error_is_cut_at_1024_bytes) {
    char in[3000], want[DLQ_ERROR_MAX];
    memset(in, 'a', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    memset(want, 'a', sizeof want);
    td_assert_error_header(in, want, DLQ_ERROR_MAX);
    /* Exactly 1024 bytes pass whole. */
    in[DLQ_ERROR_MAX] = '\0';
    td_assert_error_header(in, want, DLQ_ERROR_MAX);
}

Test(dlq, error_is_cut_on_a_utf8_boundary) {
    /* 1022 ASCII bytes then a 4-byte emoji: bytes 1023-1026 would split it. */
    char in[1100], want[DLQ_ERROR_MAX];
    memset(in, 'a', 1022);
    memcpy(in + 1022, "\xF0\x9F\x98\x80tail", 9);
    memset(want, 'a', 1022);
    td_assert_error_header(in, want, 1022);
    /* With 1020 ASCII bytes the emoji ends exactly at 1024 and is kept. */
    memset(in, 'a', 1020);
    memcpy(in + 1020, "\xF0\x9F\x98\x80tail", 9);
    memcpy(want, in, 1024);
    td_assert_error_header(in, want, 1024);
    /* A 2-byte sequence straddling the limit is dropped whole. */
    memset(in, 'a', 1023);
    memcpy(in + 1023, "\xC3\xA9", 3);
    td_assert_error_header(in, in, 1023);
}

Test(dlq, error_bytes_that_are_not_utf8_become_question_marks) {
    td_assert_error_header("bad \xff\xc3( end",
                           "bad ?"
                           "?( end",
                           11);
    td_assert_error_header("caf\xC3\xA9", "caf\xC3\xA9", 5);
}

Test(dlq, empty_or_missing_error_is_never_an_empty_header) {
    td_assert_error_header("", "unknown error", 13);
    td_assert_error_header(NULL, "unknown error", 13);
}

Test(dlq, time_format_is_rfc3339_utc_with_milliseconds) {
    char out[DLQ_TIME_LEN + 1];
    cr_assert_eq(dlq_format_time(TD_FAILED_AT, out), 0);
    cr_assert_str_eq(out, "2024-05-01T12:41:42.001Z");
    cr_assert_eq(dlq_format_time(951782400999, out), 0); /* leap day 2000 */
    cr_assert_str_eq(out, "2000-02-29T00:00:00.999Z");
    cr_assert_eq(dlq_format_time(-1, out), 0);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
    cr_assert_eq(dlq_format_time(INT64_C(253402300800000), out), -1); /* year 10000 */
    cr_assert_str_eq(out, "");
}

Test(dlq, header_get_reads_one_value_and_refuses_ambiguity) {
    rd_kafka_headers_t *h = td_original();
    cr_assert_eq(rd_kafka_header_add(h, "dlq_attempts", -1, "12", -1), 0);
    char buf[64];
    cr_assert_eq(dlq_header_get_hdrs(h, "dlq_attempts", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "12");
    /* Exact fit: 2 bytes + NUL in 3; one byte less refuses. */
    cr_assert_eq(dlq_header_get_hdrs(h, "dlq_attempts", buf, 3), 0);
    cr_assert_str_eq(buf, "12");
    cr_assert_eq(dlq_header_get_hdrs(h, "dlq_attempts", buf, 2), -1);
    cr_assert_eq(dlq_header_get_hdrs(h, "dup", buf, sizeof buf), -1, "repeated");
    cr_assert_eq(dlq_header_get_hdrs(h, "absent", buf, sizeof buf), -1);
    cr_assert_eq(dlq_header_get_hdrs(h, "nullvalue", buf, sizeof buf), -1);
    cr_assert_eq(dlq_header_get_hdrs(h, "bin", buf, sizeof buf), -1, "embedded NUL");
    cr_assert_eq(dlq_header_get_hdrs(NULL, "dup", buf, sizeof buf), -1);
    rd_kafka_headers_destroy(h);
}

Test(dlq, headers_built_then_read_back) {
    rd_kafka_headers_t *h = dlq_headers_build_parts(NULL, "orders.billing", 2, 77,
                                                    DLQ_REASON_INVALID, "bad", 3, TD_FAILED_AT);
    static const char *const want[][2] = {
        {"dlq_reason", "invalid"},
        {"dlq_error", "bad"},
        {"dlq_source_topic", "orders.billing"},
        {"dlq_source_partition", "2"},
        {"dlq_source_offset", "77"},
        {"dlq_attempts", "3"},
        {"dlq_failed_at", "2024-05-01T12:41:42.001Z"},
    };
    char buf[128];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert_eq(dlq_header_get_hdrs(h, want[i][0], buf, sizeof buf), 0, "%s", want[i][0]);
        cr_assert_str_eq(buf, want[i][1]);
    }
    rd_kafka_headers_destroy(h);
}
