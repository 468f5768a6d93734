/* backoff: bounds of the jittered schedule, the cap, and huge attempts. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "backoff.h"

TestSuite(backoff);

static const struct backoff_policy tb_policy = {.base_ms = 100, .cap_ms = 5000};

Test(backoff, first_retry_spans_half_base_to_base) {
    cr_assert_eq(backoff_delay_ms(&tb_policy, 1, 0), 50);
    /* 51 values in [50, 100]: random 50 is the top, 51 wraps to the bottom. */
    cr_assert_eq(backoff_delay_ms(&tb_policy, 1, 50), 100);
    cr_assert_eq(backoff_delay_ms(&tb_policy, 1, 51), 50);
    cr_assert_eq(backoff_delay_ms(&tb_policy, 1, UINT32_MAX), 50 + UINT32_MAX % 51);
}

Test(backoff, upper_bound_doubles_per_attempt) {
    /* random = hi - lo gives the top of [lo, hi]; one more wraps to lo. */
    uint32_t want_hi[] = {100, 200, 400, 800, 1600, 3200};
    for (uint32_t a = 1; a <= 6; a++) {
        uint32_t hi = want_hi[a - 1];
        cr_assert_eq(backoff_delay_ms(&tb_policy, a, hi - 50), hi, "attempt %u", a);
        cr_assert_eq(backoff_delay_ms(&tb_policy, a, hi - 50 + 1), 50, "attempt %u", a);
    }
}

Test(backoff, never_exceeds_cap_nor_drops_below_half_base) {
    for (uint32_t a = 1; a <= 80; a++) {
        for (uint32_t r = 0; r < 20000; r += 97) {
            uint32_t d = backoff_delay_ms(&tb_policy, a, r * 2654435761u);
            cr_assert(d >= 50 && d <= 5000, "attempt %u gave %u", a, d);
        }
        cr_assert_leq(backoff_delay_ms(&tb_policy, a, UINT32_MAX), 5000);
    }
    /* From attempt 7 on (100 * 2^6 = 6400 > 5000) the cap is reachable. */
    cr_assert_eq(backoff_delay_ms(&tb_policy, 7, 5000 - 50), 5000);
    cr_assert_eq(backoff_delay_ms(&tb_policy, 7, 5000 - 50 + 1), 50);
}

Test(backoff, huge_attempts_and_values_do_not_overflow) {
    const struct backoff_policy big = {.base_ms = UINT32_MAX, .cap_ms = UINT32_MAX};
    uint32_t lo = UINT32_MAX / 2;
    cr_assert_eq(backoff_delay_ms(&big, 1, 0), lo);
    cr_assert_eq(backoff_delay_ms(&big, UINT32_MAX, 0), lo);
    /* [lo, UINT32_MAX] holds UINT32_MAX - lo + 1 values: the top is reachable. */
    cr_assert_eq(backoff_delay_ms(&big, UINT32_MAX, UINT32_MAX - lo), UINT32_MAX);
    for (uint32_t a = 30; a <= 70; a++)
        cr_assert_eq(backoff_delay_ms(&tb_policy, a, 4950), 5000, "attempt %u", a);
    cr_assert_eq(backoff_delay_ms(&tb_policy, UINT32_MAX, 4950), 5000);
}

Test(backoff, attempt_zero_is_treated_as_first) {
    cr_assert_eq(backoff_delay_ms(&tb_policy, 0, 50), 100);
    cr_assert_eq(backoff_delay_ms(&tb_policy, 0, 51), 50);
}

Test(backoff, cap_equal_to_base_is_a_flat_window) {
    const struct backoff_policy flat = {.base_ms = 1000, .cap_ms = 1000};
    for (uint32_t a = 1; a < 40; a++) {
        cr_assert_eq(backoff_delay_ms(&flat, a, 0), 500);
        cr_assert_eq(backoff_delay_ms(&flat, a, 500), 1000);
    }
}
