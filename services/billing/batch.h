/* batch: the records consumed since the last Postgres commit, bounded by
 * size (max records) and time (the oldest waits at most wait_ms).
 *
 * Each entry owns its Kafka message (needed byte for byte for a dead
 * letter) and, when it decoded, the decoded event. Entries stay in arrival
 * order, which per partition is offset order. */
#ifndef BILLING_BATCH_H
#define BILLING_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "order_event.h"

#define BILLING_WHY_MAX 512

enum billing_entry_state {
    BILLING_ENTRY_PENDING = 0, /* decoded, to be stored */
    BILLING_ENTRY_POISON,      /* to be dead-lettered */
    BILLING_ENTRY_DONE,        /* stored or dead-lettered: only its offset remains */
};

struct billing_entry {
    rd_kafka_message_t *msg; /* owned */
    struct order_event ev;   /* valid while decoded != 0 */
    int decoded;
    enum billing_entry_state state;
    const char *reason; /* DLQ_REASON_* of a poison entry */
    char why[BILLING_WHY_MAX];
    uint32_t attempts; /* failed tries so far */
};

/* Frees a message; rd_kafka_message_destroy in the service, a fake in tests. */
typedef void (*billing_msg_free_fn)(rd_kafka_message_t *m);

struct billing_batch {
    struct billing_entry *e;
    size_t n, max;
    long wait_ms;
    int64_t first_ms; /* arrival of the oldest entry */
    billing_msg_free_fn msg_free;
};

/* Next offset to store for one partition after this batch, and the record
 * before it (owned by the batch: its anchor is stored with the offset). */
struct billing_batch_offset {
    int32_t partition;
    int64_t next;
    const rd_kafka_message_t *last;
};

/* Prepares a batch of at most max entries. Returns 0, or -1 when out of
 * memory. Free with billing_batch_release. */
int billing_batch_init(struct billing_batch *b, size_t max, long wait_ms,
                       billing_msg_free_fn msg_free);

/* Frees every entry and the array. */
void billing_batch_release(struct billing_batch *b);

/* Appends `m` (taking ownership) at time now_ms and returns its entry, to be
 * decoded by the caller; NULL when the batch is full (m is not taken). */
struct billing_entry *billing_batch_add(struct billing_batch *b, rd_kafka_message_t *m,
                                        int64_t now_ms);

/* 1 when the batch must be written now: full, or its oldest entry waited
 * wait_ms. */
int billing_batch_ready(const struct billing_batch *b, int64_t now_ms);

/* Milliseconds until billing_batch_ready turns true by age (0 if already;
 * wait_ms for an empty batch). */
long billing_batch_wait(const struct billing_batch *b, int64_t now_ms);

/* Removes (and frees) the entries of `partition`, keeping the order of the
 * others. Returns how many were removed. */
size_t billing_batch_drop_partition(struct billing_batch *b, int32_t partition);

/* Removes (and frees) the newest entry, e.g. one that could not be
 * decoded for lack of memory. No-op on an empty batch. */
void billing_batch_pop(struct billing_batch *b);

/* Frees every entry; the batch is empty and reusable. */
void billing_batch_clear(struct billing_batch *b);

/* Writes the next offset of each partition present (highest offset + 1), in
 * order of first appearance, into out[max]. Returns the count (at most max;
 * partitions beyond are left out, so pass max >= the assignment size). */
size_t billing_batch_offsets(const struct billing_batch *b, struct billing_batch_offset *out,
                             size_t max);

/* Decodes entry->msg with order_event_decode, up to max_attempts times
 * while it fails as poison (decoding is deterministic, but a record is
 * dead-lettered after the same number of tries whatever made it poison, so
 * dlq_attempts means one thing). Sets state to PENDING or POISON (reason,
 * why, attempts). Returns 0, or -1 when out of memory (not poison: retry). */
int billing_batch_decode(struct billing_entry *entry, uint32_t max_attempts);

#endif
