/* stats: billing metrics (see stats.h). */
#include "stats.h"

#include "metrics.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double billing_stats_size_buckets[] = {1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000};

int billing_stats_init(struct billing_stats *st, struct metrics_registry *reg,
                       const char *version) {
    static const char *const result[] = {"result"};
    static const char *const reason[] = {"reason"};
    static const char *const partition[] = {"partition"};
    int rc = 0;
    memset(st, 0, sizeof *st);
    struct metrics_counter *records = metrics_counter_new(reg, "orders_billing_records_total",
                                                          "Records handled, by result", 1, result);
    st->stored = metrics_counter_child(records, (const char *const[]){"stored"});
    st->duplicate = metrics_counter_child(records, (const char *const[]){"duplicate"});
    st->dead_lettered = metrics_counter_child(records, (const char *const[]){"dead_lettered"});
    st->batch_size = metrics_histogram_new(
        reg, "orders_billing_batch_size", "Records per Postgres transaction", 0, NULL,
        billing_stats_size_buckets,
        sizeof billing_stats_size_buckets / sizeof billing_stats_size_buckets[0]);
    st->write_seconds =
        metrics_histogram_new(reg, "orders_billing_sink_write_seconds",
                              "Duration of one Postgres write transaction", 0, NULL, NULL, 0);
    st->retries = metrics_counter_new(reg, "orders_billing_retries_total",
                                      "Retries of a batch or record, by reason", 1, reason);
    struct metrics_counter *transient = metrics_counter_new(
        reg, "orders_billing_transient_failures_total",
        "Transient failures (Postgres or DLQ unavailable); partitions paused", 0, NULL);
    st->transient = metrics_counter_child(transient, NULL);
    struct metrics_counter *dlq = metrics_counter_new(
        reg, "orders_billing_dlq_publishes_total", "Dead letters published, by result", 1, result);
    st->dlq_ok = metrics_counter_child(dlq, (const char *const[]){"ok"});
    st->dlq_error = metrics_counter_child(dlq, (const char *const[]){"error"});
    st->lag =
        metrics_gauge_new(reg, "orders_billing_consumer_lag",
                          "Records behind the partition end (librdkafka statistics)", 1, partition);
    struct metrics_gauge *inflight = metrics_gauge_new(
        reg, "orders_billing_inflight", "Records consumed but not yet committed", 0, NULL);
    st->inflight = metrics_gauge_child(inflight, NULL);
    struct metrics_gauge *ready =
        metrics_gauge_new(reg, "orders_billing_ready", "1 when the consumer is ready", 0, NULL);
    st->ready = metrics_gauge_child(ready, NULL);
    if (!records || !st->batch_size || !st->write_seconds || !st->retries || !transient || !dlq ||
        !st->lag || !inflight || !ready)
        rc = -1;
    if (metrics_register_build_info(reg, "billing", version) != 0)
        rc = -1;
    return rc;
}

void billing_stats_retry(struct billing_stats *st, const char *reason) {
    metrics_counter_inc(st->retries, (const char *const[]){reason});
}

int billing_stats_lag(struct billing_stats *st, const char *topic, const char *json, size_t len) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return -1;
    int n = 0;
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, topic);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
        const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || !cJSON_IsNumber(lag) ||
            lag->valuedouble < 0)
            continue;
        char label[16];
        snprintf(label, sizeof label, "%d", (int)id->valuedouble);
        metrics_gauge_set(st->lag, lag->valuedouble, (const char *const[]){label});
        n++;
    }
    cJSON_Delete(root);
    return n;
}
