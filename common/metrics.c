/* metrics: Prometheus registry, lock-free children and text exposition 0.0.4. */
#include "metrics.h"
#include "utf8.h"

#include "metrics_internal.h"
#include "strbuf.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_latency_nbuckets =
    sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0];

/* The public handles are the family itself, typed per kind. */
struct metrics_counter {
    struct metrics_family f;
};
struct metrics_gauge {
    struct metrics_family f;
};
struct metrics_histogram {
    struct metrics_family f;
};

/* ---- doubles in atomics ---------------------------------------------------- */

uint64_t metrics_d2u(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

double metrics_u2d(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void metrics_atomic_add(_Atomic uint64_t *bits, double v) {
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, metrics_d2u(metrics_u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* ---- validation ------------------------------------------------------------- */

static int metrics_valid_name(const char *s, int is_label) {
    if (!s || !*s)
        return 0;
    if (is_label && s[0] == '_' && s[1] == '_')
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!is_label && c == ':');
        if (!alpha && (p == s || c < '0' || c > '9'))
            return 0;
    }
    return 1;
}

/* ---- registry and families -------------------------------------------------- */

struct metrics_registry *metrics_registry_create(void) {
    struct metrics_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    if (pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg);
        return NULL;
    }
    atomic_init(&reg->dropped, 0);
    return reg;
}

static void metrics_child_free(struct metrics_child *ch) {
    if (!ch)
        return;
    free(ch->buckets);
    free(ch->values);
    free(ch->pairs);
    free(ch);
}

/* Frees a family that is not (or no longer) linked into its registry. */
static void metrics_family_free(struct metrics_family *f) {
    if (!f)
        return;
    for (size_t i = 0; i < f->nchildren; i++)
        metrics_child_free(f->children[i]);
    free(f->children);
    for (size_t i = 0; f->label_names && i < f->nlabels; i++)
        free(f->label_names[i]);
    free(f->label_names);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_rwlock_destroy(&f->lock);
    free(f);
}

void metrics_registry_destroy(struct metrics_registry *reg) {
    if (!reg)
        return;
    struct metrics_family *f = reg->head;
    while (f) {
        struct metrics_family *next = f->next;
        metrics_family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

uint64_t metrics_registry_dropped(struct metrics_registry *reg) {
    return reg ? atomic_load(&reg->dropped) : 0;
}

static uint32_t metrics_hash(size_t n, const char *const *values) {
    uint32_t h = 2166136261u; /* FNV-1a over values separated by 0xFF */
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)(values[i] ? values[i] : ""); *p; p++)
            h = (h ^ *p) * 16777619u;
        h = (h ^ 0xFFu) * 16777619u;
    }
    return h;
}

/* Allocates a child for label_values (already validated). NULL on ENOMEM. */
static struct metrics_child *metrics_child_create(struct metrics_family *f,
                                                  const char *const *values, uint32_t hash) {
    struct strbuf pairs;
    strbuf_init(&pairs, (size_t)1 << 20);
    struct metrics_child *ch = calloc(1, sizeof *ch);
    if (!ch)
        goto fail;
    ch->kind = f->kind;
    ch->hash = hash;
    atomic_init(&ch->bits, metrics_d2u(0.0));
    atomic_init(&ch->hidden, 0);
    size_t total = 1;
    for (size_t i = 0; i < f->nlabels; i++)
        total += strlen(values[i] ? values[i] : "") + 1;
    ch->values = malloc(total);
    if (!ch->values)
        goto fail;
    char *p = ch->values;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t len = strlen(v) + 1;
        memcpy(p, v, len);
        p += len;
        if ((i && strbuf_putc(&pairs, ',') != 0) || strbuf_puts(&pairs, f->label_names[i]) ||
            strbuf_puts(&pairs, "=\"") || metrics_escape(&pairs, v, 0) || strbuf_putc(&pairs, '"'))
            goto fail;
    }
    ch->pairs = strdup(strbuf_str(&pairs));
    if (!ch->pairs)
        goto fail;
    if (f->kind == METRICS_HISTOGRAM) {
        ch->bounds = f->bounds;
        ch->nbounds = f->nbounds;
        ch->buckets = calloc(f->nbounds + 1, sizeof *ch->buckets);
        if (!ch->buckets)
            goto fail;
        for (size_t i = 0; i <= f->nbounds; i++)
            atomic_init(&ch->buckets[i], 0);
    }
    strbuf_release(&pairs);
    return ch;
fail:
    strbuf_release(&pairs);
    metrics_child_free(ch);
    return NULL;
}

/* Appends ch (creation order + hash table); caller holds the write lock. */
static int metrics_family_link(struct metrics_family *f, struct metrics_child *ch) {
    if (f->nchildren == f->children_cap) {
        size_t cap = f->children_cap ? f->children_cap * 2 : 4;
        struct metrics_child **v = realloc(f->children, cap * sizeof *v);
        if (!v)
            return -1;
        f->children = v;
        f->children_cap = cap;
    }
    f->children[f->nchildren++] = ch;
    ch->hash_next = f->table[ch->hash % METRICS_HASH_SIZE];
    f->table[ch->hash % METRICS_HASH_SIZE] = ch;
    return 0;
}

/* Finds a child; caller holds the lock. */
static struct metrics_child *metrics_family_find(struct metrics_family *f,
                                                 const char *const *values, uint32_t hash) {
    for (struct metrics_child *ch = f->table[hash % METRICS_HASH_SIZE]; ch; ch = ch->hash_next) {
        if (ch->hash != hash)
            continue;
        const char *p = ch->values;
        size_t i = 0;
        for (; i < f->nlabels; i++) {
            const char *v = values[i] ? values[i] : "";
            if (strcmp(p, v) != 0)
                break;
            p += strlen(p) + 1;
        }
        if (i == f->nlabels)
            return ch;
    }
    return NULL;
}

static void metrics_drop(struct metrics_family *f) {
    atomic_fetch_add_explicit(&f->reg->dropped, 1, memory_order_relaxed);
}

/* Returns the child for values, creating it under the cap; NULL if dropped. */
static struct metrics_child *metrics_family_child(struct metrics_family *f,
                                                  const char *const *values) {
    if (!f || f->fn)
        return NULL;
    if (f->nlabels == 0)
        return f->children[0];
    if (!values) {
        metrics_drop(f);
        return NULL;
    }
    uint32_t hash = metrics_hash(f->nlabels, values);
    pthread_rwlock_rdlock(&f->lock);
    struct metrics_child *ch = metrics_family_find(f, values, hash);
    int full = f->nchildren >= METRICS_MAX_CHILDREN;
    pthread_rwlock_unlock(&f->lock);
    if (ch)
        return ch;
    if (full)
        goto drop;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t len = strlen(v);
        if (len > METRICS_MAX_LABEL_VALUE || !utf8_valid(v, len))
            goto drop;
    }
    struct metrics_child *fresh = metrics_child_create(f, values, hash);
    if (!fresh)
        goto drop;
    pthread_rwlock_wrlock(&f->lock);
    ch = metrics_family_find(f, values, hash); /* another thread may have won */
    if (!ch && f->nchildren < METRICS_MAX_CHILDREN && metrics_family_link(f, fresh) == 0) {
        ch = fresh;
        fresh = NULL;
    }
    pthread_rwlock_unlock(&f->lock);
    metrics_child_free(fresh);
    if (ch)
        return ch;
drop:
    metrics_drop(f);
    return NULL;
}

/* Validates and allocates an unlinked family; NULL on invalid arguments or
 * ENOMEM. Allocated as a typed handle (all three share one layout). */
static struct metrics_family *metrics_family_new(struct metrics_registry *reg,
                                                 enum metrics_kind kind, const char *name,
                                                 const char *help, size_t nlabels,
                                                 const char *const *label_names) {
    if (!reg || !metrics_valid_name(name, 0) || nlabels > METRICS_MAX_LABELS ||
        (nlabels && !label_names))
        return NULL;
    for (size_t i = 0; i < nlabels; i++) {
        if (!metrics_valid_name(label_names[i], 1) ||
            (kind == METRICS_HISTOGRAM && strcmp(label_names[i], "le") == 0))
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[i], label_names[j]) == 0)
                return NULL;
    }
    struct metrics_family *f = calloc(1, sizeof(struct metrics_counter));
    if (!f)
        return NULL;
    if (pthread_rwlock_init(&f->lock, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->kind = kind;
    f->reg = reg;
    f->nlabels = nlabels;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->label_names = calloc(nlabels ? nlabels : 1, sizeof *f->label_names);
    if (!f->name || !f->help || !f->label_names)
        goto fail;
    for (size_t i = 0; i < nlabels; i++)
        if (!(f->label_names[i] = strdup(label_names[i])))
            goto fail;
    return f;
fail:
    metrics_family_free(f);
    return NULL;
}

/* Finishes a family (solo child) and appends it to the registry unless the
 * name is taken. Frees f and returns NULL on failure. */
static struct metrics_family *metrics_family_register(struct metrics_family *f) {
    if (!f)
        return NULL;
    if (f->nlabels == 0 && !f->fn) {
        struct metrics_child *solo = metrics_child_create(f, NULL, 0);
        if (!solo || metrics_family_link(f, solo) != 0) {
            metrics_child_free(solo);
            goto fail;
        }
    }
    struct metrics_registry *reg = f->reg;
    pthread_mutex_lock(&reg->lock);
    for (struct metrics_family *o = reg->head; o; o = o->next) {
        if (strcmp(o->name, f->name) == 0) {
            pthread_mutex_unlock(&reg->lock);
            goto fail;
        }
    }
    if (reg->tail)
        reg->tail->next = f;
    else
        reg->head = f;
    reg->tail = f;
    pthread_mutex_unlock(&reg->lock);
    return f;
fail:
    metrics_family_free(f);
    return NULL;
}

struct metrics_counter *metrics_counter_new(struct metrics_registry *reg, const char *name,
                                            const char *help, size_t nlabels,
                                            const char *const *label_names) {
    struct metrics_family *f =
        metrics_family_new(reg, METRICS_COUNTER, name, help, nlabels, label_names);
    return (struct metrics_counter *)metrics_family_register(f);
}

struct metrics_gauge *metrics_gauge_new(struct metrics_registry *reg, const char *name,
                                        const char *help, size_t nlabels,
                                        const char *const *label_names) {
    struct metrics_family *f =
        metrics_family_new(reg, METRICS_GAUGE, name, help, nlabels, label_names);
    return (struct metrics_gauge *)metrics_family_register(f);
}

static int metrics_fn_new(struct metrics_registry *reg, enum metrics_kind kind, const char *name,
                          const char *help, double (*fn)(void *ctx), void *ctx) {
    if (!fn)
        return -1;
    struct metrics_family *f = metrics_family_new(reg, kind, name, help, 0, NULL);
    if (!f)
        return -1;
    f->fn = fn;
    f->fn_ctx = ctx;
    return metrics_family_register(f) ? 0 : -1;
}

int metrics_counter_fn_new(struct metrics_registry *reg, const char *name, const char *help,
                           double (*fn)(void *ctx), void *ctx) {
    return metrics_fn_new(reg, METRICS_COUNTER, name, help, fn, ctx);
}

int metrics_gauge_fn_new(struct metrics_registry *reg, const char *name, const char *help,
                         double (*fn)(void *ctx), void *ctx) {
    return metrics_fn_new(reg, METRICS_GAUGE, name, help, fn, ctx);
}

struct metrics_histogram *metrics_histogram_new(struct metrics_registry *reg, const char *name,
                                                const char *help, size_t nlabels,
                                                const char *const *label_names,
                                                const double *bounds, size_t nbounds) {
    if (!bounds && nbounds == 0) {
        bounds = metrics_latency_buckets;
        nbounds = metrics_latency_nbuckets;
    }
    if (!bounds)
        return NULL;
    if (nbounds > 0 && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
        nbounds--; /* +Inf is implied */
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return NULL;
    struct metrics_family *f =
        metrics_family_new(reg, METRICS_HISTOGRAM, name, help, nlabels, label_names);
    if (!f)
        return NULL;
    f->nbounds = nbounds;
    f->bounds = malloc((nbounds ? nbounds : 1) * sizeof *f->bounds);
    if (!f->bounds) {
        metrics_family_free(f);
        return NULL;
    }
    if (nbounds)
        memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    return (struct metrics_histogram *)metrics_family_register(f);
}

/* ---- updates ---------------------------------------------------------------- */

/* An update exports a removed series again; the load keeps the hot path
 * free of a store in the usual case. */
static void metrics_child_show(struct metrics_child *ch) {
    if (atomic_load_explicit(&ch->hidden, memory_order_relaxed))
        atomic_store_explicit(&ch->hidden, 0, memory_order_relaxed);
}

void metrics_child_add(struct metrics_child *ch, double v) {
    if (!ch || ch->kind == METRICS_HISTOGRAM || isnan(v) || (ch->kind == METRICS_COUNTER && v < 0))
        return;
    metrics_atomic_add(&ch->bits, v);
    metrics_child_show(ch);
}

void metrics_child_inc(struct metrics_child *ch) {
    metrics_child_add(ch, 1.0);
}

void metrics_child_sub(struct metrics_child *ch, double v) {
    if (ch && ch->kind == METRICS_GAUGE) {
        metrics_atomic_add(&ch->bits, -v);
        metrics_child_show(ch);
    }
}

void metrics_child_set(struct metrics_child *ch, double v) {
    if (ch && ch->kind == METRICS_GAUGE) {
        atomic_store_explicit(&ch->bits, metrics_d2u(v), memory_order_relaxed);
        metrics_child_show(ch);
    }
}

void metrics_child_observe(struct metrics_child *ch, double v) {
    if (!ch || ch->kind != METRICS_HISTOGRAM || isnan(v))
        return;
    size_t lo = 0, hi = ch->nbounds; /* first bound >= v, or nbounds (+Inf) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ch->bounds[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    atomic_fetch_add_explicit(&ch->buckets[lo], 1, memory_order_relaxed);
    metrics_atomic_add(&ch->bits, v);
    metrics_child_show(ch);
}

double metrics_child_value(const struct metrics_child *ch) {
    if (!ch)
        return 0;
    if (ch->kind != METRICS_HISTOGRAM)
        return metrics_u2d(atomic_load_explicit(&ch->bits, memory_order_relaxed));
    uint64_t n = 0;
    for (size_t i = 0; i <= ch->nbounds; i++)
        n += atomic_load_explicit(&ch->buckets[i], memory_order_relaxed);
    return (double)n;
}

struct metrics_child *metrics_counter_child(struct metrics_counter *c,
                                            const char *const *label_values) {
    return c ? metrics_family_child(&c->f, label_values) : NULL;
}

struct metrics_child *metrics_gauge_child(struct metrics_gauge *g,
                                          const char *const *label_values) {
    return g ? metrics_family_child(&g->f, label_values) : NULL;
}

struct metrics_child *metrics_histogram_child(struct metrics_histogram *h,
                                              const char *const *label_values) {
    return h ? metrics_family_child(&h->f, label_values) : NULL;
}

int metrics_gauge_remove(struct metrics_gauge *g, const char *const *label_values) {
    if (!g || g->f.fn || (g->f.nlabels && !label_values))
        return 0;
    struct metrics_family *f = &g->f;
    /* Looked up, never created: removing an unknown series is a no-op. */
    uint32_t hash = f->nlabels ? metrics_hash(f->nlabels, label_values) : 0;
    pthread_rwlock_rdlock(&f->lock);
    struct metrics_child *ch =
        f->nlabels ? metrics_family_find(f, label_values, hash) : f->children[0];
    int removed = ch && !atomic_exchange_explicit(&ch->hidden, 1, memory_order_relaxed);
    if (ch)
        atomic_store_explicit(&ch->bits, metrics_d2u(0.0), memory_order_relaxed);
    pthread_rwlock_unlock(&f->lock);
    return removed;
}

void metrics_counter_add(struct metrics_counter *c, double v, const char *const *label_values) {
    metrics_child_add(metrics_counter_child(c, label_values), v);
}

void metrics_counter_inc(struct metrics_counter *c, const char *const *label_values) {
    metrics_child_add(metrics_counter_child(c, label_values), 1.0);
}

void metrics_gauge_set(struct metrics_gauge *g, double v, const char *const *label_values) {
    metrics_child_set(metrics_gauge_child(g, label_values), v);
}

void metrics_gauge_add(struct metrics_gauge *g, double v, const char *const *label_values) {
    metrics_child_add(metrics_gauge_child(g, label_values), v);
}

void metrics_gauge_sub(struct metrics_gauge *g, double v, const char *const *label_values) {
    metrics_child_sub(metrics_gauge_child(g, label_values), v);
}

void metrics_histogram_observe(struct metrics_histogram *h, double v,
                               const char *const *label_values) {
    metrics_child_observe(metrics_histogram_child(h, label_values), v);
}
