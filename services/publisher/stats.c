/* stats: registration and update helpers for the publisher's metrics. */
#include "stats.h"

#include "metrics.h"

#include <stdio.h>
#include <string.h>

int publisher_stats_init(struct publisher_stats *st, struct metrics_registry *reg,
                         const char *version) {
    static const char *const status_label[] = {"status"};
    static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    int ret = 0;
    memset(st, 0, sizeof *st);

    st->requests =
        metrics_counter_new(reg, "orders_publisher_requests_total",
                            "Answers to POST /v1/publish by HTTP status.", 1, status_label);
    st->batch_size = metrics_histogram_new(
        reg, "orders_publisher_txn_batch_size", "Requests sharing one Kafka transaction.", 0, NULL,
        batch_bounds, sizeof batch_bounds / sizeof batch_bounds[0]);
    st->commit_seconds = metrics_histogram_new(
        reg, "orders_publisher_commit_seconds",
        "Time from begin_transaction to the end of commit (or abort).", 0, NULL, NULL, 0);
    struct metrics_counter *errors =
        metrics_counter_new(reg, "orders_publisher_produce_errors_total",
                            "Produce calls and deliveries that failed.", 0, NULL);
    struct metrics_gauge *inflight = metrics_gauge_new(
        reg, "orders_publisher_inflight", "Requests queued or inside a transaction.", 0, NULL);
    st->produce_errors = metrics_counter_child(errors, NULL);
    st->inflight = metrics_gauge_child(inflight, NULL);
    if (!st->requests || !st->batch_size || !st->commit_seconds || !st->produce_errors ||
        !st->inflight)
        ret = -1;
    if (metrics_register_build_info(reg, "publisher", version) != 0)
        ret = -1;
    return ret;
}

void publisher_stats_request(struct publisher_stats *st, unsigned status) {
    char code[16];
    snprintf(code, sizeof code, "%u", status);
    const char *labels[] = {code};
    metrics_counter_inc(st->requests, labels);
}
