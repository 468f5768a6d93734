/* Unit tests for services/publisher/txn_batcher against librdkafka's
 * in-process mock cluster: commit, broker outage, produce error, fencing,
 * slow commit and stop, each followed by recovery. */
#include <criterion/criterion.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_conf.h"
#include "log.h"
#include "strbuf.h"

#include "../../../services/publisher/request.h"
#include "../../../services/publisher/subs.h"
#include "../../../services/publisher/txn_batcher.h"

#define PTXN_MAX 64
#define PTXN_COMMIT_MS 1000
#define PTXN_API_PRODUCE 0
#define PTXN_API_END_TXN 26

static rd_kafka_t *ptxn_host; /* owns the mock cluster */
static rd_kafka_mock_cluster_t *ptxn_mock;
static struct kafka_settings ptxn_kafka;
static struct publisher_subs *ptxn_subs;
static struct publisher_batcher *ptxn_b;
static FILE *ptxn_devnull;

static struct publisher_request ptxn_reqs[PTXN_MAX];
static pthread_mutex_t ptxn_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ptxn_cv = PTHREAD_COND_INITIALIZER;
static int ptxn_done;

static const char ptxn_body[] = "{\"order_id\":\"o\",\"currency\":\"EUR\"}";

static void ptxn_done_cb(struct publisher_request *r) {
    (void)r;
    pthread_mutex_lock(&ptxn_mu);
    ptxn_done++;
    pthread_cond_broadcast(&ptxn_cv);
    pthread_mutex_unlock(&ptxn_mu);
}

static long ptxn_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the batcher reports ready; fails after timeout_ms. */
static void ptxn_wait_ready(long timeout_ms) {
    long t0 = ptxn_now_ms();
    for (;;) {
        struct strbuf why;
        strbuf_init(&why, 256);
        int ready = publisher_batcher_ready(ptxn_b, &why);
        if (ready) {
            strbuf_release(&why);
            return;
        }
        cr_assert_lt(ptxn_now_ms() - t0, timeout_ms, "not ready: %s", strbuf_str(&why));
        strbuf_release(&why);
        usleep(20 * 1000);
    }
}

struct ptxn_result {
    int committed, unavailable; /* outcomes of submitted requests */
    int refused;                /* submit returned -1 (outcome stays PENDING) */
    long ms;                    /* until every submitted request was answered */
};

/* Submits n requests at once and waits for every answer. */
static struct ptxn_result ptxn_publish(int n) {
    struct ptxn_result res = {0};
    int submitted = 0;
    long t0 = ptxn_now_ms();
    cr_assert_leq(n, PTXN_MAX);
    pthread_mutex_lock(&ptxn_mu);
    ptxn_done = 0;
    pthread_mutex_unlock(&ptxn_mu);
    for (int i = 0; i < n; i++) {
        struct publisher_request *r = &ptxn_reqs[i];
        const char *why = NULL;
        memset(r, 0, sizeof *r);
        snprintf(r->client_id, sizeof r->client_id, "unit-client");
        snprintf(r->order_id, sizeof r->order_id, "ord-%d", i);
        snprintf(r->event_id, sizeof r->event_id, "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a%02d", i);
        snprintf(r->ce_time, sizeof r->ce_time, "2024-05-01T12:34:56.789Z");
        snprintf(r->traceparent, sizeof r->traceparent,
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        r->body = ptxn_body;
        r->body_len = sizeof ptxn_body - 1;
        r->subs_mask = 0x3;
        r->done = ptxn_done_cb;
        if (publisher_batcher_submit(ptxn_b, r, &why) == 0)
            submitted++;
        else
            res.refused++;
    }
    pthread_mutex_lock(&ptxn_mu);
    while (ptxn_done < submitted) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 20;
        cr_assert_eq(pthread_cond_timedwait(&ptxn_cv, &ptxn_mu, &until), 0,
                     "only %d of %d answered", ptxn_done, submitted);
    }
    pthread_mutex_unlock(&ptxn_mu);
    res.ms = ptxn_now_ms() - t0;
    for (int i = 0; i < n; i++) {
        res.committed += ptxn_reqs[i].outcome == PUBLISHER_COMMITTED;
        res.unavailable += ptxn_reqs[i].outcome == PUBLISHER_UNAVAILABLE;
    }
    return res;
}

/* Publishes batches until one fully commits (the batcher recovered). */
static void ptxn_expect_recovery(long timeout_ms) {
    long t0 = ptxn_now_ms();
    for (;;) {
        struct ptxn_result r = ptxn_publish(4);
        if (r.committed == 4)
            return;
        cr_assert_lt(ptxn_now_ms() - t0, timeout_ms, "no recovery: %d committed", r.committed);
        usleep(100 * 1000);
    }
}

/* A batcher on the mock cluster: `producers` producers with ids
 * `id`, `id`-1, ... */
static struct publisher_batcher *ptxn_create(const char *id, size_t producers, size_t max_batch) {
    char err[256];
    const struct publisher_batcher_settings s = {
        .kafka = &ptxn_kafka,
        .transactional_id = id,
        .subs = ptxn_subs,
        .max_batch = max_batch,
        .producers = producers,
        .queue_capacity = PTXN_MAX,
        .linger_ms = 2,
        .commit_timeout_ms = PTXN_COMMIT_MS,
    };
    struct publisher_batcher *b = publisher_batcher_create(&s, err, sizeof err);
    cr_assert_not_null(b, "%s", err);
    return b;
}

/* Replaces the suite's batcher with one of `producers` producers. */
static void ptxn_use(size_t producers) {
    publisher_batcher_destroy(ptxn_b);
    ptxn_b = ptxn_create("publisher-unit-mock", producers, 16);
    ptxn_wait_ready(10000);
}

static void ptxn_setup(void) {
    char err[256];
    /* PUBLISHER_TEST_LOG=1 shows the batcher's log lines */
    if (!getenv("PUBLISHER_TEST_LOG")) {
        ptxn_devnull = fopen("/dev/null", "w");
        log_set_output(ptxn_devnull);
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
    ptxn_host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(ptxn_host, "%s", err);
    ptxn_mock = rd_kafka_mock_cluster_new(ptxn_host, 1);
    cr_assert_not_null(ptxn_mock);
    cr_assert_eq(rd_kafka_mock_topic_create(ptxn_mock, "t.billing", 2, 1), 0);
    cr_assert_eq(rd_kafka_mock_topic_create(ptxn_mock, "t.archive", 2, 1), 0);
    memset(&ptxn_kafka, 0, sizeof ptxn_kafka);
    ptxn_kafka.bootstrap = rd_kafka_mock_cluster_bootstraps(ptxn_mock);
    ptxn_kafka.security_protocol = "PLAINTEXT";
    ptxn_subs = publisher_subs_parse("billing=t.billing,archive=t.archive", err, sizeof err);
    cr_assert_not_null(ptxn_subs, "%s", err);
    ptxn_use(2); /* the service's default */
}

static void ptxn_teardown(void) {
    publisher_batcher_destroy(ptxn_b);
    publisher_subs_destroy(ptxn_subs);
    if (ptxn_mock)
        rd_kafka_mock_cluster_destroy(ptxn_mock);
    if (ptxn_host)
        rd_kafka_destroy(ptxn_host);
    log_set_output(NULL);
    if (ptxn_devnull)
        fclose(ptxn_devnull);
}

TestSuite(publisher_txn_batcher, .init = ptxn_setup, .fini = ptxn_teardown, .timeout = 60);

Test(publisher_txn_batcher, requests_share_committed_transactions) {
    struct ptxn_result r = ptxn_publish(40);
    cr_assert_eq(r.committed, 40);
    cr_assert_eq(r.refused, 0);
}

/* A pool of producers: each initialises its own transactional id (the
 * first keeps the configured one), and together they commit everything. */
Test(publisher_txn_batcher, each_producer_of_the_pool_has_its_own_transactional_id) {
    char *logs = NULL;
    size_t loglen = 0;
    FILE *mem = open_memstream(&logs, &loglen);
    cr_assert_not_null(mem);
    log_set_output(mem);
    struct publisher_batcher *pool = ptxn_create("publisher-unit-pool", 3, 4);
    struct publisher_batcher *shared = ptxn_b;
    ptxn_b = pool;
    ptxn_wait_ready(10000);
    struct ptxn_result r = ptxn_publish(40);
    ptxn_b = shared;
    /* every producer initialised before it is destroyed */
    for (long waited = 0; waited < 10000; waited += 10) {
        fflush(mem);
        if (logs && strstr(logs, "transactional.id publisher-unit-pool-2)") &&
            strstr(logs, "transactional.id publisher-unit-pool-1)") &&
            strstr(logs, "transactional.id publisher-unit-pool)"))
            break;
        usleep(10 * 1000);
    }
    publisher_batcher_destroy(pool);
    log_set_output(ptxn_devnull);
    fclose(mem);
    cr_assert_eq(r.committed, 40);
    cr_assert_not_null(strstr(logs, "transactional.id publisher-unit-pool)"), "%s", logs);
    cr_assert_not_null(strstr(logs, "transactional.id publisher-unit-pool-1)"), "%s", logs);
    cr_assert_not_null(strstr(logs, "transactional.id publisher-unit-pool-2)"), "%s", logs);
    free(logs);
}

Test(publisher_txn_batcher, broker_down_gives_503_within_the_deadline_then_recovers) {
    cr_assert_eq(rd_kafka_mock_broker_set_down(ptxn_mock, -1), 0);
    struct ptxn_result r = ptxn_publish(5);
    cr_assert_eq(r.committed, 0, "committed while the broker was down");
    cr_assert_eq(r.unavailable + r.refused, 5);
    /* produce+flush+commit within the deadline, then a bounded abort */
    cr_assert_lt(r.ms, 3 * PTXN_COMMIT_MS + 500, "answers took %ld ms", r.ms);
    struct strbuf why;
    strbuf_init(&why, 256);
    cr_assert_eq(publisher_batcher_ready(ptxn_b, &why), 0);
    strbuf_release(&why);
    cr_assert_eq(rd_kafka_mock_broker_set_up(ptxn_mock, -1), 0);
    ptxn_expect_recovery(20000);
    ptxn_wait_ready(5000);
}

Test(publisher_txn_batcher, failed_delivery_aborts_the_whole_batch) {
    rd_kafka_mock_push_request_errors(
        ptxn_mock, PTXN_API_PRODUCE, 4, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    struct ptxn_result r = ptxn_publish(3);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(r.unavailable, 3);
    rd_kafka_mock_clear_request_errors(ptxn_mock, PTXN_API_PRODUCE);
    ptxn_expect_recovery(10000);
}

Test(publisher_txn_batcher, fenced_producer_is_replaced) {
    rd_kafka_mock_push_request_errors(ptxn_mock, PTXN_API_END_TXN, 1,
                                      RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
    struct ptxn_result r = ptxn_publish(3);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(r.unavailable, 3);
    ptxn_expect_recovery(10000);
    ptxn_wait_ready(5000);
}

Test(publisher_txn_batcher, slow_commit_is_503_and_resumed_not_aborted) {
    /* The EndTxn answer takes longer than the commit deadline: the batch is
     * answered 503, the commit is resumed (librdkafka forbids an abort now),
     * nothing new starts on that producer meanwhile, and intake resumes after
     * it completes. One producer: nothing else can take the requests. */
    ptxn_use(1);
    rd_kafka_mock_broker_push_request_error_rtts(ptxn_mock, 1, PTXN_API_END_TXN, 1,
                                                 RD_KAFKA_RESP_ERR_NO_ERROR, 2 * PTXN_COMMIT_MS);
    struct ptxn_result r = ptxn_publish(3);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(r.unavailable, 3);
    cr_assert_lt(r.ms, PTXN_COMMIT_MS + 500);
    struct ptxn_result during = ptxn_publish(2);
    cr_assert_eq(during.committed, 0, "a transaction began while a commit was pending");
    ptxn_expect_recovery(10000);
    ptxn_wait_ready(5000);
}

/* The same slow commit with a pool: the producer resuming it begins
 * nothing, the other one commits the new requests meanwhile. */
Test(publisher_txn_batcher, slow_commit_on_one_producer_leaves_the_queue_to_the_other) {
    rd_kafka_mock_broker_push_request_error_rtts(ptxn_mock, 1, PTXN_API_END_TXN, 1,
                                                 RD_KAFKA_RESP_ERR_NO_ERROR, 2 * PTXN_COMMIT_MS);
    struct ptxn_result r = ptxn_publish(3);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(r.unavailable, 3);
    struct ptxn_result during = ptxn_publish(2);
    cr_assert_eq(during.committed, 2, "the other producer did not take the queue");
    ptxn_expect_recovery(10000);
    ptxn_wait_ready(5000);
}

Test(publisher_txn_batcher, stop_answers_everything_then_refuses) {
    struct ptxn_result r = ptxn_publish(10);
    cr_assert_eq(r.committed, 10);
    publisher_batcher_stop(ptxn_b, 2000);
    const char *why = NULL;
    cr_assert_eq(publisher_batcher_submit(ptxn_b, &ptxn_reqs[0], &why), -1);
    cr_assert_not_null(why);
}
