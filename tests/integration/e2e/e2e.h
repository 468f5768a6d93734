/* e2e: helpers of the whole-pipeline end-to-end suite: the four real
 * services as child processes (reusing the ingress, billing and archive
 * suites' starters), signed orders POSTed through ingress-auth with a
 * libcurl multi handle over several keep-alive connections, and checks of
 * both sinks (billing.orders as the migrator role, the bucket as the S3
 * root user) and of both dead-letter topics. */
#ifndef E2E_H
#define E2E_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "../ingress/iing.h"
#include "../support/itest_proc.h"

#define E2E_SECRET "itest-e2e-client-secret-5b2c"

/* One order as sent, and what ingress-auth answered for it. */
struct e2e_order {
    char order_id[16];    /* "o" + 6 digits: listing prefixes stay small */
    char body[640];       /* compact JSON as POSTed */
    char traceparent[56]; /* sent with every attempt */
    char event_id[40];    /* from the 202 body ("" until accepted) */
    long first_status;    /* answer to the first attempt (0: none) */
    long status;          /* last answer */
    int attempts;
};

/* n varied orders (escapes, non-ASCII, metadata on some, 1-3 items,
 * three currencies), each with its own traceparent. Free with free(). */
struct e2e_order *e2e_orders_make(size_t n);

/* Orders wanted: the value of env `var` when a positive number, else def. */
size_t e2e_n(const char *var, size_t def);

/* The four services of one test. */
struct e2e_stack {
    struct iing_stack front; /* publisher + ingress-auth */
    struct itest_proc billing;
    struct itest_proc archive;
    char client[64]; /* unique per test: every order of the test is its */
};

/* Starts billing, archive, publisher, then ingress-auth with a clients file
 * giving s->client E2E_SECRET and a rate limit the test cannot reach. Each
 * is ready (/readyz 200) on return. */
void e2e_stack_start(struct e2e_stack *s);

/* Stops all four (SIGKILL if still running) and frees everything. */
void e2e_stack_cleanup(struct e2e_stack *s);

/* Sending: a libcurl multi handle with `conns` keep-alive connections.
 * With retry set, an order answered 503, 409, 429 or not at all is sent
 * again (same body, new timestamp and signature) after a pause, until 202;
 * without it every first answer is final. Orders at index >= `release`
 * wait until the test raises it (to place a fault mid-stream). */
struct e2e_send {
    int port;
    const char *client;
    struct e2e_order *o;
    size_t n;
    int conns;
    int retry;
    long deadline_ms; /* the whole send fails past this */
    atomic_size_t release;
    atomic_size_t answered; /* answers received, retries included */
    atomic_size_t refused;  /* answers other than 202 */
    atomic_int done;
};

/* Sends every order as described above; asserts it finished in time. */
void e2e_send_run(struct e2e_send *snd);

/* e2e_send_run on a new thread (join with e2e_send_join). */
void e2e_send_start(struct e2e_send *snd, void **thread);
void e2e_send_join(void *thread);

/* Waits until snd->field reaches `want`, asserting it does within
 * timeout_ms. */
void e2e_wait_atomic(atomic_size_t *v, size_t want, long timeout_ms, const char *what);

/* DLQ end offsets of orders.billing.dlq and orders.archive.dlq. */
struct e2e_dlq_mark {
    int n[2];
    long long end[2][16];
};
void e2e_dlq_mark(struct e2e_dlq_mark *m);

/* Reads both DLQs from the mark to their current end; returns the number
 * of dead letters whose key is one of `client`'s orders (logs the total). */
size_t e2e_dlq_count_client(const struct e2e_dlq_mark *m, const char *client);

/* Billing: waits (bounded) until billing.orders holds n rows of client. */
void e2e_billing_wait(const char *client, long n, long timeout_ms);

/* Rows of billing.orders for client right now. */
long e2e_billing_count(const char *client);

/* Asserts billing.orders holds each order exactly once, field for field as
 * sent, with the event_id of its 202; stores each row's received_at in
 * received_ms[i] (Unix ms). No other row of the client may exist. */
void e2e_billing_check(const char *client, const struct e2e_order *o, size_t n,
                       long long *received_ms);

/* Deletes the client's rows (as the migrator role). */
void e2e_billing_cleanup(const char *client);

/* Bucket: lists orders/<day>/<client>/o<4 digits> for every UTC day from
 * `from` to `to` (each such prefix holds at most 100 orders, well within
 * one ListObjectsV2 page) and returns how many of the n orders have an
 * object; asserts every key listed names one of the orders and no order
 * has two (e.g. under two days). */
size_t e2e_bucket_count(const char *client, const struct e2e_order *o, size_t n, time_t from,
                        time_t to);

/* Waits (bounded) until all n objects exist. */
void e2e_bucket_wait(const char *client, const struct e2e_order *o, size_t n, time_t from,
                     time_t to, long timeout_ms);

/* GETs every object and asserts: exactly one key per order across the
 * days; it is orders/<date of its time>/<client>/<order>.json; the
 * document's id is the 202's event_id, source/subject/clientid/type are
 * right, traceparent is the one sent, data equals the sent body field for
 * field, and time equals billing's received_at (received_ms, may be NULL). */
void e2e_bucket_check(const char *client, const struct e2e_order *o, size_t n, time_t from,
                      time_t to, const long long *received_ms);

/* ce_time "YYYY-MM-DDTHH:MM:SS[.fff]Z" as Unix ms; -1 when malformed. */
long long e2e_parse_time_ms(const char *s);

#endif
