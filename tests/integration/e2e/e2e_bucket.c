/* e2e_bucket: the archive bucket listed and read back with the S3 root
 * user and compared with what was sent (see e2e.h). */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/itest_env.h"
#include "../support/itest_s3.h"
#include "e2e.h"
#include "s3.h"
#include "strbuf.h"

#define E2E_DAY_S 86400

/* The UTC date of `t` as "YYYY/MM/DD". */
static void e2e_day(time_t t, char out[11]) {
    struct tm tm;
    cr_assert_not_null(gmtime_r(&t, &tm));
    cr_assert_eq(strftime(out, 11, "%Y/%m/%d", &tm), 10);
}

struct e2e_list_ctx {
    const char *day;
    void (*fn)(const char *key, size_t len, const char *day, void *ud);
    void *ud;
};

static void e2e_list_key(const char *key, size_t len, void *ud) {
    struct e2e_list_ctx *c = ud;
    c->fn(key, len, c->day, c->ud);
}

/* Lists every key under orders/<day>/<client>/ for the days from..to and
 * calls fn for each (the key, the day it is under). */
static void e2e_list(struct s3_client *s3, const char *client, time_t from, time_t to,
                     void (*fn)(const char *key, size_t len, const char *day, void *ud), void *ud) {
    from -= from % E2E_DAY_S;
    for (time_t t = from; t <= to; t += E2E_DAY_S) {
        char day[11], prefix[200];
        e2e_day(t, day);
        snprintf(prefix, sizeof prefix, "orders/%s/%s/", day, client);
        struct e2e_list_ctx c = {.day = day, .fn = fn, .ud = ud};
        itest_s3_each_key(s3, prefix, e2e_list_key, &c);
    }
}

struct e2e_tally {
    const char *client;
    size_t n;
    unsigned char *count; /* objects per order */
    char (*day)[11];      /* the day it was found under */
    size_t found;
};

static void e2e_tally_key(const char *key, size_t len, const char *day, void *ud) {
    struct e2e_tally *t = ud;
    char oid[16];
    size_t plen = strlen("orders/") + 10 + 1 + strlen(t->client) + 1;
    cr_assert(len == plen + 7 + 5 && memcmp(key + len - 5, ".json", 5) == 0,
              "unexpected object %.*s", (int)len, key);
    memcpy(oid, key + plen, 7);
    oid[7] = '\0';
    char *end;
    unsigned long i = strtoul(oid + 1, &end, 10);
    cr_assert(oid[0] == 'o' && *end == '\0' && i < t->n, "unexpected object %.*s", (int)len, key);
    cr_assert_eq(t->count[i], 0, "order %s archived twice (second: %.*s)", oid, (int)len, key);
    t->count[i]++;
    snprintf(t->day[i], sizeof t->day[i], "%s", day);
    t->found++;
}

static void e2e_tally_run(struct e2e_tally *t, const char *client, size_t n, time_t from,
                          time_t to) {
    struct s3_client *s3 = itest_s3_root();
    t->client = client;
    t->n = n;
    t->found = 0;
    t->count = calloc(n, 1);
    t->day = calloc(n, sizeof *t->day);
    cr_assert(t->count && t->day);
    e2e_list(s3, client, from, to, e2e_tally_key, t);
    s3_client_destroy(s3);
}

size_t e2e_bucket_count(const char *client, const struct e2e_order *o, size_t n, time_t from,
                        time_t to) {
    struct e2e_tally t;
    (void)o;
    e2e_tally_run(&t, client, n, from, to);
    free(t.count);
    free(t.day);
    return t.found;
}

void e2e_bucket_wait(const char *client, const struct e2e_order *o, size_t n, time_t from,
                     time_t to, long timeout_ms) {
    size_t have = 0;
    for (long waited = 0; waited <= timeout_ms; waited += 500) {
        if ((have = e2e_bucket_count(client, o, n, from, to)) >= n)
            return;
        usleep(500 * 1000);
    }
    cr_assert_fail("%zu of %zu orders archived after %ld ms", have, n, timeout_ms);
}

static const char *e2e_str(const cJSON *doc, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* One archived document against the order it holds. */
static void e2e_check_doc(const char *client, const struct e2e_order *x, const char *key,
                          const char *doc_text, const long long *received_ms) {
    char want[64], day[11];
    cJSON *doc = cJSON_Parse(doc_text);
    cr_assert_not_null(doc, "%s is not JSON", key);
    cr_assert_str_eq(e2e_str(doc, "specversion"), "1.0");
    cr_assert_str_eq(e2e_str(doc, "type"), "orders.order.accepted.v1");
    cr_assert_str_eq(e2e_str(doc, "id"), x->event_id, "%s: id is not the 202's event_id", key);
    snprintf(want, sizeof want, "/clients/%s", client);
    cr_assert_str_eq(e2e_str(doc, "source"), want);
    cr_assert_str_eq(e2e_str(doc, "subject"), x->order_id);
    cr_assert_str_eq(e2e_str(doc, "clientid"), client);
    cr_assert_str_eq(e2e_str(doc, "datacontenttype"), "application/json");
    cr_assert_str_eq(e2e_str(doc, "traceparent"), x->traceparent, "%s: traceparent", key);
    long long t = e2e_parse_time_ms(e2e_str(doc, "time"));
    cr_assert_geq(t, 0, "%s: bad time %s", key, e2e_str(doc, "time"));
    e2e_day((time_t)(t / 1000), day);
    char expect_key[256];
    snprintf(expect_key, sizeof expect_key, "orders/%s/%s/%s.json", day, client, x->order_id);
    cr_assert_str_eq(key, expect_key, "key does not follow ce_time %s", e2e_str(doc, "time"));
    if (received_ms)
        cr_assert_eq(t, received_ms[0], "%s: time %s is not billing's received_at", key,
                     e2e_str(doc, "time"));
    cJSON *sent = cJSON_Parse(x->body);
    cr_assert_not_null(sent);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    cr_assert(cJSON_IsObject(data) && cJSON_Compare(data, sent, 1),
              "%s: data differs from the order sent", key);
    cJSON_Delete(sent);
    cJSON_Delete(doc);
}

void e2e_bucket_check(const char *client, const struct e2e_order *o, size_t n, time_t from,
                      time_t to, const long long *received_ms) {
    struct e2e_tally t;
    e2e_tally_run(&t, client, n, from, to);
    struct s3_client *s3 = itest_s3_root();
    for (size_t i = 0; i < n; i++) {
        char key[256];
        struct strbuf body;
        struct s3_result res;
        cr_assert_eq(t.count[i], 1, "order %s has %d objects", o[i].order_id, t.count[i]);
        snprintf(key, sizeof key, "orders/%s/%s/%s.json", t.day[i], client, o[i].order_id);
        strbuf_init(&body, 1 << 20);
        cr_assert_eq(s3_get_object(s3, itest_env("S3_BUCKET"), key, &body, &res), 0, "GET %s: %s",
                     key, res.message);
        cr_assert_eq(res.http_status, 200, "GET %s: %ld", key, res.http_status);
        e2e_check_doc(client, &o[i], key, strbuf_str(&body), received_ms ? &received_ms[i] : NULL);
        strbuf_release(&body);
    }
    s3_client_destroy(s3);
    free(t.count);
    free(t.day);
}
