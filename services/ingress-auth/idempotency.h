/* idempotency: at most one publish per (client_id, order_id), in Redis.
 *
 * Key: <prefix>idem:<client_id>:<order_id> (a hash). States:
 * - in flight: {state=pending, hash=<sha256 hex of the raw body>}, with a
 *   short TTL (claim_ttl_ms, longer than the publish deadline) so a crashed
 *   replica cannot block an order for long;
 * - done: {state=done, hash, status, body}, kept result_ttl_s (24 h default).
 * Claim, complete and release are each one Lua script (atomic, loaded once,
 * run by SHA): a claim never overwrites another request's claim; release
 * only deletes a pending claim with the same body hash; complete stores over
 * a pending claim with the same body hash, or over nothing when that claim
 * already expired (the order was published, so recording it still prevents
 * a second publish), never over another body's claim or a finished record. */
#ifndef INGRESS_IDEMPOTENCY_H
#define INGRESS_IDEMPOTENCY_H

#include <stddef.h>

#include "redis_pool.h"

enum ingress_idem_claim_result {
    INGRESS_IDEM_CLAIMED,      /* ours: publish, then complete or release */
    INGRESS_IDEM_IN_PROGRESS,  /* same body still pending elsewhere: 409 */
    INGRESS_IDEM_REPLAY,       /* same body already done: replay the stored answer */
    INGRESS_IDEM_CONFLICT,     /* different body (pending or done): 422 */
    INGRESS_IDEM_UNAVAILABLE,  /* Redis down or too slow: apply the policy */
    INGRESS_IDEM_RATE_LIMITED, /* ingress_idem_claim_rated only: 429, nothing claimed */
};

/* The stored answer of a finished order. */
struct ingress_idem_answer {
    int status; /* HTTP status, e.g. 202 */
    char *body; /* malloc'd, NUL-terminated; exact bytes sent the first time */
    size_t body_len;
};

/* body_sha256_hex: 64 lowercase hex chars + NUL of the raw request body.
 * On REPLAY fills *answer (caller frees with ingress_idem_answer_release);
 * otherwise leaves it empty. */
enum ingress_idem_claim_result ingress_idem_claim(struct ingress_redis *r, const char *client_id,
                                                  const char *order_id, const char *body_sha256_hex,
                                                  unsigned claim_ttl_ms,
                                                  struct ingress_idem_answer *answer);

/* The client's rate limit (ratelimit.h) and the claim above in one Redis
 * round trip (one Lua script): takes a token from client_id's bucket and,
 * only if it got one, claims. Returns RATE_LIMITED with *retry_after_s (if
 * not NULL) set as ingress_ratelimit_take would, or the claim's result.
 * UNAVAILABLE means neither step is known to have happened. rate must be
 * finite and > 0 (else UNAVAILABLE, logged: use ingress_ratelimit_take,
 * which treats rate <= 0 as unlimited); burst < 1 counts as 1. */
enum ingress_idem_claim_result
ingress_idem_claim_rated(struct ingress_redis *r, const char *client_id, const char *order_id,
                         const char *body_sha256_hex, unsigned claim_ttl_ms, double rate,
                         double burst, unsigned *retry_after_s, struct ingress_idem_answer *answer);

/* Records the final answer of a claimed order for result_ttl_s seconds.
 * Returns 0 (also when the record was no longer ours: logged at warn), or -1
 * when Redis failed or an argument was invalid (logged; the order is
 * published, so the claim then simply expires). */
int ingress_idem_complete(struct ingress_redis *r, const char *client_id, const char *order_id,
                          const char *body_sha256_hex, int status, const char *body,
                          size_t body_len, unsigned result_ttl_s);

/* Drops our pending claim after a failed publish so that a retry can
 * succeed. Returns 0 (also when the claim was already gone), -1 on a
 * Redis failure (the claim then expires after claim_ttl_ms). */
int ingress_idem_release(struct ingress_redis *r, const char *client_id, const char *order_id,
                         const char *body_sha256_hex);

void ingress_idem_answer_release(struct ingress_idem_answer *answer);

#endif
