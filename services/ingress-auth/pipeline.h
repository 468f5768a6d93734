/* pipeline: what happens to a complete POST /orders request, in the
 * contract's order, independent of the HTTP server:
 *
 *   401 auth (one body for every reason; the reason goes to logs/metrics)
 *   429 rate limit, with Retry-After
 *   400 validation (invalid_json / invalid_order, message, JSON-pointer field)
 *   idempotency claim: 409 in_progress, 422 idempotency_conflict, or the
 *       stored status and body again with Idempotent-Replayed: true
 *   publish: 202 {"order_id","event_id","status":"accepted"}, stored for
 *       replays; on any failure the claim is released and the answer is 503
 *       unavailable with Retry-After (never 202 unless the publisher said 202)
 *
 * Redis unavailable: fail-open skips the rate limit and/or the idempotency
 * check (counted in orders_ingress_redis_bypassed_total, warned in the log
 * at most every INGRESS_PIPELINE_WARN_INTERVAL_S); fail-closed answers 503. */
#ifndef INGRESS_PIPELINE_H
#define INGRESS_PIPELINE_H

#include <stddef.h>

#include "config.h"

struct ingress_answer;
struct ingress_clients_holder;
struct ingress_forward;
struct ingress_redis;
struct ingress_stats;

#define INGRESS_PIPELINE_WARN_INTERVAL_S 10

/* Shared by every request; all pointers borrowed. */
struct ingress_pipeline {
    struct ingress_clients_holder *clients;
    struct ingress_redis *redis;
    struct ingress_forward *forward;
    struct ingress_stats *stats; /* may be NULL */
    enum ingress_redis_policy policy;
    long window_s;          /* X-Timestamp skew */
    unsigned idem_ttl_s;    /* answered orders are remembered this long */
    unsigned claim_ttl_ms;  /* an in-flight claim expires after this */
    unsigned retry_after_s; /* Retry-After of 503 answers */
};

/* One request whose body has been read completely. */
struct ingress_pipeline_request {
    const char *client_id, *timestamp, *signature; /* headers; NULL if absent */
    const char *body;
    size_t body_len;
    const char *request_id;  /* sanitised, see reqmeta.h */
    const char *traceparent; /* valid, see reqmeta.h */
};

/* Runs the pipeline and fills *ans (initialised by the caller). Never
 * fails: internal errors become 503 answers. */
void ingress_pipeline_run(const struct ingress_pipeline *p,
                          const struct ingress_pipeline_request *r, struct ingress_answer *ans);

#endif
