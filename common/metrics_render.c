/* metrics_render: Prometheus text exposition (format 0.0.4) of a registry. */
#include "metrics.h"

#include "metrics_internal.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- escaping and number formatting ---------------------------------------- */

int metrics_escape(struct strbuf *sb, const char *s, int help) {
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '\n')
            rep = "\\n";
        else if (*p == '"' && !help)
            rep = "\\\"";
        else if (*p != '\0')
            continue;
        if (strbuf_append(sb, run, (size_t)(p - run)) != 0)
            return -1;
        if (!rep)
            return 0;
        if (strbuf_puts(sb, rep) != 0)
            return -1;
        run = p + 1;
    }
}

/* Formats v the way Prometheus parses it: +Inf, -Inf, NaN, integers without
 * exponent when exact, otherwise the shortest %g that round-trips. The C
 * library prints '.' as long as the process keeps the "C" numeric locale. */
void metrics_format_double(char *buf, size_t n, double v) {
    if (isnan(v)) {
        snprintf(buf, n, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0) {
        snprintf(buf, n, "0");
    } else if (v == trunc(v) && fabs(v) <= 9007199254740992.0) { /* 2^53 */
        snprintf(buf, n, "%.0f", v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

/* ---- exposition ------------------------------------------------------------- */

/* Appends `name[suffix][{pairs[,extra]}] value\n`. 0 or -1. */
static int metrics_sample(struct strbuf *out, const char *name, const char *suffix,
                          const char *pairs, const char *extra, double v) {
    char num[64];
    metrics_format_double(num, sizeof num, v);
    if (strbuf_puts(out, name) != 0 || strbuf_puts(out, suffix) != 0)
        return -1;
    if (*pairs || extra) {
        if (strbuf_putc(out, '{') != 0 || strbuf_puts(out, pairs) != 0)
            return -1;
        if (extra && (strbuf_puts(out, *pairs ? "," : "") != 0 || strbuf_puts(out, extra) != 0))
            return -1;
        if (strbuf_putc(out, '}') != 0)
            return -1;
    }
    return strbuf_printf(out, " %s\n", num);
}

static int metrics_render_histogram(struct strbuf *out, const struct metrics_family *f,
                                    const struct metrics_child *ch) {
    char le[80], num[64];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative += atomic_load_explicit(&ch->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            metrics_format_double(num, sizeof num, f->bounds[i]);
        snprintf(le, sizeof le, "le=\"%s\"", i < f->nbounds ? num : "+Inf");
        if (metrics_sample(out, f->name, "_bucket", ch->pairs, le, (double)cumulative) != 0)
            return -1;
    }
    double sum = metrics_u2d(atomic_load_explicit(&ch->bits, memory_order_relaxed));
    if (metrics_sample(out, f->name, "_sum", ch->pairs, NULL, sum) != 0)
        return -1;
    /* _count equals the +Inf bucket even while observations race the scrape. */
    return metrics_sample(out, f->name, "_count", ch->pairs, NULL, (double)cumulative);
}

static int metrics_render_family(struct strbuf *out, struct metrics_family *f) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    if (*f->help && (strbuf_printf(out, "# HELP %s ", f->name) != 0 ||
                     metrics_escape(out, f->help, 1) != 0 || strbuf_putc(out, '\n') != 0))
        return -1;
    if (strbuf_printf(out, "# TYPE %s %s\n", f->name, types[f->kind]) != 0)
        return -1;
    if (f->fn)
        return metrics_sample(out, f->name, "", "", NULL, f->fn(f->fn_ctx));
    int rc = 0;
    pthread_rwlock_rdlock(&f->lock);
    for (size_t i = 0; i < f->nchildren && rc == 0; i++) {
        const struct metrics_child *ch = f->children[i];
        if (atomic_load_explicit(&ch->hidden, memory_order_relaxed))
            continue; /* removed (metrics_gauge_remove) */
        if (f->kind == METRICS_HISTOGRAM)
            rc = metrics_render_histogram(out, f, ch);
        else
            rc = metrics_sample(out, f->name, "", ch->pairs, NULL, metrics_child_value(ch));
    }
    pthread_rwlock_unlock(&f->lock);
    return rc;
}

int metrics_render(struct metrics_registry *reg, struct strbuf *out) {
    if (!reg || !out)
        return -1;
    int rc = 0;
    pthread_mutex_lock(&reg->lock);
    for (struct metrics_family *f = reg->head; f && rc == 0; f = f->next)
        rc = metrics_render_family(out, f);
    pthread_mutex_unlock(&reg->lock);
    uint64_t dropped = atomic_load(&reg->dropped);
    if (rc == 0 && dropped > 0)
        rc = strbuf_printf(out,
                           "# HELP metrics_dropped_updates_total Metric updates dropped by the "
                           "cardinality cap or an invalid label value.\n"
                           "# TYPE metrics_dropped_updates_total counter\n"
                           "metrics_dropped_updates_total %llu\n",
                           (unsigned long long)dropped);
    return rc == 0 && !out->overflow ? 0 : -1;
}
