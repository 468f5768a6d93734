/* metrics: a thread-safe Prometheus registry (counters, gauges, histograms)
 * rendered in the text exposition format, version 0.0.4.
 *
 * A family has a name, help text and fixed label names; each distinct tuple
 * of label values is a child holding the value. Updates are lock-free atomics
 * on the child; a read-write lock per family guards only the child lookup and
 * creation, so a scrape never blocks updaters of existing children.
 *
 * Cardinality is capped: a family holds at most METRICS_MAX_CHILDREN children.
 * Updates that would need another child (or that carry an over-long or
 * non-UTF-8 label value) go nowhere and are counted; the count is exposed as
 * `metrics_dropped_updates_total` once it is non-zero.
 *
 * Every update function accepts a NULL family or child and does nothing, so a
 * failed registration never crashes a hot path. Label values are passed as an
 * array of exactly `nlabels` strings in the order of the label names (NULL
 * entries count as ""); for a family without labels pass NULL. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_child;

#define METRICS_MAX_CHILDREN 1000   /* children per family */
#define METRICS_MAX_LABELS 8        /* label names per family */
#define METRICS_MAX_LABEL_VALUE 256 /* bytes per label value */

/* Default histogram bounds for latencies in seconds: 0.0005 .. 10. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/* Creates an empty registry. Returns NULL on allocation failure. Free with
 * metrics_registry_destroy. */
struct metrics_registry *metrics_registry_create(void);

/* Frees the registry, its families and children; every handle obtained from
 * it becomes invalid. No other thread may use it any more. NULL is a no-op. */
void metrics_registry_destroy(struct metrics_registry *reg);

/* Number of updates dropped so far (cardinality cap or bad label value). */
uint64_t metrics_registry_dropped(struct metrics_registry *reg);

/* ---- counters ------------------------------------------------------------ */

/* Registers a counter family. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*,
 * each label name [a-zA-Z_][a-zA-Z0-9_]* without a leading "__", names
 * distinct, nlabels <= METRICS_MAX_LABELS. Strings are copied. Returns NULL on
 * an invalid or already registered name, or on allocation failure. The handle
 * is owned by the registry. */
struct metrics_counter *metrics_counter_new(struct metrics_registry *reg, const char *name,
                                            const char *help, size_t nlabels,
                                            const char *const *label_names);

/* Adds v to the child for label_values; negative or NaN v is ignored. */
void metrics_counter_add(struct metrics_counter *c, double v, const char *const *label_values);
void metrics_counter_inc(struct metrics_counter *c, const char *const *label_values);

/* Returns the child for label_values, creating it; cache it for hot paths.
 * NULL if dropped (cap reached, bad value). Owned by the registry. */
struct metrics_child *metrics_counter_child(struct metrics_counter *c,
                                            const char *const *label_values);

/* Registers a counter without labels whose value is fn(ctx), sampled at each
 * render (fn runs on the rendering thread with the registry locked, so it must
 * not call into the registry). Returns 0, or -1 on a bad/duplicate name or
 * allocation failure. `ctx` stays owned by the caller and must outlive reg. */
int metrics_counter_fn_new(struct metrics_registry *reg, const char *name, const char *help,
                           double (*fn)(void *ctx), void *ctx);

/* ---- gauges -------------------------------------------------------------- */

/* Registers a gauge family; same rules and result as metrics_counter_new. */
struct metrics_gauge *metrics_gauge_new(struct metrics_registry *reg, const char *name,
                                        const char *help, size_t nlabels,
                                        const char *const *label_names);

void metrics_gauge_set(struct metrics_gauge *g, double v, const char *const *label_values);
void metrics_gauge_add(struct metrics_gauge *g, double v, const char *const *label_values);
void metrics_gauge_sub(struct metrics_gauge *g, double v, const char *const *label_values);

/* Removes the series of label_values from the exposition (e.g. the lag of
 * a partition this process no longer owns), so no stale value stays
 * exported. Returns 1 when a visible series was removed, 0 when there was
 * none. The child itself stays allocated (handles cached elsewhere stay
 * valid, memory stays bounded by the cap): its value is reset to 0 and the
 * next update through a handle or the label values exports it again. An
 * update racing with the removal may win or lose. */
int metrics_gauge_remove(struct metrics_gauge *g, const char *const *label_values);

/* Child handle of a gauge; same contract as metrics_counter_child. */
struct metrics_child *metrics_gauge_child(struct metrics_gauge *g, const char *const *label_values);

/* Registers a gauge without labels sampled as fn(ctx) at each render; same
 * contract as metrics_counter_fn_new. */
int metrics_gauge_fn_new(struct metrics_registry *reg, const char *name, const char *help,
                         double (*fn)(void *ctx), void *ctx);

/* ---- histograms ---------------------------------------------------------- */

/* Registers a histogram family. `bounds` are the upper bucket bounds, finite
 * and strictly increasing (a trailing +Inf is accepted and implied anyway);
 * they are copied. bounds == NULL with nbounds == 0 selects
 * metrics_latency_buckets. The label name "le" is reserved. Otherwise same
 * contract as metrics_counter_new. */
struct metrics_histogram *metrics_histogram_new(struct metrics_registry *reg, const char *name,
                                                const char *help, size_t nlabels,
                                                const char *const *label_names,
                                                const double *bounds, size_t nbounds);

/* Records one observation; NaN is ignored. */
void metrics_histogram_observe(struct metrics_histogram *h, double v,
                               const char *const *label_values);

/* Child handle of a histogram; same contract as metrics_counter_child. */
struct metrics_child *metrics_histogram_child(struct metrics_histogram *h,
                                              const char *const *label_values);

/* ---- child handles (lock-free) --------------------------------------------
 * inc/add work on counters and gauges (negative adds ignored on counters),
 * sub/set on gauges only, observe on histograms only; a mismatched call or a
 * NULL child does nothing. */
void metrics_child_inc(struct metrics_child *ch);
void metrics_child_add(struct metrics_child *ch, double v);
void metrics_child_sub(struct metrics_child *ch, double v);
void metrics_child_set(struct metrics_child *ch, double v);
void metrics_child_observe(struct metrics_child *ch, double v);

/* Current value of a counter or gauge child, the observation count of a
 * histogram child; 0 for NULL. */
double metrics_child_value(const struct metrics_child *ch);

/* ---- exposition ------------------------------------------------------------ */

/* Appends the whole registry in text format 0.0.4 to `out` (which is not
 * reset first): families in creation order, each with # HELP (when help is
 * non-empty) and # TYPE lines, children in creation order. Returns 0, or -1
 * if reg is NULL or `out` hit its limit (the output is then truncated and
 * must not be served). */
int metrics_render(struct metrics_registry *reg, struct strbuf *out);

/* ---- standard families ------------------------------------------------------ */

/* Registers the gauge orders_build_info{service,version} = 1. Returns 0, or -1
 * on a bad label value, duplicate registration or allocation failure. */
int metrics_register_build_info(struct metrics_registry *reg, const char *service,
                                const char *version);

/* Registers process_start_time_seconds, process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds and process_max_fds (Linux /proc, sampled at render).
 * Returns 0, or -1 if any registration failed (e.g. already registered). */
int metrics_register_process(struct metrics_registry *reg);

#endif
