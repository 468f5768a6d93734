/* consumer: the billing loop. Reads the orders topic as one member of the
 * consumer group, writes each batch and its offsets in one Postgres
 * transaction (pg.h), and on assignment seeks to the offsets stored in
 * Postgres: Kafka's committed offsets are written for lag monitoring only.
 *
 * Failures:
 * - transient (Postgres down, timeout, DLQ unreachable): every partition is
 *   paused, the batch is kept, and the write is retried after a capped,
 *   jittered backoff; nothing moves, nothing is dead-lettered; /readyz says
 *   why. On recovery each partition is sought back to the record after the
 *   last one held, since anything fetched while paused was dropped.
 * - poison (undecodable / invalid record, or Postgres refusing a row with a
 *   class 22/23 error): the batch is retried row by row, a row failing
 *   max_attempts times goes to <topic>.dlq, and its offset is stored as
 *   consumed.
 * - fenced (the stored offset is not the one this instance knows: a zombie
 *   or a lost commit answer): the partition's records are dropped and it is
 *   reloaded from Postgres.
 * - offsets that regress (topic recreated, log truncated, records expired
 *   unread; common/kafka_anchor.h): a stored offset outside the log, or
 *   whose anchor record is another record, and a fetch position leaving the
 *   log (auto.offset.reset=error) re-read the partition from its log start;
 *   counted in offset_resets_total{reason}. Never a silent skip.
 *
 * Single-threaded: billing_consumer_run polls, and the rebalance and
 * statistics callbacks run inside that poll. Only billing_consumer_ready may
 * be called from another thread (the admin server's). */
#ifndef BILLING_CONSUMER_H
#define BILLING_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"

struct kafka_settings;
struct billing_pg;
struct consumer_stats;
struct strbuf;
struct billing_consumer;

struct billing_consumer_settings {
    const struct kafka_settings *kafka; /* borrowed during create only */
    const char *topic, *group;          /* copied */
    struct billing_pg *pg;              /* borrowed, outlives the consumer */
    struct consumer_stats *stats;       /* borrowed, outlives the consumer */
    size_t batch_max;
    long batch_wait_ms;
    uint32_t max_attempts;
    struct backoff_policy retry;
    long stats_interval_ms;
    long session_timeout_ms;
    long dlq_timeout_ms; /* wait for the DLQ broker acknowledgement */
};

/* Creates the consumer (subscribed) and its DLQ producer. Returns NULL with
 * a message in err. Free with billing_consumer_destroy. */
struct billing_consumer *billing_consumer_create(const struct billing_consumer_settings *s,
                                                 char *err, size_t errlen);

/* Runs until stop(ctx) returns nonzero, then writes the in-flight batch if
 * Postgres takes it within drain_ms (else abandons it: it is redelivered),
 * and leaves the group. Returns 0, or -1 on a fatal Kafka error. */
int billing_consumer_run(struct billing_consumer *c, int (*stop)(void *ctx), void *ctx,
                         long drain_ms);

/* admin_ready_fn: 1 when Postgres takes writes; else 0 and the reason. */
int billing_consumer_ready(void *ctx, struct strbuf *why);

/* Closes the Kafka clients (if run did not) and frees. NULL is a no-op. */
void billing_consumer_destroy(struct billing_consumer *c);

#endif
