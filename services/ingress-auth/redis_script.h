/* redis_script: ingress-auth's Lua scripts, kept in one place, and the one
 * way to run them: EVALSHA with the SHA from SCRIPT LOAD (loaded once per
 * pool, on first use), reloading and retrying once on NOSCRIPT (Redis
 * restarted or its script cache flushed). Scripts read the time from Redis
 * (TIME), never from the caller, so every replica shares one clock. */
#ifndef INGRESS_REDIS_SCRIPT_H
#define INGRESS_REDIS_SCRIPT_H

#include <hiredis.h>
#include <stddef.h>

#include "redis_pool.h"

enum ingress_redis_script {
    INGRESS_SCRIPT_RATELIMIT,     /* token bucket take */
    INGRESS_SCRIPT_IDEM_CLAIM,    /* claim or report pending / done / conflict */
    INGRESS_SCRIPT_IDEM_COMPLETE, /* pending (or expired) claim -> done */
    INGRESS_SCRIPT_IDEM_RELEASE,  /* drop our own pending claim */
    INGRESS_SCRIPT_RL_CLAIM,      /* token bucket take, then claim if allowed */
    INGRESS_SCRIPT_COUNT
};

/* The Lua source of script `id` (static), or NULL for an unknown id. */
const char *ingress_redis_script_source(enum ingress_redis_script id);

/* Runs script `id` with nkeys keys followed by the other arguments (args[i]
 * of lens[i] bytes, nargs in all, keys first). Returns the reply, which the
 * caller frees with freeReplyObject and which is never an error reply; or
 * NULL when Redis is unavailable, too slow, or answered an error (logged:
 * the script name and Redis' message, never argument values). */
redisReply *ingress_redis_script_run(struct ingress_redis *r, enum ingress_redis_script id,
                                     int nkeys, int nargs, const char *const *args,
                                     const size_t *lens);

#endif
