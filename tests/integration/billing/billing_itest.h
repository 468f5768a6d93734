/* billing_itest: helpers of the billing integration suites: orders fed to
 * orders.billing by a transactional producer as the publisher user (records
 * built with services/publisher/cloudevents.h, exactly as the publisher
 * builds them), the billing process run with itest_proc, and checks of
 * billing.orders as the migrator role. */
#ifndef BILLING_ITEST_H
#define BILLING_ITEST_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "../support/itest_proc.h"

struct ibill_order {
    char order_id[65];
    char customer_id[160];
    char currency[4];
    long long total_cents;
    char items[256];    /* JSON array as sent */
    char metadata[128]; /* JSON object as sent, "" for none */
    char body[768];
    char event_id[40];
    char ce_time[32];
    char traceparent[56];
    int32_t partition; /* from the delivery report */
    int64_t offset;
};

/* Orders of the test's own client id (unique per run), varied: escapes,
 * tab, backslash, non-ASCII customer ids, metadata on some, 1-3 items. */
struct ibill_order *ibill_orders_make(const char *client_id, size_t n);

/* Produces orders[from, to) in transactions of `per_txn` records with a
 * transactional producer as the publisher user; fills partition/offset.
 * partition < 0: the key decides (as the publisher does). */
void ibill_produce(const char *client_id, struct ibill_order *o, size_t from, size_t to,
                   size_t per_txn, int32_t partition);

/* Produces one raw record as the Kafka admin user (non-transactional) to
 * `partition`; returns its offset. */
int64_t ibill_produce_raw(const char *key, const char *value, const char *const *headers,
                          size_t nheaders, int32_t partition);

/* A connection as the migrator role (owner, may read and clean up). */
PGconn *ibill_pg_admin(void);

/* Rows of billing.orders for client_id. */
long ibill_count(PGconn *c, const char *client_id);

/* Asserts every order is stored once, field for field as sent, with the
 * partition and offset of its record. */
void ibill_check_all(PGconn *c, const char *client_id, const struct ibill_order *o, size_t n);

/* Waits until ibill_count reaches n (asserting it does within timeout_ms). */
void ibill_wait_count(PGconn *c, const char *client_id, long n, long timeout_ms);

/* Deletes the test's rows (as migrator). */
void ibill_cleanup_rows(PGconn *c, const char *client_id);

/* Prepares `p` for billing (first call only): the billing Kafka user and
 * Postgres role as *_FILE secrets, short session timeout and retry cap.
 * Call it before adding the test's own itest_proc_setenv settings. */
void ibill_prepare(struct itest_proc *p);

/* Starts (or restarts) the prepared billing process on a fresh admin port
 * and waits for /readyz 200. Prepares it first if needed. */
void ibill_start(struct itest_proc *p, long ready_timeout_ms);

/* GET /metrics on the admin port; returns the value of the sample line
 * starting with `series` (e.g. "orders_billing_records_total{result=\"stored\"}"),
 * or -1 if absent. */
double ibill_metric(int admin_port, const char *series);

/* End offset (high watermark) of topic/partition, as the admin user. */
int64_t ibill_end_offset(const char *topic, int32_t partition);

/* Number of orders wanted by the suite (ITEST_ORDERS, default `def`). */
size_t ibill_n(size_t def);

#endif
