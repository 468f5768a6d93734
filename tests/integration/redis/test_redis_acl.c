/* Least privilege in Redis: ingress-auth reaches only its key prefix, and
 * only through the commands its Lua scripts call (TIME HMGET HSET PEXPIRE
 * DEL) plus EVALSHA, SCRIPT LOAD and PING; nobody can log in as "default". Each
 * denial is paired with a grant, so a test cannot pass by refusing
 * everything. Runs against the real server. */
#include <criterion/criterion.h>
#include <hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"

static redisContext *redis_connect_plain(void) {
    struct timeval tv = {5, 0};
    redisContext *c =
        redisConnectWithTimeout(itest_env("REDIS_HOST"), atoi(itest_env("REDIS_PORT")), tv);
    cr_assert(c && !c->err, "connect: %s", c ? c->errstr : "out of memory");
    return c;
}

/* Runs a command; returns a copy of the reply kind and text for asserts. */
static char *redis_run(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r, "no reply: %s", c->errstr);
    char *out;
    if (r->type == REDIS_REPLY_ERROR)
        out = strdup(r->str);
    else if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        out = strdup(r->str);
    else
        out = strdup("(other)");
    freeReplyObject(r);
    cr_assert(out);
    return out;
}

static redisContext *redis_as_ingress(void) {
    redisContext *c = redis_connect_plain();
    char *r = redis_run(c, "AUTH %s %s", itest_env("REDIS_INGRESS_USER"),
                        itest_env("REDIS_INGRESS_PASSWORD"));
    cr_assert_str_eq(r, "OK");
    free(r);
    return c;
}

static void redis_expect_prefix(redisContext *c, const char *prefix, const char *fmt,
                                const char *arg) {
    char *r = redis_run(c, fmt, arg);
    cr_assert(strncmp(r, prefix, strlen(prefix)) == 0, "%s %s: got \"%s\", want %s...", fmt, arg, r,
              prefix);
    free(r);
}

/* Every command the ingress-auth scripts call, on a key under the prefix. */
#define ACL_SCRIPT_OK                                                                              \
    "local t = redis.call('TIME') "                                                                \
    "redis.call('HSET', KEYS[1], 'f', t[1]) "                                                      \
    "redis.call('PEXPIRE', KEYS[1], 10000) "                                                       \
    "local v = redis.call('HMGET', KEYS[1], 'f') "                                                 \
    "redis.call('DEL', KEYS[1]) "                                                                  \
    "if v[1] == t[1] then return 'ok' end return 'mismatch'"

/* Loads a script as the given connection; returns its SHA (malloc'd). */
static char *redis_load(redisContext *c, const char *src) {
    char *sha = redis_run(c, "SCRIPT LOAD %s", src);
    cr_assert_eq(strlen(sha), 40, "SCRIPT LOAD: %s", sha);
    return sha;
}

static void redis_prefix_key(char *key, size_t keylen) {
    snprintf(key, keylen, "%sitest-%d", itest_env("REDIS_KEY_PREFIX"), (int)getpid());
}

/* Grant: the scripts' commands (TIME, HSET, PEXPIRE, HMGET, DEL) on the prefix. */
Test(redis_acl, ingress_scripts_may_use_its_prefix) {
    redisContext *c = redis_as_ingress();
    char key[128];
    redis_prefix_key(key, sizeof key);
    char *sha = redis_load(c, ACL_SCRIPT_OK);
    char *r = redis_run(c, "EVALSHA %s 1 %s", sha, key);
    cr_assert_str_eq(r, "ok");
    free(r);
    free(sha);
    redis_expect_prefix(c, "PONG", "PING%s", "");
    redisFree(c);
}

/* Denial: the same script on a key outside the prefix, declared or not. */
Test(redis_acl, ingress_scripts_cannot_leave_its_prefix) {
    redisContext *c = redis_as_ingress();
    char *sha = redis_load(c, ACL_SCRIPT_OK);
    char *r = redis_run(c, "EVALSHA %s 1 %s", sha, "billing:secret");
    cr_assert(strncmp(r, "NOPERM", 6) == 0, "declared key outside the prefix: %s", r);
    free(r);
    free(sha);
    sha = redis_load(c, "return redis.call('HMGET', 'billing:secret', 'f')");
    r = redis_run(c, "EVALSHA %s 0", sha);
    cr_assert(strstr(r, "can't access"), "undeclared key outside the prefix: %s", r);
    free(r);
    free(sha);
    redisFree(c);
}

/* Denial: a script may not call commands outside the grant (paired with
 * ingress_scripts_may_use_its_prefix, same key). */
Test(redis_acl, ingress_scripts_cannot_use_other_commands) {
    redisContext *c = redis_as_ingress();
    char key[128];
    redis_prefix_key(key, sizeof key);
    static const char *const denied[] = {
        "return redis.call('GET', KEYS[1])",     "return redis.call('SET', KEYS[1], 'v')",
        "return redis.call('HGETALL', KEYS[1])", "return redis.call('KEYS', '*')",
        "return redis.call('FLUSHALL')",
    };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        char *sha = redis_load(c, denied[i]);
        char *r = redis_run(c, "EVALSHA %s 1 %s", sha, key);
        cr_assert(strstr(r, "can't run this command"), "%s: %s", denied[i], r);
        free(r);
        free(sha);
    }
    redisFree(c);
}

/* Denial: outside scripts only PING (plus AUTH): no direct key access, no
 * EVAL of ad-hoc code, no admin commands. Grants: PING here, EVALSHA and
 * SCRIPT LOAD in ingress_scripts_may_use_its_prefix. */
Test(redis_acl, ingress_cannot_run_other_commands) {
    redisContext *c = redis_as_ingress();
    char key[128];
    redis_prefix_key(key, sizeof key);
    redis_expect_prefix(c, "PONG", "PING%s", "");
    redis_expect_prefix(c, "NOPERM", "SET %s v", key);
    redis_expect_prefix(c, "NOPERM", "GET %s", key);
    redis_expect_prefix(c, "NOPERM", "HGETALL %s", key);
    redis_expect_prefix(c, "NOPERM", "EVAL %s 0", "return 1");
    redis_expect_prefix(c, "NOPERM", "KEYS %s", "*");
    redis_expect_prefix(c, "NOPERM", "FLUSHALL%s", "");
    redis_expect_prefix(c, "NOPERM", "CONFIG GET %s", "*");
    redis_expect_prefix(c, "NOPERM", "ACL LIST%s", "");
    redis_expect_prefix(c, "NOPERM", "SCRIPT FLUSH%s", "");
    redis_expect_prefix(c, "NOPERM", "SUBSCRIBE %s", "ch");
    redisFree(c);
}

/* Denial: an unauthenticated connection can do nothing, and nobody can log
 * in as "default" (it is "on" only so that Redis can replay the AOF; its
 * password is a random hash). Grant: the ingress user authenticates. */
Test(redis_acl, default_user_cannot_log_in) {
    redisContext *c = redis_connect_plain();
    redis_expect_prefix(c, "NOAUTH", "GET %s", "x");
    redis_expect_prefix(c, "WRONGPASS", "AUTH %s", "");
    redis_expect_prefix(c, "WRONGPASS", "AUTH default %s", itest_env("REDIS_INGRESS_PASSWORD"));
    redis_expect_prefix(c, "WRONGPASS", "AUTH default %s", itest_env("REDIS_ADMIN_PASSWORD"));
    redisFree(c);
    c = redis_as_ingress();
    redis_expect_prefix(c, "PONG", "PING%s", "");
    redisFree(c);
}

/* Denial: a wrong password. Grant: the right one (redis_as_ingress). */
Test(redis_acl, wrong_password_is_refused) {
    redisContext *c = redis_connect_plain();
    char *r = redis_run(c, "AUTH %s %s", itest_env("REDIS_INGRESS_USER"), "not-the-password");
    cr_assert(strncmp(r, "WRONGPASS", 9) == 0, "got %s", r);
    free(r);
    redisFree(c);
    redisFree(redis_as_ingress());
}
