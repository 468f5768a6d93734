/* reqmeta: the request headers ingress-auth interprets before the body:
 * X-Request-Id and traceparent (kept when sane, else made up), the media
 * type, and Content-Length against the body limit. Pure functions, no I/O. */
#ifndef INGRESS_REQMETA_H
#define INGRESS_REQMETA_H

#include <stddef.h>

#define INGRESS_REQUEST_ID_MAX 128 /* openapi RequestId: 1-128 of [A-Za-z0-9._-] */
#define INGRESS_TRACEPARENT_LEN 55 /* "vv-<32 hex>-<16 hex>-ff" */
#define INGRESS_TRACE_ID_LEN 32

/* 1 if `id` is 1-128 characters of [A-Za-z0-9._-] (NULL: 0). Anything else
 * (spaces, quotes, control bytes) could forge log fields or headers. */
int ingress_request_id_valid(const char *id);

/* Copies `in` into out when valid, else writes a fresh UUID (or "unknown"
 * if the random generator failed). Always NUL-terminates out. */
void ingress_request_id_pick(const char *in, char out[INGRESS_REQUEST_ID_MAX + 1]);

/* 1 if `tp` is a W3C traceparent as event.schema.json defines it: exactly
 * "vv-<32 hex>-<16 hex>-ff" in lowercase hex, version not "ff", trace id
 * and parent id not all zeros (NULL: 0). */
int ingress_traceparent_valid(const char *tp);

/* Copies `in` into out when valid (the trace is continued unchanged), else
 * writes a new sampled traceparent "00-<random>-<random>-01". Returns 1 if
 * the caller's value was kept, 0 if a new one was made, -1 if the random
 * generator failed (out then holds a fixed valid placeholder). */
int ingress_traceparent_pick(const char *in, char out[INGRESS_TRACEPARENT_LEN + 1]);

/* The 32-hex trace id of a valid traceparent, for logs; "" if invalid. */
void ingress_trace_id(const char *tp, char out[INGRESS_TRACE_ID_LEN + 1]);

/* 1 if Content-Type `ct` is application/json (type and subtype in any case)
 * with at most a charset=utf-8 parameter (value in any case, optionally
 * quoted), else 0 (NULL, other types, other parameters or charsets: the
 * body must be UTF-8 JSON). */
int ingress_json_media_type(const char *ct);

/* Interprets a Content-Length value against `max`: 1 if it is a decimal
 * number above max (or too big to represent), 0 if within, -1 if it is not
 * a plain decimal number. NULL (chunked or no body) gives 0. */
int ingress_content_length_over(const char *cl, size_t max);

#endif
