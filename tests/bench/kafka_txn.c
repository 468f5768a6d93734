/* kafka_txn: how long a Kafka transaction takes here, and why the publisher
 * runs a pool of producers that rest after each commit.
 *
 *   kafka_txn PRODUCERS RECORDS_PER_TXN SECONDS REST_MS TOPIC...
 *
 * PRODUCERS threads, each with its own transactional producer
 * (kafka_conf_producer, as the publisher's), run back-to-back transactions
 * of RECORDS_PER_TXN small records to every TOPIC (private topics: the
 * records are not orders; make them with kafka_topics) for SECONDS, resting REST_MS
 * after each commit. Prints one line: transactions/s, records per topic/s,
 * p50/p90/p99 of begin..commit, and how many AddPartitionsToTxn calls met
 * CONCURRENT_TRANSACTIONS (librdkafka retries those after 20 ms): the
 * coordinator answers EndTxn before its commit markers are written, so a
 * transaction begun at once can collide with the previous one.
 * Kafka user as in bench_util (the admin user by default). Used by
 * docs/BENCHMARKS.md ("Kafka transactions"), not by a `make bench` stage. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_conf.h"
#include "lib/bench_util.h"

#define KT_TOOL "kafka_txn"
#define KT_PRODUCERS_MAX 16
#define KT_TOPICS_MAX 8
#define KT_SAMPLES_MAX 200000
#define KT_TIMEOUT_MS 10000

static atomic_long kt_concurrent;
static int kt_records, kt_rest_ms, kt_ntopics;
static const char *kt_topics[KT_TOPICS_MAX];
static double kt_secs;

struct kt_worker {
    int index;
    pthread_t thread;
    double *lat; /* seconds, one per transaction */
    size_t n;
    int failed;
};

static void kt_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    (void)fac;
    if (strstr(buf, "CONCURRENT_TRANSACTIONS") || strstr(buf, "another concurrent operation"))
        atomic_fetch_add(&kt_concurrent, 1);
    else if (level <= 3)
        fprintf(stderr, "%s: %s\n", KT_TOOL, buf);
}

static void kt_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err)
        fprintf(stderr, "%s: delivery failed: %s\n", KT_TOOL, rd_kafka_err2str(m->err));
}

static int kt_check(rd_kafka_error_t *e, const char *what) {
    if (!e)
        return 0;
    fprintf(stderr, "%s: %s: %s\n", KT_TOOL, what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

/* One transaction of kt_records records to every topic. */
static int kt_one(rd_kafka_t *p) {
    if (kt_check(rd_kafka_begin_transaction(p), "begin"))
        return -1;
    for (int k = 0; k < kt_records; k++)
        for (int t = 0; t < kt_ntopics; t++)
            if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(kt_topics[t]), RD_KAFKA_V_VALUE("{}", 2),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
    if (rd_kafka_flush(p, KT_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return kt_check(rd_kafka_commit_transaction(p, KT_TIMEOUT_MS), "commit");
}

static void *kt_run(void *arg) {
    struct kt_worker *w = arg;
    char err[512], id[64], client[64];
    struct kafka_settings ks;
    snprintf(client, sizeof client, "bench-kafka-txn-%d", w->index);
    snprintf(id, sizeof id, "bench-kafka-txn-%d", w->index);
    bench_kafka_settings(KT_TOOL, client, &ks);
    rd_kafka_conf_t *conf = kafka_conf_producer(&ks, id, err, sizeof err);
    rd_kafka_t *p = NULL;
    w->failed = 1;
    if (!conf) {
        fprintf(stderr, "%s: %s\n", KT_TOOL, err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, kt_dr);
    rd_kafka_conf_set_log_cb(conf, kt_log);
    /* the eos debug context is where librdkafka names CONCURRENT_TRANSACTIONS */
    if (rd_kafka_conf_set(conf, "debug", "eos", err, sizeof err) != RD_KAFKA_CONF_OK ||
        !(p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", KT_TOOL, err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (kt_check(rd_kafka_init_transactions(p, KT_TIMEOUT_MS), "init") || kt_one(p) != 0)
        goto out; /* the first transaction registers partitions: not timed */
    double end = bench_mono() + kt_secs;
    while (bench_mono() < end && w->n < KT_SAMPLES_MAX) {
        double t0 = bench_mono();
        if (kt_one(p) != 0)
            goto out;
        w->lat[w->n++] = bench_mono() - t0;
        if (kt_rest_ms > 0)
            bench_sleep_until(bench_mono() + kt_rest_ms / 1000.0);
    }
    w->failed = 0;
out:
    rd_kafka_destroy(p);
    return NULL;
}

int main(int argc, char **argv) {
    int producers = argc > 4 ? atoi(argv[1]) : 0;
    double secs = argc > 4 ? atof(argv[3]) : 0;
    if (argc < 6 || producers < 1 || producers > KT_PRODUCERS_MAX || secs <= 0 ||
        argc - 5 > KT_TOPICS_MAX) {
        fprintf(stderr, "usage: %s PRODUCERS RECORDS_PER_TXN SECONDS REST_MS TOPIC...\n", KT_TOOL);
        return 2;
    }
    kt_records = atoi(argv[2]);
    kt_rest_ms = atoi(argv[4]);
    for (int i = 5; i < argc; i++)
        kt_topics[kt_ntopics++] = argv[i];
    struct kt_worker w[KT_PRODUCERS_MAX];
    memset(w, 0, sizeof w);
    kt_secs = secs; /* each worker's clock starts after init and a first transaction */
    int rc = 0;
    for (int i = 0; i < producers; i++) {
        w[i].index = i;
        w[i].lat = malloc(KT_SAMPLES_MAX * sizeof *w[i].lat);
        if (!w[i].lat || pthread_create(&w[i].thread, NULL, kt_run, &w[i]) != 0)
            return 1;
    }
    size_t total = 0;
    for (int i = 0; i < producers; i++) {
        pthread_join(w[i].thread, NULL);
        rc |= w[i].failed;
        total += w[i].n;
    }
    double *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return 1;
    for (int i = 0, k = 0; i < producers; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += (int)w[i].n;
        free(w[i].lat);
    }
    bench_sort(all, total);
    printf("producers %d records_per_txn %d rest_ms %d: %.0f txn/s, %.0f records/s per topic, "
           "txn p50 %.2f p90 %.2f p99 %.2f ms, concurrent_transactions %ld of %zu\n",
           producers, kt_records, kt_rest_ms, total / secs, total * kt_records / secs,
           bench_percentile(all, total, 50) * 1e3, bench_percentile(all, total, 90) * 1e3,
           bench_percentile(all, total, 99) * 1e3, atomic_load(&kt_concurrent), total);
    free(all);
    return rc ? 1 : 0;
}
