/* Unit tests for common/consumer_stats: one set of names per consumer,
 * lag only for assigned partitions, revoked partitions leave /metrics. */
#include <criterion/criterion.h>

#include <string.h>

#include "consumer_stats.h"
#include "metrics.h"
#include "strbuf.h"

static struct metrics_registry *reg;
static struct consumer_stats st;
static struct strbuf out;

static void cs_setup(void) {
    reg = metrics_registry_create();
    cr_assert_not_null(reg);
    cr_assert_eq(consumer_stats_init(&st, reg, "billing", "orders.billing", "test"), 0);
    strbuf_init(&out, 1 << 20);
}

static void cs_teardown(void) {
    consumer_stats_release(&st);
    strbuf_release(&out);
    metrics_registry_destroy(reg);
}

static const char *render(void) {
    strbuf_reset(&out);
    cr_assert_eq(metrics_render(reg, &out), 0);
    return strbuf_str(&out);
}

/* A statistics document reporting lag 42 for partition 0, unknown for 1,
 * 17 for 2, and librdkafka's internal -1; another topic is ignored. */
static const char stats_doc[] =
    "{\"name\":\"billing#consumer-1\",\"topics\":{\"orders.billing\":{\"partitions\":{"
    "\"0\":{\"partition\":0,\"consumer_lag\":42},"
    "\"1\":{\"partition\":1,\"consumer_lag\":-1},"
    "\"2\":{\"partition\":2,\"consumer_lag\":17},"
    "\"-1\":{\"partition\":-1,\"consumer_lag\":5}}},"
    "\"other\":{\"partitions\":{\"0\":{\"partition\":0,\"consumer_lag\":7}}}}}";

TestSuite(consumer_stats, .init = cs_setup, .fini = cs_teardown);

Test(consumer_stats, every_shared_family_under_the_service_prefix) {
    static const char *const want[] = {
        "# TYPE orders_billing_records_total counter\n",
        "orders_billing_records_total{result=\"stored\"} 0\n",
        "orders_billing_records_total{result=\"duplicate\"} 0\n",
        "orders_billing_records_total{result=\"dead_lettered\"} 0\n",
        "# TYPE orders_billing_batch_size histogram\n",
        "# TYPE orders_billing_sink_write_seconds histogram\n",
        "# TYPE orders_billing_retries_total counter\n",
        "orders_billing_transient_failures_total 0\n",
        "orders_billing_dlq_publishes_total{result=\"ok\"} 0\n",
        "orders_billing_dlq_publishes_total{result=\"error\"} 0\n",
        "# TYPE orders_billing_consumer_lag gauge\n",
        "orders_billing_inflight 0\n",
        "orders_billing_ready 0\n",
        "orders_billing_partitions_paused 0\n",
        "orders_billing_offset_resets_total{reason=\"beyond_end\"} 0\n",
        "orders_billing_offset_resets_total{reason=\"before_start\"} 1\n",
        "orders_billing_offset_resets_total{reason=\"anchor_mismatch\"} 0\n",
        "orders_build_info{service=\"billing\",version=\"test\"} 1\n",
    };
    consumer_stats_write(&st, "ok", 0.003);
    consumer_stats_retry(&st, "transient");
    consumer_stats_offset_reset(&st, "before_start");
    metrics_child_observe(st.batch_size, 100);
    const char *s = render();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(s, want[i]), "missing %s in:\n%s", want[i], s);
    cr_assert_not_null(strstr(s, "orders_billing_sink_write_seconds_count{outcome=\"ok\"} 1\n"));
    cr_assert_not_null(strstr(s, "orders_billing_retries_total{reason=\"transient\"} 1\n"));
    cr_assert_not_null(strstr(s, "orders_billing_batch_size_bucket{le=\"100\"} 1\n"));
}

Test(consumer_stats, lag_only_for_assigned_partitions) {
    cr_assert_eq(consumer_stats_lag(&st, stats_doc, strlen(stats_doc)), 0,
                 "nothing assigned: nothing exported");
    cr_assert_null(strstr(render(), "orders_billing_consumer_lag{"));
    cr_assert_eq(consumer_stats_assigned(&st, 0), 0);
    cr_assert_eq(consumer_stats_assigned(&st, 1), 0);
    cr_assert_eq(consumer_stats_assigned(&st, 0), 0, "assigning twice is harmless");
    cr_assert_eq(consumer_stats_lag(&st, stats_doc, strlen(stats_doc)), 1);
    const char *s = render();
    cr_assert_not_null(
        strstr(s, "orders_billing_consumer_lag{topic=\"orders.billing\",partition=\"0\"} 42\n"),
        "%s", s);
    cr_assert_null(strstr(s, "partition=\"1\""), "unknown lag is not exported");
    cr_assert_null(strstr(s, "partition=\"2\""), "partition 2 is not ours");
    cr_assert_null(strstr(s, "} 7\n"), "other topics are ignored");
    cr_assert_eq(consumer_stats_lag(&st, "{nope", 5), -1);
}

Test(consumer_stats, revocation_removes_the_series_and_later_stats_do_not_revive_it) {
    cr_assert_eq(consumer_stats_assigned(&st, 0), 0);
    cr_assert_eq(consumer_stats_assigned(&st, 2), 0);
    cr_assert_eq(consumer_stats_lag(&st, stats_doc, strlen(stats_doc)), 2);
    cr_assert_not_null(strstr(render(), "partition=\"2\"} 17\n"));
    consumer_stats_revoked(&st, 2);
    cr_assert(!consumer_stats_is_assigned(&st, 2));
    cr_assert(consumer_stats_is_assigned(&st, 0));
    const char *s = render();
    cr_assert_null(strstr(s, "partition=\"2\""), "revoked partition still exported:\n%s", s);
    cr_assert_not_null(strstr(s, "partition=\"0\"} 42\n"), "the others stay");
    /* librdkafka keeps reporting the partition (stale committed offset), and
     * a document queued before the revocation may be served after it */
    cr_assert_eq(consumer_stats_lag(&st, stats_doc, strlen(stats_doc)), 1);
    cr_assert_null(strstr(render(), "partition=\"2\""));
    /* assigned again (back after a rebalance): exported again */
    cr_assert_eq(consumer_stats_assigned(&st, 2), 0);
    cr_assert_eq(consumer_stats_lag(&st, stats_doc, strlen(stats_doc)), 2);
    cr_assert_not_null(strstr(render(), "partition=\"2\"} 17\n"));
    /* revoking what was never assigned changes nothing */
    consumer_stats_revoked(&st, 9);
    cr_assert_eq(metrics_registry_dropped(reg), 0);
}

Test(consumer_stats, many_partitions_and_bad_arguments) {
    for (int32_t p = 0; p < 100; p++)
        cr_assert_eq(consumer_stats_assigned(&st, p), 0);
    for (int32_t p = 0; p < 100; p += 2)
        consumer_stats_revoked(&st, p);
    for (int32_t p = 0; p < 100; p++)
        cr_assert_eq(consumer_stats_is_assigned(&st, p), p % 2, "partition %d", p);
    struct consumer_stats bad;
    char topic[300];
    memset(topic, 't', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    cr_assert_eq(consumer_stats_init(&bad, reg, "archive", topic, "test"), -1, "topic too long");
    consumer_stats_release(&bad);
    cr_assert_eq(consumer_stats_init(&bad, NULL, "archive", "t", "test"), -1);
    consumer_stats_release(&bad);
    /* the same service twice: names taken */
    cr_assert_eq(consumer_stats_init(&bad, reg, "billing", "orders.billing", "test"), -1);
    consumer_stats_release(&bad);
}
