/* consumer_stats: the metric families every Kafka consumer of the pipeline
 * (billing, archive) exports, with one set of names, labels and units so
 * alerts and dashboards read both the same way (docs/metrics.md):
 *
 *   orders_<svc>_records_total{result}        stored, duplicate, dead_lettered
 *   orders_<svc>_batch_size                   records per sink write
 *   orders_<svc>_sink_write_seconds{outcome}  one sink write (ok, transient,
 *                                             permanent, fenced)
 *   orders_<svc>_retries_total{reason}        retries scheduled
 *   orders_<svc>_transient_failures_total     store or DLQ unavailable
 *   orders_<svc>_dlq_publishes_total{result}  ok, error
 *   orders_<svc>_consumer_lag{topic,partition} assigned partitions only
 *   orders_<svc>_inflight                     records held, not yet committed
 *   orders_<svc>_ready                        1 when /readyz answers 200
 *   orders_<svc>_partitions_paused            paused while the store fails
 *   orders_<svc>_offset_resets_total{reason}  position moved back to the log
 *                                             start: beyond_end, before_start,
 *                                             anchor_mismatch (kafka_anchor.h)
 *   orders_build_info{service,version}
 *
 * Lag comes from librdkafka statistics, which keep reporting a partition
 * after a rebalance took it away (and may be queued before the revocation
 * but served after it). So the lag is exported only for partitions marked
 * assigned here, and a revocation removes the partition's series.
 *
 * Threading: the update handles are lock-free and may be used from any
 * thread; consumer_stats_assigned/_revoked/_lag must be called from one
 * thread (the consumer's poll thread, where librdkafka serves the rebalance
 * and statistics callbacks). */
#ifndef COMMON_CONSUMER_STATS_H
#define COMMON_CONSUMER_STATS_H

#include <stddef.h>
#include <stdint.h>

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

#define CONSUMER_STATS_TOPIC_MAX 256 /* Kafka topic names have at most 249 bytes */

struct consumer_stats {
    struct metrics_child *stored, *duplicate, *dead_lettered; /* records_total */
    struct metrics_child *batch_size;                         /* histogram */
    struct metrics_histogram *write_seconds;                  /* {outcome} */
    struct metrics_counter *retries;                          /* {reason} */
    struct metrics_child *transient;
    struct metrics_child *dlq_ok, *dlq_error;
    struct metrics_gauge *lag; /* {topic, partition} */
    struct metrics_child *inflight;
    struct metrics_child *ready;
    struct metrics_child *paused;
    struct metrics_counter *resets; /* {reason} */
    char topic[CONSUMER_STATS_TOPIC_MAX];
    int32_t *assigned; /* partitions whose lag is exported */
    size_t nassigned, capassigned;
};

/* Registers the families above as orders_<service>_* in `reg` (borrowed;
 * must outlive *st) for the consumer of `topic`, plus orders_build_info.
 * Returns 0, or -1 if a registration failed or an argument is invalid
 * (updates on the missing handles are then no-ops). Free with
 * consumer_stats_release whatever the result. */
int consumer_stats_init(struct consumer_stats *st, struct metrics_registry *reg,
                        const char *service, const char *topic, const char *version);

/* Frees the assigned-partition set (the families belong to the registry). */
void consumer_stats_release(struct consumer_stats *st);

/* Counts one retry for `reason` (e.g. "transient", "permanent", "dlq"). */
void consumer_stats_retry(struct consumer_stats *st, const char *reason);

/* Counts one offset reset for `reason` (KAFKA_ANCHOR_* of kafka_anchor.h). */
void consumer_stats_offset_reset(struct consumer_stats *st, const char *reason);

/* Observes one sink write of `seconds` with its outcome ("ok", "transient",
 * "permanent", "fenced"). */
void consumer_stats_write(struct consumer_stats *st, const char *outcome, double seconds);

/* The partition is ours now: its lag may be exported. 0, or -1 when out of
 * memory (its lag is then not exported). */
int consumer_stats_assigned(struct consumer_stats *st, int32_t partition);

/* The partition was revoked or lost: its lag series is removed and stats
 * documents no longer set it. */
void consumer_stats_revoked(struct consumer_stats *st, int32_t partition);

/* 1 when the partition is marked assigned. */
int consumer_stats_is_assigned(const struct consumer_stats *st, int32_t partition);

/* Parses a librdkafka statistics JSON document and sets the lag of every
 * assigned partition of the topic it reports (internal partition -1 and
 * unknown lag -1 are skipped). Returns the number of partitions set, or -1
 * if the document is not JSON. */
int consumer_stats_lag(struct consumer_stats *st, const char *json, size_t len);

#endif
