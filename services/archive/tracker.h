/* tracker: which Kafka offsets may be committed. Records of a partition
 * arrive in offset order but finish (object stored, or dead-lettered) in
 * any order; the committable position is one past the last record of the
 * longest finished prefix. Offsets need not be contiguous numbers
 * (transaction markers and compaction leave gaps): "contiguous" means
 * every record received before it is finished. */
#ifndef ARCHIVE_TRACKER_H
#define ARCHIVE_TRACKER_H

#include <stddef.h>
#include <stdint.h>

struct archive_tracker;

/* An empty tracker; NULL when out of memory. Free with
 * archive_tracker_destroy. */
struct archive_tracker *archive_tracker_create(void);
void archive_tracker_destroy(struct archive_tracker *t);

/* Records that `offset` of `partition` was received and is not finished.
 * Offsets of a partition must increase; 0, or -1 when they do not or
 * memory runs out (nothing recorded then). */
int archive_tracker_add(struct archive_tracker *t, int32_t partition, int64_t offset);

/* Marks a received record finished. 0, or -1 when it is unknown. */
int archive_tracker_done(struct archive_tracker *t, int32_t partition, int64_t offset);

/* The offset to commit for `partition` (last record of the finished prefix
 * + 1), or -1 when nothing was finished since the partition was added or
 * last marked committed. */
int64_t archive_tracker_committable(const struct archive_tracker *t, int32_t partition);

/* Notes that `next` was committed: committable() answers -1 until more
 * finishes. */
void archive_tracker_committed(struct archive_tracker *t, int32_t partition, int64_t next);

/* Records received and not yet finished (all partitions, or one). */
size_t archive_tracker_pending(const struct archive_tracker *t);
size_t archive_tracker_pending_partition(const struct archive_tracker *t, int32_t partition);

/* Forgets a partition (revoked): its pending records are dropped. */
void archive_tracker_remove(struct archive_tracker *t, int32_t partition);

#endif
