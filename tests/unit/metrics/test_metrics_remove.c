/* Unit tests for metrics_gauge_remove: a removed series leaves the
 * exposition, handles stay valid, an update brings it back from 0. */
#include <criterion/criterion.h>

#include <string.h>

#include "metrics.h"
#include "strbuf.h"

static struct metrics_registry *reg;
static struct strbuf out;

static void remove_setup(void) {
    reg = metrics_registry_create();
    cr_assert_not_null(reg);
    strbuf_init(&out, 1 << 20);
}

static void remove_teardown(void) {
    strbuf_release(&out);
    metrics_registry_destroy(reg);
    reg = NULL;
}

static const char *render(void) {
    strbuf_reset(&out);
    cr_assert_eq(metrics_render(reg, &out), 0);
    return strbuf_str(&out);
}

TestSuite(metrics_remove, .init = remove_setup, .fini = remove_teardown);

Test(metrics_remove, removed_series_is_not_rendered_others_are) {
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

Test(metrics_remove, update_after_removal_exports_again_from_zero) {
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

Test(metrics_remove, unlabelled_gauge_and_null_arguments) {
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
