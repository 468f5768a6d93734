/* Unit tests for services/billing/stats: consumer lag from librdkafka's
 * statistics JSON. */
#include <criterion/criterion.h>

#include <string.h>

#include "metrics.h"
#include "strbuf.h"

#include "../../../services/billing/stats.h"

Test(billing_stats, lag_per_partition_from_statistics) {
    struct metrics_registry *reg = metrics_registry_create();
    struct billing_stats st;
    cr_assert_eq(billing_stats_init(&st, reg, "test"), 0);
    const char json[] =
        "{\"name\":\"billing#consumer-1\",\"topics\":{\"orders.billing\":{\"partitions\":{"
        "\"0\":{\"partition\":0,\"consumer_lag\":42},"
        "\"1\":{\"partition\":1,\"consumer_lag\":-1},"
        "\"-1\":{\"partition\":-1,\"consumer_lag\":-1}}},"
        "\"other\":{\"partitions\":{\"0\":{\"partition\":0,\"consumer_lag\":7}}}}}";
    cr_assert_eq(billing_stats_lag(&st, "orders.billing", json, strlen(json)), 1);
    cr_assert_eq(billing_stats_lag(&st, "orders.billing", "{nope", 5), -1);
    struct strbuf sb;
    strbuf_init(&sb, 1 << 20);
    cr_assert_eq(metrics_render(reg, &sb), 0);
    cr_assert(strstr(strbuf_str(&sb), "orders_billing_consumer_lag{partition=\"0\"} 42\n") != NULL,
              "%s", strbuf_str(&sb));
    cr_assert_null(strstr(strbuf_str(&sb), "partition=\"1\""), "unknown lag is not reported");
    cr_assert_null(strstr(strbuf_str(&sb), "} 7\n"), "other topics are ignored");
    strbuf_release(&sb);
    metrics_registry_destroy(reg);
}
