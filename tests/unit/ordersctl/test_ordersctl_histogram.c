/* Unit tests for ordersctl load_histogram: bucket layout, precision, percentiles on known data. */
#include <criterion/criterion.h>

#include "../../../services/ordersctl/load_histogram.h"

static struct ordersctl_hist *hist_test_h;

static void hist_test_setup(void) {
    hist_test_h = ordersctl_hist_create();
    cr_assert_not_null(hist_test_h);
}

static void hist_test_teardown(void) {
    ordersctl_hist_destroy(hist_test_h);
}

TestSuite(ordersctl_histogram, .init = hist_test_setup, .fini = hist_test_teardown);

Test(ordersctl_histogram, empty) {
    cr_assert_eq(hist_test_h->total, 0);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), 0);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 100), 0);
    cr_assert_eq(ordersctl_hist_mean(hist_test_h), 0.0);
}

/* Below 256 us every value has its own bucket: exact percentiles. */
Test(ordersctl_histogram, exact_small_values) {
    for (uint64_t v = 1; v <= 100; v++)
        ordersctl_hist_record(hist_test_h, v);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), 50);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 90), 90);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99), 99);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99.9), 100);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 100), 100);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 0), 1);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 0.5), 1);
    cr_assert_eq(ordersctl_hist_mean(hist_test_h), 50.5);
    cr_assert_eq(hist_test_h->min, 1);
    cr_assert_eq(hist_test_h->max, 100);
}

/* 1..10000 us: p50 is 5000's bucket [4992, 5023], reported as its top. */
Test(ordersctl_histogram, percentiles_of_a_uniform_range) {
    for (uint64_t v = 1; v <= 10000; v++)
        ordersctl_hist_record(hist_test_h, v);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), 5023);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 90), 9023);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99), 9919);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99.9), 10000); /* capped at max */
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 100), 10000);
}

/* 99.9% of 1000 is rank 999 exactly, despite 99.9 not being exact in binary. */
Test(ordersctl_histogram, rank_rounding) {
    for (int i = 0; i < 999; i++)
        ordersctl_hist_record(hist_test_h, 10);
    ordersctl_hist_record(hist_test_h, 5000000);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99.9), 10);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99.95), 5000000);
}

/* A latency distribution with a tail: the tail shows at p99.9, not p99. */
Test(ordersctl_histogram, tail) {
    for (int i = 0; i < 9990; i++)
        ordersctl_hist_record(hist_test_h, 200);
    for (int i = 0; i < 10; i++)
        ordersctl_hist_record(hist_test_h, 1000000); /* 1 s */
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 99), 200);
    uint64_t p999 = ordersctl_hist_percentile(hist_test_h, 99.9);
    cr_assert_eq(p999, 200);
    uint64_t p9995 = ordersctl_hist_percentile(hist_test_h, 99.95);
    cr_assert(p9995 >= 1000000 && p9995 <= 1000000 + 1000000 / 128, "%llu",
              (unsigned long long)p9995);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 100), 1000000);
}

/* Layout: buckets are contiguous, cover 0..60 s, and are within 1/128 wide. */
Test(ordersctl_histogram, layout_and_precision) {
    cr_assert_eq(ordersctl_hist_index(0), 0);
    cr_assert_eq(ordersctl_hist_index(255), 255);
    cr_assert_eq(ordersctl_hist_index(256), 256);
    cr_assert_eq(ordersctl_hist_index(257), 256);
    cr_assert_eq(ordersctl_hist_index(258), 257);
    cr_assert_eq(ordersctl_hist_bucket_low(256), 256);
    cr_assert_eq(ordersctl_hist_bucket_high(256), 257);
    cr_assert_lt(ordersctl_hist_index(ORDERSCTL_HIST_MAX_US), ORDERSCTL_HIST_BUCKETS);
    unsigned last = ordersctl_hist_index(ORDERSCTL_HIST_MAX_US);
    for (unsigned i = 0; i < last; i++) {
        uint64_t lo = ordersctl_hist_bucket_low(i), hi = ordersctl_hist_bucket_high(i);
        cr_assert_eq(ordersctl_hist_bucket_low(i + 1), hi + 1, "gap after bucket %u", i);
        cr_assert_eq(ordersctl_hist_index(lo), i);
        cr_assert_eq(ordersctl_hist_index(hi), i);
        cr_assert_leq((hi - lo) * 128, lo, "bucket %u [%llu, %llu] wider than 1/128", i,
                      (unsigned long long)lo, (unsigned long long)hi);
    }
}

Test(ordersctl_histogram, saturation_and_reset) {
    ordersctl_hist_record(hist_test_h, 120ULL * 1000000);
    cr_assert_eq(hist_test_h->saturated, 1);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 100), ORDERSCTL_HIST_MAX_US);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), ORDERSCTL_HIST_MAX_US);
    ordersctl_hist_reset(hist_test_h);
    cr_assert_eq(hist_test_h->total, 0);
    cr_assert_eq(hist_test_h->saturated, 0);
    ordersctl_hist_record(hist_test_h, 7);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), 7);
}

Test(ordersctl_histogram, merge) {
    struct ordersctl_hist *other = ordersctl_hist_create();
    cr_assert_not_null(other);
    for (uint64_t v = 1; v <= 50; v++)
        ordersctl_hist_record(hist_test_h, v);
    for (uint64_t v = 51; v <= 100; v++)
        ordersctl_hist_record(other, v);
    ordersctl_hist_merge(hist_test_h, other);
    cr_assert_eq(hist_test_h->total, 100);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 50), 50);
    cr_assert_eq(ordersctl_hist_percentile(hist_test_h, 90), 90);
    cr_assert_eq(hist_test_h->max, 100);
    cr_assert_eq(hist_test_h->min, 1);
    ordersctl_hist_destroy(other);
}
