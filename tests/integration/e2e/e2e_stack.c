/* e2e_stack: the four services of an end-to-end test, started with the
 * other suites' helpers, and the dead-letter topics read back (see e2e.h). */
#include <criterion/criterion.h>

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../archive/iarc.h"
#include "../billing/billing_itest.h"
#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "dlq.h"
#include "e2e.h"
#include "kafka_conf.h"

void e2e_stack_start(struct e2e_stack *s) {
    char json[256];
    memset(s, 0, sizeof *s);
    itest_unique("e2e", s->client, sizeof s->client);
    /* consumers first: they may have a backlog of earlier suites to take */
    ibill_start(&s->billing, 60000);
    iarc_archive_start(&s->archive, "object");
    iing_start_publisher(&s->front);
    snprintf(json, sizeof json,
             "{\"%s\":{\"secrets\":[\"" E2E_SECRET "\"],\"rate_per_second\":1000000,"
             "\"burst\":1000000}}",
             s->client);
    const char *extra[] = {"INGRESS_PUBLISH_TIMEOUT=8s",
                           NULL}; /* > publisher queue wait + commit */
    iing_start_ingress(&s->front, json, extra);
}

void e2e_stack_cleanup(struct e2e_stack *s) {
    iing_cleanup(&s->front);
    if (s->archive.name[0])
        itest_proc_cleanup(&s->archive);
    if (s->billing.name[0])
        itest_proc_cleanup(&s->billing);
}

/* ---- dead letters ------------------------------------------------------------ */

static const char *e2e_dlq_topic(int t, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", itest_env(t == 0 ? "KAFKA_TOPIC_BILLING" : "KAFKA_TOPIC_ARCHIVE"),
             DLQ_TOPIC_SUFFIX);
    return buf;
}

static rd_kafka_t *e2e_admin_consumer(void) {
    return itest_kafka_consumer("ADMIN", "itest-e2e", NULL, 0);
}

void e2e_dlq_mark(struct e2e_dlq_mark *m) {
    char topic[160];
    rd_kafka_t *rk = e2e_admin_consumer();
    for (int t = 0; t < 2; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, e2e_dlq_topic(t, topic, sizeof topic), NULL);
        cr_assert_not_null(rkt);
        cr_assert_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        m->n[t] = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        cr_assert(m->n[t] > 0 && m->n[t] <= 16, "%s has %d partitions", topic, m->n[t]);
        for (int p = 0; p < m->n[t]; p++) {
            int64_t lo, hi;
            cr_assert_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
            m->end[t][p] = hi;
        }
    }
    rd_kafka_destroy(rk);
}

size_t e2e_dlq_count_client(const struct e2e_dlq_mark *m, const char *client) {
    char topic[160], prefix[100];
    struct e2e_dlq_mark now;
    size_t mine = 0, total = 0, want = 0, seen = 0;
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", client);
    e2e_dlq_mark(&now);
    rd_kafka_t *rk = e2e_admin_consumer();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < m->n[t]; p++) {
            if (now.end[t][p] <= m->end[t][p])
                continue;
            want += (size_t)(now.end[t][p] - m->end[t][p]);
            rd_kafka_topic_partition_list_add(l, e2e_dlq_topic(t, topic, sizeof topic), p)->offset =
                m->end[t][p];
        }
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    /* the DLQ producers are not transactional: offsets are records */
    for (int idle = 0; seen < want && idle < 300;) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (!msg) {
            idle++;
            continue;
        }
        if (!msg->err) {
            seen++;
            total++;
            if (msg->key_len > plen && memcmp(msg->key, prefix, plen) == 0)
                mine++;
        }
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert_eq(seen, want, "read %zu of the %zu new dead letters", seen, want);
    cr_log_info("%zu new dead letters in the DLQs, %zu of them this test's", total, mine);
    return mine;
}
