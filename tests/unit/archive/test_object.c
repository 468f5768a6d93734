/* Unit tests for services/archive/object: keys (UTC dates, edges of days),
 * the structured-mode bytes, batch names. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

#include "../../../services/archive/object.h"

/* 2026-01-31T23:59:59.999Z and the next millisecond */
#define UOBJ_LAST_MS 1769903999999LL
#define UOBJ_NEXT_MS 1769904000000LL

TestSuite(archive_object);

Test(archive_object, key_uses_the_utc_date_of_ce_time_at_the_edge_of_a_day) {
    char key[ARCHIVE_KEY_MAX];
    cr_assert_gt(archive_object_key(UOBJ_LAST_MS, "acme", "ord-1", key, sizeof key), 0);
    cr_assert_str_eq(key, "orders/2026/01/31/acme/ord-1.json");
    cr_assert_gt(archive_object_key(UOBJ_NEXT_MS, "acme", "ord-1", key, sizeof key), 0);
    cr_assert_str_eq(key, "orders/2026/02/01/acme/ord-1.json");
}

Test(archive_object, key_ignores_the_local_time_zone) {
    char key[ARCHIVE_KEY_MAX];
    setenv("TZ", "Pacific/Kiritimati", 1); /* UTC+14: local date is a day later */
    tzset();
    cr_assert_gt(archive_object_key(UOBJ_LAST_MS, "a", "b", key, sizeof key), 0);
    unsetenv("TZ");
    tzset();
    cr_assert_str_eq(key, "orders/2026/01/31/a/b.json");
}

Test(archive_object, key_leap_day_and_before_the_epoch) {
    char key[ARCHIVE_KEY_MAX];
    /* 2024-02-29T12:00:00Z */
    cr_assert_gt(archive_object_key(1709208000000LL, "c", "o", key, sizeof key), 0);
    cr_assert_str_eq(key, "orders/2024/02/29/c/o.json");
    /* -1 ms is 1969-12-31T23:59:59.999Z (floor, not truncation toward 0) */
    cr_assert_gt(archive_object_key(-1, "c", "o", key, sizeof key), 0);
    cr_assert_str_eq(key, "orders/1969/12/31/c/o.json");
}

Test(archive_object, key_that_does_not_fit_is_refused_and_empty) {
    char key[20];
    cr_assert_eq(archive_object_key(UOBJ_LAST_MS, "acme", "ord-1", key, sizeof key), -1);
    cr_assert_str_eq(key, "");
}

static void uobj_event(struct order_event *ev, const char *traceparent) {
    static char data[] = "{\"order_id\":\"ord-1\",\"customer_id\":\"c\\\"1\",\"currency\":\"EUR\","
                         "\"items\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":5}],"
                         "\"total_cents\":5}";
    memset(ev, 0, sizeof *ev);
    strcpy(ev->id, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11");
    strcpy(ev->client_id, "acme.eu");
    strcpy(ev->time, "2026-01-31T23:59:59.999Z");
    ev->time_unix_ms = UOBJ_LAST_MS;
    strcpy(ev->traceparent, traceparent);
    strcpy(ev->order.order_id, "ord-1");
    ev->data = data;
    ev->data_len = strlen(data);
}

Test(archive_object, document_bytes_are_exact_with_traceparent) {
    struct order_event ev;
    struct strbuf sb;
    uobj_event(&ev, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    strbuf_init(&sb, 1 << 16);
    cr_assert_eq(archive_object_document(&ev, &sb), 0);
    cr_assert_str_eq(
        strbuf_str(&sb),
        "{\"specversion\":\"1.0\",\"id\":\"0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11\","
        "\"source\":\"/clients/acme.eu\",\"type\":\"orders.order.accepted.v1\","
        "\"time\":\"2026-01-31T23:59:59.999Z\",\"subject\":\"ord-1\",\"clientid\":\"acme.eu\","
        "\"datacontenttype\":\"application/json\","
        "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
        "\"data\":{\"order_id\":\"ord-1\",\"customer_id\":\"c\\\"1\",\"currency\":\"EUR\","
        "\"items\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":5}],\"total_cents\":5}}");
    strbuf_release(&sb);
}

Test(archive_object, document_without_traceparent_has_no_such_member_and_is_repeatable) {
    struct order_event ev;
    struct strbuf a, b;
    uobj_event(&ev, "");
    strbuf_init(&a, 1 << 16);
    strbuf_init(&b, 1 << 16);
    cr_assert_eq(archive_object_document(&ev, &a), 0);
    cr_assert_eq(archive_object_document(&ev, &b), 0);
    cr_assert_null(strstr(strbuf_str(&a), "traceparent"));
    cr_assert_str_eq(strbuf_str(&a), strbuf_str(&b), "same event, same bytes");
    strbuf_release(&a);
    strbuf_release(&b);
}

Test(archive_object, document_that_does_not_fit_fails) {
    struct order_event ev;
    struct strbuf sb;
    uobj_event(&ev, "");
    strbuf_init(&sb, 64);
    cr_assert_eq(archive_object_document(&ev, &sb), -1);
    strbuf_release(&sb);
}

Test(archive_object, batch_names_are_zero_padded_by_first_offset_and_anchored) {
    char key[128];
    cr_assert_gt(
        archive_batch_key("orders.archive", 3, 1042, UINT64_C(0xfedcba9876543210), key, sizeof key),
        0);
    cr_assert_str_eq(key, "batches/orders.archive/3/00000000000000001042-fedcba9876543210.ndjson");
    cr_assert_gt(archive_batch_key("t", 0, 0, 1, key, sizeof key), 0);
    cr_assert_str_eq(key, "batches/t/0/00000000000000000000-0000000000000001.ndjson");
    cr_assert_eq(archive_batch_key("t", -1, 0, 0, key, sizeof key), -1);
    cr_assert_eq(archive_batch_key("t", 0, -5, 0, key, sizeof key), -1);
    cr_assert_eq(archive_batch_key("orders.archive", 3, 1042, 0, key, 40), -1);
    cr_assert_str_eq(key, "");
}
