/* iarc: helpers of the archive integration suite (see iarc.h). */
#include "iarc.h"

#include <criterion/criterion.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../services/publisher/cloudevents.h"
#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../support/itest_s3.h"
#include "crypto.h"
#include "dlq.h"
#include "kafka_anchor.h"
#include "kafka_conf.h"
#include "s3.h"
#include "strbuf.h"

#define IARC_TXN_CHUNK 500

int64_t iarc_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct iarc_order *iarc_make_orders(size_t n, size_t nclients, const char *tag) {
    struct iarc_order *o = calloc(n, sizeof *o);
    char prefix[48];
    unsigned char raw[24];
    char hex[49];
    cr_assert_not_null(o);
    itest_unique(tag, prefix, sizeof prefix);
    for (size_t i = 0; i < n; i++) {
        int late = (int)(i % 2);
        snprintf(o[i].client_id, sizeof o[i].client_id, "%.40s.c%u", prefix,
                 (unsigned)(i % nclients % 1000));
        snprintf(o[i].order_id, sizeof o[i].order_id, "ord-%zu", i);
        cr_assert_eq(crypto_uuid_v4(o[i].event_id), 0);
        /* both sides of a UTC midnight: the date in the key is ce_time's */
        snprintf(o[i].ce_time, sizeof o[i].ce_time, "%s",
                 late ? "2026-02-01T00:00:00.000Z" : "2026-01-31T23:59:59.999Z");
        cr_assert_eq(crypto_random_bytes(raw, sizeof raw), 0);
        raw[0] |= 1;
        raw[16] |= 1;
        crypto_hex_encode(raw, sizeof raw, hex);
        snprintf(o[i].traceparent, sizeof o[i].traceparent, "00-%.32s-%.16s-01", hex, hex + 32);
        snprintf(o[i].body, sizeof o[i].body,
                 "{\"order_id\":\"%s\",\"customer_id\":\"cust-%zu\",\"currency\":\"EUR\","
                 "\"items\":[{\"sku\":\"SKU-1\",\"quantity\":%zu,\"unit_price_cents\":100}],"
                 "\"total_cents\":%zu,\"metadata\":{\"note\":\"caf\xc3\xa9 \\\"%zu\\\"\"}}",
                 o[i].order_id, i, i + 1, (i + 1) * 100, i);
        snprintf(o[i].key, sizeof o[i].key, "orders/%s/%s/%s.json",
                 late ? "2026/02/01" : "2026/01/31", o[i].client_id, o[i].order_id);
        o[i].partition = -1;
        o[i].offset = -1;
    }
    return o;
}

char *iarc_expected_doc(const struct iarc_order *o) {
    size_t cap = 2048;
    char *d = malloc(cap);
    cr_assert_not_null(d);
    int n = snprintf(d, cap,
                     "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/clients/%s\","
                     "\"type\":\"orders.order.accepted.v1\",\"time\":\"%s\",\"subject\":\"%s\","
                     "\"clientid\":\"%s\",\"datacontenttype\":\"application/json\","
                     "\"traceparent\":\"%s\",\"data\":%s}",
                     o->event_id, o->client_id, o->ce_time, o->order_id, o->client_id,
                     o->traceparent, o->body);
    cr_assert(n > 0 && (size_t)n < cap);
    return d;
}

/* ---- Kafka -------------------------------------------------------------- */

static void iarc_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    struct iarc_order *o = m->_private;
    cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "delivery: %s", rd_kafka_err2str(m->err));
    if (o) {
        o->partition = m->partition;
        o->offset = m->offset;
        o->anchor = kafka_anchor_of(m); /* the broker keeps the producer's timestamp */
    }
}

void iarc_produce(struct iarc_order *o, size_t n, int32_t partition) {
    char err[512], txn[128], unique[64];
    struct kafka_settings s = itest_kafka_settings("PUBLISHER", "itest-archive");
    snprintf(txn, sizeof txn, "%s%s", itest_env("KAFKA_TRANSACTIONAL_ID_PREFIX"),
             itest_unique("itest-archive", unique, sizeof unique));
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, txn, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, iarc_dr);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
    cr_assert_null(e, "init_transactions: %s", e ? rd_kafka_error_string(e) : "");
    const char *topic = itest_env("KAFKA_TOPIC_ARCHIVE");
    for (size_t start = 0; start < n; start += IARC_TXN_CHUNK) {
        size_t end = start + IARC_TXN_CHUNK < n ? start + IARC_TXN_CHUNK : n;
        e = rd_kafka_begin_transaction(rk);
        cr_assert_null(e, "begin: %s", e ? rd_kafka_error_string(e) : "");
        for (size_t i = start; i < end; i++) {
            char key[PUBLISHER_CE_KEY_MAX + 1];
            const struct publisher_ce_event ev = {.event_id = o[i].event_id,
                                                  .client_id = o[i].client_id,
                                                  .order_id = o[i].order_id,
                                                  .ce_time = o[i].ce_time,
                                                  .traceparent = o[i].traceparent};
            rd_kafka_headers_t *h = publisher_ce_headers(&ev);
            cr_assert_not_null(h);
            int klen = publisher_ce_key(o[i].client_id, o[i].order_id, key, sizeof key);
            cr_assert(klen > 0);
            rd_kafka_resp_err_t perr;
            do {
                perr = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_PARTITION(partition >= 0 ? partition : RD_KAFKA_PARTITION_UA),
                    RD_KAFKA_V_KEY(key, (size_t)klen),
                    RD_KAFKA_V_VALUE(o[i].body, strlen(o[i].body)),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                    RD_KAFKA_V_OPAQUE(&o[i]), RD_KAFKA_V_END);
                if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(rk, 50);
            } while (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL);
            if (perr)
                rd_kafka_headers_destroy(h);
            cr_assert_eq(perr, RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(perr));
        }
        e = rd_kafka_commit_transaction(rk, 30000);
        cr_assert_null(e, "commit: %s", e ? rd_kafka_error_string(e) : "");
    }
    rd_kafka_poll(rk, 0); /* serve the remaining delivery reports */
    rd_kafka_destroy(rk);
    for (size_t i = 0; i < n; i++)
        cr_assert(o[i].offset >= 0, "no delivery report for order %zu", i);
}

static void iarc_raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    int64_t *out = m->_private;
    cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
    out[0] = m->partition;
    out[1] = m->offset;
}

void iarc_produce_raw(const char *key, const char *value, rd_kafka_headers_t *headers,
                      int32_t *partition, int64_t *offset) {
    char err[512];
    int64_t where[2] = {-1, -1};
    struct kafka_settings s = itest_kafka_settings("ADMIN", "itest-archive");
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, iarc_raw_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    rd_kafka_resp_err_t perr = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(itest_env("KAFKA_TOPIC_ARCHIVE")), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(where), RD_KAFKA_V_END);
    cr_assert_eq(perr, RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    cr_assert(where[1] >= 0);
    *partition = (int32_t)where[0];
    *offset = where[1];
}

static rd_kafka_t *iarc_admin_consumer(void) {
    char err[512], group[96];
    struct kafka_settings s = itest_kafka_settings("ADMIN", "itest-archive");
    itest_unique("itest-archive", group, sizeof group);
    rd_kafka_conf_t *conf = kafka_conf_consumer(&s, group, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    return rk;
}

static const char *iarc_dlq_topic(char *buf, size_t len) {
    snprintf(buf, len, "%s%s", itest_env("KAFKA_TOPIC_ARCHIVE"), DLQ_TOPIC_SUFFIX);
    return buf;
}

int64_t iarc_dlq_end(void) {
    char topic[160];
    int64_t lo, hi;
    rd_kafka_t *rk = iarc_admin_consumer();
    cr_assert_eq(rd_kafka_query_watermark_offsets(rk, iarc_dlq_topic(topic, sizeof topic), 0, &lo,
                                                  &hi, 10000),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    return hi;
}

int iarc_dlq_count_prefix(int64_t start, const char *prefix) {
    char topic[160];
    int64_t end = iarc_dlq_end(), deadline = iarc_now_ms() + 30000, pos = start;
    int n = 0;
    if (end <= start)
        return 0;
    rd_kafka_t *rk = iarc_admin_consumer();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, iarc_dlq_topic(topic, sizeof topic), 0)->offset = start;
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    while (pos < end - 1 && iarc_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err) {
            pos = m->offset;
            if (m->key_len >= strlen(prefix) && memcmp(m->key, prefix, strlen(prefix)) == 0)
                n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert_geq(pos, end - 1, "DLQ not read to its end");
    return n;
}

static void iarc_copy_header(const rd_kafka_message_t *m, const char *name, char *buf, size_t len) {
    if (dlq_header_get(m, name, buf, len) != 0)
        buf[0] = '\0';
}

int iarc_dlq_find(int64_t start, const char *key, long timeout_ms, struct iarc_dead *d) {
    char topic[160];
    rd_kafka_t *rk = iarc_admin_consumer();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t deadline = iarc_now_ms() + timeout_ms, quiet_until = -1;
    memset(d, 0, sizeof *d);
    rd_kafka_topic_partition_list_add(l, iarc_dlq_topic(topic, sizeof topic), 0)->offset = start;
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    while (iarc_now_ms() < deadline && (quiet_until < 0 || iarc_now_ms() < quiet_until)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err && m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0) {
            if (d->matches++ == 0) {
                iarc_copy_header(m, "dlq_reason", d->reason, sizeof d->reason);
                iarc_copy_header(m, "dlq_error", d->error, sizeof d->error);
                iarc_copy_header(m, "dlq_attempts", d->attempts, sizeof d->attempts);
                iarc_copy_header(m, "dlq_source_topic", d->src_topic, sizeof d->src_topic);
                iarc_copy_header(m, "dlq_source_partition", d->src_partition,
                                 sizeof d->src_partition);
                iarc_copy_header(m, "dlq_source_offset", d->src_offset, sizeof d->src_offset);
                iarc_copy_header(m, "dlq_failed_at", d->failed_at, sizeof d->failed_at);
                iarc_copy_header(m, "ce_id", d->ce_id, sizeof d->ce_id);
                d->value_len = m->len < sizeof d->value - 1 ? m->len : sizeof d->value - 1;
                memcpy(d->value, m->payload, d->value_len);
            }
            /* keep reading a little to catch a second copy */
            quiet_until = iarc_now_ms() + 3000;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return d->matches;
}

/* ---- S3 ----------------------------------------------------------------- */

/* One root client for the whole run (listings poll it in loops). */
static struct s3_client *iarc_root(void) {
    static struct s3_client *c;
    if (!c)
        c = itest_s3_root();
    return c;
}

char *iarc_get(const char *key) {
    struct strbuf b;
    struct s3_result res;
    strbuf_init(&b, 1 << 24);
    int rc = s3_get_object(iarc_root(), itest_env("S3_BUCKET"), key, &b, &res);
    if (rc != 0 || res.http_status != 200) {
        strbuf_release(&b);
        cr_assert(rc == 0 && res.http_status == 404, "GET %s: %ld %s %s", key, res.http_status,
                  res.error_code, res.message);
        return NULL;
    }
    char *s = strdup(strbuf_str(&b));
    strbuf_release(&b);
    cr_assert_not_null(s);
    return s;
}

/* 1 if s[0..len) contains `needle`. */
static int iarc_contains(const char *s, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, needle, n) == 0)
            return 1;
    return 0;
}

static int iarc_key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct iarc_tally {
    const char *const *sorted; /* the orders' keys, sorted */
    size_t n, stored;
};

static void iarc_tally_key(const char *key, size_t len, void *ud) {
    struct iarc_tally *t = ud;
    /* versitygw's posix backend lists the temp file of a PUT in progress
     * ("<dir>/.<name>.sgwtmp.<n>"): store state, not an object anyone wrote */
    const char *base = key;
    for (const char *q = key; q < key + len; q++)
        if (*q == '/')
            base = q + 1;
    if (*base == '.' && iarc_contains(base, (size_t)(key + len - base), ".sgwtmp."))
        return;
    char k[512];
    cr_assert_lt(len, sizeof k, "unexpected object %.*s", (int)len, key);
    memcpy(k, key, len);
    k[len] = '\0';
    const char *kp = k;
    cr_assert_not_null(bsearch(&kp, t->sorted, t->n, sizeof *t->sorted, iarc_key_cmp),
                       "unexpected object %s", k);
    t->stored++;
}

size_t iarc_count_objects(const struct iarc_order *o, size_t n) {
    const char **sorted = malloc(n * sizeof *sorted);
    cr_assert_not_null(sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = o[i].key;
    qsort(sorted, n, sizeof *sorted, iarc_key_cmp);
    struct iarc_tally t = {.sorted = sorted, .n = n};
    /* Keys sharing a "<date>/<client>/" prefix are adjacent once sorted:
     * list each such prefix once, every page of it. */
    char prev[256] = "";
    for (size_t i = 0; i < n; i++) {
        char prefix[256];
        const char *slash = strrchr(sorted[i], '/');
        snprintf(prefix, sizeof prefix, "%.*s", (int)(slash - sorted[i] + 1), sorted[i]);
        if (strcmp(prefix, prev) == 0)
            continue;
        snprintf(prev, sizeof prev, "%s", prefix);
        itest_s3_each_key(iarc_root(), prefix, iarc_tally_key, &t);
    }
    free(sorted);
    return t.stored;
}

void iarc_wait_all(const struct iarc_order *o, size_t n, long timeout_ms) {
    int64_t deadline = iarc_now_ms() + timeout_ms;
    size_t have = 0;
    while ((have = iarc_count_objects(o, n)) < n && iarc_now_ms() < deadline)
        usleep(300 * 1000);
    cr_assert_eq(have, n, "%zu of %zu objects after %ld ms", have, n, timeout_ms);
}

void iarc_verify_objects(const struct iarc_order *o, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *want = iarc_expected_doc(&o[i]);
        char *got = iarc_get(o[i].key);
        cr_assert_not_null(got, "missing %s", o[i].key);
        cr_assert_str_eq(got, want, "bytes of %s", o[i].key);
        free(want);
        free(got);
    }
}

/* ---- the archive process --------------------------------------------------- */

void iarc_archive_start(struct itest_proc *p, const char *mode) {
    char v[32];
    if (!p->name[0]) {
        itest_proc_init(p, "archive");
        itest_proc_secret(p, "KAFKA_PASSWORD", "kafka", itest_env("KAFKA_ARCHIVE_PASSWORD"));
        itest_proc_secret(p, "S3_SECRET_KEY", "s3", itest_env("S3_ARCHIVE_SECRET_KEY"));
        itest_proc_setenv(p, "KAFKA_USERNAME", itest_env("KAFKA_ARCHIVE_USER"));
        itest_proc_setenv(p, "S3_ACCESS_KEY", itest_env("S3_ARCHIVE_ACCESS_KEY"));
        itest_proc_setenv(p, "ARCHIVE_TOPIC", itest_env("KAFKA_TOPIC_ARCHIVE"));
        itest_proc_setenv(p, "ARCHIVE_GROUP", itest_env("KAFKA_GROUP_ARCHIVE"));
        itest_proc_setenv(p, "ARCHIVE_RETRY_BASE", "100ms");
        itest_proc_setenv(p, "ARCHIVE_RETRY_CAP", "1s");
        itest_proc_setenv(p, "ARCHIVE_MAX_ATTEMPTS", "3");
        itest_proc_setenv(p, "ARCHIVE_SESSION_TIMEOUT", "6s");
        itest_proc_setenv(p, "ARCHIVE_STATS_INTERVAL", "1s");
        itest_proc_setenv(p, "ARCHIVE_BATCH_MAX", "100");
        itest_proc_setenv(p, "ARCHIVE_BATCH_AGE", "1500ms");
        itest_proc_setenv(p, "S3_TIMEOUT", "3s");
        itest_env("S3_ENDPOINT");
        itest_env("KAFKA_BOOTSTRAP");
    }
    itest_proc_setenv(p, "ARCHIVE_MODE", mode);
    p->admin_port = itest_free_port();
    snprintf(v, sizeof v, "%d", p->admin_port);
    itest_proc_setenv(p, "ARCHIVE_ADMIN_PORT", v);
    itest_proc_start(p, 60000);
}

long iarc_wait_ready(const struct itest_proc *p, long status, long timeout_ms) {
    int64_t deadline = iarc_now_ms() + timeout_ms;
    long got;
    while ((got = itest_http_get(p->admin_port, "/readyz")) != status && iarc_now_ms() < deadline)
        usleep(200 * 1000);
    return got;
}

static size_t iarc_sink(char *ptr, size_t size, size_t n, void *ud) {
    strbuf_append(ud, ptr, size * n);
    return size * n;
}

double iarc_metric(const struct itest_proc *p, const char *prefix) {
    char url[96];
    struct strbuf b;
    double v = -1;
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    strbuf_init(&b, 1 << 20);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", p->admin_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, iarc_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    for (const char *line = strbuf_str(&b); line && *line;) {
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            v = strtod(line + strlen(prefix), NULL);
            break;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    strbuf_release(&b);
    return v;
}

/* ---- the archive group's positions ------------------------------------------- */

/* A consumer in the archive group that never joins it (no subscribe): it
 * only reads and writes committed offsets. */
static rd_kafka_t *iarc_group_client(void) {
    char err[512];
    struct kafka_settings s = itest_kafka_settings("ADMIN", "itest-archive");
    rd_kafka_conf_t *conf =
        kafka_conf_consumer(&s, itest_env("KAFKA_GROUP_ARCHIVE"), err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    return rk;
}

int64_t iarc_committed(int32_t partition, char *meta, size_t metalen) {
    rd_kafka_t *rk = iarc_group_client();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, itest_env("KAFKA_TOPIC_ARCHIVE"), partition);
    cr_assert_eq(rd_kafka_committed(rk, l, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    const rd_kafka_topic_partition_t *tp = &l->elems[0];
    cr_assert_eq(tp->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_err2str(tp->err));
    int64_t off = tp->offset;
    snprintf(meta, metalen, "%.*s", (int)tp->metadata_size,
             tp->metadata ? (const char *)tp->metadata : "");
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return off;
}

void iarc_commit(int32_t partition, int64_t offset, const char *meta) {
    rd_kafka_t *rk = iarc_group_client();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, itest_env("KAFKA_TOPIC_ARCHIVE"), partition);
    tp->offset = offset;
    tp->metadata = rd_kafka_mem_malloc(rk, strlen(meta) + 1);
    cr_assert_not_null(tp->metadata);
    memcpy(tp->metadata, meta, strlen(meta) + 1);
    tp->metadata_size = strlen(meta);
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, l, 0);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "commit: %s", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

void iarc_wait_idle(const struct itest_proc *p, long timeout_ms) {
    int64_t deadline = iarc_now_ms() + timeout_ms;
    while (iarc_metric(p, "orders_archive_inflight ") != 0 && iarc_now_ms() < deadline)
        usleep(100 * 1000);
    cr_assert_eq(iarc_metric(p, "orders_archive_inflight "), 0);
}

double iarc_resets(const struct itest_proc *p, const char *reason) {
    char prefix[96];
    snprintf(prefix, sizeof prefix, "orders_archive_offset_resets_total{reason=\"%s\"} ", reason);
    return iarc_metric(p, prefix);
}
