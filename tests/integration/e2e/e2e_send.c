/* e2e_send: signed orders POSTed through ingress-auth by one libcurl multi
 * handle over several keep-alive connections (see e2e.h). */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../services/ordersctl/sign.h"
#include "e2e.h"
#include "strbuf.h"

#define E2E_MAX_CONNS 32
#define E2E_RETRY_PAUSE_MS 250

/* One connection's request in flight. */
struct e2e_slot {
    CURL *easy;
    struct curl_slist *headers;
    struct strbuf body;
    size_t order; /* index, or SIZE_MAX when idle */
};

static long long e2e_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t e2e_sink(char *ptr, size_t size, size_t n, void *ud) {
    strbuf_append(ud, ptr, size * n);
    return size * n;
}

/* Builds the request of order i on slot s (fresh timestamp and signature). */
static void e2e_slot_prepare(struct e2e_slot *s, struct ordersctl_signer *signer,
                             const struct e2e_send *snd, size_t i, const char *url) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1], line[200];
    const struct e2e_order *x = &snd->o[i];
    long long ts = (long long)time(NULL);
    size_t len = strlen(x->body);
    cr_assert_eq(ordersctl_signer_sign(signer, ts, x->body, len, hex), 0);
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    const char *fixed[] = {"Content-Type: application/json", "Expect:"};
    for (size_t k = 0; k < 2; k++)
        s->headers = curl_slist_append(s->headers, fixed[k]);
    snprintf(line, sizeof line, "X-Client-Id: %s", snd->client);
    s->headers = curl_slist_append(s->headers, line);
    snprintf(line, sizeof line, "X-Timestamp: %lld", ts);
    s->headers = curl_slist_append(s->headers, line);
    snprintf(line, sizeof line, "X-Signature: sha256=%s", hex);
    s->headers = curl_slist_append(s->headers, line);
    snprintf(line, sizeof line, "traceparent: %s", x->traceparent);
    s->headers = curl_slist_append(s->headers, line);
    cr_assert_not_null(s->headers);
    strbuf_reset(&s->body);
    s->order = i;
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, e2e_sink);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->body);
    /* above the ingress publish timeout: an answer always comes first */
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L);
}

/* Takes the event_id of a 202 body, asserting it is the contract's. */
static void e2e_accepted(struct e2e_order *x, const struct strbuf *body) {
    cJSON *j = cJSON_ParseWithLength(strbuf_str(body), body->len);
    cr_assert_not_null(j, "202 body of %s is not JSON: %s", x->order_id, strbuf_str(body));
    const cJSON *oid = cJSON_GetObjectItemCaseSensitive(j, "order_id");
    const cJSON *eid = cJSON_GetObjectItemCaseSensitive(j, "event_id");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    cr_assert(cJSON_IsString(oid) && strcmp(oid->valuestring, x->order_id) == 0,
              "202 of %s names another order", x->order_id);
    cr_assert(cJSON_IsString(st) && strcmp(st->valuestring, "accepted") == 0);
    cr_assert(cJSON_IsString(eid) && strlen(eid->valuestring) == 36, "202 of %s: bad event_id",
              x->order_id);
    if (x->event_id[0]) /* an earlier 202 whose answer we saw: replays must agree */
        cr_assert_str_eq(x->event_id, eid->valuestring);
    snprintf(x->event_id, sizeof x->event_id, "%s", eid->valuestring);
    cJSON_Delete(j);
}

static int e2e_retryable(long status) {
    return status == 0 || status == 503 || status == 409 || status == 429;
}

/* Retry queue: order indexes with the time they are due again. */
struct e2e_retry {
    size_t *idx;
    long long *due;
    size_t head, tail, cap; /* ring; every order is in it at most once */
};

void e2e_send_run(struct e2e_send *snd) {
    char url[128];
    struct e2e_slot slots[E2E_MAX_CONNS];
    struct e2e_retry rq = {.cap = snd->n + 1};
    size_t next = 0, finished = 0;
    long long deadline = e2e_now_ms() + snd->deadline_ms;
    cr_assert(snd->conns > 0 && snd->conns <= E2E_MAX_CONNS);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders", snd->port);
    struct ordersctl_signer *signer = ordersctl_signer_create(E2E_SECRET, strlen(E2E_SECRET));
    cr_assert_not_null(signer);
    rq.idx = calloc(rq.cap, sizeof *rq.idx);
    rq.due = calloc(rq.cap, sizeof *rq.due);
    cr_assert(rq.idx && rq.due);
    CURLM *m = curl_multi_init();
    cr_assert_not_null(m);
    /* one connection per slot, kept alive between its requests */
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)snd->conns);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)snd->conns);
    for (int k = 0; k < snd->conns; k++) {
        slots[k].easy = curl_easy_init();
        cr_assert_not_null(slots[k].easy);
        slots[k].headers = NULL;
        slots[k].order = SIZE_MAX;
        strbuf_init(&slots[k].body, 1 << 16);
        curl_easy_setopt(slots[k].easy, CURLOPT_PRIVATE, &slots[k]);
    }
    while (finished < snd->n) {
        long long now = e2e_now_ms();
        cr_assert_lt(now, deadline, "sending stalled: %zu of %zu orders finished", finished,
                     snd->n);
        for (int k = 0; k < snd->conns; k++) {
            struct e2e_slot *s = &slots[k];
            if (s->order != SIZE_MAX)
                continue;
            size_t i = SIZE_MAX;
            if (rq.head != rq.tail && rq.due[rq.head] <= now) {
                i = rq.idx[rq.head];
                rq.head = (rq.head + 1) % rq.cap;
            } else if (next < snd->n && next < atomic_load(&snd->release)) {
                i = next++;
            }
            if (i == SIZE_MAX)
                break;
            e2e_slot_prepare(s, signer, snd, i, url);
            cr_assert_eq(curl_multi_add_handle(m, s->easy), CURLM_OK);
        }
        int running = 0;
        cr_assert_eq(curl_multi_perform(m, &running), CURLM_OK);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct e2e_slot *s = NULL;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            curl_multi_remove_handle(m, msg->easy_handle);
            struct e2e_order *x = &snd->o[s->order];
            if (x->attempts++ == 0)
                x->first_status = status;
            x->status = status;
            atomic_fetch_add(&snd->answered, 1);
            if (status == 202) {
                e2e_accepted(x, &s->body);
                finished++;
            } else {
                atomic_fetch_add(&snd->refused, 1);
                if (snd->retry && e2e_retryable(status)) {
                    rq.idx[rq.tail] = s->order;
                    rq.due[rq.tail] = e2e_now_ms() + E2E_RETRY_PAUSE_MS;
                    rq.tail = (rq.tail + 1) % rq.cap;
                } else {
                    finished++;
                }
            }
            s->order = SIZE_MAX;
        }
        int busy = 0;
        for (int k = 0; k < snd->conns; k++)
            busy += slots[k].order != SIZE_MAX;
        if (busy)
            cr_assert_eq(curl_multi_poll(m, NULL, 0, 50, NULL), CURLM_OK);
        else
            usleep(10 * 1000); /* only waiting: for a retry to fall due or a release */
    }
    for (int k = 0; k < snd->conns; k++) {
        curl_easy_cleanup(slots[k].easy);
        curl_slist_free_all(slots[k].headers);
        strbuf_release(&slots[k].body);
    }
    curl_multi_cleanup(m);
    ordersctl_signer_destroy(signer);
    free(rq.idx);
    free(rq.due);
    atomic_store(&snd->done, 1);
}

static void *e2e_send_main(void *arg) {
    e2e_send_run(arg);
    return NULL;
}

void e2e_send_start(struct e2e_send *snd, void **thread) {
    pthread_t *t = malloc(sizeof *t);
    cr_assert_not_null(t);
    cr_assert_eq(pthread_create(t, NULL, e2e_send_main, snd), 0);
    *thread = t;
}

void e2e_send_join(void *thread) {
    pthread_t *t = thread;
    cr_assert_eq(pthread_join(*t, NULL), 0);
    free(t);
}

void e2e_wait_atomic(atomic_size_t *v, size_t want, long timeout_ms, const char *what) {
    long long deadline = e2e_now_ms() + timeout_ms;
    while (atomic_load(v) < want) {
        cr_assert_lt(e2e_now_ms(), deadline, "%s: %zu of %zu after %ld ms", what, atomic_load(v),
                     want, timeout_ms);
        usleep(20 * 1000);
    }
}
