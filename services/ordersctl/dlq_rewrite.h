/* dlq_rewrite: what `ordersctl dlq` does with one dead letter's headers:
 * reads the dlq_* fields for listing, formats the list line, and builds the
 * headers of the redriven record (proto/asyncapi.yaml, DeadLetter). */
#ifndef ORDERSCTL_DLQ_REWRITE_H
#define ORDERSCTL_DLQ_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "dlq.h"

struct strbuf;

#define ORDERSCTL_DLQ_HEADER_PREFIX "dlq_"
#define ORDERSCTL_DLQ_REDRIVE_COUNT "dlq_redrive_count"
#define ORDERSCTL_DLQ_REDRIVE_COUNT_MAX 9999999999ULL /* PositiveCount: 10 digits */

/* The dlq_* fields of a dead letter, each "" when absent or unreadable
 * (repeated, too long): a listing shows what is there. */
struct ordersctl_dlq_entry {
    char reason[32];
    char error[DLQ_ERROR_MAX + 1];
    char source_topic[256];
    char source_partition[16];
    char source_offset[24];
    char attempts[16];
    char failed_at[40];
    char redrive_count[16];
};

/* Fills *e from the headers of a dead letter (NULL: none). */
void ordersctl_dlq_entry_read(const rd_kafka_headers_t *h, struct ordersctl_dlq_entry *e);

/* Appends one listing line (no newline) for the dead letter at
 * partition/offset of its topic, e.g.
 *   partition=0 offset=5 key="c/o" reason=invalid source=orders.billing/3@1042
 *   attempts=1 failed_at=2024-05-01T12:35:02.001Z redrive_count=0 status=pending
 *   error="..."
 * (one line). key and error are JSON strings (bytes that are not UTF-8
 * become U+FFFD), key=null when the record has none; absent fields are
 * "-". `redriven` says whether a redrive already went past it. Returns 0, or
 * -1 when `out` refused the text (strbuf overflow). */
int ordersctl_dlq_entry_format(int32_t partition, int64_t offset, const void *key, size_t keylen,
                               const struct ordersctl_dlq_entry *e, int redriven,
                               struct strbuf *out);

/* The headers of the redriven record: every header of the dead letter whose
 * name does not start with "dlq_", in order and byte for byte, then
 * dlq_redrive_count = previous value + 1 (1 when it had none). Returns a new
 * list the caller owns (rd_kafka_producev takes it over), or NULL with err
 * filled when the previous count is not a PositiveCount (or is the largest
 * one) or memory ran out. */
rd_kafka_headers_t *ordersctl_dlq_redrive_headers(const rd_kafka_headers_t *dead, char *err,
                                                  size_t errlen);

#endif
