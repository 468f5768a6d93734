/* Unit tests for services/archive/stats: consumer lag from librdkafka's
 * statistics JSON. */
#include <criterion/criterion.h>

#include <string.h>

#include "metrics.h"
#include "strbuf.h"

#include "../../../services/archive/stats.h"

TestSuite(archive_stats);

Test(archive_stats, lag_per_partition_skips_unknown_and_internal_partitions) {
    struct metrics_registry *reg = metrics_registry_create();
    struct archive_stats st;
    struct strbuf out;
    const char *json = "{\"topics\":{\"orders.archive\":{\"partitions\":{"
                       "\"0\":{\"partition\":0,\"consumer_lag\":42},"
                       "\"1\":{\"partition\":1,\"consumer_lag\":-1},"
                       "\"-1\":{\"partition\":-1,\"consumer_lag\":7}}},"
                       "\"other\":{\"partitions\":{\"0\":{\"partition\":0,\"consumer_lag\":9}}}}}";
    cr_assert_not_null(reg);
    cr_assert_eq(archive_stats_init(&st, reg, "test"), 0);
    cr_assert_eq(archive_stats_lag_from_json(&st, "orders.archive", json, strlen(json)), 1);
    cr_assert_eq(archive_stats_lag_from_json(&st, "orders.archive", "{", 1), -1);
    strbuf_init(&out, 1 << 20);
    cr_assert_eq(metrics_render(reg, &out), 0);
    cr_assert_not_null(strstr(strbuf_str(&out), "orders_archive_consumer_lag{partition=\"0\"} 42"));
    cr_assert_null(strstr(strbuf_str(&out), "partition=\"1\""));
    cr_assert_null(strstr(strbuf_str(&out), "partition=\"-1\""));
    strbuf_release(&out);
    metrics_registry_destroy(reg);
}
