/* iarc: helpers of the archive integration suite: orders produced the way
 * the publisher writes them (transactional, publisher user, cloudevents.h),
 * the expected structured-mode bytes built independently of the service,
 * the archive binary run as a child, and reads with the S3 root user. */
#ifndef IARC_H
#define IARC_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "../support/itest_proc.h"

struct iarc_order {
    char client_id[65];
    char order_id[65];
    char event_id[37];
    char ce_time[32];
    char traceparent[56];
    char body[384];
    char key[256]; /* expected object key */
    int32_t partition;
    int64_t offset;
    uint64_t anchor; /* kafka_anchor_of its record, from the delivery report */
};

/* n orders of nclients unique clients, ce_time alternating between the
 * last millisecond of 2026-01-31 and the first of 2026-02-01 (UTC). */
struct iarc_order *iarc_make_orders(size_t n, size_t nclients, const char *tag);

/* The structured-mode document expected for an order (malloc'd). */
char *iarc_expected_doc(const struct iarc_order *o);

/* Produces every order in transactions as the publisher user (to
 * `partition`, or by key hash when < 0) and records partition/offset. */
void iarc_produce(struct iarc_order *o, size_t n, int32_t partition);

/* Produces one raw record as the admin user, non-transactionally; returns
 * its partition and offset. */
void iarc_produce_raw(const char *key, const char *value, rd_kafka_headers_t *headers,
                      int32_t *partition, int64_t *offset);

/* How many of the orders' objects exist (listing with the root user);
 * asserts no unexpected key is under their prefixes. */
size_t iarc_count_objects(const struct iarc_order *o, size_t n);

/* Waits (bounded) until all n objects exist; asserts so. */
void iarc_wait_all(const struct iarc_order *o, size_t n, long timeout_ms);

/* GETs every object and compares it byte for byte with the expected one. */
void iarc_verify_objects(const struct iarc_order *o, size_t n);

/* GETs one object (root user) into a malloc'd string, NULL if missing. */
char *iarc_get(const char *key);

/* Starts build/bin/archive with the archive user's credentials; `mode` is
 * "object" or "batch". */
void iarc_archive_start(struct itest_proc *p, const char *mode);

/* Waits (bounded) until GET /readyz answers `status`; returns the last one. */
long iarc_wait_ready(const struct itest_proc *p, long status, long timeout_ms);

/* Value of a metric line starting with `prefix` (e.g. "name " or
 * "name{label=\"v\"} "), -1 when absent. */
double iarc_metric(const struct itest_proc *p, const char *prefix);

/* End offset of partition 0 of the DLQ topic. */
int64_t iarc_dlq_end(void);

/* A dead letter as read back: dlq_* headers, ce_id and the value. */
struct iarc_dead {
    int matches; /* records with the key seen */
    char reason[64], error[1100], attempts[16], src_topic[128], src_partition[16], src_offset[32],
        failed_at[48], ce_id[64];
    char value[512];
    size_t value_len;
};

/* Reads the DLQ from `start` until the end (after a record with this key
 * arrived, or the timeout) and fills *d from the first record with the key.
 * Returns the number of records with the key. */
int iarc_dlq_find(int64_t start, const char *key, long timeout_ms, struct iarc_dead *d);

/* Number of DLQ records after `start` whose key starts with `prefix`
 * (the client ids of a test's orders share its unique tag). */
int iarc_dlq_count_prefix(int64_t start, const char *prefix);

int64_t iarc_now_ms(void);

/* The archive group's committed offset of partition `partition` of the
 * archive topic (-1001 when none) and its metadata (NUL-terminated, ""
 * when none), read as the admin user. */
int64_t iarc_committed(int32_t partition, char *meta, size_t metalen);

/* Commits offset/metadata for partition `partition` in the archive group,
 * as the admin user (the group must have no members: archive stopped). */
void iarc_commit(int32_t partition, int64_t offset, const char *meta);

/* Waits (bounded) until the archive holds no record: everything it read
 * is finished; asserts so. */
void iarc_wait_idle(const struct itest_proc *p, long timeout_ms);

/* orders_archive_offset_resets_total{reason="<reason>"}. */
double iarc_resets(const struct itest_proc *p, const char *reason);

#endif
