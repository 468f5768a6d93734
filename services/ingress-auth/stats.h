/* stats: ingress-auth's Prometheus metrics, registered once at start.
 *
 *   orders_ingress_requests_total{route,status}     answers (route "/orders" or "other")
 *   orders_ingress_request_duration_seconds{route}  first header byte .. answer queued
 *   orders_ingress_auth_failures_total{reason}      401s by precise reason
 *   orders_ingress_rate_limited_total               429s
 *   orders_ingress_idempotent_replays_total         stored answers replayed
 *   orders_ingress_idempotency_conflicts_total{kind} 409 in_progress / 422 conflict
 *   orders_ingress_redis_errors_total{op}           Redis unavailable or too slow
 *   orders_ingress_redis_bypassed_total{op}         checks skipped by the fail-open policy
 *   orders_ingress_publish_errors_total{reason}     publishes that did not end in 202
 *   orders_ingress_inflight                         requests being processed
 *   orders_ingress_clients_reloads_total{result}    client registry reloads
 *   orders_ingress_dependency_up{dependency}        last probe of redis / publisher (1 up)
 *   orders_build_info{service,version}              1 */
#ifndef INGRESS_STATS_H
#define INGRESS_STATS_H

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

struct ingress_stats {
    struct metrics_counter *requests;
    struct metrics_histogram *duration;
    struct metrics_counter *auth_failures;
    struct metrics_child *rate_limited;
    struct metrics_child *replays;
    struct metrics_counter *idem_refusals;
    struct metrics_counter *redis_errors;
    struct metrics_counter *redis_bypassed;
    struct metrics_counter *publish_errors;
    struct metrics_child *inflight;
    struct metrics_counter *reloads;
    struct metrics_gauge *dependency_up;
};

/* Registers the families in `reg` (borrowed; must outlive *st) and fills st.
 * Returns 0, or -1 if a registration failed (updates on the missing handles
 * are then no-ops). */
int ingress_stats_init(struct ingress_stats *st, struct metrics_registry *reg, const char *version);

/* Counts one answer and its duration (seconds). `route` is "/orders" or
 * "other" (never the raw path: unbounded label values). */
void ingress_stats_answer(struct ingress_stats *st, const char *route, unsigned status,
                          double seconds);

/* Increments a one-label counter family (NULL st or family: no-op). */
void ingress_stats_count(struct ingress_stats *st, struct metrics_counter *family,
                         const char *label);

/* Sets orders_ingress_dependency_up{dependency=name} to up (0 or 1). */
void ingress_stats_dependency(struct ingress_stats *st, const char *name, int up);

#endif
