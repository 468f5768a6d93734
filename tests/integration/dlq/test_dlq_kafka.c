/* dlq against the real broker: the billing user dead-letters a record it
 * consumed from orders.billing, and it reads back from orders.billing.dlq
 * with key, value and every header; a refused or unreachable topic makes
 * dlq_publish return -1 instead of hanging. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../support/itest_env.h"
#include "dlq.h"
#include "itdlq.h"
#include "order_event.h"

/* A record the publisher wrote to orders.billing, as billing consumed it. */
struct tdk_src {
    char client_id[80], order_id[80], key[170], value[400];
    int32_t partition;
    int64_t offset;
    rd_kafka_t *consumer;
    rd_kafka_message_t *m;
};

static void tdk_src_make(struct tdk_src *s, int with_bin) {
    itest_unique("itdlq", s->client_id, sizeof s->client_id);
    itest_unique("ord", s->order_id, sizeof s->order_id);
    snprintf(s->key, sizeof s->key, "%s/%s", s->client_id, s->order_id);
    snprintf(s->value, sizeof s->value,
             "{\"order_id\":\"%s\",\"customer_id\":\"c\",\"currency\":\"EUR\",\"items\":[{\"sku\":"
             "\"A\",\"quantity\":1,\"unit_price_cents\":5}],\"total_cents\":5}",
             s->order_id);
    const char *topic = itest_env("KAFKA_TOPIC_BILLING");
    itdlq_produce("PUBLISHER", topic, s->key, s->value,
                  itdlq_ce_headers(s->client_id, s->order_id, with_bin), &s->partition, &s->offset);
    s->consumer = itdlq_consumer("BILLING");
    s->m = itdlq_fetch(s->consumer, topic, s->partition, s->offset);
}

static void tdk_src_free(struct tdk_src *s) {
    rd_kafka_message_destroy(s->m);
    rd_kafka_consumer_close(s->consumer);
    rd_kafka_destroy(s->consumer);
}

/* An idempotent producer as `who` whose delivery reports reach dlq. */
static rd_kafka_t *tdk_producer(struct kafka_settings s) {
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, dlq_dr_msg_cb);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(p, "%s", err);
    return p;
}

/* Drops whatever is still queued, serving its delivery reports, so every
 * rendezvous dlq_publish abandoned is freed (LeakSanitizer checks it). */
static void tdk_producer_destroy(rd_kafka_t *p) {
    rd_kafka_purge(p, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 100 && rd_kafka_outq_len(p) > 0; i++)
        rd_kafka_poll(p, 100);
    cr_assert_eq(rd_kafka_outq_len(p), 0);
    rd_kafka_destroy(p);
}

static void tdk_now(char out[DLQ_TIME_LEN + 1]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cr_assert_eq(dlq_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out), 0);
}

Test(dlq_kafka, consumed_record_decodes_with_its_position, .timeout = 120) {
    struct tdk_src s;
    tdk_src_make(&s, 0);
    struct order_event ev;
    char why[256];
    cr_assert_eq(order_event_decode(s.m, &ev, why, sizeof why), ORDER_EVENT_OK, "%s", why);
    cr_assert_str_eq(ev.client_id, s.client_id);
    cr_assert_str_eq(ev.order.order_id, s.order_id);
    cr_assert_eq(ev.partition, s.partition);
    cr_assert_eq(ev.offset, s.offset);
    order_event_release(&ev);
    tdk_src_free(&s);
    /* The same through rd_kafka_message_headers: poison is seen there too. */
    tdk_src_make(&s, 1);
    cr_assert_eq(order_event_decode(s.m, &ev, why, sizeof why), ORDER_EVENT_UNDECODABLE);
    cr_assert_str_eq(why, "header 'x-bin' is not UTF-8 (byte 0)");
    tdk_src_free(&s);
}

Test(dlq_kafka, billing_dead_letter_reads_back_whole, .timeout = 120) {
    const char *topic = itest_env("KAFKA_TOPIC_BILLING");
    char dlq_topic[256];
    snprintf(dlq_topic, sizeof dlq_topic, "%s%s", topic, DLQ_TOPIC_SUFFIX);
    struct tdk_src s;
    tdk_src_make(&s, 1);
    int64_t start[ITDLQ_MAX_PARTS];
    itdlq_end_offsets(dlq_topic, start);

    rd_kafka_t *p = tdk_producer(itdlq_settings("BILLING"));
    char err[512], before[DLQ_TIME_LEN + 1], after[DLQ_TIME_LEN + 1];
    const char *error = "ce_subject 'x' does not match the value's order_id 'y' \xc3\xa9";
    tdk_now(before);
    cr_assert_eq(
        dlq_publish(p, s.m, DLQ_REASON_INVALID, error, 2, ITDLQ_TIMEOUT_MS, err, sizeof err), 0,
        "%s", err);
    tdk_now(after);
    tdk_producer_destroy(p);

    struct itdlq_rec r[ITDLQ_MAX_RECS];
    int n = itdlq_read_since(dlq_topic, start, s.key, r);
    cr_assert_eq(n, 1, "%d dead letters with key %s", n, s.key);
    cr_assert_eq(r[0].key_len, strlen(s.key));
    cr_assert_str_eq(r[0].key, s.key);
    cr_assert_str_eq(r[0].value, s.value);

    /* The original headers first, byte for byte and in order. */
    rd_kafka_headers_t *orig = itdlq_ce_headers(s.client_id, s.order_id, 1);
    size_t norig = rd_kafka_header_cnt(orig);
    cr_assert_eq(rd_kafka_header_cnt(r[0].h), norig + 7);
    for (size_t i = 0; i < norig; i++) {
        const char *n1, *n2;
        const void *v1, *v2;
        size_t s1, s2;
        cr_assert_eq(rd_kafka_header_get_all(orig, i, &n1, &v1, &s1), 0);
        cr_assert_eq(rd_kafka_header_get_all(r[0].h, i, &n2, &v2, &s2), 0);
        cr_assert_str_eq(n2, n1);
        cr_assert(s1 == s2 && memcmp(v1, v2, s1) == 0, "header %s differs", n1);
    }
    rd_kafka_headers_destroy(orig);

    char buf[1100], want[32];
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_reason", buf, sizeof buf), "invalid");
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_error", buf, sizeof buf), error);
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_source_topic", buf, sizeof buf), topic);
    snprintf(want, sizeof want, "%d", (int)s.partition);
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_source_partition", buf, sizeof buf), want);
    snprintf(want, sizeof want, "%lld", (long long)s.offset);
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_source_offset", buf, sizeof buf), want);
    cr_assert_str_eq(itdlq_header(r[0].h, "dlq_attempts", buf, sizeof buf), "2");
    itdlq_header(r[0].h, "dlq_failed_at", buf, sizeof buf);
    cr_assert_eq(strlen(buf), DLQ_TIME_LEN, "%s", buf);
    cr_assert(strcmp(before, buf) <= 0 && strcmp(buf, after) <= 0, "%s not in [%s, %s]", buf,
              before, after);

    /* dlq_header_get on the consumed dead letter itself. */
    rd_kafka_t *admin = itdlq_consumer("ADMIN");
    rd_kafka_message_t *dm = itdlq_fetch(admin, dlq_topic, r[0].partition, r[0].offset);
    cr_assert_eq(dlq_header_get(dm, "dlq_attempts", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "2");
    cr_assert_eq(dlq_header_get(dm, "ce_clientid", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, s.client_id);
    cr_assert_eq(dlq_header_get(dm, "dlq_nope", buf, sizeof buf), -1);
    rd_kafka_message_destroy(dm);
    rd_kafka_consumer_close(admin);
    rd_kafka_destroy(admin);
    itdlq_recs_free(r, n);
    tdk_src_free(&s);
}

Test(dlq_kafka, refused_topic_fails_on_the_brokers_answer, .timeout = 120) {
    struct tdk_src s;
    tdk_src_make(&s, 1);
    /* archive may not write orders.billing.dlq: the broker says so, and
     * dlq_publish returns that answer rather than waiting out the timeout. */
    rd_kafka_t *p = tdk_producer(itdlq_settings("ARCHIVE"));
    char err[512];
    cr_assert_eq(dlq_publish(p, s.m, DLQ_REASON_INVALID, "x", 1, ITDLQ_TIMEOUT_MS, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "Topic authorization failed") != NULL, "%s", err);
    cr_assert(strstr(err, ".dlq") != NULL, "%s", err);
    tdk_producer_destroy(p);
    tdk_src_free(&s);
}

Test(dlq_kafka, unreachable_broker_times_out_without_hanging, .timeout = 120) {
    struct tdk_src s;
    tdk_src_make(&s, 1);
    struct kafka_settings dead = {.bootstrap = "127.0.0.1:1", .client_id = "itest-dlq-dead"};
    rd_kafka_t *p = tdk_producer(dead);
    char err[512];
    cr_assert_eq(dlq_publish(p, s.m, DLQ_REASON_INVALID, "x", 1, 300, err, sizeof err), -1);
    cr_assert(strstr(err, "no acknowledgement within 300 ms") != NULL, "%s", err);
    tdk_producer_destroy(p); /* the late report frees the abandoned rendezvous */
    tdk_src_free(&s);
}
