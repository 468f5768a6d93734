/* iing: shared helpers of the ingress-auth integration suites: the real
 * publisher and ingress-auth binaries as child processes (itest_proc),
 * signed requests over HTTP with libcurl, /metrics scraping, and a
 * read_committed Kafka consumer that counts an order's copies per topic. */
#ifndef IING_H
#define IING_H

#include <stddef.h>

#include "../support/itest_proc.h"
#include "strbuf.h"

#define IING_TOKEN "itest-ingress-publisher-token-7d1e"
#define IING_READY_TIMEOUT_MS 30000

/* The two services of one test. */
struct iing_stack {
    struct itest_proc pub;
    int pub_port;
    char txn_id[96];
    struct itest_proc ing;
    int ing_port;
    char clients_path[256]; /* the file INGRESS_CLIENTS_FILE names */
};

/* One HTTP exchange. */
struct iing_reply {
    long status; /* 0: no answer (refused, reset, timeout) */
    struct strbuf body;
    struct strbuf headers; /* raw header block(s) */
};

/* Writes the publisher's env (free ports) and starts it; waits for /readyz.
 * A second call restarts it on the same ports. */
void iing_start_publisher(struct iing_stack *s);

/* Prepares ingress-auth (env: clients file `clients_json` written to a file
 * in its secret dir, Redis and the publisher of `s`); `extra` holds more
 * NAME=value strings (NULL-terminated, may be NULL). Starts it and waits
 * for /readyz. */
void iing_start_ingress(struct iing_stack *s, const char *clients_json, const char *const *extra);

/* Stops both (SIGKILL if still running) and frees everything. */
void iing_cleanup(struct iing_stack *s);

/* A valid order body with this order_id and quantity into out. */
void iing_order(char *out, size_t outlen, const char *order_id, int quantity);

/* Sends a request. method "POST" etc.; path like "/orders"; `headers`
 * NULL-terminated "Name: value" lines; body may be NULL. chunked != 0 sends
 * the body with Transfer-Encoding: chunked. Fills r (release with
 * iing_reply_release). */
void iing_request(int port, const char *method, const char *path, const char *const *headers,
                  const char *body, size_t body_len, int chunked, struct iing_reply *r);

/* POSTs `body` to /orders signed with client/secret at time `ts` (0: now),
 * with Content-Type application/json, plus `extra` headers (may be NULL). */
void iing_post_signed(int port, const char *client, const char *secret, long long ts,
                      const char *body, const char *const *extra, struct iing_reply *r);

void iing_reply_release(struct iing_reply *r);

/* The value of response header `name` (case-insensitive) copied into out;
 * returns 1 if present, else 0 (out ""). */
int iing_header(const struct iing_reply *r, const char *name, char *out, size_t outlen);

/* The value of the metric line starting with `series` (e.g.
 * `orders_ingress_rate_limited_total` or `x_total{reason="y"}`) from
 * GET /metrics on the admin port; 0 if absent. */
double iing_metric(int admin_port, const char *series);

/* Copies of key "<client>/<order_id>" per topic (billing, archive) seen by a
 * read_committed consumer reading both topics from the start offsets
 * captured by iing_offsets_capture, until `want` copies of each are seen
 * or wait_ms passed (then 1 s more to catch duplicates). */
struct iing_offsets {
    int n[2];
    long long start[2][64];
};
void iing_offsets_capture(struct iing_offsets *off);
void iing_count_copies(const struct iing_offsets *off, const char *client, const char *order_id,
                       int want, long wait_ms, int counts[2], char *traceparent_out, size_t tp_len);

/* Bulk form: copies per topic of each of n orders of `client` (counts[i][t]),
 * read until every order with want[i] != 0 has a copy in both topics or
 * wait_ms passed (then 1 s more). */
void iing_count_many(const struct iing_offsets *off, const char *client, char (*order_ids)[80],
                     const int *want, size_t n, long wait_ms, int (*counts)[2]);

/* Runs scripts/<server>.sh <verb> (the test stack's server). 0 on success. */
int iing_stack_script(const char *server, const char *verb);

/* Runs scripts/redis.sh stop|start (the test stack's Redis). 0 on success. */
int iing_redis_script(const char *verb);

/* 1 if the idempotency key of (client, order) exists in Redis (admin user). */
int iing_idem_key_exists(const char *client, const char *order_id);

#endif
