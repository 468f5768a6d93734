/* Integration tests of the billing Postgres writer (services/billing/pg.h)
 * against the real server, as the least-privilege billing role: the zombie
 * fence on the stored offsets, and which refusals count as poison. Each
 * test uses its own topic name in billing.consumer_offsets (a text column:
 * no Kafka needed) and its own client id. */
#include <criterion/criterion.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../services/billing/pg.h"
#include "../support/itest_env.h"
#include "billing_itest.h"
#include "order_event.h"

static PGconn *tp_admin;
static char tp_topic[64], tp_client[64];

static void tp_setup(void) {
    tp_admin = ibill_pg_admin();
    itest_unique("itest-zombie", tp_topic, sizeof tp_topic);
    itest_unique("ibpg", tp_client, sizeof tp_client);
}

static void tp_teardown(void) {
    char sql[256];
    ibill_cleanup_rows(tp_admin, tp_client);
    snprintf(sql, sizeof sql, "DELETE FROM billing.consumer_offsets WHERE topic = '%s'", tp_topic);
    PQclear(PQexec(tp_admin, sql));
    PQfinish(tp_admin);
}

TestSuite(billing_pg, .init = tp_setup, .fini = tp_teardown, .timeout = 60);

static struct billing_pg *tp_writer(void) {
    const struct billing_pg_settings s = {.host = itest_env("PG_HOST"),
                                          .port = atoi(itest_env("PG_PORT")),
                                          .database = itest_env("PG_DATABASE"),
                                          .user = itest_env("PG_BILLING_USER"),
                                          .password = itest_env("PG_BILLING_PASSWORD"),
                                          .sslmode = "disable",
                                          .timeout_ms = 5000};
    struct billing_pg *pg = billing_pg_create(&s);
    cr_assert_not_null(pg);
    char err[256];
    cr_assert_eq(billing_pg_connect(pg, err, sizeof err), BILLING_PG_OK, "%s", err);
    return pg;
}

#define TP_DATA_MAX 256

/* A decoded event as order_event_decode would give it; data[TP_DATA_MAX]
 * holds its JSON. */
static void tp_event(struct order_event *ev, char *data, const char *order_id, const char *currency,
                     int64_t offset) {
    memset(ev, 0, sizeof *ev);
    snprintf(ev->id, sizeof ev->id, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a%02d", (int)(offset % 100));
    snprintf(ev->client_id, sizeof ev->client_id, "%s", tp_client);
    snprintf(ev->time, sizeof ev->time, "2026-05-01T12:34:56.789Z");
    snprintf(data, TP_DATA_MAX,
             "{\"order_id\":\"%s\",\"customer_id\":\"c\",\"currency\":\"%s\",\"items\":"
             "[{\"sku\":\"A\",\"quantity\":1,\"unit_price_cents\":5}],\"total_cents\":5}",
             order_id, currency);
    ev->data = data;
    ev->data_len = strlen(data);
    snprintf(ev->order.order_id, sizeof ev->order.order_id, "%s", order_id);
    snprintf(ev->order.customer_id, sizeof ev->order.customer_id, "c");
    snprintf(ev->order.currency, sizeof ev->order.currency, "%s", currency);
    ev->order.total_cents = 5;
    ev->partition = 0;
    ev->offset = offset;
}

static struct billing_pg_stored tp_position(struct billing_pg *pg) {
    int32_t part = 0;
    struct billing_pg_stored st = {.next = -5};
    char err[256];
    cr_assert_eq(billing_pg_load_offsets(pg, "billing", tp_topic, &part, 1, &st, err, sizeof err),
                 BILLING_PG_OK, "%s", err);
    return st;
}

static int64_t tp_stored(struct billing_pg *pg) {
    return tp_position(pg).next;
}

/* (5) A zombie (lost the partition, still writes with the offset it knew)
 * cannot commit: its transaction, rows included, rolls back. */
Test(billing_pg, zombie_with_a_stale_offset_cannot_commit) {
    struct billing_pg *a = tp_writer(), *b = tp_writer();
    char err[512];
    size_t inserted = 99;
    int32_t fenced = -1;
    struct order_event ev;
    char d_ev[TP_DATA_MAX];
    const struct order_event *evs[1] = {&ev};

    /* A owns the partition: first write creates the offset row. */
    cr_assert_eq(tp_stored(a), BILLING_PG_NO_OFFSET);
    tp_event(&ev, d_ev, "a-1", "EUR", 9);
    struct billing_pg_offset oa = {.partition = 0, .expected = BILLING_PG_NO_OFFSET, .next = 10};
    cr_assert_eq(billing_pg_write(a, "billing", tp_topic, evs, 1, &oa, 1, &inserted, &fenced, err,
                                  sizeof err),
                 BILLING_PG_OK, "%s", err);
    cr_assert_eq(inserted, 1);

    /* Rebalance: B takes over from the stored 10 and commits up to 20. */
    cr_assert_eq(tp_stored(b), 10);
    tp_event(&ev, d_ev, "b-1", "EUR", 19);
    struct billing_pg_offset ob = {.partition = 0, .expected = 10, .next = 20};
    cr_assert_eq(billing_pg_write(b, "billing", tp_topic, evs, 1, &ob, 1, &inserted, &fenced, err,
                                  sizeof err),
                 BILLING_PG_OK, "%s", err);

    /* A, the zombie, still believes 10 and writes 10 -> 15. */
    tp_event(&ev, d_ev, "zombie-1", "EUR", 14);
    oa = (struct billing_pg_offset){.partition = 0, .expected = 10, .next = 15};
    cr_assert_eq(billing_pg_write(a, "billing", tp_topic, evs, 1, &oa, 1, &inserted, &fenced, err,
                                  sizeof err),
                 BILLING_PG_ERR_FENCED);
    cr_assert_eq(fenced, 0);
    cr_assert_eq(tp_stored(b), 20, "the zombie moved the offset");
    const char *params[] = {tp_client};
    PGresult *r = PQexecParams(
        tp_admin, "SELECT order_id FROM billing.orders WHERE client_id = $1 ORDER BY 1", 1, NULL,
        params, NULL, NULL, 0);
    cr_assert_eq(PQntuples(r), 2, "the zombie's row was committed");
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "a-1");
    cr_assert_str_eq(PQgetvalue(r, 1, 0), "b-1");
    PQclear(r);

    /* A second "first writer" (no row expected) is fenced too. */
    oa = (struct billing_pg_offset){.partition = 0, .expected = BILLING_PG_NO_OFFSET, .next = 3};
    cr_assert_eq(
        billing_pg_write(a, "billing", tp_topic, NULL, 0, &oa, 1, NULL, &fenced, err, sizeof err),
        BILLING_PG_ERR_FENCED);
    /* The writer stays usable after a fence. */
    oa = (struct billing_pg_offset){.partition = 0, .expected = 20, .next = 21};
    cr_assert_eq(
        billing_pg_write(a, "billing", tp_topic, NULL, 0, &oa, 1, NULL, &fenced, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    billing_pg_destroy(a);
    billing_pg_destroy(b);
}

/* Redelivery is a no-op: the same order again is a duplicate, not an error,
 * and the first copy stays. */
Test(billing_pg, redelivered_orders_are_duplicates_not_errors) {
    struct billing_pg *pg = tp_writer();
    char err[512];
    size_t inserted = 99;
    struct order_event e1, e2;
    char d_e1[TP_DATA_MAX], d_e2[TP_DATA_MAX];
    const struct order_event *evs[2] = {&e1, &e2};
    tp_event(&e1, d_e1, "dup-1", "EUR", 1);
    tp_event(&e2, d_e2, "dup-2", "EUR", 2);
    struct billing_pg_offset o = {.partition = 0, .expected = BILLING_PG_NO_OFFSET, .next = 3};
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, evs, 2, &o, 1, &inserted, NULL, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    cr_assert_eq(inserted, 2);
    o = (struct billing_pg_offset){.partition = 0, .expected = 3, .next = 5};
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, evs, 2, &o, 1, &inserted, NULL, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    cr_assert_eq(inserted, 0);
    cr_assert_eq(ibill_count(tp_admin, tp_client), 2);
    billing_pg_destroy(pg);
}

/* The anchor of the record before the stored offset (kafka_anchor.h) is
 * stored with it, all 64 bits, and moves with it. */
Test(billing_pg, anchor_moves_with_the_offset) {
    struct billing_pg *pg = tp_writer();
    char err[512];
    cr_assert_eq(tp_position(pg).has_anchor, 0);
    struct billing_pg_offset o = {.partition = 0,
                                  .expected = BILLING_PG_NO_OFFSET,
                                  .next = 7,
                                  .anchor = UINT64_C(0xfedcba9876543210)};
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, NULL, 0, &o, 1, NULL, NULL, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    struct billing_pg_stored st = tp_position(pg);
    cr_assert_eq(st.next, 7);
    cr_assert(st.has_anchor);
    cr_assert_eq(st.anchor, UINT64_C(0xfedcba9876543210));
    o = (struct billing_pg_offset){.partition = 0, .expected = 7, .next = 9, .anchor = 42};
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, NULL, 0, &o, 1, NULL, NULL, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    st = tp_position(pg);
    cr_assert_eq(st.next, 9);
    cr_assert_eq(st.anchor, 42);
    billing_pg_destroy(pg);
}

/* A row the table's CHECK refuses is permanent (poison), and nothing of its
 * batch is written, offsets included. */
Test(billing_pg, check_violation_is_permanent_and_writes_nothing) {
    struct billing_pg *pg = tp_writer();
    char err[512];
    struct order_event good, bad;
    char d_good[TP_DATA_MAX], d_bad[TP_DATA_MAX];
    const struct order_event *evs[2] = {&good, &bad};
    tp_event(&good, d_good, "good-1", "EUR", 1);
    tp_event(&bad, d_bad, "bad-1", "eur", 2); /* currency CHECK ^[A-Z]{3}$ */
    struct billing_pg_offset o = {.partition = 0, .expected = BILLING_PG_NO_OFFSET, .next = 3};
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, evs, 2, &o, 1, NULL, NULL, err, sizeof err),
        BILLING_PG_ERR_PERMANENT);
    cr_assert(strstr(err, "23514") != NULL, "message names the SQLSTATE: %s", err);
    cr_assert_eq(ibill_count(tp_admin, tp_client), 0);
    cr_assert_eq(tp_stored(pg), BILLING_PG_NO_OFFSET);
    /* The connection survives a permanent error. */
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, evs, 1, &o, 1, NULL, NULL, err, sizeof err),
        BILLING_PG_OK, "%s", err);
    billing_pg_destroy(pg);
}

/* Postgres unreachable is transient, with a message that names no secret. */
Test(billing_pg, unreachable_server_is_transient) {
    const struct billing_pg_settings s = {.host = "127.0.0.1",
                                          .port = 1,
                                          .database = "orders",
                                          .user = "billing",
                                          .password = "not-a-real-secret-xyz",
                                          .sslmode = "disable",
                                          .timeout_ms = 2000};
    struct billing_pg *pg = billing_pg_create(&s);
    char err[512];
    cr_assert_eq(
        billing_pg_write(pg, "billing", tp_topic, NULL, 0, NULL, 0, NULL, NULL, err, sizeof err),
        BILLING_PG_ERR_TRANSIENT);
    cr_assert_null(strstr(err, "not-a-real-secret-xyz"));
    cr_assert_eq(billing_pg_connected(pg), 0);
    billing_pg_destroy(pg);
}
