/* cloudevents: the Kafka record of an accepted order in CloudEvents 1.0
 * binary content mode (DESIGN.md "Event contract"): key, ce_* headers, time
 * format and the W3C traceparent and identifier checks they rely on.
 *
 * Headers, in this order, each a UTF-8 string:
 *   ce_specversion=1.0  ce_id=<event_id>  ce_source=/clients/<client_id>
 *   ce_type=orders.order.accepted.v1  ce_time=<RFC 3339 UTC, ms, 'Z'>
 *   ce_subject=<order_id>  ce_clientid=<client_id>
 *   content-type=application/json  traceparent=<W3C traceparent> */
#ifndef PUBLISHER_CLOUDEVENTS_H
#define PUBLISHER_CLOUDEVENTS_H

#include <stddef.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define PUBLISHER_CE_SPECVERSION "1.0"
#define PUBLISHER_CE_TYPE "orders.order.accepted.v1"
#define PUBLISHER_CE_CONTENT_TYPE "application/json"
#define PUBLISHER_CE_NHEADERS 9

#define PUBLISHER_CE_TIME_LEN 24     /* "2024-05-01T12:34:56.789Z", without NUL */
#define PUBLISHER_CE_ID_MAX 64       /* client_id and order_id: at most 64 bytes */
#define PUBLISHER_CE_KEY_MAX 129     /* "<client_id>/<order_id>", without NUL */
#define PUBLISHER_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-01", without NUL */
#define PUBLISHER_TRACE_ID_LEN 32

/* The attributes of one event; every string is borrowed. */
struct publisher_ce_event {
    const char *event_id;    /* UUID, e.g. from crypto_uuid_v4 */
    const char *client_id;   /* authenticated client id */
    const char *order_id;    /* the order's order_id */
    const char *ce_time;     /* from publisher_ce_format_time */
    const char *traceparent; /* valid W3C traceparent */
};

/* Formats `ts` (CLOCK_REALTIME) as RFC 3339 UTC with milliseconds and a 'Z',
 * e.g. "2024-05-01T12:34:56.789Z", into out (PUBLISHER_CE_TIME_LEN + 1
 * bytes). Returns 0, or -1 if the time cannot be represented (out is ""). */
int publisher_ce_format_time(const struct timespec *ts, char out[PUBLISHER_CE_TIME_LEN + 1]);

/* Writes the record key "<client_id>/<order_id>" plus a NUL into out[outlen].
 * Returns its length, or -1 if it does not fit (out is then ""). */
int publisher_ce_key(const char *client_id, const char *order_id, char *out, size_t outlen);

/* Builds the PUBLISHER_CE_NHEADERS headers of `ev` (values are copied).
 * Returns a new header list owned by the caller (rd_kafka_producev takes it
 * over on success; otherwise free it with rd_kafka_headers_destroy), or NULL
 * if an attribute is missing or too long. */
rd_kafka_headers_t *publisher_ce_headers(const struct publisher_ce_event *ev);

/* 1 if `s` is a client id: 1-64 bytes of [A-Za-z0-9._-]; else 0. */
int publisher_ce_client_id_valid(const char *s);

/* 1 if `s` is an order id: 1-64 bytes of [A-Za-z0-9_-]; else 0. */
int publisher_ce_order_id_valid(const char *s);

/* 1 if `s` is a usable W3C traceparent: exactly "vv-<32 hex>-<16 hex>-ff"
 * in lowercase hex, version not "ff", trace id and parent id not all zeros;
 * else 0. (Longer values of future versions are refused: we re-emit it.) */
int publisher_ce_traceparent_valid(const char *s);

/* Writes a fresh sampled traceparent "00-<random trace>-<random span>-01"
 * plus a NUL. Returns 0, or -1 if the random generator failed. */
int publisher_ce_traceparent_new(char out[PUBLISHER_TRACEPARENT_LEN + 1]);

/* Copies the 32-hex trace id of a valid traceparent into out (plus NUL), for
 * logs. Returns 0, or -1 (out "") if `tp` is not valid. */
int publisher_ce_trace_id(const char *tp, char out[PUBLISHER_TRACE_ID_LEN + 1]);

#endif
