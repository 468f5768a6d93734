/* redis_keys: key names under the configured prefix. */
#include "redis_keys.h"

#include <stdio.h>
#include <string.h>

#define KEY_PART_MAX 128

/* 1 if s is a usable key part: 1..KEY_PART_MAX printable ASCII bytes
 * without ':' (the separator) or space. */
static int key_part_ok(const char *s) {
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= KEY_PART_MAX || c <= 0x20 || c >= 0x7f || c == ':')
            return 0;
    }
    return 1;
}

/* Finishes a snprintf into out: 0, or -1 with out emptied on truncation. */
static int key_done(int n, char *out, size_t outlen) {
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int ingress_redis_key_ratelimit(const char *prefix, const char *client_id, char *out,
                                size_t outlen) {
    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!prefix || !*prefix || !key_part_ok(client_id))
        return -1;
    return key_done(snprintf(out, outlen, "%srl:%s", prefix, client_id), out, outlen);
}

int ingress_redis_key_idempotency(const char *prefix, const char *client_id, const char *order_id,
                                  char *out, size_t outlen) {
    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!prefix || !*prefix || !key_part_ok(client_id) || !key_part_ok(order_id))
        return -1;
    return key_done(snprintf(out, outlen, "%sidem:%s:%s", prefix, client_id, order_id), out,
                    outlen);
}
