/* s3: a minimal S3 client (path-style, AWS SigV4 signed by libcurl).
 *
 * Speaks the subset the pipeline needs (PutObject, GetObject, DeleteObject,
 * ListObjectsV2, HeadBucket) to any S3-compatible store: MinIO, versitygw,
 * Ceph RGW, AWS S3. URLs are path-style: <endpoint>/<bucket>/<key>.
 *
 * Threading: a client owns one CURL easy handle whose connections are kept
 * alive between requests, so a client must be used by one thread at a time;
 * create one client per thread.
 *
 * Results: every request fills a struct s3_result (`res` must not be NULL;
 * its previous content is discarded). A request that got any HTTP answer
 * returns 0 (look at http_status); a transport failure (connection refused,
 * DNS, TLS, timeout, reset) returns -1 with http_status 0, error_code "" and
 * a message. Problems on this side (bad argument, out of memory, response
 * larger than the caller's buffer) also return -1 with http_status 0, but
 * with error_code set to one of the S3_CLIENT_* codes below, so they are
 * never mistaken for transient failures (see s3_result_is_transient). */
#ifndef COMMON_S3_H
#define COMMON_S3_H

#include <stddef.h>

#include "strbuf.h"

/* error_code values for problems detected on this side (http_status 0). */
#define S3_CLIENT_INVALID_ARGUMENT "ClientInvalidArgument"
#define S3_CLIENT_OUT_OF_MEMORY "ClientOutOfMemory"
#define S3_CLIENT_BODY_TOO_LARGE "ClientBodyTooLarge"

struct s3_settings {
    const char *endpoint;   /* required: "http[s]://host[:port]", no path */
    const char *region;     /* signing region; "us-east-1" when NULL or "" */
    const char *access_key; /* required */
    const char *secret_key; /* required; copied, wiped on destroy */
    const char *ca_file;    /* optional PEM CA bundle for https endpoints */
    long timeout_ms;        /* whole-request timeout; 10000 when <= 0 */
};

struct s3_result {
    long http_status;    /* 0 when no HTTP answer was received */
    char error_code[64]; /* <Code> of an S3 error body (e.g. "AccessDenied"),
                            an S3_CLIENT_* code, or "" */
    char message[256];   /* <Message>, "HTTP <status>", or the transport
                            error; "" on success. Never holds credentials. */
};

struct s3_client;

/* Validates the settings and prepares a client. Returns NULL with a message
 * in `err` on a missing/invalid setting or allocation failure. Free with
 * s3_client_destroy. Does not contact the server. */
struct s3_client *s3_client_create(const struct s3_settings *s, char *err, size_t errlen);

/* Closes connections, wipes the stored credentials and frees the client.
 * NULL is a no-op. */
void s3_client_destroy(struct s3_client *c);

/* PUT /<bucket>/<key> with `len` bytes of `body` (body may be NULL when len
 * is 0) and the given Content-Type (application/octet-stream when NULL).
 * The payload hash is sent and signed. 0 when an HTTP answer arrived (200 on
 * success), -1 otherwise; details in *res. The body is not copied. */
int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *body,
                  size_t len, const char *content_type, struct s3_result *res);

/* GET /<bucket>/<key>. On a 2xx answer the object is appended to `body_out`
 * (when not NULL; bounded by its limit: a larger object fails with
 * S3_CLIENT_BODY_TOO_LARGE). Error bodies are parsed into *res and never
 * appended. Return as for s3_put_object. */
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, struct strbuf *body_out,
                  struct s3_result *res);

/* DELETE /<bucket>/<key> (204 on success, also for a missing key). */
int s3_delete_object(struct s3_client *c, const char *bucket, const char *key,
                     struct s3_result *res);

/* ListObjectsV2: GET /<bucket>?list-type=2[&prefix=<prefix>][&start-after=<key>].
 * One page (at most 1000 keys) of the XML answer is appended to `xml_out` on
 * 2xx; when it says <IsTruncated>true, ask again with start_after = the
 * page's last key. `prefix` and `start_after` may be NULL. Return as for
 * s3_get_object. */
int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
                    const char *start_after, struct strbuf *xml_out, struct s3_result *res);

/* HEAD /<bucket>: 200 when the bucket exists and is accessible (404 missing,
 * 403 forbidden; a HEAD answer has no error body, so error_code stays ""). */
int s3_head_bucket(struct s3_client *c, const char *bucket, struct s3_result *res);

/* 1 when retrying may succeed: transport failure (http_status 0 without a
 * client error code), 5xx, 429, 408, or an S3 error code known to be
 * transient (SlowDown, RequestTimeout, InternalError, ServiceUnavailable,
 * Throttling...). 0 for other answers (4xx, client errors, success). */
int s3_result_is_transient(const struct s3_result *res);

/* Appends `s` (n bytes) percent-encoded as SigV4/RFC 3986 require: A-Z a-z
 * 0-9 - . _ ~ are kept, '/' is kept when keep_slash is set, every other byte
 * becomes %XX (uppercase hex). 0, or -1 when `out` is full (its previous
 * content is kept). */
int s3_uri_encode(const char *s, size_t n, int keep_slash, struct strbuf *out);

/* Appends an object key encoded for the request path: s3_uri_encode with
 * '/' kept. Same contract. */
int s3_encode_key(const char *key, struct strbuf *out);

/* Extracts <Code> and <Message> of an S3 XML error body into res->error_code
 * and res->message (truncated to fit, XML entities decoded, control bytes
 * replaced by spaces). Returns 0 when a <Code> was found, -1 otherwise
 * (res fields then untouched). Other fields of *res are not changed. */
int s3_parse_error_xml(const char *xml, size_t len, struct s3_result *res);

#endif
