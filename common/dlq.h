/* dlq: dead-lettering of poison records, shared by billing and archive, and
 * the header names ordersctl dlq reads back (proto/asyncapi.yaml,
 * DeadLetterHeaders).
 *
 * A dead letter keeps the original key, value and every original header
 * byte for byte, and adds dlq_reason, dlq_error (at most 1024 bytes, cut on
 * a UTF-8 boundary), dlq_source_topic, dlq_source_partition,
 * dlq_source_offset, dlq_attempts and dlq_failed_at (RFC 3339 UTC with
 * milliseconds). It is written to "<source topic>.dlq" by the consumer's own
 * idempotent producer (acks=all), and the consumer moves past the record
 * only once the broker acknowledged the dead letter. */
#ifndef COMMON_DLQ_H
#define COMMON_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#define DLQ_TOPIC_SUFFIX ".dlq"
#define DLQ_ERROR_MAX 1024

/* One of the DlqReason values of the contract. */
#define DLQ_REASON_UNDECODABLE "undecodable"
#define DLQ_REASON_INVALID "invalid"
#define DLQ_REASON_PERMANENT "permanent_store_error"
#define DLQ_REASON_EXHAUSTED "attempts_exhausted"

/* Headers of the dead letter for `src`: a copy of src's headers (none if it
 * has none) plus the dlq_* headers. failed_at_ms: Unix milliseconds.
 * Returns a new list the caller owns (rd_kafka_headers_destroy, or handed
 * over to rd_kafka_producev), NULL when out of memory. */
rd_kafka_headers_t *dlq_headers_build(const rd_kafka_message_t *src, const char *reason,
                                      const char *error, uint32_t attempts, int64_t failed_at_ms);

/* Writes the dead letter of `src` to "<src topic>.dlq" with `producer` (an
 * idempotent producer from kafka_conf_producer without transactional id)
 * and waits up to timeout_ms for the broker's acknowledgement.
 * Returns 0 once acknowledged, -1 on failure or timeout (message in err):
 * the caller must then treat it like a store outage (retry later, do not
 * move past the record). */
int dlq_publish(rd_kafka_t *producer, const rd_kafka_message_t *src, const char *reason,
                const char *error, uint32_t attempts, int timeout_ms, char *err, size_t errlen);

/* Reads header `name` of a message as a NUL-terminated copy into buf.
 * Returns 0, or -1 when absent, repeated, or longer than buflen - 1 (also
 * when its value is null or holds a NUL byte, which no dlq_* header does). */
int dlq_header_get(const rd_kafka_message_t *m, const char *name, char *buf, size_t buflen);

/* ---- lower-level forms ----------------------------------------------------
 * rd_kafka_message_headers() only works on messages librdkafka itself
 * produced or consumed, so the functions above delegate to these, which take
 * the pieces instead (tests and ordersctl use them directly). */

/* dlq_headers_build for a record of `topic`/`partition`/`offset` whose
 * headers are `src` (NULL: none). Same result and ownership. */
rd_kafka_headers_t *dlq_headers_build_parts(const rd_kafka_headers_t *src, const char *topic,
                                            int32_t partition, int64_t offset, const char *reason,
                                            const char *error, uint32_t attempts,
                                            int64_t failed_at_ms);

/* dlq_header_get on a header list (NULL: no headers). Same contract. */
int dlq_header_get_hdrs(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t buflen);

/* ---- delivery reports -------------------------------------------------------
 * dlq_publish learns the broker's answer through the per-message opaque it
 * passes to rd_kafka_producev, so the producer's conf MUST route delivery
 * reports here: rd_kafka_conf_set_dr_msg_cb(conf, dlq_dr_msg_cb) before
 * rd_kafka_new. A service that needs its own dr_msg_cb for other messages
 * calls dlq_dr_msg_cb from it for every message whose _private it did not
 * set itself. Without it dlq_publish always times out (returns -1). */
void dlq_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Formats Unix milliseconds as RFC 3339 UTC with milliseconds and 'Z'
 * ("2024-05-01T12:35:02.001Z") into out. Returns 0, or -1 (out "") when
 * the year falls outside 0000-9999. */
#define DLQ_TIME_LEN 24
int dlq_format_time(int64_t unix_ms, char out[DLQ_TIME_LEN + 1]);

#endif
