/* End-to-end tests of the whole pipeline on the real local stack:
 * signed orders POSTed through ingress-auth -> publisher -> Kafka ->
 * billing (Postgres) and archive (S3), all four as child processes with
 * only their own credentials. Every order answered 202 must end up
 * exactly once in billing.orders and exactly once in the bucket, field for
 * field as sent, with the 202's event_id in both, and never in a DLQ -
 * also across a Kafka restart mid-stream and an S3 outage.
 * ITEST_E2E_ORDERS (default 10000) sizes the plain run,
 * ITEST_E2E_FAULT_ORDERS (default 10000) the fault runs. Run from the repo
 * root (scripts/kafka.sh, scripts/s3.sh are called). */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../archive/iarc.h"
#include "e2e.h"

#define E2E_CONNS 8
#define E2E_SINK_MS 240000 /* bound of a sink catching up; never a speed claim */

static struct e2e_stack e2e;
static int e2e_kafka_down, e2e_s3_down;

static void e2e_setup(void) {
    memset(&e2e, 0, sizeof e2e);
    e2e_kafka_down = e2e_s3_down = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void e2e_teardown(void) {
    /* a failed test must not leave the shared stack broken */
    if (e2e_kafka_down)
        iing_stack_script("kafka", "start");
    if (e2e_s3_down)
        iing_stack_script("s3", "start");
    if (e2e.client[0])
        e2e_billing_cleanup(e2e.client);
    e2e_stack_cleanup(&e2e);
    curl_global_cleanup();
}

TestSuite(e2e, .init = e2e_setup, .fini = e2e_teardown, .timeout = 420);

static void e2e_send_init(struct e2e_send *snd, struct e2e_order *o, size_t n, int retry) {
    memset(snd, 0, sizeof *snd);
    snd->port = e2e.front.ing_port;
    snd->client = e2e.client;
    snd->o = o;
    snd->n = n;
    snd->conns = E2E_CONNS;
    snd->retry = retry;
    snd->deadline_ms = 300000;
    atomic_store(&snd->release, n);
}

/* Both sinks hold every order once, as sent; nothing was dead-lettered. */
static void e2e_check_sinks(const struct e2e_order *o, size_t n, time_t from,
                            const struct e2e_dlq_mark *dlq) {
    long long *received = calloc(n, sizeof *received);
    cr_assert_not_null(received);
    e2e_billing_wait(e2e.client, (long)n, E2E_SINK_MS);
    e2e_bucket_wait(e2e.client, o, n, from, time(NULL) + 1, E2E_SINK_MS);
    e2e_billing_check(e2e.client, o, n, received);
    e2e_bucket_check(e2e.client, o, n, from, time(NULL) + 1, received);
    cr_assert_eq(e2e_dlq_count_client(dlq, e2e.client), 0,
                 "orders of this test were dead-lettered");
    free(received);
}

Test(e2e, every_accepted_order_once_in_billing_and_archive) {
    size_t n = e2e_n("ITEST_E2E_ORDERS", 10000);
    struct e2e_order *o = e2e_orders_make(n);
    struct e2e_send snd;
    struct e2e_dlq_mark dlq;
    e2e_stack_start(&e2e);
    e2e_dlq_mark(&dlq);
    time_t from = time(NULL) - 1;
    e2e_send_init(&snd, o, n, 0);
    e2e_send_run(&snd);
    cr_log_info("%zu orders sent in %lld s over %d connections", n, (long long)(time(NULL) - from),
                E2E_CONNS);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(o[i].first_status, 202, "order %s answered %ld", o[i].order_id,
                     o[i].first_status);
    e2e_check_sinks(o, n, from, &dlq);
    free(o);
}

Test(e2e, kafka_restart_mid_stream_keeps_every_accepted_order_once) {
    size_t n = e2e_n("ITEST_E2E_FAULT_ORDERS", 10000);
    struct e2e_order *o = e2e_orders_make(n);
    struct e2e_send snd;
    struct e2e_dlq_mark dlq;
    void *th;
    cr_assert_geq(n, 4, "ITEST_E2E_FAULT_ORDERS too small for a mid-stream fault");
    e2e_stack_start(&e2e);
    e2e_dlq_mark(&dlq);
    time_t from = time(NULL) - 1;
    e2e_send_init(&snd, o, n, 1);
    atomic_store(&snd.release, n / 4); /* the rest only once Kafka is down */
    e2e_send_start(&snd, &th);
    e2e_wait_atomic(&snd.answered, n / 4, 120000, "answers before the fault");
    e2e_kafka_down = 1;
    cr_assert_eq(iing_stack_script("kafka", "stop"), 0, "scripts/kafka.sh stop");
    atomic_store(&snd.release, n);
    /* the outage is seen: orders are refused (503), not accepted */
    e2e_wait_atomic(&snd.refused, E2E_CONNS, 120000, "refusals while Kafka is down");
    cr_assert_eq(iing_stack_script("kafka", "start"), 0, "scripts/kafka.sh start");
    e2e_kafka_down = 0;
    e2e_send_join(th);
    size_t retried = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(o[i].status, 202, "order %s finally answered %ld", o[i].order_id, o[i].status);
        retried += o[i].attempts > 1;
    }
    cr_log_info("Kafka restart: %zu orders, %zu sent again after a refusal, %zu refusals", n,
                retried, atomic_load(&snd.refused));
    cr_assert_gt(retried, 0);
    e2e_check_sinks(o, n, from, &dlq);
    free(o);
}

Test(e2e, s3_outage_does_not_stop_billing_and_archive_catches_up) {
    static const char stored[] = "orders_archive_records_total{result=\"stored\"} ";
    size_t n = e2e_n("ITEST_E2E_FAULT_ORDERS", 10000);
    struct e2e_order *o = e2e_orders_make(n);
    struct e2e_send snd;
    struct e2e_dlq_mark dlq;
    e2e_stack_start(&e2e);
    e2e_dlq_mark(&dlq);
    time_t from = time(NULL) - 1;
    e2e_s3_down = 1;
    cr_assert_eq(iing_stack_script("s3", "stop"), 0, "scripts/s3.sh stop");
    double stored0 = iarc_metric(&e2e.archive, stored);
    /* the write path does not touch S3: every order is accepted (a 503 of
     * an overloaded machine is retried as a client would; were S3 on the
     * write path, none would be and the send would stall) */
    e2e_send_init(&snd, o, n, 1);
    e2e_send_run(&snd);
    size_t retried = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(o[i].status, 202, "order %s answered %ld", o[i].order_id, o[i].status);
        retried += o[i].attempts > 1;
    }
    cr_log_info("S3 outage: %zu of %zu orders sent again after a refusal", retried, n);
    /* billing stores them all while the archive cannot store anything */
    e2e_billing_wait(e2e.client, (long)n, E2E_SINK_MS);
    cr_assert_eq(iarc_wait_ready(&e2e.archive, 503, 30000), 503, "archive ready without S3");
    cr_assert_eq(iarc_metric(&e2e.archive, stored), stored0, "archive stored without S3");
    cr_assert_gt(iarc_metric(&e2e.archive, "orders_archive_transient_failures_total "), 0);
    cr_assert_eq(e2e_dlq_count_client(&dlq, e2e.client), 0, "an outage is not poison");
    cr_assert_eq(iing_stack_script("s3", "start"), 0, "scripts/s3.sh start");
    e2e_s3_down = 0;
    e2e_check_sinks(o, n, from, &dlq);
    cr_assert_eq(iarc_wait_ready(&e2e.archive, 200, 30000), 200, "archive not ready again");
    cr_assert_geq(iarc_metric(&e2e.archive, stored), stored0 + (double)n);
    free(o);
}

/* Lines of a JSON-lines log whose msg contains `needle`: how many, and how
 * many of them carry trace_id `trace`. */
static void e2e_log_lines(const char *path, const char *needle, const char *trace, int *lines,
                          int *traced) {
    char buf[20000];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    *lines = *traced = 0;
    while (fgets(buf, sizeof buf, f)) {
        if (!strstr(buf, needle))
            continue;
        cJSON *j = cJSON_Parse(buf);
        if (!j)
            continue; /* not a log line of the service (e.g. a sanitizer note) */
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(j, "trace_id");
        if (cJSON_IsString(msg) && strstr(msg->valuestring, needle)) {
            (*lines)++;
            *traced += cJSON_IsString(tid) && strcmp(tid->valuestring, trace) == 0;
        }
        cJSON_Delete(j);
    }
    fclose(f);
}

Test(e2e, traceparent_reaches_billing_and_archive_logs_and_the_object) {
    enum { N = 20 };
    struct e2e_order *o = e2e_orders_make(N);
    struct e2e_send snd;
    struct e2e_dlq_mark dlq;
    /* per-record lines are debug; the services inherit this (one test's process) */
    cr_assert_eq(setenv("LOG_LEVEL", "debug", 1), 0);
    e2e_stack_start(&e2e);
    e2e_dlq_mark(&dlq);
    time_t from = time(NULL) - 1;
    e2e_send_init(&snd, o, N, 0);
    e2e_send_run(&snd);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(o[i].first_status, 202);
    /* the objects' traceparent attribute is checked in there */
    e2e_check_sinks(o, N, from, &dlq);
    for (size_t i = 0; i < N; i++) {
        char trace[33], needle[160];
        int lines, traced;
        snprintf(trace, sizeof trace, "%.32s", o[i].traceparent + 3);
        snprintf(needle, sizeof needle, "order %s/%s ", e2e.client, o[i].order_id);
        e2e_log_lines(e2e.billing.log, needle, trace, &lines, &traced);
        cr_assert_gt(lines, 0, "billing logged nothing about %s (%s)", needle, e2e.billing.log);
        cr_assert_eq(traced, lines, "billing: %d of %d lines of %s carry trace %s", traced, lines,
                     o[i].order_id, trace);
        snprintf(needle, sizeof needle, "/%s/%s.json", e2e.client, o[i].order_id);
        e2e_log_lines(e2e.archive.log, needle, trace, &lines, &traced);
        cr_assert_gt(lines, 0, "archive logged nothing about %s (%s)", needle, e2e.archive.log);
        cr_assert_eq(traced, lines, "archive: %d of %d lines of %s carry trace %s", traced, lines,
                     o[i].order_id, trace);
    }
    free(o);
}
