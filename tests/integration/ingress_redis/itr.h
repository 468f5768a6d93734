/* itr: shared helpers for the ingress-auth Redis integration suites: pools
 * as the ingress-auth ACL user, an admin connection to inspect keys, and
 * control of the local Redis (stop/start/freeze) for the outage tests. */
#ifndef ITR_H
#define ITR_H

#include <hiredis.h>

#include "../../../services/ingress-auth/redis_pool.h"

/* A pool as the ingress-auth user from the environment; password NULL means
 * the right one. Asserts on failure. */
struct ingress_redis *itr_pool(int pool_size, int command_timeout_ms, const char *password);

/* An admin connection (for inspection only). Asserts on failure. */
redisContext *itr_admin(void);

/* Runs an admin command expecting an integer reply; asserts, returns it. */
long long itr_admin_int(redisContext *c, const char *fmt, ...);

/* A unique id of [A-Za-z0-9-] for clients and orders. */
char *itr_id(const char *prefix, char *out, unsigned long outlen);

/* SHA-256 hex of a string (the body hash idempotency takes). */
void itr_body_hash(const char *body, size_t len, char out[65]);

/* SHA1 hex of a script, as SCRIPT LOAD names it. */
void itr_script_sha(const char *src, char out[41]);

/* Runs scripts/redis.sh <verb> from the repo root; asserts it succeeded. */
void itr_redis_sh(const char *verb);

/* The pid of our local redis-server (from its pidfile), or 0. */
long itr_redis_pid(void);

#endif
