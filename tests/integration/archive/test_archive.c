/* Integration tests of build/bin/archive against the real local Kafka
 * (SCRAM + ACLs) and versitygw: the archive runs as a child process with
 * only its own credentials (Kafka user archive, S3 user archive that may
 * only PutObject); orders are produced as the publisher writes them; the
 * objects are read back with the S3 root user. ITEST_ORDERS sets the
 * number of orders (default 10 000, as the fault runs ask). */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../support/itest_proc.h"
#include "../../../services/archive/object.h"
#include "iarc.h"
#include "librdkafka/rdkafka.h"

#define IARC_CLIENTS 8
#define IARC_WAIT_MS 120000

static struct itest_proc iarc_p;
static int iarc_s3_stopped; /* the outage test restarts the store even when it fails */

static void iarc_setup(void) {
    memset(&iarc_p, 0, sizeof iarc_p);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void iarc_teardown(void) {
    if (iarc_s3_stopped && system("scripts/s3.sh start >/dev/null 2>&1") != 0)
        fprintf(stderr, "archive suite: scripts/s3.sh start failed\n");
    iarc_s3_stopped = 0;
    if (iarc_p.name[0])
        itest_proc_cleanup(&iarc_p);
    curl_global_cleanup();
}

static size_t iarc_n(void) {
    const char *s = getenv("ITEST_ORDERS");
    long n = s ? strtol(s, NULL, 10) : 10000;
    return n > 0 ? (size_t)n : 10000;
}

/* The tag shared by every client id of a test's orders ("<tag>.c<k>"). */
static const char *iarc_tag(const struct iarc_order *o) {
    static char tag[65];
    snprintf(tag, sizeof tag, "%s", o->client_id);
    char *dot = strrchr(tag, '.');
    if (dot)
        dot[1] = '\0';
    return tag;
}

/* SIGTERM: the archive drains and exits 0. */
static void iarc_stop_clean(void) {
    int st = itest_proc_stop(&iarc_p, SIGTERM, 30000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "archive exit status %d (log %s)", st,
              iarc_p.log);
}

TestSuite(archive, .init = iarc_setup, .fini = iarc_teardown, .timeout = 240);

Test(archive, one_object_per_order_with_exact_bytes) {
    size_t n = iarc_n();
    struct iarc_order *o = iarc_make_orders(n, IARC_CLIENTS, "arc-all");
    int64_t dlq0 = iarc_dlq_end();
    iarc_produce(o, n, -1);
    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o, n, IARC_WAIT_MS); /* also: no other key under their prefixes */
    iarc_verify_objects(o, n);
    /* >=: records left in the topic by an earlier, failed run count too */
    cr_assert_geq(iarc_metric(&iarc_p, "orders_archive_records_total{result=\"stored\"} "),
                  (double)n);
    cr_assert_eq(iarc_dlq_count_prefix(dlq0, iarc_tag(o)), 0);
    iarc_stop_clean();
    free(o);
}

Test(archive, sigkill_three_times_loses_nothing) {
    size_t n = iarc_n();
    struct iarc_order *o = iarc_make_orders(n, IARC_CLIENTS, "arc-kill");
    int64_t dlq0 = iarc_dlq_end();
    iarc_produce(o, n, -1);
    for (int k = 1; k <= 3; k++) {
        iarc_archive_start(&iarc_p, "object");
        /* kill once a k/4 share is stored, i.e. mid-stream */
        int64_t deadline = iarc_now_ms() + IARC_WAIT_MS;
        size_t have;
        while ((have = iarc_count_objects(o, n)) < n * (size_t)k / 4 && iarc_now_ms() < deadline)
            usleep(20 * 1000);
        cr_assert_lt(have, n, "all %zu stored before kill %d: make ITEST_ORDERS larger", n, k);
        int st = itest_proc_stop(&iarc_p, SIGKILL, 10000);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o, n, IARC_WAIT_MS);
    iarc_verify_objects(o, n);
    cr_assert_eq(iarc_dlq_count_prefix(dlq0, iarc_tag(o)), 0, "a crash is not poison");
    iarc_stop_clean();
    free(o);
}

Test(archive, store_outage_waits_and_catches_up) {
    size_t n = iarc_n();
    struct iarc_order *o = iarc_make_orders(n, IARC_CLIENTS, "arc-outage");
    int64_t dlq0 = iarc_dlq_end();
    iarc_archive_start(&iarc_p, "object");
    cr_assert_eq(iarc_wait_ready(&iarc_p, 200, 30000), 200);
    iarc_s3_stopped = 1;
    cr_assert_eq(system("scripts/s3.sh stop >/dev/null 2>&1"), 0, "scripts/s3.sh stop (cwd?)");
    iarc_produce(o, n, -1);
    /* the PUTs now fail: not ready, counted, nothing dead-lettered */
    cr_assert_eq(iarc_wait_ready(&iarc_p, 503, 30000), 503);
    int64_t until = iarc_now_ms() + 20000;
    while (iarc_now_ms() < until) {
        cr_assert_eq(itest_http_get(iarc_p.admin_port, "/readyz"), 503);
        usleep(500 * 1000);
    }
    cr_assert_gt(iarc_metric(&iarc_p, "orders_archive_transient_failures_total "), 0);
    cr_assert_eq(iarc_dlq_count_prefix(dlq0, iarc_tag(o)), 0);
    cr_assert_eq(system("scripts/s3.sh start >/dev/null 2>&1"), 0, "scripts/s3.sh start");
    iarc_s3_stopped = 0;
    iarc_wait_all(o, n, IARC_WAIT_MS);
    iarc_verify_objects(o, n);
    cr_assert_eq(iarc_wait_ready(&iarc_p, 200, 30000), 200);
    cr_assert_eq(iarc_dlq_count_prefix(dlq0, iarc_tag(o)), 0);
    iarc_stop_clean();
    free(o);
}

/* A record that is not an event, then a good one behind it on the same
 * partition: the bad one is dead-lettered after exactly 3 attempts with the
 * contract's headers, the good one is stored. */
Test(archive, poison_goes_to_dlq_after_max_attempts) {
    char key[96], unique[64];
    int32_t part;
    int64_t off;
    struct iarc_dead d;
    int64_t dlq0 = iarc_dlq_end();
    snprintf(key, sizeof key, "%s/bad", itest_unique("arc-poison", unique, sizeof unique));
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "ce_id", -1, "not-a-uuid", -1);
    iarc_produce_raw(key, "{not json", h, &part, &off);
    struct iarc_order *o = iarc_make_orders(1, 1, "arc-poison-ok");
    iarc_produce(o, 1, part);
    cr_assert_gt(o[0].offset, off);

    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o, 1, IARC_WAIT_MS);
    cr_assert_eq(iarc_dlq_find(dlq0, key, 60000, &d), 1, "exactly one dead letter");
    cr_assert_str_eq(d.reason, "undecodable");
    cr_assert_str_eq(d.attempts, "3");
    cr_assert_str_eq(d.src_topic, itest_env("KAFKA_TOPIC_ARCHIVE"));
    char want[32];
    snprintf(want, sizeof want, "%" PRId32, part);
    cr_assert_str_eq(d.src_partition, want);
    snprintf(want, sizeof want, "%" PRId64, off);
    cr_assert_str_eq(d.src_offset, want);
    cr_assert_str_eq(d.ce_id, "not-a-uuid", "original headers kept");
    cr_assert(d.value_len == strlen("{not json") && memcmp(d.value, "{not json", d.value_len) == 0);
    cr_assert_neq(d.error[0], '\0');
    cr_assert_eq(strlen(d.failed_at), 24, "RFC 3339 with ms: %s", d.failed_at);
    cr_assert_geq(iarc_metric(&iarc_p, "orders_archive_dlq_publishes_total{result=\"ok\"} "), 1);
    iarc_stop_clean();
    free(o);
}

/* Batch mode: NDJSON objects named by topic, partition and first offset;
 * 250 records on one partition make two batches full by count (100) and a
 * third flushed by age. */
Test(archive, batch_mode_writes_ndjson_by_partition_and_offset) {
    size_t n = 250;
    struct iarc_order *o = iarc_make_orders(n, 1, "arc-batch");
    struct iarc_order *fence = iarc_make_orders(1, 1, "arc-fence");

    /* Batch names follow the committed offset: first let an object-mode
     * run finish everything up to a fence on partition 0 (records left by
     * earlier tests included), so the batches start at our first record. */
    iarc_produce(fence, 1, 0);
    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(fence, 1, IARC_WAIT_MS);
    int64_t deadline0 = iarc_now_ms() + 60000;
    while (iarc_metric(&iarc_p, "orders_archive_inflight ") != 0 && iarc_now_ms() < deadline0)
        usleep(100 * 1000);
    cr_assert_eq(iarc_metric(&iarc_p, "orders_archive_inflight "), 0);
    iarc_stop_clean(); /* commits everything stored */
    free(fence);

    iarc_produce(o, n, 0);
    iarc_archive_start(&iarc_p, "batch");
    for (size_t first = 0; first < n; first += 100) {
        size_t last = first + 100 < n ? first + 100 : n;
        char key[256];
        cr_assert_gt(archive_batch_key(itest_env("KAFKA_TOPIC_ARCHIVE"), o[first].partition,
                                       o[first].offset, o[first].anchor, key, sizeof key),
                     0);
        char *got = NULL;
        int64_t deadline = iarc_now_ms() + 60000;
        while (!(got = iarc_get(key)) && iarc_now_ms() < deadline)
            usleep(200 * 1000);
        cr_assert_not_null(got, "missing %s", key);
        size_t cap = 0, len = 0;
        for (size_t i = first; i < last; i++)
            cap += 2048;
        char *want = malloc(cap);
        cr_assert_not_null(want);
        for (size_t i = first; i < last; i++) {
            char *doc = iarc_expected_doc(&o[i]);
            len += (size_t)snprintf(want + len, cap - len, "%s\n", doc);
            free(doc);
        }
        cr_assert_str_eq(got, want, "contents of %s", key);
        free(want);
        free(got);
    }
    iarc_stop_clean();
    free(o);
}

/* ---- offsets that regress --------------------------------------------------------
 * Each test starts from a freshly recreated orders.archive (offsets from 0,
 * and the broker drops the group's committed offsets with the old topic),
 * with its orders on partition 0 so the offsets are known. */

#define IARC_REGRESS_N1 100 /* archived before the regression */

static int iarc_partitions(void) {
    return atoi(itest_env("KAFKA_TOPIC_PARTITIONS"));
}

static void iarc_recreate(void) {
    itest_kafka_recreate_topic(itest_env("KAFKA_TOPIC_ARCHIVE"), iarc_partitions());
}

/* A fresh topic with N1 orders on partition 0, archived by a running
 * archive (left running, idle). */
static struct iarc_order *iarc_regress_start(const char *tag) {
    struct iarc_order *o = iarc_make_orders(IARC_REGRESS_N1, IARC_CLIENTS, tag);
    iarc_recreate();
    iarc_produce(o, IARC_REGRESS_N1, 0);
    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o, IARC_REGRESS_N1, IARC_WAIT_MS);
    iarc_wait_idle(&iarc_p, 60000);
    /* partitions without a commit started at their log start: not a reset */
    cr_assert_eq(iarc_resets(&iarc_p, "beyond_end"), 0);
    cr_assert_eq(iarc_resets(&iarc_p, "before_start"), 0);
    cr_assert_eq(iarc_resets(&iarc_p, "anchor_mismatch"), 0);
    return o;
}

/* The topic is recreated while archive is stopped and refilled past the
 * committed offset S before it restarts: resuming at S would skip the new
 * log's first S records. Kafka drops a deleted topic's group offsets, but a
 * position can outlive its log (a commit racing the deletion, a truncated
 * log that grew again), so the test puts the old commit back, anchor
 * included, as such a survivor. The record now at S - 1 is another one:
 * anchor_mismatch, and the partition is read from its start. */
Test(archive, recreated_topic_refilled_past_the_commit_is_read_from_its_start) {
    struct iarc_order *o1 = iarc_regress_start("arc-anchor1");
    iarc_stop_clean();
    char meta[64];
    int64_t s = iarc_committed(0, meta, sizeof meta);
    cr_assert_eq(s, o1[IARC_REGRESS_N1 - 1].offset + 1, "committed after the last order");
    cr_assert_eq(strlen(meta), 16, "the anchor rides with the commit: '%s'", meta);

    iarc_recreate();
    char gone[64];
    cr_assert_lt(iarc_committed(0, gone, sizeof gone), 0, "this broker dropped the commit");
    iarc_commit(0, s, meta);
    size_t n2 = 2 * IARC_REGRESS_N1 + 50; /* the new log passes S well */
    struct iarc_order *o2 = iarc_make_orders(n2, IARC_CLIENTS, "arc-anchor2");
    iarc_produce(o2, n2, 0);
    cr_assert_gt(o2[n2 - 1].offset, s);

    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o2, n2, IARC_WAIT_MS); /* none of the first S records skipped */
    iarc_verify_objects(o2, n2);
    cr_assert_geq(iarc_resets(&iarc_p, "anchor_mismatch"), 1);
    cr_assert_eq(iarc_resets(&iarc_p, "beyond_end"), 0);
    cr_assert_eq(iarc_resets(&iarc_p, "before_start"), 0);
    iarc_stop_clean();
    free(o1);
    free(o2);
}

/* The topic is recreated under a running archive and gets fewer records
 * than its fetch position: the broker refuses the position (beyond_end)
 * and every new record is archived. */
Test(archive, topic_recreated_while_running_is_read_from_its_start) {
    struct iarc_order *o1 = iarc_regress_start("arc-beyond1");
    iarc_recreate();
    size_t n3 = IARC_REGRESS_N1 / 2;
    struct iarc_order *o3 = iarc_make_orders(n3, IARC_CLIENTS, "arc-beyond2");
    iarc_produce(o3, n3, 0);
    cr_assert_lt(o3[n3 - 1].offset, o1[IARC_REGRESS_N1 - 1].offset);
    iarc_wait_all(o3, n3, IARC_WAIT_MS);
    iarc_verify_objects(o3, n3);
    cr_assert_geq(iarc_resets(&iarc_p, "beyond_end"), 1);
    iarc_stop_clean();
    free(o1);
    free(o3);
}

/* Retention deletes records the stopped archive had not read yet: the
 * committed position is before the log start (before_start); everything
 * from the new log start on is archived. */
Test(archive, records_deleted_unread_restart_at_the_log_start) {
    struct iarc_order *o1 = iarc_regress_start("arc-expired1");
    iarc_stop_clean();
    size_t n4 = IARC_REGRESS_N1, kept = n4 / 2;
    struct iarc_order *o4 = iarc_make_orders(n4, IARC_CLIENTS, "arc-expired2");
    iarc_produce(o4, n4, 0);
    char meta[64];
    int64_t s = iarc_committed(0, meta, sizeof meta);
    cr_assert_eq(s, o4[0].offset - 1, "committed before the new orders (and their marker)");
    itest_kafka_delete_records(itest_env("KAFKA_TOPIC_ARCHIVE"), 0, o4[kept].offset);
    int64_t low, high;
    itest_kafka_watermarks(itest_env("KAFKA_TOPIC_ARCHIVE"), 0, &low, &high);
    cr_assert_eq(low, o4[kept].offset);
    cr_assert_gt(low, s);

    iarc_archive_start(&iarc_p, "object");
    iarc_wait_all(o4 + kept, n4 - kept, IARC_WAIT_MS);
    iarc_verify_objects(o4 + kept, n4 - kept);
    cr_assert_geq(iarc_resets(&iarc_p, "before_start"), 1);
    iarc_stop_clean();
    free(o1);
    free(o4);
}
