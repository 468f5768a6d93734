/* itdlq: Kafka helpers shared by the dead-letter integration suites: real
 * records produced and consumed as the local SCRAM users, so dlq_publish and
 * ordersctl dlq see messages exactly as the consumers will. */
#ifndef ITDLQ_H
#define ITDLQ_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "../../../services/ordersctl/dlq_cmd.h"
#include "kafka_conf.h"

#define ITDLQ_TIMEOUT_MS 30000
#define ITDLQ_MAX_PARTS 64
#define ITDLQ_MAX_RECS 32

/* Settings of local user `who` ("PUBLISHER", "BILLING", "ARCHIVE", "ADMIN"). */
struct kafka_settings itdlq_settings(const char *who);

/* Produces a record as `who` to topic (key, value, headers h: consumed) and
 * waits for the ack; fills partition/offset. Asserts success. */
void itdlq_produce(const char *who, const char *topic, const char *key, const char *value,
                   rd_kafka_headers_t *h, int32_t *partition, int64_t *offset);

/* CloudEvents headers of an order's record; with_bin adds an "x-bin"
 * header of non-UTF-8 bytes, to check byte-for-byte copies. */
rd_kafka_headers_t *itdlq_ce_headers(const char *client_id, const char *order_id, int with_bin);

/* A consumer as `who` in assign mode (group: billing's own for BILLING,
 * else a unique one), so nothing is committed or rebalanced. */
rd_kafka_t *itdlq_consumer(const char *who);

/* Consumes the record at topic/partition/offset with consumer rk. Returns
 * it (destroy it before rk). Asserts it arrives within the timeout. */
rd_kafka_message_t *itdlq_fetch(rd_kafka_t *rk, const char *topic, int32_t partition,
                                int64_t offset);

/* High watermarks of every partition of topic (as admin); returns the
 * count. */
int itdlq_end_offsets(const char *topic, int64_t end[ITDLQ_MAX_PARTS]);

/* A record read back: copies, owned by the array. */
struct itdlq_rec {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    rd_kafka_headers_t *h;
    int32_t partition;
    int64_t offset;
};

/* Reads topic as admin from start[] up to its current end and keeps the
 * records whose key starts with key_prefix (at most ITDLQ_MAX_RECS).
 * Returns how many; free them with itdlq_recs_free. */
int itdlq_read_since(const char *topic, const int64_t start[ITDLQ_MAX_PARTS],
                     const char *key_prefix, struct itdlq_rec out[ITDLQ_MAX_RECS]);
void itdlq_recs_free(struct itdlq_rec *r, int n);

/* Header `name` of h as a string, asserting it is there exactly once. */
const char *itdlq_header(const rd_kafka_headers_t *h, const char *name, char *buf, size_t len);

/* Commits group ordersctl-dlq-<sub> at the end of every partition of
 * dlq_topic (as the publisher), so only dead letters written afterwards are
 * pending for that subscription. */
void itdlq_commit_group_at_end(const char *dlq_topic, const char *sub);

/* Runs `ordersctl dlq <action> --subscription sub` on topic (max 0: all) as
 * the publisher, asserting exit status 0; returns its stdout (free it). */
char *itdlq_ordersctl(const char *sub, const char *topic, enum ordersctl_dlq_action action,
                      unsigned long max);

#endif
