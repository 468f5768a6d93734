/* server: the public HTTP endpoint of ingress-auth on libmicrohttpd
 * (one thread per connection, up to max_connections: a request blocks its
 * thread end to end; INGRESS_HTTP_THREADS sizes the Redis and publisher
 * pools, which bound the concurrent work).
 *
 *   POST /orders only; another path 404 not_found; another method on
 *   /orders 405 method_not_allowed with Allow: POST; then, before the body
 *   is read: Content-Length above the limit 413 too_large, Content-Type not
 *   application/json (charset=utf-8 allowed) 415 unsupported_media_type;
 *   a chunked body stops being stored as soon as it passes the limit and is
 *   answered 413 when it ends (libmicrohttpd 0.9.75 cannot answer in the
 *   middle of a body), or its connection is closed if it goes on past
 *   16 MiB. The complete body goes through pipeline.h. Every answer carries
 *   X-Request-Id (the caller's when sane, else a new UUID), Content-Type:
 *   application/json and Cache-Control: no-store.
 * Connections are bounded (INGRESS_MAX_CONNECTIONS) and closed after
 * INGRESS_CONNECTION_TIMEOUT without progress (slowloris). */
#ifndef INGRESS_SERVER_H
#define INGRESS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct ingress_pipeline;
struct ingress_stats;
struct ingress_server;

struct ingress_server_settings {
    const char *bind;         /* numeric IPv4/IPv6 address */
    uint16_t port;            /* 0: any free port (see ingress_server_port) */
    unsigned max_connections; /* also the most connection threads */
    unsigned connection_timeout_s;
    size_t max_body;
    const struct ingress_pipeline *pipeline; /* borrowed: must outlive the server */
    struct ingress_stats *stats;             /* borrowed; may be NULL */
};

/* Starts serving. Returns the server, or NULL with a message in err[errlen].
 * Free with ingress_server_stop. */
struct ingress_server *ingress_server_start(const struct ingress_server_settings *s, char *err,
                                            size_t errlen);

/* The port actually bound. */
uint16_t ingress_server_port(const struct ingress_server *srv);

/* Stops accepting connections; requests on open connections are still
 * answered, each with Connection: close. Idempotent. */
void ingress_server_quiesce(struct ingress_server *srv);

/* Requests being processed (headers received, answer not yet sent), for
 * sig_drain; `srv` is a struct ingress_server *. */
int ingress_server_inflight(void *srv);

/* Stops the server (open connections are closed) and frees it. NULL is a
 * no-op. */
void ingress_server_stop(struct ingress_server *srv);

#endif
