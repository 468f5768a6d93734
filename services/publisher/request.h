/* request: one publish request on its way from the HTTP server through the
 * queue to the Kafka thread, and its outcome on the way back.
 *
 * Ownership: the HTTP server owns the struct and its body for the whole
 * life of the request. Once queued, the Kafka thread reads the inputs, sets
 * `outcome` (and `reason`) and calls done(req) exactly once; after that call
 * it never touches the request again. */
#ifndef PUBLISHER_REQUEST_H
#define PUBLISHER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "cloudevents.h"

enum publisher_outcome {
    PUBLISHER_PENDING = 0,
    PUBLISHER_COMMITTED,   /* every copy is in a committed transaction: 202 */
    PUBLISHER_UNAVAILABLE, /* not committed (or not known to be): 503 */
};

#define PUBLISHER_REQUEST_ID_MAX 128 /* X-Request-Id, bytes without NUL */

struct publisher_request;
typedef void (*publisher_done_fn)(struct publisher_request *req);

struct publisher_request {
    /* inputs, fixed before the request is queued */
    char client_id[PUBLISHER_CE_ID_MAX + 1];
    char order_id[PUBLISHER_CE_ID_MAX + 1];
    char event_id[37];
    char ce_time[PUBLISHER_CE_TIME_LEN + 1];
    char traceparent[PUBLISHER_TRACEPARENT_LEN + 1];
    char trace_id[PUBLISHER_TRACE_ID_LEN + 1];
    char request_id[PUBLISHER_REQUEST_ID_MAX + 1];
    const char *body; /* the Kafka value, body_len bytes; owned by the HTTP side */
    size_t body_len;
    uint32_t subs_mask;  /* bit i: publish to subscription i */
    long long queued_ms; /* set by publisher_batcher_submit (monotonic) */

    /* result, set by the Kafka thread before done() */
    enum publisher_outcome outcome;
    char reason[128]; /* short, secret-free explanation of a 503 */

    /* completion */
    publisher_done_fn done;
    void *done_ctx;
    struct publisher_request *next; /* queue link, owned by the queue */
};

#endif
