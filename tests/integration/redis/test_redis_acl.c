/* Least privilege in Redis: ingress-auth reaches only its key prefix and the
 * commands it uses; the default user is off. Runs against the real server. */
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

Test(redis_acl, ingress_may_use_its_prefix) {
    redisContext *c = redis_as_ingress();
    char key[128];
    snprintf(key, sizeof key, "%sitest-%d", itest_env("REDIS_KEY_PREFIX"), (int)getpid());
    redis_expect_prefix(c, "OK", "SET %s v PX 10000", key);
    redis_expect_prefix(c, "v", "GET %s", key);
    redis_expect_prefix(c, "(other)", "DEL %s", key);
    redisFree(c);
}

Test(redis_acl, ingress_cannot_leave_its_prefix) {
    redisContext *c = redis_as_ingress();
    redis_expect_prefix(c, "NOPERM", "SET %s v", "billing:secret");
    redis_expect_prefix(c, "NOPERM", "GET %s", "somebody-else");
    redisFree(c);
}

Test(redis_acl, ingress_cannot_run_admin_commands) {
    redisContext *c = redis_as_ingress();
    redis_expect_prefix(c, "NOPERM", "KEYS %s", "*");
    redis_expect_prefix(c, "NOPERM", "FLUSHALL%s", "");
    redis_expect_prefix(c, "NOPERM", "CONFIG GET %s", "*");
    redis_expect_prefix(c, "NOPERM", "ACL LIST%s", "");
    redis_expect_prefix(c, "NOPERM", "SCRIPT FLUSH%s", "");
    redisFree(c);
}

Test(redis_acl, default_user_is_off) {
    redisContext *c = redis_connect_plain();
    redis_expect_prefix(c, "NOAUTH", "GET %s", "x");
    redisFree(c);
}

Test(redis_acl, wrong_password_is_refused) {
    redisContext *c = redis_connect_plain();
    char *r = redis_run(c, "AUTH %s %s", itest_env("REDIS_INGRESS_USER"), "not-the-password");
    cr_assert(strncmp(r, "WRONGPASS", 9) == 0, "got %s", r);
    free(r);
    redisFree(c);
}
