/* stats: metric families of the archive consumer. */
#include "stats.h"

#include "metrics.h"

#include <cjson/cJSON.h>
#include <stdio.h>

int archive_stats_init(struct archive_stats *s, struct metrics_registry *reg, const char *version) {
    static const char *const result[] = {"result"};
    static const char *const outcome[] = {"outcome"};
    static const char *const reason[] = {"reason"};
    static const char *const partition[] = {"partition"};
    s->records =
        metrics_counter_new(reg, "orders_archive_records_total",
                            "Records finished, by result (stored, dead_lettered)", 1, result);
    s->put_seconds = metrics_histogram_new(reg, "orders_archive_put_seconds",
                                           "Duration of S3 PUTs by outcome", 1, outcome, NULL, 0);
    s->retries = metrics_counter_new(reg, "orders_archive_retries_total",
                                     "Retries scheduled, by reason", 1, reason);
    s->store_transient =
        metrics_counter_new(reg, "orders_archive_store_transient_failures_total",
                            "PUTs that failed transiently (store down, 5xx, throttled)", 0, NULL);
    s->dlq = metrics_counter_new(reg, "orders_archive_dlq_publishes_total",
                                 "Dead letters acknowledged by Kafka, by reason", 1, reason);
    s->in_flight =
        metrics_gauge_new(reg, "orders_archive_puts_in_flight", "S3 PUTs in flight", 0, NULL);
    s->held = metrics_gauge_new(reg, "orders_archive_records_held",
                                "Records received and not yet finished", 0, NULL);
    s->paused = metrics_gauge_new(reg, "orders_archive_partitions_paused",
                                  "Partitions paused while the store fails", 0, NULL);
    s->lag = metrics_gauge_new(
        reg, "orders_archive_consumer_lag",
        "Records behind the high watermark (committed offset), per partition", 1, partition);
    s->commits = metrics_counter_new(reg, "orders_archive_offset_commits_total",
                                     "Kafka offset commits, by result", 1, result);
    if (!s->records || !s->put_seconds || !s->retries || !s->store_transient || !s->dlq ||
        !s->in_flight || !s->held || !s->paused || !s->lag || !s->commits)
        return -1;
    return metrics_register_build_info(reg, "archive", version);
}

int archive_stats_lag_from_json(struct archive_stats *s, const char *topic, const char *json,
                                size_t len) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    int n = 0;
    if (!root)
        return -1;
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, topic);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
        /* -1 is librdkafka's internal UA partition; lag -1 means unknown */
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || !cJSON_IsNumber(lag) ||
            lag->valuedouble < 0)
            continue;
        char label[24];
        snprintf(label, sizeof label, "%d", (int)id->valuedouble);
        const char *values[] = {label};
        metrics_gauge_set(s->lag, lag->valuedouble, values);
        n++;
    }
    cJSON_Delete(root);
    return n;
}
