/* s3: a minimal S3 client (path-style, AWS SigV4 signed by libcurl). */
#include "s3.h"
#include "errmsg.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "crypto.h"

#define S3_DEFAULT_REGION "us-east-1"
#define S3_DEFAULT_TIMEOUT_MS 10000L
#define S3_URL_LIMIT 16384       /* endpoint + bucket + encoded key + query */
#define S3_ERROR_BODY_LIMIT 8192 /* error documents are small; the rest is dropped */
#define S3_MAX_KEY_LEN 1024      /* S3's limit, in bytes */
#define S3_MAX_BUCKET_LEN 255

struct s3_client {
    CURL *curl;     /* reused: keeps connections alive between requests */
    char *endpoint; /* scheme://host[:port], no trailing '/' */
    char *sigv4;    /* "aws:amz:<region>:s3" */
    char *access_key;
    char *secret_key; /* wiped on destroy */
    char *ca_file;    /* NULL: system CA store */
    long timeout_ms;
    char curl_err[CURL_ERROR_SIZE];
};

/* What one request sends and where its answer goes. */
struct s3_request {
    const char *method; /* "GET", "PUT", "DELETE" or "HEAD" */
    const char *bucket;
    const char *key;   /* NULL for bucket-level requests */
    const char *query; /* canonical query (sorted, encoded) or NULL */
    const void *body;  /* PUT only */
    size_t len;
    const char *content_type; /* PUT only */
    struct strbuf *out;       /* receives a 2xx body; may be NULL */
};

/* Response routing for the write callback. */
struct s3_sink {
    CURL *curl;
    struct strbuf *out;    /* 2xx bodies; NULL drops them */
    struct strbuf errbody; /* non-2xx bodies, truncated */
    int too_large;         /* `out` hit its limit */
};

/* Upload state for the read and seek callbacks. */
struct s3_source {
    const unsigned char *data;
    size_t len;
    size_t off;
};

static pthread_once_t s3_global_once = PTHREAD_ONCE_INIT;
static CURLcode s3_global_rc = CURLE_FAILED_INIT;

static void s3_global_init(void) {
    s3_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void s3_result_clear(struct s3_result *res) {
    res->http_status = 0;
    res->error_code[0] = '\0';
    res->message[0] = '\0';
}

static void s3_result_fail(struct s3_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a failure found on this side. */
static void s3_result_fail(struct s3_result *res, const char *code, const char *fmt, ...) {
    va_list ap;
    snprintf(res->error_code, sizeof(res->error_code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* ---- pure helpers ---------------------------------------------------------- */

int s3_uri_encode(const char *s, size_t n, int keep_slash, struct strbuf *out) {
    static const char hex[] = "0123456789ABCDEF";
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        int rc;
        if (keep) {
            rc = strbuf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 0x0F]};
            rc = strbuf_append(out, esc, sizeof(esc));
        }
        if (rc != 0) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            return -1;
        }
    }
    return 0;
}

int s3_encode_key(const char *key, struct strbuf *out) {
    return s3_uri_encode(key, strlen(key), 1, out);
}

/* The character an XML entity name (between '&' and ';') stands for: the
 * five predefined entities and numeric references to printable ASCII; '?'
 * for anything else. */
static char s3_xml_entity(const char *name, size_t n) {
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strlen(named[i].name) == n && memcmp(name, named[i].name, n) == 0)
            return named[i].c;
    if (n >= 2 && name[0] == '#') {
        int base = (name[1] == 'x' || name[1] == 'X') ? 16 : 10;
        size_t i = base == 16 ? 2 : 1;
        long v = 0;
        if (i == n)
            return '?';
        for (; i < n && v < 0x10000; i++) {
            char d = name[i];
            int dv = d >= '0' && d <= '9'                 ? d - '0'
                     : base == 16 && d >= 'a' && d <= 'f' ? d - 'a' + 10
                     : base == 16 && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                          : -1;
            if (dv < 0)
                return '?';
            v = v * base + dv;
        }
        if (v >= 0x20 && v < 0x7F)
            return (char)v;
    }
    return '?';
}

/* First occurrence of the string `needle` in hay[0..len), or NULL (memmem
 * is a GNU extension). */
static const char *s3_find(const char *hay, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* Copies the text between the first `open` tag and the following `close`
 * tag of xml[0..len) into dst (at most cap-1 bytes plus a NUL), decoding
 * entities and turning control bytes into spaces. 0 if found, else -1. */
static int s3_xml_text(const char *xml, size_t len, const char *open, const char *close, char *dst,
                       size_t cap) {
    const char *p = s3_find(xml, len, open);
    if (!p)
        return -1;
    p += strlen(open);
    const char *end = s3_find(p, len - (size_t)(p - xml), close);
    if (!end)
        return -1;
    size_t o = 0;
    while (p < end && o + 1 < cap) {
        char c = *p++;
        if (c == '&') {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            if (semi && semi - p <= 12) {
                c = s3_xml_entity(p, (size_t)(semi - p));
                p = semi + 1;
            }
        }
        if ((unsigned char)c < 0x20 || c == 0x7F)
            c = ' ';
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

int s3_parse_error_xml(const char *xml, size_t len, struct s3_result *res) {
    char code[sizeof(res->error_code)];
    if (!xml || s3_xml_text(xml, len, "<Code>", "</Code>", code, sizeof(code)) != 0 || !code[0])
        return -1;
    memcpy(res->error_code, code, sizeof(code));
    if (s3_xml_text(xml, len, "<Message>", "</Message>", res->message, sizeof(res->message)) != 0)
        res->message[0] = '\0';
    return 0;
}

int s3_result_is_transient(const struct s3_result *res) {
    static const char *const transient_codes[] = {
        "SlowDown",           "RequestTimeout",  "InternalError",
        "ServiceUnavailable", "Throttling",      "ThrottlingException",
        "RequestThrottled",   "TooManyRequests", "XMinioServerNotInitialized",
    };
    if (res->http_status == 0)
        return res->error_code[0] == '\0'; /* transport, not a client error */
    if (res->http_status >= 200 && res->http_status < 300)
        return 0;
    if (res->http_status >= 500 || res->http_status == 429 || res->http_status == 408)
        return 1;
    for (size_t i = 0; i < sizeof(transient_codes) / sizeof(transient_codes[0]); i++)
        if (strcmp(res->error_code, transient_codes[i]) == 0)
            return 1;
    return 0;
}

/* ---- client ------------------------------------------------------------ */

/* 1 if every byte of s is in [A-Za-z0-9] or in `extra`. */
static int s3_chars_ok(const char *s, const char *extra) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

struct s3_client *s3_client_create(const struct s3_settings *s, char *err, size_t errlen) {
    struct s3_client *c = NULL;
    const char *region = s->region && *s->region ? s->region : S3_DEFAULT_REGION;
    const char *host;
    size_t n;

    if (!s->endpoint ||
        (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0)) {
        errmsg_set(err, errlen, "s3: endpoint must start with http:// or https://");
        return NULL;
    }
    host = strstr(s->endpoint, "://") + 3;
    if (!*host || *host == '/' || strpbrk(s->endpoint, " \t\r\n?#")) {
        errmsg_set(err, errlen, "s3: endpoint has no host or contains a space, '?' or '#'");
        return NULL;
    }
    if (strlen(region) > 63 || !s3_chars_ok(region, "-_")) {
        errmsg_set(err, errlen, "s3: region must be 1-63 characters of [A-Za-z0-9_-]");
        return NULL;
    }
    /* The access key is sent in the Authorization header: keep it a token. */
    if (!s->access_key || !*s->access_key || strlen(s->access_key) > 128 ||
        !s3_chars_ok(s->access_key, "-_.+=")) {
        errmsg_set(err, errlen, "s3: access key must be 1-128 characters of [A-Za-z0-9._+=-]");
        return NULL;
    }
    if (!s->secret_key || !*s->secret_key) {
        errmsg_set(err, errlen, "s3: secret key is required");
        return NULL;
    }
    if (pthread_once(&s3_global_once, s3_global_init) != 0 || s3_global_rc != CURLE_OK) {
        errmsg_set(err, errlen, "s3: curl_global_init failed");
        return NULL;
    }

    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->endpoint = strdup(s->endpoint);
    c->access_key = strdup(s->access_key);
    c->secret_key = strdup(s->secret_key);
    c->ca_file = s->ca_file && *s->ca_file ? strdup(s->ca_file) : NULL;
    n = strlen("aws:amz:") + strlen(region) + strlen(":s3") + 1;
    c->sigv4 = malloc(n);
    if (!c->endpoint || !c->access_key || !c->secret_key || !c->sigv4 ||
        (s->ca_file && *s->ca_file && !c->ca_file))
        goto oom;
    snprintf(c->sigv4, n, "aws:amz:%s:s3", region);
    n = strlen(c->endpoint);
    while (n > 0 && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = '\0';
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : S3_DEFAULT_TIMEOUT_MS;
    c->curl = curl_easy_init();
    if (!c->curl)
        goto oom;
    return c;
oom:
    errmsg_set(err, errlen, "s3: out of memory");
    s3_client_destroy(c);
    return NULL;
}

void s3_client_destroy(struct s3_client *c) {
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->secret_key)
        explicit_bzero(c->secret_key, strlen(c->secret_key));
    free(c->secret_key);
    free(c->access_key);
    free(c->endpoint);
    free(c->sigv4);
    free(c->ca_file);
    free(c);
}

/* ---- one request ------------------------------------------------------- */

static size_t s3_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct s3_sink *sink = userdata;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        if (!sink->out)
            return n;
        if (strbuf_append(sink->out, ptr, n) != 0) {
            sink->too_large = 1;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        return n;
    }
    size_t room = sink->errbody.limit - sink->errbody.len;
    if (room > 0)
        (void)strbuf_append(&sink->errbody, ptr, n < room ? n : room);
    return n; /* keep reading so the connection stays reusable */
}

static size_t s3_read_cb(char *buf, size_t size, size_t nitems, void *userdata) {
    struct s3_source *src = userdata;
    size_t n = size * nitems;
    size_t left = src->len - src->off;
    if (n > left)
        n = left;
    if (n)
        memcpy(buf, src->data + src->off, n);
    src->off += n;
    return n;
}

/* Lets curl rewind the body, e.g. to resend on a fresh connection when a
 * kept-alive one turned out to be closed. */
static int s3_seek_cb(void *userdata, curl_off_t offset, int origin) {
    struct s3_source *src = userdata;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > src->len)
        return CURL_SEEKFUNC_CANTSEEK;
    src->off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int s3_valid_bucket(const char *bucket) {
    size_t n = bucket ? strlen(bucket) : 0;
    return n > 0 && n <= S3_MAX_BUCKET_LEN && s3_chars_ok(bucket, ".-_");
}

/* Builds <endpoint>/<bucket>[/<encoded key>][?<query>] into url. 0 or -1
 * (res filled). */
static int s3_build_url(const struct s3_client *c, const struct s3_request *rq, struct strbuf *url,
                        struct s3_result *res) {
    if (!s3_valid_bucket(rq->bucket)) {
        s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "invalid bucket name");
        return -1;
    }
    if (rq->key && (!*rq->key || strlen(rq->key) > S3_MAX_KEY_LEN)) {
        s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "object key must be 1-%d bytes",
                       S3_MAX_KEY_LEN);
        return -1;
    }
    if (strbuf_puts(url, c->endpoint) || strbuf_putc(url, '/') || strbuf_puts(url, rq->bucket) ||
        (rq->key && (strbuf_putc(url, '/') || s3_encode_key(rq->key, url))) ||
        (rq->query && (strbuf_putc(url, '?') || strbuf_puts(url, rq->query)))) {
        s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "request URL too long");
        return -1;
    }
    return 0;
}

/* Appends one header line to *list. 0 or -1 (list unchanged). */
static int s3_add_header(struct curl_slist **list, const char *line) {
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (!tmp)
        return -1;
    *list = tmp;
    return 0;
}

/* Builds the request headers into *list (the caller frees it, also on
 * failure). 0 or -1 (res filled). */
static int s3_build_headers(const struct s3_request *rq, struct curl_slist **list,
                            struct s3_result *res) {
    unsigned char digest[CRYPTO_SHA256_LEN];
    char line[256];
    static const char sha_name[] = "x-amz-content-sha256: ";

    /* libcurl 7.88 signs the hash of CURLOPT_POSTFIELDS (empty for an
     * upload) unless this header is present, so always send the real one. */
    if (crypto_sha256(rq->body, rq->len, digest) != 0) {
        s3_result_fail(res, S3_CLIENT_OUT_OF_MEMORY, "sha256 failed");
        return -1;
    }
    memcpy(line, sha_name, sizeof(sha_name) - 1);
    crypto_hex_encode(digest, sizeof(digest), line + sizeof(sha_name) - 1);
    if (s3_add_header(list, line) != 0)
        goto oom;
    if (rq->content_type) {
        int n = snprintf(line, sizeof(line), "Content-Type: %s", rq->content_type);
        if (n < 0 || (size_t)n >= sizeof(line) || strpbrk(rq->content_type, "\r\n")) {
            s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "invalid content type");
            return -1;
        }
        if (s3_add_header(list, line) != 0)
            goto oom;
    }
    return 0;
oom:
    s3_result_fail(res, S3_CLIENT_OUT_OF_MEMORY, "out of memory");
    return -1;
}

/* Resets the handle and sets every option of this request. Returns the
 * first refusal, or CURLE_OK. */
static CURLcode s3_setup_handle(struct s3_client *c, const struct s3_request *rq, const char *url,
                                struct curl_slist *headers, struct s3_sink *sink,
                                struct s3_source *src) {
    CURLcode cc = CURLE_OK;

    curl_easy_reset(c->curl); /* keeps the connection cache */
    c->curl_err[0] = '\0';
#define S3_SETOPT(opt, val)                                                                        \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(c->curl, opt, val);                                              \
    } while (0)
    S3_SETOPT(CURLOPT_URL, url);
    S3_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    S3_SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    S3_SETOPT(CURLOPT_PATH_AS_IS, 1L); /* keys may contain "." and ".." segments */
    S3_SETOPT(CURLOPT_NOSIGNAL, 1L);
    S3_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    S3_SETOPT(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    S3_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    S3_SETOPT(CURLOPT_ERRORBUFFER, c->curl_err);
    S3_SETOPT(CURLOPT_USERAGENT, "orders-pipeline-s3/1");
    S3_SETOPT(CURLOPT_AWS_SIGV4, c->sigv4);
    S3_SETOPT(CURLOPT_USERNAME, c->access_key);
    S3_SETOPT(CURLOPT_PASSWORD, c->secret_key);
    S3_SETOPT(CURLOPT_HTTPHEADER, headers);
    S3_SETOPT(CURLOPT_WRITEFUNCTION, s3_write_cb);
    S3_SETOPT(CURLOPT_WRITEDATA, sink);
    if (c->ca_file)
        S3_SETOPT(CURLOPT_CAINFO, c->ca_file);
    if (strcmp(rq->method, "PUT") == 0) {
        S3_SETOPT(CURLOPT_UPLOAD, 1L);
        S3_SETOPT(CURLOPT_READFUNCTION, s3_read_cb);
        S3_SETOPT(CURLOPT_READDATA, src);
        S3_SETOPT(CURLOPT_SEEKFUNCTION, s3_seek_cb);
        S3_SETOPT(CURLOPT_SEEKDATA, src);
        S3_SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->len);
    } else if (strcmp(rq->method, "HEAD") == 0) {
        S3_SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "DELETE") == 0) {
        S3_SETOPT(CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        S3_SETOPT(CURLOPT_HTTPGET, 1L);
    }
#undef S3_SETOPT
    return cc;
}

/* Sends one request and fills *res. Returns 0 when an HTTP answer arrived,
 * -1 otherwise. Frees everything it allocates on every path, and leaves
 * rq->out as it was unless the request succeeded. */
static int s3_perform(struct s3_client *c, const struct s3_request *rq, struct s3_result *res) {
    struct strbuf url;
    struct s3_sink sink = {.curl = c->curl, .out = rq->out, .too_large = 0};
    struct s3_source src = {.data = rq->body, .len = rq->len, .off = 0};
    struct curl_slist *headers = NULL;
    size_t out_start = rq->out ? rq->out->len : 0;
    CURLcode cc;
    int rc = -1;

    strbuf_init(&url, S3_URL_LIMIT);
    strbuf_init(&sink.errbody, S3_ERROR_BODY_LIMIT);
    s3_result_clear(res);

    if (s3_build_url(c, rq, &url, res) != 0 || s3_build_headers(rq, &headers, res) != 0)
        goto cleanup;
    cc = s3_setup_handle(c, rq, strbuf_str(&url), headers, &sink, &src);
    if (cc != CURLE_OK) {
        s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "curl option refused: %s",
                       curl_easy_strerror(cc));
        goto cleanup;
    }

    cc = curl_easy_perform(c->curl);
    if (cc != CURLE_OK) {
        if (sink.too_large) {
            s3_result_fail(res, S3_CLIENT_BODY_TOO_LARGE,
                           "response body exceeds the buffer limit (%zu bytes)", rq->out->limit);
        } else {
            long status = 0;
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
            snprintf(res->message, sizeof(res->message), "%.200s%s",
                     c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc),
                     status ? " (after an HTTP answer)" : "");
        }
        goto cleanup;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
    if (res->http_status < 200 || res->http_status >= 300) {
        if (s3_parse_error_xml(strbuf_str(&sink.errbody), sink.errbody.len, res) != 0 ||
            !res->message[0])
            snprintf(res->message, sizeof(res->message), "HTTP %ld", res->http_status);
    }
    rc = 0;

cleanup:
    if (rc != 0 && rq->out && rq->out->len > out_start) {
        /* no partial object on failure */
        rq->out->len = out_start;
        rq->out->data[out_start] = '\0';
    }
    /* The handle must not keep pointers to what is freed below. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_URL, (char *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, (void *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_READDATA, (void *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_SEEKDATA, (void *)NULL);
    curl_slist_free_all(headers);
    strbuf_release(&url);
    strbuf_release(&sink.errbody);
    return rc;
}

/* ---- operations ------------------------------------------------------- */

int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *body,
                  size_t len, const char *content_type, struct s3_result *res) {
    struct s3_request rq = {.method = "PUT",
                            .bucket = bucket,
                            .key = key ? key : "",
                            .body = body,
                            .len = len,
                            .content_type =
                                content_type ? content_type : "application/octet-stream"};
    return s3_perform(c, &rq, res);
}

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, struct strbuf *body_out,
                  struct s3_result *res) {
    struct s3_request rq = {
        .method = "GET", .bucket = bucket, .key = key ? key : "", .out = body_out};
    return s3_perform(c, &rq, res);
}

int s3_delete_object(struct s3_client *c, const char *bucket, const char *key,
                     struct s3_result *res) {
    struct s3_request rq = {.method = "DELETE", .bucket = bucket, .key = key ? key : ""};
    return s3_perform(c, &rq, res);
}

int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    const char *start_after, struct strbuf *xml_out, struct s3_result *res) {
    /* SigV4 via libcurl 7.88 signs the query as sent, so it must already be
     * canonical: parameters sorted by name, values fully encoded. */
    struct strbuf query;
    struct s3_request rq = {.method = "GET", .bucket = bucket, .out = xml_out};
    int rc;

    strbuf_init(&query, S3_URL_LIMIT);
    if (strbuf_puts(&query, "list-type=2") != 0 ||
        (prefix && *prefix &&
         (strbuf_puts(&query, "&prefix=") != 0 ||
          s3_uri_encode(prefix, strlen(prefix), 0, &query) != 0)) ||
        (start_after && *start_after &&
         (strbuf_puts(&query, "&start-after=") != 0 ||
          s3_uri_encode(start_after, strlen(start_after), 0, &query) != 0))) {
        s3_result_clear(res);
        s3_result_fail(res, S3_CLIENT_INVALID_ARGUMENT, "prefix or start-after too long");
        strbuf_release(&query);
        return -1;
    }
    rq.query = strbuf_str(&query);
    rc = s3_perform(c, &rq, res);
    strbuf_release(&query);
    return rc;
}

int s3_head_bucket(struct s3_client *c, const char *bucket, struct s3_result *res) {
    struct s3_request rq = {.method = "HEAD", .bucket = bucket};
    return s3_perform(c, &rq, res);
}
