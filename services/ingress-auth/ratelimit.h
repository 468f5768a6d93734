/* ratelimit: one token bucket per client in Redis, run atomically by a Lua
 * script (loaded once, called by SHA) that reads the time from Redis itself,
 * so every ingress-auth replica shares one bucket and one clock.
 *
 * Key: <prefix>rl:<client_id> (a hash: tokens, timestamp), with a TTL of the
 * time a bucket takes to refill (capped at 30 days), so idle clients cost no
 * memory. */
#ifndef INGRESS_RATELIMIT_H
#define INGRESS_RATELIMIT_H

#include "redis_pool.h"

enum ingress_rl_result {
    INGRESS_RL_ALLOWED,
    INGRESS_RL_LIMITED,     /* answer 429 with Retry-After */
    INGRESS_RL_UNAVAILABLE, /* Redis down or too slow: apply the policy */
};

/* Takes one token from client_id's bucket (rate tokens per second, burst
 * capacity). rate <= 0 means unlimited (ALLOWED without touching Redis).
 * burst < 1 counts as 1. On LIMITED, *retry_after_s (if not NULL) is the
 * whole seconds, >= 1, after which one token will be available. */
enum ingress_rl_result ingress_ratelimit_take(struct ingress_redis *r, const char *client_id,
                                              double rate, double burst, unsigned *retry_after_s);

#endif
