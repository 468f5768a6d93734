/* admin: libmicrohttpd server for /healthz, /readyz and /metrics. */
#include "admin.h"

#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "strbuf.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_TEXT "text/plain; charset=utf-8"
#define ADMIN_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ADMIN_METRICS_MAX (16u << 20) /* largest exposition served */
#define ADMIN_WHY_MAX 1024u           /* largest readiness reason */

struct admin_server {
    struct MHD_Daemon *daemon;
    struct metrics_registry *reg;
    admin_ready_fn ready;
    void *ready_ctx;
    atomic_int draining;
    atomic_int started;  /* 0 while MHD_start_daemon runs: log into start_err */
    char start_err[256]; /* last libmicrohttpd message during start */
    uint16_t port;
    union httpd_addr addr;
};

/* libmicrohttpd's error log: kept for the start error, then JSON-logged. */
__attribute__((format(printf, 2, 0))) static void admin_mhd_log(void *cls, const char *fmt,
                                                                va_list ap) {
    struct admin_server *srv = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    if (!atomic_load(&srv->started))
        snprintf(srv->start_err, sizeof srv->start_err, "%s", msg);
    else
        LOG_WARN("admin server: %s", msg);
}

/* Queues a response with a copy of body[0..len). allow, when set, becomes the
 * Allow header. MHD_YES, or MHD_NO to drop the connection on failure. */
static enum MHD_Result admin_reply(struct MHD_Connection *conn, unsigned int status,
                                   const char *ctype, const char *body, size_t len,
                                   const char *allow) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES))
        goto cleanup;
    ret = MHD_queue_response(conn, status, resp);
cleanup:
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result admin_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *body) {
    return admin_reply(conn, status, ADMIN_TEXT, body, strlen(body), NULL);
}

static enum MHD_Result admin_readyz(struct admin_server *srv, struct MHD_Connection *conn) {
    if (atomic_load(&srv->draining))
        return admin_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "draining");
    if (!srv->ready)
        return admin_text(conn, MHD_HTTP_OK, "ready");
    struct strbuf why;
    strbuf_init(&why, ADMIN_WHY_MAX);
    enum MHD_Result ret;
    if (srv->ready(srv->ready_ctx, &why) == 1)
        ret = admin_text(conn, MHD_HTTP_OK, "ready");
    else
        ret = admin_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                         why.len ? strbuf_str(&why) : "not ready");
    strbuf_release(&why);
    return ret;
}

static enum MHD_Result admin_metrics(struct admin_server *srv, struct MHD_Connection *conn) {
    struct strbuf body;
    strbuf_init(&body, ADMIN_METRICS_MAX);
    enum MHD_Result ret;
    if (srv->reg && metrics_render(srv->reg, &body) != 0) {
        LOG_ERROR("admin server: metrics exposition exceeds %u bytes", ADMIN_METRICS_MAX);
        ret = admin_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable");
    } else {
        ret = admin_reply(conn, MHD_HTTP_OK, ADMIN_METRICS_TYPE, strbuf_str(&body), body.len, NULL);
    }
    strbuf_release(&body);
    return ret;
}

/* Answers on the first call for every request: no endpoint takes a body, and
 * replying early turns away uploads (even with Expect: 100-continue). */
static enum MHD_Result admin_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **req_cls) {
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    struct admin_server *srv = cls;
    int healthz = strcmp(url, "/healthz") == 0;
    int readyz = strcmp(url, "/readyz") == 0;
    int metrics = strcmp(url, "/metrics") == 0;
    if (!healthz && !readyz && !metrics)
        return admin_text(conn, MHD_HTTP_NOT_FOUND, "not found");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char body[] = "method not allowed";
        return admin_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, ADMIN_TEXT, body, sizeof body - 1,
                           "GET, HEAD");
    }
    if (healthz)
        return admin_text(conn, MHD_HTTP_OK, "ok");
    if (readyz)
        return admin_readyz(srv, conn);
    return admin_metrics(srv, conn);
}

struct admin_server *admin_server_start(const char *bind_addr, uint16_t port,
                                        struct metrics_registry *reg, admin_ready_fn ready,
                                        void *ready_ctx, char *err, size_t errlen) {
    struct admin_server *srv = calloc(1, sizeof *srv);
    int v6 = 0;
    if (!bind_addr || !*bind_addr)
        bind_addr = "0.0.0.0";
    if (!srv) {
        snprintf(err, errlen, "admin server: out of memory");
        goto cleanup;
    }
    srv->reg = reg;
    srv->ready = ready;
    srv->ready_ctx = ready_ctx;
    atomic_init(&srv->draining, 0);
    atomic_init(&srv->started, 0);
    if (httpd_addr_parse(bind_addr, port, &srv->addr, &v6) != 0) {
        snprintf(err, errlen, "admin server: bind address '%s' is not a numeric IP address",
                 bind_addr);
        goto cleanup;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, admin_handle, srv, MHD_OPTION_SOCK_ADDR, &srv->addr.sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)ADMIN_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)ADMIN_CONNECTION_TIMEOUT_S,
        MHD_OPTION_EXTERNAL_LOGGER, admin_mhd_log, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "admin server: cannot listen on %s port %u: %s", bind_addr,
                 (unsigned)port, srv->start_err[0] ? srv->start_err : "unknown error");
        goto cleanup;
    }
    atomic_store(&srv->started, 1);
    srv->port = httpd_bound_port(srv->daemon);
    if (srv->port == 0) {
        snprintf(err, errlen, "admin server: cannot read the bound port");
        goto cleanup;
    }
    return srv;
cleanup:
    admin_server_stop(srv);
    return NULL;
}

uint16_t admin_server_port(const struct admin_server *srv) {
    return srv ? srv->port : 0;
}

void admin_server_set_draining(struct admin_server *srv, int draining) {
    if (srv)
        atomic_store(&srv->draining, draining != 0);
}

void admin_server_stop(struct admin_server *srv) {
    if (!srv)
        return;
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    free(srv);
}
