/* ingress-auth's rate limit + claim in one script, against the real Redis as
 * the ingress-auth ACL user: the same bucket and the same claim records as
 * the separate calls, and a refused request claims nothing. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../support/itest_env.h"
#include "itr.h"

#include "../../../services/ingress-auth/idempotency.h"
#include "../../../services/ingress-auth/ratelimit.h"

#define RC_CLAIM_MS 30000

static struct ingress_redis *rc_r;
static char rc_client[64], rc_h1[65], rc_h2[65];

static void rc_setup(void) {
    signal(SIGPIPE, SIG_IGN);
    rc_r = itr_pool(4, 5000, NULL);
    itr_id("rlc-c", rc_client, sizeof rc_client);
    itr_body_hash("{\"n\":1}", 7, rc_h1);
    itr_body_hash("{\"n\":2}", 7, rc_h2);
}

static void rc_teardown(void) {
    ingress_redis_destroy(rc_r);
}

TestSuite(ingress_redis_rated_claim, .init = rc_setup, .fini = rc_teardown, .timeout = 60);

static enum ingress_idem_claim_result rc_claim(const char *order, const char *hash, double rate,
                                               double burst, unsigned *ra,
                                               struct ingress_idem_answer *ans) {
    return ingress_idem_claim_rated(rc_r, rc_client, order, hash, RC_CLAIM_MS, rate, burst, ra,
                                    ans);
}

/* 1 if the order's idempotency record exists. */
static int rc_record_exists(const char *order) {
    char key[200];
    snprintf(key, sizeof key, "%sidem:%s:%s", itest_env("REDIS_KEY_PREFIX"), rc_client, order);
    redisContext *adm = itr_admin();
    long long n = itr_admin_int(adm, "EXISTS %s", key);
    redisFree(adm);
    return n == 1;
}

Test(ingress_redis_rated_claim, claims_like_the_claim_script) {
    struct ingress_idem_answer ans;
    unsigned ra = 0;
    static const char answer[] = "{\"status\":\"accepted\"}";
    cr_assert_eq(rc_claim("o1", rc_h1, 1000, 1000, &ra, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert(rc_record_exists("o1"));
    /* The separate claim script sees the record the combined one wrote. */
    cr_assert_eq(ingress_idem_claim(rc_r, rc_client, "o1", rc_h1, RC_CLAIM_MS, &ans),
                 INGRESS_IDEM_IN_PROGRESS);
    cr_assert_eq(rc_claim("o1", rc_h1, 1000, 1000, &ra, &ans), INGRESS_IDEM_IN_PROGRESS);
    cr_assert_eq(rc_claim("o1", rc_h2, 1000, 1000, &ra, &ans), INGRESS_IDEM_CONFLICT);
    cr_assert_eq(
        ingress_idem_complete(rc_r, rc_client, "o1", rc_h1, 202, answer, sizeof answer - 1, 60), 0);
    cr_assert_eq(rc_claim("o1", rc_h1, 1000, 1000, &ra, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_eq(ans.status, 202);
    cr_assert_eq(ans.body_len, sizeof answer - 1);
    cr_assert_eq(memcmp(ans.body, answer, sizeof answer - 1), 0);
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_rated_claim, a_limited_request_claims_nothing) {
    struct ingress_idem_answer ans;
    unsigned ra = 0;
    /* 0.1 token/s, burst 1: the first order takes the only token. */
    cr_assert_eq(rc_claim("a", rc_h1, 0.1, 1, &ra, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(rc_claim("b", rc_h1, 0.1, 1, &ra, &ans), INGRESS_IDEM_RATE_LIMITED);
    cr_assert(ra >= 1 && ra <= 10, "retry-after %u (one token takes 10 s)", ra);
    cr_assert_null(ans.body);
    cr_assert_not(rc_record_exists("b"), "a refused request left a claim behind");
    /* ...so its retry is a new order, not 409 in_progress. */
    cr_assert_eq(ingress_idem_claim(rc_r, rc_client, "b", rc_h1, RC_CLAIM_MS, &ans),
                 INGRESS_IDEM_CLAIMED);
}

Test(ingress_redis_rated_claim, shares_the_bucket_of_the_rate_limit_script) {
    struct ingress_idem_answer ans;
    unsigned ra = 0;
    /* burst 2: one token through each path, then both paths are refused. */
    cr_assert_eq(ingress_ratelimit_take(rc_r, rc_client, 0.01, 2, &ra), INGRESS_RL_ALLOWED);
    cr_assert_eq(rc_claim("s1", rc_h1, 0.01, 2, &ra, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_ratelimit_take(rc_r, rc_client, 0.01, 2, &ra), INGRESS_RL_LIMITED);
    cr_assert_eq(rc_claim("s2", rc_h1, 0.01, 2, &ra, &ans), INGRESS_IDEM_RATE_LIMITED);
}

Test(ingress_redis_rated_claim, burst_below_one_counts_as_one) {
    struct ingress_idem_answer ans;
    unsigned ra = 0;
    cr_assert_eq(rc_claim("z1", rc_h1, 0.01, 0.2, &ra, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(rc_claim("z2", rc_h1, 0.01, 0.2, &ra, &ans), INGRESS_IDEM_RATE_LIMITED);
}

Test(ingress_redis_rated_claim, no_positive_finite_rate_is_refused_without_redis) {
    struct ingress_idem_answer ans;
    unsigned ra = 0;
    cr_assert_eq(rc_claim("n1", rc_h1, 0, 10, &ra, &ans), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(rc_claim("n1", rc_h1, 1.0 / 0.0, 10, &ra, &ans), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_not(rc_record_exists("n1"));
}
