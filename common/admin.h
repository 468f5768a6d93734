/* admin: the per-service admin HTTP server (/healthz, /readyz, /metrics) on
 * its own port, served by libmicrohttpd from one internal epoll thread.
 *
 *   GET|HEAD /healthz  200 "ok"     liveness: the process serves requests
 *   GET|HEAD /readyz   200 "ready", or 503 with the reason ("draining" while
 *                      draining, else the text of the ready callback)
 *   GET|HEAD /metrics  200 Prometheus text format 0.0.4
 *   other paths 404; other methods on these paths 405 with Allow: GET, HEAD */
#ifndef COMMON_ADMIN_H
#define COMMON_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct metrics_registry;
struct admin_server;

#define ADMIN_CONNECTION_LIMIT 32
#define ADMIN_CONNECTION_TIMEOUT_S 10

/* Readiness probe: returns 1 when ready; otherwise 0 and may append a short
 * human-readable reason to `why` (it is sent as the 503 body). Runs on the
 * server thread for every /readyz request, so it must be quick and
 * thread-safe. */
typedef int (*admin_ready_fn)(void *ctx, struct strbuf *why);

/* Starts serving on bind_addr (numeric IPv4 or IPv6; NULL or "" means
 * 0.0.0.0) and port (0 picks a free port, see admin_server_port). `reg` may be
 * NULL (then /metrics is empty); `ready` may be NULL (always ready). reg,
 * ready and ready_ctx are borrowed and must outlive the server. Returns the
 * server, or NULL with a message in err. Free with admin_server_stop. */
struct admin_server *admin_server_start(const char *bind_addr, uint16_t port,
                                        struct metrics_registry *reg, admin_ready_fn ready,
                                        void *ready_ctx, char *err, size_t errlen);

/* The port actually bound (useful after port 0). */
uint16_t admin_server_port(const struct admin_server *srv);

/* While draining != 0, /readyz answers 503 "draining" and /healthz stays 200,
 * so Kubernetes stops routing traffic during a graceful shutdown. Safe from
 * any thread, including a signal-handling thread (not a signal handler). */
void admin_server_set_draining(struct admin_server *srv, int draining);

/* Stops the server (waits for its thread, closes connections) and frees it.
 * NULL is a no-op. */
void admin_server_stop(struct admin_server *srv);

#endif
