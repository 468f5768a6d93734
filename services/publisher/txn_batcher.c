/* txn_batcher: the Kafka thread: transactional producer and group commit. */
#include "txn_batcher.h"
#include "limbo.h"

#include "cloudevents.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "request.h"
#include "stats.h"
#include "strbuf.h"
#include "subs.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISHER_TXN_STEP_MS 1000     /* one init/resume attempt */
#define PUBLISHER_TXN_IDLE_WAIT_MS 200 /* queue wait when idle */
#define PUBLISHER_TXN_BACKOFF_MS 500   /* before recreating a producer */
#define PUBLISHER_TXN_PROBE_MS 1000    /* Kafka probe period after a failure */
#define PUBLISHER_TXN_RETRY_MS 10      /* between retriable commit attempts */
/* A producer's next transaction starts at least this long after its commit
 * returned. The coordinator answers EndTxn before it has written the commit
 * markers; a new transaction's AddPartitionsToTxn arriving before that gets
 * CONCURRENT_TRANSACTIONS, which librdkafka retries only after 20 ms (1 in 4
 * back-to-back transactions here, docs/BENCHMARKS.md). Another producer of
 * the pool takes the queue meanwhile. */
#define PUBLISHER_TXN_REST_MS 3

enum publisher_txn_state {
    PUBLISHER_TXN_NO_PRODUCER, /* create one (after a fatal error: backoff) */
    PUBLISHER_TXN_INIT,        /* init_transactions not completed yet */
    PUBLISHER_TXN_READY,       /* between transactions: may begin one */
    PUBLISHER_TXN_RESUME_COMMIT,
    PUBLISHER_TXN_RESUME_ABORT,
};

enum publisher_txn_action {
    PUBLISHER_ACT_OK,
    PUBLISHER_ACT_RETRY,
    PUBLISHER_ACT_ABORT,
    PUBLISHER_ACT_FATAL
};

struct publisher_batcher;

/* One transactional producer and the thread that owns it. */
struct publisher_txn_worker {
    struct publisher_batcher *b;
    unsigned index;                   /* its limbo entries are tagged with it */
    char *transactional_id;           /* the base id, "-<index>" from the second on */
    struct publisher_request **batch; /* set.max_batch slots */
    pthread_t thread;
    int started;

    /* its thread only */
    enum publisher_txn_state state;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt[PUBLISHER_SUBS_MAX];
    size_t delivery_errors; /* failed deliveries in the current transaction */
    size_t limbo_requests;  /* answered 503 while their commit went on */
    long long last_probe_ms;
    long long recreate_at_ms;
    long long rest_until_ms; /* no new transaction before (see PUBLISHER_TXN_REST_MS) */

    /* shared */
    atomic_int accepting;   /* state == READY */
    atomic_int initialized; /* init_transactions completed on this producer */
    atomic_int last_failed; /* last transaction failed, no success since */
};

struct publisher_batcher {
    struct publisher_batcher_settings set;
    struct publisher_queue *queue; /* shared by the workers */
    struct publisher_txn_worker *w;
    size_t nw;
    atomic_int stopping;
    atomic_llong stop_deadline_ms;
};

static long long publisher_txn_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum publisher_txn_action publisher_txn_classify(const rd_kafka_error_t *e) {
    if (!e)
        return PUBLISHER_ACT_OK;
    if (rd_kafka_error_is_fatal(e))
        return PUBLISHER_ACT_FATAL;
    if (rd_kafka_error_txn_requires_abort(e))
        return PUBLISHER_ACT_ABORT;
    if (rd_kafka_error_is_retriable(e))
        return PUBLISHER_ACT_RETRY;
    return PUBLISHER_ACT_FATAL; /* librdkafka: treat all other errors as fatal */
}

static void publisher_txn_set_state(struct publisher_txn_worker *w, enum publisher_txn_state st) {
    w->state = st;
    atomic_store(&w->accepting, st == PUBLISHER_TXN_READY);
    if (st == PUBLISHER_TXN_NO_PRODUCER || st == PUBLISHER_TXN_INIT)
        atomic_store(&w->initialized, 0);
}

/* ---- answers ------------------------------------------------------------ */

static void publisher_txn_answer(struct publisher_request **reqs, size_t n,
                                 enum publisher_outcome outcome, const char *reason) {
    for (size_t i = 0; i < n; i++) {
        struct publisher_request *r = reqs[i];
        r->outcome = outcome;
        snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
        r->done(r); /* r must not be touched after this */
    }
}

/* 1 when a producer of the pool may begin a transaction. */
static int publisher_txn_any_accepting(const struct publisher_batcher *b) {
    for (size_t i = 0; i < b->nw; i++)
        if (atomic_load(&b->w[i].accepting))
            return 1;
    return 0;
}

static void publisher_txn_sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* This producer cannot take the queue now (wait_ms: how long, at most,
 * before it looks again). When no other producer can either, everything
 * queued is answered 503 at once instead of waiting to go stale; otherwise
 * the others take it. */
static void publisher_txn_fail_queued(struct publisher_txn_worker *w, const char *reason,
                                      long wait_ms) {
    size_t n;
    if (publisher_txn_any_accepting(w->b) && !atomic_load(&w->b->stopping)) {
        publisher_txn_sleep_ms(wait_ms < PUBLISHER_TXN_IDLE_WAIT_MS ? wait_ms
                                                                    : PUBLISHER_TXN_IDLE_WAIT_MS);
        return;
    }
    while ((n = publisher_queue_take(w->b->queue, w->batch, w->b->set.max_batch, 0, wait_ms)) > 0) {
        publisher_txn_answer(w->batch, n, PUBLISHER_UNAVAILABLE, reason);
        wait_ms = 0;
    }
}

/* ---- producer life cycle ---------------------------------------------------- */

static void publisher_txn_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct publisher_txn_worker *w = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return;
    if (w->delivery_errors++ == 0)
        LOG_WARN("kafka delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err));
    if (w->b->set.stats)
        metrics_child_inc(w->b->set.stats->produce_errors);
}

static void publisher_txn_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        LOG_ERROR("kafka fatal error: %s: %s", rd_kafka_err2name(orig), buf);
        return;
    }
    LOG_WARN("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void publisher_txn_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                                 const char *buf) {
    (void)rk;
    if (level <= 4) /* syslog LOG_WARNING and worse */
        LOG_WARN("librdkafka %s: %s", fac, buf);
    else
        LOG_DEBUG("librdkafka %s: %s", fac, buf);
}

static void publisher_txn_producer_destroy(struct publisher_txn_worker *w) {
    if (!w->rk)
        return;
    rd_kafka_purge(w->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (size_t i = 0; i < PUBLISHER_SUBS_MAX; i++) {
        if (w->rkt[i])
            rd_kafka_topic_destroy(w->rkt[i]);
        w->rkt[i] = NULL;
    }
    rd_kafka_destroy(w->rk);
    w->rk = NULL;
}

/* Builds the producer configuration. NULL with err set on failure. */
static rd_kafka_conf_t *publisher_txn_conf(const struct publisher_batcher_settings *s,
                                           const char *transactional_id, char *err, size_t errlen) {
    char qmax[32];
    rd_kafka_conf_t *conf = kafka_conf_producer(s->kafka, transactional_id, err, errlen);
    if (!conf)
        return NULL;
    /* Room for two full batches of copies. */
    size_t copies = 2 * s->max_batch * s->subs->n;
    snprintf(qmax, sizeof qmax, "%zu", copies > 100000 ? copies : (size_t)100000);
    if (rd_kafka_conf_set(conf, "queue.buffering.max.messages", qmax, err, errlen) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Creates the producer and its topic handles. 0, or -1 (logged). */
static int publisher_txn_producer_create(struct publisher_txn_worker *w) {
    char err[512];
    rd_kafka_conf_t *conf = publisher_txn_conf(&w->b->set, w->transactional_id, err, sizeof err);
    if (!conf) {
        LOG_ERROR("kafka producer config: %s", err);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, w);
    rd_kafka_conf_set_dr_msg_cb(conf, publisher_txn_dr_cb);
    rd_kafka_conf_set_error_cb(conf, publisher_txn_error_cb);
    rd_kafka_conf_set_log_cb(conf, publisher_txn_log_cb);
    w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!w->rk) {
        rd_kafka_conf_destroy(conf);
        LOG_ERROR("kafka producer: %s", err);
        return -1;
    }
    conf = NULL; /* owned by w->rk now */
    for (size_t i = 0; i < w->b->set.subs->n; i++) {
        w->rkt[i] = rd_kafka_topic_new(w->rk, w->b->set.subs->sub[i].topic, NULL);
        if (!w->rkt[i]) {
            LOG_ERROR("kafka topic %s: %s", w->b->set.subs->sub[i].topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
            publisher_txn_producer_destroy(w);
            return -1;
        }
    }
    return 0;
}

/* Drops the producer after a fatal error; a new one is made after a backoff. */
static void publisher_txn_recreate(struct publisher_txn_worker *w, const char *why) {
    LOG_ERROR("kafka producer unusable (%s): recreating it", why);
    publisher_txn_producer_destroy(w);
    atomic_store(&w->last_failed, 1);
    w->recreate_at_ms = publisher_txn_now_ms() + PUBLISHER_TXN_BACKOFF_MS;
    publisher_txn_set_state(w, PUBLISHER_TXN_NO_PRODUCER);
}

/* One bounded init_transactions attempt (resumable on retriable errors). */
static void publisher_txn_step_init(struct publisher_txn_worker *w) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(w->rk, PUBLISHER_TXN_STEP_MS);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        LOG_INFO("kafka transactions initialised (transactional.id %s)", w->transactional_id);
        atomic_store(&w->initialized, 1);
        publisher_txn_set_state(w, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        LOG_DEBUG("init_transactions: %s (retrying)", rd_kafka_error_string(e));
        break;
    default:
        publisher_txn_recreate(w, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* Aborts the current transaction within timeout_ms; on a retriable failure
 * the abort is resumed later (state RESUME_ABORT). */
static void publisher_txn_abort(struct publisher_txn_worker *w, long timeout_ms) {
    atomic_store(&w->accepting, 0); /* new requests: 503 at once, not after the abort */
    rd_kafka_error_t *e = rd_kafka_abort_transaction(w->rk, (int)timeout_ms);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        publisher_txn_set_state(w, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        LOG_WARN("abort_transaction: %s (resuming)", rd_kafka_error_string(e));
        publisher_txn_set_state(w, PUBLISHER_TXN_RESUME_ABORT);
        break;
    default:
        publisher_txn_recreate(w, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* One bounded attempt to finish a commit or abort that outlived its batch. */
static void publisher_txn_step_resume(struct publisher_txn_worker *w) {
    if (w->state == PUBLISHER_TXN_RESUME_ABORT) {
        publisher_txn_abort(w, PUBLISHER_TXN_STEP_MS);
        return;
    }
    rd_kafka_error_t *e = rd_kafka_commit_transaction(w->rk, PUBLISHER_TXN_STEP_MS);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        LOG_WARN("a late commit succeeded: %zu orders answered 503 are published "
                 "(their retries are answered 202 with the original event ids)",
                 w->limbo_requests);
        w->limbo_requests = 0;
        if (w->b->set.limbo)
            publisher_limbo_resolve(w->b->set.limbo, w->index, 1);
        atomic_store(&w->last_failed, 0);
        publisher_txn_set_state(w, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        break;
    case PUBLISHER_ACT_ABORT:
        LOG_WARN("late commit failed, aborting: %s", rd_kafka_error_string(e));
        w->limbo_requests = 0;
        if (w->b->set.limbo)
            publisher_limbo_resolve(w->b->set.limbo, w->index, 0);
        publisher_txn_abort(w, PUBLISHER_TXN_STEP_MS);
        break;
    case PUBLISHER_ACT_FATAL:
        /* Outcome still unknown; the new producer's init_transactions
         * finishes or aborts it. Forgetting is the documented gap. */
        w->limbo_requests = 0;
        if (w->b->set.limbo)
            publisher_limbo_resolve(w->b->set.limbo, w->index, 0);
        publisher_txn_recreate(w, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* After a failure, while idle: does Kafka answer a metadata request for the
 * first topic again? Then readiness no longer reports the old failure. */
static void publisher_txn_probe(struct publisher_txn_worker *w) {
    long long now = publisher_txn_now_ms();
    if (!atomic_load(&w->last_failed) || now - w->last_probe_ms < PUBLISHER_TXN_PROBE_MS)
        return;
    w->last_probe_ms = now;
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(w->rk, 0, w->rkt[0], &md, 500) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG_INFO("kafka answers again: ready");
        atomic_store(&w->last_failed, 0);
    }
    rd_kafka_metadata_destroy(md);
}

/* ---- one transaction ------------------------------------------------------- */

/* Produces every copy of req. 0, or -1 with a reason in err. */
static int publisher_txn_produce(struct publisher_txn_worker *w,
                                 const struct publisher_request *req, char *err, size_t errlen) {
    char key[PUBLISHER_CE_KEY_MAX + 1];
    int keylen = publisher_ce_key(req->client_id, req->order_id, key, sizeof key);
    const struct publisher_ce_event ev = {
        .event_id = req->event_id,
        .client_id = req->client_id,
        .order_id = req->order_id,
        .ce_time = req->ce_time,
        .traceparent = req->traceparent,
    };
    if (keylen < 0) {
        snprintf(err, errlen, "record key too long");
        return -1;
    }
    for (size_t i = 0; i < w->b->set.subs->n; i++) {
        if (!(req->subs_mask & (UINT32_C(1) << i)))
            continue;
        rd_kafka_headers_t *hdrs = publisher_ce_headers(&ev);
        if (!hdrs) {
            snprintf(err, errlen, "cannot build CloudEvents headers");
            return -1;
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            w->rk, RD_KAFKA_V_RKT(w->rkt[i]), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)keylen),
            RD_KAFKA_V_VALUE((void *)req->body, req->body_len), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
            if (w->b->set.stats)
                metrics_child_inc(w->b->set.stats->produce_errors);
            snprintf(err, errlen, "produce to %s: %s", w->b->set.subs->sub[i].topic,
                     rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

/* Commits within the deadline. Returns the action for the result; on
 * PUBLISHER_ACT_RETRY the deadline passed while the commit was under way. */
static enum publisher_txn_action
publisher_txn_commit(struct publisher_txn_worker *w, long long deadline, char *err, size_t errlen) {
    for (;;) {
        long long left = deadline - publisher_txn_now_ms();
        rd_kafka_error_t *e = rd_kafka_commit_transaction(w->rk, left > 1 ? (int)left : 1);
        enum publisher_txn_action act = publisher_txn_classify(e);
        if (e) {
            snprintf(err, errlen, "commit: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        if (act != PUBLISHER_ACT_RETRY || publisher_txn_now_ms() >= deadline)
            return act;
        struct timespec pause = {0, PUBLISHER_TXN_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* Runs one transaction for reqs[0..n) and answers every request. */
static void publisher_txn_run(struct publisher_txn_worker *w, struct publisher_request **reqs,
                              size_t n, long long deadline) {
    char err[512] = "";
    long long t0 = publisher_txn_now_ms();
    struct publisher_stats *st = w->b->set.stats;
    enum publisher_txn_action act = PUBLISHER_ACT_OK;
    int committing = 0;

    if (st)
        metrics_histogram_observe(st->batch_size, (double)n, NULL);
    w->delivery_errors = 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(w->rk);
    if (e) {
        snprintf(err, sizeof err, "begin: %s", rd_kafka_error_string(e));
        act = publisher_txn_classify(e) == PUBLISHER_ACT_ABORT ? PUBLISHER_ACT_ABORT
                                                               : PUBLISHER_ACT_FATAL;
        rd_kafka_error_destroy(e);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (publisher_txn_produce(w, reqs[i], err, sizeof err) != 0) {
            act = PUBLISHER_ACT_ABORT;
            goto done;
        }
    }
    /* Every copy acknowledged before commit: a deadline passing here still
     * allows a clean abort. */
    long long left = deadline - publisher_txn_now_ms();
    rd_kafka_resp_err_t ferr = rd_kafka_flush(w->rk, left > 0 ? (int)left : 0);
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR || publisher_txn_now_ms() >= deadline) {
        snprintf(err, sizeof err, "copies not acknowledged within the commit timeout (%s)",
                 rd_kafka_err2str(ferr));
        act = PUBLISHER_ACT_ABORT;
        goto done;
    }
    committing = 1;
    act = publisher_txn_commit(w, deadline, err, sizeof err);
done:
    if (st)
        metrics_histogram_observe(st->commit_seconds, (double)(publisher_txn_now_ms() - t0) / 1e3,
                                  NULL);
    if (act == PUBLISHER_ACT_OK) {
        w->rest_until_ms = publisher_txn_now_ms() + PUBLISHER_TXN_REST_MS;
        atomic_store(&w->last_failed, 0);
        publisher_txn_answer(reqs, n, PUBLISHER_COMMITTED, NULL);
        return;
    }
    atomic_store(&w->last_failed, 1);
    LOG_WARN("transaction of %zu requests failed: %s", n, err);
    /* The commit goes on and may still succeed: remember these orders before
     * answering, so that their retries do not publish them twice. */
    if (act == PUBLISHER_ACT_RETRY && committing && w->b->set.limbo)
        publisher_limbo_hold(w->b->set.limbo, w->index, reqs, n, publisher_txn_now_ms());
    publisher_txn_answer(reqs, n, PUBLISHER_UNAVAILABLE, "the order could not be committed");
    switch (act) {
    case PUBLISHER_ACT_ABORT:
        publisher_txn_abort(w, w->b->set.commit_timeout_ms);
        break;
    case PUBLISHER_ACT_RETRY: /* commit still under way: resume it, never abort */
        if (committing) {
            w->limbo_requests += n;
            publisher_txn_set_state(w, PUBLISHER_TXN_RESUME_COMMIT);
        }
        break;
    default:
        publisher_txn_recreate(w, err);
        break;
    }
}

/* ---- the thread ------------------------------------------------------------ */

/* Answers 503, unpublished, the requests that waited longer than
 * PUBLISHER_MAX_QUEUE_WAIT_MS (Kafka was down or recovering), and keeps the
 * others in order. So a request's whole life here (queue wait + linger +
 * commit timeout) stays below ingress-auth's publish timeout: ingress-auth
 * never gives up on a request this process could still commit (it would
 * then release its idempotency claim and a retry would publish twice). */
static size_t publisher_txn_drop_stale(struct publisher_request **reqs, size_t n, long long now) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (now - reqs[i]->queued_ms > PUBLISHER_MAX_QUEUE_WAIT_MS) {
            struct publisher_request *one[] = {reqs[i]};
            publisher_txn_answer(one, 1, PUBLISHER_UNAVAILABLE, "waited too long for kafka");
            continue;
        }
        reqs[kept++] = reqs[i];
    }
    if (kept < n)
        LOG_WARN("%zu requests waited more than %d ms for kafka: answered 503, not published",
                 n - kept, PUBLISHER_MAX_QUEUE_WAIT_MS);
    return kept;
}

/* READY: takes a batch and runs it. Returns 1 when the thread should exit. */
static int publisher_txn_step_ready(struct publisher_txn_worker *w) {
    int stopping = atomic_load(&w->b->stopping);
    long long rest = w->rest_until_ms - publisher_txn_now_ms();
    if (rest > 0 && !stopping) {
        publisher_txn_sleep_ms((long)rest);
        return 0;
    }
    size_t n = publisher_queue_take(w->b->queue, w->batch, w->b->set.max_batch,
                                    stopping ? 0 : w->b->set.linger_ms,
                                    stopping ? 0 : PUBLISHER_TXN_IDLE_WAIT_MS);
    if (n == 0) {
        if (stopping)
            return 1;
        rd_kafka_poll(w->rk, 0);
        publisher_txn_probe(w);
        return 0;
    }
    long long now = publisher_txn_now_ms();
    n = publisher_txn_drop_stale(w->batch, n, now);
    if (n == 0)
        return 0;
    long long deadline = now + w->b->set.commit_timeout_ms;
    if (stopping) {
        long long stop_at = atomic_load(&w->b->stop_deadline_ms);
        if (now >= stop_at) {
            publisher_txn_answer(w->batch, n, PUBLISHER_UNAVAILABLE, "shutting down");
            return 1;
        }
        if (deadline > stop_at)
            deadline = stop_at;
    }
    publisher_txn_run(w, w->batch, n, deadline);
    return 0;
}

static void *publisher_txn_main(void *arg) {
    struct publisher_txn_worker *w = arg;
    int done = 0;
    while (!done) {
        int stopping = atomic_load(&w->b->stopping);
        switch (w->state) {
        case PUBLISHER_TXN_NO_PRODUCER: {
            long long wait = w->recreate_at_ms - publisher_txn_now_ms();
            publisher_txn_fail_queued(w, "kafka producer unavailable", wait > 0 ? (long)wait : 0);
            if (stopping) {
                done = 1;
            } else if (publisher_txn_now_ms() >= w->recreate_at_ms) {
                if (publisher_txn_producer_create(w) == 0)
                    publisher_txn_set_state(w, PUBLISHER_TXN_INIT);
                else
                    w->recreate_at_ms = publisher_txn_now_ms() + PUBLISHER_TXN_BACKOFF_MS;
            }
            break;
        }
        case PUBLISHER_TXN_INIT:
        case PUBLISHER_TXN_RESUME_COMMIT:
        case PUBLISHER_TXN_RESUME_ABORT:
            if (stopping) {
                done = 1;
                break;
            }
            if (w->state == PUBLISHER_TXN_INIT)
                publisher_txn_step_init(w);
            else
                publisher_txn_step_resume(w);
            publisher_txn_fail_queued(w, "kafka transaction not available", 0);
            break;
        case PUBLISHER_TXN_READY:
            done = publisher_txn_step_ready(w);
            break;
        }
    }
    publisher_txn_set_state(w, w->rk ? PUBLISHER_TXN_INIT : PUBLISHER_TXN_NO_PRODUCER);
    publisher_txn_fail_queued(w, "shutting down", 0);
    return NULL;
}

/* ---- public API ------------------------------------------------------------ */

static void publisher_txn_worker_release(struct publisher_txn_worker *w) {
    publisher_txn_producer_destroy(w);
    free(w->batch);
    free(w->transactional_id);
}

/* The first producer keeps the configured id (an upgrade from one producer
 * fences the same one); the others append "-<index>". */
static int publisher_txn_worker_init(struct publisher_batcher *b, unsigned index) {
    struct publisher_txn_worker *w = &b->w[index];
    size_t len = strlen(b->set.transactional_id) + 16;
    w->b = b;
    w->index = index;
    w->transactional_id = malloc(len);
    w->batch = calloc(b->set.max_batch, sizeof *w->batch);
    if (!w->transactional_id || !w->batch)
        return -1;
    if (index == 0)
        snprintf(w->transactional_id, len, "%s", b->set.transactional_id);
    else
        snprintf(w->transactional_id, len, "%s-%u", b->set.transactional_id, index);
    atomic_init(&w->accepting, 0);
    atomic_init(&w->initialized, 0);
    atomic_init(&w->last_failed, 0);
    w->state = PUBLISHER_TXN_NO_PRODUCER;
    return 0;
}

struct publisher_batcher *publisher_batcher_create(const struct publisher_batcher_settings *s,
                                                   char *err, size_t errlen) {
    struct publisher_batcher *b = NULL;
    size_t nw = s->producers ? s->producers : 1;
    if (!s->subs || s->subs->n == 0 || s->max_batch == 0 || s->queue_capacity == 0 ||
        !s->transactional_id || nw > PUBLISHER_PRODUCERS_MAX) {
        snprintf(err, errlen, "txn batcher: bad settings");
        return NULL;
    }
    rd_kafka_conf_t *probe = publisher_txn_conf(s, s->transactional_id, err, errlen);
    if (!probe) /* fail fast on bad config */
        return NULL;
    rd_kafka_conf_destroy(probe);

    b = calloc(1, sizeof *b);
    if (!b)
        goto oom;
    b->set = *s;
    b->queue = publisher_queue_create(s->queue_capacity);
    b->w = calloc(nw, sizeof *b->w);
    if (!b->queue || !b->w)
        goto oom;
    b->nw = nw;
    atomic_init(&b->stopping, 0);
    atomic_init(&b->stop_deadline_ms, 0);
    for (size_t i = 0; i < nw; i++)
        if (publisher_txn_worker_init(b, (unsigned)i) != 0)
            goto oom;
    for (size_t i = 0; i < nw; i++) {
        if (pthread_create(&b->w[i].thread, NULL, publisher_txn_main, &b->w[i]) != 0) {
            snprintf(err, errlen, "txn batcher: cannot start a kafka thread");
            publisher_batcher_destroy(b);
            return NULL;
        }
        b->w[i].started = 1;
    }
    return b;
oom:
    snprintf(err, errlen, "txn batcher: out of memory");
    publisher_batcher_destroy(b);
    return NULL;
}

int publisher_batcher_submit(struct publisher_batcher *b, struct publisher_request *req,
                             const char **why) {
    if (!publisher_txn_any_accepting(b)) {
        *why = "kafka producer is not ready";
        return -1;
    }
    req->outcome = PUBLISHER_PENDING;
    req->queued_ms = publisher_txn_now_ms();
    switch (publisher_queue_push(b->queue, req)) {
    case 0:
        return 0;
    case PUBLISHER_QUEUE_FULL:
        *why = "too many requests waiting for kafka";
        return -1;
    default:
        *why = "shutting down";
        return -1;
    }
}

/* The reason one producer is not ready, or NULL. */
static const char *publisher_txn_not_ready(struct publisher_txn_worker *w) {
    if (!atomic_load(&w->initialized))
        return "kafka producer not initialised (init_transactions)";
    if (!atomic_load(&w->accepting))
        return "kafka transaction being recovered";
    if (atomic_load(&w->last_failed))
        return "last kafka transaction failed";
    return NULL;
}

/* Ready when every producer is: one that failed its last transaction may
 * fail the next batch it takes too (as the single producer did). */
int publisher_batcher_ready(void *batcher, struct strbuf *why) {
    struct publisher_batcher *b = batcher;
    for (size_t i = 0; i < b->nw; i++) {
        const char *no = publisher_txn_not_ready(&b->w[i]);
        if (no) {
            strbuf_puts(why, no);
            return 0;
        }
    }
    return 1;
}

void publisher_batcher_stop(struct publisher_batcher *b, long deadline_ms) {
    atomic_store(&b->stop_deadline_ms, publisher_txn_now_ms() + deadline_ms);
    atomic_store(&b->stopping, 1);
    if (b->queue)
        publisher_queue_close(b->queue);
    for (size_t i = 0; i < b->nw; i++)
        if (b->w[i].started) {
            pthread_join(b->w[i].thread, NULL);
            b->w[i].started = 0;
        }
}

void publisher_batcher_destroy(struct publisher_batcher *b) {
    if (!b)
        return;
    publisher_batcher_stop(b, 0);
    for (size_t i = 0; b->w && i < b->nw; i++)
        publisher_txn_worker_release(&b->w[i]);
    free(b->w);
    publisher_queue_destroy(b->queue);
    free(b);
}
