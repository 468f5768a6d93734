/* ingress-auth rate limit against the real Redis, as the ingress-auth ACL user. */
#include <criterion/criterion.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "itr.h"

#include "../../../services/ingress-auth/ratelimit.h"
#include "../../../services/ingress-auth/redis_script.h"

static struct ingress_redis *rl_r;

static void rl_setup(void) {
    signal(SIGPIPE, SIG_IGN);
    rl_r = itr_pool(4, 5000, NULL);
}

static void rl_teardown(void) {
    ingress_redis_destroy(rl_r);
}

TestSuite(ingress_redis_ratelimit, .init = rl_setup, .fini = rl_teardown, .timeout = 60);

Test(ingress_redis_ratelimit, burst_then_limited_with_retry_after) {
    char c[64];
    unsigned ra = 0;
    itr_id("rl-burst", c, sizeof c);
    /* 0.1 token/s: the burst is all a test this short can get. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.1, 3, &ra), INGRESS_RL_ALLOWED, "take %d",
                     i);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.1, 3, &ra), INGRESS_RL_LIMITED);
    /* One token takes 10 s at this rate. */
    cr_assert(ra >= 1 && ra <= 10, "retry-after %u", ra);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.1, 3, &ra), INGRESS_RL_LIMITED);
}

Test(ingress_redis_ratelimit, a_token_is_back_after_retry_after) {
    char c[64];
    unsigned ra = 0;
    itr_id("rl-refill", c, sizeof c);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 2, 1, &ra), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 2, 1, &ra), INGRESS_RL_LIMITED);
    cr_assert_eq(ra, 1, "half a second rounds up to 1 s, got %u", ra);
    sleep(ra);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 2, 1, &ra), INGRESS_RL_ALLOWED);
}

Test(ingress_redis_ratelimit, clients_have_independent_buckets) {
    char a[64], b[64];
    itr_id("rl-a", a, sizeof a);
    itr_id("rl-b", b, sizeof b);
    cr_assert_eq(ingress_ratelimit_take(rl_r, a, 0.01, 1, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, a, 0.01, 1, NULL), INGRESS_RL_LIMITED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, b, 0.01, 1, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, b, 0.01, 1, NULL), INGRESS_RL_LIMITED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, a, 0.01, 1, NULL), INGRESS_RL_LIMITED);
}

Test(ingress_redis_ratelimit, the_bucket_lives_under_the_prefix_with_a_refill_ttl) {
    char c[64], key[160];
    itr_id("rl-key", c, sizeof c);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 10, 50, NULL), INGRESS_RL_ALLOWED);
    redisContext *adm = itr_admin();
    snprintf(key, sizeof key, "%srl:%s", itest_env("REDIS_KEY_PREFIX"), c);
    long long pttl = itr_admin_int(adm, "PTTL %s", key);
    /* Refill time of 50 tokens at 10/s is 5 s, plus 1 s of margin. */
    cr_assert(pttl > 0 && pttl <= 6000, "PTTL %s = %lld", key, pttl);
    cr_assert_eq(itr_admin_int(adm, "EXISTS rl:%s", c), 0, "a key outside the prefix");
    cr_assert_eq(itr_admin_int(adm, "HEXISTS %s tokens", key), 1);
    redisFree(adm);
}

Test(ingress_redis_ratelimit, unlimited_rate_never_asks_redis) {
    struct ingress_redis_settings s = {.host = "127.0.0.1",
                                       .port = 1,
                                       .username = "u",
                                       .password = "p",
                                       .key_prefix = "x:",
                                       .connect_timeout_ms = 100,
                                       .command_timeout_ms = 100,
                                       .pool_size = 1};
    struct ingress_redis *dead = ingress_redis_create(&s, NULL, 0);
    cr_assert_not_null(dead);
    cr_assert_eq(ingress_ratelimit_take(dead, "c", 0, 1, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(dead, "c", -1, 1, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(dead, "c", 1, 1, NULL), INGRESS_RL_UNAVAILABLE,
                 "control: a real rate does need Redis");
    ingress_redis_destroy(dead);
}

/* SCRIPT FLUSH drops the script the pool loaded: the next take gets
 * NOSCRIPT, reloads and retries, and the bucket state carries on. */
Test(ingress_redis_ratelimit, works_after_script_flush) {
    char c[64], sha[41];
    itr_id("rl-flush", c, sizeof c);
    itr_script_sha(ingress_redis_script_source(INGRESS_SCRIPT_RATELIMIT), sha);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.01, 2, NULL), INGRESS_RL_ALLOWED);
    redisContext *adm = itr_admin();
    redisReply *rep = redisCommand(adm, "SCRIPT FLUSH");
    cr_assert(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    rep = redisCommand(adm, "SCRIPT EXISTS %s", sha);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    cr_assert_eq(rep->element[0]->integer, 0, "flushed");
    freeReplyObject(rep);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.01, 2, NULL), INGRESS_RL_ALLOWED);
    cr_assert_eq(ingress_ratelimit_take(rl_r, c, 0.01, 2, NULL), INGRESS_RL_LIMITED);
    rep = redisCommand(adm, "SCRIPT EXISTS %s", sha);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    cr_assert_eq(rep->element[0]->integer, 1, "reloaded under the same SHA");
    freeReplyObject(rep);
    redisFree(adm);
}
