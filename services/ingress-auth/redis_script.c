/* redis_script: the Lua scripts of ingress-auth, run by SHA with NOSCRIPT recovery. */
#include "redis_script.h"

#include "redis_conn.h"

#include "errmsg.h"

#include <stdio.h>
#include <string.h>

/* Token bucket. KEYS[1] a hash {tokens, ts (Redis time, microseconds)};
 * ARGV rate (tokens/s), burst. Leaves `allowed` (1|0) and `wait_ms` (ms
 * until one token) in locals for the caller's return.
 * The TTL is the time an empty bucket takes to refill (then it would be
 * full anyway, which is what a missing key means), capped at 30 days. */
#define RL_BUCKET_SRC                                                                              \
    "local rate = tonumber(ARGV[1])\n"                                                             \
    "local burst = tonumber(ARGV[2])\n"                                                            \
    "local t = redis.call('TIME')\n"                                                               \
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                                      \
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"                                     \
    "local tokens = tonumber(b[1])\n"                                                              \
    "local ts = tonumber(b[2])\n"                                                                  \
    "if tokens == nil or ts == nil then\n"                                                         \
    "  tokens = burst\n"                                                                           \
    "  ts = now\n"                                                                                 \
    "end\n"                                                                                        \
    "if now > ts then\n" /* a clock going back never adds tokens */                                \
    "  tokens = tokens + (now - ts) * rate / 1000000\n"                                            \
    "  ts = now\n"                                                                                 \
    "end\n"                                                                                        \
    "if tokens > burst then tokens = burst end\n"                                                  \
    "local allowed = 0\n"                                                                          \
    "local wait_ms = 0\n"                                                                          \
    "if tokens >= 1 then\n"                                                                        \
    "  tokens = tokens - 1\n"                                                                      \
    "  allowed = 1\n"                                                                              \
    "else\n"                                                                                       \
    "  wait_ms = math.ceil((1 - tokens) * 1000 / rate)\n"                                          \
    "end\n"                                                                                        \
    "redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),\n"                      \
    "           'ts', string.format('%d', ts))\n"                                                  \
    "local ttl = math.ceil(burst * 1000 / rate) + 1000\n"                                          \
    "if ttl > 2592000000 then ttl = 2592000000 end\n"                                              \
    "redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))\n"

/* Claim of the order hash in local `key`, with body hash `hash` and claim
 * TTL `ttl` (ms). Never overwrites an existing record. Returns {'claimed'},
 * {'in_progress'}, {'conflict'} or {'replay', status, body}. */
#define IDEM_CLAIM_SRC                                                                             \
    "local cur = redis.call('HMGET', key, 'state', 'hash', 'status', 'body')\n"                    \
    "if not cur[1] then\n"                                                                         \
    "  redis.call('HSET', key, 'state', 'pending', 'hash', hash)\n"                                \
    "  redis.call('PEXPIRE', key, ttl)\n"                                                          \
    "  return {'claimed'}\n"                                                                       \
    "end\n"                                                                                        \
    "if cur[2] ~= hash then return {'conflict'} end\n"                                             \
    "if cur[1] == 'done' then return {'replay', cur[3], cur[4]} end\n"                             \
    "return {'in_progress'}\n"

/* KEYS[1] bucket; ARGV rate, burst. Returns {allowed 1|0, wait_ms}. */
static const char RL_TAKE[] = RL_BUCKET_SRC "return {allowed, wait_ms}\n";

/* KEYS[1] the order's hash; ARGV body hash, claim TTL (ms). */
static const char IDEM_CLAIM[] =
    "local key, hash, ttl = KEYS[1], ARGV[1], ARGV[2]\n" IDEM_CLAIM_SRC;

/* Rate limit, then claim, in one round trip. KEYS[1] bucket, KEYS[2] the
 * order's hash; ARGV rate, burst, body hash, claim TTL (ms). A request the
 * bucket refuses claims nothing: {'limited', wait_ms}; else as IDEM_CLAIM. */
static const char RL_CLAIM[] =
    RL_BUCKET_SRC "if allowed == 0 then return {'limited', wait_ms} end\n"
                  "local key, hash, ttl = KEYS[2], ARGV[3], ARGV[4]\n" IDEM_CLAIM_SRC;

/* KEYS[1]; ARGV body hash, status, body, TTL (ms). Stores the answer over
 * our pending claim, or over nothing when the claim already expired (the
 * order is published: recording it still prevents a second publish); never
 * over another body's claim or a finished record. Returns 1 stored, 0 not. */
static const char IDEM_COMPLETE[] =
    "local cur = redis.call('HMGET', KEYS[1], 'state', 'hash')\n"
    "if cur[1] and (cur[1] ~= 'pending' or cur[2] ~= ARGV[1]) then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'state', 'done', 'hash', ARGV[1], 'status', ARGV[2],\n"
    "           'body', ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "return 1\n";

/* KEYS[1]; ARGV body hash. Deletes only a pending claim with that hash.
 * Returns 1 released, 0 nothing of ours was there. */
static const char IDEM_RELEASE[] = "local cur = redis.call('HMGET', KEYS[1], 'state', 'hash')\n"
                                   "if cur[1] == 'pending' and cur[2] == ARGV[1] then\n"
                                   "  redis.call('DEL', KEYS[1])\n"
                                   "  return 1\n"
                                   "end\n"
                                   "return 0\n";

static const char *const SCRIPT_SRC[INGRESS_SCRIPT_COUNT] = {RL_TAKE, IDEM_CLAIM, IDEM_COMPLETE,
                                                             IDEM_RELEASE, RL_CLAIM};
static const char *const SCRIPT_NAME[INGRESS_SCRIPT_COUNT] = {
    "ratelimit_take", "idempotency_claim", "idempotency_complete", "idempotency_release",
    "ratelimit_claim"};

/* Most arguments any script takes (keys included). */
#define SCRIPT_ARGS_MAX 8

const char *ingress_redis_script_source(enum ingress_redis_script id) {
    if ((int)id < 0 || id >= INGRESS_SCRIPT_COUNT)
        return NULL;
    return SCRIPT_SRC[id];
}

/* Errors after which the connection must be replaced: the server is
 * loading, or is a replica now (failover): a new connection may reach the
 * new primary. */
static int script_error_needs_reconnect(const char *msg) {
    return strncmp(msg, "READONLY", 8) == 0 || strncmp(msg, "LOADING", 7) == 0 ||
           strncmp(msg, "MASTERDOWN", 10) == 0;
}

/* SCRIPT LOAD on conn; caches and returns the SHA in sha. 0, or -1 with
 * *broken set when the connection failed (the failure is noted). */
static int script_load(struct ingress_redis *r, struct ingress_redis_conn *conn,
                       enum ingress_redis_script id, char sha[41], int *broken) {
    char why[256];
    redisReply *reply = redisCommand(conn->ctx, "SCRIPT LOAD %s", SCRIPT_SRC[id]);
    if (!reply) {
        errmsg_set(why, sizeof why, "SCRIPT LOAD %s: %s", SCRIPT_NAME[id], conn->ctx->errstr);
        *broken = 1;
        ingress_redis_note_failure(r, why);
        return -1;
    }
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        errmsg_set(why, sizeof why, "SCRIPT LOAD %s: %s", SCRIPT_NAME[id],
                   reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        *broken = reply->type == REDIS_REPLY_ERROR && script_error_needs_reconnect(reply->str);
        freeReplyObject(reply);
        ingress_redis_note_failure(r, why);
        return -1;
    }
    memcpy(sha, reply->str, 40);
    sha[40] = '\0';
    freeReplyObject(reply);
    ingress_redis_sha_set(r, id, sha);
    return 0;
}

redisReply *ingress_redis_script_run(struct ingress_redis *r, enum ingress_redis_script id,
                                     int nkeys, int nargs, const char *const *args,
                                     const size_t *lens) {
    const char *argv[SCRIPT_ARGS_MAX + 3];
    size_t argvlen[SCRIPT_ARGS_MAX + 3];
    char sha[41], nkeys_s[16], why[256];
    int broken = 0;
    redisReply *reply = NULL;
    struct ingress_redis_conn *conn;

    if ((int)id < 0 || id >= INGRESS_SCRIPT_COUNT || nargs < nkeys || nkeys < 0 ||
        nargs > SCRIPT_ARGS_MAX)
        return NULL;
    conn = ingress_redis_borrow(r);
    if (!conn)
        return NULL;
    if (!ingress_redis_sha_get(r, id, sha) && script_load(r, conn, id, sha, &broken) != 0)
        goto fail;
    snprintf(nkeys_s, sizeof nkeys_s, "%d", nkeys);
    argv[0] = "EVALSHA";
    argvlen[0] = 7;
    argv[1] = sha;
    argvlen[1] = 40;
    argv[2] = nkeys_s;
    argvlen[2] = strlen(nkeys_s);
    for (int i = 0; i < nargs; i++) {
        argv[3 + i] = args[i];
        argvlen[3 + i] = lens[i];
    }
    for (int attempt = 0;; attempt++) {
        reply = redisCommandArgv(conn->ctx, nargs + 3, argv, argvlen);
        if (!reply) {
            errmsg_set(why, sizeof why, "EVALSHA %s: %s", SCRIPT_NAME[id], conn->ctx->errstr);
            broken = 1;
            ingress_redis_note_failure(r, why);
            goto fail;
        }
        if (reply->type != REDIS_REPLY_ERROR)
            break;
        /* Redis restarted or SCRIPT FLUSH: load again (same SHA), retry once. */
        if (attempt == 0 && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(reply);
            reply = NULL;
            if (script_load(r, conn, id, sha, &broken) != 0)
                goto fail;
            continue;
        }
        errmsg_set(why, sizeof why, "%s: %s", SCRIPT_NAME[id], reply->str);
        broken = script_error_needs_reconnect(reply->str);
        ingress_redis_note_failure(r, why);
        goto fail;
    }
    ingress_redis_give_back(r, conn, 0);
    ingress_redis_note_success(r);
    return reply;
fail:
    if (reply)
        freeReplyObject(reply);
    ingress_redis_give_back(r, conn, broken);
    return NULL;
}
