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

struct publisher_batcher {
    struct publisher_batcher_settings set;
    struct publisher_queue *queue;
    struct publisher_request **batch; /* set.max_batch slots */
    pthread_t thread;
    int started;

    /* Kafka thread only */
    enum publisher_txn_state state;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt[PUBLISHER_SUBS_MAX];
    size_t delivery_errors; /* failed deliveries in the current transaction */
    size_t limbo_requests;  /* answered 503 while their commit went on */
    long long last_probe_ms;
    long long recreate_at_ms;

    /* shared */
    atomic_int accepting;   /* state == READY */
    atomic_int initialized; /* init_transactions completed on this producer */
    atomic_int last_failed; /* last transaction failed, no success since */
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

static void publisher_txn_set_state(struct publisher_batcher *b, enum publisher_txn_state st) {
    b->state = st;
    atomic_store(&b->accepting, st == PUBLISHER_TXN_READY);
    if (st == PUBLISHER_TXN_NO_PRODUCER || st == PUBLISHER_TXN_INIT)
        atomic_store(&b->initialized, 0);
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

/* Answers 503 to everything queued right now (wait_ms: how long to wait for
 * the first one, doubling as a sleep). */
static void publisher_txn_fail_queued(struct publisher_batcher *b, const char *reason,
                                      long wait_ms) {
    size_t n;
    while ((n = publisher_queue_take(b->queue, b->batch, b->set.max_batch, 0, wait_ms)) > 0) {
        publisher_txn_answer(b->batch, n, PUBLISHER_UNAVAILABLE, reason);
        wait_ms = 0;
    }
}

/* ---- producer life cycle ---------------------------------------------------- */

static void publisher_txn_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct publisher_batcher *b = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return;
    if (b->delivery_errors++ == 0)
        LOG_WARN("kafka delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err));
    if (b->set.stats)
        metrics_child_inc(b->set.stats->produce_errors);
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

static void publisher_txn_producer_destroy(struct publisher_batcher *b) {
    if (!b->rk)
        return;
    rd_kafka_purge(b->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (size_t i = 0; i < PUBLISHER_SUBS_MAX; i++) {
        if (b->rkt[i])
            rd_kafka_topic_destroy(b->rkt[i]);
        b->rkt[i] = NULL;
    }
    rd_kafka_destroy(b->rk);
    b->rk = NULL;
}

/* Builds the producer configuration. NULL with err set on failure. */
static rd_kafka_conf_t *publisher_txn_conf(const struct publisher_batcher_settings *s, char *err,
                                           size_t errlen) {
    char qmax[32];
    rd_kafka_conf_t *conf = kafka_conf_producer(s->kafka, s->transactional_id, err, errlen);
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
static int publisher_txn_producer_create(struct publisher_batcher *b) {
    char err[512];
    rd_kafka_conf_t *conf = publisher_txn_conf(&b->set, err, sizeof err);
    if (!conf) {
        LOG_ERROR("kafka producer config: %s", err);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, b);
    rd_kafka_conf_set_dr_msg_cb(conf, publisher_txn_dr_cb);
    rd_kafka_conf_set_error_cb(conf, publisher_txn_error_cb);
    rd_kafka_conf_set_log_cb(conf, publisher_txn_log_cb);
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!b->rk) {
        rd_kafka_conf_destroy(conf);
        LOG_ERROR("kafka producer: %s", err);
        return -1;
    }
    conf = NULL; /* owned by b->rk now */
    for (size_t i = 0; i < b->set.subs->n; i++) {
        b->rkt[i] = rd_kafka_topic_new(b->rk, b->set.subs->sub[i].topic, NULL);
        if (!b->rkt[i]) {
            LOG_ERROR("kafka topic %s: %s", b->set.subs->sub[i].topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
            publisher_txn_producer_destroy(b);
            return -1;
        }
    }
    return 0;
}

/* Drops the producer after a fatal error; a new one is made after a backoff. */
static void publisher_txn_recreate(struct publisher_batcher *b, const char *why) {
    LOG_ERROR("kafka producer unusable (%s): recreating it", why);
    publisher_txn_producer_destroy(b);
    atomic_store(&b->last_failed, 1);
    b->recreate_at_ms = publisher_txn_now_ms() + PUBLISHER_TXN_BACKOFF_MS;
    publisher_txn_set_state(b, PUBLISHER_TXN_NO_PRODUCER);
}

/* One bounded init_transactions attempt (resumable on retriable errors). */
static void publisher_txn_step_init(struct publisher_batcher *b) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(b->rk, PUBLISHER_TXN_STEP_MS);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        LOG_INFO("kafka transactions initialised (transactional.id %s)", b->set.transactional_id);
        atomic_store(&b->initialized, 1);
        publisher_txn_set_state(b, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        LOG_DEBUG("init_transactions: %s (retrying)", rd_kafka_error_string(e));
        break;
    default:
        publisher_txn_recreate(b, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* Aborts the current transaction within timeout_ms; on a retriable failure
 * the abort is resumed later (state RESUME_ABORT). */
static void publisher_txn_abort(struct publisher_batcher *b, long timeout_ms) {
    atomic_store(&b->accepting, 0); /* new requests: 503 at once, not after the abort */
    rd_kafka_error_t *e = rd_kafka_abort_transaction(b->rk, (int)timeout_ms);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        publisher_txn_set_state(b, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        LOG_WARN("abort_transaction: %s (resuming)", rd_kafka_error_string(e));
        publisher_txn_set_state(b, PUBLISHER_TXN_RESUME_ABORT);
        break;
    default:
        publisher_txn_recreate(b, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* One bounded attempt to finish a commit or abort that outlived its batch. */
static void publisher_txn_step_resume(struct publisher_batcher *b) {
    if (b->state == PUBLISHER_TXN_RESUME_ABORT) {
        publisher_txn_abort(b, PUBLISHER_TXN_STEP_MS);
        return;
    }
    rd_kafka_error_t *e = rd_kafka_commit_transaction(b->rk, PUBLISHER_TXN_STEP_MS);
    switch (publisher_txn_classify(e)) {
    case PUBLISHER_ACT_OK:
        LOG_WARN("a late commit succeeded: %zu orders answered 503 are published "
                 "(their retries are answered 202 with the original event ids)",
                 b->limbo_requests);
        b->limbo_requests = 0;
        if (b->set.limbo)
            publisher_limbo_resolve(b->set.limbo, 1);
        atomic_store(&b->last_failed, 0);
        publisher_txn_set_state(b, PUBLISHER_TXN_READY);
        break;
    case PUBLISHER_ACT_RETRY:
        break;
    case PUBLISHER_ACT_ABORT:
        LOG_WARN("late commit failed, aborting: %s", rd_kafka_error_string(e));
        b->limbo_requests = 0;
        if (b->set.limbo)
            publisher_limbo_resolve(b->set.limbo, 0);
        publisher_txn_abort(b, PUBLISHER_TXN_STEP_MS);
        break;
    case PUBLISHER_ACT_FATAL:
        /* Outcome still unknown; the new producer's init_transactions
         * finishes or aborts it. Forgetting is the documented gap. */
        b->limbo_requests = 0;
        if (b->set.limbo)
            publisher_limbo_resolve(b->set.limbo, 0);
        publisher_txn_recreate(b, rd_kafka_error_string(e));
        break;
    }
    if (e)
        rd_kafka_error_destroy(e);
}

/* After a failure, while idle: does Kafka answer a metadata request for the
 * first topic again? Then readiness no longer reports the old failure. */
static void publisher_txn_probe(struct publisher_batcher *b) {
    long long now = publisher_txn_now_ms();
    if (!atomic_load(&b->last_failed) || now - b->last_probe_ms < PUBLISHER_TXN_PROBE_MS)
        return;
    b->last_probe_ms = now;
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(b->rk, 0, b->rkt[0], &md, 500) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG_INFO("kafka answers again: ready");
        atomic_store(&b->last_failed, 0);
    }
    rd_kafka_metadata_destroy(md);
}

/* ---- one transaction ------------------------------------------------------- */

/* Produces every copy of req. 0, or -1 with a reason in err. */
static int publisher_txn_produce(struct publisher_batcher *b, const struct publisher_request *req,
                                 char *err, size_t errlen) {
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
    for (size_t i = 0; i < b->set.subs->n; i++) {
        if (!(req->subs_mask & (UINT32_C(1) << i)))
            continue;
        rd_kafka_headers_t *hdrs = publisher_ce_headers(&ev);
        if (!hdrs) {
            snprintf(err, errlen, "cannot build CloudEvents headers");
            return -1;
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            b->rk, RD_KAFKA_V_RKT(b->rkt[i]), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)keylen),
            RD_KAFKA_V_VALUE((void *)req->body, req->body_len), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
            if (b->set.stats)
                metrics_child_inc(b->set.stats->produce_errors);
            snprintf(err, errlen, "produce to %s: %s", b->set.subs->sub[i].topic,
                     rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

/* Commits within the deadline. Returns the action for the result; on
 * PUBLISHER_ACT_RETRY the deadline passed while the commit was under way. */
static enum publisher_txn_action
publisher_txn_commit(struct publisher_batcher *b, long long deadline, char *err, size_t errlen) {
    for (;;) {
        long long left = deadline - publisher_txn_now_ms();
        rd_kafka_error_t *e = rd_kafka_commit_transaction(b->rk, left > 1 ? (int)left : 1);
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
static void publisher_txn_run(struct publisher_batcher *b, struct publisher_request **reqs,
                              size_t n, long long deadline) {
    char err[512] = "";
    long long t0 = publisher_txn_now_ms();
    struct publisher_stats *st = b->set.stats;
    enum publisher_txn_action act = PUBLISHER_ACT_OK;
    int committing = 0;

    if (st)
        metrics_histogram_observe(st->batch_size, (double)n, NULL);
    b->delivery_errors = 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(b->rk);
    if (e) {
        snprintf(err, sizeof err, "begin: %s", rd_kafka_error_string(e));
        act = publisher_txn_classify(e) == PUBLISHER_ACT_ABORT ? PUBLISHER_ACT_ABORT
                                                               : PUBLISHER_ACT_FATAL;
        rd_kafka_error_destroy(e);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (publisher_txn_produce(b, reqs[i], err, sizeof err) != 0) {
            act = PUBLISHER_ACT_ABORT;
            goto done;
        }
    }
    /* Every copy acknowledged before commit: a deadline passing here still
     * allows a clean abort. */
    long long left = deadline - publisher_txn_now_ms();
    rd_kafka_resp_err_t ferr = rd_kafka_flush(b->rk, left > 0 ? (int)left : 0);
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR || publisher_txn_now_ms() >= deadline) {
        snprintf(err, sizeof err, "copies not acknowledged within the commit timeout (%s)",
                 rd_kafka_err2str(ferr));
        act = PUBLISHER_ACT_ABORT;
        goto done;
    }
    committing = 1;
    act = publisher_txn_commit(b, deadline, err, sizeof err);
done:
    if (st)
        metrics_histogram_observe(st->commit_seconds, (double)(publisher_txn_now_ms() - t0) / 1e3,
                                  NULL);
    if (act == PUBLISHER_ACT_OK) {
        atomic_store(&b->last_failed, 0);
        publisher_txn_answer(reqs, n, PUBLISHER_COMMITTED, NULL);
        return;
    }
    atomic_store(&b->last_failed, 1);
    LOG_WARN("transaction of %zu requests failed: %s", n, err);
    /* The commit goes on and may still succeed: remember these orders before
     * answering, so that their retries do not publish them twice. */
    if (act == PUBLISHER_ACT_RETRY && committing && b->set.limbo)
        publisher_limbo_hold(b->set.limbo, reqs, n, publisher_txn_now_ms());
    publisher_txn_answer(reqs, n, PUBLISHER_UNAVAILABLE, "the order could not be committed");
    switch (act) {
    case PUBLISHER_ACT_ABORT:
        publisher_txn_abort(b, b->set.commit_timeout_ms);
        break;
    case PUBLISHER_ACT_RETRY: /* commit still under way: resume it, never abort */
        if (committing) {
            b->limbo_requests += n;
            publisher_txn_set_state(b, PUBLISHER_TXN_RESUME_COMMIT);
        }
        break;
    default:
        publisher_txn_recreate(b, err);
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
static int publisher_txn_step_ready(struct publisher_batcher *b) {
    int stopping = atomic_load(&b->stopping);
    size_t n =
        publisher_queue_take(b->queue, b->batch, b->set.max_batch, stopping ? 0 : b->set.linger_ms,
                             stopping ? 0 : PUBLISHER_TXN_IDLE_WAIT_MS);
    if (n == 0) {
        if (stopping)
            return 1;
        rd_kafka_poll(b->rk, 0);
        publisher_txn_probe(b);
        return 0;
    }
    long long now = publisher_txn_now_ms();
    n = publisher_txn_drop_stale(b->batch, n, now);
    if (n == 0)
        return 0;
    long long deadline = now + b->set.commit_timeout_ms;
    if (stopping) {
        long long stop_at = atomic_load(&b->stop_deadline_ms);
        if (now >= stop_at) {
            publisher_txn_answer(b->batch, n, PUBLISHER_UNAVAILABLE, "shutting down");
            return 1;
        }
        if (deadline > stop_at)
            deadline = stop_at;
    }
    publisher_txn_run(b, b->batch, n, deadline);
    return 0;
}

static void *publisher_txn_main(void *arg) {
    struct publisher_batcher *b = arg;
    int done = 0;
    while (!done) {
        int stopping = atomic_load(&b->stopping);
        switch (b->state) {
        case PUBLISHER_TXN_NO_PRODUCER: {
            long long wait = b->recreate_at_ms - publisher_txn_now_ms();
            publisher_txn_fail_queued(b, "kafka producer unavailable", wait > 0 ? (long)wait : 0);
            if (stopping) {
                done = 1;
            } else if (publisher_txn_now_ms() >= b->recreate_at_ms) {
                if (publisher_txn_producer_create(b) == 0)
                    publisher_txn_set_state(b, PUBLISHER_TXN_INIT);
                else
                    b->recreate_at_ms = publisher_txn_now_ms() + PUBLISHER_TXN_BACKOFF_MS;
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
            if (b->state == PUBLISHER_TXN_INIT)
                publisher_txn_step_init(b);
            else
                publisher_txn_step_resume(b);
            publisher_txn_fail_queued(b, "kafka transaction not available", 0);
            break;
        case PUBLISHER_TXN_READY:
            done = publisher_txn_step_ready(b);
            break;
        }
    }
    publisher_txn_set_state(b, b->rk ? PUBLISHER_TXN_INIT : PUBLISHER_TXN_NO_PRODUCER);
    publisher_txn_fail_queued(b, "shutting down", 0);
    return NULL;
}

/* ---- public API ------------------------------------------------------------ */

struct publisher_batcher *publisher_batcher_create(const struct publisher_batcher_settings *s,
                                                   char *err, size_t errlen) {
    struct publisher_batcher *b = NULL;
    if (!s->subs || s->subs->n == 0 || s->max_batch == 0 || s->queue_capacity == 0) {
        snprintf(err, errlen, "txn batcher: bad settings");
        return NULL;
    }
    rd_kafka_conf_t *probe = publisher_txn_conf(s, err, errlen); /* fail fast on bad config */
    if (!probe)
        return NULL;
    rd_kafka_conf_destroy(probe);

    b = calloc(1, sizeof *b);
    if (!b)
        goto oom;
    b->set = *s;
    b->queue = publisher_queue_create(s->queue_capacity);
    b->batch = calloc(s->max_batch, sizeof *b->batch);
    if (!b->queue || !b->batch)
        goto oom;
    atomic_init(&b->accepting, 0);
    atomic_init(&b->initialized, 0);
    atomic_init(&b->last_failed, 0);
    atomic_init(&b->stopping, 0);
    atomic_init(&b->stop_deadline_ms, 0);
    b->state = PUBLISHER_TXN_NO_PRODUCER;
    b->recreate_at_ms = 0;
    if (pthread_create(&b->thread, NULL, publisher_txn_main, b) != 0) {
        snprintf(err, errlen, "txn batcher: cannot start the kafka thread");
        goto fail;
    }
    b->started = 1;
    return b;
oom:
    snprintf(err, errlen, "txn batcher: out of memory");
fail:
    if (b) {
        publisher_queue_destroy(b->queue);
        free(b->batch);
        free(b);
    }
    return NULL;
}

int publisher_batcher_submit(struct publisher_batcher *b, struct publisher_request *req,
                             const char **why) {
    if (!atomic_load(&b->accepting)) {
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

int publisher_batcher_ready(void *batcher, struct strbuf *why) {
    struct publisher_batcher *b = batcher;
    if (!atomic_load(&b->initialized)) {
        strbuf_puts(why, "kafka producer not initialised (init_transactions)");
        return 0;
    }
    if (!atomic_load(&b->accepting)) {
        strbuf_puts(why, "kafka transaction being recovered");
        return 0;
    }
    if (atomic_load(&b->last_failed)) {
        strbuf_puts(why, "last kafka transaction failed");
        return 0;
    }
    return 1;
}

void publisher_batcher_stop(struct publisher_batcher *b, long deadline_ms) {
    if (!b->started)
        return;
    atomic_store(&b->stop_deadline_ms, publisher_txn_now_ms() + deadline_ms);
    atomic_store(&b->stopping, 1);
    publisher_queue_close(b->queue);
    pthread_join(b->thread, NULL);
    b->started = 0;
}

void publisher_batcher_destroy(struct publisher_batcher *b) {
    if (!b)
        return;
    publisher_batcher_stop(b, 0);
    publisher_txn_producer_destroy(b);
    publisher_queue_destroy(b->queue);
    free(b->batch);
    free(b);
}
