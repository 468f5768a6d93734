/* work: the consumer's in-memory state and what happens to one record:
 * decode, render, upload (object or batch), retry, dead-letter, finish.
 * Internal to services/archive (consumer.c drives it from its loop). */
#ifndef ARCHIVE_WORK_H
#define ARCHIVE_WORK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "backoff.h"
#include "config.h"
#include "s3put.h"
#include "strbuf.h"
#include "tracker.h"

struct archive_stats;

/* One Kafka record held until it is finished (stored or dead-lettered). */
struct archive_rec {
    rd_kafka_message_t *msg; /* owned */
    int32_t partition;
    int64_t offset;
    int64_t arrived_ms;
    uint32_t epoch;         /* tracker epoch: the log the record was read from */
    uint32_t attempts;      /* decode attempts (poison) */
    int64_t retry_at_ms;    /* poison list: when to try again */
    const char *dlq_reason; /* set: dead-letter pending (a DLQ publish failed) */
    char *dlq_error;        /* malloc'd, with dlq_reason */
    uint32_t dlq_attempts;
    struct strbuf doc; /* structured-mode document (batch mode) */
    char trace_id[33];
    struct archive_rec *next;
};

/* One PUT: a single order (object mode) or a batch of records. */
struct archive_upload {
    char key[512];
    struct strbuf body;
    struct archive_rec **recs; /* owned */
    size_t nrecs;
    int32_t partition;
    uint32_t attempts;   /* permanent failures so far */
    uint32_t transient;  /* transient failures in a row */
    int64_t retry_at_ms; /* 0: in flight */
    struct archive_upload *next;
};

/* What a partition being restarted at its log start still needs
 * (rewind.c): retried every loop turn until librdkafka accepts it. */
enum archive_rewind_step {
    ARCHIVE_REWIND_NONE = 0,
    ARCHIVE_REWIND_UNASSIGN, /* unassign, then assign at the log start */
    ARCHIVE_REWIND_ASSIGN,   /* assign at the log start */
};

/* Per assigned partition. */
struct archive_part {
    int32_t partition;
    int paused;                                 /* as last told to librdkafka; -1 unknown */
    size_t n_failing;                           /* uploads waiting for a transient retry */
    struct archive_rec *backlog, *backlog_tail; /* batch mode: rendered, not yet in a batch */
    size_t backlog_n;
    struct archive_upload *batch; /* batch mode: the one outstanding batch */
    int64_t batch_last_offset;    /* last offset of the newest stored batch, -1 none */
    int64_t committed;            /* next offset, as last committed synchronously; -1 none */
    int64_t expect_offset;        /* anchor check: offset of the first record, -1 none */
    uint64_t expect_anchor;       /* ... and its kafka_anchor_of */
    enum archive_rewind_step rewind;
};

struct archive_work {
    const struct archive_config *conf;
    struct archive_stats *stats;
    rd_kafka_t *rk;       /* consumer, borrowed */
    rd_kafka_t *producer; /* dead letters, borrowed */
    struct archive_s3put *s3;
    struct archive_tracker *tracker;
    struct backoff_policy backoff;
    struct archive_part *parts;
    size_t nparts, capparts;
    struct archive_upload *uploads; /* in flight or waiting for a retry */
    struct archive_rec *poison;     /* waiting for a decode or DLQ retry */
    size_t held;                    /* records held, not finished */
    int full;                       /* stalled at capacity: all partitions paused */
    int64_t full_since_ms;          /* capacity exhausted since, 0 when not */
    int draining;
    uint32_t rng;
    atomic_int failing_parts; /* read by the readiness probe */
};

int64_t archive_now_ms(void);

/* Initialises w (no allocation beyond the tracker). 0 or -1. */
int archive_work_init(struct archive_work *w, const struct archive_config *conf,
                      struct archive_stats *stats);

/* Frees everything still held (uploads cancelled, records dropped). */
void archive_work_release(struct archive_work *w);

/* Partition state; add returns NULL when out of memory. */
struct archive_part *archive_work_part(struct archive_work *w, int32_t partition);
struct archive_part *archive_work_part_add(struct archive_work *w, int32_t partition);

/* Drops a revoked partition: cancels its uploads, frees its records
 * (not finished: the next owner gets them again) and its tracker state. */
void archive_work_part_remove(struct archive_work *w, int32_t partition);

/* The partition is read again from its log start (its log regressed): a
 * new tracker epoch, no commit or batch position, no anchor check. Uploads
 * and retries of the old log go on and finish without moving the new
 * log's position; in batch mode the old log's backlog (records not in an
 * upload yet) is dropped, so no batch mixes the two logs; records of it
 * that are still in the log are read again. 0, or -1 when out of memory
 * (the tracker could not start the epoch). */
int archive_work_part_rewound(struct archive_work *w, struct archive_part *p);

/* Takes ownership of a consumed record and starts working on it. */
void archive_work_message(struct archive_work *w, rd_kafka_message_t *m);

/* Reports finished PUTs, starts due retries and due batches. */
void archive_work_step(struct archive_work *w);

/* Milliseconds until the next timer (retry or batch age), at most cap. */
int archive_work_next_timer_ms(const struct archive_work *w, int cap);

/* Commits each partition's finished prefix (async in object mode, sync in
 * batch mode or when `sync`). */
void archive_work_commit(struct archive_work *w, int sync);

/* Pauses or resumes partitions as store failures, draining and flow
 * control require. At capacity the loop simply stops taking records (the
 * prefetched ones wait in librdkafka); only when capacity stays exhausted
 * for ARCHIVE_STALL_MS are all partitions paused, so the loop can keep
 * polling (group membership, max.poll.interval.ms) without taking more. */
#define ARCHIVE_STALL_MS 10000
void archive_work_apply_pause(struct archive_work *w);

/* 1 when the loop should poll the consumer now: there is room, or the
 * partitions are paused for a stall. */
int archive_work_should_poll(const struct archive_work *w);

/* Records that can still be accepted before flow control pauses. */
size_t archive_work_capacity(const struct archive_work *w);

/* 1 while something worth waiting for on shutdown remains: PUTs in flight,
 * or (batch mode) a backlog that can still be sealed. */
int archive_work_busy(const struct archive_work *w);

#endif
