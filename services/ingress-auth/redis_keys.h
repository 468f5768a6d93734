/* redis_keys: the Redis key names of ingress-auth, built in one place so that
 * every key starts with the configured prefix (the ACL user may touch
 * nothing else) and two different identities never share a key. */
#ifndef INGRESS_REDIS_KEYS_H
#define INGRESS_REDIS_KEYS_H

#include <stddef.h>

/* Longest key built here, without the NUL. */
#define INGRESS_REDIS_KEY_MAX 320

/* Writes "<prefix>rl:<client_id>" into out. Returns 0, or -1 (out = "")
 * when a part is empty, longer than 128 bytes, holds ':' (which would make
 * two identities collide) or a byte outside printable ASCII, or the key does
 * not fit in outlen. */
int ingress_redis_key_ratelimit(const char *prefix, const char *client_id, char *out,
                                size_t outlen);

/* Writes "<prefix>idem:<client_id>:<order_id>". Same rules and result. */
int ingress_redis_key_idempotency(const char *prefix, const char *client_id, const char *order_id,
                                  char *out, size_t outlen);

#endif
