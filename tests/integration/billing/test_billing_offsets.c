/* billing_offsets: billing's stored offsets against a log whose offsets
 * regress (kafka_anchor.h). The shared billing topic is deleted and
 * recreated (offsets restart at 0) while billing is stopped and while it
 * runs, and records expire unread; every order that is in the log must still
 * reach Postgres, and each reset is counted. Without the checks billing
 * skipped every new record below its stored offset. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../support/itest_proc.h"
#include "billing_itest.h"

#define TO_READY_MS 30000
#define TO_DRAIN_MS 180000 /* upper bound only; a healthy run takes seconds */
#define TO_STOP_MS 20000
#define TO_CLIENTS 4

static struct itest_proc to_proc;
static PGconn *to_pg;
static char to_client[TO_CLIENTS][64];
static struct ibill_order *to_orders[TO_CLIENTS];

static void to_setup(void) {
    memset(&to_proc, 0, sizeof to_proc);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    to_pg = ibill_pg_admin();
    for (int i = 0; i < TO_CLIENTS; i++) {
        itest_unique("io", to_client[i], sizeof to_client[i]);
        to_orders[i] = NULL;
    }
}

static void to_teardown(void) {
    if (to_proc.name[0])
        itest_proc_cleanup(&to_proc);
    for (int i = 0; i < TO_CLIENTS; i++) {
        if (to_pg)
            ibill_cleanup_rows(to_pg, to_client[i]);
        free(to_orders[i]);
    }
    if (to_pg)
        PQfinish(to_pg);
    curl_global_cleanup();
}

TestSuite(billing_offsets, .init = to_setup, .fini = to_teardown, .timeout = 420);

/* Billing's stored next offset of partition 0 (as the migrator). */
static int64_t to_stored(void) {
    const char *params[] = {itest_env("KAFKA_GROUP_BILLING"), itest_env("KAFKA_TOPIC_BILLING")};
    PGresult *r = PQexecParams(to_pg,
                               "SELECT next_offset FROM billing.consumer_offsets"
                               " WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = 0",
                               2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(to_pg));
    cr_assert_eq(PQntuples(r), 1, "no stored offset for partition 0");
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* A fresh, empty billing topic and no stored offsets for it. */
static void to_recreate(void) {
    itest_kafka_recreate_topic(itest_env("KAFKA_TOPIC_BILLING"),
                               atoi(itest_env("KAFKA_TOPIC_PARTITIONS")));
}

static double to_resets(const char *reason) {
    char series[128];
    snprintf(series, sizeof series, "orders_billing_offset_resets_total{reason=\"%s\"}", reason);
    return ibill_metric(to_proc.admin_port, series);
}

static void to_assert_resets(double beyond_end, double before_start, double anchor) {
    cr_assert_eq(to_resets("beyond_end"), beyond_end);
    cr_assert_eq(to_resets("before_start"), before_start);
    cr_assert_eq(to_resets("anchor_mismatch"), anchor);
}

/* Client k's n orders into partition 0. */
static void to_produce(int k, size_t n) {
    to_orders[k] = ibill_orders_make(to_client[k], n);
    ibill_produce(to_client[k], to_orders[k], 0, n, 50, 0);
}

static void to_stop(void) {
    int st = itest_proc_stop(&to_proc, SIGTERM, TO_STOP_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: wait status %d", st);
}

Test(billing_offsets, recreated_topics_and_expired_records_are_read_not_skipped) {
    to_recreate();
    const char *params[] = {itest_env("KAFKA_GROUP_BILLING"), itest_env("KAFKA_TOPIC_BILLING")};
    PQclear(PQexecParams(to_pg,
                         "DELETE FROM billing.consumer_offsets WHERE consumer_group = $1"
                         " AND topic = $2",
                         2, NULL, params, NULL, NULL, 0));

    /* A baseline: 300 orders stored, offset and anchor stored with them. */
    to_produce(0, 300);
    ibill_start(&to_proc, TO_READY_MS);
    ibill_wait_count(to_pg, to_client[0], 300, TO_DRAIN_MS);
    to_assert_resets(0, 0, 0);
    to_stop();
    int64_t stored = to_stored();

    /* Recreated while billing is stopped, and already grown past the stored
     * offset: only the anchor shows the records below it are new. */
    to_recreate();
    to_produce(1, 400);
    int64_t low, high;
    itest_kafka_watermarks(itest_env("KAFKA_TOPIC_BILLING"), 0, &low, &high);
    cr_assert_gt(high, stored, "the scenario needs the new log past %lld", (long long)stored);
    ibill_start(&to_proc, TO_READY_MS);
    ibill_wait_count(to_pg, to_client[1], 400, TO_DRAIN_MS);
    ibill_check_all(to_pg, to_client[1], to_orders[1], 400);
    to_assert_resets(0, 0, 1);

    /* Recreated while billing runs, shorter than the stored offset: the
     * fetch position leaves the log. */
    to_recreate();
    to_produce(2, 100);
    ibill_wait_count(to_pg, to_client[2], 100, TO_DRAIN_MS);
    ibill_check_all(to_pg, to_client[2], to_orders[2], 100);
    to_assert_resets(1, 0, 1);
    to_stop();

    /* Records expire unread (as retention would delete them): billing goes
     * on from the new log start and says so. */
    stored = to_stored();
    to_produce(3, 200);
    int64_t cut = stored + 100;
    itest_kafka_delete_records(itest_env("KAFKA_TOPIC_BILLING"), 0, cut);
    long kept = 0;
    for (size_t i = 0; i < 200; i++)
        kept += to_orders[3][i].offset >= cut;
    cr_assert(kept > 0 && kept < 200);
    ibill_start(&to_proc, TO_READY_MS);
    ibill_wait_count(to_pg, to_client[3], kept, TO_DRAIN_MS);
    to_assert_resets(0, 1, 0);
    to_stop();
    cr_assert_eq(ibill_count(to_pg, to_client[3]), kept, "an expired record was stored");
}
