/* s3_fake_server: a scripted one-thread HTTP/1.1 server on loopback for the s3 tests.
 *
 * The test lists the replies, starts the server (an ephemeral 127.0.0.1
 * port), runs client calls, then stops it and inspects what was received.
 * The server answers requests in order on kept-alive connections, and counts
 * connections so connection reuse can be asserted. Every wait is bounded
 * (S3_FAKE_WAIT_MS), so a broken client cannot hang the test. Also holds an
 * independent AWS SigV4 verifier used to check libcurl's signatures. */
#ifndef TESTS_UNIT_S3_FAKE_SERVER_H
#define TESTS_UNIT_S3_FAKE_SERVER_H

#include <pthread.h>
#include <stddef.h>

#define S3_FAKE_MAX 8
#define S3_FAKE_WAIT_MS 5000

enum s3_fake_action {
    S3_FAKE_REPLY = 0, /* send status/headers/body */
    S3_FAKE_CLOSE,     /* close the connection without answering */
    S3_FAKE_HANG,      /* say nothing for hang_ms, then close */
};

struct s3_fake_reply {
    enum s3_fake_action action;
    int status;
    const char *headers; /* extra "Name: value\r\n" lines, or NULL */
    const char *body;    /* or NULL */
    int hang_ms;
};

struct s3_fake_request {
    char method[16];
    char target[4096];  /* path and query as sent */
    char headers[8192]; /* raw header lines after the request line */
    char *body;         /* malloc'd, NUL-terminated; freed by s3_fake_stop */
    size_t body_len;
};

struct s3_fake_server {
    struct s3_fake_reply replies[S3_FAKE_MAX];
    int nreplies;
    struct s3_fake_request requests[S3_FAKE_MAX];
    int nrequests;   /* requests fully received */
    int connections; /* connections accepted */
    int port;
    int listen_fd;
    pthread_t thread;
    int started;
};

/* Binds 127.0.0.1:0 and starts serving srv->replies. 0 or -1. */
int s3_fake_start(struct s3_fake_server *srv);

/* Waits for the server thread (it ends after the last reply, or after
 * S3_FAKE_WAIT_MS of silence), closes its sockets. Request bodies stay
 * readable until s3_fake_release. */
void s3_fake_stop(struct s3_fake_server *srv);

/* Frees request bodies. */
void s3_fake_release(struct s3_fake_server *srv);

/* Copies the value of header `name` (case-insensitive, surrounding blanks
 * trimmed) into buf. Returns buf, or NULL if absent or too long. */
const char *s3_fake_header(const struct s3_fake_request *rq, const char *name, char *buf,
                           size_t cap);

/* Checks an "AWS4-HMAC-SHA256" Authorization header against the request as
 * a server would: rebuilds the canonical request from the signed headers,
 * the raw path/query and x-amz-content-sha256, derives the signing key from
 * the secret and compares. Returns 0 when valid, else -1 with the reason in
 * `why`. */
int s3_fake_verify_sigv4(const char *method, const char *target, const char *headers,
                         const char *access_key, const char *secret_key, const char *region,
                         char *why, size_t whylen);

#endif
