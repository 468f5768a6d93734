/* ordersctl_fake_server: a libmicrohttpd stand-in for ingress-auth in the ordersctl tests.
 *
 * Listens on an ephemeral 127.0.0.1 port, one thread per connection. Every
 * POST /orders is checked as the real service would: Content-Type, client
 * id, and the HMAC signature recomputed independently from the raw body.
 * It records every order_id so tests can assert uniqueness, counts
 * connections (keep-alive reuse), and answers according to `mode`. */
#ifndef TESTS_UNIT_ORDERSCTL_FAKE_SERVER_H
#define TESTS_UNIT_ORDERSCTL_FAKE_SERVER_H

#include <pthread.h>
#include <stddef.h>

enum ordersctl_fake_mode {
    ORDERSCTL_FAKE_ACCEPT = 0,     /* 202 {"order_id","event_id","status":"accepted"} */
    ORDERSCTL_FAKE_EVERY_10TH_503, /* requests 10, 20, ... get 503 with Retry-After: 1 */
    ORDERSCTL_FAKE_REPLAY,         /* 202 with Idempotent-Replayed: true */
};

struct ordersctl_fake {
    /* set before start */
    const char *secret;
    enum ordersctl_fake_mode mode;
    unsigned delay_ms; /* sleep before answering each request */
    /* results, read after stop */
    unsigned long requests;      /* complete POST /orders received */
    unsigned long bad_signature; /* answered 401 */
    unsigned long bad_request;   /* wrong method, path, content type or body */
    unsigned long connections;   /* TCP connections accepted */
    char **ids;                  /* order ids in arrival order */
    size_t nids, capids;
    /* internal */
    int port;
    void *daemon;
    pthread_mutex_t mu;
};

/* Starts serving (f->port is set). 0 or -1. */
int ordersctl_fake_start(struct ordersctl_fake *f);

/* Stops the daemon (waits for its threads). The results stay readable
 * until ordersctl_fake_release. */
void ordersctl_fake_stop(struct ordersctl_fake *f);

/* Frees the recorded ids. */
void ordersctl_fake_release(struct ordersctl_fake *f);

/* Number of ids recorded more than once (sorts f->ids). */
size_t ordersctl_fake_duplicates(struct ordersctl_fake *f);

/* Writes "http://127.0.0.1:<port>/orders" into buf[cap]. Returns buf. */
char *ordersctl_fake_url(const struct ordersctl_fake *f, char *buf, size_t cap);

#endif
