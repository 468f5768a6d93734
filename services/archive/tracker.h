/* tracker: which Kafka offsets may be committed. Records of a partition
 * arrive in offset order but finish (object stored, or dead-lettered) in
 * any order; the committable position is one past the last record of the
 * longest finished prefix. Offsets need not be contiguous numbers
 * (transaction markers and compaction leave gaps): "contiguous" means
 * every record received before it is finished.
 *
 * A partition's offsets can regress (topic recreated, log truncated,
 * records expired unread): the consumer then re-reads it from its log
 * start and calls archive_tracker_reset, which starts a new epoch. Records
 * of the old log still in flight carry the old epoch: when they finish
 * they are counted as done but never move the new log's commit position
 * (their offsets mean nothing in the new log).
 *
 * With the position, the tracker keeps the anchor (kafka_anchor_of) of the
 * record just before it, committed as offset metadata so a restart can
 * tell whether the log it resumes is still the one it left. */
#ifndef ARCHIVE_TRACKER_H
#define ARCHIVE_TRACKER_H

#include <stddef.h>
#include <stdint.h>

struct archive_tracker;

/* An empty tracker; NULL when out of memory. Free with
 * archive_tracker_destroy. */
struct archive_tracker *archive_tracker_create(void);
void archive_tracker_destroy(struct archive_tracker *t);

/* Records that `offset` (with its `anchor`) of `partition` was received
 * and is not finished; *epoch gets the partition's epoch, to pass to
 * archive_tracker_done. Offsets of a partition must increase within an
 * epoch; 0, or -1 when they do not or memory runs out (nothing recorded
 * then). */
int archive_tracker_add(struct archive_tracker *t, int32_t partition, int64_t offset,
                        uint64_t anchor, uint32_t *epoch);

/* Marks a received record finished. 0; 1 when its epoch is over (the
 * partition was reset since: ignored); -1 when it is unknown. */
int archive_tracker_done(struct archive_tracker *t, int32_t partition, uint32_t epoch,
                         int64_t offset);

/* The offset to commit for `partition` (last record of the finished prefix
 * + 1), or -1 when nothing was finished since the partition was added,
 * reset or last marked committed. With a position, *anchor (if not NULL)
 * gets the anchor of the record just before it. */
int64_t archive_tracker_committable(const struct archive_tracker *t, int32_t partition,
                                    uint64_t *anchor);

/* Notes that `next` was committed: committable() answers -1 until more
 * finishes. */
void archive_tracker_committed(struct archive_tracker *t, int32_t partition, int64_t next);

/* Records received and not yet finished (all partitions, or one). */
size_t archive_tracker_pending(const struct archive_tracker *t);
size_t archive_tracker_pending_partition(const struct archive_tracker *t, int32_t partition);

/* The partition's log regressed and is read again from its start: a new
 * epoch begins with nothing pending, no position and no commit; records
 * of earlier epochs no longer count (archive_tracker_done answers 1). The
 * partition is created if unknown. 0, or -1 when out of memory. */
int archive_tracker_reset(struct archive_tracker *t, int32_t partition);

/* The partition's current epoch (epochs start at 1), 0 when unknown. */
uint32_t archive_tracker_epoch(const struct archive_tracker *t, int32_t partition);

/* Forgets a partition (revoked): its pending records are dropped. */
void archive_tracker_remove(struct archive_tracker *t, int32_t partition);

#endif
