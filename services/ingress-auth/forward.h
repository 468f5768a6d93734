/* forward: hands an accepted order to the publisher (POST /v1/publish, see
 * services/publisher/http.h) over pooled keep-alive libcurl connections.
 *
 * Each pooled handle keeps its own connection to the publisher open between
 * requests; a caller borrows one for a single blocking exchange bounded by
 * the publish timeout. The request carries the auth context as headers:
 * Authorization: Bearer <internal token>, X-Client-Id (the authenticated
 * client), X-Request-Id and traceparent. Only a 202 with an event_id counts
 * as published; everything else (refused, reset, timeout, 503, any other
 * status or an unreadable answer) is a failure the caller answers with 503.
 * Thread-safe. */
#ifndef INGRESS_FORWARD_H
#define INGRESS_FORWARD_H

#include <stddef.h>

struct ingress_forward;

struct ingress_forward_settings {
    const char *url;   /* PUBLISHER_URL */
    const char *token; /* bearer token; copied, never logged */
    long timeout_ms;   /* whole exchange */
    long connect_timeout_ms;
    size_t pool_size; /* handles; a borrow waits at most timeout_ms for one */
};

enum ingress_forward_result {
    INGRESS_FORWARD_ACCEPTED = 0, /* publisher answered 202 with an event id */
    INGRESS_FORWARD_FAILED,       /* not committed (or not known to be): 503 */
};

/* What happened, for the answer, logs and metrics. */
struct ingress_forward_outcome {
    char event_id[64];  /* set when ACCEPTED */
    long http_status;   /* the publisher's status, 0 if none came */
    const char *reason; /* static metric label: "connect", "timeout", "io",
                         * "unavailable", "status", "bad_answer", "busy",
                         * "internal" (NULL when ACCEPTED) */
    char detail[160];   /* short human text for the log, secret-free */
};

/* Creates the pool (libcurl must be initialised with curl_global_init by the
 * caller). Returns NULL with a message in err. Free with
 * ingress_forward_destroy after every borrower returned. */
struct ingress_forward *ingress_forward_create(const struct ingress_forward_settings *s, char *err,
                                               size_t errlen);
void ingress_forward_destroy(struct ingress_forward *f);

/* POSTs `body` (body_len bytes of compact JSON) for client_id with the given
 * request id and traceparent. Blocks at most about timeout_ms. Fills *out. */
enum ingress_forward_result ingress_forward_publish(struct ingress_forward *f,
                                                    const char *client_id, const char *request_id,
                                                    const char *traceparent, const char *body,
                                                    size_t body_len,
                                                    struct ingress_forward_outcome *out);

/* Readiness: 0 when the publisher answers HTTP at all (a GET on the publish
 * URL gets its 405) within timeout_ms, -1 otherwise. Uses its own
 * connection. */
int ingress_forward_probe(struct ingress_forward *f, long timeout_ms);

#endif
