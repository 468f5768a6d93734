/* load: the open-loop load generator behind `ordersctl load`.
 *
 * Request i (0-based) is due at t0 + i/R. It is started as soon as it is due
 * and one of the C connections is free, and its latency is measured from the
 * DUE time, not from when it was actually sent: when the server (or this
 * tool) falls behind, the queueing shows up in the latency instead of being
 * silently dropped (no coordinated omission). Rate 0 is a closed loop: each
 * connection sends its next request as soon as the previous one completed,
 * and latency is measured from the actual send.
 *
 * Transport: one libcurl multi handle, C easy handles reused for every
 * request (one per connection, CURLMOPT_MAX_HOST_CONNECTIONS = C, HTTP/1.1,
 * keep-alive, no pipelining or pipewait). Each slot keeps its header list and
 * body buffer; per request only the timestamp and signature bytes inside the
 * list are rewritten. A timerfd wakes the loop at the exact due time. */
#ifndef ORDERSCTL_LOAD_H
#define ORDERSCTL_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "load_histogram.h"

struct ordersctl_opts;

#define ORDERSCTL_LOAD_SAMPLE_MAX 256 /* bytes of the first error kept for the report */

struct ordersctl_load_params {
    const char *url;
    const char *client_id;
    const void *secret;
    size_t secretlen;
    const char *prefix; /* order ids are "<prefix>-<1..count>" */
    uint64_t count;
    double rate; /* per second; 0 = closed loop */
    unsigned connections;
    double duration_limit_s;
    double timeout_s;   /* per request */
    FILE *progress;     /* progress line destination, or NULL for none */
    int stop_on_signal; /* poll common/sig's wakeup fd and stop on SIGINT/SIGTERM */
};

struct ordersctl_load_stats {
    uint64_t sent;      /* requests handed to libcurl */
    uint64_t completed; /* requests with a response or a transport error */
    uint64_t accepted;  /* 202 without Idempotent-Replayed */
    uint64_t replays;   /* any response with Idempotent-Replayed: true */
    uint64_t other_2xx;
    uint64_t errors; /* non-2xx + transport errors */
    uint64_t transport_errors;
    uint64_t by_status[600]; /* non-2xx responses per status code (100-599) */
    uint64_t aborted;        /* in flight when the run stopped early */
    uint64_t late_conn;      /* started > 1 ms late, waiting for a free connection */
    uint64_t late_self;      /* started > 1 ms late with a connection free (tool lag) */
    double elapsed_s;        /* from t0 to the last completion (or the stop) */
    double send_span_s;      /* from t0 to the last send */
    int hit_duration_limit;
    int interrupted;
    long first_error_status;                     /* 0: none yet; -1: transport */
    char first_error[ORDERSCTL_LOAD_SAMPLE_MAX]; /* curl message or response body start */
    struct ordersctl_hist latency;               /* us, from due time to completion */
    struct ordersctl_hist send_lag;              /* us, from due time to actual send */
};

/* The due time (ns on the caller's clock) of request i at `rate` per second
 * from t0. rate must be > 0. */
int64_t ordersctl_load_due_ns(int64_t t0_ns, uint64_t i, double rate);

/* How many requests are due at `now_ns` (request i is due when
 * due_ns(i) <= now), capped at `count`. 0 before t0. rate must be > 0. */
uint64_t ordersctl_load_due_count(int64_t t0_ns, int64_t now_ns, double rate, uint64_t count);

/* Runs the load described by *p and fills *st (zeroed first). Returns 0 when
 * the run took place (even with HTTP or transport errors, or stopped by the
 * duration limit or a signal: see *st), or -1 with a message in err if it
 * could not start or libcurl failed mid-way. Needs curl_global_init done.
 * The stats are large (two histograms): allocate them on the heap. */
int ordersctl_load_execute(const struct ordersctl_load_params *p, struct ordersctl_load_stats *st,
                           char *err, size_t errlen);

/* Prints the final table (see load_report.c) to `out`. */
void ordersctl_load_report(const struct ordersctl_load_params *p,
                           const struct ordersctl_load_stats *st, FILE *out);

/* Prints a warning to `out` if the schedule could not be kept, naming the
 * cause (busy connections or this tool). Returns 1 if it warned, else 0. */
int ordersctl_load_warn_lag(const struct ordersctl_load_params *p,
                            const struct ordersctl_load_stats *st, FILE *out);

/* The exit status for a finished run: ORDERSCTL_EXIT_FAIL if it stopped
 * early or (unless allow_errors) any request was not answered 2xx, else
 * ORDERSCTL_EXIT_OK. */
int ordersctl_load_exit_code(const struct ordersctl_load_stats *st, uint64_t count,
                             int allow_errors);

/* Runs `ordersctl load` with parsed options: progress on stderr, table on
 * stdout. Returns an ORDERSCTL_EXIT_* status. */
int ordersctl_load_run(const struct ordersctl_opts *o);

#endif
