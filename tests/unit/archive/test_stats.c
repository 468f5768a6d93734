/* Unit tests for services/archive/stats: the shared consumer families under
 * orders_archive_* plus the archive's own two. */
#include <criterion/criterion.h>

#include <string.h>

#include "metrics.h"
#include "strbuf.h"

#include "../../../services/archive/stats.h"

TestSuite(archive_stats);

Test(archive_stats, registers_shared_consumer_families_and_its_own) {
    struct metrics_registry *reg = metrics_registry_create();
    struct archive_stats st;
    struct strbuf out;
    cr_assert_not_null(reg);
    cr_assert_eq(archive_stats_init(&st, reg, "orders.archive", "test"), 0);
    metrics_child_set(st.puts_in_flight, 3);
    metrics_counter_inc(st.commits, (const char *const[]){"ok"});
    metrics_child_inc(st.c.stored);
    strbuf_init(&out, 1 << 20);
    cr_assert_eq(metrics_render(reg, &out), 0);
    const char *s = strbuf_str(&out);
    cr_assert_not_null(strstr(s, "orders_archive_records_total{result=\"stored\"} 1\n"), "%s", s);
    cr_assert_not_null(strstr(s, "# TYPE orders_archive_transient_failures_total counter\n"));
    cr_assert_not_null(strstr(s, "# TYPE orders_archive_ready gauge\n"));
    cr_assert_not_null(strstr(s, "orders_archive_puts_in_flight 3\n"));
    cr_assert_not_null(strstr(s, "orders_archive_offset_commits_total{result=\"ok\"} 1\n"));
    cr_assert_not_null(strstr(s, "orders_build_info{service=\"archive\",version=\"test\"} 1\n"));
    /* a second registration of the same names fails loudly */
    struct archive_stats again;
    cr_assert_eq(archive_stats_init(&again, reg, "orders.archive", "test"), -1);
    archive_stats_release(&again);
    archive_stats_release(&st);
    strbuf_release(&out);
    metrics_registry_destroy(reg);
}
