/* anchor: where archive resumes a partition, as pure decisions (rewind.c
 * does the Kafka side).
 *
 * Archive commits its position as Kafka group offsets, with the anchor
 * (kafka_anchor_of) of the record just before the position as the commit's
 * metadata: 16 lowercase hex digits. On assignment a committed position S
 * is checked against the log: outside [low, high] it is not valid; inside,
 * with an anchor, the consumer starts at S - 1 and the first record must be
 * the one it committed after (same offset, same anchor), else the log was
 * replaced (a recreated topic that already grew past S, a truncated and
 * refilled log). An invalid position means re-reading the partition from its
 * log start: objects are keyed by order identity, so that costs identical
 * rewrites, never loss. */
#ifndef ARCHIVE_ANCHOR_H
#define ARCHIVE_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_ANCHOR_HEX 16 /* bytes of commit metadata */

/* Writes the anchor as ARCHIVE_ANCHOR_HEX lowercase hex digits plus a NUL
 * into out (at least ARCHIVE_ANCHOR_HEX + 1 bytes). */
void archive_anchor_format(uint64_t anchor, char *out);

/* Parses commit metadata written by archive_anchor_format. 0 with *anchor
 * set, or -1 when the metadata is absent or anything else (commits made
 * before anchors, or by another tool). */
int archive_anchor_parse(const void *meta, size_t len, uint64_t *anchor);

enum archive_anchor_start {
    ARCHIVE_START_COMMITTED, /* resume at the committed position, unchecked */
    ARCHIVE_START_VERIFY,    /* start at position - 1; the record must carry the anchor */
    ARCHIVE_START_BEGINNING, /* not a valid position: re-read from the log start */
};

/* Where to start a partition whose committed next offset is `stored` (>= 0)
 * given its low and high watermarks. BEGINNING sets *reason to the
 * KAFKA_RESET_* to count; COMMITTED when there is no anchor, or when the
 * anchored record is no longer in the log (stored == low) so nothing can be
 * compared. */
enum archive_anchor_start archive_anchor_plan(int64_t stored, int has_anchor, int64_t low,
                                              int64_t high, const char **reason);

/* 1 when the first record read after a VERIFY start (at `offset`, with
 * `anchor`) is the committed one: offset want_offset with want_anchor. */
int archive_anchor_matches(int64_t want_offset, uint64_t want_anchor, int64_t offset,
                           uint64_t anchor);

/* The KAFKA_RESET_* to count when the broker refused fetch offset `offset`
 * (auto.offset.reset=error), given the watermarks when known (have_marks).
 * NULL for a logical offset (< 0): the partition had no committed position,
 * starting at the log start is the normal first start, not a reset. When the
 * watermarks are unknown, or show the offset inside the log again (the log
 * was replaced and refilled between the refusal and the query), it is
 * KAFKA_RESET_BEYOND_END: the position belonged to a log that is gone. */
const char *archive_anchor_refused_reason(int64_t offset, int have_marks, int64_t low,
                                          int64_t high);

#endif
