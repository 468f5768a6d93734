/* batch: bounded batch assembly (see batch.h). */
#include "batch.h"

#include "dlq.h"

#include <stdlib.h>
#include <string.h>

int billing_batch_init(struct billing_batch *b, size_t max, long wait_ms,
                       billing_msg_free_fn msg_free) {
    memset(b, 0, sizeof *b);
    b->e = calloc(max ? max : 1, sizeof *b->e);
    if (!b->e)
        return -1;
    b->max = max ? max : 1;
    b->wait_ms = wait_ms;
    b->msg_free = msg_free;
    return 0;
}

static void billing_entry_free(struct billing_batch *b, struct billing_entry *e) {
    if (e->decoded)
        order_event_release(&e->ev);
    if (e->msg && b->msg_free)
        b->msg_free(e->msg);
    memset(e, 0, sizeof *e);
}

void billing_batch_clear(struct billing_batch *b) {
    for (size_t i = 0; i < b->n; i++)
        billing_entry_free(b, &b->e[i]);
    b->n = 0;
}

void billing_batch_release(struct billing_batch *b) {
    if (b->e)
        billing_batch_clear(b);
    free(b->e);
    memset(b, 0, sizeof *b);
}

struct billing_entry *billing_batch_add(struct billing_batch *b, rd_kafka_message_t *m,
                                        int64_t now_ms) {
    if (b->n >= b->max)
        return NULL;
    if (b->n == 0)
        b->first_ms = now_ms;
    struct billing_entry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    e->msg = m;
    return e;
}

int billing_batch_ready(const struct billing_batch *b, int64_t now_ms) {
    if (b->n == 0)
        return 0;
    return b->n >= b->max || now_ms - b->first_ms >= b->wait_ms;
}

long billing_batch_wait(const struct billing_batch *b, int64_t now_ms) {
    if (b->n == 0)
        return b->wait_ms;
    if (billing_batch_ready(b, now_ms))
        return 0;
    return (long)(b->first_ms + b->wait_ms - now_ms);
}

void billing_batch_pop(struct billing_batch *b) {
    if (b->n > 0)
        billing_entry_free(b, &b->e[--b->n]);
}

size_t billing_batch_drop_partition(struct billing_batch *b, int32_t partition) {
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->e[i].msg->partition == partition) {
            billing_entry_free(b, &b->e[i]);
            dropped++;
        } else {
            if (kept != i)
                b->e[kept] = b->e[i];
            kept++;
        }
    }
    b->n = kept;
    return dropped;
}

size_t billing_batch_offsets(const struct billing_batch *b, struct billing_batch_offset *out,
                             size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->e[i].msg;
        size_t k = 0;
        while (k < n && out[k].partition != m->partition)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            out[n].partition = m->partition;
            out[n].next = m->offset + 1;
            out[n].last = m;
            n++;
        } else if (m->offset + 1 > out[k].next) {
            out[k].next = m->offset + 1;
            out[k].last = m;
        }
    }
    return n;
}

int billing_batch_decode(struct billing_entry *entry, uint32_t max_attempts) {
    enum order_event_status st = ORDER_EVENT_OK;
    entry->attempts = 0;
    while (entry->attempts < max_attempts) {
        st = order_event_decode(entry->msg, &entry->ev, entry->why, sizeof entry->why);
        if (st == ORDER_EVENT_NO_MEMORY)
            return -1;
        if (st == ORDER_EVENT_OK) {
            entry->decoded = 1;
            entry->state = BILLING_ENTRY_PENDING;
            entry->ev.partition = entry->msg->partition;
            entry->ev.offset = entry->msg->offset;
            return 0;
        }
        entry->attempts++;
    }
    entry->state = BILLING_ENTRY_POISON;
    entry->reason = st == ORDER_EVENT_UNDECODABLE ? DLQ_REASON_UNDECODABLE : DLQ_REASON_INVALID;
    return 0;
}
