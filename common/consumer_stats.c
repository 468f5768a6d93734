/* consumer_stats: shared metric families of the Kafka consumers (see .h).
 *
 * Names are the "orders_%s_<suffix>" templates below, expanded with the
 * service name; tests/alerts/check_observability.py reads these templates
 * to check docs/metrics.md against the code, so keep them literal. */
#include "consumer_stats.h"

#include "metrics.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double consumer_stats_size_buckets[] = {1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000};

#define CONSUMER_STATS_SERVICE_MAX 64 /* so every name below fits in 160 bytes */

/* orders_<service>_<suffix> into n[i] (a macro: the format stays a literal
 * the compiler checks). */
#define CONSUMER_STATS_NAME(i, fmt) snprintf(n[i], sizeof n[i], fmt, service)

int consumer_stats_init(struct consumer_stats *st, struct metrics_registry *reg,
                        const char *service, const char *topic, const char *version) {
    static const char *const result[] = {"result"};
    static const char *const outcome[] = {"outcome"};
    static const char *const reason[] = {"reason"};
    static const char *const lag_labels[] = {"topic", "partition"};
    char n[11][160];
    memset(st, 0, sizeof *st);
    if (!reg || !service || strlen(service) >= CONSUMER_STATS_SERVICE_MAX || !topic ||
        strlen(topic) >= sizeof st->topic)
        return -1;
    memcpy(st->topic, topic, strlen(topic) + 1);
    CONSUMER_STATS_NAME(0, "orders_%s_records_total");
    CONSUMER_STATS_NAME(1, "orders_%s_batch_size");
    CONSUMER_STATS_NAME(2, "orders_%s_sink_write_seconds");
    CONSUMER_STATS_NAME(3, "orders_%s_retries_total");
    CONSUMER_STATS_NAME(4, "orders_%s_transient_failures_total");
    CONSUMER_STATS_NAME(5, "orders_%s_dlq_publishes_total");
    CONSUMER_STATS_NAME(6, "orders_%s_consumer_lag");
    CONSUMER_STATS_NAME(7, "orders_%s_inflight");
    CONSUMER_STATS_NAME(8, "orders_%s_ready");
    CONSUMER_STATS_NAME(9, "orders_%s_partitions_paused");
    CONSUMER_STATS_NAME(10, "orders_%s_offset_resets_total");

    struct metrics_counter *records =
        metrics_counter_new(reg, n[0], "Records handled, by result", 1, result);
    /* Pre-created so the dead-letter alert sees the first one as a step. */
    st->stored = metrics_counter_child(records, (const char *const[]){"stored"});
    st->duplicate = metrics_counter_child(records, (const char *const[]){"duplicate"});
    st->dead_lettered = metrics_counter_child(records, (const char *const[]){"dead_lettered"});
    struct metrics_histogram *size = metrics_histogram_new(
        reg, n[1], "Records per sink write", 0, NULL, consumer_stats_size_buckets,
        sizeof consumer_stats_size_buckets / sizeof consumer_stats_size_buckets[0]);
    st->batch_size = metrics_histogram_child(size, NULL);
    st->write_seconds = metrics_histogram_new(reg, n[2], "Duration of one sink write, by outcome",
                                              1, outcome, NULL, 0);
    st->retries = metrics_counter_new(reg, n[3], "Retries scheduled, by reason", 1, reason);
    struct metrics_counter *transient = metrics_counter_new(
        reg, n[4], "Transient failures (store or DLQ unavailable); partitions paused", 0, NULL);
    st->transient = metrics_counter_child(transient, NULL);
    struct metrics_counter *dlq =
        metrics_counter_new(reg, n[5], "Dead-letter publishes, by result", 1, result);
    st->dlq_ok = metrics_counter_child(dlq, (const char *const[]){"ok"});
    st->dlq_error = metrics_counter_child(dlq, (const char *const[]){"error"});
    st->lag = metrics_gauge_new(reg, n[6],
                                "Records behind the partition end, per assigned partition "
                                "(librdkafka statistics)",
                                2, lag_labels);
    struct metrics_gauge *inflight =
        metrics_gauge_new(reg, n[7], "Records consumed but not yet committed", 0, NULL);
    st->inflight = metrics_gauge_child(inflight, NULL);
    struct metrics_gauge *ready =
        metrics_gauge_new(reg, n[8], "1 when the consumer is ready (/readyz 200)", 0, NULL);
    st->ready = metrics_gauge_child(ready, NULL);
    struct metrics_gauge *paused =
        metrics_gauge_new(reg, n[9], "Partitions paused while the store fails", 0, NULL);
    st->paused = metrics_gauge_child(paused, NULL);
    st->resets = metrics_counter_new(
        reg, n[10], "Partitions re-read from the log start: the position was invalid, by reason", 1,
        reason);
    /* Pre-created: the alert sees the first reset as a step. */
    static const char *const reset_reasons[] = {"beyond_end", "before_start", "anchor_mismatch"};
    for (size_t i = 0; i < sizeof reset_reasons / sizeof reset_reasons[0]; i++)
        (void)metrics_counter_child(st->resets, &reset_reasons[i]);

    int rc = records && size && st->write_seconds && st->retries && transient && dlq && st->lag &&
                     inflight && ready && paused && st->resets
                 ? 0
                 : -1;
    if (metrics_register_build_info(reg, service, version) != 0)
        rc = -1;
    return rc;
}

void consumer_stats_release(struct consumer_stats *st) {
    if (!st)
        return;
    free(st->assigned);
    st->assigned = NULL;
    st->nassigned = st->capassigned = 0;
}

void consumer_stats_retry(struct consumer_stats *st, const char *reason) {
    metrics_counter_inc(st->retries, (const char *const[]){reason});
}

void consumer_stats_offset_reset(struct consumer_stats *st, const char *reason) {
    metrics_counter_inc(st->resets, (const char *const[]){reason});
}

void consumer_stats_write(struct consumer_stats *st, const char *outcome, double seconds) {
    metrics_histogram_observe(st->write_seconds, seconds, (const char *const[]){outcome});
}

int consumer_stats_is_assigned(const struct consumer_stats *st, int32_t partition) {
    for (size_t i = 0; i < st->nassigned; i++)
        if (st->assigned[i] == partition)
            return 1;
    return 0;
}

int consumer_stats_assigned(struct consumer_stats *st, int32_t partition) {
    if (consumer_stats_is_assigned(st, partition))
        return 0;
    if (st->nassigned == st->capassigned) {
        size_t cap = st->capassigned ? st->capassigned * 2 : 16;
        int32_t *a = realloc(st->assigned, cap * sizeof *a);
        if (!a)
            return -1;
        st->assigned = a;
        st->capassigned = cap;
    }
    st->assigned[st->nassigned++] = partition;
    return 0;
}

void consumer_stats_revoked(struct consumer_stats *st, int32_t partition) {
    char label[16];
    for (size_t i = 0; i < st->nassigned; i++)
        if (st->assigned[i] == partition) {
            st->assigned[i] = st->assigned[--st->nassigned];
            break;
        }
    snprintf(label, sizeof label, "%d", (int)partition);
    metrics_gauge_remove(st->lag, (const char *const[]){st->topic, label});
}

int consumer_stats_lag(struct consumer_stats *st, const char *json, size_t len) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return -1;
    int n = 0;
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, st->topic);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
        const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
        /* -1 is librdkafka's internal UA partition; lag -1 means unknown */
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > INT32_MAX ||
            !cJSON_IsNumber(lag) || lag->valuedouble < 0 ||
            !consumer_stats_is_assigned(st, (int32_t)id->valuedouble))
            continue;
        char label[16];
        snprintf(label, sizeof label, "%d", (int)id->valuedouble);
        metrics_gauge_set(st->lag, lag->valuedouble, (const char *const[]){st->topic, label});
        n++;
    }
    cJSON_Delete(root);
    return n;
}
