/* itr: helpers for the ingress-auth Redis integration suites. */
#include "itr.h"

#include "../support/itest_env.h"

#include "crypto.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingress_redis *itr_pool(int pool_size, int command_timeout_ms, const char *password) {
    struct ingress_redis_settings s = {
        .host = itest_env("REDIS_HOST"),
        .port = atoi(itest_env("REDIS_PORT")),
        .username = itest_env("REDIS_INGRESS_USER"),
        .password = password ? password : itest_env("REDIS_INGRESS_PASSWORD"),
        .key_prefix = itest_env("REDIS_KEY_PREFIX"),
        .connect_timeout_ms = 1000,
        .command_timeout_ms = command_timeout_ms,
        .pool_size = pool_size,
    };
    char err[256];
    struct ingress_redis *r = ingress_redis_create(&s, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

redisContext *itr_admin(void) {
    struct timeval tv = {5, 0};
    redisContext *c =
        redisConnectWithTimeout(itest_env("REDIS_HOST"), atoi(itest_env("REDIS_PORT")), tv);
    cr_assert(c && !c->err, "connect: %s", c ? c->errstr : "out of memory");
    redisReply *r = redisCommand(c, "AUTH %s %s", itest_env("REDIS_ADMIN_USER"),
                                 itest_env("REDIS_ADMIN_PASSWORD"));
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "admin AUTH failed");
    freeReplyObject(r);
    return c;
}

long long itr_admin_int(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r, "no reply: %s", c->errstr);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: %s", fmt,
                 r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

char *itr_id(const char *prefix, char *out, unsigned long outlen) {
    return itest_unique(prefix, out, outlen);
}

void itr_body_hash(const char *body, size_t len, char out[65]) {
    unsigned char d[CRYPTO_SHA256_LEN];
    cr_assert_eq(crypto_sha256(body, len, d), 0);
    crypto_hex_encode(d, sizeof d, out);
}

void itr_script_sha(const char *src, char out[41]) {
    unsigned char d[20];
    unsigned int n = 0;
    cr_assert_eq(EVP_Digest(src, strlen(src), d, &n, EVP_sha1(), NULL), 1);
    cr_assert_eq(n, 20);
    crypto_hex_encode(d, n, out);
}

void itr_redis_sh(const char *verb) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "scripts/redis.sh %s >/dev/null 2>&1", verb);
    cr_assert_eq(system(cmd), 0, "%s failed (run from the repo root)", cmd);
}

long itr_redis_pid(void) {
    const char *dir = getenv("OP_DATA_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/run/redis.pid", dir && *dir ? dir : ".local");
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid;
}
