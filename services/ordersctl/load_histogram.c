/* load_histogram: a fixed-memory log-linear latency histogram (HDR style). */
#include "load_histogram.h"

#include <stdlib.h>
#include <string.h>

#define HIST_HALF (1u << (ORDERSCTL_HIST_SUB_BITS - 1)) /* 128 */

struct ordersctl_hist *ordersctl_hist_create(void) {
    struct ordersctl_hist *h = malloc(sizeof(*h));
    if (h)
        ordersctl_hist_reset(h);
    return h;
}

void ordersctl_hist_destroy(struct ordersctl_hist *h) {
    free(h);
}

void ordersctl_hist_reset(struct ordersctl_hist *h) {
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned ordersctl_hist_index(uint64_t us) {
    if (us > ORDERSCTL_HIST_MAX_US)
        us = ORDERSCTL_HIST_MAX_US;
    /* Range k holds [128 * 2^k, 256 * 2^k) in steps of 2^k; range 0 is [0, 256). */
    unsigned top = 63u - (unsigned)__builtin_clzll(us | ((1u << ORDERSCTL_HIST_SUB_BITS) - 1));
    unsigned range = top - (ORDERSCTL_HIST_SUB_BITS - 1);
    unsigned sub = (unsigned)(us >> range); /* [0, 256) for range 0, else [128, 256) */
    return range * HIST_HALF + sub;
}

uint64_t ordersctl_hist_bucket_low(unsigned index) {
    if (index < 2 * HIST_HALF)
        return index;
    unsigned range = index / HIST_HALF - 1;
    uint64_t sub = index % HIST_HALF + HIST_HALF;
    return sub << range;
}

uint64_t ordersctl_hist_bucket_high(unsigned index) {
    if (index < 2 * HIST_HALF)
        return index;
    unsigned range = index / HIST_HALF - 1;
    return ordersctl_hist_bucket_low(index) + (1ULL << range) - 1;
}

void ordersctl_hist_record(struct ordersctl_hist *h, uint64_t us) {
    if (us > ORDERSCTL_HIST_MAX_US) {
        us = ORDERSCTL_HIST_MAX_US;
        h->saturated++;
    }
    h->counts[ordersctl_hist_index(us)]++;
    h->total++;
    h->sum += (long double)us;
    if (us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
}

void ordersctl_hist_merge(struct ordersctl_hist *dst, const struct ordersctl_hist *src) {
    for (unsigned i = 0; i < ORDERSCTL_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->saturated += src->saturated;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t ordersctl_hist_percentile(const struct ordersctl_hist *h, double p) {
    if (h->total == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    /* The rank that must be covered: ceil(p% of total), at least 1. The
     * tolerance keeps 99.9% of 1000 at rank 999 although 99.9 is not exact
     * in binary. */
    long double want = (long double)p / 100.0L * (long double)h->total;
    uint64_t rank = (uint64_t)want;
    if (want - (long double)rank > 1e-6L)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < ORDERSCTL_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = ordersctl_hist_bucket_high(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

double ordersctl_hist_mean(const struct ordersctl_hist *h) {
    return h->total ? (double)(h->sum / (long double)h->total) : 0.0;
}
