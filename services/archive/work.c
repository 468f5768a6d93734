/* work: decode -> render -> PUT -> finish for each record, with retries and
 * dead letters (see work.h and consumer.h). */
#include "work.h"

#include "batch.h"
#include "classify.h"
#include "dlq.h"
#include "kafka_anchor.h"
#include "log.h"
#include "metrics.h"
#include "object.h"
#include "order_event.h"
#include "stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARCHIVE_DOC_LIMIT (1u << 20)     /* one structured document */
#define ARCHIVE_BATCH_LIMIT (256u << 20) /* one NDJSON batch */

int64_t archive_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift32: jitter only, not security */
static uint32_t archive_work_random(struct archive_work *w) {
    uint32_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rng = x;
    return x;
}

static int64_t archive_work_delay(struct archive_work *w, uint32_t attempt) {
    return backoff_delay_ms(&w->backoff, attempt, archive_work_random(w));
}

static void archive_work_count(struct metrics_counter *c, const char *label) {
    const char *v[] = {label};
    metrics_counter_inc(c, v);
}

int archive_work_init(struct archive_work *w, const struct archive_config *conf,
                      struct archive_stats *stats) {
    memset(w, 0, sizeof *w);
    w->conf = conf;
    w->stats = stats;
    w->backoff.base_ms = (uint32_t)conf->retry_base_ms;
    w->backoff.cap_ms = (uint32_t)conf->retry_cap_ms;
    w->rng = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)w ^ 0x9e3779b9u;
    if (!w->rng)
        w->rng = 1;
    atomic_init(&w->failing_parts, 0);
    w->tracker = archive_tracker_create();
    return w->tracker ? 0 : -1;
}

/* ---- records ------------------------------------------------------------ */

static void archive_rec_free(struct archive_rec *r) {
    if (!r)
        return;
    rd_kafka_message_destroy(r->msg);
    strbuf_release(&r->doc);
    free(r->dlq_error);
    free(r);
}

/* A record is finished: its offset may be committed. */
static void archive_rec_finish(struct archive_work *w, struct archive_rec *r) {
    int rc = archive_tracker_done(w->tracker, r->partition, r->epoch, r->offset);
    if (rc < 0)
        LOG_ERROR("offset %" PRId64 " of partition %" PRId32 " finished but not tracked", r->offset,
                  r->partition);
    else if (rc > 0)
        LOG_DEBUG("offset %" PRId64 " of partition %" PRId32 " finished after its log was "
                  "rewound: not committed",
                  r->offset, r->partition);
    w->held--;
    archive_rec_free(r);
}

static void archive_rec_log_context(const struct archive_rec *r) {
    log_context_set(NULL, r->trace_id[0] ? r->trace_id : NULL);
}

/* Dead-letters r (then finishes it); on failure keeps it on the poison list
 * to try again: a DLQ outage is not a reason to move on. */
static void archive_rec_dead_letter(struct archive_work *w, struct archive_rec *r,
                                    const char *reason, const char *error, uint32_t attempts) {
    char err[512];
    archive_rec_log_context(r);
    if (dlq_publish(w->producer, r->msg, reason, error, attempts, (int)w->conf->dlq_timeout_ms, err,
                    sizeof err) == 0) {
        LOG_WARN("dead-lettered offset %" PRId64 " of partition %" PRId32 " (%s after %" PRIu32
                 " attempts): %s",
                 r->offset, r->partition, reason, attempts, error);
        metrics_child_inc(w->stats->c.dlq_ok);
        metrics_child_inc(w->stats->c.dead_lettered);
        log_context_clear();
        archive_rec_finish(w, r);
        return;
    }
    metrics_child_inc(w->stats->c.dlq_error);
    LOG_WARN("dead letter of offset %" PRId64 " of partition %" PRId32 " not acknowledged: %s",
             r->offset, r->partition, err);
    log_context_clear();
    if (r->dlq_reason != reason || !r->dlq_error || strcmp(r->dlq_error, error) != 0) {
        char *copy = strdup(error);
        if (copy) {
            free(r->dlq_error);
            r->dlq_error = copy;
        }
    }
    r->dlq_reason = reason;
    r->dlq_attempts = attempts;
    r->retry_at_ms = archive_now_ms() + archive_work_delay(w, 1);
    archive_work_count(w->stats->c.retries, "dlq");
    r->next = w->poison;
    w->poison = r;
}

/* ---- uploads ------------------------------------------------------------ */

static void archive_upload_free(struct archive_upload *u) {
    if (!u)
        return;
    strbuf_release(&u->body);
    free(u->recs);
    free(u);
}

static void archive_upload_unlink(struct archive_work *w, struct archive_upload *u) {
    for (struct archive_upload **pp = &w->uploads; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            return;
        }
}

static void archive_work_set_failing(struct archive_work *w, struct archive_part *p, int delta) {
    size_t before = p->n_failing;
    p->n_failing = (size_t)((long)p->n_failing + delta);
    if (!before && p->n_failing) {
        atomic_fetch_add(&w->failing_parts, 1);
        metrics_child_add(w->stats->c.paused, 1);
    } else if (before && !p->n_failing) {
        atomic_fetch_sub(&w->failing_parts, 1);
        metrics_child_sub(w->stats->c.paused, 1);
    }
}

static void archive_upload_result(struct archive_work *w, struct archive_upload *u,
                                  const struct s3_result *res, double seconds);

/* Starts (or restarts) the PUT of u; a failure to start is a result. */
static void archive_upload_start(struct archive_work *w, struct archive_upload *u) {
    struct s3_result res;
    u->retry_at_ms = 0;
    if (archive_s3put_start(w->s3, u->key, u->body.data ? u->body.data : "", u->body.len, u,
                            &res) != 0)
        archive_upload_result(w, u, &res, 0);
}

/* Finishes u's records (stored) and frees it. */
static void archive_upload_stored(struct archive_work *w, struct archive_upload *u) {
    struct archive_part *p = archive_work_part(w, u->partition);
    if (p && p->batch == u) {
        p->batch = NULL;
        /* a batch of a log rewound since says nothing about the new one */
        if (u->recs[u->nrecs - 1]->epoch == archive_tracker_epoch(w->tracker, u->partition))
            p->batch_last_offset = u->recs[u->nrecs - 1]->offset;
    }
    metrics_child_observe(w->stats->c.batch_size, (double)u->nrecs);
    for (size_t i = 0; i < u->nrecs; i++) {
        metrics_child_inc(w->stats->c.stored);
        archive_rec_finish(w, u->recs[i]);
    }
    u->nrecs = 0;
    archive_upload_free(u);
}

static void archive_upload_result(struct archive_work *w, struct archive_upload *u,
                                  const struct s3_result *res, double seconds) {
    enum archive_outcome o = archive_classify_put(res);
    struct archive_part *p = archive_work_part(w, u->partition);

    if (seconds > 0)
        consumer_stats_write(&w->stats->c, archive_outcome_name(o), seconds);
    if (u->transient && o != ARCHIVE_OUTCOME_TRANSIENT && p)
        archive_work_set_failing(w, p, -1);
    archive_rec_log_context(u->recs[0]);
    if (o == ARCHIVE_OUTCOME_TRANSIENT) {
        metrics_child_inc(w->stats->c.transient);
        archive_work_count(w->stats->c.retries, "transient");
        if (!u->transient++ && p)
            archive_work_set_failing(w, p, 1);
        int64_t delay = archive_work_delay(w, u->transient);
        if (u->transient == 1 || log_enabled(LOG_LEVEL_DEBUG))
            LOG_WARN("PUT %s failed transiently (HTTP %ld %s: %s); partition %" PRId32
                     " paused, retry %" PRIu32 " in %" PRId64 " ms",
                     u->key, res->http_status, res->error_code, res->message, u->partition,
                     u->transient, delay);
        u->retry_at_ms = archive_now_ms() + delay;
        log_context_clear();
        return;
    }
    if (u->transient)
        LOG_INFO("PUT %s succeeded again after %" PRIu32 " transient failures", u->key,
                 u->transient);
    u->transient = 0;
    if (o == ARCHIVE_OUTCOME_OK) {
        LOG_DEBUG("stored %s (%zu records)", u->key, u->nrecs);
        log_context_clear();
        archive_upload_unlink(w, u);
        archive_upload_stored(w, u);
        return;
    }
    u->attempts++;
    if (archive_next_step(o, u->attempts, (uint32_t)w->conf->max_attempts) == ARCHIVE_STEP_RETRY) {
        archive_work_count(w->stats->c.retries, "permanent");
        LOG_WARN("PUT %s refused (HTTP %ld %s: %s), attempt %" PRIu32 " of %lld", u->key,
                 res->http_status, res->error_code, res->message, u->attempts,
                 w->conf->max_attempts);
        u->retry_at_ms = archive_now_ms() + archive_work_delay(w, u->attempts);
        log_context_clear();
        return;
    }
    log_context_clear();
    /* poison: every record of the upload goes to the DLQ */
    char error[DLQ_ERROR_MAX];
    snprintf(error, sizeof error, "PUT %s: HTTP %ld %s: %s", u->key, res->http_status,
             res->error_code, res->message);
    archive_upload_unlink(w, u);
    if (p && p->batch == u)
        p->batch = NULL;
    for (size_t i = 0; i < u->nrecs; i++)
        archive_rec_dead_letter(w, u->recs[i], DLQ_REASON_PERMANENT, error, u->attempts);
    u->nrecs = 0;
    archive_upload_free(u);
}

/* A new upload of `nrecs` records (array taken over) for key/body. */
static struct archive_upload *archive_upload_new(struct archive_work *w, const char *key,
                                                 struct archive_rec **recs, size_t nrecs,
                                                 size_t body_limit) {
    struct archive_upload *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    snprintf(u->key, sizeof u->key, "%s", key);
    strbuf_init(&u->body, body_limit);
    u->recs = recs;
    u->nrecs = nrecs;
    u->partition = recs[0]->partition;
    u->next = w->uploads;
    w->uploads = u;
    return u;
}

/* ---- one record ------------------------------------------------------- */

/* Schedules another decode attempt of r. */
static void archive_rec_retry(struct archive_work *w, struct archive_rec *r, uint32_t attempt) {
    r->retry_at_ms = archive_now_ms() + archive_work_delay(w, attempt ? attempt : 1);
    r->next = w->poison;
    w->poison = r;
}

/* Object mode: one upload for the record. 0, or -1 when out of memory. */
static int archive_rec_object(struct archive_work *w, struct archive_rec *r,
                              const struct order_event *ev) {
    char key[ARCHIVE_KEY_MAX];
    struct archive_rec **recs;
    struct archive_upload *u;
    if (archive_object_key(ev->time_unix_ms, ev->client_id, ev->order.order_id, key, sizeof key) <
        0)
        return -1; /* cannot happen for a valid event: ids are bounded */
    recs = malloc(sizeof *recs);
    if (!recs)
        return -1;
    recs[0] = r;
    u = archive_upload_new(w, key, recs, 1, ARCHIVE_DOC_LIMIT);
    if (!u) {
        free(recs);
        return -1;
    }
    if (archive_object_document(ev, &u->body) != 0) {
        archive_upload_unlink(w, u);
        u->nrecs = 0;
        archive_upload_free(u);
        return -1;
    }
    archive_upload_start(w, u);
    return 0;
}

/* Batch mode: the rendered record joins its partition's backlog. */
static int archive_rec_batch(struct archive_work *w, struct archive_rec *r,
                             const struct order_event *ev) {
    struct archive_part *p = archive_work_part(w, r->partition);
    strbuf_init(&r->doc, ARCHIVE_DOC_LIMIT);
    if (!p || archive_object_document(ev, &r->doc) != 0 || strbuf_putc(&r->doc, '\n') != 0) {
        strbuf_release(&r->doc);
        return -1;
    }
    r->next = NULL;
    if (p->backlog_tail)
        p->backlog_tail->next = r;
    else
        p->backlog = r;
    p->backlog_tail = r;
    p->backlog_n++;
    return 0;
}

/* Decodes r and hands it on; poison is retried, then dead-lettered. */
static void archive_rec_process(struct archive_work *w, struct archive_rec *r) {
    struct order_event ev;
    char why[DLQ_ERROR_MAX];
    enum order_event_status st = order_event_decode(r->msg, &ev, why, sizeof why);
    int rc;

    if (st == ORDER_EVENT_OK) {
        if (ev.traceparent[0] && strlen(ev.traceparent) >= 35)
            snprintf(r->trace_id, sizeof r->trace_id, "%.32s", ev.traceparent + 3);
        rc = w->conf->mode == ARCHIVE_MODE_BATCH ? archive_rec_batch(w, r, &ev)
                                                 : archive_rec_object(w, r, &ev);
        order_event_release(&ev);
        if (rc != 0) {
            LOG_WARN("out of memory rendering offset %" PRId64 "; retrying", r->offset);
            archive_rec_retry(w, r, 1);
        }
        return;
    }
    if (st == ORDER_EVENT_NO_MEMORY) {
        archive_rec_retry(w, r, 1);
        return;
    }
    r->attempts++;
    if (r->attempts >= (uint32_t)w->conf->max_attempts) {
        archive_rec_dead_letter(w, r, order_event_status_reason(st), why, r->attempts);
        return;
    }
    LOG_WARN("offset %" PRId64 " of partition %" PRId32 " is %s (attempt %" PRIu32 " of %lld): %s",
             r->offset, r->partition, order_event_status_reason(st), r->attempts,
             w->conf->max_attempts, why);
    archive_work_count(w->stats->c.retries, "poison");
    archive_rec_retry(w, r, r->attempts);
}

void archive_work_message(struct archive_work *w, rd_kafka_message_t *m) {
    struct archive_rec *r;
    uint32_t epoch;
    if (!archive_work_part(w, m->partition)) {
        rd_kafka_message_destroy(m); /* from a partition revoked meanwhile */
        return;
    }
    if (archive_tracker_add(w->tracker, m->partition, m->offset, kafka_anchor_of(m), &epoch) != 0) {
        LOG_WARN("dropping offset %" PRId64 " of partition %" PRId32 ": already held or no memory",
                 m->offset, m->partition);
        rd_kafka_message_destroy(m);
        return;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        /* tracked but unfinishable: nothing later is committed, and the
         * next owner of the partition gets it again */
        LOG_ERROR("out of memory holding offset %" PRId64, m->offset);
        rd_kafka_message_destroy(m);
        return;
    }
    r->msg = m;
    r->partition = m->partition;
    r->offset = m->offset;
    r->epoch = epoch;
    r->arrived_ms = archive_now_ms();
    w->held++;
    archive_rec_process(w, r);
}

/* ---- batches ------------------------------------------------------------ */

/* Seals the partition's next batch when it is full or old enough, and the
 * previous one is committed (at most one stored-but-uncommitted batch). */
static void archive_work_seal(struct archive_work *w, struct archive_part *p, int64_t now) {
    char key[512];
    struct archive_rec **recs;
    struct archive_upload *u;
    size_t n;

    if (p->batch || !p->backlog || !archive_batch_may_seal(p->batch_last_offset, p->committed))
        return;
    n = archive_batch_due(p->backlog_n, (size_t)w->conf->batch_max, now - p->backlog->arrived_ms,
                          w->conf->batch_age_ms, w->draining);
    if (!n)
        return;
    if (archive_batch_key(w->conf->topic, p->partition, p->backlog->offset,
                          kafka_anchor_of(p->backlog->msg), key, sizeof key) < 0 ||
        !(recs = malloc(n * sizeof *recs)))
        return; /* retried on the next step */
    for (size_t i = 0; i < n; i++) {
        recs[i] = p->backlog;
        p->backlog = p->backlog->next;
        recs[i]->next = NULL;
    }
    p->backlog_n -= n;
    if (!p->backlog)
        p->backlog_tail = NULL;
    u = archive_upload_new(w, key, recs, n, ARCHIVE_BATCH_LIMIT);
    if (!u) {
        /* put them back in front, in order */
        for (size_t i = n; i-- > 0;) {
            recs[i]->next = p->backlog;
            p->backlog = recs[i];
            if (!p->backlog_tail)
                p->backlog_tail = recs[i];
        }
        p->backlog_n += n;
        free(recs);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (strbuf_append(&u->body, recs[i]->doc.data, recs[i]->doc.len) != 0)
            LOG_ERROR("batch %s exceeds %u bytes", key, ARCHIVE_BATCH_LIMIT);
    p->batch = u;
    archive_upload_start(w, u);
}

/* ---- the loop's steps ------------------------------------------------- */

void archive_work_step(struct archive_work *w) {
    void *tag;
    struct s3_result res;
    double seconds;
    int64_t now;

    while (archive_s3put_next_done(w->s3, &tag, &res, &seconds) == 1)
        archive_upload_result(w, tag, &res, seconds);

    now = archive_now_ms();
    for (struct archive_upload *u = w->uploads, *next; u; u = next) {
        next = u->next; /* a failed start may free u */
        if (u->retry_at_ms && now >= u->retry_at_ms)
            archive_upload_start(w, u);
    }

    /* poison records due again: take the due ones off the list first, as
     * processing may put them back */
    struct archive_rec *due = NULL, **pp = &w->poison;
    while (*pp) {
        struct archive_rec *r = *pp;
        if (now >= r->retry_at_ms) {
            *pp = r->next;
            r->next = due;
            due = r;
        } else {
            pp = &r->next;
        }
    }
    while (due) {
        struct archive_rec *r = due;
        due = r->next;
        r->next = NULL;
        if (r->dlq_reason)
            archive_rec_dead_letter(w, r, r->dlq_reason, r->dlq_error ? r->dlq_error : "",
                                    r->dlq_attempts);
        else
            archive_rec_process(w, r);
    }

    if (w->conf->mode == ARCHIVE_MODE_BATCH)
        for (size_t i = 0; i < w->nparts; i++)
            archive_work_seal(w, &w->parts[i], now);

    metrics_child_set(w->stats->puts_in_flight, (double)archive_s3put_in_flight(w->s3));
    metrics_child_set(w->stats->c.inflight, (double)w->held);
}

int archive_work_next_timer_ms(const struct archive_work *w, int cap) {
    int64_t now = archive_now_ms(), next = now + cap;
    for (const struct archive_upload *u = w->uploads; u; u = u->next)
        if (u->retry_at_ms && u->retry_at_ms < next)
            next = u->retry_at_ms;
    for (const struct archive_rec *r = w->poison; r; r = r->next)
        if (r->retry_at_ms < next)
            next = r->retry_at_ms;
    if (w->conf->mode == ARCHIVE_MODE_BATCH)
        for (size_t i = 0; i < w->nparts; i++)
            if (w->parts[i].backlog &&
                w->parts[i].backlog->arrived_ms + w->conf->batch_age_ms < next)
                next = w->parts[i].backlog->arrived_ms + w->conf->batch_age_ms;
    return next <= now ? 0 : (int)(next - now);
}

size_t archive_work_capacity(const struct archive_work *w) {
    size_t cap = (size_t)w->conf->max_in_flight;
    if (w->conf->mode == ARCHIVE_MODE_BATCH)
        cap = 2 * (size_t)w->conf->batch_max * (w->nparts ? w->nparts : 1);
    return w->held >= cap ? 0 : cap - w->held;
}

int archive_work_busy(const struct archive_work *w) {
    if (archive_s3put_in_flight(w->s3) > 0)
        return 1;
    if (w->conf->mode == ARCHIVE_MODE_BATCH)
        for (size_t i = 0; i < w->nparts; i++) {
            const struct archive_part *p = &w->parts[i];
            if (p->backlog && !p->batch &&
                archive_batch_may_seal(p->batch_last_offset, p->committed))
                return 1;
        }
    return 0;
}
