/* Unit tests for redis_reply: script replies of every shape, retry-after rounding. */
#include <criterion/criterion.h>

#include <limits.h>
#include <string.h>

#include "../../../services/ingress-auth/redis_reply.h"

static redisReply rr_int(long long v) {
    redisReply r = {0};
    r.type = REDIS_REPLY_INTEGER;
    r.integer = v;
    return r;
}

static redisReply rr_str(const char *s, size_t len) {
    redisReply r = {0};
    r.type = REDIS_REPLY_STRING;
    r.str = (char *)s;
    r.len = len;
    return r;
}

static redisReply rr_arr(redisReply **el, size_t n) {
    redisReply r = {0};
    r.type = REDIS_REPLY_ARRAY;
    r.element = el;
    r.elements = n;
    return r;
}

Test(ingress_redis_reply, retry_after_is_whole_seconds_rounded_up_at_least_one) {
    cr_assert_eq(ingress_rl_retry_after_s(0), 1);
    cr_assert_eq(ingress_rl_retry_after_s(1), 1);
    cr_assert_eq(ingress_rl_retry_after_s(1000), 1);
    cr_assert_eq(ingress_rl_retry_after_s(1001), 2);
    cr_assert_eq(ingress_rl_retry_after_s(2000), 2);
    cr_assert_eq(ingress_rl_retry_after_s(59999), 60);
    cr_assert_eq(ingress_rl_retry_after_s(-5), 1);
    cr_assert_eq(ingress_rl_retry_after_s(LLONG_MAX), UINT_MAX);
}

Test(ingress_redis_reply, rl_allowed_and_limited) {
    redisReply a = rr_int(1), b = rr_int(0);
    redisReply *el[2] = {&a, &b};
    redisReply arr = rr_arr(el, 2);
    unsigned ra = 77;
    cr_assert_eq(ingress_rl_parse_reply(&arr, &ra), INGRESS_RL_ALLOWED);
    cr_assert_eq(ra, 77, "retry-after untouched when allowed");
    a.integer = 0;
    b.integer = 1500;
    cr_assert_eq(ingress_rl_parse_reply(&arr, &ra), INGRESS_RL_LIMITED);
    cr_assert_eq(ra, 2);
    cr_assert_eq(ingress_rl_parse_reply(&arr, NULL), INGRESS_RL_LIMITED);
}

Test(ingress_redis_reply, rl_other_shapes_are_unavailable) {
    redisReply a = rr_int(2), b = rr_int(0);
    redisReply *el[2] = {&a, &b};
    redisReply arr = rr_arr(el, 2);
    cr_assert_eq(ingress_rl_parse_reply(&arr, NULL), INGRESS_RL_UNAVAILABLE);
    a.integer = 0;
    b.integer = -1;
    cr_assert_eq(ingress_rl_parse_reply(&arr, NULL), INGRESS_RL_UNAVAILABLE);
    b = rr_str("1", 1);
    cr_assert_eq(ingress_rl_parse_reply(&arr, NULL), INGRESS_RL_UNAVAILABLE);
    arr.elements = 1;
    cr_assert_eq(ingress_rl_parse_reply(&arr, NULL), INGRESS_RL_UNAVAILABLE);
    redisReply i = rr_int(1);
    cr_assert_eq(ingress_rl_parse_reply(&i, NULL), INGRESS_RL_UNAVAILABLE);
    cr_assert_eq(ingress_rl_parse_reply(NULL, NULL), INGRESS_RL_UNAVAILABLE);
}

static enum ingress_idem_claim_result rr_claim1(const char *word) {
    redisReply w = rr_str(word, strlen(word));
    redisReply *el[1] = {&w};
    redisReply arr = rr_arr(el, 1);
    struct ingress_idem_answer ans;
    enum ingress_idem_claim_result res = ingress_idem_parse_claim(&arr, &ans);
    cr_assert_null(ans.body);
    return res;
}

Test(ingress_redis_reply, claim_single_word_replies) {
    cr_assert_eq(rr_claim1("claimed"), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(rr_claim1("in_progress"), INGRESS_IDEM_IN_PROGRESS);
    cr_assert_eq(rr_claim1("conflict"), INGRESS_IDEM_CONFLICT);
    cr_assert_eq(rr_claim1("claimedx"), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(rr_claim1("claim"), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(rr_claim1("replay"), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(rr_claim1(""), INGRESS_IDEM_UNAVAILABLE);
}

/* The stored body comes back byte for byte, embedded NUL included. */
Test(ingress_redis_reply, claim_replay_copies_status_and_exact_body) {
    static const char body[] = "{\"a\":\"\x00\xff\"}";
    redisReply w = rr_str("replay", 6), st = rr_str("202", 3), b = rr_str(body, sizeof body - 1);
    redisReply *el[3] = {&w, &st, &b};
    redisReply arr = rr_arr(el, 3);
    struct ingress_idem_answer ans;
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_eq(ans.status, 202);
    cr_assert_eq(ans.body_len, sizeof body - 1);
    cr_assert_eq(memcmp(ans.body, body, sizeof body - 1), 0);
    cr_assert_eq(ans.body[ans.body_len], '\0');
    cr_assert_neq(ans.body, body, "a copy, not the reply's buffer");
    ingress_idem_answer_release(&ans);
    cr_assert_null(ans.body);
    cr_assert_eq(ans.body_len, 0);
}

Test(ingress_redis_reply, claim_replay_empty_body_is_fine) {
    redisReply w = rr_str("replay", 6), st = rr_str("500", 3), b = rr_str("", 0);
    redisReply *el[3] = {&w, &st, &b};
    redisReply arr = rr_arr(el, 3);
    struct ingress_idem_answer ans;
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_eq(ans.status, 500);
    cr_assert_str_eq(ans.body, "");
    ingress_idem_answer_release(&ans);
}

Test(ingress_redis_reply, claim_replay_with_bad_status_or_shape_is_unavailable) {
    static const char *bad[] = {"99", "600", "2x2", "2020", "", "-20"};
    redisReply w = rr_str("replay", 6), st, b = rr_str("{}", 2);
    redisReply *el[3] = {&w, &st, &b};
    redisReply arr = rr_arr(el, 3);
    struct ingress_idem_answer ans;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = rr_str(bad[i], strlen(bad[i]));
        cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_UNAVAILABLE, "%s", bad[i]);
        cr_assert_null(ans.body);
    }
    st = rr_int(202);
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_UNAVAILABLE);
    st = rr_str("202", 3);
    b = rr_int(0);
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_UNAVAILABLE);
    b = rr_str("{}", 2);
    arr.elements = 2;
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_UNAVAILABLE);
    arr.elements = 3;
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_REPLAY, "control case");
    ingress_idem_answer_release(&ans);
    cr_assert_eq(ingress_idem_parse_claim(&arr, NULL), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(ingress_idem_parse_claim(NULL, &ans), INGRESS_IDEM_UNAVAILABLE);
    arr.elements = 0;
    cr_assert_eq(ingress_idem_parse_claim(&arr, &ans), INGRESS_IDEM_UNAVAILABLE);
}

Test(ingress_redis_reply, flag_reply) {
    redisReply one = rr_int(1), zero = rr_int(0), two = rr_int(2), s = rr_str("1", 1);
    cr_assert_eq(ingress_idem_parse_flag(&one), 1);
    cr_assert_eq(ingress_idem_parse_flag(&zero), 0);
    cr_assert_eq(ingress_idem_parse_flag(&two), -1);
    cr_assert_eq(ingress_idem_parse_flag(&s), -1);
    cr_assert_eq(ingress_idem_parse_flag(NULL), -1);
}

Test(ingress_redis_reply, answer_release_accepts_null_and_empty) {
    struct ingress_idem_answer ans = {0};
    ingress_idem_answer_release(&ans);
    ingress_idem_answer_release(NULL);
}

Test(ingress_redis_reply, rated_claim_limited_sets_retry_after_and_no_answer) {
    redisReply w = rr_str("limited", 7), ms = rr_int(2500);
    redisReply *el[] = {&w, &ms};
    redisReply r = rr_arr(el, 2);
    struct ingress_idem_answer ans = {.status = 7};
    unsigned ra = 0;
    cr_assert_eq(ingress_idem_parse_rated_claim(&r, &ra, &ans), INGRESS_IDEM_RATE_LIMITED);
    cr_assert_eq(ra, 3);
    cr_assert_eq(ans.status, 0);
    cr_assert_null(ans.body);
    cr_assert_eq(ingress_idem_parse_rated_claim(&r, NULL, NULL), INGRESS_IDEM_RATE_LIMITED);
}

Test(ingress_redis_reply, rated_claim_limited_with_a_bad_wait_is_unavailable) {
    redisReply w = rr_str("limited", 7), neg = rr_int(-1), s = rr_str("5", 1);
    redisReply *el1[] = {&w, &neg}, *el2[] = {&w, &s};
    redisReply r1 = rr_arr(el1, 2), r2 = rr_arr(el2, 2);
    unsigned ra = 0;
    cr_assert_eq(ingress_idem_parse_rated_claim(&r1, &ra, NULL), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(ingress_idem_parse_rated_claim(&r2, &ra, NULL), INGRESS_IDEM_UNAVAILABLE);
    cr_assert_eq(ingress_idem_parse_rated_claim(NULL, &ra, NULL), INGRESS_IDEM_UNAVAILABLE);
}

Test(ingress_redis_reply, rated_claim_other_replies_read_as_claim_replies) {
    redisReply c = rr_str("claimed", 7), p = rr_str("in_progress", 11), k = rr_str("conflict", 8);
    redisReply rp = rr_str("replay", 6), st = rr_str("202", 3), b = rr_str("{}", 2);
    redisReply *e1[] = {&c}, *e2[] = {&p}, *e3[] = {&k}, *e4[] = {&rp, &st, &b};
    redisReply r1 = rr_arr(e1, 1), r2 = rr_arr(e2, 1), r3 = rr_arr(e3, 1), r4 = rr_arr(e4, 3);
    struct ingress_idem_answer ans;
    unsigned ra = 42;
    cr_assert_eq(ingress_idem_parse_rated_claim(&r1, &ra, &ans), INGRESS_IDEM_CLAIMED);
    cr_assert_eq(ingress_idem_parse_rated_claim(&r2, &ra, &ans), INGRESS_IDEM_IN_PROGRESS);
    cr_assert_eq(ingress_idem_parse_rated_claim(&r3, &ra, &ans), INGRESS_IDEM_CONFLICT);
    cr_assert_eq(ingress_idem_parse_rated_claim(&r4, &ra, &ans), INGRESS_IDEM_REPLAY);
    cr_assert_eq(ans.status, 202);
    cr_assert_eq(ans.body_len, 2);
    ingress_idem_answer_release(&ans);
    cr_assert_eq(ra, 42, "retry-after is only set when limited");
}
