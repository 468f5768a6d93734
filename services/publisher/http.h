/* http: the publisher's internal endpoint, POST /v1/publish, on
 * libmicrohttpd (epoll, internal thread pool, suspend/resume).
 *
 * Protocol (ingress-auth -> publisher):
 *   Authorization: Bearer <token>  (compared in constant time)  else 401
 *   Content-Type: application/json (parameters allowed)          else 415
 *   X-Client-Id: [A-Za-z0-9._-]{1,64}                            else 400
 *   X-Request-Id (echoed; made up when absent), traceparent (made up when
 *   absent or invalid); body: the order as compact JSON, the exact bytes of
 *   the Kafka value: a JSON object with a string order_id ([A-Za-z0-9_-]
 *   {1,64}) else 400 (invalid_json / invalid_order); above max_body 413.
 *   202 {"event_id":"<uuid>","ce_time":"<RFC 3339 ms Z>"} once the
 *   transaction holding every subscription's copy committed; 503
 *   {"error":{"code":"unavailable",...}} with Retry-After otherwise.
 *   Another path 404, another method 405 with Allow: POST.
 * An order that no subscription's filter selects is answered 202 at once:
 * there is nothing to publish, so "every copy committed" holds trivially.
 *
 * The request is suspended while it waits for its transaction; the Kafka
 * thread resumes it with the outcome. */
#ifndef PUBLISHER_HTTP_H
#define PUBLISHER_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct publisher_batcher;
struct publisher_stats;
struct publisher_subs;
struct publisher_http;

struct publisher_http_settings {
    const char *bind; /* numeric IPv4/IPv6 address */
    uint16_t port;    /* 0: any free port (see publisher_http_port) */
    unsigned threads;
    unsigned max_connections;
    unsigned connection_timeout_s;
    size_t max_body;
    const char *token;                 /* only its SHA-256 is kept */
    unsigned retry_after_s;            /* Retry-After of 503 answers */
    const struct publisher_subs *subs; /* borrowed: must outlive the server */
    struct publisher_batcher *batcher; /* borrowed: must outlive the server */
    struct publisher_stats *stats;     /* borrowed; may be NULL */
    struct publisher_limbo *limbo;     /* borrowed; may be NULL (no retry memory) */
};

/* Starts serving. Returns the server, or NULL with a message in err[errlen].
 * Free with publisher_http_stop. */
struct publisher_http *publisher_http_start(const struct publisher_http_settings *s, char *err,
                                            size_t errlen);

/* The port actually bound. */
uint16_t publisher_http_port(const struct publisher_http *h);

/* Stops accepting connections (requests on open connections are still
 * answered, each with Connection: close). Idempotent. */
void publisher_http_quiesce(struct publisher_http *h);

/* Requests handed to the batcher whose answer is not queued yet (for
 * sig_drain; `h` is a struct publisher_http *). */
int publisher_http_pending(void *h);

/* Stops the server and frees it. Call after publisher_batcher_stop so no
 * request is still suspended. NULL is a no-op. */
void publisher_http_stop(struct publisher_http *h);

#endif
