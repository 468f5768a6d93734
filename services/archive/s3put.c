/* s3put: concurrent PutObject over libcurl multi (see s3put.h). */
#include "s3put.h"

#include "crypto.h"
#include "errmsg.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_S3PUT_URL_LIMIT 4096
#define ARCHIVE_S3PUT_ERRBODY_LIMIT 8192

struct archive_s3put_xfer {
    CURL *easy;
    struct curl_slist *headers;
    struct strbuf url;
    struct strbuf errbody;
    const unsigned char *body;
    size_t len, off;
    void *tag;
    char curl_err[CURL_ERROR_SIZE];
    struct archive_s3put_xfer *next; /* in the running list */
};

struct archive_s3put {
    CURLM *multi;
    char *endpoint, *bucket, *sigv4, *access_key, *secret_key, *ca_file;
    long timeout_ms;
    struct archive_s3put_xfer *running;
    size_t n_running;
};

static size_t archive_s3put_read(char *buf, size_t size, size_t nitems, void *ud) {
    struct archive_s3put_xfer *x = ud;
    size_t n = size * nitems, left = x->len - x->off;
    if (n > left)
        n = left;
    if (n)
        memcpy(buf, x->body + x->off, n);
    x->off += n;
    return n;
}

/* Lets curl resend the body on a fresh connection when a kept-alive one was
 * closed by the server. */
static int archive_s3put_seek(void *ud, curl_off_t offset, int origin) {
    struct archive_s3put_xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Keeps (a bounded prefix of) the answer body: only error bodies matter. */
static size_t archive_s3put_write(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct archive_s3put_xfer *x = ud;
    size_t n = size * nmemb, room = x->errbody.limit - x->errbody.len;
    if (room > 0)
        (void)strbuf_append(&x->errbody, ptr, n < room ? n : room);
    return n;
}

static void archive_s3put_xfer_free(struct archive_s3put_xfer *x) {
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    strbuf_release(&x->url);
    strbuf_release(&x->errbody);
    free(x);
}

void archive_s3put_destroy(struct archive_s3put *p) {
    if (!p)
        return;
    while (p->running) {
        struct archive_s3put_xfer *x = p->running;
        p->running = x->next;
        curl_multi_remove_handle(p->multi, x->easy);
        archive_s3put_xfer_free(x);
    }
    if (p->multi)
        curl_multi_cleanup(p->multi);
    if (p->secret_key)
        explicit_bzero(p->secret_key, strlen(p->secret_key));
    free(p->secret_key);
    free(p->access_key);
    free(p->endpoint);
    free(p->bucket);
    free(p->sigv4);
    free(p->ca_file);
    free(p);
}

struct archive_s3put *archive_s3put_create(const struct archive_s3put_settings *s, char *err,
                                           size_t errlen) {
    /* s3_client_create holds the validation rules for endpoint, region and
     * keys: reuse them rather than copy them. */
    const struct s3_settings check = {.endpoint = s->endpoint,
                                      .region = s->region,
                                      .access_key = s->access_key,
                                      .secret_key = s->secret_key,
                                      .ca_file = s->ca_file};
    struct s3_client *probe = s3_client_create(&check, err, errlen);
    const char *region = s->region && *s->region ? s->region : "us-east-1";
    struct archive_s3put *p;
    size_t n;

    if (!probe)
        return NULL;
    s3_client_destroy(probe);
    if (!s->bucket || !*s->bucket || strlen(s->bucket) > 255) {
        errmsg_set(err, errlen, "s3: bucket must be 1-255 characters");
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        goto oom;
    p->endpoint = strdup(s->endpoint);
    p->bucket = strdup(s->bucket);
    p->access_key = strdup(s->access_key);
    p->secret_key = strdup(s->secret_key);
    p->ca_file = s->ca_file && *s->ca_file ? strdup(s->ca_file) : NULL;
    n = strlen("aws:amz:") + strlen(region) + strlen(":s3") + 1;
    p->sigv4 = malloc(n);
    if (!p->endpoint || !p->bucket || !p->access_key || !p->secret_key || !p->sigv4 ||
        (s->ca_file && *s->ca_file && !p->ca_file))
        goto oom;
    snprintf(p->sigv4, n, "aws:amz:%s:s3", region);
    n = strlen(p->endpoint);
    while (n > 0 && p->endpoint[n - 1] == '/')
        p->endpoint[--n] = '\0';
    p->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 10000;
    p->multi = curl_multi_init();
    if (!p->multi)
        goto oom;
    long maxconn = s->max_connections > 0 ? s->max_connections : 16;
    if (curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxconn) != CURLM_OK ||
        curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, maxconn) != CURLM_OK) {
        errmsg_set(err, errlen, "s3: curl multi refused the connection limits");
        archive_s3put_destroy(p);
        return NULL;
    }
    return p;
oom:
    errmsg_set(err, errlen, "s3: out of memory");
    archive_s3put_destroy(p);
    return NULL;
}

static void archive_s3put_fail(struct s3_result *res, const char *code, const char *msg) {
    res->http_status = 0;
    snprintf(res->error_code, sizeof res->error_code, "%s", code);
    snprintf(res->message, sizeof res->message, "%s", msg);
}

/* Sets the options of one transfer. CURLE_OK or the first refusal. */
static CURLcode archive_s3put_setup(struct archive_s3put *p, struct archive_s3put_xfer *x) {
    CURLcode cc = CURLE_OK;
#define ARCHIVE_SETOPT(opt, val)                                                                   \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(x->easy, opt, val);                                              \
    } while (0)
    ARCHIVE_SETOPT(CURLOPT_URL, strbuf_str(&x->url));
    ARCHIVE_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    ARCHIVE_SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    ARCHIVE_SETOPT(CURLOPT_PATH_AS_IS, 1L);
    ARCHIVE_SETOPT(CURLOPT_NOSIGNAL, 1L);
    ARCHIVE_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    ARCHIVE_SETOPT(CURLOPT_TIMEOUT_MS, p->timeout_ms);
    ARCHIVE_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
    ARCHIVE_SETOPT(CURLOPT_ERRORBUFFER, x->curl_err);
    ARCHIVE_SETOPT(CURLOPT_USERAGENT, "orders-archive/1");
    ARCHIVE_SETOPT(CURLOPT_AWS_SIGV4, p->sigv4);
    ARCHIVE_SETOPT(CURLOPT_USERNAME, p->access_key);
    ARCHIVE_SETOPT(CURLOPT_PASSWORD, p->secret_key);
    ARCHIVE_SETOPT(CURLOPT_HTTPHEADER, x->headers);
    ARCHIVE_SETOPT(CURLOPT_WRITEFUNCTION, archive_s3put_write);
    ARCHIVE_SETOPT(CURLOPT_WRITEDATA, x);
    ARCHIVE_SETOPT(CURLOPT_UPLOAD, 1L);
    ARCHIVE_SETOPT(CURLOPT_READFUNCTION, archive_s3put_read);
    ARCHIVE_SETOPT(CURLOPT_READDATA, x);
    ARCHIVE_SETOPT(CURLOPT_SEEKFUNCTION, archive_s3put_seek);
    ARCHIVE_SETOPT(CURLOPT_SEEKDATA, x);
    ARCHIVE_SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
    ARCHIVE_SETOPT(CURLOPT_PRIVATE, x);
    if (p->ca_file)
        ARCHIVE_SETOPT(CURLOPT_CAINFO, p->ca_file);
#undef ARCHIVE_SETOPT
    return cc;
}

int archive_s3put_start(struct archive_s3put *p, const char *key, const void *body, size_t len,
                        void *tag, struct s3_result *res) {
    static const char sha_name[] = "x-amz-content-sha256: ";
    unsigned char digest[CRYPTO_SHA256_LEN];
    char line[sizeof sha_name + 2 * CRYPTO_SHA256_LEN];
    struct archive_s3put_xfer *x;
    struct curl_slist *tmp;

    res->http_status = 0;
    res->error_code[0] = res->message[0] = '\0';
    if (!key || !*key || strlen(key) > 1024) {
        archive_s3put_fail(res, S3_CLIENT_INVALID_ARGUMENT, "object key must be 1-1024 bytes");
        return -1;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        goto oom;
    strbuf_init(&x->url, ARCHIVE_S3PUT_URL_LIMIT);
    strbuf_init(&x->errbody, ARCHIVE_S3PUT_ERRBODY_LIMIT);
    x->body = body;
    x->len = len;
    x->tag = tag;
    if (strbuf_puts(&x->url, p->endpoint) || strbuf_putc(&x->url, '/') ||
        strbuf_puts(&x->url, p->bucket) || strbuf_putc(&x->url, '/') ||
        s3_encode_key(key, &x->url)) {
        archive_s3put_xfer_free(x);
        archive_s3put_fail(res, S3_CLIENT_INVALID_ARGUMENT, "request URL too long");
        return -1;
    }
    /* libcurl 7.88 signs the hash of an empty body for uploads unless the
     * real hash is given (RECIPES.md). */
    if (crypto_sha256(body, len, digest) != 0)
        goto oom;
    memcpy(line, sha_name, sizeof sha_name - 1);
    crypto_hex_encode(digest, sizeof digest, line + sizeof sha_name - 1);
    tmp = curl_slist_append(NULL, line);
    if (!tmp)
        goto oom;
    x->headers = tmp;
    tmp = curl_slist_append(x->headers, "Content-Type: application/json");
    if (!tmp)
        goto oom;
    x->headers = tmp;
    x->easy = curl_easy_init();
    if (!x->easy)
        goto oom;
    if (archive_s3put_setup(p, x) != CURLE_OK) {
        archive_s3put_xfer_free(x);
        archive_s3put_fail(res, S3_CLIENT_INVALID_ARGUMENT, "curl refused an option");
        return -1;
    }
    if (curl_multi_add_handle(p->multi, x->easy) != CURLM_OK)
        goto oom;
    x->next = p->running;
    p->running = x;
    p->n_running++;
    return 0;
oom:
    archive_s3put_xfer_free(x);
    archive_s3put_fail(res, S3_CLIENT_OUT_OF_MEMORY, "out of memory");
    return -1;
}

int archive_s3put_wait(struct archive_s3put *p, struct curl_waitfd *extra, unsigned nextra,
                       int timeout_ms) {
    int running = 0;
    if (curl_multi_perform(p->multi, &running) != CURLM_OK)
        return -1;
    if (curl_multi_poll(p->multi, extra, nextra, timeout_ms, NULL) != CURLM_OK)
        return -1;
    return curl_multi_perform(p->multi, &running) == CURLM_OK ? 0 : -1;
}

/* Unlinks x from the running list. */
static void archive_s3put_unlink(struct archive_s3put *p, struct archive_s3put_xfer *x) {
    for (struct archive_s3put_xfer **pp = &p->running; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            p->n_running--;
            return;
        }
    }
}

int archive_s3put_next_done(struct archive_s3put *p, void **tag, struct s3_result *res,
                            double *seconds) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(p->multi, &left))) {
        struct archive_s3put_xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode cc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        res->http_status = 0;
        res->error_code[0] = res->message[0] = '\0';
        *seconds = 0;
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, seconds);
        if (cc != CURLE_OK) {
            snprintf(res->message, sizeof res->message, "%.200s",
                     x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc));
        } else {
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res->http_status);
            if ((res->http_status < 200 || res->http_status >= 300) &&
                (s3_parse_error_xml(strbuf_str(&x->errbody), x->errbody.len, res) != 0 ||
                 !res->message[0]))
                snprintf(res->message, sizeof res->message, "HTTP %ld", res->http_status);
        }
        *tag = x->tag;
        curl_multi_remove_handle(p->multi, x->easy);
        archive_s3put_unlink(p, x);
        archive_s3put_xfer_free(x);
        return 1;
    }
    return 0;
}

void archive_s3put_cancel(struct archive_s3put *p, void *tag) {
    for (struct archive_s3put_xfer *x = p->running; x; x = x->next) {
        if (x->tag == tag) {
            curl_multi_remove_handle(p->multi, x->easy);
            archive_s3put_unlink(p, x);
            archive_s3put_xfer_free(x);
            return;
        }
    }
}

size_t archive_s3put_in_flight(const struct archive_s3put *p) {
    return p->n_running;
}
