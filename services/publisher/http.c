/* http: POST /v1/publish on libmicrohttpd, suspended until the commit. */
#include "http.h"
#include "limbo.h"

#include "crypto.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "stats.h"
#include "strbuf.h"
#include "subs.h"
#include "txn_batcher.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUBLISHER_HTTP_PATH "/v1/publish"
#define PUBLISHER_HTTP_JSON "application/json"
#define PUBLISHER_HTTP_ANSWER_MAX 1024u

struct publisher_http {
    struct MHD_Daemon *daemon;
    struct publisher_http_settings set;
    unsigned char token_digest[CRYPTO_SHA256_LEN];
    atomic_int pending;  /* submitted, answer not queued yet */
    atomic_int draining; /* quiesced: answers carry Connection: close */
    MHD_socket quiesced_fd;
    uint16_t port;
    union httpd_addr addr;
};

/* Per-request state, from the first callback to the completion callback. */
struct publisher_http_ctx {
    struct publisher_http *srv;
    struct MHD_Connection *conn;
    pthread_mutex_t mu;      /* orders suspend (handler) before resume (done) */
    int suspended, answered; /* under mu */
    int submitted, too_large;
    struct strbuf body;
    struct publisher_request req;
};

/* Request id and trace context of a request, known from its headers. */
struct publisher_http_ids {
    char request_id[PUBLISHER_REQUEST_ID_MAX + 1];
    char traceparent[PUBLISHER_TRACEPARENT_LEN + 1];
    char trace_id[PUBLISHER_TRACE_ID_LEN + 1];
};

/* ---- answers ------------------------------------------------------------- */

/* Queues a JSON answer with X-Request-Id and an optional extra header.
 * MHD_YES, or MHD_NO (the connection is then closed) on failure. */
static enum MHD_Result publisher_http_reply(struct publisher_http *srv, struct MHD_Connection *conn,
                                            unsigned status, const struct strbuf *body,
                                            const char *request_id, const char *hname,
                                            const char *hvalue) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body->len, (void *)strbuf_str(body), MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_NO;
    if (!resp)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, PUBLISHER_HTTP_JSON) !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Request-Id", request_id) != MHD_YES ||
        (hname && MHD_add_response_header(resp, hname, hvalue) != MHD_YES) ||
        (atomic_load(&srv->draining) &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES))
        goto cleanup;
    ret = MHD_queue_response(conn, status, resp);
cleanup:
    MHD_destroy_response(resp);
    if (srv->set.stats)
        publisher_stats_request(srv->set.stats, status);
    return ret;
}

/* Answers {"error":{"code","message"[,"field"]}} and logs the reason. */
static enum MHD_Result publisher_http_error(struct publisher_http *srv, struct MHD_Connection *conn,
                                            unsigned status, const char *code, const char *message,
                                            const char *field, const char *request_id) {
    struct strbuf body;
    char retry[24];
    const char *hname = NULL, *hvalue = NULL;
    strbuf_init(&body, PUBLISHER_HTTP_ANSWER_MAX);
    strbuf_printf(&body, "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    strbuf_json_escape(&body, message, strlen(message));
    if (field)
        strbuf_printf(&body, "\",\"field\":\"%s", field);
    strbuf_puts(&body, "\"}}");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        snprintf(retry, sizeof retry, "%u", srv->set.retry_after_s);
        hname = MHD_HTTP_HEADER_RETRY_AFTER;
        hvalue = retry;
    } else if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        hname = MHD_HTTP_HEADER_ALLOW;
        hvalue = "POST";
    } else if (status == MHD_HTTP_UNAUTHORIZED) {
        hname = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        hvalue = "Bearer";
    }
    if (status >= 500)
        LOG_WARN("answered %u %s: %s", status, code, message);
    else
        LOG_INFO("answered %u %s: %s", status, code, message);
    enum MHD_Result ret = publisher_http_reply(srv, conn, status, &body, request_id, hname, hvalue);
    strbuf_release(&body);
    return ret;
}

static enum MHD_Result publisher_http_accepted(struct publisher_http *srv,
                                               struct MHD_Connection *conn,
                                               const struct publisher_request *req) {
    struct strbuf body;
    strbuf_init(&body, PUBLISHER_HTTP_ANSWER_MAX);
    strbuf_printf(&body, "{\"event_id\":\"%s\",\"ce_time\":\"%s\"}", req->event_id, req->ce_time);
    LOG_DEBUG("answered 202: %s/%s event %s", req->client_id, req->order_id, req->event_id);
    enum MHD_Result ret =
        publisher_http_reply(srv, conn, MHD_HTTP_ACCEPTED, &body, req->request_id, NULL, NULL);
    strbuf_release(&body);
    return ret;
}

/* ---- request headers --------------------------------------------------------- */

static const char *publisher_http_header(struct MHD_Connection *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* 1 if `id` is 1..PUBLISHER_REQUEST_ID_MAX printable ASCII bytes. */
static int publisher_http_request_id_ok(const char *id) {
    size_t n = 0;
    if (!id)
        return 0;
    for (; id[n]; n++)
        if ((unsigned char)id[n] < 0x21 || (unsigned char)id[n] > 0x7e ||
            n >= PUBLISHER_REQUEST_ID_MAX)
            return 0;
    return n > 0;
}

/* Reads X-Request-Id and traceparent, making up what is absent or invalid. */
static void publisher_http_ids(struct MHD_Connection *conn, struct publisher_http_ids *ids) {
    const char *rid = publisher_http_header(conn, "X-Request-Id");
    const char *tp = publisher_http_header(conn, "traceparent");
    if (publisher_http_request_id_ok(rid))
        snprintf(ids->request_id, sizeof ids->request_id, "%s", rid);
    else if (crypto_uuid_v4(ids->request_id) != 0)
        snprintf(ids->request_id, sizeof ids->request_id, "unknown");
    if (publisher_ce_traceparent_valid(tp))
        snprintf(ids->traceparent, sizeof ids->traceparent, "%s", tp);
    else if (publisher_ce_traceparent_new(ids->traceparent) != 0)
        snprintf(ids->traceparent, sizeof ids->traceparent,
                 "00-00000000000000000000000000000001-0000000000000001-00");
    publisher_ce_trace_id(ids->traceparent, ids->trace_id);
}

/* 1 if the Authorization header carries the token. Constant time in the
 * token: both sides are compared as SHA-256 digests. */
static int publisher_http_authorized(struct publisher_http *srv, struct MHD_Connection *conn) {
    const char *auth = publisher_http_header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    if (!*token || crypto_sha256(token, strlen(token), digest) != 0)
        return 0;
    return crypto_equal_ct(digest, srv->token_digest, sizeof digest);
}

static int publisher_http_json_type(const char *ct) {
    size_t n = strlen(PUBLISHER_HTTP_JSON);
    return ct && strncasecmp(ct, PUBLISHER_HTTP_JSON, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* Checks a new request's headers. Returns an answer already queued (MHD_YES
 * or MHD_NO) with *done = 1, or sets *done = 0 when the body may come. */
static enum MHD_Result publisher_http_check_headers(struct publisher_http *srv,
                                                    struct MHD_Connection *conn, const char *url,
                                                    const char *method,
                                                    const struct publisher_http_ids *ids,
                                                    int *done) {
    const char *rid = ids->request_id;
    *done = 1;
    if (strcmp(url, PUBLISHER_HTTP_PATH) != 0)
        return publisher_http_error(srv, conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path",
                                    NULL, rid);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return publisher_http_error(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                    "only POST is allowed", NULL, rid);
    if (!publisher_http_authorized(srv, conn))
        return publisher_http_error(srv, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                    "unauthorized", NULL, rid);
    const char *cl = publisher_http_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > srv->set.max_body)
        return publisher_http_error(srv, conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                                    "the body exceeds the size limit", NULL, rid);
    if (!publisher_http_json_type(publisher_http_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return publisher_http_error(srv, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_media_type",
                                    "Content-Type must be application/json", NULL, rid);
    if (!publisher_ce_client_id_valid(publisher_http_header(conn, "X-Client-Id")))
        return publisher_http_error(srv, conn, MHD_HTTP_BAD_REQUEST, "invalid_order",
                                    "X-Client-Id is missing or invalid", NULL, rid);
    *done = 0;
    return MHD_YES;
}

/* ---- request life cycle ------------------------------------------------------- */

static struct publisher_http_ctx *publisher_http_ctx_new(struct publisher_http *srv,
                                                         struct MHD_Connection *conn,
                                                         const struct publisher_http_ids *ids) {
    struct publisher_http_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    if (pthread_mutex_init(&ctx->mu, NULL) != 0) {
        free(ctx);
        return NULL;
    }
    ctx->srv = srv;
    ctx->conn = conn;
    strbuf_init(&ctx->body, srv->set.max_body);
    struct publisher_request *r = &ctx->req;
    snprintf(r->client_id, sizeof r->client_id, "%s", publisher_http_header(conn, "X-Client-Id"));
    memcpy(r->request_id, ids->request_id, sizeof r->request_id);
    memcpy(r->traceparent, ids->traceparent, sizeof r->traceparent);
    memcpy(r->trace_id, ids->trace_id, sizeof r->trace_id);
    return ctx;
}

static long long publisher_http_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called by the Kafka thread once the outcome is set. */
static void publisher_http_done(struct publisher_request *req) {
    struct publisher_http_ctx *ctx = req->done_ctx;
    if (ctx->srv->set.stats)
        metrics_child_sub(ctx->srv->set.stats->inflight, 1);
    pthread_mutex_lock(&ctx->mu);
    ctx->answered = 1;
    if (ctx->suspended)
        MHD_resume_connection(ctx->conn);
    pthread_mutex_unlock(&ctx->mu);
}

/* Parses the body into req (order_id) and the subscription mask. Returns 0,
 * or queues the 400 answer and sets *ret. */
static int publisher_http_parse(struct publisher_http_ctx *ctx, enum MHD_Result *ret) {
    struct publisher_http *srv = ctx->srv;
    const char *data = strbuf_str(&ctx->body), *end = NULL;
    const char *rid = ctx->req.request_id;
    cJSON *root = ctx->body.len ? cJSON_ParseWithLengthOpts(data, ctx->body.len, &end, 0) : NULL;
    while (root && end < data + ctx->body.len && strchr(" \t\r\n", *end))
        end++;
    if (!root || end != data + ctx->body.len) {
        cJSON_Delete(root);
        *ret = publisher_http_error(srv, ctx->conn, MHD_HTTP_BAD_REQUEST, "invalid_json",
                                    "the body is not one JSON text", "", rid);
        return -1;
    }
    const cJSON *oid = cJSON_GetObjectItemCaseSensitive(root, "order_id");
    if (!cJSON_IsObject(root) || !cJSON_IsString(oid) ||
        !publisher_ce_order_id_valid(oid->valuestring)) {
        cJSON_Delete(root);
        *ret = publisher_http_error(srv, ctx->conn, MHD_HTTP_BAD_REQUEST, "invalid_order",
                                    "the body must be an object with a valid order_id", "/order_id",
                                    rid);
        return -1;
    }
    snprintf(ctx->req.order_id, sizeof ctx->req.order_id, "%s", oid->valuestring);
    ctx->req.subs_mask = publisher_subs_match(srv->set.subs, root);
    cJSON_Delete(root);
    return 0;
}

/* The whole body is in: validate, then answer or hand it to the batcher. */
static enum MHD_Result publisher_http_submit(struct publisher_http_ctx *ctx) {
    struct publisher_http *srv = ctx->srv;
    struct publisher_request *r = &ctx->req;
    enum MHD_Result ret = MHD_YES;
    struct timespec now;
    const char *why = NULL;

    if (ctx->too_large)
        return publisher_http_error(srv, ctx->conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                                    "the body exceeds the size limit", NULL, r->request_id);
    if (publisher_http_parse(ctx, &ret) != 0)
        return ret;
    clock_gettime(CLOCK_REALTIME, &now);
    if (srv->set.limbo) {
        /* A retry of an order whose earlier commit outcome was unknown. */
        switch (publisher_limbo_find(srv->set.limbo, r, strbuf_str(&ctx->body), ctx->body.len,
                                     publisher_http_now_ms())) {
        case PUBLISHER_LIMBO_PENDING:
            return publisher_http_error(srv, ctx->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                        "an earlier attempt of this order is still being committed",
                                        NULL, r->request_id);
        case PUBLISHER_LIMBO_COMMITTED:
            LOG_INFO("order %s/%s was committed by an earlier attempt answered 503: event %s",
                     r->client_id, r->order_id, r->event_id);
            return publisher_http_accepted(srv, ctx->conn, r);
        default:
            break;
        }
    }
    if (crypto_uuid_v4(r->event_id) != 0 || publisher_ce_format_time(&now, r->ce_time) != 0)
        return publisher_http_error(srv, ctx->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                    "cannot make an event id", NULL, r->request_id);
    if (r->subs_mask == 0) {
        LOG_DEBUG("order %s/%s matches no subscription", r->client_id, r->order_id);
        return publisher_http_accepted(srv, ctx->conn, r);
    }
    r->body = strbuf_str(&ctx->body);
    r->body_len = ctx->body.len;
    r->done = publisher_http_done;
    r->done_ctx = ctx;

    pthread_mutex_lock(&ctx->mu);
    atomic_fetch_add(&srv->pending, 1);
    if (publisher_batcher_submit(srv->set.batcher, r, &why) == 0) {
        ctx->submitted = 1;
        if (srv->set.stats)
            metrics_child_inc(srv->set.stats->inflight);
        MHD_suspend_connection(ctx->conn);
        ctx->suspended = 1;
    } else {
        atomic_fetch_sub(&srv->pending, 1);
    }
    pthread_mutex_unlock(&ctx->mu);
    if (!ctx->submitted)
        return publisher_http_error(srv, ctx->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                    why, NULL, r->request_id);
    return MHD_YES;
}

/* Resumed with the outcome: answers 202 or 503. */
static enum MHD_Result publisher_http_answer(struct publisher_http_ctx *ctx) {
    struct publisher_http *srv = ctx->srv;
    enum MHD_Result ret;
    if (ctx->req.outcome == PUBLISHER_COMMITTED)
        ret = publisher_http_accepted(srv, ctx->conn, &ctx->req);
    else
        ret = publisher_http_error(srv, ctx->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                   ctx->req.reason[0] ? ctx->req.reason : "not committed", NULL,
                                   ctx->req.request_id);
    atomic_fetch_sub(&srv->pending, 1);
    return ret;
}

static enum MHD_Result publisher_http_handle(void *cls, struct MHD_Connection *conn,
                                             const char *url, const char *method,
                                             const char *version, const char *upload_data,
                                             size_t *upload_data_size, void **req_cls) {
    (void)version;
    struct publisher_http *srv = cls;
    struct publisher_http_ctx *ctx = *req_cls;
    enum MHD_Result ret = MHD_YES;

    if (!ctx) {
        struct publisher_http_ids ids;
        int done;
        publisher_http_ids(conn, &ids);
        log_context_set(ids.request_id, ids.trace_id);
        ret = publisher_http_check_headers(srv, conn, url, method, &ids, &done);
        if (!done) {
            ctx = publisher_http_ctx_new(srv, conn, &ids);
            if (ctx)
                *req_cls = ctx;
            else
                ret = publisher_http_error(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                           "out of memory", NULL, ids.request_id);
        }
        log_context_clear();
        return ret;
    }
    log_context_set(ctx->req.request_id, ctx->req.trace_id);
    if (*upload_data_size > 0) {
        if (!ctx->too_large && strbuf_append(&ctx->body, upload_data, *upload_data_size) != 0)
            ctx->too_large = 1; /* keep reading, answer 413 at the end */
        *upload_data_size = 0;
    } else if (ctx->submitted) {
        ret = publisher_http_answer(ctx);
    } else {
        ret = publisher_http_submit(ctx);
    }
    log_context_clear();
    return ret;
}

static void publisher_http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                                     enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    struct publisher_http_ctx *ctx = *req_cls;
    if (!ctx)
        return;
    *req_cls = NULL;
    pthread_mutex_lock(&ctx->mu);
    int leak = ctx->submitted && !ctx->answered;
    pthread_mutex_unlock(&ctx->mu);
    if (leak) { /* the Kafka thread still holds it: never free under it */
        LOG_ERROR("request %s ended before its transaction did", ctx->req.request_id);
        return;
    }
    pthread_mutex_destroy(&ctx->mu);
    strbuf_release(&ctx->body);
    free(ctx);
}

/* ---- server ----------------------------------------------------------------- */

struct publisher_http *publisher_http_start(const struct publisher_http_settings *s, char *err,
                                            size_t errlen) {
    struct publisher_http *h = calloc(1, sizeof *h);
    int v6 = 0;
    if (!h) {
        snprintf(err, errlen, "http server: out of memory");
        return NULL;
    }
    h->set = *s;
    h->set.token = NULL; /* only the digest is kept */
    h->quiesced_fd = MHD_INVALID_SOCKET;
    atomic_init(&h->pending, 0);
    atomic_init(&h->draining, 0);
    if (!s->token || !*s->token || crypto_sha256(s->token, strlen(s->token), h->token_digest)) {
        snprintf(err, errlen, "http server: no internal token");
        goto fail;
    }
    if (!s->bind || httpd_addr_parse(s->bind, s->port, &h->addr, &v6) != 0) {
        snprintf(err, errlen, "http server: bind address '%s' is not a numeric IP address",
                 s->bind ? s->bind : "");
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    h->daemon = MHD_start_daemon(
        flags, s->port, NULL, NULL, publisher_http_handle, h, MHD_OPTION_EXTERNAL_LOGGER,
        httpd_log_warn, (void *)"http server", MHD_OPTION_SOCK_ADDR, &h->addr.sa,
        MHD_OPTION_CONNECTION_LIMIT, s->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        s->connection_timeout_s, MHD_OPTION_THREAD_POOL_SIZE, s->threads > 1 ? s->threads : 0,
        MHD_OPTION_NOTIFY_COMPLETED, publisher_http_completed, h, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "http server: cannot listen on %s port %u", s->bind,
                 (unsigned)s->port);
        goto fail;
    }
    h->port = httpd_bound_port(h->daemon);
    return h;
fail:
    free(h);
    return NULL;
}

uint16_t publisher_http_port(const struct publisher_http *h) {
    return h->port;
}

void publisher_http_quiesce(struct publisher_http *h) {
    if (atomic_exchange(&h->draining, 1))
        return;
    h->quiesced_fd = MHD_quiesce_daemon(h->daemon);
}

int publisher_http_pending(void *h) {
    return atomic_load(&((struct publisher_http *)h)->pending);
}

void publisher_http_stop(struct publisher_http *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    if (h->quiesced_fd != MHD_INVALID_SOCKET)
        close(h->quiesced_fd);
    free(h);
}
