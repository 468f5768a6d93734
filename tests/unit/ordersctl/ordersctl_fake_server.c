/* ordersctl_fake_server: a libmicrohttpd stand-in for ingress-auth in the ordersctl tests. */
#include "ordersctl_fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "crypto.h"
#include "strbuf.h"

/* Per-request state: the body read so far. */
struct fake_req {
    struct strbuf body;
};

static enum MHD_Result fake_reply(struct MHD_Connection *c, unsigned status, const char *body,
                                  const char *h1, const char *v1) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Request-Id", "req-fake-1");
    if (h1)
        MHD_add_response_header(r, h1, v1);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* 1 if the signature headers match the body under f->secret. */
static int fake_signature_ok(struct ordersctl_fake *f, struct MHD_Connection *c,
                             const struct strbuf *body) {
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Signature");
    const char *cid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Client-Id");
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    struct strbuf msg;
    int ok = 0;

    if (!ts || !sig || !cid || strncmp(sig, "sha256=", 7) != 0)
        return 0;
    strbuf_init(&msg, 1 << 20);
    if (strbuf_printf(&msg, "%s\nPOST\n/orders\n", ts) == 0 &&
        strbuf_append(&msg, body->data ? body->data : "", body->len) == 0 &&
        crypto_hmac_sha256(f->secret, strlen(f->secret), msg.data, msg.len, mac) == 0) {
        crypto_hex_encode(mac, sizeof(mac), hex);
        ok = strcmp(hex, sig + 7) == 0;
    }
    strbuf_release(&msg);
    return ok;
}

/* Records the order_id of a valid generated body; 0, or -1 if invalid. */
static int fake_record(struct ordersctl_fake *f, const struct strbuf *body) {
    cJSON *root = cJSON_ParseWithLength(body->data, body->len);
    const cJSON *id = root ? cJSON_GetObjectItemCaseSensitive(root, "order_id") : NULL;
    int rc = -1;
    if (cJSON_IsString(id)) {
        pthread_mutex_lock(&f->mu);
        if (f->nids == f->capids) {
            size_t cap = f->capids ? 2 * f->capids : 256;
            char **p = realloc(f->ids, cap * sizeof(*p));
            if (p) {
                f->ids = p;
                f->capids = cap;
            }
        }
        if (f->nids < f->capids) {
            f->ids[f->nids] = strdup(id->valuestring);
            if (f->ids[f->nids]) {
                f->nids++;
                rc = 0;
            }
        }
        pthread_mutex_unlock(&f->mu);
    }
    cJSON_Delete(root);
    return rc;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls) {
    struct ordersctl_fake *f = cls;
    struct fake_req *rq = *con_cls;
    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        strbuf_init(&rq->body, 1 << 20);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        (void)strbuf_append(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (strcmp(method, "POST") != 0 || strcmp(url, "/orders") != 0 || !ctype ||
        strcmp(ctype, "application/json") != 0) {
        pthread_mutex_lock(&f->mu);
        f->bad_request++;
        pthread_mutex_unlock(&f->mu);
        return fake_reply(c, 404, "{\"error\":{\"code\":\"not_found\"}}", NULL, NULL);
    }
    if (!fake_signature_ok(f, c, &rq->body)) {
        pthread_mutex_lock(&f->mu);
        f->bad_signature++;
        f->requests++;
        pthread_mutex_unlock(&f->mu);
        return fake_reply(c, 401, "{\"error\":{\"code\":\"unauthorized\"}}", NULL, NULL);
    }
    if (fake_record(f, &rq->body) != 0) {
        pthread_mutex_lock(&f->mu);
        f->bad_request++;
        pthread_mutex_unlock(&f->mu);
        return fake_reply(c, 400, "{\"error\":{\"code\":\"invalid_json\"}}", NULL, NULL);
    }
    pthread_mutex_lock(&f->mu);
    unsigned long n = ++f->requests;
    pthread_mutex_unlock(&f->mu);
    if (f->delay_ms) {
        struct timespec ts = {.tv_sec = f->delay_ms / 1000,
                              .tv_nsec = (long)(f->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (f->mode == ORDERSCTL_FAKE_EVERY_10TH_503 && n % 10 == 0)
        return fake_reply(c, 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}",
                          "Retry-After", "1");
    if (f->mode == ORDERSCTL_FAKE_REPLAY)
        return fake_reply(c, 202, "{\"status\":\"accepted\"}", "Idempotent-Replayed", "true");
    return fake_reply(c, 202, "{\"status\":\"accepted\"}", NULL, NULL);
}

static void fake_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
    struct fake_req *rq = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        strbuf_release(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void fake_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
    struct ordersctl_fake *f = cls;
    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&f->mu);
        f->connections++;
        pthread_mutex_unlock(&f->mu);
    }
}

int ordersctl_fake_start(struct ordersctl_fake *f) {
    pthread_mutex_init(&f->mu, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
        fake_handler, f, MHD_OPTION_NOTIFY_COMPLETED, fake_completed, f,
        MHD_OPTION_NOTIFY_CONNECTION, fake_notify, f, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0) {
        MHD_stop_daemon(d);
        return -1;
    }
    f->port = info->port;
    f->daemon = d;
    return 0;
}

void ordersctl_fake_stop(struct ordersctl_fake *f) {
    if (f->daemon)
        MHD_stop_daemon(f->daemon);
    f->daemon = NULL;
}

void ordersctl_fake_release(struct ordersctl_fake *f) {
    for (size_t i = 0; i < f->nids; i++)
        free(f->ids[i]);
    free(f->ids);
    f->ids = NULL;
    f->nids = f->capids = 0;
    pthread_mutex_destroy(&f->mu);
}

static int fake_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ordersctl_fake_duplicates(struct ordersctl_fake *f) {
    size_t dups = 0;
    if (f->nids < 2)
        return 0;
    qsort(f->ids, f->nids, sizeof(*f->ids), fake_cmp);
    for (size_t i = 1; i < f->nids; i++)
        if (strcmp(f->ids[i - 1], f->ids[i]) == 0)
            dups++;
    return dups;
}

char *ordersctl_fake_url(const struct ordersctl_fake *f, char *buf, size_t cap) {
    snprintf(buf, cap, "http://127.0.0.1:%d/orders", f->port);
    return buf;
}
