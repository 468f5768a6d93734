/* ordersctl dlq against the real broker: three dead letters in
 * orders.billing.dlq (written by dlq_publish as billing), redrive --max 2
 * re-publishes exactly two to orders.billing with dlq_redrive_count=1 and no
 * other dlq_* header, a second redrive sends only the third, a third sends
 * nothing, and list shows all three as redriven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/itest_env.h"
#include "dlq.h"
#include "itdlq.h"

#define TDR_N 3

struct tdr_ctx {
    const char *topic;
    char dlq_topic[256], sub[64], client_id[80], prefix[96];
    char keys[TDR_N][170], value[400];
};

/* Publisher writes record i to orders.billing; billing dead-letters it. */
static void tdr_dead_letter(const struct tdr_ctx *c, int i, rd_kafka_t *producer) {
    int32_t part;
    int64_t off;
    const char *order_id = strchr(c->keys[i], '/') + 1;
    itdlq_produce("PUBLISHER", c->topic, c->keys[i], c->value,
                  itdlq_ce_headers(c->client_id, order_id, 1), &part, &off);
    rd_kafka_t *consumer = itdlq_consumer("BILLING");
    rd_kafka_message_t *m = itdlq_fetch(consumer, c->topic, part, off);
    char err[512];
    cr_assert_eq(
        dlq_publish(producer, m, DLQ_REASON_INVALID, "itest", 1, ITDLQ_TIMEOUT_MS, err, sizeof err),
        0, "%s", err);
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
}

/* Checks one redriven record: original headers byte for byte, then only
 * dlq_redrive_count=1; returns the index of its key. */
static int tdr_check_redriven(const struct tdr_ctx *c, const struct itdlq_rec *r) {
    int k = -1;
    for (int i = 0; i < TDR_N; i++)
        if (strcmp(r->key, c->keys[i]) == 0)
            k = i;
    cr_assert_geq(k, 0, "unexpected key %s", r->key);
    cr_assert_str_eq(r->value, c->value);
    rd_kafka_headers_t *orig = itdlq_ce_headers(c->client_id, strchr(c->keys[k], '/') + 1, 1);
    size_t norig = rd_kafka_header_cnt(orig);
    cr_assert_eq(rd_kafka_header_cnt(r->h), norig + 1, "%zu headers", rd_kafka_header_cnt(r->h));
    for (size_t i = 0; i < norig; i++) {
        const char *n1, *n2;
        const void *v1, *v2;
        size_t s1, s2;
        cr_assert_eq(rd_kafka_header_get_all(orig, i, &n1, &v1, &s1), 0);
        cr_assert_eq(rd_kafka_header_get_all(r->h, i, &n2, &v2, &s2), 0);
        cr_assert_str_eq(n2, n1);
        cr_assert(s1 == s2 && memcmp(v1, v2, s1) == 0, "header %s differs", n1);
    }
    rd_kafka_headers_destroy(orig);
    const char *name;
    const void *v;
    size_t sz;
    cr_assert_eq(rd_kafka_header_get_all(r->h, norig, &name, &v, &sz), 0);
    cr_assert_str_eq(name, "dlq_redrive_count");
    cr_assert(sz == 1 && memcmp(v, "1", 1) == 0, "dlq_redrive_count is not 1");
    return k;
}

Test(dlq_redrive, each_dead_letter_is_redriven_once, .timeout = 300) {
    struct tdr_ctx c;
    memset(&c, 0, sizeof c);
    c.topic = itest_env("KAFKA_TOPIC_BILLING");
    snprintf(c.dlq_topic, sizeof c.dlq_topic, "%s%s", c.topic, DLQ_TOPIC_SUFFIX);
    itest_unique("it", c.sub, sizeof c.sub);
    itest_unique("itredrive", c.client_id, sizeof c.client_id);
    snprintf(c.prefix, sizeof c.prefix, "%s/", c.client_id);
    for (int i = 0; i < TDR_N; i++)
        snprintf(c.keys[i], sizeof c.keys[i], "%sord-%d", c.prefix, i);
    snprintf(c.value, sizeof c.value, "{\"note\":\"redrive carries the value as is\"}");

    itdlq_commit_group_at_end(c.dlq_topic, c.sub);
    struct kafka_settings bs = itdlq_settings("BILLING");
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&bs, NULL, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, dlq_dr_msg_cb);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(producer, "%s", err);
    for (int i = 0; i < TDR_N; i++)
        tdr_dead_letter(&c, i, producer);
    rd_kafka_destroy(producer);

    /* First redrive, --max 2: exactly two arrive, each once. */
    int64_t start[ITDLQ_MAX_PARTS];
    struct itdlq_rec r[ITDLQ_MAX_RECS];
    itdlq_end_offsets(c.topic, start);
    char *out = itdlq_ordersctl(c.sub, c.topic, ORDERSCTL_DLQ_REDRIVE, 2);
    cr_assert(strstr(out, "redriven 2 dead letter(s)") != NULL, "%s", out);
    int n = itdlq_read_since(c.topic, start, c.prefix, r);
    cr_assert_eq(n, 2, "%d of our records redriven; ordersctl said:\n%s", n, out);
    free(out);
    int seen[TDR_N] = {0};
    for (int i = 0; i < n; i++)
        seen[tdr_check_redriven(&c, &r[i])]++;
    itdlq_recs_free(r, n);

    /* Second redrive: only the third. */
    itdlq_end_offsets(c.topic, start);
    out = itdlq_ordersctl(c.sub, c.topic, ORDERSCTL_DLQ_REDRIVE, 0);
    cr_assert(strstr(out, "redriven 1 dead letter(s)") != NULL, "%s", out);
    free(out);
    n = itdlq_read_since(c.topic, start, c.prefix, r);
    cr_assert_eq(n, 1, "%d records redriven the second time", n);
    seen[tdr_check_redriven(&c, &r[0])]++;
    itdlq_recs_free(r, n);
    for (int i = 0; i < TDR_N; i++)
        cr_assert_eq(seen[i], 1, "%s redriven %d times", c.keys[i], seen[i]);

    /* Third redrive: nothing left. */
    itdlq_end_offsets(c.topic, start);
    out = itdlq_ordersctl(c.sub, c.topic, ORDERSCTL_DLQ_REDRIVE, 0);
    cr_assert(strstr(out, "redriven 0 dead letter(s)") != NULL, "%s", out);
    free(out);
    n = itdlq_read_since(c.topic, start, c.prefix, r);
    cr_assert_eq(n, 0);

    /* list: all three, as redriven, with their dead-letter fields. */
    out = itdlq_ordersctl(c.sub, c.topic, ORDERSCTL_DLQ_LIST, 0);
    for (int i = 0; i < TDR_N; i++) {
        char want[256];
        snprintf(want, sizeof want, "key=\"%s\" reason=invalid source=%s/", c.keys[i], c.topic);
        const char *line = strstr(out, want);
        cr_assert_not_null(line, "%s not listed:\n%s", c.keys[i], out);
        const char *eol = strchr(line, '\n');
        const char *st = strstr(line, "status=redriven");
        cr_assert(st && eol && st < eol, "%s not shown as redriven", c.keys[i]);
        const char *rc = strstr(line, "redrive_count=0 ");
        cr_assert(rc && rc < eol, "%s: dead letter should carry no redrive count", c.keys[i]);
    }
    cr_assert(strstr(out, "listed ") != NULL, "%s", out);
    free(out);
}
