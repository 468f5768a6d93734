/* idempotency: claim / complete / release of (client_id, order_id) in Redis. */
#include "idempotency.h"

#include "redis_conn.h"
#include "redis_keys.h"
#include "redis_reply.h"
#include "redis_script.h"

#include "crypto.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if h is exactly 64 lowercase hex characters. */
static int idem_hash_ok(const char *h) {
    if (!h)
        return 0;
    for (size_t i = 0; i < CRYPTO_SHA256_HEX_LEN; i++) {
        char c = h[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return h[CRYPTO_SHA256_HEX_LEN] == '\0';
}

/* Builds the order's key; logs and returns -1 on bad input (a caller bug:
 * ids and hashes are validated before Redis is asked). */
static int idem_key(struct ingress_redis *r, const char *what, const char *client_id,
                    const char *order_id, const char *hash, char *key, size_t keylen) {
    if (!idem_hash_ok(hash)) {
        LOG_ERROR("idempotency %s: body hash is not 64 lowercase hex characters", what);
        return -1;
    }
    if (ingress_redis_key_idempotency(ingress_redis_key_prefix(r), client_id, order_id, key,
                                      keylen) != 0) {
        LOG_ERROR("idempotency %s: client or order id cannot form a Redis key", what);
        return -1;
    }
    return 0;
}

enum ingress_idem_claim_result ingress_idem_claim(struct ingress_redis *r, const char *client_id,
                                                  const char *order_id, const char *body_sha256_hex,
                                                  unsigned claim_ttl_ms,
                                                  struct ingress_idem_answer *answer) {
    char key[INGRESS_REDIS_KEY_MAX + 1], ttl_s[24];
    if (answer)
        memset(answer, 0, sizeof *answer);
    if (idem_key(r, "claim", client_id, order_id, body_sha256_hex, key, sizeof key) != 0)
        return INGRESS_IDEM_UNAVAILABLE;
    if (claim_ttl_ms == 0) {
        LOG_ERROR("idempotency claim: the claim TTL must be positive");
        return INGRESS_IDEM_UNAVAILABLE;
    }
    snprintf(ttl_s, sizeof ttl_s, "%u", claim_ttl_ms);
    const char *args[3] = {key, body_sha256_hex, ttl_s};
    size_t lens[3] = {strlen(key), CRYPTO_SHA256_HEX_LEN, strlen(ttl_s)};
    redisReply *reply = ingress_redis_script_run(r, INGRESS_SCRIPT_IDEM_CLAIM, 1, 3, args, lens);
    if (!reply)
        return INGRESS_IDEM_UNAVAILABLE;
    enum ingress_idem_claim_result res = ingress_idem_parse_claim(reply, answer);
    if (res == INGRESS_IDEM_UNAVAILABLE)
        LOG_ERROR("idempotency claim for client %s order %s: unexpected script reply", client_id,
                  order_id);
    freeReplyObject(reply);
    return res;
}

enum ingress_idem_claim_result ingress_idem_claim_rated(struct ingress_redis *r,
                                                        const char *client_id, const char *order_id,
                                                        const char *body_sha256_hex,
                                                        unsigned claim_ttl_ms, double rate,
                                                        double burst, unsigned *retry_after_s,
                                                        struct ingress_idem_answer *answer) {
    char rl_key[INGRESS_REDIS_KEY_MAX + 1], key[INGRESS_REDIS_KEY_MAX + 1];
    char rate_s[32], burst_s[32], ttl_s[24];
    if (answer)
        memset(answer, 0, sizeof *answer);
    if (idem_key(r, "claim", client_id, order_id, body_sha256_hex, key, sizeof key) != 0)
        return INGRESS_IDEM_UNAVAILABLE;
    if (claim_ttl_ms == 0 || !(rate > 0) || !isfinite(rate) || !isfinite(burst)) {
        LOG_ERROR("idempotency claim: the claim TTL and the rate must be positive, rate and "
                  "burst finite");
        return INGRESS_IDEM_UNAVAILABLE;
    }
    if (burst < 1) /* a bucket smaller than one token could never grant a request */
        burst = 1;
    if (ingress_redis_key_ratelimit(ingress_redis_key_prefix(r), client_id, rl_key,
                                    sizeof rl_key) != 0) {
        LOG_ERROR("rate limit: client id cannot form a Redis key");
        return INGRESS_IDEM_UNAVAILABLE;
    }
    snprintf(rate_s, sizeof rate_s, "%.17g", rate);
    snprintf(burst_s, sizeof burst_s, "%.17g", burst);
    snprintf(ttl_s, sizeof ttl_s, "%u", claim_ttl_ms);
    const char *args[6] = {rl_key, key, rate_s, burst_s, body_sha256_hex, ttl_s};
    size_t lens[6] = {strlen(rl_key),  strlen(key),           strlen(rate_s),
                      strlen(burst_s), CRYPTO_SHA256_HEX_LEN, strlen(ttl_s)};
    redisReply *reply = ingress_redis_script_run(r, INGRESS_SCRIPT_RL_CLAIM, 2, 6, args, lens);
    if (!reply)
        return INGRESS_IDEM_UNAVAILABLE;
    enum ingress_idem_claim_result res =
        ingress_idem_parse_rated_claim(reply, retry_after_s, answer);
    if (res == INGRESS_IDEM_UNAVAILABLE)
        LOG_ERROR("rate limit and claim for client %s order %s: unexpected script reply", client_id,
                  order_id);
    freeReplyObject(reply);
    return res;
}

int ingress_idem_complete(struct ingress_redis *r, const char *client_id, const char *order_id,
                          const char *body_sha256_hex, int status, const char *body,
                          size_t body_len, unsigned result_ttl_s) {
    char key[INGRESS_REDIS_KEY_MAX + 1], status_s[8], ttl_s[24];
    if (idem_key(r, "complete", client_id, order_id, body_sha256_hex, key, sizeof key) != 0)
        return -1;
    if (status < 100 || status > 599 || (!body && body_len > 0) || result_ttl_s == 0) {
        LOG_ERROR("idempotency complete for client %s order %s: bad status, body or TTL", client_id,
                  order_id);
        return -1;
    }
    snprintf(status_s, sizeof status_s, "%d", status);
    snprintf(ttl_s, sizeof ttl_s, "%llu", (unsigned long long)result_ttl_s * 1000ULL);
    const char *args[5] = {key, body_sha256_hex, status_s, body ? body : "", ttl_s};
    size_t lens[5] = {strlen(key), CRYPTO_SHA256_HEX_LEN, strlen(status_s), body_len,
                      strlen(ttl_s)};
    redisReply *reply = ingress_redis_script_run(r, INGRESS_SCRIPT_IDEM_COMPLETE, 1, 5, args, lens);
    if (!reply) {
        LOG_WARN("idempotency complete for client %s order %s failed: the claim will expire",
                 client_id, order_id);
        return -1;
    }
    int stored = ingress_idem_parse_flag(reply);
    freeReplyObject(reply);
    if (stored < 0) {
        LOG_ERROR("idempotency complete for client %s order %s: unexpected script reply", client_id,
                  order_id);
        return -1;
    }
    if (stored == 0)
        LOG_WARN("idempotency complete for client %s order %s: not stored, the record is no "
                 "longer our pending claim",
                 client_id, order_id);
    return 0;
}

int ingress_idem_release(struct ingress_redis *r, const char *client_id, const char *order_id,
                         const char *body_sha256_hex) {
    char key[INGRESS_REDIS_KEY_MAX + 1];
    if (idem_key(r, "release", client_id, order_id, body_sha256_hex, key, sizeof key) != 0)
        return -1;
    const char *args[2] = {key, body_sha256_hex};
    size_t lens[2] = {strlen(key), CRYPTO_SHA256_HEX_LEN};
    redisReply *reply = ingress_redis_script_run(r, INGRESS_SCRIPT_IDEM_RELEASE, 1, 2, args, lens);
    if (!reply) {
        LOG_WARN("idempotency release for client %s order %s failed: the claim will expire",
                 client_id, order_id);
        return -1;
    }
    int released = ingress_idem_parse_flag(reply);
    freeReplyObject(reply);
    if (released < 0) {
        LOG_ERROR("idempotency release for client %s order %s: unexpected script reply", client_id,
                  order_id);
        return -1;
    }
    return 0;
}

void ingress_idem_answer_release(struct ingress_idem_answer *answer) {
    if (!answer)
        return;
    free(answer->body);
    memset(answer, 0, sizeof *answer);
}
