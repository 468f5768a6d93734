/* reqmeta: request id, trace context, media type and Content-Length checks. */
#include "reqmeta.h"

#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INGRESS_TRACEPARENT_FALLBACK "00-00000000000000000000000000000001-0000000000000001-00"

int ingress_request_id_valid(const char *id) {
    size_t n = 0;
    if (!id)
        return 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= INGRESS_REQUEST_ID_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}

void ingress_request_id_pick(const char *in, char out[INGRESS_REQUEST_ID_MAX + 1]) {
    if (ingress_request_id_valid(in))
        snprintf(out, INGRESS_REQUEST_ID_MAX + 1, "%s", in);
    else if (crypto_uuid_v4(out) != 0)
        snprintf(out, INGRESS_REQUEST_ID_MAX + 1, "unknown");
}

/* 1 if s[0..n) are lowercase hex digits, not all '0' when nonzero != 0. */
static int ingress_hex_run(const char *s, size_t n, int nonzero) {
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        any |= s[i] != '0';
    }
    return !nonzero || any;
}

int ingress_traceparent_valid(const char *tp) {
    if (!tp || strlen(tp) != INGRESS_TRACEPARENT_LEN)
        return 0;
    if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
        return 0;
    return ingress_hex_run(tp, 2, 0) && strncmp(tp, "ff", 2) != 0 &&
           ingress_hex_run(tp + 3, 32, 1) && ingress_hex_run(tp + 36, 16, 1) &&
           ingress_hex_run(tp + 53, 2, 0);
}

int ingress_traceparent_pick(const char *in, char out[INGRESS_TRACEPARENT_LEN + 1]) {
    unsigned char raw[24];
    char hex[2 * sizeof raw + 1];
    if (ingress_traceparent_valid(in)) {
        memcpy(out, in, INGRESS_TRACEPARENT_LEN + 1);
        return 1;
    }
    if (crypto_random_bytes(raw, sizeof raw) != 0) {
        memcpy(out, INGRESS_TRACEPARENT_FALLBACK, INGRESS_TRACEPARENT_LEN + 1);
        return -1;
    }
    raw[0] |= 1; /* never all zeros */
    raw[16] |= 1;
    crypto_hex_encode(raw, sizeof raw, hex);
    snprintf(out, INGRESS_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-01", hex, hex + 32);
    return 0;
}

void ingress_trace_id(const char *tp, char out[INGRESS_TRACE_ID_LEN + 1]) {
    if (!ingress_traceparent_valid(tp)) {
        out[0] = '\0';
        return;
    }
    memcpy(out, tp + 3, INGRESS_TRACE_ID_LEN);
    out[INGRESS_TRACE_ID_LEN] = '\0';
}

static const char *ingress_skip_ows(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* 1 if the parameter text p (after ';') is charset=utf-8, possibly quoted,
 * with only blanks after it. */
static int ingress_charset_utf8(const char *p) {
    p = ingress_skip_ows(p);
    if (strncasecmp(p, "charset=", 8) != 0)
        return 0;
    p += 8;
    int quoted = *p == '"';
    p += quoted;
    if (strncasecmp(p, "utf-8", 5) != 0)
        return 0;
    p += 5;
    if (quoted && *p++ != '"')
        return 0;
    return *ingress_skip_ows(p) == '\0';
}

int ingress_json_media_type(const char *ct) {
    static const char json[] = "application/json";
    if (!ct)
        return 0;
    const char *p = ingress_skip_ows(ct);
    if (strncasecmp(p, json, sizeof json - 1) != 0)
        return 0;
    p = ingress_skip_ows(p + sizeof json - 1);
    if (*p == '\0')
        return 1;
    return *p == ';' && ingress_charset_utf8(p + 1);
}

int ingress_content_length_over(const char *cl, size_t max) {
    if (!cl)
        return 0;
    if (*cl < '0' || *cl > '9')
        return -1;
    for (const char *p = cl; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long v = strtoull(cl, NULL, 10);
    if (errno == ERANGE)
        return 1;
    return v > (unsigned long long)max;
}
