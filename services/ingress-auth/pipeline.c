/* pipeline: auth -> validation -> rate limit + idempotency claim (one Redis
 * round trip; the limit still answers first) -> publish -> complete. */
#include "pipeline.h"

#include "answer.h"
#include "auth.h"
#include "clients.h"
#include "crypto.h"
#include "forward.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"
#include "order_validate.h"
#include "ratelimit.h"
#include "stats.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Warning throttle for the Redis-down policy: one line per interval, with
 * the number of requests that hit it meanwhile, so an outage cannot flood
 * the logs. */
static atomic_llong ingress_pipeline_last_warn;
static atomic_long ingress_pipeline_suppressed;

static void ingress_pipeline_redis_down(const struct ingress_pipeline *p, const char *op) {
    ingress_stats_count(p->stats, p->stats ? p->stats->redis_errors : NULL, op);
    if (p->policy == INGRESS_REDIS_FAIL_OPEN)
        ingress_stats_count(p->stats, p->stats ? p->stats->redis_bypassed : NULL, op);
    long long now = (long long)time(NULL);
    long long last = atomic_load(&ingress_pipeline_last_warn);
    if (now - last >= INGRESS_PIPELINE_WARN_INTERVAL_S &&
        atomic_compare_exchange_strong(&ingress_pipeline_last_warn, &last, now)) {
        long more = atomic_exchange(&ingress_pipeline_suppressed, 0);
        LOG_WARN("Redis unavailable for %s: policy %s (%ld more such requests since the last "
                 "warning)",
                 op,
                 p->policy == INGRESS_REDIS_FAIL_OPEN ? "fail-open, check skipped"
                                                      : "fail-closed, answering 503",
                 more);
    } else {
        atomic_fetch_add(&ingress_pipeline_suppressed, 1);
    }
}

static void ingress_pipeline_unavailable(const struct ingress_pipeline *p,
                                         struct ingress_answer *ans) {
    ingress_answer_error(ans, 503, "unavailable", "try again later", NULL, p->retry_after_s);
}

/* 0 and the client (from the acquired registry) when authenticated; else
 * fills ans with 401 (or 503 for an internal error) and returns -1. */
static int ingress_pipeline_auth(const struct ingress_pipeline *p,
                                 const struct ingress_pipeline_request *r,
                                 const struct ingress_clients *reg,
                                 const struct ingress_client **client, struct ingress_answer *ans) {
    enum ingress_auth_failure why = INGRESS_AUTH_OK;
    if (ingress_auth_check(reg, r->client_id, r->timestamp, r->signature, r->body, r->body_len,
                           time(NULL), p->window_s, &why) == 0) {
        *client = ingress_clients_find(reg, r->client_id);
        if (*client)
            return 0;
        why = INGRESS_AUTH_INTERNAL_ERROR;
    }
    const char *name = ingress_auth_failure_name(why);
    ingress_stats_count(p->stats, p->stats ? p->stats->auth_failures : NULL, name);
    /* The client id is not secret and helps operators; the header may be
     * anything, so only a well-formed one is logged. */
    LOG_INFO("unauthorized: %s (client %s)", name,
             ingress_client_id_valid(r->client_id) ? r->client_id : "-");
    if (why == INGRESS_AUTH_INTERNAL_ERROR)
        ingress_pipeline_unavailable(p, ans);
    else
        ingress_answer_error(ans, 401, "unauthorized", INGRESS_UNAUTHORIZED_MESSAGE, NULL, 0);
    return -1;
}

/* Applies a rate-limit outcome: 0 when the client may go on (allowed, or
 * Redis down and fail-open); else fills ans (429 or 503) and returns -1. */
static int ingress_pipeline_rate_apply(const struct ingress_pipeline *p,
                                       const struct ingress_client *client,
                                       enum ingress_rl_result res, unsigned retry,
                                       struct ingress_answer *ans) {
    switch (res) {
    case INGRESS_RL_ALLOWED:
        return 0;
    case INGRESS_RL_LIMITED:
        if (p->stats)
            metrics_child_inc(p->stats->rate_limited);
        LOG_INFO("rate limited: client %s, retry after %u s", client->id, retry);
        ingress_answer_error(ans, 429, "rate_limited", "rate limit exceeded", NULL,
                             retry > 0 ? retry : 1);
        return -1;
    case INGRESS_RL_UNAVAILABLE:
    default:
        ingress_pipeline_redis_down(p, "ratelimit");
        if (p->policy == INGRESS_REDIS_FAIL_OPEN)
            return 0;
        ingress_pipeline_unavailable(p, ans);
        return -1;
    }
}

/* Takes a token alone (one Redis round trip): 0 or -1 as above. */
static int ingress_pipeline_rate(const struct ingress_pipeline *p,
                                 const struct ingress_client *client, struct ingress_answer *ans) {
    unsigned retry = 1;
    enum ingress_rl_result res = ingress_ratelimit_take(
        p->redis, client->id, client->rate_per_second, (double)client->burst, &retry);
    return ingress_pipeline_rate_apply(p, client, res, retry, ans);
}

/* The rate limit and the claim of a valid order. Both are one Redis script
 * (one round trip instead of two) when the client has a finite rate;
 * otherwise the token bucket is asked alone first, as for invalid orders.
 * Returns the claim result, or INGRESS_IDEM_RATE_LIMITED when ans holds the
 * answer already (429, or 503 with Redis down and fail-closed). A Redis
 * outage counts, logs and decides exactly as the two separate calls did:
 * "ratelimit" first, then (fail-open) "idempotency". */
static enum ingress_idem_claim_result ingress_pipeline_admit(const struct ingress_pipeline *p,
                                                             const struct ingress_client *client,
                                                             const char *order_id, const char *hash,
                                                             struct ingress_idem_answer *stored,
                                                             struct ingress_answer *ans) {
    double rate = client->rate_per_second, burst = (double)client->burst;
    if (!(rate > 0) || !isfinite(rate) || !isfinite(burst)) {
        if (ingress_pipeline_rate(p, client, ans) != 0)
            return INGRESS_IDEM_RATE_LIMITED;
        return ingress_idem_claim(p->redis, client->id, order_id, hash, p->claim_ttl_ms, stored);
    }
    unsigned retry = 1;
    enum ingress_idem_claim_result res = ingress_idem_claim_rated(
        p->redis, client->id, order_id, hash, p->claim_ttl_ms, rate, burst, &retry, stored);
    if (res == INGRESS_IDEM_RATE_LIMITED) {
        ingress_pipeline_rate_apply(p, client, INGRESS_RL_LIMITED, retry, ans);
        return INGRESS_IDEM_RATE_LIMITED;
    }
    if (res == INGRESS_IDEM_UNAVAILABLE &&
        ingress_pipeline_rate_apply(p, client, INGRESS_RL_UNAVAILABLE, 1, ans) != 0)
        return INGRESS_IDEM_RATE_LIMITED;
    return res;
}

/* Publishes and fills ans with 202 or 503. Returns 1 if published. */
static int ingress_pipeline_publish(const struct ingress_pipeline *p,
                                    const struct ingress_pipeline_request *r,
                                    const struct ingress_client *client, const char *canonical,
                                    const char *order_id, struct ingress_answer *ans) {
    struct ingress_forward_outcome out;
    if (ingress_forward_publish(p->forward, client->id, r->request_id, r->traceparent, canonical,
                                strlen(canonical), &out) != INGRESS_FORWARD_ACCEPTED) {
        ingress_stats_count(p->stats, p->stats ? p->stats->publish_errors : NULL, out.reason);
        LOG_WARN("order %s/%s not published (%s): %s", client->id, order_id, out.reason,
                 out.detail);
        ingress_pipeline_unavailable(p, ans);
        return 0;
    }
    strbuf_reset(&ans->body);
    ans->status = 202;
    ans->retry_after_s = 0;
    if (ingress_accepted_json(&ans->body, order_id, out.event_id) != 0) {
        /* cannot happen with ids this short; never claim success without a body */
        LOG_ERROR("order %s/%s: cannot build the 202 body", client->id, order_id);
        ingress_pipeline_unavailable(p, ans);
        return 0;
    }
    LOG_DEBUG("order %s/%s accepted as event %s", client->id, order_id, out.event_id);
    return 1;
}

/* Idempotency + publish for a valid order. */
static void ingress_pipeline_order(const struct ingress_pipeline *p,
                                   const struct ingress_pipeline_request *r,
                                   const struct ingress_client *client, const char *canonical,
                                   const char *order_id, struct ingress_answer *ans) {
    unsigned char digest[CRYPTO_SHA256_LEN];
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    struct ingress_idem_answer stored = {0};
    char msg[160];
    int claimed = 0;

    if (crypto_sha256(r->body, r->body_len, digest) != 0) {
        ingress_pipeline_unavailable(p, ans);
        return;
    }
    crypto_hex_encode(digest, sizeof digest, hash);
    switch (ingress_pipeline_admit(p, client, order_id, hash, &stored, ans)) {
    case INGRESS_IDEM_RATE_LIMITED: /* ans holds the 429 (or 503) */
        return;
    case INGRESS_IDEM_CLAIMED:
        claimed = 1;
        break;
    case INGRESS_IDEM_IN_PROGRESS:
        ingress_stats_count(p->stats, p->stats ? p->stats->idem_refusals : NULL, "in_progress");
        snprintf(msg, sizeof msg, "order %s is being processed", order_id);
        ingress_answer_error(ans, 409, "in_progress", msg, NULL, 0);
        return;
    case INGRESS_IDEM_CONFLICT:
        ingress_stats_count(p->stats, p->stats ? p->stats->idem_refusals : NULL,
                            "idempotency_conflict");
        snprintf(msg, sizeof msg, "order %s was accepted with a different body", order_id);
        ingress_answer_error(ans, 422, "idempotency_conflict", msg, NULL, 0);
        return;
    case INGRESS_IDEM_REPLAY:
        if (p->stats)
            metrics_child_inc(p->stats->replays);
        strbuf_reset(&ans->body);
        if (stored.status < 100 || stored.status > 599 || !stored.body ||
            strbuf_append(&ans->body, stored.body, stored.body_len) != 0) {
            LOG_ERROR("order %s/%s: the stored answer is unusable", client->id, order_id);
            ingress_pipeline_unavailable(p, ans);
        } else {
            ans->status = (unsigned)stored.status;
            ans->replayed = 1;
            ans->retry_after_s = 0;
        }
        ingress_idem_answer_release(&stored);
        return;
    case INGRESS_IDEM_UNAVAILABLE:
    default:
        ingress_pipeline_redis_down(p, "idempotency");
        if (p->policy != INGRESS_REDIS_FAIL_OPEN) {
            ingress_pipeline_unavailable(p, ans);
            return;
        }
        break; /* fail-open: publish unguarded; consumers dedupe by key */
    }

    if (!ingress_pipeline_publish(p, r, client, canonical, order_id, ans)) {
        if (claimed && ingress_idem_release(p->redis, client->id, order_id, hash) != 0)
            ingress_stats_count(p->stats, p->stats ? p->stats->redis_errors : NULL, "release");
        return;
    }
    if (claimed && ingress_idem_complete(p->redis, client->id, order_id, hash, (int)ans->status,
                                         strbuf_str(&ans->body), ans->body.len, p->idem_ttl_s) != 0)
        ingress_stats_count(p->stats, p->stats ? p->stats->redis_errors : NULL, "complete");
}

void ingress_pipeline_run(const struct ingress_pipeline *p,
                          const struct ingress_pipeline_request *r, struct ingress_answer *ans) {
    const struct ingress_clients *reg = ingress_clients_holder_acquire(p->clients);
    const struct ingress_client *client = NULL;
    struct order_error verr;
    struct order_summary summary;
    char *canonical = NULL;
    memset(&summary, 0, sizeof summary);

    if (ingress_pipeline_auth(p, r, reg, &client, ans) != 0)
        goto cleanup;
    /* Validation runs before the rate limit so that a valid order can take
     * its token and claim in one Redis round trip (ingress_pipeline_admit);
     * a refused order still takes its token first: 429 wins over 400. */
    int rc = order_validate(r->body, r->body_len, &verr, &canonical, &summary);
    if (rc != 0 && ingress_pipeline_rate(p, client, ans) != 0)
        goto cleanup;
    if (rc == -1) {
        LOG_INFO("invalid order from %s: %s at \"%s\"", client->id, verr.message, verr.field);
        ingress_answer_error(ans, 400, verr.code, verr.message, verr.field, 0);
        goto cleanup;
    }
    if (rc != 0) {
        LOG_ERROR("validation failed: out of memory");
        ingress_pipeline_unavailable(p, ans);
        goto cleanup;
    }
    ingress_pipeline_order(p, r, client, canonical, summary.order_id, ans);
cleanup:
    order_summary_release(&summary);
    free(canonical);
    ingress_clients_holder_release(reg);
}
