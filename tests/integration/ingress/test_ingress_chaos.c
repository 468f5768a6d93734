/* Chaos tests of ingress-auth with the whole write path real: the publisher
 * SIGKILLed, or Kafka stopped, in the middle of a load of signed orders.
 * Whatever happens, an order answered 202 is in both subscription topics
 * exactly once, a read_committed consumer sees both copies of an order or
 * neither, and the pipeline recovers without restarting ingress-auth. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "iing.h"

#define ICH_SECRET "itest-chaos-secret"
#define ICH_THREADS 4

static struct iing_stack ich;
static char ich_client[64];
static int ich_kafka_stopped;

static void ich_setup(void) {
    char json[256];
    memset(&ich, 0, sizeof ich);
    ich_kafka_stopped = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_unique("ic", ich_client, sizeof ich_client);
    snprintf(json, sizeof json,
             "{\"%s\":{\"secrets\":[\"" ICH_SECRET "\"],\"rate_per_second\":100000,"
             "\"burst\":100000}}",
             ich_client);
    iing_start_publisher(&ich);
    const char *extra[] = {"INGRESS_PUBLISH_TIMEOUT=8s",
                           NULL}; /* > publisher queue wait + commit */
    iing_start_ingress(&ich, json, extra);
}

static void ich_teardown(void) {
    if (ich_kafka_stopped)
        iing_stack_script("kafka", "start");
    iing_cleanup(&ich);
    curl_global_cleanup();
}

TestSuite(ingress_chaos, .init = ich_setup, .fini = ich_teardown, .timeout = 300);

/* N orders sent by ICH_THREADS threads, each in turn; status per order. */
struct ich_load {
    size_t n;
    char (*oid)[80];
    long *status;
    atomic_size_t next, answered;
    atomic_int stop;        /* workers stop taking new orders */
    atomic_int phase2;      /* set after the fault is repaired */
    atomic_size_t ok_after; /* 202s of orders taken in phase 2 */
};

static void *ich_worker(void *arg) {
    struct ich_load *l = arg;
    for (;;) {
        if (atomic_load(&l->stop))
            return NULL;
        int late = atomic_load(&l->phase2);
        size_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->n)
            return NULL;
        char body[512];
        struct iing_reply r;
        iing_order(body, sizeof body, l->oid[i], 1 + (int)(i % 7));
        iing_post_signed(ich.ing_port, ich_client, ICH_SECRET, 0, body, NULL, &r);
        l->status[i] = r.status;
        if (late && r.status == 202)
            atomic_fetch_add(&l->ok_after, 1);
        if (r.status == 503 || r.status == 429) {
            char ra[16];
            cr_assert(iing_header(&r, "Retry-After", ra, sizeof ra), "%ld without Retry-After",
                      r.status);
        }
        iing_reply_release(&r);
        atomic_fetch_add(&l->answered, 1);
        if (r.status != 202)
            usleep(100 * 1000); /* a polite client backs off while refused */
    }
}

static void ich_load_init(struct ich_load *l, size_t n, const char *tag) {
    memset(l, 0, sizeof *l);
    l->n = n;
    l->oid = calloc(n, sizeof *l->oid);
    l->status = calloc(n, sizeof *l->status);
    cr_assert(l->oid && l->status);
    for (size_t i = 0; i < n; i++) {
        char u[64];
        itest_unique(tag, u, sizeof u);
        snprintf(l->oid[i], sizeof l->oid[i], "%s", u);
    }
}

static void ich_load_start(struct ich_load *l, pthread_t *th) {
    for (int t = 0; t < ICH_THREADS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, ich_worker, l), 0);
}

static void ich_load_join(pthread_t *th) {
    for (int t = 0; t < ICH_THREADS; t++)
        pthread_join(th[t], NULL);
}

static void ich_wait_answered(struct ich_load *l, size_t k) {
    for (long waited = 0; atomic_load(&l->answered) < k; waited += 10) {
        cr_assert_lt(waited, 60000, "load stalled at %zu answers", atomic_load(&l->answered));
        usleep(10 * 1000);
    }
}

/* After the fault is repaired: lets the load run until 10 orders taken
 * afterwards were accepted, then stops it. Returns the orders sent. */
static size_t ich_until_recovered(struct ich_load *l, pthread_t *th, const char *what) {
    atomic_store(&l->phase2, 1);
    for (long waited = 0; atomic_load(&l->ok_after) < 10; waited += 100) {
        cr_assert_lt(waited, 120000, "%s: no recovery", what);
        cr_assert_lt(atomic_load(&l->next), l->n, "%s: ran out of orders before recovery", what);
        usleep(100 * 1000);
    }
    atomic_store(&l->stop, 1);
    ich_load_join(th);
    size_t sent = atomic_load(&l->next);
    return sent < l->n ? sent : l->n;
}

/* Every 202 has exactly one copy per topic; nothing has a copy in one topic
 * only; no order has two copies. Returns the number of 202s. */
static size_t ich_check(const struct iing_offsets *off, struct ich_load *l, const char *what) {
    int(*counts)[2] = calloc(l->n, sizeof *counts);
    int *want = calloc(l->n, sizeof *want);
    size_t accepted = 0, other = 0, unanswered_published = 0;
    cr_assert(counts && want);
    for (size_t i = 0; i < l->n; i++) {
        want[i] = l->status[i] == 202;
        accepted += want[i];
        cr_assert(l->status[i] == 202 || l->status[i] == 503 || l->status[i] == 0,
                  "%s: order %zu answered %ld", what, i, l->status[i]);
    }
    iing_count_many(off, ich_client, l->oid, want, l->n, 30000, counts);
    for (size_t i = 0; i < l->n; i++) {
        cr_assert_eq(counts[i][0], counts[i][1], "%s: order %s has %d/%d copies (atomicity)", what,
                     l->oid[i], counts[i][0], counts[i][1]);
        cr_assert_leq(counts[i][0], 1, "%s: order %s published twice", what, l->oid[i]);
        if (want[i])
            cr_assert_eq(counts[i][0], 1, "%s: order %s answered 202 but not in Kafka", what,
                         l->oid[i]);
        else if (counts[i][0])
            unanswered_published++; /* committed, but the answer was lost: allowed */
        other += !want[i];
    }
    cr_log_info("%s: %zu accepted, %zu not (of which %zu committed anyway)", what, accepted, other,
                unanswered_published);
    free(counts);
    free(want);
    return accepted;
}

Test(ingress_chaos, publisher_sigkill_mid_load_loses_no_accepted_order) {
    enum { N = 3000 };
    struct ich_load l;
    struct iing_offsets off;
    pthread_t th[ICH_THREADS];
    iing_offsets_capture(&off);
    ich_load_init(&l, N, "kill");
    ich_load_start(&l, th);
    ich_wait_answered(&l, 100);
    itest_proc_stop(&ich.pub, SIGKILL, 5000);
    usleep(300 * 1000);
    iing_start_publisher(&ich); /* same ports and transactional id */
    l.n = ich_until_recovered(&l, th, "publisher SIGKILL");
    size_t accepted = ich_check(&off, &l, "publisher SIGKILL");
    cr_assert_geq(accepted, 100 - ICH_THREADS + 10);
    free(l.oid);
    free(l.status);
}

Test(ingress_chaos, kafka_stopped_mid_load_is_503_never_202_and_recovers) {
    enum { N = 6000 };
    struct ich_load l;
    struct iing_offsets off;
    pthread_t th[ICH_THREADS];
    iing_offsets_capture(&off);
    ich_load_init(&l, N, "kafka");
    ich_load_start(&l, th);
    ich_wait_answered(&l, 50);
    ich_kafka_stopped = 1;
    cr_assert_eq(iing_stack_script("kafka", "stop"), 0);
    /* with Kafka down, answers go on (503), never hang */
    size_t at_stop = atomic_load(&l.answered);
    ich_wait_answered(&l, at_stop + 2 * ICH_THREADS);
    cr_assert_eq(iing_stack_script("kafka", "start"), 0);
    ich_kafka_stopped = 0;
    /* recovers by itself, without restarting anything */
    l.n = ich_until_recovered(&l, th, "Kafka stop/start");
    size_t unavailable = 0;
    for (size_t i = 0; i < l.n; i++)
        unavailable += l.status[i] == 503;
    cr_log_info("Kafka stop/start: %zu orders sent, %zu answered 503", l.n, unavailable);
    cr_assert_gt(unavailable, 0, "Kafka was down but nothing was refused");
    ich_check(&off, &l, "Kafka stop/start");
    free(l.oid);
    free(l.status);
}
