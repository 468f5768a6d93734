/* kafka_anchor: is a stored consumer position still valid?
 *
 * A consumer that keeps its own positions (billing stores next_offset in
 * Postgres, with the rows) assumes a partition's offsets only grow. They do
 * not when a topic is deleted and recreated (offsets restart at 0), when an
 * unclean leader election truncates a log, or when retention deletes
 * records before they were read. Trusting the stored position then skips
 * records silently. Two checks catch it:
 *
 * - the stored position against the log start and end (kafka_position_check):
 *   beyond the end, or before the start;
 * - the anchor: a fingerprint of the record just before the position, stored
 *   with it; read again and compared, it catches a recreated topic that has
 *   already grown past the old position, which the log end cannot tell.
 *
 * Either way the consumer re-reads the partition from its log start: the
 * sinks are idempotent by order identity, so re-reading costs duplicates
 * (dropped), never loss. */
#ifndef COMMON_KAFKA_ANCHOR_H
#define COMMON_KAFKA_ANCHOR_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Reasons, as counted in orders_<consumer>_offset_resets_total{reason}. */
#define KAFKA_RESET_BEYOND_END "beyond_end"     /* position past the log end */
#define KAFKA_RESET_BEFORE_START "before_start" /* records deleted unread */
#define KAFKA_RESET_ANCHOR "anchor_mismatch"    /* another record at the anchor */

enum kafka_position {
    KAFKA_POSITION_OK = 0,       /* low <= stored <= high */
    KAFKA_POSITION_BEYOND_END,   /* stored > high: recreated or truncated */
    KAFKA_POSITION_BEFORE_START, /* stored < low: records expired unread */
};

/* Classifies a stored next offset against the partition's low and high
 * watermarks. */
enum kafka_position kafka_position_check(int64_t stored, int64_t low, int64_t high);

/* The counter reason of a position that is not OK (NULL for OK). */
const char *kafka_position_reason(enum kafka_position p);

/* Fingerprint of a record: 64-bit FNV-1a over its timestamp, key and value
 * (lengths included). Not a security measure: it tells one record from
 * another, and a record read again from itself. */
uint64_t kafka_anchor_hash(int64_t timestamp, const void *key, size_t key_len, const void *value,
                           size_t value_len);

/* kafka_anchor_hash of a consumed record. */
uint64_t kafka_anchor_of(const rd_kafka_message_t *m);

#endif
