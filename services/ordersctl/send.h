/* send: sign and POST one order with libcurl (`ordersctl send`). */
#ifndef ORDERSCTL_SEND_H
#define ORDERSCTL_SEND_H

#include <stddef.h>

#include "strbuf.h"

struct ordersctl_opts;

#define ORDERSCTL_RESPONSE_MAX (1u << 20) /* response bytes kept; the rest is dropped */

/* What came back for one request. Header values are "" when absent. */
struct ordersctl_response {
    long status;          /* HTTP status, 0 if no response */
    char request_id[128]; /* X-Request-Id */
    char replayed[16];    /* Idempotent-Replayed */
    char retry_after[32]; /* Retry-After */
    struct strbuf body;   /* response body, at most ORDERSCTL_RESPONSE_MAX bytes */
};

/* Prepares an empty response; release with ordersctl_response_release. */
void ordersctl_response_init(struct ordersctl_response *r);

/* Frees the body. */
void ordersctl_response_release(struct ordersctl_response *r);

/* Signs `body` (at Unix time `ts`) and POSTs it to `url` with Content-Type
 * application/json and the signature headers, waiting at most timeout_s.
 * Fills *res. Returns 0 when a response arrived (whatever its status), or -1
 * with the transport error in err (connection refused, timeout...). Needs
 * curl_global_init done. */
int ordersctl_send_once(const char *url, const char *client_id, const void *secret,
                        size_t secretlen, long long ts, const void *body, size_t len,
                        double timeout_s, struct ordersctl_response *res, char *err, size_t errlen);

/* Runs `ordersctl send` with parsed options: prints the status line, the
 * headers of interest and the body to stdout. Returns ORDERSCTL_EXIT_OK on a
 * 2xx, ORDERSCTL_EXIT_FAIL on another status or a transport error,
 * ORDERSCTL_EXIT_USAGE when the secret or body cannot be read. */
int ordersctl_send_run(const struct ordersctl_opts *o);

#endif
