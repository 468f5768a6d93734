/* Integration: readiness of both consumers follows an outage of their store
 * even when no record arrives (issue 4: "Readiness reflects it"). The real
 * billing / archive process runs idle; Postgres / the S3 server is stopped
 * (scripts/postgres.sh, scripts/s3.sh of the test stack) and /readyz must
 * turn 503 with orders_<svc>_ready 0 without a single sink write (so the
 * idle probe noticed, not a record), then 200 again after the restart.
 * Needs the local stack (make integration); run from the repository root. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../archive/iarc.h"
#include "../billing/billing_itest.h"
#include "../support/itest_proc.h"
#include "strbuf.h"

#define RDY_DOWN_MS 60000  /* bound on noticing the outage */
#define RDY_UP_MS 120000   /* bound on noticing the recovery */
#define RDY_IDLE_MS 120000 /* bound on finishing an earlier suites' backlog */

static struct itest_proc rdy_proc;
static const char *rdy_stopped; /* "postgres" or "s3" while stopped by a test */

static int rdy_script(const char *server, const char *verb) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "scripts/%s.sh %s >/dev/null 2>&1", server, verb);
    return system(cmd);
}

static void rdy_teardown(void) {
    /* restart the store even when the test failed half way */
    if (rdy_stopped && rdy_script(rdy_stopped, "start") != 0)
        fprintf(stderr, "readiness suite: scripts/%s.sh start failed\n", rdy_stopped);
    rdy_stopped = NULL;
    if (rdy_proc.name[0])
        itest_proc_cleanup(&rdy_proc);
}

TestSuite(readiness, .fini = rdy_teardown, .timeout = 420);

static size_t rdy_sink(char *p, size_t size, size_t n, void *ctx) {
    return strbuf_append(ctx, p, size * n) == 0 ? size * n : 0;
}

/* Sum of every sample of `family` (all label sets; for a histogram pass
 * "<name>_count") from GET /metrics, -1 when the scrape fails. */
static double rdy_metric_sum(int port, const char *family) {
    char url[96];
    struct strbuf body;
    double sum = -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    strbuf_init(&body, (size_t)8 << 20);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rdy_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    if (curl_easy_perform(c) == CURLE_OK) {
        size_t n = strlen(family);
        sum = 0;
        for (const char *line = strbuf_str(&body); line && *line;) {
            const char *eol = strchr(line, '\n');
            if (strncmp(line, family, n) == 0 && (line[n] == ' ' || line[n] == '{')) {
                const char *sp = strchr(line, ' ');
                if (sp && (!eol || sp < eol))
                    sum += strtod(sp + 1, NULL);
            }
            line = eol ? eol + 1 : NULL;
        }
    }
    curl_easy_cleanup(c);
    strbuf_release(&body);
    return sum;
}

/* Waits (bounded) until /readyz answers `want`; asserts it did. */
static void rdy_wait_status(int port, long want, long timeout_ms, const char *why) {
    long got = 0;
    for (long waited = 0; waited <= timeout_ms; waited += 200) {
        got = itest_http_get(port, "/readyz");
        if (got == want)
            return;
        usleep(200 * 1000);
    }
    cr_assert_fail("/readyz still %ld, not %ld, after %ld ms: %s", got, want, timeout_ms, why);
}

/* Waits (bounded) until the consumer holds nothing and its write count
 * stayed the same over one probe period: whatever earlier suites left in
 * the topic is done, so the outage below meets an idle consumer. */
static void rdy_wait_idle(int port, const char *inflight, const char *writes) {
    double last = -2;
    for (long waited = 0; waited <= RDY_IDLE_MS; waited += 3000) {
        double now = rdy_metric_sum(port, writes);
        if (rdy_metric_sum(port, inflight) == 0 && now == last)
            return;
        last = now;
        sleep(3);
    }
    cr_assert_fail("the consumer did not become idle within %d ms", RDY_IDLE_MS);
}

/* The common part: ready and idle -> store stopped -> 503, ready 0, no
 * write attempted -> store started -> 200, ready 1. */
static void rdy_outage(const char *svc, const char *server) {
    char ready[64], writes[80], inflight[64], transient[80];
    int port = rdy_proc.admin_port;
    snprintf(ready, sizeof ready, "orders_%s_ready", svc);
    snprintf(writes, sizeof writes, "orders_%s_sink_write_seconds_count", svc);
    snprintf(inflight, sizeof inflight, "orders_%s_inflight", svc);
    snprintf(transient, sizeof transient, "orders_%s_transient_failures_total", svc);

    rdy_wait_idle(port, inflight, writes);
    rdy_wait_status(port, 200, RDY_UP_MS, "ready before the outage");
    cr_assert_eq(rdy_metric_sum(port, ready), 1);
    double writes0 = rdy_metric_sum(port, writes);
    double transient0 = rdy_metric_sum(port, transient);

    rdy_stopped = server;
    cr_assert_eq(rdy_script(server, "stop"), 0, "scripts/%s.sh stop (cwd must be the repo)",
                 server);
    rdy_wait_status(port, 503, RDY_DOWN_MS, "not ready while the store is down");
    cr_assert_eq(rdy_metric_sum(port, ready), 0, "%s must be 0 while not ready", ready);
    cr_assert_gt(rdy_metric_sum(port, transient), transient0, "the outage is counted");
    cr_assert_eq(rdy_metric_sum(port, writes), writes0,
                 "no record was written: the idle probe, not a write, saw the outage");

    cr_assert_eq(rdy_script(server, "start"), 0, "scripts/%s.sh start", server);
    rdy_stopped = NULL;
    rdy_wait_status(port, 200, RDY_UP_MS, "ready again after the store came back");
    cr_assert_eq(rdy_metric_sum(port, ready), 1);
}

Test(readiness, billing_not_ready_while_postgres_is_down_even_when_idle) {
    ibill_start(&rdy_proc, 60000);
    rdy_outage("billing", "postgres");
    int st = itest_proc_stop(&rdy_proc, SIGTERM, 30000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "billing exits cleanly after the outage");
}

Test(readiness, archive_not_ready_while_the_object_store_is_down_even_when_idle) {
    iarc_archive_start(&rdy_proc, "object");
    rdy_outage("archive", "s3");
    int st = itest_proc_stop(&rdy_proc, SIGTERM, 30000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "archive exits cleanly after the outage");
}
