/* metrics_internal: data structures shared by metrics.c (registry, updates)
 * and metrics_render.c (exposition). Private to the metrics module: nothing
 * outside common/metrics*.c may include it. */
#ifndef COMMON_METRICS_INTERNAL_H
#define COMMON_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define METRICS_HASH_SIZE 64 /* child lookup buckets per labelled family */

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_child {
    enum metrics_kind kind;
    _Atomic uint64_t bits;     /* double bit pattern: value, or histogram sum */
    atomic_int hidden;         /* removed: not rendered until updated again */
    _Atomic uint64_t *buckets; /* histogram: nbounds + 1 non-cumulative counts */
    const double *bounds;      /* histogram: the family's bounds */
    size_t nbounds;
    uint32_t hash;
    struct metrics_child *hash_next;
    char *values; /* raw label values, each NUL-terminated, back to back */
    char *pairs;  /* rendered `a="x",b="y"` (escaped); "" without labels */
};

struct metrics_family {
    enum metrics_kind kind;
    char *name;
    char *help;
    size_t nlabels;
    char **label_names;
    double *bounds; /* histogram only */
    size_t nbounds;
    double (*fn)(void *ctx); /* sampled family: no children */
    void *fn_ctx;
    struct metrics_registry *reg;
    pthread_rwlock_t lock;           /* guards children and table */
    struct metrics_child **children; /* creation order */
    size_t nchildren;
    size_t children_cap;
    struct metrics_child *table[METRICS_HASH_SIZE];
    struct metrics_family *next;
};

struct metrics_registry {
    pthread_mutex_t lock; /* guards the family list */
    struct metrics_family *head;
    struct metrics_family *tail;
    _Atomic uint64_t dropped;
};

/* Bit pattern <-> double, for values kept in _Atomic uint64_t. */
uint64_t metrics_d2u(double d);
double metrics_u2d(uint64_t u);

/* Appends s escaped for a label value (\\, \", \n) or, with help != 0, for
 * HELP text (\\, \n). 0, or -1 when `sb` refuses the bytes. */
int metrics_escape(struct strbuf *sb, const char *s, int help);

/* Writes v into buf[n] as Prometheus parses it (see metrics_render.c). */
void metrics_format_double(char *buf, size_t n, double v);

#endif
