/* bench_util: see bench_util.h. */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_conf.h"

const char *bench_env(const char *tool, const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s: %s is not set (source scripts/local.env)\n", tool, name);
        exit(2);
    }
    return v;
}

const char *bench_env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static double bench_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_mono(void) {
    return bench_clock(CLOCK_MONOTONIC);
}

double bench_real(void) {
    return bench_clock(CLOCK_REALTIME);
}

void bench_sleep_until(double t) {
    struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n) {
    qsort(v, n, sizeof *v, bench_cmp);
}

double bench_percentile(const double *sorted, size_t n, double p) {
    if (n == 0)
        return 0;
    double rank = p / 100.0 * (double)n; /* nearest rank: ceil(p/100 * n) */
    size_t k = (size_t)rank;
    if ((double)k < rank)
        k++;
    if (k == 0)
        k = 1;
    return sorted[(k > n ? n : k) - 1];
}

void bench_kafka_settings(const char *tool, const char *client_id, struct kafka_settings *ks) {
    memset(ks, 0, sizeof *ks);
    ks->bootstrap = bench_env(tool, "KAFKA_BOOTSTRAP");
    ks->security_protocol = "SASL_PLAINTEXT";
    ks->sasl_mechanism = bench_env(tool, "KAFKA_SASL_MECHANISM");
    ks->username = bench_env_or("BENCH_KAFKA_USER", bench_env(tool, "KAFKA_ADMIN_USER"));
    ks->password = bench_env_or("BENCH_KAFKA_PASSWORD", bench_env(tool, "KAFKA_ADMIN_PASSWORD"));
    ks->client_id = client_id;
}
