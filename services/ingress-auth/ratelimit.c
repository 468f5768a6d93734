/* ratelimit: per-client token bucket, one Lua script run atomically in Redis. */
#include "ratelimit.h"

#include "redis_keys.h"
#include "redis_reply.h"
#include "redis_script.h"
#include "redis_conn.h"

#include "log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum ingress_rl_result ingress_ratelimit_take(struct ingress_redis *r, const char *client_id,
                                              double rate, double burst, unsigned *retry_after_s) {
    char key[INGRESS_REDIS_KEY_MAX + 1], rate_s[32], burst_s[32];
    if (rate <= 0)
        return INGRESS_RL_ALLOWED;
    if (!isfinite(rate) || !isfinite(burst)) {
        LOG_ERROR("rate limit for client %s: rate and burst must be finite", client_id);
        return INGRESS_RL_UNAVAILABLE;
    }
    /* A bucket smaller than one token could never grant a request. */
    if (burst < 1)
        burst = 1;
    if (ingress_redis_key_ratelimit(ingress_redis_key_prefix(r), client_id, key, sizeof key) != 0) {
        LOG_ERROR("rate limit: client id cannot form a Redis key");
        return INGRESS_RL_UNAVAILABLE;
    }
    snprintf(rate_s, sizeof rate_s, "%.17g", rate);
    snprintf(burst_s, sizeof burst_s, "%.17g", burst);
    const char *args[3] = {key, rate_s, burst_s};
    size_t lens[3] = {strlen(key), strlen(rate_s), strlen(burst_s)};
    redisReply *reply = ingress_redis_script_run(r, INGRESS_SCRIPT_RATELIMIT, 1, 3, args, lens);
    if (!reply)
        return INGRESS_RL_UNAVAILABLE;
    enum ingress_rl_result res = ingress_rl_parse_reply(reply, retry_after_s);
    if (res == INGRESS_RL_UNAVAILABLE)
        LOG_ERROR("rate limit for client %s: unexpected script reply", client_id);
    freeReplyObject(reply);
    return res;
}
