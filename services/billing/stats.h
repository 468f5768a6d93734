/* stats: the billing consumer's Prometheus metrics, registered once at start.
 *
 *   orders_billing_records_total{result}     stored, duplicate, dead_lettered
 *   orders_billing_batch_size                records per Postgres transaction
 *   orders_billing_sink_write_seconds        one Postgres write (transaction)
 *   orders_billing_retries_total{reason}     transient, permanent, fenced, dlq
 *   orders_billing_transient_failures_total  Postgres/DLQ outages seen
 *   orders_billing_dlq_publishes_total{result}  ok, error
 *   orders_billing_consumer_lag{partition}   from librdkafka statistics
 *   orders_billing_inflight                  records held in the batch
 *   orders_billing_ready                     1 when /readyz says ready
 *   orders_build_info{service,version}       1 */
#ifndef BILLING_STATS_H
#define BILLING_STATS_H

#include <stddef.h>
#include <stdint.h>

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

struct billing_stats {
    struct metrics_child *stored, *duplicate, *dead_lettered;
    struct metrics_histogram *batch_size;
    struct metrics_histogram *write_seconds;
    struct metrics_counter *retries;
    struct metrics_child *transient;
    struct metrics_child *dlq_ok, *dlq_error;
    struct metrics_gauge *lag;
    struct metrics_child *inflight;
    struct metrics_child *ready;
};

/* Registers the families in `reg` (borrowed; must outlive *st) and fills st.
 * Returns 0, or -1 if a registration failed (updates on the missing handles
 * are then no-ops). */
int billing_stats_init(struct billing_stats *st, struct metrics_registry *reg, const char *version);

/* Counts one retry for `reason` ("transient", "permanent", "fenced", "dlq"). */
void billing_stats_retry(struct billing_stats *st, const char *reason);

/* Parses a librdkafka statistics JSON document and sets the lag gauge of
 * every partition of `topic` it reports (internal partition -1 and unknown
 * lags, -1, are skipped). Returns the number of partitions set, or -1 if the
 * document is not JSON. */
int billing_stats_lag(struct billing_stats *st, const char *topic, const char *json, size_t len);

#endif
