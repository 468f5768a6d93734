/* tracker: per-partition FIFO of received offsets with a done flag. The
 * front is popped while finished, advancing the committable position. */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>

struct archive_tracker_entry {
    int64_t offset;
    uint64_t anchor;
    int done;
};

struct archive_tracker_part {
    int32_t partition;
    struct archive_tracker_entry *ring; /* FIFO of pending records */
    size_t head, count, cap;
    int64_t next;         /* one past the finished prefix, -1 if none yet */
    uint64_t next_anchor; /* anchor of the record at next - 1 */
    int64_t committed;    /* last value passed to _committed, -1 if none */
    int64_t last_added;
    uint32_t epoch; /* records of other epochs do not count */
};

struct archive_tracker {
    struct archive_tracker_part *parts;
    size_t nparts, cap;
    uint32_t epochs; /* last epoch handed out: unique across partitions and resets */
};

/* A fresh epoch; never 0 (0 means "unknown partition"). */
static uint32_t archive_tracker_new_epoch(struct archive_tracker *t) {
    if (++t->epochs == 0)
        t->epochs = 1;
    return t->epochs;
}

/* Empties p and starts epoch `epoch` (the ring is kept for reuse). */
static void archive_tracker_clear(struct archive_tracker_part *p, uint32_t epoch) {
    p->head = 0;
    p->count = 0;
    p->next = -1;
    p->next_anchor = 0;
    p->committed = -1;
    p->last_added = -1;
    p->epoch = epoch;
}

struct archive_tracker *archive_tracker_create(void) {
    return calloc(1, sizeof(struct archive_tracker));
}

void archive_tracker_destroy(struct archive_tracker *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].ring);
    free(t->parts);
    free(t);
}

static struct archive_tracker_part *archive_tracker_find(const struct archive_tracker *t,
                                                         int32_t partition) {
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].partition == partition)
            return &t->parts[i];
    return NULL;
}

/* The partition's state, created on first use; NULL when out of memory. */
static struct archive_tracker_part *archive_tracker_get(struct archive_tracker *t,
                                                        int32_t partition) {
    struct archive_tracker_part *p = archive_tracker_find(t, partition);
    if (p)
        return p;
    if (t->nparts == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct archive_tracker_part *np = realloc(t->parts, cap * sizeof *np);
        if (!np)
            return NULL;
        t->parts = np;
        t->cap = cap;
    }
    p = &t->parts[t->nparts++];
    memset(p, 0, sizeof *p);
    p->partition = partition;
    archive_tracker_clear(p, archive_tracker_new_epoch(t));
    return p;
}

static struct archive_tracker_entry *archive_tracker_at(struct archive_tracker_part *p, size_t i) {
    return &p->ring[(p->head + i) % p->cap];
}

/* Doubles the ring, unrolling it so head becomes 0. 0 or -1. */
static int archive_tracker_grow(struct archive_tracker_part *p) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    struct archive_tracker_entry *r = malloc(cap * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < p->count; i++)
        r[i] = *archive_tracker_at(p, i);
    free(p->ring);
    p->ring = r;
    p->cap = cap;
    p->head = 0;
    return 0;
}

int archive_tracker_add(struct archive_tracker *t, int32_t partition, int64_t offset,
                        uint64_t anchor, uint32_t *epoch) {
    struct archive_tracker_part *p = archive_tracker_get(t, partition);
    if (!p || offset < 0 || offset <= p->last_added)
        return -1;
    if (p->count == p->cap && archive_tracker_grow(p) != 0)
        return -1;
    struct archive_tracker_entry *e = archive_tracker_at(p, p->count);
    e->offset = offset;
    e->anchor = anchor;
    e->done = 0;
    p->count++;
    p->last_added = offset;
    *epoch = p->epoch;
    return 0;
}

int archive_tracker_done(struct archive_tracker *t, int32_t partition, uint32_t epoch,
                         int64_t offset) {
    struct archive_tracker_part *p = archive_tracker_find(t, partition);
    size_t lo = 0, hi;
    if (p && epoch != p->epoch)
        return 1; /* a record of the log before a reset: its offset means nothing now */
    if (!p || p->count == 0)
        return -1;
    /* offsets increase along the ring: binary search */
    hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (archive_tracker_at(p, mid)->offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->count || archive_tracker_at(p, lo)->offset != offset)
        return -1;
    archive_tracker_at(p, lo)->done = 1;
    while (p->count > 0 && archive_tracker_at(p, 0)->done) {
        p->next = archive_tracker_at(p, 0)->offset + 1;
        p->next_anchor = archive_tracker_at(p, 0)->anchor;
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    return 0;
}

int64_t archive_tracker_committable(const struct archive_tracker *t, int32_t partition,
                                    uint64_t *anchor) {
    const struct archive_tracker_part *p = archive_tracker_find(t, partition);
    if (!p || p->next < 0 || p->next == p->committed)
        return -1;
    if (anchor)
        *anchor = p->next_anchor;
    return p->next;
}

void archive_tracker_committed(struct archive_tracker *t, int32_t partition, int64_t next) {
    struct archive_tracker_part *p = archive_tracker_find(t, partition);
    if (p)
        p->committed = next;
}

size_t archive_tracker_pending(const struct archive_tracker *t) {
    size_t n = 0;
    for (size_t i = 0; i < t->nparts; i++)
        n += t->parts[i].count;
    return n;
}

size_t archive_tracker_pending_partition(const struct archive_tracker *t, int32_t partition) {
    const struct archive_tracker_part *p = archive_tracker_find(t, partition);
    return p ? p->count : 0;
}

int archive_tracker_reset(struct archive_tracker *t, int32_t partition) {
    struct archive_tracker_part *p = archive_tracker_find(t, partition);
    if (!p)
        return archive_tracker_get(t, partition) ? 0 : -1; /* created in a new epoch */
    archive_tracker_clear(p, archive_tracker_new_epoch(t));
    return 0;
}

uint32_t archive_tracker_epoch(const struct archive_tracker *t, int32_t partition) {
    const struct archive_tracker_part *p = archive_tracker_find(t, partition);
    return p ? p->epoch : 0;
}

void archive_tracker_remove(struct archive_tracker *t, int32_t partition) {
    struct archive_tracker_part *p = archive_tracker_find(t, partition);
    if (!p)
        return;
    free(p->ring);
    *p = t->parts[--t->nparts];
}
