/* Unit tests for services/billing/rows: COPY text-format lines, escaped so
 * any text a valid order may hold arrives intact. */
#include <criterion/criterion.h>

#include <string.h>

#include "order_event.h"
#include "strbuf.h"

#include "../../../services/billing/rows.h"

static struct strbuf rows_sb;

static void rows_setup(void) {
    strbuf_init(&rows_sb, 4096);
}

static void rows_teardown(void) {
    strbuf_release(&rows_sb);
}

TestSuite(billing_rows, .init = rows_setup, .fini = rows_teardown);

Test(billing_rows, escapes_backslash_tab_newline_and_carriage_return) {
    const char in[] = "a\\b\tc\nd\re";
    cr_assert_eq(billing_rows_escape(&rows_sb, in, strlen(in)), 0);
    cr_assert_str_eq(strbuf_str(&rows_sb), "a\\\\b\\tc\\nd\\re");
}

Test(billing_rows, copy_null_marker_and_end_marker_are_escaped) {
    const char in[] = "\\N";
    cr_assert_eq(billing_rows_escape(&rows_sb, in, strlen(in)), 0);
    cr_assert_str_eq(strbuf_str(&rows_sb), "\\\\N", "\\N must not read as NULL");
    strbuf_reset(&rows_sb);
    cr_assert_eq(billing_rows_escape(&rows_sb, "\\.", 2), 0);
    cr_assert_str_eq(strbuf_str(&rows_sb), "\\\\.");
}

Test(billing_rows, utf8_passes_unchanged) {
    const char in[] = "caf\xc3\xa9 \xf0\x9f\x98\x80";
    cr_assert_eq(billing_rows_escape(&rows_sb, in, strlen(in)), 0);
    cr_assert_str_eq(strbuf_str(&rows_sb), in);
}

Test(billing_rows, one_line_of_ten_columns_in_staging_order) {
    struct order_event ev;
    char data[] = "{\"order_id\":\"o-1\",\"customer_id\":\"a\\\\b\"}";
    memset(&ev, 0, sizeof ev);
    strcpy(ev.id, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11");
    strcpy(ev.client_id, "client.1");
    strcpy(ev.time, "2026-05-01T12:34:56.789Z");
    ev.data = data;
    ev.data_len = strlen(data);
    strcpy(ev.order.order_id, "o-1");
    strcpy(ev.order.customer_id, "tab\there");
    strcpy(ev.order.currency, "EUR");
    ev.order.total_cents = INT64_C(9007199254740991);
    ev.partition = 5;
    ev.offset = INT64_C(1234567890123);
    cr_assert_eq(billing_rows_append(&rows_sb, &ev), 0);
    cr_assert_str_eq(strbuf_str(&rows_sb),
                     "client.1\to-1\ttab\\there\tEUR\t9007199254740991\t"
                     "{\"order_id\":\"o-1\",\"customer_id\":\"a\\\\\\\\b\"}\t"
                     "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11\t2026-05-01T12:34:56.789Z\t5\t"
                     "1234567890123\n");
}

Test(billing_rows, a_full_buffer_fails_instead_of_truncating_silently) {
    struct strbuf small;
    strbuf_init(&small, 8);
    cr_assert_eq(billing_rows_escape(&small, "0123456789", 10), -1);
    cr_assert(small.overflow);
    strbuf_release(&small);
}
