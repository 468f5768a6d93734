/* order_event: decodes and checks one orders.* record (see order_event.h).
 *
 * Every undecodable rule is checked before any invalid one, so a record
 * that breaks both kinds is always "undecodable", whichever rule comes
 * first in the record. Within a kind the order is the header's list. */
#include "order_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq.h"
#include "errmsg.h"
#include "utf8.h"

#define OE_SPECVERSION "1.0"
#define OE_TYPE "orders.order.accepted.v1"
#define OE_CONTENT_TYPE "application/json"
#define OE_SOURCE_PREFIX "/clients/"
#define OE_QUOTE_MAX 64 /* bytes of an untrusted value quoted in a message */

enum {
    OE_SPECVERSION_H,
    OE_ID_H,
    OE_SOURCE_H,
    OE_TYPE_H,
    OE_TIME_H,
    OE_SUBJECT_H,
    OE_CLIENTID_H,
    OE_CONTENT_TYPE_H,
    OE_NREQUIRED,
    OE_TRACEPARENT_H = OE_NREQUIRED, /* optional */
    OE_NHEADERS,
};

// clang-format off
#define OE_HEADER_NAMES(X) X("ce_specversion") X("ce_id") X("ce_source") X("ce_type") X("ce_time") \
    X("ce_subject") X("ce_clientid") X("content-type") X("traceparent")
// clang-format on
#define OE_NAME(s) s,
#define OE_NAME_LEN(s) sizeof s - 1,
static const char *const oe_names[OE_NHEADERS] = {OE_HEADER_NAMES(OE_NAME)};
static const size_t oe_name_lens[OE_NHEADERS] = {OE_HEADER_NAMES(OE_NAME_LEN)};

/* Index of a known header name, or -1: lengths first, so most names are
 * told apart without comparing bytes (this runs for every header of every
 * record). */
static int oe_header_index(const char *name, size_t len) {
    for (int k = 0; k < OE_NHEADERS; k++)
        if (oe_name_lens[k] == len && memcmp(name, oe_names[k], len) == 0)
            return k;
    return -1;
}

/* A header value as found: bytes (not NUL-terminated) and how many times. */
struct oe_value {
    const char *v;
    size_t n;
    int seen;
};

/* Offset of the first byte that is not UTF-8, or n when all are. */
static size_t oe_bad_utf8_at(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_sequence_len((const unsigned char *)s + i, n - i);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

/* Copies valid UTF-8 v[n] for quoting into a message: at most OE_QUOTE_MAX
 * bytes, cut on a sequence boundary, "..." appended when shortened. */
static const char *oe_quote(const char *v, size_t n, char out[OE_QUOTE_MAX + 4]) {
    size_t o = 0;
    while (o < n) {
        size_t len = utf8_sequence_len((const unsigned char *)v + o, n - o);
        if (len == 0 || o + len > OE_QUOTE_MAX)
            break;
        o += len;
    }
    memcpy(out, v, o);
    strcpy(out + o, o < n ? "..." : "");
    return out;
}

static int oe_equals(const struct oe_value *h, const char *want) {
    return h->n == strlen(want) && memcmp(h->v, want, h->n) == 0;
}

static int oe_is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Canonical lowercase 8-4-4-4-12 UUID (event.schema.json EventId). */
static int oe_uuid_valid(const char *s, size_t n) {
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !oe_is_lower_hex(s[i]))
            return 0;
    }
    return 1;
}

static int oe_client_id_valid(const char *s, size_t n) {
    if (n < 1 || n > ORDER_EVENT_CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Runs of hex digits, all zero or not (W3C: such ids are invalid). */
static int oe_all_zero(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

/* W3C traceparent as event.schema.json Traceparent: "vv-<32>-<16>-ff" in
 * lowercase hex, version not ff, trace and parent ids not all zeros. */
static int oe_traceparent_valid(const char *s, size_t n) {
    if (n != ORDER_EVENT_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 2 && i != 35 && i != 52 && !oe_is_lower_hex(s[i]))
            return 0;
    return !(s[0] == 'f' && s[1] == 'f') && !oe_all_zero(s + 3, 32) && !oe_all_zero(s + 36, 16);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no timegm() and no TZ dependency. */
static int64_t oe_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int oe_digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* RFC 3339 in UTC as event.schema.json EventTime:
 * YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z, with real calendar dates (seconds
 * 00-59: the publisher never writes a leap second). Fills *ms. */
static int oe_time_parse(const char *s, size_t n, int64_t *ms) {
    int y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z')
        return -1;
    if (oe_digits(s, 4, &y) || oe_digits(s + 5, 2, &mo) || oe_digits(s + 8, 2, &d) ||
        oe_digits(s + 11, 2, &h) || oe_digits(s + 14, 2, &mi) || oe_digits(s + 17, 2, &sec))
        return -1;
    int frac_ms = 0;
    if (n > 20) {
        size_t digits = n - 21; /* between '.' and 'Z' */
        if (s[19] != '.' || digits < 1 || digits > 9)
            return -1;
        int v;
        if (oe_digits(s + 20, digits, &v))
            return -1;
        for (size_t i = 0; i < 3; i++) /* first three digits, zero-padded */
            frac_ms = frac_ms * 10 + (i < digits ? s[20 + i] - '0' : 0);
    }
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    *ms =
        ((oe_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * INT64_C(60000) + sec * 1000 + frac_ms;
    return 0;
}

/* Collects the known headers and checks the undecodable rules on all of
 * them. Returns 0, or -1 with why filled. */
static int oe_read_headers(const rd_kafka_headers_t *hdrs, struct oe_value h[OE_NHEADERS],
                           char *why, size_t whylen) {
    memset(h, 0, sizeof *h * OE_NHEADERS);
    const char *name;
    const void *val;
    size_t size;
    for (size_t idx = 0; hdrs && rd_kafka_header_get_all(hdrs, idx, &name, &val, &size) ==
                                     RD_KAFKA_RESP_ERR_NO_ERROR;
         idx++) {
        size_t name_len = strlen(name);
        if (!utf8_valid(name, name_len)) {
            errmsg_set(why, whylen, "header name #%zu is not UTF-8", idx + 1);
            return -1;
        }
        size_t bad = val ? oe_bad_utf8_at(val, size) : 0;
        if (val && bad < size) {
            char q[OE_QUOTE_MAX + 4];
            errmsg_set(why, whylen, "header '%s' is not UTF-8 (byte %zu)",
                       oe_quote(name, name_len, q), bad);
            return -1;
        }
        int k = oe_header_index(name, name_len);
        if (k >= 0) {
            if (h[k].seen++ && k < OE_NREQUIRED) {
                errmsg_set(why, whylen, "header %s is repeated", oe_names[k]);
                return -1;
            }
            if (!val && k < OE_NREQUIRED) {
                errmsg_set(why, whylen, "header %s has no value", oe_names[k]);
                return -1;
            }
            h[k].v = val ? val : "";
            h[k].n = val ? size : 0;
        }
    }
    for (int k = 0; k < OE_NREQUIRED; k++) {
        if (!h[k].seen) {
            errmsg_set(why, whylen, "header %s is missing", oe_names[k]);
            return -1;
        }
    }
    return 0;
}

/* The contract rules of a decodable record, in the header's order.
 * Returns 0, or -1 with why filled. */
static int oe_check(const struct oe_value h[OE_NHEADERS], const char *key, size_t keylen,
                    int order_rc, const struct order_error *oerr, const struct order_summary *order,
                    int64_t *time_ms, char *why, size_t whylen) {
    char q[OE_QUOTE_MAX + 4], q2[OE_QUOTE_MAX + 4];
    const struct oe_value *tp = &h[OE_TRACEPARENT_H];
#define OE_Q(k) oe_quote(h[k].v, h[k].n, q)
    if (!oe_equals(&h[OE_SPECVERSION_H], OE_SPECVERSION))
        errmsg_set(why, whylen, "ce_specversion '%s' is not '" OE_SPECVERSION "'",
                   OE_Q(OE_SPECVERSION_H));
    else if (!oe_equals(&h[OE_TYPE_H], OE_TYPE))
        errmsg_set(why, whylen, "ce_type '%s' is not '" OE_TYPE "'", OE_Q(OE_TYPE_H));
    else if (!oe_uuid_valid(h[OE_ID_H].v, h[OE_ID_H].n))
        errmsg_set(why, whylen, "ce_id '%s' is not a lowercase UUID", OE_Q(OE_ID_H));
    else if (oe_time_parse(h[OE_TIME_H].v, h[OE_TIME_H].n, time_ms) != 0)
        errmsg_set(why, whylen, "ce_time '%s' is not an RFC 3339 UTC time", OE_Q(OE_TIME_H));
    else if (!oe_equals(&h[OE_CONTENT_TYPE_H], OE_CONTENT_TYPE))
        errmsg_set(why, whylen, "content-type '%s' is not '" OE_CONTENT_TYPE "'",
                   OE_Q(OE_CONTENT_TYPE_H));
    else if (tp->seen > 1)
        errmsg_set(why, whylen, "header traceparent is repeated");
    else if (tp->seen && !oe_traceparent_valid(tp->v, tp->n))
        errmsg_set(why, whylen, "traceparent '%s' is not a W3C traceparent",
                   oe_quote(tp->v, tp->n, q));
    else if (order_rc != 0)
        errmsg_set(why, whylen, "value is not a valid order: %s%s%s%s", oerr->message,
                   oerr->field[0] ? " (at " : "", oerr->field, oerr->field[0] ? ")" : "");
    else if (!oe_client_id_valid(h[OE_CLIENTID_H].v, h[OE_CLIENTID_H].n))
        errmsg_set(why, whylen, "ce_clientid '%s' is not a client id (1-64 of [A-Za-z0-9._-])",
                   OE_Q(OE_CLIENTID_H));
    else {
        /* client id: checked above; subject: quoted shortened in messages. */
        const struct oe_value *c = &h[OE_CLIENTID_H], *s = &h[OE_SUBJECT_H], *src = &h[OE_SOURCE_H];
        size_t pre = strlen(OE_SOURCE_PREFIX);
        int key_ok = key && keylen == c->n + 1 + s->n && memcmp(key, c->v, c->n) == 0 &&
                     key[c->n] == '/' && memcmp(key + c->n + 1, s->v, s->n) == 0;
        char expect[ORDER_EVENT_CLIENT_ID_MAX + 1 + OE_QUOTE_MAX + 8];
        snprintf(expect, sizeof expect, "%.*s/%s", (int)c->n, c->v, oe_quote(s->v, s->n, q2));
        if (!key)
            errmsg_set(why, whylen, "record has no key; expected '%s'", expect);
        else if (!key_ok)
            errmsg_set(why, whylen, "key '%s' does not match ce_clientid/ce_subject '%s'",
                       oe_quote(key, keylen, q), expect);
        else if (!(src->n == pre + c->n && memcmp(src->v, OE_SOURCE_PREFIX, pre) == 0 &&
                   memcmp(src->v + pre, c->v, c->n) == 0))
            errmsg_set(why, whylen, "ce_source '%s' is not '" OE_SOURCE_PREFIX "%.*s'",
                       OE_Q(OE_SOURCE_H), (int)c->n, c->v);
        else if (!(s->n == strlen(order->order_id) && memcmp(s->v, order->order_id, s->n) == 0))
            errmsg_set(why, whylen, "ce_subject '%s' does not match the value's order_id '%s'",
                       OE_Q(OE_SUBJECT_H), order->order_id);
        else
            return 0;
    }
#undef OE_Q
    return -1;
}

enum order_event_status order_event_decode_parts(const void *key, size_t keylen, const void *value,
                                                 size_t valuelen, const rd_kafka_headers_t *hdrs,
                                                 struct order_event *ev, char *why, size_t whylen) {
    memset(ev, 0, sizeof *ev);
    ev->partition = -1;
    ev->offset = -1;
    errmsg_set(why, whylen, "%s", "");

    /* ---- undecodable ---- */
    size_t bad;
    if (key && (bad = oe_bad_utf8_at(key, keylen)) < keylen) {
        errmsg_set(why, whylen, "key is not UTF-8 (byte %zu)", bad);
        return ORDER_EVENT_UNDECODABLE;
    }
    struct oe_value h[OE_NHEADERS];
    if (oe_read_headers(hdrs, h, why, whylen) != 0)
        return ORDER_EVENT_UNDECODABLE;
    if (!value || valuelen == 0) {
        errmsg_set(why, whylen, "value is empty");
        return ORDER_EVENT_UNDECODABLE;
    }
    if ((bad = oe_bad_utf8_at(value, valuelen)) < valuelen) {
        errmsg_set(why, whylen, "value is not UTF-8 (byte %zu)", bad);
        return ORDER_EVENT_UNDECODABLE;
    }
    struct order_error oerr;
    char *data = NULL;
    struct order_summary order;
    int rc = order_validate(value, valuelen, &oerr, &data, &order);
    if (rc == -2)
        return ORDER_EVENT_NO_MEMORY;
    if (rc != 0 && strcmp(oerr.code, "invalid_json") == 0) {
        order_summary_release(&order);
        errmsg_set(why, whylen, "value is not JSON: %s", oerr.message);
        return ORDER_EVENT_UNDECODABLE;
    }

    /* ---- invalid ---- */
    int64_t time_ms = 0;
    if (oe_check(h, key, keylen, rc, &oerr, &order, &time_ms, why, whylen) != 0) {
        free(data);
        order_summary_release(&order);
        return ORDER_EVENT_INVALID;
    }

    /* Lengths were all checked above, so every copy fits. */
    memcpy(ev->id, h[OE_ID_H].v, h[OE_ID_H].n);
    memcpy(ev->client_id, h[OE_CLIENTID_H].v, h[OE_CLIENTID_H].n);
    memcpy(ev->time, h[OE_TIME_H].v, h[OE_TIME_H].n);
    ev->time_unix_ms = time_ms;
    if (h[OE_TRACEPARENT_H].seen)
        memcpy(ev->traceparent, h[OE_TRACEPARENT_H].v, h[OE_TRACEPARENT_H].n);
    ev->data = data;
    ev->data_len = strlen(data);
    ev->order = order; /* the summary's metadata tree moves to ev */
    return ORDER_EVENT_OK;
}

enum order_event_status order_event_decode(const rd_kafka_message_t *m, struct order_event *ev,
                                           char *why, size_t whylen) {
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &hdrs);
    if (herr != RD_KAFKA_RESP_ERR_NO_ERROR && herr != RD_KAFKA_RESP_ERR__NOENT) {
        memset(ev, 0, sizeof *ev);
        errmsg_set(why, whylen, "headers cannot be parsed: %s", rd_kafka_err2str(herr));
        return ORDER_EVENT_UNDECODABLE;
    }
    enum order_event_status st =
        order_event_decode_parts(m->key, m->key_len, m->payload, m->len,
                                 herr == RD_KAFKA_RESP_ERR_NO_ERROR ? hdrs : NULL, ev, why, whylen);
    if (st == ORDER_EVENT_OK) {
        ev->partition = m->partition;
        ev->offset = m->offset;
    }
    return st;
}

void order_event_release(struct order_event *ev) {
    if (!ev)
        return;
    free(ev->data);
    order_summary_release(&ev->order);
    memset(ev, 0, sizeof *ev);
}

const char *order_event_status_reason(enum order_event_status st) {
    switch (st) {
    case ORDER_EVENT_UNDECODABLE:
        return DLQ_REASON_UNDECODABLE;
    case ORDER_EVENT_INVALID:
        return DLQ_REASON_INVALID;
    default:
        return NULL;
    }
}
