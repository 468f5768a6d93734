/* rewind: archive never skips records when a partition's offsets regress
 * (topic deleted and recreated, log truncated by an unclean leader
 * election, records deleted by retention before they were read).
 *
 * The consumer runs with auto.offset.reset=error, so librdkafka never moves
 * a position silently: a refused position arrives as a consumer error and
 * stops the partition. Each invalid position, found on assignment (anchor.h)
 * or refused while running, restarts the partition at its log start, is
 * counted in orders_archive_offset_resets_total{reason} and logged as an
 * error with the watermarks. All functions run on the consumer's thread. */
#ifndef ARCHIVE_REWIND_H
#define ARCHIVE_REWIND_H

#include <librdkafka/rdkafka.h>

#include "work.h"

#define ARCHIVE_REWIND_QUERY_MS 5000 /* one committed-offsets or watermark query */

/* Rebalance callback, before incremental_assign(parts): sets each newly
 * assigned partition's start offset from its committed position (anchor.h:
 * committed, committed - 1 with an anchor check, or the log start). The
 * partitions must already be in w. Bounded by ARCHIVE_REWIND_QUERY_MS per
 * query; when a query fails the partition resumes at its committed
 * position unchecked, as without anchors (a warning says so). */
void archive_rewind_assign(struct archive_work *w, rd_kafka_topic_partition_list_t *parts);

/* A consumer error message with RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET: the
 * broker refused the partition's fetch position (m->offset), or it had no
 * committed one (a logical offset: not counted). Restarts the partition at
 * its log start. m stays the caller's. */
void archive_rewind_refused(struct archive_work *w, const rd_kafka_message_t *m);

/* The anchor check of a record about to be processed: 0 when it is to be
 * processed (no check pending for its partition); 1 when the check used it
 * (the committed anchor record: already archived; or a mismatch, which
 * restarts the partition at its log start), the caller then only frees it. */
int archive_rewind_check(struct archive_work *w, const rd_kafka_message_t *m);

/* Retries the restarts librdkafka refused so far (every loop turn). */
void archive_rewind_retry(struct archive_work *w);

#endif
