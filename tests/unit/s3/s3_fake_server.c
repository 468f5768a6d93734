/* s3_fake_server: a scripted one-thread HTTP/1.1 server on loopback for the s3 tests. */
#include "s3_fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"

/* Waits until fd is readable. 1 readable, 0 timeout, -1 error. */
static int s3_fake_wait(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, ms);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

static int s3_fake_send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one request into *rq. 0 on success, -1 on EOF/timeout/garbage.
 * `buf`/`have` carry bytes already read past the previous request. */
static int s3_fake_read_request(int fd, char *buf, size_t cap, size_t *have,
                                struct s3_fake_request *rq) {
    char *end = NULL;
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        if (*have + 1 >= cap || s3_fake_wait(fd, S3_FAKE_WAIT_MS) != 1)
            return -1;
        ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (r <= 0)
            return -1;
        *have += (size_t)r;
        buf[*have] = '\0';
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char *line_end = strstr(buf, "\r\n");
    if (sscanf(buf, "%15s %4095s", rq->method, rq->target) != 2)
        return -1;
    size_t hlen = head_len - (size_t)(line_end + 2 - buf);
    if (hlen >= sizeof(rq->headers))
        return -1;
    memcpy(rq->headers, line_end + 2, hlen);
    rq->headers[hlen] = '\0';

    char value[32];
    size_t body_len = 0;
    if (s3_fake_header(rq, "Content-Length", value, sizeof(value)))
        body_len = (size_t)strtoul(value, NULL, 10);
    rq->body = malloc(body_len + 1);
    if (!rq->body)
        return -1;
    size_t got = *have - head_len < body_len ? *have - head_len : body_len;
    memcpy(rq->body, buf + head_len, got);
    while (got < body_len) {
        if (s3_fake_wait(fd, S3_FAKE_WAIT_MS) != 1)
            return -1;
        ssize_t r = recv(fd, rq->body + got, body_len - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    rq->body[body_len] = '\0';
    rq->body_len = body_len;
    /* Keep whatever followed this request (pipelining is not expected). */
    size_t used = head_len + (body_len < *have - head_len ? body_len : *have - head_len);
    memmove(buf, buf + used, *have - used + 1);
    *have -= used;
    return 0;
}

static int s3_fake_reply_send(int fd, const struct s3_fake_request *rq,
                              const struct s3_fake_reply *rp) {
    char head[2048];
    size_t blen = rp->body ? strlen(rp->body) : 0;
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Fake\r\nContent-Length: %zu\r\n%s\r\n",
                     rp->status, blen, rp->headers ? rp->headers : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    if (s3_fake_send_all(fd, head, (size_t)n) != 0)
        return -1;
    if (strcmp(rq->method, "HEAD") == 0 || blen == 0)
        return 0;
    return s3_fake_send_all(fd, rp->body, blen);
}

static void *s3_fake_main(void *arg) {
    struct s3_fake_server *srv = arg;
    const size_t cap = 65536;
    char *buf = malloc(cap);
    int served = 0;

    if (!buf)
        return NULL;
    while (served < srv->nreplies) {
        if (s3_fake_wait(srv->listen_fd, S3_FAKE_WAIT_MS) != 1)
            break;
        int fd = accept(srv->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        srv->connections++;
        size_t have = 0;
        buf[0] = '\0';
        while (served < srv->nreplies) {
            struct s3_fake_request *rq = &srv->requests[served];
            const struct s3_fake_reply *rp = &srv->replies[served];
            if (s3_fake_read_request(fd, buf, cap, &have, rq) != 0)
                break; /* client closed: accept the next connection */
            srv->nrequests++;
            served++;
            if (rp->action == S3_FAKE_HANG)
                usleep((useconds_t)rp->hang_ms * 1000);
            if (rp->action != S3_FAKE_REPLY || s3_fake_reply_send(fd, rq, rp) != 0)
                break;
        }
        close(fd);
    }
    free(buf);
    return NULL;
}

int s3_fake_start(struct s3_fake_server *srv) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(addr);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv->listen_fd < 0)
        return -1;
    if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(srv->listen_fd, 8) != 0 ||
        getsockname(srv->listen_fd, (struct sockaddr *)&addr, &alen) != 0)
        goto fail;
    srv->port = ntohs(addr.sin_port);
    if (pthread_create(&srv->thread, NULL, s3_fake_main, srv) != 0)
        goto fail;
    srv->started = 1;
    return 0;
fail:
    close(srv->listen_fd);
    srv->listen_fd = -1;
    return -1;
}

void s3_fake_stop(struct s3_fake_server *srv) {
    if (srv->started)
        pthread_join(srv->thread, NULL);
    srv->started = 0;
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    srv->listen_fd = -1;
}

void s3_fake_release(struct s3_fake_server *srv) {
    for (int i = 0; i < S3_FAKE_MAX; i++) {
        free(srv->requests[i].body);
        srv->requests[i].body = NULL;
    }
}

/* Header lookup over a raw "Name: value\r\n..." block. */
static const char *s3_fake_header_in(const char *headers, const char *name, char *buf, size_t cap) {
    size_t nlen = strlen(name);
    const char *line = headers;
    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            const char *ve = line + llen;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if ((size_t)(ve - v) >= cap)
                return NULL;
            memcpy(buf, v, (size_t)(ve - v));
            buf[ve - v] = '\0';
            return buf;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

const char *s3_fake_header(const struct s3_fake_request *rq, const char *name, char *buf,
                           size_t cap) {
    return s3_fake_header_in(rq->headers, name, buf, cap);
}

static int s3_fake_why(char *why, size_t whylen, const char *msg) {
    snprintf(why, whylen, "%s", msg);
    return -1;
}

int s3_fake_verify_sigv4(const char *method, const char *target, const char *headers,
                         const char *access_key, const char *secret_key, const char *region,
                         char *why, size_t whylen) {
    char auth[1024], amzdate[32], payload[128], cred[256], signed_list[512], sig[128];
    char scope[256], creq[8192], sts[1024], key[512], value[1024], hex[65];
    unsigned char k[CRYPTO_SHA256_LEN], k2[CRYPTO_SHA256_LEN], md[CRYPTO_SHA256_LEN];

    if (!s3_fake_header_in(headers, "Authorization", auth, sizeof(auth)))
        return s3_fake_why(why, whylen, "no Authorization header");
    if (sscanf(auth,
               "AWS4-HMAC-SHA256 Credential=%255[^,], SignedHeaders=%511[^,], Signature=%127s",
               cred, signed_list, sig) != 3)
        return s3_fake_why(why, whylen, "malformed Authorization header");
    if (!s3_fake_header_in(headers, "x-amz-date", amzdate, sizeof(amzdate)) ||
        strlen(amzdate) != 16)
        return s3_fake_why(why, whylen, "no or bad x-amz-date");
    if (!s3_fake_header_in(headers, "x-amz-content-sha256", payload, sizeof(payload)))
        return s3_fake_why(why, whylen, "no x-amz-content-sha256");
    snprintf(scope, sizeof(scope), "%s/%.8s/%s/s3/aws4_request", access_key, amzdate, region);
    if (strcmp(cred, scope) != 0)
        return s3_fake_why(why, whylen, "credential scope mismatch");
    if (!strstr(signed_list, "host") || !strstr(signed_list, "x-amz-date") ||
        !strstr(signed_list, "x-amz-content-sha256"))
        return s3_fake_why(why, whylen, "host/x-amz-date/x-amz-content-sha256 not signed");

    /* Canonical request. The client is expected to send the query already
     * canonical (sorted, encoded), which a real server would recompute. */
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    int n =
        snprintf(creq, sizeof(creq), "%s\n%.*s\n%s\n", method, (int)plen, target, q ? q + 1 : "");
    char list[512];
    snprintf(list, sizeof(list), "%s", signed_list);
    for (char *save = NULL, *h = strtok_r(list, ";", &save); h; h = strtok_r(NULL, ";", &save)) {
        if (!s3_fake_header_in(headers, h, value, sizeof(value)))
            return s3_fake_why(why, whylen, "a signed header is missing");
        n += snprintf(creq + n, sizeof(creq) - (size_t)n, "%s:%s\n", h, value);
    }
    n += snprintf(creq + n, sizeof(creq) - (size_t)n, "\n%s\n%s", signed_list, payload);
    if (n <= 0 || (size_t)n >= sizeof(creq))
        return s3_fake_why(why, whylen, "canonical request too long");

    crypto_sha256(creq, strlen(creq), md);
    crypto_hex_encode(md, sizeof(md), hex);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%.8s/%s/s3/aws4_request\n%s", amzdate,
             amzdate, region, hex);
    snprintf(key, sizeof(key), "AWS4%s", secret_key);
    crypto_hmac_sha256(key, strlen(key), amzdate, 8, k);
    crypto_hmac_sha256(k, sizeof(k), region, strlen(region), k2);
    crypto_hmac_sha256(k2, sizeof(k2), "s3", 2, k);
    crypto_hmac_sha256(k, sizeof(k), "aws4_request", 12, k2);
    crypto_hmac_sha256(k2, sizeof(k2), sts, strlen(sts), md);
    crypto_hex_encode(md, sizeof(md), hex);
    if (strcmp(hex, sig) != 0)
        return s3_fake_why(why, whylen, "signature mismatch");
    return 0;
}
