/* dlq: dead letters of poison records: headers, publishing with a bounded
 * wait for the broker's acknowledgement, and reading dlq_* headers back. */
#include "dlq.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errmsg.h"
#include "utf8.h"

#define DLQ_POLL_SLICE_MS 100
#define DLQ_UNKNOWN_ERROR "unknown error" /* dlq_error must not be empty */

int dlq_format_time(int64_t unix_ms, char out[DLQ_TIME_LEN + 1]) {
    out[0] = '\0';
    /* Floor division, so times before 1970 keep a non-negative ms part. */
    int64_t sec = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return -1;
    int n =
        snprintf(out, DLQ_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    if (n != DLQ_TIME_LEN) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Copies `error` into out as a non-empty UTF-8 string of at most
 * DLQ_ERROR_MAX bytes: it stops before a sequence that would not fit whole,
 * and replaces bytes that are not UTF-8 (store messages may hold anything)
 * with '?', so the header always meets the contract. Returns the length. */
static size_t dlq_error_copy(const char *error, char out[DLQ_ERROR_MAX + 1]) {
    if (!error || !*error)
        error = DLQ_UNKNOWN_ERROR;
    const unsigned char *s = (const unsigned char *)error;
    size_t n = strlen(error), i = 0, o = 0;
    while (i < n) {
        size_t len = utf8_sequence_len(s + i, n - i);
        if (len == 0) {
            if (o + 1 > DLQ_ERROR_MAX)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + len > DLQ_ERROR_MAX)
            break;
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return o;
}

rd_kafka_headers_t *dlq_headers_build_parts(const rd_kafka_headers_t *src, const char *topic,
                                            int32_t partition, int64_t offset, const char *reason,
                                            const char *error, uint32_t attempts,
                                            int64_t failed_at_ms) {
    char errbuf[DLQ_ERROR_MAX + 1], part[16], off[24], att[16], at[DLQ_TIME_LEN + 1];
    dlq_error_copy(error, errbuf);
    snprintf(part, sizeof part, "%" PRId32, partition);
    snprintf(off, sizeof off, "%" PRId64, offset);
    snprintf(att, sizeof att, "%" PRIu32, attempts);
    if (dlq_format_time(failed_at_ms, at) != 0)
        snprintf(at, sizeof at, "1970-01-01T00:00:00.000Z"); /* unreachable for real clocks */

    /* rd_kafka_headers_copy keeps every original header, in order, as sent. */
    rd_kafka_headers_t *h = src ? rd_kafka_headers_copy(src) : rd_kafka_headers_new(8);
    if (!h)
        return NULL;
    const char *add[][2] = {
        {"dlq_reason", reason ? reason : DLQ_REASON_INVALID},
        {"dlq_error", errbuf},
        {"dlq_source_topic", topic ? topic : ""},
        {"dlq_source_partition", part},
        {"dlq_source_offset", off},
        {"dlq_attempts", att},
        {"dlq_failed_at", at},
    };
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++) {
        if (rd_kafka_header_add(h, add[i][0], -1, add[i][1], -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(h);
            return NULL;
        }
    }
    return h;
}

/* The original headers of a consumed message, or NULL when it has none (or
 * librdkafka cannot parse them: the dead letter then carries only dlq_*). */
static const rd_kafka_headers_t *dlq_message_headers(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    return h;
}

rd_kafka_headers_t *dlq_headers_build(const rd_kafka_message_t *src, const char *reason,
                                      const char *error, uint32_t attempts, int64_t failed_at_ms) {
    const char *topic = src->rkt ? rd_kafka_topic_name(src->rkt) : "";
    return dlq_headers_build_parts(dlq_message_headers(src), topic, src->partition, src->offset,
                                   reason, error, attempts, failed_at_ms);
}

int dlq_header_get_hdrs(const rd_kafka_headers_t *hdrs, const char *name, char *buf,
                        size_t buflen) {
    if (buflen > 0)
        buf[0] = '\0';
    if (!hdrs || buflen == 0)
        return -1;
    const void *v = NULL, *v2 = NULL;
    size_t n = 0, n2 = 0;
    if (rd_kafka_header_get(hdrs, 0, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (rd_kafka_header_get(hdrs, 1, name, &v2, &n2) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1; /* repeated: which one is meant is unknowable */
    if (!v || n > buflen - 1 || memchr(v, '\0', n))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return 0;
}

int dlq_header_get(const rd_kafka_message_t *m, const char *name, char *buf, size_t buflen) {
    return dlq_header_get_hdrs(dlq_message_headers(m), name, buf, buflen);
}

/* Per-call rendezvous between dlq_publish and the delivery report. It lives
 * on the heap because a report may arrive after dlq_publish gave up: then
 * whoever comes second (the report, or dlq_publish seeing a report that
 * arrived during its give-up) frees it. */
enum { DLQ_PENDING, DLQ_DELIVERED, DLQ_ABANDONED };
struct dlq_rendezvous {
    atomic_int state;
    rd_kafka_resp_err_t err;
};

void dlq_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    struct dlq_rendezvous *r = m->_private;
    if (!r)
        return;
    r->err = m->err;
    if (atomic_exchange(&r->state, DLQ_DELIVERED) == DLQ_ABANDONED)
        free(r);
}

static int64_t dlq_now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dlq_publish(rd_kafka_t *producer, const rd_kafka_message_t *src, const char *reason,
                const char *error, uint32_t attempts, int timeout_ms, char *err, size_t errlen) {
    const char *topic = src->rkt ? rd_kafka_topic_name(src->rkt) : NULL;
    if (!topic || !*topic) {
        errmsg_set(err, errlen, "dead letter: the record has no topic");
        return -1;
    }
    char dlq_topic[256];
    if ((size_t)snprintf(dlq_topic, sizeof dlq_topic, "%s%s", topic, DLQ_TOPIC_SUFFIX) >=
        sizeof dlq_topic) {
        errmsg_set(err, errlen, "dead letter: topic name '%s' too long", topic);
        return -1;
    }
    rd_kafka_headers_t *h =
        dlq_headers_build(src, reason, error, attempts, dlq_now_ms(CLOCK_REALTIME));
    struct dlq_rendezvous *r = h ? malloc(sizeof *r) : NULL;
    if (!r) {
        if (h)
            rd_kafka_headers_destroy(h);
        errmsg_set(err, errlen, "dead letter to %s: out of memory", dlq_topic);
        return -1;
    }
    atomic_init(&r->state, DLQ_PENDING);
    r->err = RD_KAFKA_RESP_ERR_NO_ERROR;

    /* MSG_F_COPY: src stays the caller's; the headers pass to librdkafka. */
    rd_kafka_resp_err_t e = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(src->key, src->key_len), RD_KAFKA_V_VALUE(src->payload, src->len),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h);
        free(r);
        errmsg_set(err, errlen, "dead letter to %s: %s", dlq_topic, rd_kafka_err2str(e));
        return -1;
    }

    /* Bounded wait: poll in slices until the report arrives or time is up. */
    int64_t deadline = dlq_now_ms(CLOCK_MONOTONIC) + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (atomic_load(&r->state) == DLQ_DELIVERED)
            break;
        int64_t left = deadline - dlq_now_ms(CLOCK_MONOTONIC);
        if (left <= 0) {
            if (atomic_exchange(&r->state, DLQ_ABANDONED) == DLQ_DELIVERED)
                break; /* the report slipped in just now: use it */
            errmsg_set(err, errlen,
                       "dead letter to %s: no acknowledgement within %d ms (is dlq_dr_msg_cb "
                       "the producer's delivery report callback?)",
                       dlq_topic, timeout_ms);
            return -1; /* the report, when it comes, frees r */
        }
        rd_kafka_poll(producer, (int)(left < DLQ_POLL_SLICE_MS ? left : DLQ_POLL_SLICE_MS));
    }
    rd_kafka_resp_err_t result = r->err;
    free(r);
    if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errmsg_set(err, errlen, "dead letter to %s: %s", dlq_topic, rd_kafka_err2str(result));
        return -1;
    }
    return 0;
}
