/* s3put: many S3 PutObject requests in flight at once on one thread
 * (libcurl multi, keep-alive connections shared by all transfers).
 *
 * common/s3 is synchronous (one easy handle per client); the consumer needs
 * dozens of PUTs in flight, so this drives libcurl's multi interface with
 * the same request shape: path-style URL with the key encoded by
 * s3_encode_key, SigV4 signed by libcurl (CURLOPT_AWS_SIGV4), the payload
 * hash in x-amz-content-sha256, error bodies parsed by s3_parse_error_xml.
 * Not thread-safe: one thread drives it. */
#ifndef ARCHIVE_S3PUT_H
#define ARCHIVE_S3PUT_H

#include <stddef.h>

#include <curl/curl.h>

#include "s3.h"

struct archive_s3put_settings {
    const char *endpoint;   /* http[s]://host[:port] */
    const char *region;     /* "us-east-1" when NULL or "" */
    const char *bucket;     /* required */
    const char *access_key; /* required */
    const char *secret_key; /* required; copied, wiped on destroy */
    const char *ca_file;    /* optional */
    long timeout_ms;        /* per PUT; 10000 when <= 0 */
    long max_connections;   /* keep-alive connections to the store */
};

struct archive_s3put;

/* Creates the engine (validates the settings with s3_client_create's rules
 * only as far as needed). NULL with a message in err. Free with
 * archive_s3put_destroy, which aborts transfers still running. */
struct archive_s3put *archive_s3put_create(const struct archive_s3put_settings *s, char *err,
                                           size_t errlen);
void archive_s3put_destroy(struct archive_s3put *p);

/* Starts PUT <bucket>/<key> of body[0..len) as application/json. body and
 * `tag` are borrowed until the transfer is reported done or cancelled.
 * 0, or -1 with res filled (client error code) when it cannot start. */
int archive_s3put_start(struct archive_s3put *p, const char *key, const void *body, size_t len,
                        void *tag, struct s3_result *res);

/* Runs transfers for up to timeout_ms, waking early on progress or when an
 * extra fd is readable (extra may be NULL). 0, or -1 on a libcurl error. */
int archive_s3put_wait(struct archive_s3put *p, struct curl_waitfd *extra, unsigned nextra,
                       int timeout_ms);

/* Reports one finished transfer: 1 with *tag, *res and *seconds filled, or
 * 0 when none is finished. */
int archive_s3put_next_done(struct archive_s3put *p, void **tag, struct s3_result *res,
                            double *seconds);

/* Aborts the transfer of `tag` (if running); it will not be reported. */
void archive_s3put_cancel(struct archive_s3put *p, void *tag);

/* Transfers started and not yet reported or cancelled. */
size_t archive_s3put_in_flight(const struct archive_s3put *p);

#endif
