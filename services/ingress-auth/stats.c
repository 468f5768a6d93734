/* stats: registration and update helpers for ingress-auth's metrics. */
#include "stats.h"

#include "metrics.h"

#include <stdio.h>
#include <string.h>

/* A one-label counter family; NULL (and ret set to -1) on failure. */
static struct metrics_counter *ingress_stats_counter1(struct metrics_registry *reg,
                                                      const char *name, const char *help,
                                                      const char *label, int *ret) {
    const char *labels[] = {label};
    struct metrics_counter *c = metrics_counter_new(reg, name, help, 1, labels);
    if (!c)
        *ret = -1;
    return c;
}

static struct metrics_child *ingress_stats_counter0(struct metrics_registry *reg, const char *name,
                                                    const char *help, int *ret) {
    struct metrics_child *ch =
        metrics_counter_child(metrics_counter_new(reg, name, help, 0, NULL), NULL);
    if (!ch)
        *ret = -1;
    return ch;
}

int ingress_stats_init(struct ingress_stats *st, struct metrics_registry *reg,
                       const char *version) {
    static const char *const route_status[] = {"route", "status"};
    static const char *const route[] = {"route"};
    static const char *const dependency[] = {"dependency"};
    int ret = 0;
    memset(st, 0, sizeof *st);

    st->requests = metrics_counter_new(reg, "orders_ingress_requests_total",
                                       "Answers by route and HTTP status.", 2, route_status);
    st->duration = metrics_histogram_new(reg, "orders_ingress_request_duration_seconds",
                                         "Time from the request headers to the queued answer.", 1,
                                         route, NULL, 0);
    st->auth_failures =
        ingress_stats_counter1(reg, "orders_ingress_auth_failures_total",
                               "Requests answered 401, by precise reason.", "reason", &ret);
    st->rate_limited = ingress_stats_counter0(reg, "orders_ingress_rate_limited_total",
                                              "Requests answered 429.", &ret);
    st->replays = ingress_stats_counter0(reg, "orders_ingress_idempotent_replays_total",
                                         "Stored answers replayed for a repeated order.", &ret);
    st->idem_refusals = ingress_stats_counter1(
        reg, "orders_ingress_idempotency_refusals_total",
        "Repeated orders refused: in_progress (409) or idempotency_conflict (422).", "code", &ret);
    st->redis_errors =
        ingress_stats_counter1(reg, "orders_ingress_redis_errors_total",
                               "Redis operations that failed or timed out.", "op", &ret);
    st->redis_bypassed = ingress_stats_counter1(
        reg, "orders_ingress_redis_bypassed_total",
        "Checks skipped because Redis was unavailable and the policy is fail-open.", "op", &ret);
    st->publish_errors =
        ingress_stats_counter1(reg, "orders_ingress_publish_errors_total",
                               "Publishes that did not end in 202, by reason.", "reason", &ret);
    st->inflight = metrics_gauge_child(
        metrics_gauge_new(reg, "orders_ingress_inflight", "Requests being processed.", 0, NULL),
        NULL);
    st->reloads =
        ingress_stats_counter1(reg, "orders_ingress_clients_reloads_total",
                               "Client registry reloads by result (ok or error).", "result", &ret);
    st->dependency_up = metrics_gauge_new(
        reg, "orders_ingress_dependency_up",
        "Last readiness probe of a dependency (1 reachable, 0 not).", 1, dependency);
    if (!st->requests || !st->duration || !st->inflight || !st->dependency_up)
        ret = -1;
    if (metrics_register_build_info(reg, "ingress-auth", version) != 0)
        ret = -1;
    return ret;
}

void ingress_stats_answer(struct ingress_stats *st, const char *route, unsigned status,
                          double seconds) {
    char code[16];
    if (!st)
        return;
    snprintf(code, sizeof code, "%u", status);
    const char *labels[] = {route, code};
    metrics_counter_inc(st->requests, labels);
    metrics_histogram_observe(st->duration, seconds, labels);
}

void ingress_stats_count(struct ingress_stats *st, struct metrics_counter *family,
                         const char *label) {
    const char *labels[] = {label};
    if (st)
        metrics_counter_inc(family, labels);
}

void ingress_stats_dependency(struct ingress_stats *st, const char *name, int up) {
    const char *labels[] = {name};
    if (st)
        metrics_gauge_set(st->dependency_up, up ? 1.0 : 0.0, labels);
}
