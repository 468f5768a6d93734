/* itdlq: Kafka helpers for the dead-letter integration suites. */
#include "itdlq.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../../../services/ordersctl/args.h"
#include "dlq.h"

struct kafka_settings itdlq_settings(const char *who) {
    return itest_kafka_settings(who, "itest-dlq");
}

static void itdlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    rd_kafka_message_t *out = m->_private;
    out->err = m->err;
    out->partition = m->partition;
    out->offset = m->offset;
}

void itdlq_produce(const char *who, const char *topic, const char *key, const char *value,
                   rd_kafka_headers_t *h, int32_t *partition, int64_t *offset) {
    struct kafka_settings s = itdlq_settings(who);
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, itdlq_dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    rd_kafka_message_t result = {.err = RD_KAFKA_RESP_ERR__IN_PROGRESS};
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "producev: %s", rd_kafka_err2str(e));
    rd_kafka_flush(rk, ITDLQ_TIMEOUT_MS);
    rd_kafka_destroy(rk);
    cr_assert_eq(result.err, RD_KAFKA_RESP_ERR_NO_ERROR, "produce to %s as %s: %s", topic, who,
                 rd_kafka_err2str(result.err));
    *partition = result.partition;
    *offset = result.offset;
}

rd_kafka_headers_t *itdlq_ce_headers(const char *client_id, const char *order_id, int with_bin) {
    char source[128];
    snprintf(source, sizeof source, "/clients/%s", client_id);
    const char *hs[][2] = {
        {"ce_specversion", "1.0"},
        {"ce_id", "0b6f1c1e-3b7d-4d8e-9a55-2f1d8c0e7a11"},
        {"ce_source", source},
        {"ce_type", "orders.order.accepted.v1"},
        {"ce_time", "2024-05-01T12:34:56.789Z"},
        {"ce_subject", order_id},
        {"ce_clientid", client_id},
        {"content-type", "application/json"},
        {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    };
    rd_kafka_headers_t *h = rd_kafka_headers_new(10);
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        cr_assert_eq(rd_kafka_header_add(h, hs[i][0], -1, hs[i][1], -1), 0);
    if (with_bin)
        cr_assert_eq(rd_kafka_header_add(h, "x-bin", -1, "\xff\x00\xfe", 3), 0);
    return h;
}

static rd_kafka_t *itdlq_consumer_iso(const char *who, int read_uncommitted) {
    /* Even in assign mode librdkafka looks up the group's coordinator, so
     * a service user needs its own group (only the admin may pick any). */
    const char *group = strcmp(who, "BILLING") == 0 ? itest_env("KAFKA_GROUP_BILLING") : NULL;
    rd_kafka_t *rk = itest_kafka_consumer(who, "itest-dlq", group, read_uncommitted);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

rd_kafka_t *itdlq_consumer(const char *who) {
    return itdlq_consumer_iso(who, 0);
}

rd_kafka_message_t *itdlq_fetch(rd_kafka_t *rk, const char *topic, int32_t partition,
                                int64_t offset) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    for (int waited = 0; waited < ITDLQ_TIMEOUT_MS; waited += 200) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "fetch %s: %s", topic,
                     rd_kafka_message_errstr(m));
        if (m->partition == partition && m->offset == offset)
            return m;
        rd_kafka_message_destroy(m);
    }
    cr_assert_fail("record %s [%d] @%lld never arrived", topic, (int)partition, (long long)offset);
    return NULL;
}

int itdlq_end_offsets(const char *topic, int64_t end[ITDLQ_MAX_PARTS]) {
    /* read_uncommitted: the high watermark, which counts a transaction whose
     * commit markers are still being written. A read_committed client would
     * get the last stable offset, which lags commit_transaction() briefly,
     * and a reader stopping there would miss records just committed. */
    rd_kafka_t *rk = itdlq_consumer_iso("ADMIN", 1);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    cr_assert_eq(rd_kafka_metadata(rk, 0, rkt, &md, ITDLQ_TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(md->topic_cnt, 1);
    int n = md->topics[0].partition_cnt;
    cr_assert(n > 0 && n <= ITDLQ_MAX_PARTS, "%s has %d partitions", topic, n);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    for (int p = 0; p < n; p++) {
        int64_t lo;
        cr_assert_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &end[p], ITDLQ_TIMEOUT_MS),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    rd_kafka_destroy(rk);
    return n;
}

static char *itdlq_dup(const void *p, size_t n) {
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int itdlq_read_since(const char *topic, const int64_t start[ITDLQ_MAX_PARTS],
                     const char *key_prefix, struct itdlq_rec out[ITDLQ_MAX_RECS]) {
    int64_t end[ITDLQ_MAX_PARTS], next[ITDLQ_MAX_PARTS];
    int nparts = itdlq_end_offsets(topic, end);
    rd_kafka_t *rk = itdlq_consumer("ADMIN");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) {
        next[p] = start[p];
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = start[p];
    }
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    int n = 0;
    for (int waited = 0; waited < ITDLQ_TIMEOUT_MS;) {
        int done = 1;
        for (int p = 0; p < nparts; p++)
            done &= next[p] >= end[p];
        if (done)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            waited += 200;
            /* Transaction markers take offsets the consumer never returns. */
            if (rd_kafka_position(rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR)
                for (int p = 0; p < nparts; p++)
                    if (l->elems[p].offset > next[p])
                        next[p] = l->elems[p].offset;
            continue;
        }
        cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_message_errstr(m));
        next[m->partition] = m->offset + 1;
        size_t pl = strlen(key_prefix);
        if (m->offset < end[m->partition] && m->key && m->key_len >= pl &&
            memcmp(m->key, key_prefix, pl) == 0) {
            cr_assert_lt(n, ITDLQ_MAX_RECS);
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
                h = NULL;
            out[n] = (struct itdlq_rec){
                .key = itdlq_dup(m->key, m->key_len),
                .key_len = m->key_len,
                .value = itdlq_dup(m->payload, m->len),
                .value_len = m->len,
                .h = h ? rd_kafka_headers_copy(h) : rd_kafka_headers_new(1),
                .partition = m->partition,
                .offset = m->offset,
            };
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

void itdlq_recs_free(struct itdlq_rec *r, int n) {
    for (int i = 0; i < n; i++) {
        free(r[i].key);
        free(r[i].value);
        rd_kafka_headers_destroy(r[i].h);
    }
}

const char *itdlq_header(const rd_kafka_headers_t *h, const char *name, char *buf, size_t len) {
    cr_assert_eq(dlq_header_get_hdrs(h, name, buf, len), 0, "header %s missing or repeated", name);
    return buf;
}

void itdlq_commit_group_at_end(const char *dlq_topic, const char *sub) {
    int64_t end[ITDLQ_MAX_PARTS];
    int n = itdlq_end_offsets(dlq_topic, end);
    struct kafka_settings s = itdlq_settings("PUBLISHER");
    char err[512], group[128];
    snprintf(group, sizeof group, "ordersctl-dlq-%s", sub);
    rd_kafka_conf_t *conf = kafka_conf_consumer(&s, group, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(l, dlq_topic, p)->offset = end[p];
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, l, 0);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "commit: %s", rd_kafka_err2str(e));
    for (int p = 0; p < n; p++)
        l->elems[p].offset = RD_KAFKA_OFFSET_INVALID;
    e = rd_kafka_committed(rk, l, ITDLQ_TIMEOUT_MS);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "committed: %s", rd_kafka_err2str(e));
    for (int p = 0; p < n; p++)
        cr_assert_eq(l->elems[p].offset, end[p], "group %s at %lld, want %lld", group,
                     (long long)l->elems[p].offset, (long long)end[p]);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

char *itdlq_ordersctl(const char *sub, const char *topic, enum ordersctl_dlq_action action,
                      unsigned long max) {
    struct ordersctl_dlq_opts o = {
        .action = action, .subscription = sub, .topic = topic, .max = max};
    struct kafka_settings s = itdlq_settings("PUBLISHER");
    s.client_id = "ordersctl-dlq";
    FILE *out = tmpfile();
    cr_assert_not_null(out);
    cr_assert_eq(ordersctl_dlq_run(&o, &s, out, stderr), ORDERSCTL_EXIT_OK);
    long len = ftell(out);
    cr_assert_geq(len, 0);
    char *text = calloc(1, (size_t)len + 1);
    cr_assert_not_null(text);
    rewind(out);
    cr_assert_eq(fread(text, 1, (size_t)len, out), (size_t)len);
    fclose(out);
    return text;
}
