/* Integration tests of the billing consumer against the real local Kafka
 * (SCRAM + ACLs) and Postgres: build/bin/billing runs as a child process
 * with only its own credentials; orders are fed by a transactional
 * producer as the publisher user; billing.orders is read back as the
 * migrator. Every test uses its own client id, so rows of other runs (and
 * records left in the shared topic) do not matter. ITEST_ORDERS sets N. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dlq/itdlq.h"
#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../support/itest_proc.h"
#include "billing_itest.h"
#include "dlq.h"
#include "kafka_conf.h"

#define TB_READY_MS 30000
#define TB_DRAIN_MS 180000 /* upper bound only; a healthy run takes seconds */
#define TB_STOP_MS 20000

static struct itest_proc tb_proc;
static PGconn *tb_pg;
static char tb_client[64];
static struct ibill_order *tb_orders;

static void tb_setup(void) {
    memset(&tb_proc, 0, sizeof tb_proc);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tb_pg = ibill_pg_admin();
    itest_unique("ib", tb_client, sizeof tb_client);
    tb_orders = NULL;
}

static void tb_teardown(void) {
    if (tb_proc.name[0])
        itest_proc_cleanup(&tb_proc);
    if (tb_pg) {
        ibill_cleanup_rows(tb_pg, tb_client);
        PQfinish(tb_pg);
    }
    free(tb_orders);
    curl_global_cleanup();
}

TestSuite(billing, .init = tb_setup, .fini = tb_teardown, .timeout = 240);

/* (1) N orders end up exactly once, field for field; SIGTERM exits 0. */
Test(billing, stores_every_order_exactly_once_field_for_field) {
    size_t n = ibill_n(10000);
    tb_orders = ibill_orders_make(tb_client, n);
    ibill_start(&tb_proc, TB_READY_MS);
    ibill_produce(tb_client, tb_orders, 0, n, 250, -1);
    ibill_wait_count(tb_pg, tb_client, (long)n, TB_DRAIN_MS);
    ibill_check_all(tb_pg, tb_client, tb_orders, n);
    cr_assert_geq(
        ibill_metric(tb_proc.admin_port, "orders_billing_records_total{result=\"stored\"}"),
        (double)n);
    cr_assert_gt(
        ibill_metric(tb_proc.admin_port, "orders_billing_sink_write_seconds_count{outcome=\"ok\"}"),
        0);
    int st = itest_proc_stop(&tb_proc, SIGTERM, TB_STOP_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: wait status %d", st);
}

/* (2) SIGKILL three times while draining: still every order exactly once. */
Test(billing, survives_three_sigkills_without_loss_or_duplicates) {
    size_t n = ibill_n(10000);
    char dlq_topic[256], prefix[96];
    snprintf(dlq_topic, sizeof dlq_topic, "%s%s", itest_env("KAFKA_TOPIC_BILLING"),
             DLQ_TOPIC_SUFFIX);
    snprintf(prefix, sizeof prefix, "%s/", tb_client);
    int64_t dlq_start[ITDLQ_MAX_PARTS];
    itdlq_end_offsets(dlq_topic, dlq_start);
    tb_orders = ibill_orders_make(tb_client, n);
    ibill_produce(tb_client, tb_orders, 0, n, 250, -1);
    ibill_prepare(&tb_proc);
    itest_proc_setenv(&tb_proc, "BILLING_BATCH_MAX", "20"); /* many commits to land between */
    ibill_start(&tb_proc, TB_READY_MS);
    for (int k = 1; k <= 3; k++) {
        long want = (long)(n * (size_t)k / 4);
        long have = 0;
        for (long waited = 0; waited < TB_DRAIN_MS && (have = ibill_count(tb_pg, tb_client)) < want;
             waited += 20)
            usleep(20 * 1000);
        cr_assert_geq(have, want);
        int st = itest_proc_stop(&tb_proc, SIGKILL, TB_STOP_MS);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        cr_log_info("SIGKILL %d with %ld of %zu orders stored", k, ibill_count(tb_pg, tb_client),
                    n);
        ibill_start(&tb_proc, TB_READY_MS);
    }
    ibill_wait_count(tb_pg, tb_client, (long)n, TB_DRAIN_MS);
    ibill_check_all(tb_pg, tb_client, tb_orders, n);
    /* The restarted instance resumed exactly at the offsets stored with the
     * rows: it re-read nothing that was already committed (a consumer
     * trusting Kafka's asynchronously committed offsets would). */
    cr_assert_eq(
        ibill_metric(tb_proc.admin_port, "orders_billing_records_total{result=\"duplicate\"}"), 0);
    struct itdlq_rec r[ITDLQ_MAX_RECS];
    int dead = itdlq_read_since(dlq_topic, dlq_start, prefix, r);
    itdlq_recs_free(r, dead);
    cr_assert_eq(dead, 0, "a crash is not poison: %d dead letters", dead);
}

/* Runs a stack script from the repository root (the tests' cwd). */
static void tb_script(const char *cmd) {
    cr_assert_eq(access("scripts/postgres.sh", X_OK), 0,
                 "run the integration suites from the repository root");
    int rc = system(cmd);
    cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s failed (%d)", cmd, rc);
}

static long tb_outage_ms(void) {
    const char *v = getenv("ITEST_PG_OUTAGE_MS");
    long ms = v && *v ? strtol(v, NULL, 10) : 0;
    return ms > 0 ? ms : 20000;
}

/* (3) Postgres stopped mid-stream: billing waits (not ready), loses and
 * dead-letters nothing, and catches up once it is back. */
Test(billing, waits_for_postgres_and_catches_up_without_dead_letters) {
    size_t n = ibill_n(10000); /* half before the outage, half during it */
    const char *dlq_topic = "orders.billing.dlq";
    char dlq_name[256];
    snprintf(dlq_name, sizeof dlq_name, "%s%s", itest_env("KAFKA_TOPIC_BILLING"), DLQ_TOPIC_SUFFIX);
    dlq_topic = dlq_name;
    int64_t dlq_before = ibill_end_offset(dlq_topic, 0);
    tb_orders = ibill_orders_make(tb_client, n);
    ibill_start(&tb_proc, TB_READY_MS);
    ibill_produce(tb_client, tb_orders, 0, n / 2, 250, -1);
    ibill_wait_count(tb_pg, tb_client, (long)(n / 2), TB_DRAIN_MS);

    tb_script("scripts/postgres.sh stop >/dev/null");
    ibill_produce(tb_client, tb_orders, n / 2, n, 250, -1);
    long waited = 0;
    while (itest_http_get(tb_proc.admin_port, "/readyz") == 200 && waited < 30000) {
        usleep(100 * 1000);
        waited += 100;
    }
    cr_assert_eq(itest_http_get(tb_proc.admin_port, "/readyz"), 503,
                 "billing stays ready while Postgres is down");
    long outage = tb_outage_ms();
    if (outage > waited)
        usleep((useconds_t)(outage - waited) * 1000);
    cr_assert_eq(itest_http_get(tb_proc.admin_port, "/readyz"), 503);
    cr_assert_eq(itest_http_get(tb_proc.admin_port, "/healthz"), 200, "alive while waiting");
    cr_assert_gt(ibill_metric(tb_proc.admin_port, "orders_billing_transient_failures_total"), 0);
    tb_script("scripts/postgres.sh start >/dev/null");

    ibill_wait_count(tb_pg, tb_client, (long)n, TB_DRAIN_MS);
    ibill_check_all(tb_pg, tb_client, tb_orders, n);
    for (waited = 0; itest_http_get(tb_proc.admin_port, "/readyz") != 200 && waited < 30000;
         waited += 100)
        usleep(100 * 1000);
    cr_assert_eq(itest_http_get(tb_proc.admin_port, "/readyz"), 200, "ready again");
    cr_assert_eq(ibill_end_offset(dlq_topic, 0), dlq_before, "an outage dead-lettered records");
    cr_assert_eq(
        ibill_metric(tb_proc.admin_port, "orders_billing_records_total{result=\"dead_lettered\"}"),
        0);
}

/* ---- poison ------------------------------------------------------------------ */

/* Reads orders.billing.dlq from `from` until the dead letter of source
 * offset `offset` of partition 0 shows up; returns it (caller destroys). */
static rd_kafka_message_t *tb_find_dead_letter(rd_kafka_t *rk, int64_t offset) {
    char want[24], got[32];
    snprintf(want, sizeof want, "%" PRId64, offset);
    for (int i = 0; i < 300; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err && dlq_header_get(m, "dlq_source_offset", got, sizeof got) == 0 &&
            strcmp(got, want) == 0 &&
            dlq_header_get(m, "dlq_source_partition", got, sizeof got) == 0 &&
            strcmp(got, "0") == 0)
            return m;
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *tb_dlq_reader(const char *topic, int64_t from) {
    rd_kafka_t *rk = itest_kafka_consumer("ADMIN", "itest-dlq", NULL, 0);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = from;
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

static void tb_check_dead_letter(rd_kafka_t *rk, int64_t offset, const char *key, const char *value,
                                 const char *reason) {
    char buf[256];
    rd_kafka_message_t *m = tb_find_dead_letter(rk, offset);
    cr_assert_not_null(m, "no dead letter for offset %" PRId64, offset);
    cr_assert_eq(m->key_len, strlen(key));
    cr_assert_eq(memcmp(m->key, key, m->key_len), 0, "key kept byte for byte");
    cr_assert_eq(m->len, strlen(value));
    cr_assert_eq(memcmp(m->payload, value, m->len), 0, "value kept byte for byte");
    cr_assert_eq(dlq_header_get(m, "dlq_reason", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, reason);
    cr_assert_eq(dlq_header_get(m, "dlq_source_topic", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, itest_env("KAFKA_TOPIC_BILLING"));
    cr_assert_eq(dlq_header_get(m, "dlq_attempts", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "3", "dead-lettered after exactly BILLING_MAX_ATTEMPTS (3) attempts");
    cr_assert_eq(dlq_header_get(m, "dlq_error", buf, sizeof buf), 0);
    cr_assert_gt(strlen(buf), 0);
    cr_assert_eq(dlq_header_get(m, "dlq_failed_at", buf, sizeof buf), 0);
    rd_kafka_message_destroy(m);
}

/* (4) An undecodable and an invalid record between good ones: both land in
 * the DLQ with the contract's headers, the good ones are stored, and the
 * stored offset moves past all of them. */
Test(billing, dead_letters_poison_and_stores_the_records_around_it) {
    char dlq_topic[256], key1[160], key2[160], bad_body[400];
    snprintf(dlq_topic, sizeof dlq_topic, "%s%s", itest_env("KAFKA_TOPIC_BILLING"),
             DLQ_TOPIC_SUFFIX);
    int64_t dlq_from = ibill_end_offset(dlq_topic, 0);
    tb_orders = ibill_orders_make(tb_client, 3);
    ibill_produce(tb_client, tb_orders, 0, 1, 1, 0);

    snprintf(key1, sizeof key1, "%s/bad-json", tb_client);
    const char *value1 = "{\"order_id\": \"bad-json\", not json";
    char source[96];
    snprintf(source, sizeof source, "/clients/%s", tb_client);
    const char *h1[] = {"ce_specversion", "1.0",
                        "ce_id",          "6f1c1e0b-3b7d-4d8e-9a55-2f1d8c0e7a11",
                        "ce_source",      source,
                        "ce_type",        "orders.order.accepted.v1",
                        "ce_time",        "2026-01-01T00:00:00.000Z",
                        "ce_subject",     "bad-json",
                        "ce_clientid",    tb_client,
                        "content-type",   "application/json"};
    int64_t off1 = ibill_produce_raw(key1, value1, h1, 8, 0);

    /* Decodes, but its total does not match its items: invalid. */
    snprintf(key2, sizeof key2, "%s/bad-total", tb_client);
    snprintf(
        bad_body, sizeof bad_body,
        "{\"order_id\":\"bad-total\",\"customer_id\":\"c\",\"currency\":\"EUR\","
        "\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price_cents\":5}],\"total_cents\":6}");
    const char *h2[] = {"ce_specversion", "1.0",
                        "ce_id",          "7f1c1e0b-3b7d-4d8e-9a55-2f1d8c0e7a12",
                        "ce_source",      source,
                        "ce_type",        "orders.order.accepted.v1",
                        "ce_time",        "2026-01-01T00:00:00.000Z",
                        "ce_subject",     "bad-total",
                        "ce_clientid",    tb_client,
                        "content-type",   "application/json"};
    int64_t off2 = ibill_produce_raw(key2, bad_body, h2, 8, 0);
    ibill_produce(tb_client, tb_orders, 1, 3, 2, 0);

    ibill_start(&tb_proc, TB_READY_MS);
    ibill_wait_count(tb_pg, tb_client, 3, TB_DRAIN_MS);
    ibill_check_all(tb_pg, tb_client, tb_orders, 3);

    rd_kafka_t *rk = tb_dlq_reader(dlq_topic, dlq_from);
    tb_check_dead_letter(rk, off1, key1, value1, DLQ_REASON_UNDECODABLE);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rk = tb_dlq_reader(dlq_topic, dlq_from);
    tb_check_dead_letter(rk, off2, key2, bad_body, DLQ_REASON_INVALID);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);

    /* The stored offset is past the poison and the last good record. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT next_offset FROM billing.consumer_offsets WHERE consumer_group = '%s'"
             " AND topic = '%s' AND kafka_partition = 0",
             itest_env("KAFKA_GROUP_BILLING"), itest_env("KAFKA_TOPIC_BILLING"));
    PGresult *r = PQexec(tb_pg, sql);
    cr_assert_eq(PQntuples(r), 1);
    cr_assert_geq(strtoll(PQgetvalue(r, 0, 0), NULL, 10), tb_orders[2].offset + 1);
    PQclear(r);
    cr_assert_geq(
        ibill_metric(tb_proc.admin_port, "orders_billing_records_total{result=\"dead_lettered\"}"),
        2);
}
