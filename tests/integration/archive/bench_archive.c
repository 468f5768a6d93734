/* Drain-rate benchmark of the archive (opt-in: ARCHIVE_BENCH=1, size
 * ARCHIVE_BENCH_ORDERS, default 20000): a pre-filled topic drained by
 * build/bin/archive, against the same objects PUT directly with the same
 * PUT engine and concurrency (the store's own ceiling on this machine).
 * Prints both rates; asserts every object is there with its exact bytes. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../services/archive/s3put.h"
#include "../support/itest_env.h"
#include "../support/itest_proc.h"
#include "iarc.h"

#define BARC_IN_FLIGHT 64

static size_t barc_n(void) {
    const char *s = getenv("ARCHIVE_BENCH_ORDERS");
    long n = s ? strtol(s, NULL, 10) : 20000;
    return n > 0 ? (size_t)n : 20000;
}

/* PUTs every document (keys prefixed "rawbench/") with BARC_IN_FLIGHT in
 * flight as the archive user; returns the seconds taken. */
static double barc_raw_puts(struct iarc_order *o, size_t n) {
    char err[256];
    const struct archive_s3put_settings s = {.endpoint = itest_env("S3_ENDPOINT"),
                                             .region = itest_env("S3_REGION"),
                                             .bucket = itest_env("S3_BUCKET"),
                                             .access_key = itest_env("S3_ARCHIVE_ACCESS_KEY"),
                                             .secret_key = itest_env("S3_ARCHIVE_SECRET_KEY"),
                                             .timeout_ms = 10000,
                                             .max_connections = BARC_IN_FLIGHT};
    struct archive_s3put *p = archive_s3put_create(&s, err, sizeof err);
    char **docs = calloc(n, sizeof *docs), **keys = calloc(n, sizeof *keys);
    size_t next = 0, done = 0;
    cr_assert(p && docs && keys, "%s", err);
    for (size_t i = 0; i < n; i++) {
        docs[i] = iarc_expected_doc(&o[i]);
        keys[i] = malloc(300);
        cr_assert_not_null(keys[i]);
        snprintf(keys[i], 300, "rawbench/%s", o[i].key);
    }
    int64_t t0 = iarc_now_ms();
    while (done < n) {
        struct s3_result res;
        while (next < n && archive_s3put_in_flight(p) < BARC_IN_FLIGHT) {
            cr_assert_eq(archive_s3put_start(p, keys[next], docs[next], strlen(docs[next]),
                                             keys[next], &res),
                         0);
            next++;
        }
        cr_assert_eq(archive_s3put_wait(p, NULL, 0, 100), 0);
        void *tag;
        double secs;
        while (archive_s3put_next_done(p, &tag, &res, &secs) == 1) {
            cr_assert_eq(res.http_status, 200, "%s", res.message);
            done++;
        }
    }
    double elapsed = (double)(iarc_now_ms() - t0) / 1000.0;
    for (size_t i = 0; i < n; i++) {
        free(docs[i]);
        free(keys[i]);
    }
    free(docs);
    free(keys);
    archive_s3put_destroy(p);
    return elapsed;
}

Test(archive_bench, drain_rate_vs_raw_puts, .timeout = 900) {
    if (!getenv("ARCHIVE_BENCH") || strcmp(getenv("ARCHIVE_BENCH"), "1") != 0)
        cr_skip_test("set ARCHIVE_BENCH=1 to run the benchmark");
    struct itest_proc p;
    size_t n = barc_n();
    memset(&p, 0, sizeof p);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* drain leftovers first, so the measured run reads only this test's records */
    iarc_archive_start(&p, "object");
    sleep(5);
    cr_assert(WIFEXITED(itest_proc_stop(&p, SIGTERM, 30000)));

    struct iarc_order *o = iarc_make_orders(n, 41, "arc-bench") /* <1000 keys per listed prefix */;
    iarc_produce(o, n, -1);
    itest_proc_setenv(&p, "ARCHIVE_MAX_IN_FLIGHT", "64");
    itest_proc_setenv(&p, "LOG_LEVEL", "warn");
    int64_t t0 = iarc_now_ms();
    iarc_archive_start(&p, "object");
    int64_t ready = iarc_now_ms();
    const char *stored = "orders_archive_records_total{result=\"stored\"} ";
    while (iarc_metric(&p, stored) < (double)n && iarc_now_ms() - t0 < 600000)
        usleep(100 * 1000);
    /* from exec, so group join and start-up count against the archive */
    double drain = (double)(iarc_now_ms() - t0) / 1000.0;
    cr_assert_geq(iarc_metric(&p, stored), (double)n);
    cr_assert(WIFEXITED(itest_proc_stop(&p, SIGTERM, 30000)));
    itest_proc_cleanup(&p);
    iarc_wait_all(o, n, 60000);
    iarc_verify_objects(o, n);

    double raw = barc_raw_puts(o, n);
    printf("archive drain: %zu orders in %.2f s from exec = %.0f objects/s (ready after %.2f s)\n",
           n, drain, (double)n / drain, (double)(ready - t0) / 1000.0);
    printf("raw parallel PUTs (%d in flight, same engine): %zu in %.2f s = %.0f objects/s\n",
           BARC_IN_FLIGHT, n, raw, (double)n / raw);
    fflush(stdout);
    free(o);
    curl_global_cleanup();
}
