/* batch: when batch mode seals a partition's next NDJSON object, as pure
 * decisions (the state lives in work.c).
 *
 * Names are batches/<topic>/<partition>/<first offset>.ndjson (object.h).
 * A batch is sealed when it holds batch_max records, or when its oldest
 * record waited batch_age, or on shutdown; and never while the previous
 * batch of the partition is stored but its offsets are not committed. That
 * last rule is what makes redelivery exactly-once: after a crash the
 * consumer restarts at the committed offset, which is the first offset of
 * the only batch that may already exist, so it rebuilds a batch of the same
 * name and overwrites it; no record can sit in two objects. With count
 * flushes the rebuilt bytes are identical; an age or shutdown flush may
 * cut the rebuilt batch elsewhere, and the overwrite still leaves each
 * record in exactly one object. */
#ifndef ARCHIVE_BATCH_H
#define ARCHIVE_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* How many backlog records to seal now (0: not yet): min(backlog_n,
 * batch_max) when full, when the oldest waited oldest_age_ms >= age_ms, or
 * when draining. */
size_t archive_batch_due(size_t backlog_n, size_t batch_max, int64_t oldest_age_ms, int64_t age_ms,
                         int draining);

/* 1 when a new batch may be sealed: no batch stored yet (prev_last < 0) or
 * the committed position (next offset, -1 none) is past its last offset. */
int archive_batch_may_seal(int64_t prev_last_offset, int64_t committed_next);

#endif
