#include "limbo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

struct publisher_limbo_entry {
    char client_id[PUBLISHER_CE_ID_MAX + 1];
    char order_id[PUBLISHER_CE_ID_MAX + 1];
    unsigned char body_sha256[CRYPTO_SHA256_LEN];
    char event_id[37];
    char ce_time[PUBLISHER_CE_TIME_LEN + 1];
    enum publisher_limbo_state state; /* NONE: free slot */
    unsigned owner;                   /* the producer whose commit decides it */
    long long expires_ms;
};

struct publisher_limbo {
    pthread_mutex_t mu;
    struct publisher_limbo_entry *e; /* a ring: next is the oldest slot */
    size_t cap, next, used;
    long long ttl_ms;
};

struct publisher_limbo *publisher_limbo_create(size_t capacity, long long ttl_ms) {
    if (capacity == 0 || ttl_ms <= 0)
        return NULL;
    struct publisher_limbo *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->e = calloc(capacity, sizeof *l->e);
    if (!l->e || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l->e);
        free(l);
        return NULL;
    }
    l->cap = capacity;
    l->ttl_ms = ttl_ms;
    return l;
}

void publisher_limbo_destroy(struct publisher_limbo *l) {
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->e);
    free(l);
}

size_t publisher_limbo_hold(struct publisher_limbo *l, unsigned owner,
                            struct publisher_request *const *reqs, size_t n, long long now_ms) {
    size_t held = 0;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < n; i++) {
        const struct publisher_request *r = reqs[i];
        struct publisher_limbo_entry *e = &l->e[l->next];
        if (crypto_sha256(r->body, r->body_len, e->body_sha256) != 0)
            continue;
        if (e->state == PUBLISHER_LIMBO_NONE)
            l->used++;
        memcpy(e->client_id, r->client_id, sizeof e->client_id);
        memcpy(e->order_id, r->order_id, sizeof e->order_id);
        memcpy(e->event_id, r->event_id, sizeof e->event_id);
        memcpy(e->ce_time, r->ce_time, sizeof e->ce_time);
        e->state = PUBLISHER_LIMBO_PENDING;
        e->owner = owner;
        e->expires_ms = now_ms + l->ttl_ms;
        l->next = (l->next + 1) % l->cap;
        held++;
    }
    pthread_mutex_unlock(&l->mu);
    return held;
}

void publisher_limbo_resolve(struct publisher_limbo *l, unsigned owner, int committed) {
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->cap; i++) {
        struct publisher_limbo_entry *e = &l->e[i];
        if (e->state != PUBLISHER_LIMBO_PENDING || e->owner != owner)
            continue;
        if (committed) {
            e->state = PUBLISHER_LIMBO_COMMITTED;
        } else {
            e->state = PUBLISHER_LIMBO_NONE;
            l->used--;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

enum publisher_limbo_state publisher_limbo_find(struct publisher_limbo *l,
                                                struct publisher_request *req, const char *body,
                                                size_t body_len, long long now_ms) {
    enum publisher_limbo_state st = PUBLISHER_LIMBO_NONE;
    unsigned char h[CRYPTO_SHA256_LEN];
    pthread_mutex_lock(&l->mu);
    if (l->used == 0) { /* the normal case: nothing was ever ambiguous */
        pthread_mutex_unlock(&l->mu);
        return st;
    }
    int hashed = 0;
    /* Newest first: a later hold of the same order wins. */
    for (size_t k = 1; k <= l->cap; k++) {
        struct publisher_limbo_entry *e = &l->e[(l->next + l->cap - k) % l->cap];
        if (e->state == PUBLISHER_LIMBO_NONE || e->expires_ms <= now_ms ||
            strcmp(e->order_id, req->order_id) != 0 || strcmp(e->client_id, req->client_id) != 0)
            continue;
        if (!hashed) {
            if (crypto_sha256(body, body_len, h) != 0)
                break;
            hashed = 1;
        }
        if (memcmp(h, e->body_sha256, sizeof h) != 0)
            break; /* another body: not this order's retry, publish it */
        st = e->state;
        if (st == PUBLISHER_LIMBO_COMMITTED) {
            memcpy(req->event_id, e->event_id, sizeof req->event_id);
            memcpy(req->ce_time, e->ce_time, sizeof req->ce_time);
        }
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}

size_t publisher_limbo_size(struct publisher_limbo *l) {
    pthread_mutex_lock(&l->mu);
    size_t n = l->used;
    pthread_mutex_unlock(&l->mu);
    return n;
}
