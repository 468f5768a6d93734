/* load_histogram: a fixed-memory log-linear latency histogram (HDR style).
 *
 * Values are microseconds from 0 to ORDERSCTL_HIST_MAX_US (60 s); larger
 * values are clamped to it and counted in `saturated`. Below 256 us every
 * microsecond has its own bucket; above, each power-of-two range
 * [128 * 2^k, 256 * 2^k) is split into 128 equal buckets, so a reported value
 * is within 1/128 (< 0.8 %) of the true one. Memory is one array of
 * ORDERSCTL_HIST_BUCKETS counters inside the struct: no allocation per value.
 * Percentiles report the highest value equivalent to the bucket, as
 * HdrHistogram does, never more than the exact maximum recorded. */
#ifndef ORDERSCTL_LOAD_HISTOGRAM_H
#define ORDERSCTL_LOAD_HISTOGRAM_H

#include <stdint.h>

#define ORDERSCTL_HIST_MAX_US 60000000ULL /* 60 s */
#define ORDERSCTL_HIST_SUB_BITS 8         /* 256 linear sub-buckets, half of them per range */
#define ORDERSCTL_HIST_RANGES 19          /* 256 * 2^18 > 60 s in us */
#define ORDERSCTL_HIST_BUCKETS ((ORDERSCTL_HIST_RANGES + 1) << (ORDERSCTL_HIST_SUB_BITS - 1))

struct ordersctl_hist {
    uint64_t counts[ORDERSCTL_HIST_BUCKETS];
    uint64_t total;     /* values recorded */
    uint64_t saturated; /* values above ORDERSCTL_HIST_MAX_US, recorded as the max */
    uint64_t min, max;  /* exact, after clamping; min is UINT64_MAX while empty */
    long double sum;    /* for the mean */
};

/* Allocates an empty histogram. NULL if out of memory. Free with
 * ordersctl_hist_destroy. */
struct ordersctl_hist *ordersctl_hist_create(void);

/* Frees it. NULL is a no-op. */
void ordersctl_hist_destroy(struct ordersctl_hist *h);

/* Forgets every value. */
void ordersctl_hist_reset(struct ordersctl_hist *h);

/* Records one value in microseconds (clamped to ORDERSCTL_HIST_MAX_US). */
void ordersctl_hist_record(struct ordersctl_hist *h, uint64_t us);

/* Adds every value of `src` into `dst`. */
void ordersctl_hist_merge(struct ordersctl_hist *dst, const struct ordersctl_hist *src);

/* The value at percentile p (0-100): the smallest bucket value such that at
 * least p% of the values are <= it, as its highest equivalent value (capped
 * at max). p <= 0 gives min, p >= 100 gives max. 0 when empty. */
uint64_t ordersctl_hist_percentile(const struct ordersctl_hist *h, double p);

/* Mean in microseconds, 0 when empty. */
double ordersctl_hist_mean(const struct ordersctl_hist *h);

/* Bucket index of a value (exposed for tests). */
unsigned ordersctl_hist_index(uint64_t us);

/* Lowest and highest value that share bucket `index` (exposed for tests). */
uint64_t ordersctl_hist_bucket_low(unsigned index);
uint64_t ordersctl_hist_bucket_high(unsigned index);

#endif
