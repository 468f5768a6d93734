/* Unit tests for common/metrics: exact text exposition, validation, threads. */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "strbuf.h"

static struct metrics_registry *reg;
static struct strbuf out;

static void metrics_setup(void) {
    reg = metrics_registry_create();
    cr_assert_not_null(reg);
    strbuf_init(&out, 1 << 20);
}

static void metrics_teardown(void) {
    strbuf_release(&out);
    metrics_registry_destroy(reg);
    reg = NULL;
}

/* Renders the registry from scratch and returns the text. */
static const char *render(void) {
    strbuf_reset(&out);
    cr_assert_eq(metrics_render(reg, &out), 0);
    return strbuf_str(&out);
}

TestSuite(metrics, .init = metrics_setup, .fini = metrics_teardown);

Test(metrics, empty_registry_renders_nothing) {
    cr_assert_str_eq(render(), "");
}

Test(metrics, plain_counter) {
    struct metrics_counter *c = metrics_counter_new(reg, "jobs_total", "Jobs done.", 0, NULL);
    cr_assert_not_null(c);
    cr_assert_str_eq(render(), "# HELP jobs_total Jobs done.\n"
                               "# TYPE jobs_total counter\n"
                               "jobs_total 0\n");
    metrics_counter_inc(c, NULL);
    metrics_counter_add(c, 2.5, NULL);
    metrics_counter_add(c, -7, NULL); /* counters never go down */
    metrics_counter_add(c, NAN, NULL);
    cr_assert_str_eq(render(), "# HELP jobs_total Jobs done.\n"
                               "# TYPE jobs_total counter\n"
                               "jobs_total 3.5\n");
}

Test(metrics, labelled_counter_keeps_creation_order) {
    static const char *const names[] = {"code", "method"};
    struct metrics_counter *c =
        metrics_counter_new(reg, "http_requests_total", "Requests.", 2, names);
    cr_assert_not_null(c);
    cr_assert_str_eq(render(), "# HELP http_requests_total Requests.\n"
                               "# TYPE http_requests_total counter\n");
    metrics_counter_inc(c, (const char *const[]){"202", "POST"});
    metrics_counter_inc(c, (const char *const[]){"401", "POST"});
    metrics_counter_add(c, 4, (const char *const[]){"202", "POST"});
    struct metrics_child *ch = metrics_counter_child(c, (const char *const[]){"404", "GET"});
    cr_assert_not_null(ch);
    cr_assert_eq(ch, metrics_counter_child(c, (const char *const[]){"404", "GET"}));
    metrics_child_inc(ch);
    metrics_child_add(ch, 41);
    metrics_child_set(ch, 0); /* not a gauge: ignored */
    cr_assert_eq(metrics_child_value(ch), 42.0);
    cr_assert_str_eq(render(), "# HELP http_requests_total Requests.\n"
                               "# TYPE http_requests_total counter\n"
                               "http_requests_total{code=\"202\",method=\"POST\"} 5\n"
                               "http_requests_total{code=\"401\",method=\"POST\"} 1\n"
                               "http_requests_total{code=\"404\",method=\"GET\"} 42\n");
}

Test(metrics, gauge_set_add_sub_and_float_format) {
    static const char *const names[] = {"pool"};
    struct metrics_gauge *g = metrics_gauge_new(reg, "pool_size", "Pool size.", 1, names);
    struct metrics_gauge *t = metrics_gauge_new(reg, "temperature", "", 0, NULL);
    cr_assert_not_null(g);
    cr_assert_not_null(t);
    metrics_gauge_set(g, 10, (const char *const[]){"a"});
    metrics_gauge_sub(g, 12.5, (const char *const[]){"a"});
    metrics_gauge_add(g, 0.1, (const char *const[]){"b"});
    metrics_gauge_set(g, INFINITY, (const char *const[]){"c"});
    metrics_gauge_set(g, -INFINITY, (const char *const[]){"d"});
    metrics_gauge_set(g, NAN, (const char *const[]){"e"});
    metrics_gauge_set(g, 1e-05, (const char *const[]){"f"});
    metrics_gauge_set(g, 1234567890123.0, (const char *const[]){"g"});
    metrics_gauge_set(g, 1e300, (const char *const[]){"h"});
    metrics_gauge_set(t, -0.0, NULL);
    cr_assert_str_eq(render(), "# HELP pool_size Pool size.\n"
                               "# TYPE pool_size gauge\n"
                               "pool_size{pool=\"a\"} -2.5\n"
                               "pool_size{pool=\"b\"} 0.1\n"
                               "pool_size{pool=\"c\"} +Inf\n"
                               "pool_size{pool=\"d\"} -Inf\n"
                               "pool_size{pool=\"e\"} NaN\n"
                               "pool_size{pool=\"f\"} 1e-05\n"
                               "pool_size{pool=\"g\"} 1234567890123\n"
                               "pool_size{pool=\"h\"} 1e+300\n"
                               "# TYPE temperature gauge\n"
                               "temperature 0\n");
}

static double metrics_test_sample(void *ctx) {
    int *calls = ctx;
    return ++*calls * 1.5;
}

Test(metrics, callback_gauge_sampled_at_render) {
    int calls = 0;
    cr_assert_eq(metrics_gauge_fn_new(reg, "inflight", "In flight.", metrics_test_sample, &calls),
                 0);
    cr_assert_eq(metrics_counter_fn_new(reg, "inflight", "dup", metrics_test_sample, &calls), -1);
    cr_assert_eq(metrics_gauge_fn_new(reg, "nofn", "x", NULL, NULL), -1);
    cr_assert_eq(calls, 0);
    cr_assert_str_eq(render(), "# HELP inflight In flight.\n"
                               "# TYPE inflight gauge\n"
                               "inflight 1.5\n");
    cr_assert_str_eq(render(), "# HELP inflight In flight.\n"
                               "# TYPE inflight gauge\n"
                               "inflight 3\n");
}

Test(metrics, histogram_cumulative_buckets) {
    static const char *const names[] = {"route"};
    static const double bounds[] = {0.1, 0.5, 1};
    struct metrics_histogram *h =
        metrics_histogram_new(reg, "latency_seconds", "Latency.", 1, names, bounds, 3);
    cr_assert_not_null(h);
    const char *const r[] = {"/orders"};
    metrics_histogram_observe(h, 0.05, r);
    metrics_histogram_observe(h, 0.1, r); /* le is inclusive */
    metrics_histogram_observe(h, 0.7, r);
    metrics_histogram_observe(h, 3, r);
    metrics_histogram_observe(h, NAN, r);
    struct metrics_child *ch = metrics_histogram_child(h, r);
    metrics_child_observe(ch, 0.25);
    metrics_child_inc(ch); /* not a counter: ignored */
    cr_assert_eq(metrics_child_value(ch), 5.0);
    cr_assert_str_eq(render(), "# HELP latency_seconds Latency.\n"
                               "# TYPE latency_seconds histogram\n"
                               "latency_seconds_bucket{route=\"/orders\",le=\"0.1\"} 2\n"
                               "latency_seconds_bucket{route=\"/orders\",le=\"0.5\"} 3\n"
                               "latency_seconds_bucket{route=\"/orders\",le=\"1\"} 4\n"
                               "latency_seconds_bucket{route=\"/orders\",le=\"+Inf\"} 5\n"
                               "latency_seconds_sum{route=\"/orders\"} 4.1\n"
                               "latency_seconds_count{route=\"/orders\"} 5\n");
}

Test(metrics, histogram_without_labels_and_bounds_checks) {
    static const double bounds[] = {1, 2, INFINITY};
    struct metrics_histogram *h = metrics_histogram_new(reg, "size", NULL, 0, NULL, bounds, 3);
    cr_assert_not_null(h);
    metrics_histogram_observe(h, 2, NULL);
    cr_assert_str_eq(render(), "# TYPE size histogram\n"
                               "size_bucket{le=\"1\"} 0\n"
                               "size_bucket{le=\"2\"} 1\n"
                               "size_bucket{le=\"+Inf\"} 1\n"
                               "size_sum 2\n"
                               "size_count 1\n");
    static const double unsorted[] = {1, 1};
    static const double nan_bound[] = {NAN};
    static const char *const le[] = {"le"};
    cr_assert_null(metrics_histogram_new(reg, "h1", "", 0, NULL, unsorted, 2));
    cr_assert_null(metrics_histogram_new(reg, "h2", "", 0, NULL, nan_bound, 1));
    cr_assert_null(metrics_histogram_new(reg, "h3", "", 1, le, bounds, 2));
    cr_assert_null(metrics_histogram_new(reg, "h4", "", 0, NULL, NULL, 3));
}

Test(metrics, histogram_default_latency_buckets) {
    struct metrics_histogram *h = metrics_histogram_new(reg, "op_seconds", "Op.", 0, NULL, NULL, 0);
    cr_assert_not_null(h);
    cr_assert_eq(metrics_latency_nbuckets, 14);
    metrics_histogram_observe(h, 0.0007, NULL);
    const char *text = render();
    cr_assert_not_null(strstr(text, "op_seconds_bucket{le=\"0.0005\"} 0\n"
                                    "op_seconds_bucket{le=\"0.001\"} 1\n"
                                    "op_seconds_bucket{le=\"0.0025\"} 1\n"));
    cr_assert_not_null(strstr(text, "op_seconds_bucket{le=\"10\"} 1\n"
                                    "op_seconds_bucket{le=\"+Inf\"} 1\n"
                                    "op_seconds_sum 0.0007\n"
                                    "op_seconds_count 1\n"));
}

Test(metrics, escaping_of_help_and_label_values) {
    static const char *const names[] = {"path"};
    struct metrics_counter *c =
        metrics_counter_new(reg, "esc_total", "A \\ backslash,\na \"quote\".", 1, names);
    cr_assert_not_null(c);
    metrics_counter_inc(c, (const char *const[]){"a\\b\"c\nd"});
    metrics_counter_inc(c, (const char *const[]){NULL}); /* NULL counts as "" */
    metrics_counter_inc(c, (const char *const[]){""});
    cr_assert_str_eq(render(), "# HELP esc_total A \\\\ backslash,\\na \"quote\".\n"
                               "# TYPE esc_total counter\n"
                               "esc_total{path=\"a\\\\b\\\"c\\nd\"} 1\n"
                               "esc_total{path=\"\"} 2\n");
}

Test(metrics, invalid_names_rejected) {
    static const char *const ok[] = {"ok"};
    static const char *const reserved[] = {"__name"};
    static const char *const colon[] = {"a:b"};
    static const char *const digit[] = {"1a"};
    static const char *const dup[] = {"a", "a"};
    static const char *const empty[] = {""};
    cr_assert_null(metrics_counter_new(reg, "", "x", 0, NULL));
    cr_assert_null(metrics_counter_new(reg, NULL, "x", 0, NULL));
    cr_assert_null(metrics_counter_new(reg, "1abc", "x", 0, NULL));
    cr_assert_null(metrics_counter_new(reg, "a-b", "x", 0, NULL));
    cr_assert_null(metrics_counter_new(reg, "a b", "x", 0, NULL));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 1, reserved));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 1, colon));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 1, digit));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 2, dup));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 1, empty));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", 1, NULL));
    cr_assert_null(metrics_gauge_new(reg, "g", "x", METRICS_MAX_LABELS + 1, ok));
    cr_assert_not_null(metrics_counter_new(reg, "ns:sub_system_total", "x", 1, ok));
    cr_assert_not_null(metrics_gauge_new(reg, "_private", "x", 0, NULL));
    /* Failed registrations leave nothing behind. */
    cr_assert_str_eq(render(), "# HELP ns:sub_system_total x\n"
                               "# TYPE ns:sub_system_total counter\n"
                               "# HELP _private x\n"
                               "# TYPE _private gauge\n"
                               "_private 0\n");
}

Test(metrics, duplicate_family_rejected) {
    cr_assert_not_null(metrics_counter_new(reg, "dup", "x", 0, NULL));
    cr_assert_null(metrics_counter_new(reg, "dup", "x", 0, NULL));
    cr_assert_null(metrics_gauge_new(reg, "dup", "x", 0, NULL));
    cr_assert_null(metrics_histogram_new(reg, "dup", "x", 0, NULL, NULL, 0));
    cr_assert_str_eq(render(), "# HELP dup x\n# TYPE dup counter\ndup 0\n");
}

Test(metrics, null_handles_are_no_ops) {
    metrics_counter_inc(NULL, NULL);
    metrics_gauge_set(NULL, 1, NULL);
    metrics_histogram_observe(NULL, 1, NULL);
    metrics_child_inc(NULL);
    metrics_child_observe(NULL, 1);
    cr_assert_null(metrics_counter_child(NULL, NULL));
    cr_assert_eq(metrics_child_value(NULL), 0.0);
    metrics_registry_destroy(NULL);
}

Test(metrics, cardinality_cap_drops_and_counts) {
    static const char *const names[] = {"id"};
    struct metrics_counter *c = metrics_counter_new(reg, "ids_total", "x", 1, names);
    char buf[32];
    for (int i = 0; i < METRICS_MAX_CHILDREN; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        cr_assert_not_null(metrics_counter_child(c, (const char *const[]){buf}));
    }
    cr_assert_eq(metrics_registry_dropped(reg), 0);
    cr_assert_null(metrics_counter_child(c, (const char *const[]){"one-too-many"}));
    metrics_counter_inc(c, (const char *const[]){"another"});
    metrics_counter_inc(c, (const char *const[]){"0"}); /* existing child still works */
    metrics_counter_inc(c, NULL);                       /* missing values */
    cr_assert_eq(metrics_registry_dropped(reg), 3);
    const char *text = render();
    cr_assert_not_null(strstr(text, "ids_total{id=\"0\"} 1\n"));
    cr_assert_not_null(strstr(text, "ids_total{id=\"999\"} 0\n"));
    cr_assert_null(strstr(text, "another"));
    const char *tail = "# HELP metrics_dropped_updates_total Metric updates dropped by the "
                       "cardinality cap or an invalid label value.\n"
                       "# TYPE metrics_dropped_updates_total counter\n"
                       "metrics_dropped_updates_total 3\n";
    size_t n = strlen(text), m = strlen(tail);
    cr_assert(n > m && strcmp(text + n - m, tail) == 0, "tail was: %s", text + n - m);
}

Test(metrics, bad_label_values_dropped) {
    static const char *const names[] = {"v"};
    struct metrics_gauge *g = metrics_gauge_new(reg, "g", "x", 1, names);
    char big[METRICS_MAX_LABEL_VALUE + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_null(metrics_gauge_child(g, (const char *const[]){big}));
    cr_assert_null(metrics_gauge_child(g, (const char *const[]){"\xff\xfe"}));
    cr_assert_not_null(metrics_gauge_child(g, (const char *const[]){"caf\xc3\xa9"}));
    cr_assert_eq(metrics_registry_dropped(reg), 2);
}

struct metrics_test_worker {
    struct metrics_counter *fam;
    struct metrics_child *child;
    struct metrics_histogram *hist;
    const char *label;
};

static void *metrics_test_hammer(void *arg) {
    struct metrics_test_worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        metrics_child_inc(w->child);
        metrics_counter_inc(w->fam, (const char *const[]){w->label});
        metrics_histogram_observe(w->hist, 0.5, NULL);
    }
    return NULL;
}

static void *metrics_test_scrape(void *arg) {
    struct strbuf sb;
    strbuf_init(&sb, 1 << 20);
    for (int i = 0; i < 200; i++) {
        strbuf_reset(&sb);
        if (metrics_render(arg, &sb) != 0)
            break;
    }
    strbuf_release(&sb);
    return NULL;
}

Test(metrics, concurrent_updates_are_exact) {
    enum { NTHREADS = 4 };
    static const char *const names[] = {"worker"};
    struct metrics_counter *shared = metrics_counter_new(reg, "shared_total", "x", 0, NULL);
    struct metrics_counter *fam = metrics_counter_new(reg, "per_total", "x", 1, names);
    static const double b[] = {1};
    struct metrics_histogram *h = metrics_histogram_new(reg, "obs", "x", 0, NULL, b, 1);
    static const char *const labels[NTHREADS] = {"a", "b", "a", "b"};
    struct metrics_test_worker w[NTHREADS];
    pthread_t tid[NTHREADS], scraper;
    cr_assert_eq(pthread_create(&scraper, NULL, metrics_test_scrape, reg), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct metrics_test_worker){fam, metrics_counter_child(shared, NULL), h, labels[i]};
        cr_assert_eq(pthread_create(&tid[i], NULL, metrics_test_hammer, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    pthread_join(scraper, NULL);
    const char *text = render();
    cr_assert_not_null(strstr(text, "shared_total 400000\n"), "%s", text);
    /* Children were created racing, so their order is not fixed here. */
    cr_assert_not_null(strstr(text, "per_total{worker=\"a\"} 200000\n"), "%s", text);
    cr_assert_not_null(strstr(text, "per_total{worker=\"b\"} 200000\n"), "%s", text);
    cr_assert_not_null(strstr(text, "obs_bucket{le=\"1\"} 400000\n"
                                    "obs_bucket{le=\"+Inf\"} 400000\n"
                                    "obs_sum 200000\n"
                                    "obs_count 400000\n"),
                       "%s", text);
}

Test(metrics, build_info_and_process_metrics) {
    cr_assert_eq(metrics_register_build_info(reg, "billing", "1.2.3"), 0);
    cr_assert_eq(metrics_register_build_info(reg, "billing", "1.2.3"), -1);
    cr_assert_eq(metrics_register_process(reg), 0);
    cr_assert_eq(metrics_register_process(reg), -1);
    const char *text = render();
    cr_assert_not_null(strstr(text,
                              "# HELP orders_build_info Build information of the running "
                              "service; always 1.\n"
                              "# TYPE orders_build_info gauge\n"
                              "orders_build_info{service=\"billing\",version=\"1.2.3\"} 1\n"));
    double start = 0, rss = 0, fds = -1, cpu = -1;
    const char *p = strstr(text, "\nprocess_start_time_seconds ");
    cr_assert(p && sscanf(p, "\nprocess_start_time_seconds %lf", &start) == 1);
    p = strstr(text, "\nprocess_resident_memory_bytes ");
    cr_assert(p && sscanf(p, "\nprocess_resident_memory_bytes %lf", &rss) == 1);
    p = strstr(text, "\nprocess_open_fds ");
    cr_assert(p && sscanf(p, "\nprocess_open_fds %lf", &fds) == 1);
    p = strstr(text, "\nprocess_cpu_seconds_total ");
    cr_assert(p && sscanf(p, "\nprocess_cpu_seconds_total %lf", &cpu) == 1);
    cr_assert_not_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    cr_assert_not_null(strstr(text, "\nprocess_max_fds "));
    cr_assert(start > 1.6e9 && start <= (double)time(NULL) + 1, "start %f", start);
    cr_assert(rss > 1e5, "rss %f", rss);
    cr_assert(fds >= 3, "fds %f", fds);
    cr_assert(cpu >= 0);
}

Test(metrics, render_reports_overflow) {
    struct strbuf small;
    strbuf_init(&small, 16);
    cr_assert_not_null(metrics_counter_new(reg, "a_rather_long_metric_name", "x", 0, NULL));
    cr_assert_eq(metrics_render(reg, &small), -1);
    strbuf_release(&small);
}

/* ---- metrics_gauge_remove: a removed series leaves the exposition, handles
 * stay valid, an update brings it back from 0. */

Test(metrics, removed_series_is_not_rendered_others_are) {
    static const char *const names[] = {"topic", "partition"};
    struct metrics_gauge *g = metrics_gauge_new(reg, "lag", "Lag", 2, names);
    cr_assert_not_null(g);
    metrics_gauge_set(g, 5, (const char *const[]){"t", "0"});
    metrics_gauge_set(g, 7, (const char *const[]){"t", "1"});
    cr_assert_eq(metrics_gauge_remove(g, (const char *const[]){"t", "0"}), 1);
    cr_assert_str_eq(render(), "# HELP lag Lag\n"
                               "# TYPE lag gauge\n"
                               "lag{topic=\"t\",partition=\"1\"} 7\n");
    /* removing again, or a series that never existed, changes nothing */
    cr_assert_eq(metrics_gauge_remove(g, (const char *const[]){"t", "0"}), 0);
    cr_assert_eq(metrics_gauge_remove(g, (const char *const[]){"t", "9"}), 0);
    cr_assert_null(strstr(render(), "partition=\"9\""), "remove must not create a series");
}

Test(metrics, update_after_removal_exports_again_from_zero) {
    static const char *const names[] = {"partition"};
    struct metrics_gauge *g = metrics_gauge_new(reg, "g", "", 1, names);
    const char *const p3[] = {"3"};
    struct metrics_child *ch = metrics_gauge_child(g, p3);
    metrics_child_set(ch, 40);
    cr_assert_eq(metrics_gauge_remove(g, p3), 1);
    cr_assert_str_eq(render(), "# TYPE g gauge\n");
    /* the value was reset: an add starts from 0, not from the stale 40 */
    metrics_gauge_add(g, 2, p3);
    cr_assert_str_eq(render(), "# TYPE g gauge\ng{partition=\"3\"} 2\n");
    /* a cached handle stays valid across a removal */
    cr_assert_eq(metrics_gauge_remove(g, p3), 1);
    metrics_child_set(ch, 11);
    cr_assert_str_eq(render(), "# TYPE g gauge\ng{partition=\"3\"} 11\n");
    cr_assert_eq(metrics_gauge_child(g, p3), ch, "the same child is reused");
}

Test(metrics, unlabelled_gauge_and_null_arguments) {
    struct metrics_gauge *g = metrics_gauge_new(reg, "solo", "", 0, NULL);
    metrics_gauge_set(g, 1, NULL);
    cr_assert_eq(metrics_gauge_remove(g, NULL), 1);
    cr_assert_str_eq(render(), "# TYPE solo gauge\n");
    metrics_gauge_set(g, 3, NULL);
    cr_assert_str_eq(render(), "# TYPE solo gauge\nsolo 3\n");
    cr_assert_eq(metrics_gauge_remove(NULL, NULL), 0);
    static const char *const names[] = {"p"};
    struct metrics_gauge *l = metrics_gauge_new(reg, "l", "", 1, names);
    cr_assert_eq(metrics_gauge_remove(l, NULL), 0, "labelled family needs values");
    cr_assert_eq(metrics_registry_dropped(reg), 0, "a removal is not a dropped update");
}
