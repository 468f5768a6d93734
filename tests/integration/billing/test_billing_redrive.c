/* The SQS redrive story, end to end against the real stack: a store-side
 * cause (a CHECK constraint that refuses the test's client) makes billing
 * dead-letter an order after exactly max_attempts; nothing is stored. The
 * operator fixes the cause (drops the constraint) and runs `ordersctl dlq
 * redrive` as the publisher: the order is re-published once and billing,
 * still running, stores it field for field; no second dead letter. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dlq/itdlq.h"
#include "../support/itest_env.h"
#include "../support/itest_proc.h"
#include "billing_itest.h"
#include "dlq.h"

#define TBR_READY_MS 30000
#define TBR_WAIT_MS 120000 /* upper bound only; a healthy run takes seconds */
#define TBR_CONSTRAINT "itest_redrive_refuses_client"

static struct itest_proc tbr_proc;
static PGconn *tbr_pg;
static char tbr_client[64];
static struct ibill_order *tbr_orders;

static void tbr_sql(const char *sql) {
    PGresult *r = PQexec(tbr_pg, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(tbr_pg));
    PQclear(r);
}

static void tbr_setup(void) {
    memset(&tbr_proc, 0, sizeof tbr_proc);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tbr_pg = ibill_pg_admin();
    itest_unique("ibr", tbr_client, sizeof tbr_client);
    tbr_orders = NULL;
}

static void tbr_teardown(void) {
    if (tbr_proc.name[0])
        itest_proc_cleanup(&tbr_proc);
    if (tbr_pg) {
        /* Never leave the constraint behind for the next suite (quietly). */
        PQclear(PQexec(tbr_pg, "SET client_min_messages = warning"));
        PQclear(
            PQexec(tbr_pg, "ALTER TABLE billing.orders DROP CONSTRAINT IF EXISTS " TBR_CONSTRAINT));
        ibill_cleanup_rows(tbr_pg, tbr_client);
        PQfinish(tbr_pg);
    }
    free(tbr_orders);
    curl_global_cleanup();
}

TestSuite(billing_redrive, .init = tbr_setup, .fini = tbr_teardown, .timeout = 300);

/* Waits until exactly `want` records with key prefix `prefix` are in topic
 * after start[]; returns them in r (asserting no more ever appear). */
static int tbr_wait_records(const char *topic, const int64_t *start, const char *prefix, int want,
                            struct itdlq_rec r[ITDLQ_MAX_RECS]) {
    int n = 0;
    for (long waited = 0; waited < TBR_WAIT_MS; waited += 250) {
        n = itdlq_read_since(topic, start, prefix, r);
        if (n >= want)
            break;
        itdlq_recs_free(r, n);
        usleep(250 * 1000);
    }
    cr_assert_eq(n, want, "%d records of %s in %s, want %d", n, prefix, topic, want);
    return n;
}

Test(billing_redrive, redrive_after_fixing_the_cause_lands_it_in_the_sink) {
    const char *topic = itest_env("KAFKA_TOPIC_BILLING");
    char dlq_topic[256], sub[64], prefix[96], sql[256];
    snprintf(dlq_topic, sizeof dlq_topic, "%s%s", topic, DLQ_TOPIC_SUFFIX);
    itest_unique("ibr", sub, sizeof sub);
    snprintf(prefix, sizeof prefix, "%s/", tbr_client);

    /* The cause: Postgres refuses this client's rows (NOT VALID: existing
     * rows of other tests are not checked). */
    snprintf(sql, sizeof sql,
             "ALTER TABLE billing.orders ADD CONSTRAINT " TBR_CONSTRAINT
             " CHECK (client_id <> '%s') NOT VALID",
             tbr_client);
    tbr_sql(sql);

    int64_t dlq_start[ITDLQ_MAX_PARTS];
    itdlq_end_offsets(dlq_topic, dlq_start);
    itdlq_commit_group_at_end(dlq_topic, sub);
    tbr_orders = ibill_orders_make(tbr_client, 1);
    ibill_prepare(&tbr_proc);
    itest_proc_setenv(&tbr_proc, "BILLING_MAX_ATTEMPTS", "3");
    ibill_start(&tbr_proc, TBR_READY_MS);
    ibill_produce(tbr_client, tbr_orders, 0, 1, 1, -1);

    struct itdlq_rec r[ITDLQ_MAX_RECS];
    int n = tbr_wait_records(dlq_topic, dlq_start, prefix, 1, r);
    char buf[256];
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_reason", buf, sizeof buf), DLQ_REASON_PERMANENT);
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_attempts", buf, sizeof buf), "3");
    cr_assert(strstr(itdlq_header(r[0].h, "dlq_error", buf, sizeof buf), "23514") != NULL,
              "dlq_error names the CHECK violation: %s", buf);
    itdlq_recs_free(r, n);
    cr_assert_eq(ibill_count(tbr_pg, tbr_client), 0, "a refused order must not be stored");

    /* The fix, then the redrive. */
    tbr_sql("ALTER TABLE billing.orders DROP CONSTRAINT " TBR_CONSTRAINT);
    int64_t start[ITDLQ_MAX_PARTS];
    itdlq_end_offsets(topic, start);
    char *out = itdlq_ordersctl(sub, topic, ORDERSCTL_DLQ_REDRIVE, 0);
    /* Other suites' dead letters may be pending too (billing drains what
     * they left in the topic): count only ours. */
    const char *mine = strstr(out, prefix);
    cr_assert(mine && !strstr(mine + 1, prefix), "ours not redriven exactly once:\n%s", out);
    free(out);

    n = tbr_wait_records(topic, start, prefix, 1, r);
    tbr_orders[0].partition = r[0].partition; /* stored with the redriven record's position */
    tbr_orders[0].offset = r[0].offset;
    itdlq_recs_free(r, n);
    ibill_wait_count(tbr_pg, tbr_client, 1, TBR_WAIT_MS);
    ibill_check_all(tbr_pg, tbr_client, tbr_orders, 1);

    /* Stored, so not dead-lettered again: still exactly one dead letter. */
    n = itdlq_read_since(dlq_topic, dlq_start, prefix, r);
    itdlq_recs_free(r, n);
    cr_assert_eq(n, 1, "%d dead letters after the redrive", n);
}
