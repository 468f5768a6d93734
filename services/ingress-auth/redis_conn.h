/* redis_conn: the pool's internal borrow/give-back API, for the modules that
 * talk to Redis (redis_script, and tests). Not for request handlers: they use
 * ratelimit.h and idempotency.h. */
#ifndef INGRESS_REDIS_CONN_H
#define INGRESS_REDIS_CONN_H

#include <hiredis.h>

#include "redis_pool.h"

/* One pooled, authenticated connection. */
struct ingress_redis_conn {
    redisContext *ctx;
    unsigned long gen; /* pool generation at connect: older ones are dropped */
};

/* Borrows a connection: an idle one, else a new one if the pool is below
 * pool_size, else waits at most command_timeout_ms for one to come back.
 * Returns NULL (failure already logged, rate-limited) when Redis cannot be
 * reached or AUTH fails, while a recent connect failure holds reconnects
 * off, or when the wait times out. Give it back exactly once. */
struct ingress_redis_conn *ingress_redis_borrow(struct ingress_redis *r);

/* Returns a borrowed connection. broken != 0 (after any I/O or protocol
 * error) closes it instead, and makes every idle connection that existed
 * before it be replaced too, since a dead server kills them all. */
void ingress_redis_give_back(struct ingress_redis *r, struct ingress_redis_conn *conn, int broken);

/* Records a failure talking to Redis: logs `what` (never a secret) at warn
 * level, at most every few seconds while Redis stays unhealthy. */
void ingress_redis_note_failure(struct ingress_redis *r, const char *what);

/* Records a successful exchange: logs once when Redis recovers. */
void ingress_redis_note_success(struct ingress_redis *r);

/* The key prefix from the settings (owned by the pool). */
const char *ingress_redis_key_prefix(const struct ingress_redis *r);

/* The cached SHA1 of script `id` (41 bytes with the NUL) into out; returns
 * 1 when known, 0 when it must be loaded first. Thread-safe. */
int ingress_redis_sha_get(struct ingress_redis *r, int id, char out[41]);

/* Caches the SHA1 of script `id` as returned by SCRIPT LOAD. */
void ingress_redis_sha_set(struct ingress_redis *r, int id, const char *sha);

#endif
