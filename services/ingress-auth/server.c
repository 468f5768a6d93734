/* server: POST /orders on libmicrohttpd: header checks, bounded body
 * reading, then pipeline.h; every answer built by answer.h. */
#include "server.h"

#define INGRESS_SERVER_STACK_SIZE (256 * 1024) /* per connection thread */
/* libmicrohttpd's per-connection memory pool (request line, headers, read
 * and write buffers; the body goes to the handler in pieces). Its default,
 * 32 KiB, was a third of the memory each connection costs: with one thread
 * per connection, 256 connections peaked at 40 MiB RSS, 36 MiB with 16 KiB.
 * 16 KiB still takes some 8 KiB of request headers (nginx's default limit
 * per header line); more is refused by libmicrohttpd with 431. */
#define INGRESS_SERVER_CONN_MEMORY (16 * 1024)

#include "answer.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "reqmeta.h"
#include "stats.h"
#include "strbuf.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INGRESS_PATH "/orders"
#define INGRESS_JSON "application/json"
/* libmicrohttpd 0.9.75 accepts an answer only before the body or after all
 * of it: a chunked body past the limit is therefore read on and dropped
 * (never stored) and answered 413 when it ends; past this many dropped
 * bytes the connection is simply closed. */
#define INGRESS_DISCARD_MAX (16u * 1024 * 1024)

struct ingress_server {
    struct MHD_Daemon *daemon;
    struct ingress_server_settings set;
    atomic_int inflight;
    atomic_int draining; /* quiesced: answers carry Connection: close */
    MHD_socket quiesced_fd;
    uint16_t port;
    union httpd_addr addr;
};

/* Per-request state, from the first callback to the completion callback. */
struct ingress_req {
    struct ingress_server *srv;
    struct timespec start;
    const char *route; /* metric label */
    int answered;      /* an answer is queued: discard the rest of the body */
    int too_large;     /* the body passed the limit: drop the rest, then 413 */
    size_t discarded;  /* bytes dropped after the limit */
    struct strbuf body;
    char request_id[INGRESS_REQUEST_ID_MAX + 1];
    char traceparent[INGRESS_TRACEPARENT_LEN + 1];
    char trace_id[INGRESS_TRACE_ID_LEN + 1];
};

static double ingress_server_elapsed(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Queues `a` with the standard headers. MHD_YES, or MHD_NO (libmicrohttpd
 * then closes the connection) on failure. */
static enum MHD_Result ingress_server_send(struct ingress_req *req, struct MHD_Connection *conn,
                                           const struct ingress_answer *a, int allow_post) {
    struct ingress_server *srv = req->srv;
    char retry[24];
    enum MHD_Result ret = MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        a->body.len, (void *)strbuf_str(&a->body), MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    snprintf(retry, sizeof retry, "%u", a->retry_after_s);
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, INGRESS_JSON) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Request-Id", req->request_id) != MHD_YES ||
        (a->retry_after_s &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry) != MHD_YES) ||
        (a->replayed && MHD_add_response_header(resp, "Idempotent-Replayed", "true") != MHD_YES) ||
        (allow_post && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST") != MHD_YES) ||
        (a->status == MHD_HTTP_UNAUTHORIZED && /* RFC 9110: a 401 names its scheme */
         MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "HMAC-SHA256 realm=\"orders\"") != MHD_YES) ||
        (atomic_load(&srv->draining) &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES))
        goto cleanup;
    ret = MHD_queue_response(conn, a->status, resp);
    if (ret == MHD_YES) {
        req->answered = 1;
        ingress_stats_answer(srv->set.stats, req->route, a->status,
                             ingress_server_elapsed(&req->start));
        LOG_DEBUG("answered %u", a->status);
    } else {
        LOG_WARN("cannot queue the %u answer", a->status);
    }
cleanup:
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result ingress_server_error(struct ingress_req *req, struct MHD_Connection *conn,
                                            unsigned status, const char *code, const char *message,
                                            int allow_post) {
    struct ingress_answer a;
    ingress_answer_init(&a);
    ingress_answer_error(&a, status, code, message, NULL, 0);
    enum MHD_Result ret = ingress_server_send(req, conn, &a, allow_post);
    ingress_answer_release(&a);
    return ret;
}

static const char *ingress_server_header(struct MHD_Connection *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static struct ingress_req *ingress_req_new(struct ingress_server *srv, struct MHD_Connection *conn,
                                           const char *url) {
    struct ingress_req *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    req->route = strcmp(url, INGRESS_PATH) == 0 ? INGRESS_PATH : "other";
    strbuf_init(&req->body, srv->set.max_body);
    ingress_request_id_pick(ingress_server_header(conn, "X-Request-Id"), req->request_id);
    ingress_traceparent_pick(ingress_server_header(conn, "traceparent"), req->traceparent);
    ingress_trace_id(req->traceparent, req->trace_id);
    atomic_fetch_add(&srv->inflight, 1);
    if (srv->set.stats)
        metrics_child_inc(srv->set.stats->inflight);
    return req;
}

/* The checks that need no body, in the contract's order. Queues the answer
 * and returns 1 when one of them refuses the request, else 0. */
static int ingress_server_precheck(struct ingress_req *req, struct MHD_Connection *conn,
                                   const char *url, const char *method, enum MHD_Result *ret) {
    char msg[96];
    size_t max = req->srv->set.max_body;
    if (strcmp(url, INGRESS_PATH) != 0) {
        *ret = ingress_server_error(req, conn, MHD_HTTP_NOT_FOUND, "not_found", "not found", 0);
        return 1;
    }
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        *ret = ingress_server_error(req, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                    "only POST is allowed", 1);
        return 1;
    }
    if (ingress_content_length_over(ingress_server_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH),
                                    max) == 1) {
        snprintf(msg, sizeof msg, "body exceeds %zu bytes", max);
        *ret = ingress_server_error(req, conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg, 0);
        return 1;
    }
    if (!ingress_json_media_type(ingress_server_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        *ret = ingress_server_error(req, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_media_type",
                                    "Content-Type must be application/json", 0);
        return 1;
    }
    return 0;
}

/* The whole body is in: run the pipeline and answer. */
static enum MHD_Result ingress_server_finish(struct ingress_req *req, struct MHD_Connection *conn) {
    struct ingress_answer a;
    const struct ingress_pipeline_request r = {
        .client_id = ingress_server_header(conn, "X-Client-Id"),
        .timestamp = ingress_server_header(conn, "X-Timestamp"),
        .signature = ingress_server_header(conn, "X-Signature"),
        .body = req->body.len ? strbuf_str(&req->body) : NULL,
        .body_len = req->body.len,
        .request_id = req->request_id,
        .traceparent = req->traceparent,
    };
    ingress_answer_init(&a);
    ingress_pipeline_run(req->srv->set.pipeline, &r, &a);
    enum MHD_Result ret = ingress_server_send(req, conn, &a, 0);
    ingress_answer_release(&a);
    return ret;
}

static enum MHD_Result ingress_server_handle(void *cls, struct MHD_Connection *conn,
                                             const char *url, const char *method,
                                             const char *version, const char *upload_data,
                                             size_t *upload_data_size, void **req_cls) {
    (void)version;
    struct ingress_server *srv = cls;
    struct ingress_req *req = *req_cls;
    enum MHD_Result ret = MHD_YES;

    if (!req) {
        req = ingress_req_new(srv, conn, url);
        if (!req)
            return MHD_NO; /* out of memory: drop the connection */
        *req_cls = req;
        log_context_set(req->request_id, req->trace_id);
        ingress_server_precheck(req, conn, url, method, &ret);
        log_context_clear();
        return ret;
    }
    if (req->answered) { /* refused early: drop whatever body still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }
    log_context_set(req->request_id, req->trace_id);
    if (*upload_data_size > 0) {
        if (req->too_large) {
            req->discarded += *upload_data_size;
            if (req->discarded > INGRESS_DISCARD_MAX) {
                LOG_INFO("body still coming %u bytes past the limit: closing", INGRESS_DISCARD_MAX);
                ret = MHD_NO;
            }
        } else if (strbuf_append(&req->body, upload_data, *upload_data_size) != 0) {
            req->too_large = 1;
            strbuf_release(&req->body); /* nothing of it will be used */
        }
        *upload_data_size = 0;
    } else if (req->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "body exceeds %zu bytes", srv->set.max_body);
        ret = ingress_server_error(req, conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg, 0);
    } else {
        ret = ingress_server_finish(req, conn);
    }
    log_context_clear();
    return ret;
}

static void ingress_server_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                                     enum MHD_RequestTerminationCode toe) {
    (void)conn;
    struct ingress_server *srv = cls;
    struct ingress_req *req = *req_cls;
    if (!req)
        return;
    *req_cls = NULL;
    if (!req->answered)
        LOG_INFO("request %s ended without an answer (termination code %d)", req->request_id,
                 (int)toe);
    if (srv->set.stats)
        metrics_child_sub(srv->set.stats->inflight, 1);
    atomic_fetch_sub(&srv->inflight, 1);
    strbuf_release(&req->body);
    free(req);
}

struct ingress_server *ingress_server_start(const struct ingress_server_settings *s, char *err,
                                            size_t errlen) {
    struct ingress_server *srv = calloc(1, sizeof *srv);
    int v6 = 0;
    if (!srv) {
        snprintf(err, errlen, "http server: out of memory");
        return NULL;
    }
    srv->set = *s;
    srv->quiesced_fd = MHD_INVALID_SOCKET;
    atomic_init(&srv->inflight, 0);
    atomic_init(&srv->draining, 0);
    if (!s->bind || httpd_addr_parse(s->bind, s->port, &srv->addr, &v6) != 0) {
        snprintf(err, errlen, "http server: bind address '%s' is not a numeric IP address",
                 s->bind ? s->bind : "");
        free(srv);
        return NULL;
    }
    /* One thread per connection: a request blocks its thread end to end
     * (Redis, then the publisher's commit), so with a thread pool every
     * connection a pool thread happened to accept waited behind the others
     * (MHD accepts several pending connections per wake-up): 32 client
     * connections ended up in 12 threads. Connections, and so threads, are
     * bounded by max_connections; in-flight publishes by the pools. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, s->port, NULL, NULL, ingress_server_handle, srv, MHD_OPTION_EXTERNAL_LOGGER,
        httpd_log_warn, (void *)"http server", MHD_OPTION_SOCK_ADDR, &srv->addr.sa,
        MHD_OPTION_CONNECTION_LIMIT, s->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        s->connection_timeout_s, MHD_OPTION_THREAD_STACK_SIZE, (size_t)INGRESS_SERVER_STACK_SIZE,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)INGRESS_SERVER_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, ingress_server_completed, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "http server: cannot listen on %s port %u", s->bind,
                 (unsigned)s->port);
        free(srv);
        return NULL;
    }
    srv->port = httpd_bound_port(srv->daemon);
    return srv;
}

uint16_t ingress_server_port(const struct ingress_server *srv) {
    return srv->port;
}

void ingress_server_quiesce(struct ingress_server *srv) {
    if (atomic_exchange(&srv->draining, 1))
        return;
    srv->quiesced_fd = MHD_quiesce_daemon(srv->daemon);
    /* The socket may only be closed after MHD_stop_daemon, but while it is
     * open the kernel would keep completing handshakes nobody accepts:
     * shutting it down makes new connections fail at once instead. */
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        shutdown(srv->quiesced_fd, SHUT_RDWR);
}

int ingress_server_inflight(void *srv) {
    return atomic_load(&((struct ingress_server *)srv)->inflight);
}

void ingress_server_stop(struct ingress_server *srv) {
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon);
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        close(srv->quiesced_fd);
    free(srv);
}
