/* stats: the publisher's Prometheus metrics, registered once at start.
 *
 *   orders_publisher_requests_total{status}   answers by HTTP status code
 *   orders_publisher_txn_batch_size           requests per committed/failed transaction
 *   orders_publisher_commit_seconds           begin .. commit/abort of a transaction
 *   orders_publisher_produce_errors_total     failed produce calls and deliveries
 *   orders_publisher_inflight                 requests queued or in a transaction
 *   orders_build_info{service,version}        1 */
#ifndef PUBLISHER_STATS_H
#define PUBLISHER_STATS_H

#include <stddef.h>

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

struct publisher_stats {
    struct metrics_counter *requests;
    struct metrics_histogram *batch_size;
    struct metrics_histogram *commit_seconds;
    struct metrics_child *produce_errors;
    struct metrics_child *inflight;
};

/* Registers the families in `reg` (borrowed; must outlive *st) and fills st.
 * Returns 0, or -1 if a registration failed (st is then partly filled;
 * updates on the missing handles are no-ops). */
int publisher_stats_init(struct publisher_stats *st, struct metrics_registry *reg,
                         const char *version);

/* Counts one answer with HTTP status `status`. */
void publisher_stats_request(struct publisher_stats *st, unsigned status);

#endif
