/* queue: bounded FIFO of publish requests with batched, lingering takes. */
#include "queue.h"

#include "request.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct publisher_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on push and close; CLOCK_MONOTONIC */
    struct publisher_request *head, *tail;
    size_t len, capacity;
    int closed;
};

struct publisher_queue *publisher_queue_create(size_t capacity) {
    struct publisher_queue *q = NULL;
    pthread_condattr_t attr;
    int attr_ok = 0, mu_ok = 0;
    if (capacity == 0)
        return NULL;
    q = calloc(1, sizeof *q);
    if (!q)
        goto fail;
    q->capacity = capacity;
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto fail;
    mu_ok = 1;
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    attr_ok = 1;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&q->cv, &attr) != 0)
        goto fail;
    pthread_condattr_destroy(&attr);
    return q;
fail:
    if (attr_ok)
        pthread_condattr_destroy(&attr);
    if (mu_ok)
        pthread_mutex_destroy(&q->mu);
    free(q);
    return NULL;
}

void publisher_queue_destroy(struct publisher_queue *q) {
    if (!q)
        return;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int publisher_queue_push(struct publisher_queue *q, struct publisher_request *req) {
    int ret = 0;
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        ret = PUBLISHER_QUEUE_CLOSED;
    } else if (q->len >= q->capacity) {
        ret = PUBLISHER_QUEUE_FULL;
    } else {
        req->next = NULL;
        if (q->tail)
            q->tail->next = req;
        else
            q->head = req;
        q->tail = req;
        q->len++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return ret;
}

/* Absolute CLOCK_MONOTONIC time `ms` from now. */
static struct timespec publisher_queue_deadline(long ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

size_t publisher_queue_take(struct publisher_queue *q, struct publisher_request **out, size_t max,
                            long linger_ms, long wait_ms) {
    size_t n = 0;
    if (max == 0)
        return 0;
    pthread_mutex_lock(&q->mu);
    if (q->len == 0 && !q->closed) {
        struct timespec until = publisher_queue_deadline(wait_ms > 0 ? wait_ms : 0);
        while (q->len == 0 && !q->closed) {
            if (wait_ms < 0)
                pthread_cond_wait(&q->cv, &q->mu);
            else if (pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0)
                break;
        }
    }
    if (q->len > 0 && q->len < max && linger_ms > 0 && !q->closed) {
        struct timespec until = publisher_queue_deadline(linger_ms);
        while (q->len < max && !q->closed)
            if (pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0)
                break;
    }
    while (n < max && q->head) {
        struct publisher_request *r = q->head;
        q->head = r->next;
        r->next = NULL;
        out[n++] = r;
        q->len--;
    }
    if (!q->head)
        q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void publisher_queue_close(struct publisher_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

size_t publisher_queue_len(struct publisher_queue *q) {
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int publisher_queue_is_closed(struct publisher_queue *q) {
    pthread_mutex_lock(&q->mu);
    int c = q->closed;
    pthread_mutex_unlock(&q->mu);
    return c;
}
