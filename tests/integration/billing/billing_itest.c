/* billing_itest: feeding orders.billing, running billing, checking Postgres
 * (see billing_itest.h). */
#include "billing_itest.h"

#include <criterion/criterion.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../services/publisher/cloudevents.h"
#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "crypto.h"
#include "kafka_conf.h"
#include "strbuf.h"

#define IBILL_KAFKA_MS 30000

size_t ibill_n(size_t def) {
    const char *v = getenv("ITEST_ORDERS");
    long n = v && *v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? (size_t)n : def;
}

static const char *const ibill_customers[] = {
    "cust-plain",
    "tab\there \"quoted\" back\\slash",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 line\nbreak",
    "\\N looks like COPY null",
};

struct ibill_order *ibill_orders_make(const char *client_id, size_t n) {
    struct ibill_order *o = calloc(n, sizeof *o);
    char prefix[40];
    cr_assert_not_null(o);
    itest_unique("o", prefix, sizeof prefix);
    (void)client_id;
    for (size_t i = 0; i < n; i++) {
        struct ibill_order *x = &o[i];
        struct strbuf sb;
        unsigned char raw[24];
        char hex[49];
        snprintf(x->order_id, sizeof x->order_id, "%s-%zu", prefix, i);
        snprintf(x->customer_id, sizeof x->customer_id, "%s",
                 ibill_customers[i % (sizeof ibill_customers / sizeof ibill_customers[0])]);
        snprintf(x->currency, sizeof x->currency, "%s", i % 3 ? "EUR" : "USD");
        size_t nitems = 1 + i % 3;
        long long total = 0;
        int len = snprintf(x->items, sizeof x->items, "[");
        for (size_t k = 0; k < nitems; k++) {
            long long q = (long long)(k + 1), price = (long long)(i * 7 + k * 1000 + 1);
            total += q * price;
            len += snprintf(x->items + len, sizeof x->items - (size_t)len,
                            "%s{\"sku\":\"SKU-%zu\",\"quantity\":%lld,\"unit_price_cents\":%lld}",
                            k ? "," : "", k, q, price);
        }
        snprintf(x->items + len, sizeof x->items - (size_t)len, "]");
        x->total_cents = total;
        if (i % 2)
            snprintf(x->metadata, sizeof x->metadata, "{\"channel\":\"web\",\"n\":\"%zu\"}", i);
        strbuf_init(&sb, sizeof x->body - 1);
        strbuf_printf(&sb, "{\"order_id\":\"%s\",\"customer_id\":\"", x->order_id);
        strbuf_json_escape(&sb, x->customer_id, strlen(x->customer_id));
        strbuf_printf(&sb, "\",\"currency\":\"%s\",\"items\":%s,\"total_cents\":%lld%s%s}",
                      x->currency, x->items, x->total_cents, x->metadata[0] ? ",\"metadata\":" : "",
                      x->metadata);
        cr_assert(!sb.overflow);
        snprintf(x->body, sizeof x->body, "%s", strbuf_str(&sb));
        strbuf_release(&sb);
        cr_assert_eq(crypto_uuid_v4(x->event_id), 0);
        cr_assert_eq(crypto_random_bytes(raw, sizeof raw), 0);
        raw[0] |= 1;
        raw[16] |= 1;
        crypto_hex_encode(raw, sizeof raw, hex);
        snprintf(x->traceparent, sizeof x->traceparent, "00-%.32s-%.16s-01", hex, hex + 32);
        x->partition = -1;
        x->offset = -1;
    }
    return o;
}

static void ibill_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    struct ibill_order *o = m->_private;
    if (o && !m->err) {
        o->partition = m->partition;
        o->offset = m->offset;
    }
}

void ibill_produce(const char *client_id, struct ibill_order *o, size_t from, size_t to,
                   size_t per_txn, int32_t partition) {
    char err[512], txn[96], unique[48];
    struct kafka_settings s;
    s = itest_kafka_settings("PUBLISHER", "itest-billing");
    itest_unique("ibill", unique, sizeof unique);
    snprintf(txn, sizeof txn, "%s%s", itest_env("KAFKA_TRANSACTIONAL_ID_PREFIX"), unique);
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, txn, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, ibill_dr);
    cr_assert_eq(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    rd_kafka_error_t *e = rd_kafka_init_transactions(p, IBILL_KAFKA_MS);
    cr_assert_null(e, "init_transactions: %s", e ? rd_kafka_error_string(e) : "");
    const char *topic = itest_env("KAFKA_TOPIC_BILLING");
    for (size_t i = from; i < to;) {
        cr_assert_null(rd_kafka_begin_transaction(p));
        size_t end = i + per_txn < to ? i + per_txn : to;
        for (; i < end; i++) {
            struct ibill_order *x = &o[i];
            struct timespec ts;
            char key[PUBLISHER_CE_KEY_MAX + 1];
            clock_gettime(CLOCK_REALTIME, &ts);
            cr_assert_eq(publisher_ce_format_time(&ts, x->ce_time), 0);
            cr_assert_gt(publisher_ce_key(client_id, x->order_id, key, sizeof key), 0);
            const struct publisher_ce_event ev = {.event_id = x->event_id,
                                                  .client_id = client_id,
                                                  .order_id = x->order_id,
                                                  .ce_time = x->ce_time,
                                                  .traceparent = x->traceparent};
            rd_kafka_headers_t *h = publisher_ce_headers(&ev);
            cr_assert_not_null(h);
            rd_kafka_resp_err_t pe;
            while ((pe = rd_kafka_producev(
                        p, RD_KAFKA_V_TOPIC(topic),
                        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)),
                        RD_KAFKA_V_VALUE(x->body, strlen(x->body)), RD_KAFKA_V_HEADERS(h),
                        RD_KAFKA_V_OPAQUE(x), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
            cr_assert_eq(pe, RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(pe));
        }
        cr_assert_eq(rd_kafka_flush(p, IBILL_KAFKA_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
        e = rd_kafka_commit_transaction(p, IBILL_KAFKA_MS);
        cr_assert_null(e, "commit: %s", e ? rd_kafka_error_string(e) : "");
    }
    rd_kafka_destroy(p);
    for (size_t i = from; i < to; i++)
        cr_assert_geq(o[i].offset, 0, "order %zu has no delivery report", i);
}

int64_t ibill_produce_raw(const char *key, const char *value, const char *const *headers,
                          size_t nheaders, int32_t partition) {
    char err[512];
    struct kafka_settings s;
    struct ibill_order slot = {.offset = -1};
    s = itest_kafka_settings("ADMIN", "itest-billing");
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, ibill_dr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    rd_kafka_headers_t *h = rd_kafka_headers_new(nheaders);
    for (size_t i = 0; i < nheaders; i++)
        rd_kafka_header_add(h, headers[2 * i], -1, headers[2 * i + 1], -1);
    rd_kafka_resp_err_t pe =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(itest_env("KAFKA_TOPIC_BILLING")),
                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)(uintptr_t)value, strlen(value)),
                          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&slot), RD_KAFKA_V_END);
    cr_assert_eq(pe, RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(rd_kafka_flush(p, IBILL_KAFKA_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
    cr_assert_geq(slot.offset, 0, "raw record not acknowledged");
    return slot.offset;
}

PGconn *ibill_pg_admin(void) {
    const char *keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", NULL};
    const char *vals[] = {itest_env("PG_HOST"),
                          itest_env("PG_PORT"),
                          itest_env("PG_DATABASE"),
                          itest_env("PG_MIGRATOR_USER"),
                          itest_env("PG_MIGRATOR_PASSWORD"),
                          "5",
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    cr_assert(c && PQstatus(c) == CONNECTION_OK, "connect as migrator: %s",
              c ? PQerrorMessage(c) : "out of memory");
    return c;
}

/* Reconnects after a Postgres restart. */
static void ibill_pg_ensure(PGconn *c) {
    if (PQstatus(c) != CONNECTION_OK)
        PQreset(c);
}

long ibill_count(PGconn *c, const char *client_id) {
    const char *params[] = {client_id};
    ibill_pg_ensure(c);
    PGresult *r = PQexecParams(c, "SELECT count(*) FROM billing.orders WHERE client_id = $1", 1,
                               NULL, params, NULL, NULL, 0);
    long n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

void ibill_wait_count(PGconn *c, const char *client_id, long n, long timeout_ms) {
    long have = -1;
    for (long waited = 0; waited <= timeout_ms; waited += 100) {
        have = ibill_count(c, client_id);
        if (have >= n)
            break;
        usleep(100 * 1000);
    }
    cr_assert_eq(have, n, "billing.orders holds %ld of %ld orders", have, n);
}

void ibill_check_all(PGconn *c, const char *client_id, const struct ibill_order *o, size_t n) {
    static const char sql[] =
        "SELECT count(*) FROM billing.orders WHERE client_id = $1 AND order_id = $2"
        " AND customer_id = $3 AND currency = $4 AND total_cents = $5::bigint"
        " AND items = $6::jsonb AND metadata IS NOT DISTINCT FROM $7::jsonb"
        " AND event_id = $8::uuid AND received_at = $9::timestamptz"
        " AND kafka_partition = $10::int AND kafka_offset = $11::bigint";
    cr_assert_eq(ibill_count(c, client_id), (long)n);
    for (size_t i = 0; i < n; i++) {
        char total[24], part[16], off[24];
        snprintf(total, sizeof total, "%lld", o[i].total_cents);
        snprintf(part, sizeof part, "%" PRId32, o[i].partition);
        snprintf(off, sizeof off, "%" PRId64, o[i].offset);
        const char *params[] = {client_id,
                                o[i].order_id,
                                o[i].customer_id,
                                o[i].currency,
                                total,
                                o[i].items,
                                o[i].metadata[0] ? o[i].metadata : NULL,
                                o[i].event_id,
                                o[i].ce_time,
                                part,
                                off};
        PGresult *r = PQexecParams(c, sql, 11, NULL, params, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
        cr_assert_str_eq(PQgetvalue(r, 0, 0), "1",
                         "order %s (%zu) is not stored exactly as sent (partition %s offset %s)",
                         o[i].order_id, i, part, off);
        PQclear(r);
    }
}

void ibill_cleanup_rows(PGconn *c, const char *client_id) {
    const char *params[] = {client_id};
    ibill_pg_ensure(c);
    PQclear(PQexecParams(c, "DELETE FROM billing.orders WHERE client_id = $1", 1, NULL, params,
                         NULL, NULL, 0));
}

void ibill_prepare(struct itest_proc *p) {
    if (!p->name[0]) {
        itest_proc_init(p, "billing");
        itest_proc_secret(p, "KAFKA_PASSWORD", "kafka-password",
                          itest_env("KAFKA_BILLING_PASSWORD"));
        itest_proc_secret(p, "PG_PASSWORD", "pg-password", itest_env("PG_BILLING_PASSWORD"));
        itest_proc_setenv(p, "KAFKA_USERNAME", itest_env("KAFKA_BILLING_USER"));
        itest_proc_setenv(p, "PG_USER", itest_env("PG_BILLING_USER"));
        itest_proc_setenv(p, "BILLING_TOPIC", itest_env("KAFKA_TOPIC_BILLING"));
        itest_proc_setenv(p, "BILLING_GROUP", itest_env("KAFKA_GROUP_BILLING"));
        itest_proc_setenv(p, "BILLING_STATS_INTERVAL", "1s");
        itest_proc_setenv(p, "BILLING_RETRY_CAP", "2s");
        itest_proc_setenv(p, "BILLING_SESSION_TIMEOUT", "6s");
    }
}

void ibill_start(struct itest_proc *p, long ready_timeout_ms) {
    char v[32];
    ibill_prepare(p);
    p->admin_port = itest_free_port();
    snprintf(v, sizeof v, "%d", p->admin_port);
    itest_proc_setenv(p, "BILLING_ADMIN_PORT", v);
    itest_proc_start(p, ready_timeout_ms);
}

static size_t ibill_sink(char *ptr, size_t size, size_t n, void *ud) {
    strbuf_append(ud, ptr, size * n);
    return size * n;
}

double ibill_metric(int admin_port, const char *series) {
    char url[96];
    struct strbuf body;
    double v = -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", admin_port);
    strbuf_init(&body, 4 * 1024 * 1024);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ibill_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(c) == CURLE_OK && body.data) {
        size_t n = strlen(series);
        for (const char *line = body.data; line && *line;) {
            if (strncmp(line, series, n) == 0 && line[n] == ' ') {
                v = strtod(line + n + 1, NULL);
                break;
            }
            line = strchr(line, '\n');
            if (line)
                line++;
        }
    }
    curl_easy_cleanup(c);
    strbuf_release(&body);
    return v;
}

int64_t ibill_end_offset(const char *topic, int32_t partition) {
    int64_t lo = 0, hi = 0;
    itest_kafka_watermarks(topic, partition, &lo, &hi);
    return hi;
}
