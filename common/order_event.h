/* order_event: decodes and checks one orders.* record (CloudEvents 1.0,
 * Kafka binary content mode) exactly as proto/asyncapi.yaml describes it.
 *
 * Both consumers use it, so "poison" means the same thing everywhere:
 * - undecodable: key, value or a header is not UTF-8, the value is not JSON,
 *   or a required header (ce_specversion, ce_id, ce_source, ce_type,
 *   ce_time, ce_subject, ce_clientid, content-type) is missing or repeated;
 * - invalid: it decodes but breaks the contract: ce_specversion != "1.0",
 *   ce_type != "orders.order.accepted.v1", ce_id not a UUID, ce_time not
 *   RFC 3339 UTC, content-type not application/json, traceparent present but
 *   malformed, the value fails order_validate (the very rules ingress-auth
 *   applies), or a consistency rule: key == ce_clientid "/" ce_subject,
 *   ce_source == "/clients/" ce_clientid, ce_subject == the value's order_id. */
#ifndef COMMON_ORDER_EVENT_H
#define COMMON_ORDER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "order_validate.h"

enum order_event_status {
    ORDER_EVENT_OK = 0,
    ORDER_EVENT_UNDECODABLE = -1,
    ORDER_EVENT_INVALID = -2,
    ORDER_EVENT_NO_MEMORY = -3, /* not poison: retry */
};

#define ORDER_EVENT_CLIENT_ID_MAX 64
#define ORDER_EVENT_TRACEPARENT_LEN 55

struct order_event {
    char id[37];                                       /* ce_id, a UUID */
    char client_id[ORDER_EVENT_CLIENT_ID_MAX + 1];     /* ce_clientid */
    char time[40];                                     /* ce_time as sent (RFC 3339 UTC) */
    int64_t time_unix_ms;                              /* ce_time parsed */
    char traceparent[ORDER_EVENT_TRACEPARENT_LEN + 1]; /* "" when absent */
    char *data;                                        /* malloc'd canonical order JSON */
    size_t data_len;
    struct order_summary order; /* order_id, customer_id, ... */
    /* Partition and offset the record came from, for sinks and DLQs. */
    int32_t partition;
    int64_t offset;
};

/* Decodes `m`. On ORDER_EVENT_OK fills *ev (release it with
 * order_event_release). Otherwise *ev is empty and `why` (if not NULL)
 * holds a precise message for dlq_error, e.g. "key 'a/b' does not match
 * ce_clientid/ce_subject 'a/c'". */
enum order_event_status order_event_decode(const rd_kafka_message_t *m, struct order_event *ev,
                                           char *why, size_t whylen);

/* order_event_decode on the pieces of a record: key[keylen] and
 * value[valuelen] (either may be NULL), headers `hdrs` (NULL: none). Same
 * result, except that ev->partition and ev->offset are -1 (order_event_decode
 * sets them from the message). It exists because rd_kafka_message_headers()
 * only works on messages librdkafka itself built, so tests (and tools holding
 * a record in pieces) cannot go through order_event_decode. */
enum order_event_status order_event_decode_parts(const void *key, size_t keylen, const void *value,
                                                 size_t valuelen, const rd_kafka_headers_t *hdrs,
                                                 struct order_event *ev, char *why, size_t whylen);

/* Frees what a decoded event owns and empties it. Safe on an empty event. */
void order_event_release(struct order_event *ev);

/* "undecodable" / "invalid" for the dlq_reason header; NULL for OK and
 * NO_MEMORY. */
const char *order_event_status_reason(enum order_event_status st);

#endif
