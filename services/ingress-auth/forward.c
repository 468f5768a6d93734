/* forward: the publisher client, a bounded pool of libcurl easy handles. */
#include "forward.h"

#include "errmsg.h"
#include "strbuf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INGRESS_FORWARD_ANSWER_MAX 4096 /* the publisher's answers are tiny */

struct ingress_forward {
    char *url;
    char *token;
    long timeout_ms, connect_timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a handle was returned */
    CURL **idle;       /* stack of idle handles, each with its open connection */
    size_t nidle, created, cap;
    pthread_mutex_t probe_mu;
    CURL *probe;
};

static void ingress_forward_wipe(char *s) {
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
}

/* A handle with the options that never change: keep-alive, bearer token. */
static CURL *ingress_forward_handle(const struct ingress_forward *f) {
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    if (curl_easy_setopt(c, CURLOPT_URL, f->url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, f->token) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, f->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        curl_easy_cleanup(c);
        return NULL;
    }
    return c;
}

struct ingress_forward *ingress_forward_create(const struct ingress_forward_settings *s, char *err,
                                               size_t errlen) {
    struct ingress_forward *f = calloc(1, sizeof *f);
    if (!f) {
        errmsg_set(err, errlen, "publisher client: out of memory");
        return NULL;
    }
    if (!s->url || !s->token || !*s->token || s->pool_size == 0 || s->timeout_ms <= 0) {
        errmsg_set(err, errlen, "publisher client: missing URL, token, pool size or timeout");
        free(f);
        return NULL;
    }
    f->url = strdup(s->url);
    f->token = strdup(s->token);
    f->idle = calloc(s->pool_size, sizeof *f->idle);
    f->cap = s->pool_size;
    f->timeout_ms = s->timeout_ms;
    f->connect_timeout_ms = s->connect_timeout_ms > 0 && s->connect_timeout_ms < s->timeout_ms
                                ? s->connect_timeout_ms
                                : s->timeout_ms;
    if (!f->url || !f->token || !f->idle) {
        errmsg_set(err, errlen, "publisher client: out of memory");
        goto fail;
    }
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        errmsg_set(err, errlen, "publisher client: cannot create a mutex");
        goto fail;
    }
    if (pthread_cond_init(&f->cv, NULL) != 0 || pthread_mutex_init(&f->probe_mu, NULL) != 0) {
        pthread_mutex_destroy(&f->mu);
        errmsg_set(err, errlen, "publisher client: cannot create a condition variable");
        goto fail;
    }
    return f;
fail:
    ingress_forward_wipe(f->token);
    free(f->token);
    free(f->url);
    free(f->idle);
    free(f);
    return NULL;
}

void ingress_forward_destroy(struct ingress_forward *f) {
    if (!f)
        return;
    for (size_t i = 0; i < f->nidle; i++)
        curl_easy_cleanup(f->idle[i]);
    if (f->probe)
        curl_easy_cleanup(f->probe);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->probe_mu);
    ingress_forward_wipe(f->token);
    free(f->token);
    free(f->url);
    free(f->idle);
    free(f);
}

/* Takes an idle handle, creates one while below the cap, or waits for one
 * at most timeout_ms. NULL when none came in time or creation failed. */
static CURL *ingress_forward_borrow(struct ingress_forward *f) {
    struct timespec deadline;
    CURL *c = NULL;
    int create = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += f->timeout_ms / 1000;
    deadline.tv_nsec += (f->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (f->nidle == 0 && f->created >= f->cap) {
        if (pthread_cond_timedwait(&f->cv, &f->mu, &deadline) == ETIMEDOUT)
            break;
    }
    if (f->nidle > 0) {
        c = f->idle[--f->nidle];
    } else if (f->created < f->cap) {
        f->created++;
        create = 1;
    }
    pthread_mutex_unlock(&f->mu);
    if (create) {
        c = ingress_forward_handle(f);
        if (!c) {
            pthread_mutex_lock(&f->mu);
            f->created--;
            pthread_cond_signal(&f->cv);
            pthread_mutex_unlock(&f->mu);
        }
    }
    return c;
}

/* Returns a handle; `broken` drops it (and its connection) instead. */
static void ingress_forward_return(struct ingress_forward *f, CURL *c, int broken) {
    if (broken)
        curl_easy_cleanup(c);
    pthread_mutex_lock(&f->mu);
    if (broken)
        f->created--;
    else
        f->idle[f->nidle++] = c;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static size_t ingress_forward_sink(char *ptr, size_t size, size_t n, void *ud) {
    struct strbuf *sb = ud;
    if (strbuf_append(sb, ptr, size * n) != 0)
        return 0; /* too long: abort the transfer (CURLE_WRITE_ERROR) */
    return size * n;
}

/* Fills out from a 202 body; 0, or -1 if it holds no usable event_id. */
static int ingress_forward_event_id(const struct strbuf *body,
                                    struct ingress_forward_outcome *out) {
    cJSON *j = cJSON_ParseWithLength(strbuf_str(body), body->len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "event_id");
    int ret = -1;
    if (cJSON_IsString(id) && id->valuestring[0] &&
        strlen(id->valuestring) < sizeof out->event_id &&
        strspn(id->valuestring, "0123456789abcdefABCDEF-") == strlen(id->valuestring)) {
        snprintf(out->event_id, sizeof out->event_id, "%s", id->valuestring);
        ret = 0;
    }
    cJSON_Delete(j);
    return ret;
}

static const char *ingress_forward_curl_reason(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    default:
        return "io";
    }
}

/* Builds the per-request header list; NULL on allocation failure. */
static struct curl_slist *ingress_forward_headers(const char *client_id, const char *request_id,
                                                  const char *traceparent) {
    char line[256];
    struct curl_slist *h = NULL, *t;
    const char *fixed[] = {"Content-Type: application/json", "Expect:", "Accept: application/json"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!(t = curl_slist_append(h, fixed[i])))
            goto fail;
        h = t;
    }
    const char *names[] = {"X-Client-Id", "X-Request-Id", "traceparent"};
    const char *values[] = {client_id, request_id, traceparent};
    for (size_t i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "%s: %s", names[i], values[i]);
        if (!(t = curl_slist_append(h, line)))
            goto fail;
        h = t;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

enum ingress_forward_result ingress_forward_publish(struct ingress_forward *f,
                                                    const char *client_id, const char *request_id,
                                                    const char *traceparent, const char *body,
                                                    size_t body_len,
                                                    struct ingress_forward_outcome *out) {
    struct strbuf answer;
    struct curl_slist *headers = NULL;
    enum ingress_forward_result res = INGRESS_FORWARD_FAILED;
    int broken = 0;
    memset(out, 0, sizeof *out);
    strbuf_init(&answer, INGRESS_FORWARD_ANSWER_MAX);

    CURL *c = ingress_forward_borrow(f);
    if (!c) {
        out->reason = "busy";
        snprintf(out->detail, sizeof out->detail, "no publisher connection free in time");
        goto cleanup;
    }
    headers = ingress_forward_headers(client_id, request_id, traceparent);
    if (!headers || curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ingress_forward_sink) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer) != CURLE_OK) {
        out->reason = "internal";
        snprintf(out->detail, sizeof out->detail, "cannot prepare the publish request");
        broken = 1;
        goto cleanup;
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        out->reason = ingress_forward_curl_reason(rc);
        snprintf(out->detail, sizeof out->detail, "publisher: %s", curl_easy_strerror(rc));
        broken = 1; /* the connection's state is unknown: start afresh */
        goto cleanup;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->http_status);
    if (out->http_status == 202) {
        if (ingress_forward_event_id(&answer, out) == 0) {
            res = INGRESS_FORWARD_ACCEPTED;
        } else {
            out->reason = "bad_answer";
            snprintf(out->detail, sizeof out->detail, "publisher answered 202 without event_id");
        }
    } else {
        out->reason = out->http_status == 503 ? "unavailable" : "status";
        snprintf(out->detail, sizeof out->detail, "publisher answered %ld", out->http_status);
    }
cleanup:
    if (c) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
        ingress_forward_return(f, c, broken);
    }
    curl_slist_free_all(headers);
    strbuf_release(&answer);
    return res;
}

static size_t ingress_forward_discard(char *ptr, size_t size, size_t n, void *ud) {
    (void)ptr;
    (void)ud;
    return size * n;
}

int ingress_forward_probe(struct ingress_forward *f, long timeout_ms) {
    long status = 0;
    pthread_mutex_lock(&f->probe_mu);
    if (!f->probe) {
        f->probe = curl_easy_init();
        if (f->probe && (curl_easy_setopt(f->probe, CURLOPT_URL, f->url) != CURLE_OK ||
                         curl_easy_setopt(f->probe, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                         curl_easy_setopt(f->probe, CURLOPT_NOBODY, 1L) != CURLE_OK ||
                         curl_easy_setopt(f->probe, CURLOPT_WRITEFUNCTION,
                                          ingress_forward_discard) != CURLE_OK)) {
            curl_easy_cleanup(f->probe);
            f->probe = NULL;
        }
    }
    if (f->probe && curl_easy_setopt(f->probe, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
        curl_easy_perform(f->probe) == CURLE_OK)
        curl_easy_getinfo(f->probe, CURLINFO_RESPONSE_CODE, &status);
    pthread_mutex_unlock(&f->probe_mu);
    return status > 0 ? 0 : -1;
}
