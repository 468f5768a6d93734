/* limbo: orders answered 503 while their transaction's commit went on.
 *
 * When commit_transaction times out retriably the outcome is unknown: the
 * batch is answered 503 (never a 202 for an uncommitted order), but the
 * commit is resumed and may still succeed. ingress-auth then releases its
 * idempotency claim and the client retries. Without this table the retry
 * would publish the order a second time, with a new event id. With it:
 * - while the commit is still unresolved, a retry of the same order gets
 *   503 again (nothing is published);
 * - once the commit succeeded, a retry with the same body gets 202 with the
 *   ORIGINAL event id and time (nothing is published);
 * - once it failed (aborted), the entries are dropped and a retry publishes.
 * Entries live ttl_ms, at most `capacity` of them (the oldest go first).
 * This covers retries reaching the same publisher process; see README
 * "Delivery guarantees" for what remains (a publisher restart in between).
 * Thread-safe: HTTP threads look up, the Kafka thread holds and resolves. */
#ifndef PUBLISHER_LIMBO_H
#define PUBLISHER_LIMBO_H

#include <stddef.h>

#include "request.h"

enum publisher_limbo_state {
    PUBLISHER_LIMBO_NONE = 0,  /* unknown order, or another body: publish */
    PUBLISHER_LIMBO_PENDING,   /* its commit is unresolved: answer 503 */
    PUBLISHER_LIMBO_COMMITTED, /* committed: answer 202 with the stored ids */
};

struct publisher_limbo;

/* capacity >= 1, ttl_ms > 0. NULL when out of memory. */
struct publisher_limbo *publisher_limbo_create(size_t capacity, long long ttl_ms);
void publisher_limbo_destroy(struct publisher_limbo *l);

/* Kafka thread `owner` (the producer's index), before answering the batch
 * 503: remembers each request's key, body hash, event id and time as
 * PENDING. Returns how many were remembered (fewer only when out of memory
 * or hashing fails). */
size_t publisher_limbo_hold(struct publisher_limbo *l, unsigned owner,
                            struct publisher_request *const *reqs, size_t n, long long now_ms);

/* Kafka thread `owner`, once its resumed commit finished: every PENDING
 * entry it held becomes COMMITTED (committed != 0) or is dropped; the
 * entries of other producers (owners) stay as they are. */
void publisher_limbo_resolve(struct publisher_limbo *l, unsigned owner, int committed);

/* HTTP threads: the state of (client_id, order_id) with this body. On
 * COMMITTED, copies the original event id and ce_time into req. */
enum publisher_limbo_state publisher_limbo_find(struct publisher_limbo *l,
                                                struct publisher_request *req, const char *body,
                                                size_t body_len, long long now_ms);

/* Entries currently held (any state, expired ones included until reused). */
size_t publisher_limbo_size(struct publisher_limbo *l);

#endif
