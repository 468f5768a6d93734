/* queue: the bounded FIFO between the HTTP threads (producers) and the Kafka
 * thread (single consumer), which takes requests out in batches.
 *
 * A full or closed queue refuses new requests at once, so the HTTP side can
 * answer 503 instead of piling up work (back-pressure). Requests are linked
 * through their `next` field: the queue allocates nothing per request. */
#ifndef PUBLISHER_QUEUE_H
#define PUBLISHER_QUEUE_H

#include <stddef.h>

struct publisher_request;
struct publisher_queue;

#define PUBLISHER_QUEUE_FULL (-1)
#define PUBLISHER_QUEUE_CLOSED (-2)

/* Creates an empty queue holding at most `capacity` (>= 1) requests. Returns
 * NULL on failure. Free with publisher_queue_destroy. */
struct publisher_queue *publisher_queue_create(size_t capacity);

/* Frees the queue. Requests still queued are NOT completed: drain them with
 * publisher_queue_take first. NULL is a no-op. */
void publisher_queue_destroy(struct publisher_queue *q);

/* Appends `req` (borrowed until taken). Returns 0, PUBLISHER_QUEUE_FULL or
 * PUBLISHER_QUEUE_CLOSED. Thread-safe. */
int publisher_queue_push(struct publisher_queue *q, struct publisher_request *req);

/* Takes up to `max` requests, oldest first, into out[]. Waits up to wait_ms
 * (negative: no limit) for the first one; then, while fewer than `max` are
 * queued, lingers up to linger_ms more for others to join the batch (not
 * after close). Returns how many were taken: 0 on timeout, or when the queue
 * is closed and empty. */
size_t publisher_queue_take(struct publisher_queue *q, struct publisher_request **out, size_t max,
                            long linger_ms, long wait_ms);

/* Refuses further pushes and wakes a waiting taker; queued requests can
 * still be taken. Idempotent. */
void publisher_queue_close(struct publisher_queue *q);

/* Number of queued requests, and whether the queue is closed (snapshots). */
size_t publisher_queue_len(struct publisher_queue *q);
int publisher_queue_is_closed(struct publisher_queue *q);

#endif
