/* Unit tests for redis_keys: every key under the prefix, no collisions, bounded. */
#include <criterion/criterion.h>

#include <string.h>

#include "../../../services/ingress-auth/redis_keys.h"

Test(ingress_redis_keys, ratelimit_key_is_prefix_rl_client) {
    char k[INGRESS_REDIS_KEY_MAX + 1];
    cr_assert_eq(ingress_redis_key_ratelimit("ingress:", "demo.client-1_x", k, sizeof k), 0);
    cr_assert_str_eq(k, "ingress:rl:demo.client-1_x");
}

Test(ingress_redis_keys, idempotency_key_is_prefix_idem_client_order) {
    char k[INGRESS_REDIS_KEY_MAX + 1];
    cr_assert_eq(ingress_redis_key_idempotency("p:", "demo", "ord-1_A", k, sizeof k), 0);
    cr_assert_str_eq(k, "p:idem:demo:ord-1_A");
}

/* "a:b" + "c" and "a" + "b:c" would both be idem:a:b:c: ':' is refused. */
Test(ingress_redis_keys, separator_in_a_part_is_refused) {
    char k[INGRESS_REDIS_KEY_MAX + 1] = "junk";
    cr_assert_eq(ingress_redis_key_idempotency("p:", "a:b", "c", k, sizeof k), -1);
    cr_assert_str_eq(k, "");
    cr_assert_eq(ingress_redis_key_idempotency("p:", "a", "b:c", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "a:b", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_idempotency("p:", "a", "b", k, sizeof k), 0);
}

Test(ingress_redis_keys, empty_null_and_unprintable_parts_are_refused) {
    char k[INGRESS_REDIS_KEY_MAX + 1];
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", NULL, k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "a b", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "a\nb", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "a\x7f", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "\xc3\xa9", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("", "a", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit(NULL, "a", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_idempotency("p:", "a", "", k, sizeof k), -1);
    cr_assert_eq(ingress_redis_key_ratelimit("p:", "a", k, sizeof k), 0);
}

Test(ingress_redis_keys, part_length_is_bounded_at_128) {
    char k[INGRESS_REDIS_KEY_MAX + 1], part[130];
    memset(part, 'x', 128);
    part[128] = '\0';
    cr_assert_eq(ingress_redis_key_idempotency("p:", part, part, k, sizeof k), 0);
    cr_assert_eq(strlen(k), 2 + 5 + 128 + 1 + 128);
    part[128] = 'x';
    part[129] = '\0';
    cr_assert_eq(ingress_redis_key_ratelimit("p:", part, k, sizeof k), -1);
}

Test(ingress_redis_keys, a_key_that_does_not_fit_is_refused_not_cut) {
    char k[12] = "junk";
    cr_assert_eq(ingress_redis_key_ratelimit("ingress:", "abc", k, sizeof k), -1);
    cr_assert_str_eq(k, "");
    char k2[16];
    cr_assert_eq(ingress_redis_key_ratelimit("ingress:", "abcd", k2, sizeof k2), 0);
    cr_assert_str_eq(k2, "ingress:rl:abcd");
    cr_assert_eq(ingress_redis_key_ratelimit("ingress:", "abc", k, 0), -1);
}
