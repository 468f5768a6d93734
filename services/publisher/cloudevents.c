/* cloudevents: CloudEvents binary-mode key and headers of an order event. */
#include "cloudevents.h"

#include "crypto.h"

#include <stdio.h>
#include <string.h>

#define PUBLISHER_CE_SOURCE_PREFIX "/clients/"

int publisher_ce_format_time(const struct timespec *ts, char out[PUBLISHER_CE_TIME_LEN + 1]) {
    struct tm tm;
    out[0] = '\0';
    if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L || !gmtime_r(&ts->tv_sec, &tm))
        return -1;
    if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return -1;
    int n = snprintf(out, PUBLISHER_CE_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts->tv_nsec / 1000000L);
    if (n != PUBLISHER_CE_TIME_LEN) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int publisher_ce_key(const char *client_id, const char *order_id, char *out, size_t outlen) {
    int n = snprintf(out, outlen, "%s/%s", client_id, order_id);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return -1;
    }
    return n;
}

/* 1 if s is 1..max bytes, each a letter, digit or one of `extra`. */
static int publisher_ce_charset(const char *s, size_t max, const char *extra) {
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (c != '\0' && strchr(extra, c) != NULL);
        if (!ok || n >= max)
            return 0;
    }
    return n > 0;
}

int publisher_ce_client_id_valid(const char *s) {
    return publisher_ce_charset(s, PUBLISHER_CE_ID_MAX, "._-");
}

int publisher_ce_order_id_valid(const char *s) {
    return publisher_ce_charset(s, PUBLISHER_CE_ID_MAX, "_-");
}

/* 1 if s[0..n) is lowercase hex; *all_zero tells whether every digit is 0. */
static int publisher_ce_hex(const char *s, size_t n, int *all_zero) {
    *all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        if (c != '0')
            *all_zero = 0;
    }
    return 1;
}

int publisher_ce_traceparent_valid(const char *s) {
    int zero;
    if (!s || strlen(s) != PUBLISHER_TRACEPARENT_LEN)
        return 0;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return 0;
    if (!publisher_ce_hex(s, 2, &zero) || strncmp(s, "ff", 2) == 0)
        return 0;
    if (!publisher_ce_hex(s + 3, 32, &zero) || zero)
        return 0;
    if (!publisher_ce_hex(s + 36, 16, &zero) || zero)
        return 0;
    return publisher_ce_hex(s + 53, 2, &zero);
}

int publisher_ce_traceparent_new(char out[PUBLISHER_TRACEPARENT_LEN + 1]) {
    unsigned char raw[24];
    char hex[2 * sizeof raw + 1];
    int zero_trace, zero_span;
    out[0] = '\0';
    do {
        if (crypto_random_bytes(raw, sizeof raw) != 0)
            return -1;
        crypto_hex_encode(raw, sizeof raw, hex);
        publisher_ce_hex(hex, 32, &zero_trace);
        publisher_ce_hex(hex + 32, 16, &zero_span);
    } while (zero_trace || zero_span);
    snprintf(out, PUBLISHER_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-01", hex, hex + 32);
    return 0;
}

int publisher_ce_trace_id(const char *tp, char out[PUBLISHER_TRACE_ID_LEN + 1]) {
    out[0] = '\0';
    if (!publisher_ce_traceparent_valid(tp))
        return -1;
    memcpy(out, tp + 3, PUBLISHER_TRACE_ID_LEN);
    out[PUBLISHER_TRACE_ID_LEN] = '\0';
    return 0;
}

rd_kafka_headers_t *publisher_ce_headers(const struct publisher_ce_event *ev) {
    char source[sizeof PUBLISHER_CE_SOURCE_PREFIX + PUBLISHER_CE_ID_MAX];
    if (!ev->event_id || !ev->client_id || !ev->order_id || !ev->ce_time || !ev->traceparent)
        return NULL;
    int n = snprintf(source, sizeof source, "%s%s", PUBLISHER_CE_SOURCE_PREFIX, ev->client_id);
    if (n < 0 || (size_t)n >= sizeof source)
        return NULL;

    const char *const kv[2 * PUBLISHER_CE_NHEADERS] = {
        "ce_specversion", PUBLISHER_CE_SPECVERSION,
        "ce_id",          ev->event_id,
        "ce_source",      source,
        "ce_type",        PUBLISHER_CE_TYPE,
        "ce_time",        ev->ce_time,
        "ce_subject",     ev->order_id,
        "ce_clientid",    ev->client_id,
        "content-type",   PUBLISHER_CE_CONTENT_TYPE,
        "traceparent",    ev->traceparent,
    };
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(PUBLISHER_CE_NHEADERS);
    if (!hdrs)
        return NULL;
    for (size_t i = 0; i < 2 * PUBLISHER_CE_NHEADERS; i += 2) {
        if (rd_kafka_header_add(hdrs, kv[i], -1, kv[i + 1], -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs);
            return NULL;
        }
    }
    return hdrs;
}
