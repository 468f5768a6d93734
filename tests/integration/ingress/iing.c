/* iing: process, HTTP, metrics, Redis and Kafka helpers of the ingress-auth
 * integration suites. */
#include "iing.h"

#include <criterion/criterion.h>

#include <curl/curl.h>
#include <hiredis.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../../services/ingress-auth/redis_keys.h"
#include "../../../services/ordersctl/sign.h"
#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "../support/itest_publisher.h"
#include "kafka_conf.h"

/* ---- processes ------------------------------------------------------------- */

void iing_start_publisher(struct iing_stack *s) {
    char v[512];
    if (!s->pub.name[0]) {
        itest_publisher_prepare(&s->pub, IING_TOKEN, itest_env("KAFKA_TOPIC_BILLING"),
                                itest_env("KAFKA_TOPIC_ARCHIVE"), s->txn_id, sizeof s->txn_id);
        s->pub_port = itest_free_port();
        s->pub.admin_port = itest_free_port();
        snprintf(v, sizeof v, "%d", s->pub_port);
        itest_proc_setenv(&s->pub, "PUBLISHER_PORT", v);
        snprintf(v, sizeof v, "%d", s->pub.admin_port);
        itest_proc_setenv(&s->pub, "PUBLISHER_ADMIN_PORT", v);
    }
    itest_proc_start(&s->pub, IING_READY_TIMEOUT_MS);
}

void iing_start_ingress(struct iing_stack *s, const char *clients_json, const char *const *extra) {
    char v[512];
    if (!s->ing.name[0]) {
        itest_proc_init(&s->ing, "ingress-auth");
        snprintf(s->clients_path, sizeof s->clients_path, "%s/clients.json", s->ing.dir);
        FILE *f = fopen(s->clients_path, "w");
        cr_assert_not_null(f);
        fputs(clients_json, f);
        cr_assert_eq(fclose(f), 0);
        itest_proc_setenv(&s->ing, "INGRESS_CLIENTS_FILE", s->clients_path);
        itest_proc_secret(&s->ing, "PUBLISHER_INTERNAL_TOKEN", "token", IING_TOKEN);
        itest_proc_secret(&s->ing, "REDIS_PASSWORD", "redis", itest_env("REDIS_INGRESS_PASSWORD"));
        itest_proc_setenv(&s->ing, "REDIS_HOST", itest_env("REDIS_HOST"));
        itest_proc_setenv(&s->ing, "REDIS_PORT", itest_env("REDIS_PORT"));
        itest_proc_setenv(&s->ing, "REDIS_USERNAME", itest_env("REDIS_INGRESS_USER"));
        itest_proc_setenv(&s->ing, "REDIS_KEY_PREFIX", itest_env("REDIS_KEY_PREFIX"));
        snprintf(v, sizeof v, "http://127.0.0.1:%d/v1/publish", s->pub_port);
        itest_proc_setenv(&s->ing, "PUBLISHER_URL", v);
        itest_proc_setenv(&s->ing, "INGRESS_HTTP_THREADS", "8");
        s->ing_port = itest_free_port();
        s->ing.admin_port = itest_free_port();
        snprintf(v, sizeof v, "%d", s->ing_port);
        itest_proc_setenv(&s->ing, "INGRESS_PORT", v);
        snprintf(v, sizeof v, "%d", s->ing.admin_port);
        itest_proc_setenv(&s->ing, "INGRESS_ADMIN_PORT", v);
        for (size_t i = 0; extra && extra[i]; i++) {
            char name[128];
            const char *eq = strchr(extra[i], '=');
            cr_assert_not_null(eq);
            snprintf(name, sizeof name, "%.*s", (int)(eq - extra[i]), extra[i]);
            itest_proc_setenv(&s->ing, name, eq + 1);
        }
    }
    itest_proc_start(&s->ing, IING_READY_TIMEOUT_MS);
}

void iing_cleanup(struct iing_stack *s) {
    if (s->ing.name[0])
        itest_proc_cleanup(&s->ing);
    if (s->pub.name[0])
        itest_proc_cleanup(&s->pub);
    memset(s, 0, sizeof *s);
}

/* ---- HTTP ------------------------------------------------------------------- */

void iing_order(char *out, size_t outlen, const char *order_id, int quantity) {
    snprintf(out, outlen,
             "{\"order_id\":\"%s\",\"customer_id\":\"cust-1\",\"currency\":\"EUR\","
             "\"items\":[{\"sku\":\"SKU-1\",\"quantity\":%d,\"unit_price_cents\":250}],"
             "\"total_cents\":%d}",
             order_id, quantity, quantity * 250);
}

static size_t iing_sink(char *ptr, size_t size, size_t n, void *ud) {
    strbuf_append(ud, ptr, size * n);
    return size * n;
}

struct iing_upload {
    const char *data;
    size_t len, off;
};

/* Feeds a chunked upload in 4 KiB pieces. */
static size_t iing_read(char *buf, size_t size, size_t n, void *ud) {
    struct iing_upload *u = ud;
    size_t room = size * n, left = u->len - u->off;
    size_t k = left < room ? left : room;
    if (k > 4096)
        k = 4096;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

void iing_request(int port, const char *method, const char *path, const char *const *headers,
                  const char *body, size_t body_len, int chunked, struct iing_reply *r) {
    char url[256];
    struct curl_slist *h = NULL;
    struct iing_upload up = {.data = body, .len = body_len};
    memset(r, 0, sizeof *r);
    strbuf_init(&r->body, 1 << 20);
    strbuf_init(&r->headers, 1 << 16);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body && chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, iing_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, iing_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, iing_sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

void iing_post_signed(int port, const char *client, const char *secret, long long ts,
                      const char *body, const char *const *extra, struct iing_reply *r) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1], hc[128], ht[64], hs[128];
    const char *headers[16];
    size_t n = 0;
    if (ts == 0)
        ts = (long long)time(NULL);
    cr_assert_eq(ordersctl_sign_hex(secret, strlen(secret), ts, body, strlen(body), hex), 0);
    snprintf(hc, sizeof hc, "X-Client-Id: %s", client);
    snprintf(ht, sizeof ht, "X-Timestamp: %lld", ts);
    snprintf(hs, sizeof hs, "X-Signature: sha256=%s", hex);
    headers[n++] = "Content-Type: application/json";
    headers[n++] = hc;
    headers[n++] = ht;
    headers[n++] = hs;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        headers[n++] = extra[i];
    headers[n] = NULL;
    iing_request(port, "POST", "/orders", headers, body, strlen(body), 0, r);
}

void iing_reply_release(struct iing_reply *r) {
    strbuf_release(&r->body);
    strbuf_release(&r->headers);
}

int iing_header(const struct iing_reply *r, const char *name, char *out, size_t outlen) {
    const char *p = strbuf_str(&r->headers);
    size_t n = strlen(name);
    out[0] = '\0';
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(eol - v), v);
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

double iing_metric(int admin_port, const char *series) {
    struct iing_reply r;
    double v = 0;
    iing_request(admin_port, "GET", "/metrics", NULL, NULL, 0, 0, &r);
    cr_assert_eq(r.status, 200);
    const char *p = strbuf_str(&r.body);
    size_t n = strlen(series);
    while (p && *p) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    iing_reply_release(&r);
    return v;
}

/* ---- Redis ------------------------------------------------------------------ */

int iing_redis_script(const char *verb) {
    return iing_stack_script("redis", verb);
}

int iing_stack_script(const char *server, const char *verb) {
    char exe[512], cmd[1200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = '\0';
    for (int k = 0; k < 3; k++) { /* <root>/build/tests/integration_tests */
        char *slash = strrchr(exe, '/');
        cr_assert_not_null(slash);
        *slash = '\0';
    }
    snprintf(cmd, sizeof cmd, "'%s/scripts/%s.sh' %s >/dev/null 2>&1", exe, server, verb);
    int st = system(cmd);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int iing_idem_key_exists(const char *client, const char *order_id) {
    char key[400];
    struct timeval tv = {2, 0};
    cr_assert_eq(ingress_redis_key_idempotency(itest_env("REDIS_KEY_PREFIX"), client, order_id, key,
                                               sizeof key),
                 0);
    redisContext *c =
        redisConnectWithTimeout(itest_env("REDIS_HOST"), atoi(itest_env("REDIS_PORT")), tv);
    cr_assert(c && !c->err, "redis connect failed");
    redisReply *a = redisCommand(c, "AUTH %s %s", itest_env("REDIS_ADMIN_USER"),
                                 itest_env("REDIS_ADMIN_PASSWORD"));
    cr_assert(a && a->type == REDIS_REPLY_STATUS, "redis AUTH failed");
    freeReplyObject(a);
    redisReply *e = redisCommand(c, "EXISTS %s", key);
    cr_assert(e && e->type == REDIS_REPLY_INTEGER);
    int exists = e->integer == 1;
    freeReplyObject(e);
    redisFree(c);
    return exists;
}

/* ---- Kafka ------------------------------------------------------------------ */

static const char *iing_topic(int t) {
    return itest_env(t == 0 ? "KAFKA_TOPIC_BILLING" : "KAFKA_TOPIC_ARCHIVE");
}

static rd_kafka_t *iing_consumer(void) {
    return itest_kafka_consumer("ADMIN", "itest-ingress", NULL, 0);
}

void iing_offsets_capture(struct iing_offsets *off) {
    rd_kafka_t *rk = iing_consumer();
    for (int t = 0; t < 2; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, iing_topic(t), NULL);
        cr_assert_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        off->n[t] = md->topics[0].partition_cnt;
        cr_assert_leq(off->n[t], 64);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        for (int p = 0; p < off->n[t]; p++) {
            int64_t lo, hi;
            cr_assert_eq(rd_kafka_query_watermark_offsets(rk, iing_topic(t), p, &lo, &hi, 10000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
            off->start[t][p] = hi;
        }
    }
    rd_kafka_destroy(rk);
}

void iing_count_copies(const struct iing_offsets *off, const char *client, const char *order_id,
                       int want, long wait_ms, int counts[2], char *traceparent_out,
                       size_t tp_len) {
    char key[200];
    size_t klen = (size_t)snprintf(key, sizeof key, "%s/%s", client, order_id);
    rd_kafka_t *rk = iing_consumer();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(128);
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < off->n[t]; p++)
            rd_kafka_topic_partition_list_add(parts, iing_topic(t), p)->offset = off->start[t][p];
    cr_assert_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    counts[0] = counts[1] = 0;
    if (traceparent_out && tp_len)
        traceparent_out[0] = '\0';
    long extra = -1;
    for (long waited = 0; waited < wait_ms && extra < 1000;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            waited += 100;
            if (extra >= 0)
                extra += 100;
            continue;
        }
        cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_message_errstr(m));
        if (m->key_len == klen && memcmp(m->key, key, klen) == 0) {
            int t = strcmp(rd_kafka_topic_name(m->rkt), iing_topic(0)) == 0 ? 0 : 1;
            counts[t]++;
            rd_kafka_headers_t *h = NULL;
            const void *val;
            size_t size;
            if (traceparent_out && rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(h, "traceparent", &val, &size) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR)
                snprintf(traceparent_out, tp_len, "%.*s", (int)size, (const char *)val);
        }
        rd_kafka_message_destroy(m);
        if (counts[0] >= want && counts[1] >= want && extra < 0)
            extra = 0;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

void iing_count_many(const struct iing_offsets *off, const char *client, char (*order_ids)[80],
                     const int *want, size_t n, long wait_ms, int (*counts)[2]) {
    char prefix[100];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", client);
    size_t need = 0, have = 0;
    rd_kafka_t *rk = iing_consumer();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(128);
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < off->n[t]; p++)
            rd_kafka_topic_partition_list_add(parts, iing_topic(t), p)->offset = off->start[t][p];
    cr_assert_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    for (size_t i = 0; i < n; i++) {
        counts[i][0] = counts[i][1] = 0;
        need += want[i] ? 2 : 0;
    }
    long extra = need == 0 ? 0 : -1;
    for (long waited = 0; waited < wait_ms && extra < 1000;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            waited += 100;
            if (extra >= 0)
                extra += 100;
            continue;
        }
        cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_message_errstr(m));
        if (m->key_len > plen && memcmp(m->key, prefix, plen) == 0) {
            const char *oid = (const char *)m->key + plen;
            size_t olen = m->key_len - plen;
            int t = strcmp(rd_kafka_topic_name(m->rkt), iing_topic(0)) == 0 ? 0 : 1;
            for (size_t i = 0; i < n; i++) {
                if (strlen(order_ids[i]) == olen && memcmp(order_ids[i], oid, olen) == 0) {
                    if (++counts[i][t] == 1 && want[i])
                        have++;
                    break;
                }
            }
        }
        rd_kafka_message_destroy(m);
        if (have == need && extra < 0)
            extra = 0;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}
