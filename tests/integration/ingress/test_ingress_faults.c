/* Integration tests of ingress-auth under faults and concurrency, against
 * the real publisher, Redis and Kafka: an order held in flight (publisher
 * frozen with SIGSTOP) is 409 for its duplicates; a dead or frozen
 * publisher gives 503 + Retry-After and never 202, and the claim is
 * released so the retry succeeds; concurrent duplicates publish exactly one
 * copy per topic; Redis stopped mid-run follows the policy; a rotated
 * client secret is honoured without restart or failed request; SIGTERM
 * finishes the request in flight and exits 0. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "iing.h"

#define IFLT_SECRET "itest-fault-secret"
#define IFLT_NEW_SECRET "itest-fault-secret-rotated"
#define IFLT_WAIT_MS 15000

static struct iing_stack iflt;
static char iflt_client[64];
static int iflt_redis_stopped;

static void iflt_setup(void) {
    memset(&iflt, 0, sizeof iflt);
    iflt_redis_stopped = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_unique("if", iflt_client, sizeof iflt_client);
}

static void iflt_teardown(void) {
    if (iflt.pub.pid > 0)
        kill(iflt.pub.pid, SIGCONT);
    if (iflt_redis_stopped)
        iing_redis_script("start");
    iing_cleanup(&iflt);
    curl_global_cleanup();
}

TestSuite(ingress_faults, .init = iflt_setup, .fini = iflt_teardown, .timeout = 120);

static void iflt_clients_json(char *out, size_t len, const char *secrets) {
    snprintf(out, len, "{\"%s\":{\"secrets\":[%s],\"rate_per_second\":10000,\"burst\":10000}}\n",
             iflt_client, secrets);
}

static void iflt_start(const char *const *extra) {
    char json[512];
    iflt_clients_json(json, sizeof json, "\"" IFLT_SECRET "\"");
    iing_start_publisher(&iflt);
    iing_start_ingress(&iflt, json, extra);
}

static void iflt_new_order(char *body, size_t len, char *oid, size_t idlen) {
    itest_unique("ordf", oid, idlen);
    iing_order(body, len, oid, 1);
}

/* Polls until cond(arg) or IFLT_WAIT_MS; asserts it came true. */
static void iflt_wait(int (*cond)(void *), void *arg, const char *what) {
    for (long waited = 0; !cond(arg); waited += 50) {
        cr_assert_lt(waited, IFLT_WAIT_MS, "timed out waiting for %s", what);
        usleep(50 * 1000);
    }
}

static int iflt_claimed(void *oid) {
    return iing_idem_key_exists(iflt_client, oid);
}

static int iflt_readyz_is(void *want) {
    return itest_http_get(iflt.ing.admin_port, "/readyz") == *(long *)want;
}

static void iflt_expect_error(const struct iing_reply *r, long status, const char *code) {
    char want[160];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status, status,
                 strbuf_str(&r->body));
    cr_assert_not_null(strstr(strbuf_str(&r->body), want), "%s", strbuf_str(&r->body));
}

/* A request run on its own thread. */
struct iflt_post {
    pthread_t th;
    const char *secret;
    char body[512];
    struct iing_reply r;
};

static void *iflt_post_main(void *arg) {
    struct iflt_post *p = arg;
    iing_post_signed(iflt.ing_port, iflt_client, p->secret, 0, p->body, NULL, &p->r);
    return NULL;
}

static void iflt_post_async(struct iflt_post *p, const char *body) {
    p->secret = IFLT_SECRET;
    snprintf(p->body, sizeof p->body, "%s", body);
    cr_assert_eq(pthread_create(&p->th, NULL, iflt_post_main, p), 0);
}

Test(ingress_faults, duplicate_of_an_order_in_flight_is_409_then_replays_the_202) {
    const char *extra[] = {"INGRESS_PUBLISH_TIMEOUT=30s", NULL};
    char body[512], oid[80], other[512], hdr[16];
    struct iflt_post first;
    struct iing_reply r;
    iflt_start(extra);
    iflt_new_order(body, sizeof body, oid, sizeof oid);

    /* Freeze the publisher: the first request claims the order and waits. */
    cr_assert_eq(kill(iflt.pub.pid, SIGSTOP), 0);
    iflt_post_async(&first, body);
    iflt_wait(iflt_claimed, oid, "the first request's claim");

    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    char want[200];
    snprintf(want, sizeof want,
             "{\"error\":{\"code\":\"in_progress\",\"message\":\"order %s is being processed\"}}",
             oid);
    cr_assert_eq(r.status, 409, "status %ld", r.status);
    cr_assert_str_eq(strbuf_str(&r.body), want);
    iing_reply_release(&r);
    iing_order(other, sizeof other, oid, 7);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, other, NULL, &r);
    iflt_expect_error(&r, 422, "idempotency_conflict");
    iing_reply_release(&r);

    /* Thaw it: the first request completes with 202, and the duplicate is
     * now the stored answer. */
    cr_assert_eq(kill(iflt.pub.pid, SIGCONT), 0);
    pthread_join(first.th, NULL);
    cr_assert_eq(first.r.status, 202, "first: %ld %s", first.r.status, strbuf_str(&first.r.body));
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202);
    cr_assert_str_eq(strbuf_str(&r.body), strbuf_str(&first.r.body));
    cr_assert(iing_header(&r, "Idempotent-Replayed", hdr, sizeof hdr));
    iing_reply_release(&r);
    iing_reply_release(&first.r);
}

Test(ingress_faults, publisher_dead_or_frozen_is_503_with_retry_after_and_retry_succeeds) {
    const char *extra[] = {"INGRESS_PUBLISH_TIMEOUT=2s", NULL};
    const char *want = "{\"error\":{\"code\":\"unavailable\",\"message\":\"try again later\"}}";
    char body[512], oid[80], body2[512], oid2[80], ra[16];
    struct iing_offsets off;
    struct iing_reply r;
    long not_ready = 503, ready = 200;
    iflt_start(extra);
    iing_offsets_capture(&off);
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iflt_new_order(body2, sizeof body2, oid2, sizeof oid2);

    /* dead: connection refused */
    itest_proc_stop(&iflt.pub, SIGKILL, 5000);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(strbuf_str(&r.body), want);
    cr_assert(iing_header(&r, "Retry-After", ra, sizeof ra));
    cr_assert_str_eq(ra, "1");
    iing_reply_release(&r);
    cr_assert_not(iing_idem_key_exists(iflt_client, oid), "the claim must be released");
    iflt_wait(iflt_readyz_is, &not_ready, "/readyz 503 with the publisher down");
    cr_assert_geq(
        iing_metric(iflt.ing.admin_port, "orders_ingress_publish_errors_total{reason=\"connect\"}"),
        1);

    /* frozen: the publish deadline passes */
    iing_start_publisher(&iflt);
    cr_assert_eq(kill(iflt.pub.pid, SIGSTOP), 0);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body2, NULL, &r);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(strbuf_str(&r.body), want);
    iing_reply_release(&r);
    cr_assert_geq(
        iing_metric(iflt.ing.admin_port, "orders_ingress_publish_errors_total{reason=\"timeout\"}"),
        1);
    cr_assert_eq(kill(iflt.pub.pid, SIGCONT), 0);
    iflt_wait(iflt_readyz_is, &ready, "/readyz 200 with the publisher back");

    /* the retry of the refused order is accepted, exactly once */
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202, "retry: %ld %s", r.status, strbuf_str(&r.body));
    iing_reply_release(&r);
    int counts[2];
    iing_count_copies(&off, iflt_client, oid, 1, IFLT_WAIT_MS, counts, NULL, 0);
    cr_assert(counts[0] == 1 && counts[1] == 1, "copies %d/%d", counts[0], counts[1]);
}

Test(ingress_faults, concurrent_duplicates_publish_exactly_one_copy_per_topic) {
    enum { N = 16 };
    static struct iflt_post p[N];
    char body[512], oid[80];
    struct iing_offsets off;
    int fresh = 0, replayed = 0, busy = 0;
    iflt_start(NULL);
    iing_offsets_capture(&off);
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    for (int i = 0; i < N; i++)
        iflt_post_async(&p[i], body);
    for (int i = 0; i < N; i++) {
        char hdr[16];
        pthread_join(p[i].th, NULL);
        cr_assert(p[i].r.status == 202 || p[i].r.status == 409, "status %ld: %s", p[i].r.status,
                  strbuf_str(&p[i].r.body));
        if (p[i].r.status == 409)
            busy++;
        else if (iing_header(&p[i].r, "Idempotent-Replayed", hdr, sizeof hdr))
            replayed++;
        else
            fresh++;
        iing_reply_release(&p[i].r);
    }
    cr_log_info("%d concurrent duplicates: %d accepted, %d replayed, %d in progress", N, fresh,
                replayed, busy);
    cr_assert_eq(fresh, 1, "exactly one request may publish");
    int counts[2];
    iing_count_copies(&off, iflt_client, oid, 1, IFLT_WAIT_MS, counts, NULL, 0);
    cr_assert(counts[0] == 1 && counts[1] == 1, "copies %d/%d", counts[0], counts[1]);
}

Test(ingress_faults, redis_stopped_mid_run_fail_open_keeps_accepting) {
    char body[512], oid[80], hdr[16];
    struct iing_offsets off;
    struct iing_reply r;
    long ready = 200;
    iflt_start(NULL); /* default policy: fail-open */
    iing_offsets_capture(&off);
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202);
    iing_reply_release(&r);

    iflt_redis_stopped = 1;
    cr_assert_eq(iing_redis_script("stop"), 0);
    char body2[512], oid2[80];
    iflt_new_order(body2, sizeof body2, oid2, sizeof oid2);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body2, NULL, &r);
    cr_assert_eq(r.status, 202, "fail-open: %ld %s", r.status, strbuf_str(&r.body));
    iing_reply_release(&r);
    cr_assert_geq(
        iing_metric(iflt.ing.admin_port, "orders_ingress_redis_bypassed_total{op=\"ratelimit\"}"),
        1);
    cr_assert_geq(
        iing_metric(iflt.ing.admin_port, "orders_ingress_redis_bypassed_total{op=\"idempotency\"}"),
        1);
    sleep(2); /* two probe ticks: readiness must not depend on Redis */
    cr_assert_eq(itest_http_get(iflt.ing.admin_port, "/readyz"), 200);

    /* Redis back: idempotency works again, on the same pool. (A new order:
     * records written by Lua scripts do not survive a restart of this
     * Redis 7.0 with `user default off`, see the README.) */
    cr_assert_eq(iing_redis_script("start"), 0);
    iflt_redis_stopped = 0;
    iflt_wait(iflt_readyz_is, &ready, "/readyz");
    char body3[512], oid3[80];
    iflt_new_order(body3, sizeof body3, oid3, sizeof oid3);
    for (int i = 0; i < 2; i++) {
        iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body3, NULL, &r);
        cr_assert_eq(r.status, 202, "%ld %s", r.status, strbuf_str(&r.body));
        cr_assert_eq(iing_header(&r, "Idempotent-Replayed", hdr, sizeof hdr), i,
                     "request %d after the restart", i);
        iing_reply_release(&r);
    }
    int counts[2];
    iing_count_copies(&off, iflt_client, oid2, 1, IFLT_WAIT_MS, counts, NULL, 0);
    cr_assert(counts[0] == 1 && counts[1] == 1, "copies %d/%d", counts[0], counts[1]);
}

Test(ingress_faults, redis_stopped_mid_run_fail_closed_is_503) {
    const char *extra[] = {"INGRESS_REDIS_POLICY=fail-closed", NULL};
    char body[512], oid[80], ra[16];
    struct iing_reply r;
    long not_ready = 503, ready = 200;
    iflt_start(extra);
    iflt_redis_stopped = 1;
    cr_assert_eq(iing_redis_script("stop"), 0);
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    iflt_expect_error(&r, 503, "unavailable");
    cr_assert(iing_header(&r, "Retry-After", ra, sizeof ra));
    iing_reply_release(&r);
    iflt_wait(iflt_readyz_is, &not_ready, "/readyz 503 without Redis (fail-closed)");
    cr_assert_eq(iing_redis_script("start"), 0);
    iflt_redis_stopped = 0;
    iflt_wait(iflt_readyz_is, &ready, "/readyz 200 with Redis back");
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202, "%ld %s", r.status, strbuf_str(&r.body));
    iing_reply_release(&r);
}

/* ---- secret rotation through a Kubernetes-style symlink swap --------------- */

struct iflt_loader {
    pthread_t th;
    volatile int stop;
    int sent, failed;
};

static void *iflt_loader_main(void *arg) {
    struct iflt_loader *l = arg;
    while (!l->stop) {
        char body[512], oid[80];
        struct iing_reply r;
        iflt_new_order(body, sizeof body, oid, sizeof oid);
        iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
        l->sent++;
        l->failed += r.status != 202;
        iing_reply_release(&r);
    }
    return NULL;
}

/* Writes dir/<version>/clients.json and points dir/..data at it
 * atomically, as the kubelet updates a mounted Secret. */
static void iflt_publish_secret(const char *dir, const char *version, const char *json) {
    char vdir[400], file[450], tmp[400], data[400];
    snprintf(vdir, sizeof vdir, "%s/%s", dir, version);
    cr_assert_eq(mkdir(vdir, 0700), 0);
    snprintf(file, sizeof file, "%s/clients.json", vdir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(json, f);
    cr_assert_eq(fclose(f), 0);
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", dir);
    snprintf(data, sizeof data, "%s/..data", dir);
    cr_assert_eq(symlink(version, tmp), 0);
    cr_assert_eq(rename(tmp, data), 0);
}

static int iflt_reloads_at_least(void *n) {
    return iing_metric(iflt.ing.admin_port,
                       "orders_ingress_clients_reloads_total{result=\"ok\"}") >= *(double *)n;
}

Test(ingress_faults, rotated_secret_is_honoured_without_restart_or_failed_request) {
    char dir[] = "/tmp/iflt-secret-XXXXXX", link[400], json[512], env[450];
    char body[512], oid[80];
    struct iing_reply r;
    struct iflt_loader load = {0};
    cr_assert_not_null(mkdtemp(dir));
    iflt_clients_json(json, sizeof json, "\"" IFLT_SECRET "\"");
    iflt_publish_secret(dir, "..v1", json);
    snprintf(link, sizeof link, "%s/clients.json", dir);
    cr_assert_eq(symlink("..data/clients.json", link), 0);
    snprintf(env, sizeof env, "INGRESS_CLIENTS_FILE=%s", link);
    const char *extra[] = {env, NULL};
    iflt_start(extra);
    pid_t pid = iflt.ing.pid;

    /* the new secret is unknown at first */
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_NEW_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 401);
    iing_reply_release(&r);

    /* rotation step 1 under load with the old secret: both secrets valid */
    cr_assert_eq(pthread_create(&load.th, NULL, iflt_loader_main, &load), 0);
    iflt_clients_json(json, sizeof json, "\"" IFLT_SECRET "\",\"" IFLT_NEW_SECRET "\"");
    iflt_publish_secret(dir, "..v2", json);
    double one = 1, two = 2;
    iflt_wait(iflt_reloads_at_least, &one, "the first reload");
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_NEW_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202, "new secret after reload: %ld", r.status);
    iing_reply_release(&r);
    load.stop = 1;
    pthread_join(load.th, NULL);
    cr_assert_gt(load.sent, 0);
    cr_assert_eq(load.failed, 0, "%d of %d requests failed during the rotation", load.failed,
                 load.sent);

    /* step 2: the old secret is retired */
    iflt_clients_json(json, sizeof json, "\"" IFLT_NEW_SECRET "\"");
    iflt_publish_secret(dir, "..v3", json);
    iflt_wait(iflt_reloads_at_least, &two, "the second reload");
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 401);
    iing_reply_release(&r);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_NEW_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202);
    iing_reply_release(&r);
    cr_assert_eq(iflt.ing.pid, pid, "no restart");
    cr_assert_eq(kill(pid, 0), 0);

    const char *versions[] = {"..v1", "..v2", "..v3"};
    char path[500];
    unlink(link);
    snprintf(path, sizeof path, "%s/..data", dir);
    unlink(path);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s/clients.json", dir, versions[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", dir, versions[i]);
        rmdir(path);
    }
    rmdir(dir);
}

Test(ingress_faults, sigterm_finishes_the_request_in_flight_and_exits_zero) {
    const char *extra[] = {"INGRESS_PUBLISH_TIMEOUT=30s", "INGRESS_DRAIN_TIMEOUT=30s", NULL};
    char body[512], oid[80];
    struct iflt_post first;
    struct iing_reply r;
    long not_ready = 503;
    iflt_start(extra);
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    cr_assert_eq(kill(iflt.pub.pid, SIGSTOP), 0);
    iflt_post_async(&first, body);
    iflt_wait(iflt_claimed, oid, "the request's claim");

    cr_assert_eq(kill(iflt.ing.pid, SIGTERM), 0);
    iflt_wait(iflt_readyz_is, &not_ready, "/readyz 503 while draining");
    /* no new connections while draining */
    iing_request(iflt.ing_port, "GET", "/orders", NULL, NULL, 0, 0, &r);
    cr_assert_eq(r.status, 0, "a new connection was served while draining: %ld", r.status);
    iing_reply_release(&r);

    cr_assert_eq(kill(iflt.pub.pid, SIGCONT), 0);
    pthread_join(first.th, NULL);
    cr_assert_eq(first.r.status, 202, "in flight: %ld %s", first.r.status,
                 strbuf_str(&first.r.body));
    iing_reply_release(&first.r);
    int st = itest_proc_stop(&iflt.ing, SIGTERM, 15000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
}

Test(ingress_faults, sighup_reloads_the_clients_file_and_a_broken_file_keeps_the_old_one) {
    char body[512], oid[80];
    struct iing_reply r;
    double one = 1;
    iflt_start(NULL);
    cr_assert_eq(kill(iflt.ing.pid, SIGHUP), 0);
    iflt_wait(iflt_reloads_at_least, &one, "a reload on SIGHUP");

    /* a file that does not parse is refused; the registry in use stays */
    FILE *f = fopen(iflt.clients_path, "w");
    cr_assert_not_null(f);
    fputs("{\"broken\":", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(kill(iflt.ing.pid, SIGHUP), 0);
    for (long waited = 0; iing_metric(iflt.ing.admin_port,
                                      "orders_ingress_clients_reloads_total{result=\"error\"}") < 1;
         waited += 50) {
        cr_assert_lt(waited, IFLT_WAIT_MS, "the broken file was not reported");
        usleep(50 * 1000);
    }
    iflt_new_order(body, sizeof body, oid, sizeof oid);
    iing_post_signed(iflt.ing_port, iflt_client, IFLT_SECRET, 0, body, NULL, &r);
    cr_assert_eq(r.status, 202, "old registry must keep serving: %ld", r.status);
    iing_reply_release(&r);
}
