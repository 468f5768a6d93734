/* stats: the archive consumer's Prometheus metrics: the families every
 * consumer shares (common/consumer_stats.h, orders_archive_*) plus two of
 * its own:
 *
 *   orders_archive_puts_in_flight             S3 PUTs in flight (saturation)
 *   orders_archive_offset_commits_total{result}  Kafka offset commits */
#ifndef ARCHIVE_STATS_H
#define ARCHIVE_STATS_H

#include "consumer_stats.h"

struct metrics_registry;
struct metrics_counter;
struct metrics_child;

struct archive_stats {
    struct consumer_stats c;
    struct metrics_child *puts_in_flight;
    struct metrics_counter *commits; /* {result}: ok, error */
};

/* Registers every family plus build info for the consumer of `topic`.
 * 0, or -1 on failure. Free with archive_stats_release whatever the result. */
int archive_stats_init(struct archive_stats *s, struct metrics_registry *reg, const char *topic,
                       const char *version);

void archive_stats_release(struct archive_stats *s);

#endif
