/* send: sign and POST one order with libcurl (`ordersctl send`). */
#include "send.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "args.h"
#include "gen.h"
#include "sign.h"

void ordersctl_response_init(struct ordersctl_response *r) {
    memset(r, 0, sizeof(*r));
    strbuf_init(&r->body, ORDERSCTL_RESPONSE_MAX);
}

void ordersctl_response_release(struct ordersctl_response *r) {
    strbuf_release(&r->body);
}

/* Copies the value of header line `line` into dst when its name is `name`
 * (case-insensitive); the value loses surrounding blanks and CR/LF. */
static void send_capture(const char *line, size_t n, const char *name, char *dst, size_t cap) {
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t send_on_header(char *data, size_t size, size_t nitems, void *userdata) {
    struct ordersctl_response *r = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100) */
        r->request_id[0] = r->replayed[0] = r->retry_after[0] = '\0';
        strbuf_reset(&r->body);
        return n;
    }
    send_capture(data, n, "X-Request-Id", r->request_id, sizeof(r->request_id));
    send_capture(data, n, "Idempotent-Replayed", r->replayed, sizeof(r->replayed));
    send_capture(data, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
    return n;
}

static size_t send_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    struct ordersctl_response *r = userdata;
    size_t n = size * nmemb;
    (void)strbuf_append(&r->body, data, n); /* beyond the cap: dropped, flagged */
    return n;
}

int ordersctl_send_once(const char *url, const char *client_id, const void *secret,
                        size_t secretlen, long long ts, const void *body, size_t len,
                        double timeout_s, struct ordersctl_response *res, char *err,
                        size_t errlen) {
    int rc = -1;
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    char h_client[96], h_ts[48], h_sig[96];
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    CURL *easy = NULL;
    CURLcode cc;

    res->status = 0;
    if (ordersctl_sign_hex(secret, secretlen, ts, body, len, hex) != 0) {
        snprintf(err, errlen, "HMAC computation failed");
        goto cleanup;
    }
    snprintf(h_client, sizeof(h_client), "X-Client-Id: %s", client_id);
    snprintf(h_ts, sizeof(h_ts), "X-Timestamp: %lld", ts);
    snprintf(h_sig, sizeof(h_sig), "X-Signature: sha256=%s", hex);
    const char *lines[] = {"Content-Type: application/json", h_client, h_ts, h_sig, "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct curl_slist *next = curl_slist_append(headers, lines[i]);
        if (!next) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        headers = next;
    }
    easy = curl_easy_init();
    if (!easy) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto cleanup;
    }
    long timeout_ms = (long)(timeout_s * 1000.0);
    if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, send_on_header) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_HEADERDATA, res) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, send_on_body) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, res) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "ordersctl") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        snprintf(err, errlen, "curl_easy_setopt failed");
        goto cleanup;
    }
    cc = curl_easy_perform(easy);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto cleanup;
    }
    if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res->status) != CURLE_OK) {
        snprintf(err, errlen, "no HTTP status");
        goto cleanup;
    }
    rc = 0;
cleanup:
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    return rc;
}

/* Prints the response as documented in the usage text. 0 or -1 (stdout). */
static int send_print(const char *order_id, const struct ordersctl_response *r) {
    if (order_id[0])
        printf("order_id: %s\n", order_id);
    printf("HTTP %ld\n", r->status);
    if (r->request_id[0])
        printf("X-Request-Id: %s\n", r->request_id);
    if (r->replayed[0])
        printf("Idempotent-Replayed: %s\n", r->replayed);
    if (r->retry_after[0])
        printf("Retry-After: %s\n", r->retry_after);
    printf("\n");
    if (r->body.len) {
        fwrite(r->body.data, 1, r->body.len, stdout);
        if (r->body.data[r->body.len - 1] != '\n')
            printf("\n");
    }
    if (r->body.overflow)
        printf("[response body cut at %u bytes]\n", ORDERSCTL_RESPONSE_MAX);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int ordersctl_send_run(const struct ordersctl_opts *o) {
    int rc = ORDERSCTL_EXIT_USAGE;
    char err[512];
    char order_id[ORDERSCTL_ORDER_ID_MAX + 1] = "";
    struct strbuf secret, body;
    struct ordersctl_response res;
    long long ts = o->has_timestamp ? o->timestamp : (long long)time(NULL);

    strbuf_init(&secret, 4096);
    strbuf_init(&body, ORDERSCTL_BODY_MAX);
    ordersctl_response_init(&res);
    if (ordersctl_secret_load(o, &secret, err, sizeof(err)) != 0 ||
        ordersctl_body_prepare(o, &body, order_id, sizeof(order_id), err, sizeof(err)) != 0) {
        fprintf(stderr, "ordersctl send: %s\n", err);
        goto cleanup;
    }
    rc = ORDERSCTL_EXIT_FAIL;
    if (ordersctl_send_once(o->url, o->client_id, secret.data, secret.len, ts, body.data, body.len,
                            o->timeout_s, &res, err, sizeof(err)) != 0) {
        if (order_id[0])
            printf("order_id: %s\n", order_id);
        fprintf(stderr, "ordersctl send: %s\n", err);
        goto cleanup;
    }
    if (send_print(order_id, &res) != 0) {
        fprintf(stderr, "ordersctl send: cannot write to stdout\n");
        goto cleanup;
    }
    if (res.status >= 200 && res.status < 300)
        rc = ORDERSCTL_EXIT_OK;
cleanup:
    ordersctl_secret_wipe(&secret);
    strbuf_release(&body);
    ordersctl_response_release(&res);
    return rc;
}
