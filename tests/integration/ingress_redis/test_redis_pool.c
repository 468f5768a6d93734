/* ingress-auth Redis pool against the real Redis: AUTH as the ACL user, a
 * bounded number of connections, bounded waits, outages (stopped and frozen
 * server) reported as UNAVAILABLE, and recovery without a restart. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "itr.h"

#include "../../../services/ingress-auth/idempotency.h"
#include "../../../services/ingress-auth/ratelimit.h"
#include "../../../services/ingress-auth/redis_conn.h"

#include "log.h"

static FILE *tp_log;
static int tp_stopped, tp_frozen;

static void tp_setup(void) {
    signal(SIGPIPE, SIG_IGN);
    tp_log = tmpfile();
    cr_assert_not_null(tp_log);
    log_set_output(tp_log);
    tp_stopped = tp_frozen = 0;
}

/* Whatever happened in the test, leave Redis running for the next one. */
static void tp_teardown(void) {
    log_set_output(NULL);
    if (tp_log)
        fclose(tp_log);
    if (tp_frozen)
        kill((pid_t)itr_redis_pid(), SIGCONT);
    if (tp_stopped)
        (void)system("scripts/redis.sh start >/dev/null 2>&1");
}

TestSuite(ingress_redis_pool, .init = tp_setup, .fini = tp_teardown, .timeout = 120);

/* Everything logged so far (malloc'd). */
static char *tp_logged(void) {
    fflush(tp_log);
    long n = ftell(tp_log);
    cr_assert(n >= 0);
    char *s = calloc(1, (size_t)n + 1);
    cr_assert_not_null(s);
    rewind(tp_log);
    cr_assert_eq(fread(s, 1, (size_t)n, tp_log), (size_t)n);
    return s;
}

/* Polls PING until it answers; bounded so a broken recovery fails the test. */
static void tp_wait_recovered(struct ingress_redis *r) {
    for (int i = 0; i < 300; i++) {
        if (ingress_redis_ping(r) == 0)
            return;
        usleep(100 * 1000);
    }
    cr_assert_fail("the pool did not recover within 30 s of Redis coming back");
}

static void tp_hash(char out[65]) {
    itr_body_hash("{}", 2, out);
}

Test(ingress_redis_pool, ping_answers_as_the_acl_user) {
    struct ingress_redis *r = itr_pool(2, 2000, NULL);
    cr_assert_eq(ingress_redis_ping(r), 0);
    ingress_redis_destroy(r);
}

Test(ingress_redis_pool, wrong_password_is_unavailable_and_logged_without_it) {
    static const char wrong[] = "not-the-password-q7Z31";
    char c[64], h[65];
    struct ingress_idem_answer ans;
    itr_id("pool-wrongpw", c, sizeof c);
    tp_hash(h);
    struct ingress_redis *r = itr_pool(2, 2000, wrong);
    cr_assert_eq(ingress_redis_ping(r), -1);
    cr_assert_eq(ingress_ratelimit_take(r, c, 1, 1, NULL), INGRESS_RL_UNAVAILABLE);
    cr_assert_eq(ingress_idem_claim(r, c, "o1", h, 1000, &ans), INGRESS_IDEM_UNAVAILABLE);
    ingress_redis_destroy(r);
    char *logged = tp_logged();
    cr_assert(strstr(logged, "WRONGPASS"), "no clear reason logged: %s", logged);
    cr_assert(strstr(logged, itest_env("REDIS_INGRESS_USER")), "user not named: %s", logged);
    cr_assert_null(strstr(logged, wrong), "the password was logged: %s", logged);
    cr_assert_null(strstr(logged, itest_env("REDIS_INGRESS_PASSWORD")));
    free(logged);
    /* Control: the right password works. */
    r = itr_pool(2, 2000, NULL);
    cr_assert_eq(ingress_redis_ping(r), 0);
    ingress_redis_destroy(r);
}

#define TP_THREADS 6
#define TP_TAKES 25

static void *tp_hammer(void *arg) {
    struct ingress_redis *r = arg;
    char c[64];
    itr_id("pool-bound", c, sizeof c);
    long bad = 0;
    for (int i = 0; i < TP_TAKES; i++)
        bad += ingress_ratelimit_take(r, c, 1000, 1000, NULL) != INGRESS_RL_ALLOWED;
    return (void *)bad;
}

/* Clients connected as the ingress-auth user, from CLIENT LIST. */
static int tp_ingress_connections(void) {
    redisContext *adm = itr_admin();
    redisReply *rep = redisCommand(adm, "CLIENT LIST");
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    char needle[96];
    snprintf(needle, sizeof needle, " user=%s ", itest_env("REDIS_INGRESS_USER"));
    int n = 0;
    for (const char *p = rep->str; (p = strstr(p, needle)) != NULL; p++)
        n++;
    freeReplyObject(rep);
    redisFree(adm);
    return n;
}

Test(ingress_redis_pool, many_threads_share_a_bounded_number_of_connections) {
    /* A running ingress-auth (make up) holds connections of the same user:
     * count ours as the difference. */
    int before = tp_ingress_connections();
    struct ingress_redis *r = itr_pool(2, 10000, NULL);
    pthread_t th[TP_THREADS];
    for (int i = 0; i < TP_THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, tp_hammer, r), 0);
    long bad = 0;
    for (int i = 0; i < TP_THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        bad += (long)ret;
    }
    cr_assert_eq(bad, 0, "%ld takes failed", bad);
    int n = tp_ingress_connections() - before;
    cr_assert(n >= 1 && n <= 2, "%d connections for a pool of 2", n);
    ingress_redis_destroy(r);
}

Test(ingress_redis_pool, a_borrow_waits_bounded_for_a_free_connection) {
    struct ingress_redis *r = itr_pool(1, 300, NULL);
    struct ingress_redis_conn *held = ingress_redis_borrow(r);
    cr_assert_not_null(held);
    cr_assert_eq(ingress_redis_ping(r), -1, "the only connection is borrowed");
    char *logged = tp_logged();
    cr_assert(strstr(logged, "busy"), "%s", logged);
    free(logged);
    ingress_redis_give_back(r, held, 0);
    cr_assert_eq(ingress_redis_ping(r), 0);
    ingress_redis_destroy(r);
}

struct tp_giver {
    struct ingress_redis *r;
    struct ingress_redis_conn *conn;
};

static void *tp_give_later(void *arg) {
    struct tp_giver *g = arg;
    usleep(200 * 1000);
    ingress_redis_give_back(g->r, g->conn, 0);
    return NULL;
}

Test(ingress_redis_pool, a_waiting_borrow_gets_the_connection_given_back) {
    struct tp_giver g;
    pthread_t th;
    g.r = itr_pool(1, 20000, NULL);
    g.conn = ingress_redis_borrow(g.r);
    cr_assert_not_null(g.conn);
    cr_assert_eq(pthread_create(&th, NULL, tp_give_later, &g), 0);
    cr_assert_eq(ingress_redis_ping(g.r), 0);
    pthread_join(th, NULL);
    ingress_redis_destroy(g.r);
}

/* Every operation answers UNAVAILABLE while Redis is stopped (the suite's
 * timeout turns a hang into a failure), and the same pool works again
 * once Redis is back: stale connections are replaced. */
Test(ingress_redis_pool, redis_stopped_is_unavailable_then_recovers) {
    char c[64], o[64], h[65];
    struct ingress_idem_answer ans;
    itr_id("pool-down", c, sizeof c);
    itr_id("order", o, sizeof o);
    tp_hash(h);
    struct ingress_redis *r = itr_pool(2, 1000, NULL);
    cr_assert_eq(ingress_redis_ping(r), 0);
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_ALLOWED);

    tp_stopped = 1;
    itr_redis_sh("stop");
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_UNAVAILABLE);
    cr_assert_eq(ingress_idem_claim(r, c, o, h, 1000, &ans), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(ingress_idem_complete(r, c, o, h, 202, "{}", 2, 60), -1);
    cr_assert_eq(ingress_idem_release(r, c, o, h), -1);
    cr_assert_eq(ingress_redis_ping(r), -1);
    char *logged = tp_logged();
    cr_assert(strstr(logged, "unavailable"), "%s", logged);
    free(logged);

    itr_redis_sh("start");
    tp_stopped = 0;
    tp_wait_recovered(r);
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_idem_claim(r, c, o, h, 1000, &ans), INGRESS_IDEM_CLAIMED);
    logged = tp_logged();
    cr_assert(strstr(logged, "reachable again"), "%s", logged);
    free(logged);
    ingress_redis_destroy(r);
}

/* A server that accepts but never answers: the command timeout, not a hang. */
Test(ingress_redis_pool, frozen_redis_times_out_then_recovers) {
    char c[64];
    itr_id("pool-frozen", c, sizeof c);
    struct ingress_redis *r = itr_pool(2, 500, NULL);
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_ALLOWED);
    long pid = itr_redis_pid();
    cr_assert(pid > 0, "no pidfile for our Redis");

    tp_frozen = 1;
    cr_assert_eq(kill((pid_t)pid, SIGSTOP), 0);
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_UNAVAILABLE);
    cr_assert_eq(ingress_redis_ping(r), -1);
    cr_assert_eq(kill((pid_t)pid, SIGCONT), 0);
    tp_frozen = 0;

    tp_wait_recovered(r);
    cr_assert_eq(ingress_ratelimit_take(r, c, 100, 100, NULL), INGRESS_RL_ALLOWED);
    ingress_redis_destroy(r);
}
