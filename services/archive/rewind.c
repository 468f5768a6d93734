/* rewind: restarting partitions whose positions are not valid (see .h). */
#include "rewind.h"

#include "anchor.h"
#include "kafka_anchor.h"
#include "log.h"
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>

/* Moves p to its log start now, or as soon as librdkafka lets us. A
 * partition stopped by a refused position does not take a seek (its fetcher
 * is stopped: RD_KAFKA_RESP_ERR__STATE), so it is unassigned and assigned
 * again at RD_KAFKA_OFFSET_BEGINNING; the group membership is unchanged. */
static void archive_rewind_apply(struct archive_work *w, struct archive_part *p) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_error_t *e = NULL;
    if (!l)
        return; /* p->rewind is still set: retried on the next turn */
    rd_kafka_topic_partition_list_add(l, w->conf->topic, p->partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    if (p->rewind == ARCHIVE_REWIND_UNASSIGN) {
        e = rd_kafka_incremental_unassign(w->rk, l);
        if (!e)
            p->rewind = ARCHIVE_REWIND_ASSIGN;
    }
    if (!e && p->rewind == ARCHIVE_REWIND_ASSIGN) {
        e = rd_kafka_incremental_assign(w->rk, l);
        if (!e) {
            p->rewind = ARCHIVE_REWIND_NONE;
            LOG_INFO("partition %" PRId32 " of %s restarts at its log start", p->partition,
                     w->conf->topic);
        }
    }
    if (e) {
        LOG_ERROR("restarting partition %" PRId32 " at its log start: %s; retrying", p->partition,
                  rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Forgets p's position and restarts it at the log start. */
static void archive_rewind_restart(struct archive_work *w, struct archive_part *p) {
    if (archive_work_part_rewound(w, p) != 0)
        LOG_ERROR("out of memory resetting partition %" PRId32 " (its old records may "
                  "still finish)",
                  p->partition);
    p->rewind = ARCHIVE_REWIND_UNASSIGN;
    archive_rewind_apply(w, p);
}

/* Counts and logs an invalid position of partition `part`. */
static void archive_rewind_report(struct archive_work *w, int32_t part, const char *reason,
                                  int64_t stored, int have_marks, int64_t low, int64_t high,
                                  const char *why) {
    consumer_stats_offset_reset(&w->stats->c, reason);
    if (have_marks)
        LOG_ERROR("offset reset (%s) of %s partition %" PRId32 ": stored offset %" PRId64
                  " %s (log start %" PRId64 ", end %" PRId64 "); re-reading from the log "
                  "start (archived orders are rewritten with identical bytes)",
                  reason, w->conf->topic, part, stored, why, low, high);
    else
        LOG_ERROR("offset reset (%s) of %s partition %" PRId32 ": stored offset %" PRId64
                  " %s (log start and end unknown); re-reading from the log start "
                  "(archived orders are rewritten with identical bytes)",
                  reason, w->conf->topic, part, stored, why);
}

void archive_rewind_assign(struct archive_work *w, rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t err;
    if (!c) {
        LOG_WARN("out of memory: partitions resume at their committed offsets unchecked");
        return;
    }
    err = rd_kafka_committed(w->rk, c, ARCHIVE_REWIND_QUERY_MS);
    if (err) {
        LOG_WARN("cannot read the committed offsets (%s): partitions resume at them unchecked",
                 rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(c);
        return;
    }
    for (int i = 0; i < c->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &c->elems[i];
        rd_kafka_topic_partition_t *dst =
            rd_kafka_topic_partition_list_find(parts, tp->topic, tp->partition);
        struct archive_part *p = archive_work_part(w, tp->partition);
        uint64_t anchor = 0;
        int64_t low, high;
        const char *reason = NULL;
        /* no committed position: auto.offset.reset=error reports it and the
         * partition starts at its log start (archive_rewind_refused) */
        if (!dst || !p || tp->err || tp->offset < 0)
            continue;
        int has_anchor = archive_anchor_parse(tp->metadata, tp->metadata_size, &anchor) == 0;
        err = rd_kafka_query_watermark_offsets(w->rk, tp->topic, tp->partition, &low, &high,
                                               ARCHIVE_REWIND_QUERY_MS);
        if (err) {
            LOG_WARN("partition %" PRId32 ": log start and end unknown (%s): resuming at the "
                     "committed offset %" PRId64 " unchecked",
                     tp->partition, rd_kafka_err2str(err), tp->offset);
            continue;
        }
        switch (archive_anchor_plan(tp->offset, has_anchor, low, high, &reason)) {
        case ARCHIVE_START_COMMITTED:
            dst->offset = tp->offset;
            break;
        case ARCHIVE_START_VERIFY:
            dst->offset = tp->offset - 1;
            p->expect_offset = tp->offset - 1;
            p->expect_anchor = anchor;
            LOG_DEBUG("partition %" PRId32 ": checking the anchor at offset %" PRId64,
                      tp->partition, tp->offset - 1);
            break;
        case ARCHIVE_START_BEGINNING:
            archive_rewind_report(w, tp->partition, reason, tp->offset, 1, low, high,
                                  "is outside the log");
            if (archive_work_part_rewound(w, p) != 0)
                LOG_ERROR("out of memory resetting partition %" PRId32, tp->partition);
            dst->offset = RD_KAFKA_OFFSET_BEGINNING;
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(c);
}

void archive_rewind_refused(struct archive_work *w, const rd_kafka_message_t *m) {
    struct archive_part *p = archive_work_part(w, m->partition);
    int64_t low = -1, high = -1;
    if (!p)
        return; /* revoked meanwhile: the next owner starts from the commit */
    if (m->offset < 0) {
        LOG_INFO("partition %" PRId32 " of %s has no committed offset: reading it from its "
                 "log start",
                 m->partition, w->conf->topic);
        archive_rewind_restart(w, p);
        return;
    }
    int have = rd_kafka_query_watermark_offsets(w->rk, w->conf->topic, m->partition, &low, &high,
                                                ARCHIVE_REWIND_QUERY_MS) == 0;
    archive_rewind_report(w, m->partition,
                          archive_anchor_refused_reason(m->offset, have, low, high), m->offset,
                          have, low, high, "refused by the broker");
    archive_rewind_restart(w, p);
}

int archive_rewind_check(struct archive_work *w, const rd_kafka_message_t *m) {
    struct archive_part *p = archive_work_part(w, m->partition);
    if (!p || p->expect_offset < 0)
        return 0;
    int64_t want = p->expect_offset;
    uint64_t got = kafka_anchor_of(m);
    p->expect_offset = -1;
    if (archive_anchor_matches(want, p->expect_anchor, m->offset, got)) {
        LOG_DEBUG("partition %" PRId32 ": anchor at offset %" PRId64 " verified", m->partition,
                  want);
        return 1; /* archived before the commit: continue after it */
    }
    char why[160];
    int64_t low = -1, high = -1;
    int have = rd_kafka_query_watermark_offsets(w->rk, w->conf->topic, m->partition, &low, &high,
                                                ARCHIVE_REWIND_QUERY_MS) == 0;
    snprintf(why, sizeof why,
             "does not follow the committed record (expected offset %" PRId64
             " with anchor %016" PRIx64 ", read offset %" PRId64 " with anchor %016" PRIx64 ")",
             want, p->expect_anchor, m->offset, got);
    archive_rewind_report(w, m->partition, KAFKA_RESET_ANCHOR, want + 1, have, low, high, why);
    archive_rewind_restart(w, p);
    return 1;
}

void archive_rewind_retry(struct archive_work *w) {
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].rewind != ARCHIVE_REWIND_NONE)
            archive_rewind_apply(w, &w->parts[i]);
}
