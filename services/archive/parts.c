/* parts: assigned partitions of the work state, offset commits and pause
 * (flow control, store failures, draining). */
#include "work.h"

#include "anchor.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void archive_work_count_commit(struct archive_work *w, const char *result) {
    const char *v[] = {result};
    metrics_counter_inc(w->stats->commits, v);
}

struct archive_part *archive_work_part(struct archive_work *w, int32_t partition) {
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].partition == partition)
            return &w->parts[i];
    return NULL;
}

struct archive_part *archive_work_part_add(struct archive_work *w, int32_t partition) {
    struct archive_part *p = archive_work_part(w, partition);
    if (p)
        return p;
    if (w->nparts == w->capparts) {
        size_t cap = w->capparts ? 2 * w->capparts : 16;
        struct archive_part *np = realloc(w->parts, cap * sizeof *np);
        if (!np)
            return NULL;
        w->parts = np;
        w->capparts = cap;
    }
    p = &w->parts[w->nparts++];
    memset(p, 0, sizeof *p);
    p->partition = partition;
    p->batch_last_offset = -1;
    p->committed = -1;
    p->expect_offset = -1;
    return p;
}

static void archive_rec_drop_list(struct archive_work *w, struct archive_rec *r) {
    while (r) {
        struct archive_rec *next = r->next;
        rd_kafka_message_destroy(r->msg);
        strbuf_release(&r->doc);
        free(r->dlq_error);
        free(r);
        w->held--;
        r = next;
    }
}

/* Removes (and frees) every upload and poison record of `partition`, or of
 * all partitions when partition < 0. */
static void archive_work_drop(struct archive_work *w, int32_t partition) {
    for (struct archive_upload **pp = &w->uploads; *pp;) {
        struct archive_upload *u = *pp;
        if (partition >= 0 && u->partition != partition) {
            pp = &u->next;
            continue;
        }
        *pp = u->next;
        archive_s3put_cancel(w->s3, u);
        for (size_t i = 0; i < u->nrecs; i++) {
            u->recs[i]->next = NULL;
            archive_rec_drop_list(w, u->recs[i]);
        }
        strbuf_release(&u->body);
        free(u->recs);
        free(u);
    }
    for (struct archive_rec **pp = &w->poison; *pp;) {
        struct archive_rec *r = *pp;
        if (partition >= 0 && r->partition != partition) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        r->next = NULL;
        archive_rec_drop_list(w, r);
    }
}

/* Forgets the part at index i (its uploads must be gone already). */
static void archive_work_part_forget(struct archive_work *w, size_t i) {
    struct archive_part *p = &w->parts[i];
    archive_rec_drop_list(w, p->backlog);
    if (p->n_failing) {
        atomic_fetch_sub(&w->failing_parts, 1);
        metrics_child_sub(w->stats->c.paused, 1);
    }
    archive_tracker_remove(w->tracker, p->partition);
    w->parts[i] = w->parts[--w->nparts];
}

void archive_work_part_remove(struct archive_work *w, int32_t partition) {
    archive_work_drop(w, partition);
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].partition == partition) {
            archive_work_part_forget(w, i);
            return;
        }
}

int archive_work_part_rewound(struct archive_work *w, struct archive_part *p) {
    if (w->conf->mode == ARCHIVE_MODE_BATCH) {
        archive_rec_drop_list(w, p->backlog);
        p->backlog = p->backlog_tail = NULL;
        p->backlog_n = 0;
    }
    p->batch_last_offset = -1;
    p->committed = -1;
    p->expect_offset = -1;
    p->paused = -1; /* a new assignment: tell librdkafka again whatever we want */
    return archive_tracker_reset(w->tracker, p->partition);
}

void archive_work_release(struct archive_work *w) {
    archive_work_drop(w, -1);
    while (w->nparts)
        archive_work_part_forget(w, w->nparts - 1);
    free(w->parts);
    w->parts = NULL;
    w->capparts = 0;
    archive_tracker_destroy(w->tracker);
    w->tracker = NULL;
}

void archive_work_commit(struct archive_work *w, int sync) {
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t err;
    int n = 0;

    if (w->conf->mode == ARCHIVE_MODE_BATCH)
        sync = 1; /* a batch is sealed only after the previous one is committed */
    list = rd_kafka_topic_partition_list_new((int)(w->nparts ? w->nparts : 1));
    if (!list)
        return;
    for (size_t i = 0; i < w->nparts; i++) {
        uint64_t anchor;
        int64_t next = archive_tracker_committable(w->tracker, w->parts[i].partition, &anchor);
        if (next < 0)
            continue;
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(list, w->conf->topic, w->parts[i].partition);
        tp->offset = next;
        /* the anchor rides along as commit metadata (anchor.h); freed with
         * the list, so allocated by librdkafka. Without memory the commit
         * goes without it: the restart is then unchecked, as before. */
        tp->metadata = rd_kafka_mem_malloc(w->rk, ARCHIVE_ANCHOR_HEX + 1);
        if (tp->metadata) {
            archive_anchor_format(anchor, tp->metadata);
            tp->metadata_size = ARCHIVE_ANCHOR_HEX;
        }
        n++;
    }
    if (n == 0) {
        rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    err = rd_kafka_commit(w->rk, list, !sync);
    if (err) {
        LOG_WARN("offset commit failed: %s", rd_kafka_err2str(err));
        archive_work_count_commit(w, "error");
    } else {
        for (int i = 0; i < list->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &list->elems[i];
            archive_tracker_committed(w->tracker, tp->partition, tp->offset);
            struct archive_part *p = archive_work_part(w, tp->partition);
            if (p && sync)
                p->committed = tp->offset;
        }
        if (sync)
            archive_work_count_commit(w, "ok");
    }
    rd_kafka_topic_partition_list_destroy(list);
}

int archive_work_should_poll(const struct archive_work *w) {
    return w->full || archive_work_capacity(w) > 0;
}

void archive_work_apply_pause(struct archive_work *w) {
    size_t cap = archive_work_capacity(w);
    int64_t now = archive_now_ms();
    if (cap == 0) {
        if (!w->full_since_ms)
            w->full_since_ms = now;
        if (!w->full && now - w->full_since_ms >= ARCHIVE_STALL_MS) {
            LOG_WARN("no room for %d s: pausing every partition until half the held "
                     "records are finished",
                     ARCHIVE_STALL_MS / 1000);
            w->full = 1;
        }
    } else {
        w->full_since_ms = 0;
        /* hysteresis: resume at half, not at the first free slot */
        if (w->full && w->held <= (w->held + cap) / 2)
            w->full = 0;
    }
    for (size_t i = 0; i < w->nparts; i++) {
        struct archive_part *p = &w->parts[i];
        int want =
            w->draining || w->full || p->n_failing > 0 ||
            (w->conf->mode == ARCHIVE_MODE_BATCH && p->backlog_n >= (size_t)w->conf->batch_max);
        if (want == p->paused)
            continue;
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        if (!list)
            return;
        rd_kafka_topic_partition_list_add(list, w->conf->topic, p->partition);
        rd_kafka_resp_err_t err =
            want ? rd_kafka_pause_partitions(w->rk, list) : rd_kafka_resume_partitions(w->rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        if (err) {
            LOG_WARN("%s partition %" PRId32 ": %s", want ? "pause" : "resume", p->partition,
                     rd_kafka_err2str(err));
            continue;
        }
        p->paused = want;
        LOG_DEBUG("partition %" PRId32 " %s", p->partition, want ? "paused" : "resumed");
    }
}
