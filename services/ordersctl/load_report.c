/* load_report: the `ordersctl load` command: options to parameters, final table, exit status. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "gen.h"
#include "load.h"
#include "sig.h"
#include "strbuf.h"

/* Microseconds as milliseconds with three decimals. */
static double load_ms(uint64_t us) {
    return (double)us / 1000.0;
}

void ordersctl_load_report(const struct ordersctl_load_params *p,
                           const struct ordersctl_load_stats *st, FILE *out) {
    const struct ordersctl_hist *h = &st->latency;
    double secs = st->elapsed_s > 0 ? st->elapsed_s : 0;

    if (p->rate > 0)
        fprintf(out, "target             %g/s open loop, %u connection%s\n", p->rate,
                p->connections, p->connections == 1 ? "" : "s");
    else
        fprintf(out, "target             closed loop, %u connection%s\n", p->connections,
                p->connections == 1 ? "" : "s");
    fprintf(out, "order ids          %s-1 .. %s-%llu\n", p->prefix, p->prefix,
            (unsigned long long)p->count);
    fprintf(out, "sent               %llu\n", (unsigned long long)st->sent);
    fprintf(out, "accepted (202)     %llu\n", (unsigned long long)st->accepted);
    fprintf(out, "replays            %llu\n", (unsigned long long)st->replays);
    if (st->other_2xx)
        fprintf(out, "other 2xx          %llu\n", (unsigned long long)st->other_2xx);
    fprintf(out, "errors             %llu\n", (unsigned long long)st->errors);
    for (int code = 100; code < 600; code++)
        if (st->by_status[code])
            fprintf(out, "  HTTP %d         %llu\n", code, (unsigned long long)st->by_status[code]);
    if (st->transport_errors)
        fprintf(out, "  transport        %llu\n", (unsigned long long)st->transport_errors);
    if (st->aborted || st->sent < p->count)
        fprintf(out, "not completed      %llu (%llu never sent, %llu abandoned in flight)\n",
                (unsigned long long)(p->count - st->completed),
                (unsigned long long)(p->count - st->sent), (unsigned long long)st->aborted);
    fprintf(out, "elapsed            %.3f s\n", secs);
    fprintf(out, "achieved rate      %.1f req/s\n", secs > 0 ? (double)st->completed / secs : 0.0);
    fprintf(out, "latency (ms)       %9s %9s %9s %9s %9s %9s\n", "p50", "p90", "p99", "p99.9",
            "max", "mean");
    fprintf(out, "                   %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
            load_ms(ordersctl_hist_percentile(h, 50)), load_ms(ordersctl_hist_percentile(h, 90)),
            load_ms(ordersctl_hist_percentile(h, 99)), load_ms(ordersctl_hist_percentile(h, 99.9)),
            load_ms(ordersctl_hist_percentile(h, 100)), ordersctl_hist_mean(h) / 1000.0);
    if (p->rate > 0)
        fprintf(out, "send lag (ms)      %9.3f %9.3f %9.3f %9.3f %9.3f   (due time -> sent)\n",
                load_ms(ordersctl_hist_percentile(&st->send_lag, 50)),
                load_ms(ordersctl_hist_percentile(&st->send_lag, 90)),
                load_ms(ordersctl_hist_percentile(&st->send_lag, 99)),
                load_ms(ordersctl_hist_percentile(&st->send_lag, 99.9)),
                load_ms(ordersctl_hist_percentile(&st->send_lag, 100)));
    if (h->saturated)
        fprintf(out, "note: %llu latencies above 60 s were recorded as 60 s\n",
                (unsigned long long)h->saturated);
    if (st->first_error_status == -1)
        fprintf(out, "first error        transport: %s\n", st->first_error);
    else if (st->first_error_status > 0)
        fprintf(out, "first error        HTTP %ld %s\n", st->first_error_status, st->first_error);
}

int ordersctl_load_warn_lag(const struct ordersctl_load_params *p,
                            const struct ordersctl_load_stats *st, FILE *out) {
    if (p->rate <= 0 || st->sent == 0)
        return 0;
    uint64_t late = st->late_conn + st->late_self;
    double achieved = st->send_span_s > 0 ? (double)(st->sent - 1) / st->send_span_s : 0;
    /* More than 1% of the requests started over 1 ms late: the schedule slipped. */
    if (late * 100 <= st->sent)
        return 0;
    fprintf(out,
            "warning: could not keep the schedule of %g/s: %llu of %llu requests started more "
            "than 1 ms late (send lag p99 %.3f ms); sends ran at %.1f/s.\n",
            p->rate, (unsigned long long)late, (unsigned long long)st->sent,
            load_ms(ordersctl_hist_percentile(&st->send_lag, 99)), achieved);
    if (st->late_conn >= st->late_self)
        fprintf(out,
                "warning: all %u connections were busy: the server is slower than this "
                "rate at this concurrency (raise --connections to offer more); the queueing "
                "is included in the latency.\n",
                p->connections);
    else
        fprintf(out, "warning: connections were free but ordersctl did not run in time (this "
                     "tool or the machine is CPU-bound): the latency figures include that delay; "
                     "lower --rate or run ordersctl on another machine.\n");
    return 1;
}

int ordersctl_load_exit_code(const struct ordersctl_load_stats *st, uint64_t count,
                             int allow_errors) {
    if (st->completed < count)
        return ORDERSCTL_EXIT_FAIL;
    if (st->errors && !allow_errors)
        return ORDERSCTL_EXIT_FAIL;
    return ORDERSCTL_EXIT_OK;
}

int ordersctl_load_run(const struct ordersctl_opts *o) {
    int rc = ORDERSCTL_EXIT_USAGE;
    char err[512];
    char run_id[ORDERSCTL_RUN_ID_MAX];
    struct strbuf secret;
    struct ordersctl_load_stats *st = NULL;
    struct ordersctl_load_params p;
    int sig_on = 0;

    strbuf_init(&secret, 4096);
    if (ordersctl_secret_load(o, &secret, err, sizeof(err)) != 0) {
        fprintf(stderr, "ordersctl load: %s\n", err);
        goto cleanup;
    }
    rc = ORDERSCTL_EXIT_FAIL;
    if (!o->prefix && ordersctl_gen_run_id(run_id) != 0) {
        fprintf(stderr, "ordersctl load: random generator failed\n");
        goto cleanup;
    }
    st = malloc(sizeof(*st));
    if (!st) {
        fprintf(stderr, "ordersctl load: out of memory\n");
        goto cleanup;
    }
    p = (struct ordersctl_load_params){
        .url = o->url,
        .client_id = o->client_id,
        .secret = secret.data,
        .secretlen = secret.len,
        .prefix = o->prefix ? o->prefix : run_id,
        .count = o->count,
        .rate = o->rate,
        .connections = o->connections,
        .duration_limit_s = o->duration_limit_s,
        .timeout_s = o->timeout_s,
        .progress = (o->progress || isatty(STDERR_FILENO)) ? stderr : NULL,
        .stop_on_signal = 1,
    };
    if (sig_install() != 0) {
        fprintf(stderr, "ordersctl load: cannot install signal handlers\n");
        goto cleanup;
    }
    sig_on = 1;
    if (ordersctl_load_execute(&p, st, err, sizeof(err)) != 0) {
        fprintf(stderr, "ordersctl load: %s\n", err);
        goto cleanup;
    }
    ordersctl_load_report(&p, st, stdout);
    fflush(stdout);
    ordersctl_load_warn_lag(&p, st, stderr);
    if (st->hit_duration_limit)
        fprintf(stderr, "ordersctl load: stopped by --duration-limit (%g s) before the end\n",
                o->duration_limit_s);
    if (st->interrupted)
        fprintf(stderr, "ordersctl load: interrupted\n");
    rc = ordersctl_load_exit_code(st, o->count, o->allow_errors);
cleanup:
    if (sig_on)
        sig_uninstall();
    free(st);
    ordersctl_secret_wipe(&secret);
    return rc;
}
