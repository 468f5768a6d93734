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
 * Returns 0, or -1 when absent, repeated, or longer than buflen - 1. */
int dlq_header_get(const rd_kafka_message_t *m, const char *name, char *buf, size_t buflen);

#endif
