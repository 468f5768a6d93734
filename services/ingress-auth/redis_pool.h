/* redis_pool: ingress-auth's bounded pool of authenticated Redis connections.
 *
 * Every connection AUTHs as the ingress-auth ACL user (never the default
 * user), has connect and command timeouts, and is replaced after any I/O or
 * protocol error, so a Redis restart heals by itself. Scripts are loaded once
 * per pool with SCRIPT LOAD and run with EVALSHA; NOSCRIPT (Redis restarted,
 * cache flushed) reloads the script and retries once.
 *
 * Thread-safe: libmicrohttpd handler threads borrow a connection, run one
 * short exchange and give it back. A borrow waits at most the command
 * timeout for a free connection and then reports the pool as unavailable,
 * so a stuck Redis bounds every request's extra latency. After a failed
 * connect, new connects are held off for min(connect timeout, 500 ms):
 * during an outage requests fail fast instead of each dialling Redis.
 * Failures are logged at warn level at most every 10 s, recovery once. */
#ifndef INGRESS_REDIS_POOL_H
#define INGRESS_REDIS_POOL_H

#include <stddef.h>

struct ingress_redis_settings {
    const char *host;       /* required */
    int port;               /* required */
    const char *username;   /* ACL user; required */
    const char *password;   /* required; never logged */
    const char *key_prefix; /* every key starts with it, e.g. "ingress:" */
    int connect_timeout_ms; /* > 0 */
    int command_timeout_ms; /* > 0: per command, and per wait for a connection */
    int pool_size;          /* > 0: at most this many connections */
};

struct ingress_redis;

/* Creates the pool without connecting (Redis may be down at start: requests
 * then follow the Redis-down policy and the pool reconnects lazily).
 * Copies the settings. Returns NULL with a message in err on bad settings or
 * out of memory. */
struct ingress_redis *ingress_redis_create(const struct ingress_redis_settings *s, char *err,
                                           size_t errlen);
/* Frees the pool and closes its connections. Every borrowed connection
 * must have been given back (no request may still be running). NULL is a
 * no-op. */
void ingress_redis_destroy(struct ingress_redis *r);

/* Checks settings without creating anything: 0, or -1 with a message naming
 * the bad field in err (the password is never echoed). */
int ingress_redis_settings_check(const struct ingress_redis_settings *s, char *err, size_t errlen);

/* Readiness: 0 when a PING on a pooled connection answers PONG in time,
 * -1 otherwise. */
int ingress_redis_ping(struct ingress_redis *r);

#endif
