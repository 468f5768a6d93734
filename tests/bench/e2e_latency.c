/* e2e_latency: end-to-end latency of the running pipeline for `make bench`
 * (stage 5): from POST /orders to the row visible in billing.orders and to
 * the object readable in the object store.
 *
 *   e2e_latency --rate R --count N --secret-file F [--connections C]
 *               [--pg-poll-ms P] [--s3-poll-ms P] [--s3-every K]
 *               [--drain-s S]
 *
 * Sending: ordersctl's open-loop engine (ordersctl_load_execute): order i
 * (0-based, id "<run>-<i+1>") is DUE at t0 + i/R and its latency counts from
 * that due time, so a sender or server that falls behind shows up as
 * latency (no coordinated omission). t0 is taken on CLOCK_REALTIME just
 * before the engine starts; the engine's own t0 is later by its set-up time,
 * so latencies are overstated by at most that set-up time, which is
 * measured (a run of one request against a closed port) and printed as
 * sender_offset_ms.
 *
 * Observing: two poller threads, each on a fixed period.
 * - Postgres (as the billing role, which may SELECT): every pg-poll-ms one
 *   query for the due, not yet seen order ids. A row first returned by the
 *   query that ended at time T was committed after the previous query began
 *   and before T: T is the measured visibility time (an upper bound;
 *   resolution: the poll period plus one query). billed_at (the writing
 *   transaction's start, DEFAULT now()) is also read: billed_at - due is a
 *   lower bound of the same latency.
 * - S3 (root credentials: the archive user may only PutObject): every
 *   s3-poll-ms a GET of each due, unseen, sampled order's object (one order
 *   in K, to keep the probe load small); the first GET answering 200 with
 *   the order id in the body ends at the measured time (upper bound,
 *   resolution: the poll period plus one GET per pending sample while at
 *   most E2E_S3_PROBES_MAX are pending; beyond that, under overload, the
 *   oldest are probed first and the others later).
 * Clocks: every timestamp is CLOCK_REALTIME of this machine (Postgres'
 * now() included), so they compare.
 *
 * Prints a human table, then one line "e2e key=value ..." for
 * scripts/bench.sh. Exit 0 when every accepted order was seen in both
 * sinks (sampled ones in S3) before the drain deadline, 1 otherwise, 2 on
 * a usage or set-up error. */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/archive/object.h"
#include "../../services/ordersctl/gen.h"
#include "../../services/ordersctl/load.h"
#include "lib/bench_util.h"
#include "s3.h"
#include "strbuf.h"

#define E2E_TOOL "e2e_latency"
#define E2E_CLIENT "loadtest" /* a client of scripts/dev/clients.json */
#define E2E_PG_BATCH 4000     /* most ids in one query */
#define E2E_SECRET_MAX 4096
/* Most GETs per S3 poll round: under overload thousands of samples can be
 * pending, and probing them all each round would load the store the
 * archive writes to. Objects arrive roughly in order, so the oldest pending
 * samples are probed; younger ones wait for a later round. */
#define E2E_S3_PROBES_MAX 32

struct e2e {
    /* set before the threads start, then read-only */
    char run[ORDERSCTL_RUN_ID_MAX];
    size_t n;
    double rate, t0; /* t0: CLOCK_REALTIME seconds of order 0's due time */
    double pg_poll_s, s3_poll_s, drain_s;
    size_t s3_every;
    /* written by one poller each, read by main after the joins */
    double *pg_seen, *pg_billed, *s3_seen; /* realtime seconds, 0: not seen */
    size_t pg_polls, s3_gets, s3_skipped;
    char pg_err[512], s3_err[512];
    size_t pg_count; /* orders seen in Postgres (PG poller only) */
    /* set by the sender when it is done (then send_end and the counts are
     * valid) and by the PG poller when it stops */
    atomic_int sent, pg_done;
    double send_end, pg_done_at; /* realtime */
    unsigned long long accepted, errors;
};

static double e2e_due(const struct e2e *e, size_t i) {
    return e->t0 + (double)i / e->rate;
}

/* How many orders are due at realtime `now`. */
static size_t e2e_due_count(const struct e2e *e, double now) {
    if (now < e->t0)
        return 0;
    double k = (now - e->t0) * e->rate + 1.0;
    return k >= (double)e->n ? e->n : (size_t)k;
}

/* Poll loops stop once everything due is seen and the sender is done, or at
 * the drain deadline after the sender finished. When some POSTs failed,
 * their orders may never show up, so the loops do not wait for them: the PG
 * poller stops once it has seen as many orders as were accepted, the S3
 * poller E2E_S3_GRACE_S after that (it cannot tell which of its samples
 * were accepted). The run is reported as failed in that case anyway. */
#define E2E_S3_GRACE_S 10.0
static int e2e_keep_polling(struct e2e *e, size_t unseen_due, int is_pg) {
    if (!atomic_load(&e->sent))
        return 1;
    if (unseen_due == 0 || bench_real() >= e->send_end + e->drain_s)
        return 0;
    if (e->errors == 0)
        return 1;
    if (is_pg)
        return e->pg_count < e->accepted;
    return !atomic_load(&e->pg_done) || bench_real() < e->pg_done_at + E2E_S3_GRACE_S;
}

static void *e2e_pg_poller(void *arg) {
    struct e2e *e = arg;
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo,
             "host=%s port=%s dbname=%s user=%s password=%s sslmode=disable "
             "application_name=bench-e2e",
             bench_env(E2E_TOOL, "PG_HOST"), bench_env(E2E_TOOL, "PG_PORT"),
             bench_env(E2E_TOOL, "PG_DATABASE"), bench_env(E2E_TOOL, "PG_BILLING_USER"),
             bench_env(E2E_TOOL, "PG_BILLING_PASSWORD"));
    PGconn *pg = PQconnectdb(conninfo);
    struct strbuf ids;
    strbuf_init(&ids, (size_t)E2E_PG_BATCH * (ORDERSCTL_ORDER_ID_MAX + 1) + 16);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(e->pg_err, sizeof e->pg_err, "connect: %s", PQerrorMessage(pg));
        goto out;
    }
    size_t lo = 0; /* every order before lo is seen */
    double next = bench_mono();
    for (;;) {
        size_t due = e2e_due_count(e, bench_real());
        while (lo < due && e->pg_seen[lo] > 0)
            lo++;
        if (!e2e_keep_polling(e, due - lo, 1))
            break;
        strbuf_reset(&ids);
        strbuf_putc(&ids, '{');
        size_t k = 0;
        for (size_t i = lo; i < due && k < E2E_PG_BATCH; i++) {
            if (e->pg_seen[i] > 0)
                continue;
            char id[ORDERSCTL_ORDER_ID_MAX + 1];
            ordersctl_gen_order_id(id, sizeof id, e->run, i + 1);
            strbuf_printf(&ids, "%s%s", k++ ? "," : "", id);
        }
        strbuf_putc(&ids, '}');
        if (k > 0) {
            const char *params[2] = {E2E_CLIENT, strbuf_str(&ids)};
            PGresult *r = PQexecParams(pg,
                                       "SELECT order_id, extract(epoch FROM billed_at)::float8 "
                                       "FROM billing.orders WHERE client_id = $1 "
                                       "AND order_id = ANY($2::text[])",
                                       2, NULL, params, NULL, NULL, 0);
            double t = bench_real(); /* the query's snapshot is older than this */
            e->pg_polls++;
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                snprintf(e->pg_err, sizeof e->pg_err, "query: %s", PQerrorMessage(pg));
                PQclear(r);
                goto out;
            }
            for (int row = 0; row < PQntuples(r); row++) {
                const char *oid = PQgetvalue(r, row, 0), *dash = strrchr(oid, '-');
                unsigned long long seq = dash ? strtoull(dash + 1, NULL, 10) : 0;
                if (seq == 0 || seq > e->n)
                    continue;
                if (e->pg_seen[seq - 1] == 0)
                    e->pg_count++;
                e->pg_billed[seq - 1] = strtod(PQgetvalue(r, row, 1), NULL);
                e->pg_seen[seq - 1] = t;
            }
            PQclear(r);
        }
        next += e->pg_poll_s;
        bench_sleep_until(next);
        if (bench_mono() > next + e->pg_poll_s)
            next = bench_mono(); /* fell behind: restart the period, no burst */
    }
out:
    strbuf_release(&ids);
    PQfinish(pg);
    e->pg_done_at = bench_real();
    atomic_store(&e->pg_done, 1);
    return NULL;
}

/* The key of order i's object, or -1 when its UTC day may differ between the
 * due time and the publisher's ce_time (near midnight: not sampled). */
static int e2e_s3_key(const struct e2e *e, size_t i, char *key, size_t cap) {
    double due = e2e_due(e, i);
    char id[ORDERSCTL_ORDER_ID_MAX + 1], k2[ARCHIVE_KEY_MAX];
    ordersctl_gen_order_id(id, sizeof id, e->run, i + 1);
    if (archive_object_key((int64_t)(due * 1000), E2E_CLIENT, id, key, cap) < 0 ||
        archive_object_key((int64_t)((due + e->drain_s + 10) * 1000), E2E_CLIENT, id, k2,
                           sizeof k2) < 0)
        return -1;
    return strcmp(key, k2) == 0 ? 0 : -1;
}

static void *e2e_s3_poller(void *arg) {
    struct e2e *e = arg;
    char err[256];
    const struct s3_settings s = {.endpoint = bench_env(E2E_TOOL, "S3_ENDPOINT"),
                                  .region = bench_env(E2E_TOOL, "S3_REGION"),
                                  .access_key = bench_env(E2E_TOOL, "S3_ROOT_ACCESS_KEY"),
                                  .secret_key = bench_env(E2E_TOOL, "S3_ROOT_SECRET_KEY"),
                                  .timeout_ms = 5000};
    const char *bucket = bench_env(E2E_TOOL, "S3_BUCKET");
    struct s3_client *c = s3_client_create(&s, err, sizeof err);
    struct strbuf body;
    strbuf_init(&body, 1 << 20);
    if (!c) {
        snprintf(e->s3_err, sizeof e->s3_err, "%s", err);
        goto out;
    }
    size_t lo = 0; /* every sampled order before lo is seen or skipped */
    double next = bench_mono();
    for (;;) {
        size_t due = e2e_due_count(e, bench_real());
        while (lo < due && (lo % e->s3_every != 0 || e->s3_seen[lo] != 0))
            lo++;
        size_t unseen = 0, probes = 0;
        for (size_t i = lo; i < due; i += 1) {
            if (i % e->s3_every != 0 || e->s3_seen[i] != 0)
                continue;
            if (probes == E2E_S3_PROBES_MAX) { /* backlog: the oldest samples first */
                unseen++;
                continue;
            }
            probes++;
            char key[ARCHIVE_KEY_MAX], id[ORDERSCTL_ORDER_ID_MAX + 1],
                want[ORDERSCTL_ORDER_ID_MAX + 16];
            if (e2e_s3_key(e, i, key, sizeof key) != 0) {
                e->s3_seen[i] = -1; /* near midnight: not sampled */
                e->s3_skipped++;
                continue;
            }
            struct s3_result res;
            strbuf_reset(&body);
            int rc = s3_get_object(c, bucket, key, &body, &res);
            double t = bench_real();
            e->s3_gets++;
            ordersctl_gen_order_id(id, sizeof id, e->run, i + 1);
            snprintf(want, sizeof want, "\"subject\":\"%s\"", id); /* this order's document */
            if (rc == 0 && res.http_status == 200 && body.data && strstr(body.data, want))
                e->s3_seen[i] = t;
            else if (rc == 0 && res.http_status != 404) {
                snprintf(e->s3_err, sizeof e->s3_err, "GET %.200s: HTTP %ld %.200s", key,
                         res.http_status, res.message);
                goto out;
            } else
                unseen++;
        }
        if (!e2e_keep_polling(e, unseen, 0))
            break;
        next += e->s3_poll_s;
        bench_sleep_until(next);
        if (bench_mono() > next + e->s3_poll_s)
            next = bench_mono();
    }
out:
    strbuf_release(&body);
    s3_client_destroy(c);
    return NULL;
}

struct e2e_sender {
    struct e2e *e;
    struct ordersctl_load_params p;
    struct ordersctl_load_stats *st;
    int rc;
    char err[256];
};

static void *e2e_send(void *arg) {
    struct e2e_sender *s = arg;
    s->rc = ordersctl_load_execute(&s->p, s->st, s->err, sizeof s->err);
    s->e->accepted = (unsigned long long)s->st->accepted;
    s->e->errors = (unsigned long long)(s->st->errors + s->st->aborted);
    if (s->rc != 0)
        s->e->errors = s->e->n; /* nothing reliable was sent: stop polling soon */
    s->e->send_end = bench_real();
    atomic_store(&s->e->sent, 1);
    return NULL;
}

/* Sorted latencies in ms of the orders with seen[i] > 0, relative to
 * base[i] (NULL: the due time). Returns the count; *out is malloc'd. */
static size_t e2e_latencies(const struct e2e *e, const double *seen, const double *base,
                            double **out) {
    size_t k = 0;
    *out = malloc((e->n ? e->n : 1) * sizeof **out);
    if (!*out)
        return 0;
    for (size_t i = 0; i < e->n; i++)
        if (seen[i] > 0)
            (*out)[k++] = ((base ? base[i] : seen[i]) - e2e_due(e, i)) * 1000.0;
    bench_sort(*out, k);
    return k;
}

static void e2e_usage(void) {
    fprintf(stderr, "usage: e2e_latency --rate R --count N --secret-file F [--connections C]\n"
                    "       [--pg-poll-ms P] [--s3-poll-ms P] [--s3-every K] [--drain-s S]\n");
    exit(2);
}

static double e2e_arg(int argc, char **argv, int *a) {
    if (*a + 1 >= argc)
        e2e_usage();
    char *end;
    double v = strtod(argv[++*a], &end);
    if (*end || v <= 0)
        e2e_usage();
    return v;
}

/* The engine's set-up time, bounded from above: a run whose duration limit
 * has passed when its loop first looks (1 us) sends nothing, so the whole
 * call is set-up plus tear-down. */
static double e2e_sender_offset(const struct ordersctl_load_params *p) {
    struct ordersctl_load_params q = *p;
    struct ordersctl_load_stats *st = malloc(sizeof *st);
    char err[256];
    if (!st)
        return -1;
    q.duration_limit_s = 1e-6;
    double t = bench_real();
    int rc = ordersctl_load_execute(&q, st, err, sizeof err);
    t = bench_real() - t;
    free(st);
    return rc == 0 ? t : -1;
}

int main(int argc, char **argv) {
    struct e2e e = {.pg_poll_s = 0.005, .s3_poll_s = 0.010, .drain_s = 60, .s3_every = 10};
    const char *secret_file = NULL;
    unsigned connections = 64;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--rate"))
            e.rate = e2e_arg(argc, argv, &a);
        else if (!strcmp(argv[a], "--count"))
            e.n = (size_t)e2e_arg(argc, argv, &a);
        else if (!strcmp(argv[a], "--connections"))
            connections = (unsigned)e2e_arg(argc, argv, &a);
        else if (!strcmp(argv[a], "--pg-poll-ms"))
            e.pg_poll_s = e2e_arg(argc, argv, &a) / 1000.0;
        else if (!strcmp(argv[a], "--s3-poll-ms"))
            e.s3_poll_s = e2e_arg(argc, argv, &a) / 1000.0;
        else if (!strcmp(argv[a], "--s3-every"))
            e.s3_every = (size_t)e2e_arg(argc, argv, &a);
        else if (!strcmp(argv[a], "--drain-s"))
            e.drain_s = e2e_arg(argc, argv, &a);
        else if (!strcmp(argv[a], "--secret-file") && a + 1 < argc)
            secret_file = argv[++a];
        else
            e2e_usage();
    }
    if (e.rate <= 0 || e.n == 0 || !secret_file || e.s3_every == 0)
        e2e_usage();

    char secret[E2E_SECRET_MAX], url[128];
    FILE *f = fopen(secret_file, "r");
    size_t secretlen = f ? fread(secret, 1, sizeof secret, f) : 0;
    if (f)
        fclose(f);
    if (secretlen == 0 || secretlen == sizeof secret) {
        fprintf(stderr, "%s: cannot read a secret from %s\n", E2E_TOOL, secret_file);
        return 2;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%s/orders", bench_env(E2E_TOOL, "INGRESS_PORT"));
    e.pg_seen = calloc(e.n, sizeof(double));
    e.pg_billed = calloc(e.n, sizeof(double));
    e.s3_seen = calloc(e.n, sizeof(double));
    struct e2e_sender snd = {.e = &e, .st = malloc(sizeof(struct ordersctl_load_stats))};
    if (!e.pg_seen || !e.pg_billed || !e.s3_seen || !snd.st || ordersctl_gen_run_id(e.run) != 0 ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: out of memory or no randomness\n", E2E_TOOL);
        return 2;
    }
    snd.p = (struct ordersctl_load_params){.url = url,
                                           .client_id = E2E_CLIENT,
                                           .secret = secret,
                                           .secretlen = secretlen,
                                           .prefix = e.run,
                                           .count = e.n,
                                           .rate = e.rate,
                                           .connections = connections,
                                           .duration_limit_s = (double)e.n / e.rate + 120,
                                           .timeout_s = 30};
    double offset = e2e_sender_offset(&snd.p);

    pthread_t ts, tp, t3;
    e.t0 = bench_real();
    if (pthread_create(&ts, NULL, e2e_send, &snd) != 0 ||
        pthread_create(&tp, NULL, e2e_pg_poller, &e) != 0 ||
        pthread_create(&t3, NULL, e2e_s3_poller, &e) != 0) {
        fprintf(stderr, "%s: cannot start threads\n", E2E_TOOL);
        return 2;
    }
    pthread_join(ts, NULL);
    pthread_join(tp, NULL);
    pthread_join(t3, NULL);
    if (snd.rc != 0) {
        fprintf(stderr, "%s: sender: %s\n", E2E_TOOL, snd.err);
        return 2;
    }

    double *pg, *pglb, *s3;
    size_t npg = e2e_latencies(&e, e.pg_seen, NULL, &pg);
    size_t nlb = e2e_latencies(&e, e.pg_seen, e.pg_billed, &pglb);
    size_t ns3 = e2e_latencies(&e, e.s3_seen, NULL, &s3);
    size_t sampled = 0;
    for (size_t i = 0; i < e.n; i += e.s3_every)
        sampled += e.s3_seen[i] >= 0;
    const struct ordersctl_load_stats *st = snd.st;
    ordersctl_load_report(&snd.p, st, stdout); /* the sender's own table: errors by status */
    printf("end to end: %zu orders at %.0f/s (open loop, %u connections), run %s\n", e.n, e.rate,
           connections, e.run);
    printf("accepted %llu, errors %llu, sender offset <= %.2f ms\n",
           (unsigned long long)st->accepted, (unsigned long long)st->errors, offset * 1000);
    printf("POST -> 202        p50 %.1f ms  p99 %.1f ms\n",
           (double)ordersctl_hist_percentile(&st->latency, 50) / 1000.0,
           (double)ordersctl_hist_percentile(&st->latency, 99) / 1000.0);
    printf("POST -> Postgres   p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu rows, poll %.0f ms, "
           "%zu queries)\n",
           bench_percentile(pg, npg, 50), bench_percentile(pg, npg, 99), npg ? pg[npg - 1] : 0.0,
           npg, e.pg_poll_s * 1000, e.pg_polls);
    printf("  lower bound (billed_at = txn start)  p50 %.1f ms  p99 %.1f ms\n",
           bench_percentile(pglb, nlb, 50), bench_percentile(pglb, nlb, 99));
    printf("POST -> S3 object  p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu of %zu sampled, 1 in "
           "%zu, poll %.0f ms, %zu GETs)\n",
           bench_percentile(s3, ns3, 50), bench_percentile(s3, ns3, 99), ns3 ? s3[ns3 - 1] : 0.0,
           ns3, sampled, e.s3_every, e.s3_poll_s * 1000, e.s3_gets);
    if (e.pg_err[0])
        fprintf(stderr, "%s: postgres poller: %s\n", E2E_TOOL, e.pg_err);
    if (e.s3_err[0])
        fprintf(stderr, "%s: s3 poller: %s\n", E2E_TOOL, e.s3_err);
    printf("e2e accepted=%llu errors=%llu pg_rows=%zu pg_p50_ms=%.2f pg_p99_ms=%.2f "
           "pg_lb_p50_ms=%.2f pg_lb_p99_ms=%.2f s3_sampled=%zu s3_seen=%zu s3_p50_ms=%.2f "
           "s3_p99_ms=%.2f ack_p50_ms=%.2f ack_p99_ms=%.2f pg_poll_ms=%.1f s3_poll_ms=%.1f "
           "sender_offset_ms=%.2f missing_pg=%zu missing_s3=%zu\n",
           (unsigned long long)st->accepted, (unsigned long long)st->errors, npg,
           bench_percentile(pg, npg, 50), bench_percentile(pg, npg, 99),
           bench_percentile(pglb, nlb, 50), bench_percentile(pglb, nlb, 99), sampled, ns3,
           bench_percentile(s3, ns3, 50), bench_percentile(s3, ns3, 99),
           (double)ordersctl_hist_percentile(&st->latency, 50) / 1000.0,
           (double)ordersctl_hist_percentile(&st->latency, 99) / 1000.0, e.pg_poll_s * 1000,
           e.s3_poll_s * 1000, offset * 1000, e.n - npg, sampled - ns3);
    int ok = st->errors == 0 && st->accepted == e.n && npg == e.n && ns3 == sampled &&
             !e.pg_err[0] && !e.s3_err[0];
    free(pg);
    free(pglb);
    free(s3);
    free(e.pg_seen);
    free(e.pg_billed);
    free(e.s3_seen);
    free(snd.st);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
