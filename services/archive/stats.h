/* stats: the archive consumer's Prometheus metrics (orders_archive_*). */
#ifndef ARCHIVE_STATS_H
#define ARCHIVE_STATS_H

#include <stddef.h>
#include <stdint.h>

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

struct archive_stats {
    struct metrics_counter *records;         /* {result}: stored, dead_lettered */
    struct metrics_histogram *put_seconds;   /* {outcome}: ok, transient, permanent */
    struct metrics_counter *retries;         /* {reason}: transient, permanent, poison, dlq */
    struct metrics_counter *store_transient; /* transient store failures */
    struct metrics_counter *dlq;             /* {reason} */
    struct metrics_gauge *in_flight;         /* PUTs in flight */
    struct metrics_gauge *held;              /* records held, not yet committable */
    struct metrics_gauge *paused;            /* partitions paused by store errors */
    struct metrics_gauge *lag;               /* {partition} from librdkafka statistics */
    struct metrics_counter *commits;         /* {result}: ok, error */
};

/* Registers every family plus build info. 0, or -1 on failure. */
int archive_stats_init(struct archive_stats *s, struct metrics_registry *reg, const char *version);

/* Updates the lag gauge from a librdkafka statistics JSON document: for
 * every partition of `topic` with a known consumer_lag. Returns the number
 * of partitions updated, -1 when the JSON cannot be parsed. */
int archive_stats_lag_from_json(struct archive_stats *s, const char *topic, const char *json,
                                size_t len);

#endif
