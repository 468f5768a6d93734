/* consumer: poll, batch, write to Postgres exactly once, dead-letter poison
 * (see consumer.h for the failure model). */
#include "consumer.h"

#include "batch.h"
#include "consumer_stats.h"
#include "dlq.h"
#include "errmsg.h"
#include "kafka_anchor.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BILLING_POLL_MAX_MS 100    /* bounds how late a stop or a retry is noticed */
#define BILLING_KAFKA_CALL_MS 5000 /* seek, committed-offset lookup */
#define BILLING_PROBE_MS 2000      /* idle: longest time without a word from Postgres */

enum billing_part_state {
    BILLING_PART_LOAD = 0, /* assigned, paused, offset to be read from Postgres */
    BILLING_PART_VERIFY,   /* sought to the anchor record, which must match */
    BILLING_PART_ACTIVE,   /* positioned; consuming unless the consumer is paused */
};

struct billing_part {
    int32_t partition;
    enum billing_part_state state;
    int64_t stored;     /* next_offset in Postgres, or BILLING_PG_NO_OFFSET */
    int64_t next_fetch; /* offset after the last record held (may be logical);
                           VERIFY: the anchor record's offset */
    uint64_t anchor;    /* VERIFY: the stored anchor of that record */
};

enum billing_ready_state {
    BILLING_STARTING = 0,
    BILLING_READY = 1,
    BILLING_UNAVAILABLE = 2,
};

struct billing_consumer {
    rd_kafka_t *rk;  /* the group member */
    rd_kafka_t *dlq; /* idempotent producer for dead letters */
    char *topic, *group;
    struct billing_pg *pg;
    struct consumer_stats *st;
    struct billing_batch batch;
    const struct order_event **evs; /* batch_max slots, for one write */
    struct billing_pg_offset *off;  /* batch_max slots */
    struct billing_batch_offset *boff;
    uint32_t max_attempts;
    struct backoff_policy retry;
    long dlq_timeout_ms;
    struct billing_part *parts;
    size_t nparts, capparts;
    int paused;        /* store unavailable: every partition paused */
    int isolate;       /* the batch is being retried row by row */
    int flush_now;     /* write the rest of a batch after a fence */
    uint32_t failures; /* consecutive transient failures */
    int64_t retry_at;  /* monotonic ms of the next recovery attempt */
    int64_t contact;   /* monotonic ms of the last good answer from Postgres */
    uint64_t rng;
    atomic_int ready;
    int closed;
};

static int64_t billing_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: jitter only, not security. */
static uint32_t billing_rand(struct billing_consumer *c) {
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (uint32_t)((c->rng * UINT64_C(2685821657736338717)) >> 32);
}

/* ---- partitions ----------------------------------------------------------- */

static struct billing_part *billing_part_find(struct billing_consumer *c, int32_t partition) {
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition)
            return &c->parts[i];
    return NULL;
}

static int billing_part_add(struct billing_consumer *c, int32_t partition) {
    struct billing_part *p = billing_part_find(c, partition);
    if (!p) {
        if (c->nparts == c->capparts) {
            size_t cap = c->capparts ? c->capparts * 2 : 16;
            struct billing_part *n = realloc(c->parts, cap * sizeof *n);
            if (!n)
                return -1;
            c->parts = n;
            c->capparts = cap;
        }
        p = &c->parts[c->nparts++];
    }
    p->partition = partition;
    p->state = BILLING_PART_LOAD;
    p->stored = BILLING_PG_NO_OFFSET;
    p->next_fetch = RD_KAFKA_OFFSET_INVALID;
    return 0;
}

static void billing_part_remove(struct billing_consumer *c, int32_t partition) {
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition) {
            c->parts[i] = c->parts[--c->nparts];
            return;
        }
}

/* A list of one partition of our topic, or NULL when out of memory. */
static rd_kafka_topic_partition_list_t *billing_list1(struct billing_consumer *c, int32_t partition,
                                                      int64_t offset) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (l)
        rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = offset;
    return l;
}

static void billing_pause_one(struct billing_consumer *c, int32_t partition) {
    rd_kafka_topic_partition_list_t *l = billing_list1(c, partition, RD_KAFKA_OFFSET_INVALID);
    if (l) {
        rd_kafka_pause_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Seeks the partitions of `l` to their offsets. Returns 0, or -1 with err
 * set (the request or one partition failed). */
static int billing_seek(struct billing_consumer *c, rd_kafka_topic_partition_list_t *l, char *err,
                        size_t errlen) {
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, BILLING_KAFKA_CALL_MS);
    if (e) {
        errmsg_set(err, errlen, "seek: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err) {
            errmsg_set(err, errlen, "seek of %s [%" PRId32 "]: %s", c->topic, l->elems[i].partition,
                       rd_kafka_err2str(l->elems[i].err));
            return -1;
        }
    return 0;
}

/* Seeks every positioned partition to the record after the last one held
 * (VERIFY: to the anchor record), then resumes it: whatever was fetched while paused was dropped.
 * Returns 0 or -1 (seek failed: stay paused and retry). */
static int billing_seek_resume(struct billing_consumer *c) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->nparts + 1);
    int rc = 0;
    if (!l)
        return -1;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].state != BILLING_PART_LOAD)
            rd_kafka_topic_partition_list_add(l, c->topic, c->parts[i].partition)->offset =
                c->parts[i].next_fetch;
    if (l->cnt > 0) {
        char err[256];
        rc = billing_seek(c, l, err, sizeof err);
        if (rc == 0)
            rd_kafka_resume_partitions(c->rk, l);
        else
            LOG_WARN("%s", err);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* ---- readiness and failure states -------------------------------------- */

int billing_consumer_ready(void *ctx, struct strbuf *why) {
    struct billing_consumer *c = ctx;
    switch (atomic_load(&c->ready)) {
    case BILLING_READY:
        return 1;
    case BILLING_UNAVAILABLE:
        strbuf_puts(why, "postgres unavailable: partitions paused, retrying");
        return 0;
    default:
        strbuf_puts(why, "starting: postgres not reached yet");
        return 0;
    }
}

static void billing_set_ready(struct billing_consumer *c, int state) {
    atomic_store(&c->ready, state);
    metrics_child_set(c->st->ready, state == BILLING_READY ? 1 : 0);
    metrics_child_set(c->st->paused, c->paused ? (double)c->nparts : 0);
}

/* A store or the DLQ is unavailable: pause everything, keep the batch, and
 * schedule a retry after a jittered, capped backoff. */
static void billing_enter_paused(struct billing_consumer *c, const char *what, const char *err) {
    c->failures++;
    uint32_t delay = backoff_delay_ms(&c->retry, c->failures, billing_rand(c));
    c->retry_at = billing_now_ms() + delay;
    metrics_child_inc(c->st->transient);
    consumer_stats_retry(c->st, "transient");
    LOG_WARN("%s failed, partitions paused, retry %" PRIu32 " in %" PRIu32 " ms: %s", what,
             c->failures, delay, err);
    if (!c->paused) {
        rd_kafka_topic_partition_list_t *l = NULL;
        if (rd_kafka_assignment(c->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
            rd_kafka_pause_partitions(c->rk, l);
            rd_kafka_topic_partition_list_destroy(l);
        }
        c->paused = 1;
    }
    billing_set_ready(c, BILLING_UNAVAILABLE);
}

/* Postgres took a write (or a connection): resume if paused. */
static void billing_on_success(struct billing_consumer *c) {
    if (c->paused) {
        if (billing_seek_resume(c) != 0) {
            billing_enter_paused(c, "resume", "seek failed");
            return;
        }
        if (c->failures > 0)
            LOG_INFO("postgres available again after %" PRIu32 " failed attempts: resuming",
                     c->failures);
        else
            LOG_INFO("postgres reached: consuming");
        c->paused = 0;
    }
    c->failures = 0;
    c->contact = billing_now_ms();
    billing_set_ready(c, BILLING_READY);
}

/* Idle (nothing to write): no write would notice Postgres going away, so a
 * bounded round trip (the offsets query, statement_timeout) checks it and
 * readiness follows a store outage even when no record arrives. */
static void billing_probe(struct billing_consumer *c) {
    char err[512];
    if (billing_pg_load_offsets(c->pg, c->group, c->topic, NULL, 0, NULL, err, sizeof err) !=
        BILLING_PG_OK) {
        billing_enter_paused(c, "postgres probe", err);
        return;
    }
    billing_on_success(c);
}

/* The stored offset of `partition` moved under us: drop what we hold of it
 * and reload it from Postgres. */
static void billing_fenced(struct billing_consumer *c, int32_t partition, const char *err) {
    size_t dropped = billing_batch_drop_partition(&c->batch, partition);
    struct billing_part *p = billing_part_find(c, partition);
    consumer_stats_retry(c->st, "fenced");
    LOG_WARN("fenced on %s [%" PRId32 "], %zu records dropped, reloading its offset: %s", c->topic,
             partition, dropped, err);
    if (p) {
        p->state = BILLING_PART_LOAD;
        billing_pause_one(c, partition);
    }
    c->flush_now = c->batch.n > 0;
}

/* ---- offsets from Postgres, checked against the log ------------------------ */

/* Where a partition starts after billing_load (kafka_anchor.h): at its
 * stored offset, at the anchor record before it (VERIFY), or, when the
 * stored offset is not inside the log, at the log start (reason set). */
struct billing_start {
    int64_t pos;
    enum billing_part_state state;
    const char *reason; /* NULL, or the offset_resets_total reason */
    int64_t low, high;
};

/* Re-reading from the log start: the order key drops what was stored
 * already, so a wrong position costs duplicates, never skipped orders. */
static void billing_log_reset(struct billing_consumer *c, int32_t partition, const char *reason,
                              int64_t at, const char *detail) {
    consumer_stats_offset_reset(c->st, reason);
    LOG_ERROR("%s [%" PRId32 "] position %" PRId64 " is not valid for the log (%s: %s): "
              "re-reading from the log start; orders already stored count as duplicates",
              c->topic, partition, at, reason, detail);
}

/* Decides where a partition with a stored offset starts. Returns 0, or -1
 * when the log's bounds are unknown (err set: transient, retried). */
static int billing_plan_start(struct billing_consumer *c, int32_t partition,
                              const struct billing_pg_stored *st, struct billing_start *out,
                              char *err, size_t errlen) {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(c->rk, c->topic, partition, &out->low,
                                                             &out->high, BILLING_KAFKA_CALL_MS);
    if (e) {
        errmsg_set(err, errlen, "log bounds of [%" PRId32 "]: %s", partition, rd_kafka_err2str(e));
        return -1;
    }
    out->reason = kafka_position_reason(kafka_position_check(st->next, out->low, out->high));
    if (out->reason) {
        out->pos = RD_KAFKA_OFFSET_BEGINNING;
        out->state = BILLING_PART_ACTIVE;
    } else if (st->has_anchor && st->next - 1 >= out->low) {
        out->pos = st->next - 1; /* read the anchor record again */
        out->state = BILLING_PART_VERIFY;
    } else {
        out->pos = st->next;
        out->state = BILLING_PART_ACTIVE;
    }
    return 0;
}

/* Positions every LOAD partition at its offset stored in Postgres (none:
 * the group's committed offset, else the earliest), checked against the
 * log. Returns 0, or -1 with err set (transient). */
static int billing_load(struct billing_consumer *c, char *err, size_t errlen) {
    size_t n = 0;
    int rc = -1;
    for (size_t i = 0; i < c->nparts; i++)
        n += c->parts[i].state == BILLING_PART_LOAD;
    if (n == 0)
        return 0;
    int32_t *ids = calloc(n, sizeof *ids);
    struct billing_pg_stored *stored = calloc(n, sizeof *stored);
    struct billing_start *start = calloc(n, sizeof *start);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_new((int)n);
    if (!ids || !stored || !start || !l || !committed) {
        errmsg_set(err, errlen, "out of memory");
        goto cleanup;
    }
    n = 0;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].state == BILLING_PART_LOAD)
            ids[n++] = c->parts[i].partition;
    if (billing_pg_load_offsets(c->pg, c->group, c->topic, ids, n, stored, err, errlen) !=
        BILLING_PG_OK)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (stored[i].next == BILLING_PG_NO_OFFSET)
            rd_kafka_topic_partition_list_add(committed, c->topic, ids[i]);
    if (committed->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_committed(c->rk, committed, BILLING_KAFKA_CALL_MS);
        if (e) {
            errmsg_set(err, errlen, "committed offsets: %s", rd_kafka_err2str(e));
            goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (stored[i].next == BILLING_PG_NO_OFFSET) {
            /* Kafka's committed offset is checked by the broker: out of
             * range, the fetch fails with AUTO_OFFSET_RESET (handled). */
            rd_kafka_topic_partition_t *t =
                rd_kafka_topic_partition_list_find(committed, c->topic, ids[i]);
            start[i].pos = t && !t->err && t->offset >= 0 ? t->offset : RD_KAFKA_OFFSET_BEGINNING;
            start[i].state = BILLING_PART_ACTIVE;
        } else if (billing_plan_start(c, ids[i], &stored[i], &start[i], err, errlen) != 0) {
            goto cleanup;
        }
        rd_kafka_topic_partition_list_add(l, c->topic, ids[i])->offset = start[i].pos;
    }
    if (billing_seek(c, l, err, errlen) != 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        struct billing_part *p = billing_part_find(c, ids[i]);
        p->state = start[i].state;
        p->stored = stored[i].next;
        p->next_fetch = start[i].pos;
        p->anchor = stored[i].anchor;
        if (start[i].reason) {
            char detail[96];
            snprintf(detail, sizeof detail, "the log holds offsets %" PRId64 " to %" PRId64,
                     start[i].low, start[i].high);
            billing_log_reset(c, ids[i], start[i].reason, stored[i].next, detail);
        }
        LOG_INFO("%s [%" PRId32 "] starts at offset %" PRId64 " (%s)", c->topic, ids[i],
                 p->next_fetch,
                 start[i].reason                          ? "log start"
                 : p->state == BILLING_PART_VERIFY        ? "the anchor before the stored offset"
                 : stored[i].next != BILLING_PG_NO_OFFSET ? "stored in postgres"
                                                          : "no stored offset");
    }
    if (!c->paused)
        rd_kafka_resume_partitions(c->rk, l);
    rc = 0;

cleanup:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    free(ids);
    free(stored);
    free(start);
    return rc;
}

/* Seeks one partition; 0, or -1 (logged). */
static int billing_seek_one(struct billing_consumer *c, int32_t partition, int64_t offset) {
    char err[256];
    rd_kafka_topic_partition_list_t *l = billing_list1(c, partition, offset);
    int rc = l ? billing_seek(c, l, err, sizeof err) : -1;
    if (rc != 0)
        LOG_WARN("%s", l ? err : "seek: out of memory");
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* Back to LOAD: paused until billing_load positions it again. */
static void billing_reload(struct billing_consumer *c, struct billing_part *p) {
    p->state = BILLING_PART_LOAD;
    billing_pause_one(c, p->partition);
}

/* VERIFY: `m` is the first record (or end of partition) since the seek to
 * the anchor. The same record: consuming resumes after it. Another one (or
 * none): the log is not the one the stored offset counts in. */
static void billing_verify(struct billing_consumer *c, struct billing_part *p,
                           const rd_kafka_message_t *m) {
    if (!m->err && m->offset == p->next_fetch && kafka_anchor_of(m) == p->anchor) {
        p->state = BILLING_PART_ACTIVE;
        p->next_fetch = m->offset + 1;
        LOG_DEBUG("%s [%" PRId32 "] anchor at offset %" PRId64 " verified", c->topic, p->partition,
                  m->offset);
        return;
    }
    char detail[128];
    snprintf(detail, sizeof detail,
             "offset %" PRId64 " holds another record than the one consumed (%s %" PRId64 ")",
             p->next_fetch, m->err ? "end of partition at" : "read offset", m->offset);
    if (billing_seek_one(c, p->partition, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        billing_reload(c, p); /* checked again, from Postgres */
        return;
    }
    billing_log_reset(c, p->partition, KAFKA_RESET_ANCHOR, p->next_fetch + 1, detail);
    p->state = BILLING_PART_ACTIVE;
    p->next_fetch = RD_KAFKA_OFFSET_BEGINNING;
}

/* librdkafka found the fetch position outside the log (auto.offset.reset is
 * "error", so it stops instead of jumping silently) and stopped fetching the
 * partition, which a seek cannot restart: it is assigned again (paused).
 * What is held is written, then billing_load positions the partition from
 * Postgres, checked against the log. */
static void billing_out_of_range(struct billing_consumer *c, struct billing_part *p,
                                 const rd_kafka_message_t *m) {
    LOG_WARN("%s [%" PRId32 "] fetch position %" PRId64 " is outside the log: %s", c->topic,
             m->partition, m->offset, rd_kafka_message_errstr(m));
    rd_kafka_topic_partition_list_t *l = billing_list1(c, p->partition, RD_KAFKA_OFFSET_BEGINNING);
    rd_kafka_error_t *e = l ? rd_kafka_incremental_unassign(c->rk, l) : NULL;
    if (!e && l)
        e = rd_kafka_incremental_assign(c->rk, l);
    if (e) {
        LOG_ERROR("assigning %s [%" PRId32 "] again failed: %s", c->topic, p->partition,
                  rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    billing_reload(c, p);
    c->flush_now = c->batch.n > 0;
}

/* ---- rebalance and statistics callbacks ---------------------------------- */

static void billing_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t *parts, void *opaque) {
    struct billing_consumer *c = opaque;
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Paused until billing_load seeks them to the Postgres offsets.
         * An explicit start: librdkafka must not look for a committed
         * offset itself (none found is an error with auto.offset.reset
         * "error", and billing decides where to start). */
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        e = rd_kafka_incremental_assign(rk, parts);
        if (!e) {
            rd_kafka_pause_partitions(rk, parts);
            for (int i = 0; i < parts->cnt; i++) {
                if (billing_part_add(c, parts->elems[i].partition) != 0 ||
                    consumer_stats_assigned(c->st, parts->elems[i].partition) != 0)
                    LOG_ERROR("out of memory tracking partition %" PRId32,
                              parts->elems[i].partition);
                LOG_INFO("assigned %s [%" PRId32 "]", parts->elems[i].topic,
                         parts->elems[i].partition);
            }
        }
    } else {
        /* Revoked or lost: whatever we hold of them is not ours to write;
         * the next owner reads them again from the Postgres offsets. */
        int lost = rd_kafka_assignment_lost(rk);
        for (int i = 0; i < parts->cnt; i++) {
            size_t dropped = billing_batch_drop_partition(&c->batch, parts->elems[i].partition);
            billing_part_remove(c, parts->elems[i].partition);
            consumer_stats_revoked(c->st, parts->elems[i].partition);
            LOG_INFO("%s %s [%" PRId32 "], %zu uncommitted records dropped",
                     lost ? "lost" : "revoked", parts->elems[i].topic, parts->elems[i].partition,
                     dropped);
        }
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            LOG_ERROR("rebalance error: %s", rd_kafka_err2str(err));
        e = rd_kafka_incremental_unassign(rk, parts);
    }
    if (e) {
        LOG_ERROR("incremental rebalance failed: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    metrics_child_set(c->st->inflight, (double)c->batch.n);
    metrics_child_set(c->st->paused, c->paused ? (double)c->nparts : 0);
}

static int billing_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    struct billing_consumer *c = opaque;
    (void)rk;
    consumer_stats_lag(c->st, json, len);
    return 0; /* librdkafka frees json */
}

/* ---- writing --------------------------------------------------------------- */

static void billing_trace_context(const struct billing_entry *e) {
    if (e->decoded && e->ev.traceparent[0]) {
        char trace[33];
        memcpy(trace, e->ev.traceparent + 3, 32);
        trace[32] = '\0';
        log_context_set(NULL, trace);
    } else {
        log_context_clear();
    }
}

/* Dead-letters one POISON entry. Returns 0 (entry DONE) or -1 (not
 * acknowledged: transient, err set). */
static int billing_dead_letter(struct billing_consumer *c, struct billing_entry *e, char *err,
                               size_t errlen) {
    billing_trace_context(e);
    if (dlq_publish(c->dlq, e->msg, e->reason, e->why, e->attempts, (int)c->dlq_timeout_ms, err,
                    errlen) != 0) {
        metrics_child_inc(c->st->dlq_error);
        log_context_clear();
        return -1;
    }
    LOG_WARN("dead-lettered %s [%" PRId32 "] offset %" PRId64 " after %" PRIu32
             " attempts (%s): %s",
             c->topic, e->msg->partition, e->msg->offset, e->attempts, e->reason, e->why);
    log_context_clear();
    e->state = BILLING_ENTRY_DONE;
    metrics_child_inc(c->st->dlq_ok);
    metrics_child_inc(c->st->dead_lettered);
    return 0;
}

/* One Postgres write, timed. */
static enum billing_pg_result billing_write(struct billing_consumer *c, size_t nev, size_t noff,
                                            size_t *inserted, int32_t *fenced, char *err,
                                            size_t errlen) {
    int64_t t0 = billing_now_ms();
    enum billing_pg_result rc = billing_pg_write(c->pg, c->group, c->topic, c->evs, nev, c->off,
                                                 noff, inserted, fenced, err, errlen);
    const char *outcome = rc == BILLING_PG_OK              ? "ok"
                          : rc == BILLING_PG_ERR_PERMANENT ? "permanent"
                          : rc == BILLING_PG_ERR_FENCED    ? "fenced"
                                                           : "transient";
    consumer_stats_write(c->st, outcome, (double)(billing_now_ms() - t0) / 1000.0);
    return rc;
}

/* Fills c->off with the batch's offset moves that are not stored yet.
 * Returns their count. */
static size_t billing_offsets(struct billing_consumer *c) {
    size_t n = billing_batch_offsets(&c->batch, c->boff, c->batch.max), k = 0;
    for (size_t i = 0; i < n; i++) {
        struct billing_part *p = billing_part_find(c, c->boff[i].partition);
        if (!p || p->stored == c->boff[i].next)
            continue;
        c->off[k].partition = c->boff[i].partition;
        c->off[k].expected = p->stored;
        c->off[k].next = c->boff[i].next;
        c->off[k].anchor = kafka_anchor_of(c->boff[i].last);
        k++;
    }
    return k;
}

/* The batch is in Postgres: remember the offsets, tell Kafka (lag only),
 * empty the batch. */
static void billing_committed(struct billing_consumer *c, size_t noff) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)noff + 1);
    for (size_t i = 0; i < noff; i++) {
        struct billing_part *p = billing_part_find(c, c->off[i].partition);
        if (p)
            p->stored = c->off[i].next;
        if (l)
            rd_kafka_topic_partition_list_add(l, c->topic, c->off[i].partition)->offset =
                c->off[i].next;
    }
    if (l && l->cnt > 0)
        (void)rd_kafka_commit(c->rk, l, 1); /* async, best effort: never the truth */
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    metrics_child_observe(c->st->batch_size, (double)c->batch.n);
    billing_batch_clear(&c->batch);
    c->isolate = 0;
    c->flush_now = 0;
    metrics_child_set(c->st->inflight, 0);
    billing_on_success(c);
}

static void billing_count(struct billing_consumer *c, size_t nev, size_t inserted) {
    metrics_child_add(c->st->stored, (double)inserted);
    metrics_child_add(c->st->duplicate, (double)(nev - inserted));
}

/* Row by row: finds the rows Postgres refuses, dead-letters each after
 * max_attempts, stores the others, then the batch's last offsets. */
static void billing_isolate(struct billing_consumer *c) {
    char err[512];
    size_t inserted = 0;
    int32_t fenced = -1;
restart:
    for (size_t i = 0; i < c->batch.n; i++) {
        struct billing_entry *e = &c->batch.e[i];
        while (e->state != BILLING_ENTRY_DONE) {
            if (e->state == BILLING_ENTRY_POISON) {
                if (billing_dead_letter(c, e, err, sizeof err) != 0) {
                    billing_enter_paused(c, "dead letter", err);
                    return;
                }
                continue;
            }
            struct billing_part *p = billing_part_find(c, e->msg->partition);
            c->evs[0] = &e->ev;
            c->off[0].partition = e->msg->partition;
            c->off[0].expected = p ? p->stored : BILLING_PG_NO_OFFSET;
            c->off[0].next = e->msg->offset + 1;
            c->off[0].anchor = kafka_anchor_of(e->msg);
            billing_trace_context(e);
            enum billing_pg_result rc = billing_write(c, 1, 1, &inserted, &fenced, err, sizeof err);
            log_context_clear();
            if (rc == BILLING_PG_OK) {
                e->state = BILLING_ENTRY_DONE;
                if (p)
                    p->stored = c->off[0].next;
                billing_count(c, 1, inserted);
            } else if (rc == BILLING_PG_ERR_PERMANENT) {
                e->attempts++;
                consumer_stats_retry(c->st, "permanent");
                billing_trace_context(e);
                LOG_WARN("%s [%" PRId32 "] offset %" PRId64 " refused (attempt %" PRIu32
                         " of %" PRIu32 "): %s",
                         c->topic, e->msg->partition, e->msg->offset, e->attempts, c->max_attempts,
                         err);
                log_context_clear();
                if (e->attempts >= c->max_attempts) {
                    e->state = BILLING_ENTRY_POISON;
                    e->reason = DLQ_REASON_PERMANENT;
                    snprintf(e->why, sizeof e->why, "%s", err);
                }
            } else if (rc == BILLING_PG_ERR_FENCED) {
                billing_fenced(c, fenced, err);
                goto restart;
            } else {
                billing_enter_paused(c, "postgres write", err);
                return;
            }
        }
    }
    /* Every record is stored or dead-lettered: move the offsets past the
     * batch (dead letters at its end included). */
    size_t noff = billing_offsets(c);
    enum billing_pg_result rc =
        noff ? billing_write(c, 0, noff, NULL, &fenced, err, sizeof err) : BILLING_PG_OK;
    if (rc == BILLING_PG_OK)
        billing_committed(c, noff);
    else if (rc == BILLING_PG_ERR_FENCED)
        billing_fenced(c, fenced, err);
    else
        billing_enter_paused(c, "postgres offsets write", err);
}

/* Writes the batch: dead letters first (acknowledged before their offsets
 * can move), then every decoded row and the offsets in one transaction. */
static void billing_flush(struct billing_consumer *c) {
    char err[512];
    size_t inserted = 0, nev = 0;
    int32_t fenced = -1;
    c->flush_now = 0;
    if (c->batch.n == 0)
        return;
    if (!c->isolate) {
        for (size_t i = 0; i < c->batch.n; i++) {
            struct billing_entry *e = &c->batch.e[i];
            if (e->state == BILLING_ENTRY_POISON && billing_dead_letter(c, e, err, sizeof err)) {
                billing_enter_paused(c, "dead letter", err);
                return;
            }
            if (e->state == BILLING_ENTRY_PENDING)
                c->evs[nev++] = &e->ev;
        }
        size_t noff = billing_offsets(c);
        enum billing_pg_result rc =
            billing_write(c, nev, noff, &inserted, &fenced, err, sizeof err);
        if (rc == BILLING_PG_OK) {
            billing_count(c, nev, inserted);
            LOG_DEBUG("batch of %zu records committed (%zu new)", c->batch.n, inserted);
            billing_committed(c, noff);
            return;
        }
        if (rc == BILLING_PG_ERR_FENCED) {
            billing_fenced(c, fenced, err);
            return;
        }
        if (rc != BILLING_PG_ERR_PERMANENT) {
            billing_enter_paused(c, "postgres write", err);
            return;
        }
        LOG_WARN("batch of %zu records refused, retrying row by row: %s", c->batch.n, err);
        consumer_stats_retry(c->st, "permanent");
        c->isolate = 1;
    }
    billing_isolate(c);
}

/* While paused, at retry time: the batch, the offsets to load, or at least
 * a connection. */
static void billing_recover(struct billing_consumer *c) {
    char err[512];
    if (c->batch.n > 0) {
        billing_flush(c);
        return;
    }
    if (billing_load(c, err, sizeof err) != 0 ||
        billing_pg_connect(c->pg, err, sizeof err) != BILLING_PG_OK) {
        billing_enter_paused(c, "postgres", err);
        return;
    }
    billing_on_success(c);
}

/* ---- consuming ------------------------------------------------------------- */

/* Adds a record of an ACTIVE partition to the batch (taking m). */
static void billing_take(struct billing_consumer *c, struct billing_part *p, rd_kafka_message_t *m,
                         int64_t now) {
    struct billing_entry *e = billing_batch_add(&c->batch, m, now);
    if (!e) { /* never while unpaused (full batches are written first) */
        rd_kafka_message_destroy(m);
        billing_enter_paused(c, "batch", "batch full");
        return;
    }
    if (billing_batch_decode(e, c->max_attempts) != 0) {
        billing_batch_pop(&c->batch);
        billing_enter_paused(c, "decode", "out of memory");
        return;
    }
    p->next_fetch = m->offset + 1;
    billing_trace_context(e);
    if (e->state == BILLING_ENTRY_POISON)
        LOG_WARN("%s [%" PRId32 "] offset %" PRId64 " is poison (%s): %s", c->topic, m->partition,
                 m->offset, e->reason, e->why);
    else
        LOG_DEBUG("order %s/%s from %s [%" PRId32 "] offset %" PRId64, e->ev.client_id,
                  e->ev.order.order_id, c->topic, m->partition, m->offset);
    log_context_clear();
    metrics_child_set(c->st->inflight, (double)c->batch.n);
}

static void billing_on_message(struct billing_consumer *c, rd_kafka_message_t *m, int64_t now) {
    struct billing_part *p = m->rkt && !strcmp(rd_kafka_topic_name(m->rkt), c->topic)
                                 ? billing_part_find(c, m->partition)
                                 : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && p) {
        billing_out_of_range(c, p, m);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && p && p->state == BILLING_PART_VERIFY &&
               !c->paused) {
        billing_verify(c, p, m); /* the anchor record was not there */
    } else if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            LOG_WARN("kafka: %s", rd_kafka_message_errstr(m));
    } else if (!p || p->state == BILLING_PART_LOAD || c->paused ||
               (p->next_fetch >= 0 && m->offset < p->next_fetch)) {
        /* Fetched before a pause or seek: dropped; the seek on resume
         * fetches it again. */
    } else if (p->state == BILLING_PART_VERIFY) {
        billing_verify(c, p, m);
    } else {
        billing_take(c, p, m, now);
        return; /* m belongs to the batch now */
    }
    rd_kafka_message_destroy(m);
}

static long billing_poll_timeout(struct billing_consumer *c, int64_t now) {
    long t = BILLING_POLL_MAX_MS;
    if (c->paused) {
        long left = (long)(c->retry_at - now);
        t = left < t ? (left > 0 ? left : 0) : t;
    } else if (c->batch.n > 0) {
        long left = billing_batch_wait(&c->batch, now);
        t = left < t ? left : t;
    }
    return t;
}

int billing_consumer_run(struct billing_consumer *c, int (*stop)(void *ctx), void *ctx,
                         long drain_ms) {
    char err[512];
    while (!stop(ctx)) {
        int64_t now = billing_now_ms();
        if (c->paused) {
            if (now >= c->retry_at)
                billing_recover(c);
        } else {
            /* Held records are written before a partition is positioned
             * again (fenced, or its fetch position left the log). */
            if (c->flush_now)
                billing_flush(c);
            else if (billing_load(c, err, sizeof err) != 0)
                billing_enter_paused(c, "offset load", err);
            else if (billing_batch_ready(&c->batch, now))
                billing_flush(c);
            else if (c->batch.n == 0 && now - c->contact >= BILLING_PROBE_MS)
                billing_probe(c);
        }
        now = billing_now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, (int)billing_poll_timeout(c, now));
        if (m)
            billing_on_message(c, m, billing_now_ms());
    }
    /* Drain: one bounded attempt at the in-flight batch (statement timeout
     * bounds it); otherwise it is abandoned and redelivered. */
    if (c->batch.n > 0 && !c->paused && drain_ms > 0) {
        LOG_INFO("stopping: writing the in-flight batch of %zu records", c->batch.n);
        billing_flush(c);
    }
    if (c->batch.n > 0)
        LOG_INFO("stopping: %zu uncommitted records abandoned (redelivered later)", c->batch.n);
    billing_batch_clear(&c->batch);
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    c->closed = 1;
    if (e) {
        LOG_WARN("leaving the group: %s", rd_kafka_err2str(e));
        return -1;
    }
    LOG_INFO("left consumer group %s", c->group);
    return 0;
}

/* ---- life cycle -------------------------------------------------------------- */

static rd_kafka_t *billing_new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *err,
                                      size_t errlen) {
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof why);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        errmsg_set(err, errlen, "kafka: %s", why);
    }
    return rk; /* on success rd_kafka_new took conf over */
}

struct billing_consumer *billing_consumer_create(const struct billing_consumer_settings *s,
                                                 char *err, size_t errlen) {
    char interval[24];
    struct billing_consumer *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = NULL;
    if (!c) {
        errmsg_set(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&c->ready, BILLING_STARTING);
    c->pg = s->pg;
    c->st = s->stats;
    c->max_attempts = s->max_attempts ? s->max_attempts : 1;
    c->retry = s->retry;
    c->dlq_timeout_ms = s->dlq_timeout_ms;
    c->rng = (uint64_t)billing_now_ms() ^ ((uint64_t)getpid() << 32) ^ UINT64_C(0x9e3779b97f4a7c15);
    c->paused = 1; /* until Postgres answers once */
    c->topic = strdup(s->topic);
    c->group = strdup(s->group);
    c->evs = calloc(s->batch_max, sizeof *c->evs);
    c->off = calloc(s->batch_max, sizeof *c->off);
    c->boff = calloc(s->batch_max, sizeof *c->boff);
    if (!c->topic || !c->group || !c->evs || !c->off || !c->boff ||
        billing_batch_init(&c->batch, s->batch_max, s->batch_wait_ms, rd_kafka_message_destroy)) {
        errmsg_set(err, errlen, "out of memory");
        goto fail;
    }

    conf = kafka_conf_producer(s->kafka, NULL, err, errlen);
    if (!conf)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dlq_dr_msg_cb);
    c->dlq = billing_new_client(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!c->dlq)
        goto fail;

    conf = kafka_conf_consumer(s->kafka, s->group, err, errlen);
    if (!conf)
        goto fail;
    char why[256], session[24];
    snprintf(interval, sizeof interval, "%ld", s->stats_interval_ms);
    snprintf(session, sizeof session, "%ld", s->session_timeout_ms ? s->session_timeout_ms : 45000);
    if (rd_kafka_conf_set(conf, "statistics.interval.ms", interval, why, sizeof why) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "session.timeout.ms", session, why, sizeof why) !=
            RD_KAFKA_CONF_OK ||
        /* A fetch position outside the log stops the partition with an
         * error instead of jumping silently (billing_out_of_range). */
        rd_kafka_conf_set(conf, "auto.offset.reset", "error", why, sizeof why) !=
            RD_KAFKA_CONF_OK ||
        /* The end of a partition tells a VERIFY partition its anchor record
         * is missing. */
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof why) !=
            RD_KAFKA_CONF_OK) {
        errmsg_set(err, errlen, "kafka config: %s", why);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, billing_rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, billing_stats_cb);
    c->rk = billing_new_client(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!c->rk)
        goto fail;
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    if (!sub) {
        errmsg_set(err, errlen, "out of memory");
        goto fail;
    }
    rd_kafka_topic_partition_list_add(sub, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        errmsg_set(err, errlen, "subscribe to %s: %s", c->topic, rd_kafka_err2str(e));
        goto fail;
    }
    return c;

fail:
    billing_consumer_destroy(c);
    return NULL;
}

void billing_consumer_destroy(struct billing_consumer *c) {
    if (!c)
        return;
    if (c->rk) {
        billing_batch_clear(&c->batch); /* messages before their client */
        if (!c->closed)
            rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    if (c->dlq) {
        rd_kafka_flush(c->dlq, 5000);
        rd_kafka_destroy(c->dlq);
    }
    billing_batch_release(&c->batch);
    free(c->evs);
    free(c->off);
    free(c->boff);
    free(c->parts);
    free(c->topic);
    free(c->group);
    free(c);
}
