/* Unit tests for services/publisher/queue: batch assembly limits, back-pressure,
 * close, linger. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../../../services/publisher/queue.h"
#include "../../../services/publisher/request.h"

#define PQUEUE_N 600

static struct publisher_queue *pqueue;
static struct publisher_request pqueue_reqs[PQUEUE_N];
static struct publisher_request *pqueue_out[PQUEUE_N];

static void pqueue_setup(void) {
    memset(pqueue_reqs, 0, sizeof pqueue_reqs);
    pqueue = NULL;
}

static void pqueue_teardown(void) {
    publisher_queue_destroy(pqueue);
}

static long pqueue_ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

TestSuite(publisher_queue, .init = pqueue_setup, .fini = pqueue_teardown);

Test(publisher_queue, batches_are_capped_and_fifo) {
    pqueue = publisher_queue_create(PQUEUE_N);
    cr_assert_not_null(pqueue);
    for (size_t i = 0; i < 300; i++)
        cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[i]), 0);
    cr_assert_eq(publisher_queue_len(pqueue), 300);
    size_t n = publisher_queue_take(pqueue, pqueue_out, 256, 0, 0);
    cr_assert_eq(n, 256);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pqueue_out[i], &pqueue_reqs[i], "slot %zu out of order", i);
    n = publisher_queue_take(pqueue, pqueue_out, 256, 0, 0);
    cr_assert_eq(n, 44);
    cr_assert_eq(pqueue_out[0], &pqueue_reqs[256]);
    cr_assert_eq(pqueue_out[43], &pqueue_reqs[299]);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 256, 0, 0), 0);
    cr_assert_eq(publisher_queue_len(pqueue), 0);
}

Test(publisher_queue, batch_of_one) {
    pqueue = publisher_queue_create(4);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[i]), 0);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 1, 50, 0), 1);
        cr_assert_eq(pqueue_out[0], &pqueue_reqs[i]);
    }
}

Test(publisher_queue, full_queue_refuses_at_once) {
    pqueue = publisher_queue_create(3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[i]), 0);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[3]), PUBLISHER_QUEUE_FULL);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 2, 0, 0), 2);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[3]), 0);
    cr_assert_eq(publisher_queue_len(pqueue), 2);
}

Test(publisher_queue, closed_queue_refuses_but_drains) {
    pqueue = publisher_queue_create(8);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[0]), 0);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[1]), 0);
    publisher_queue_close(pqueue);
    publisher_queue_close(pqueue);
    cr_assert(publisher_queue_is_closed(pqueue));
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[2]), PUBLISHER_QUEUE_CLOSED);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 8, 500, -1), 2); /* no linger */
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 8, 500, -1), 0); /* no wait */
    cr_assert_lt(pqueue_ms_since(&t0), 200);
}

Test(publisher_queue, empty_take_times_out) {
    pqueue = publisher_queue_create(8);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 8, 0, 60), 0);
    long ms = pqueue_ms_since(&t0);
    cr_assert_geq(ms, 55);
    cr_assert_lt(ms, 1000);
}

Test(publisher_queue, linger_waits_for_a_partial_batch) {
    pqueue = publisher_queue_create(8);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[0]), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 8, 80, 0), 1);
    long ms = pqueue_ms_since(&t0);
    cr_assert_geq(ms, 75, "lingered only %ld ms", ms);
    cr_assert_lt(ms, 1000);
}

Test(publisher_queue, full_batch_does_not_linger) {
    pqueue = publisher_queue_create(8);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[i]), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(publisher_queue_take(pqueue, pqueue_out, 4, 5000, 0), 4);
    cr_assert_lt(pqueue_ms_since(&t0), 500);
}

static void *pqueue_late_pusher(void *arg) {
    (void)arg;
    struct timespec d = {0, 20 * 1000000L};
    nanosleep(&d, NULL);
    publisher_queue_push(pqueue, &pqueue_reqs[1]);
    publisher_queue_push(pqueue, &pqueue_reqs[2]);
    return NULL;
}

Test(publisher_queue, requests_arriving_during_linger_join_the_batch) {
    pthread_t t;
    pqueue = publisher_queue_create(8);
    cr_assert_eq(publisher_queue_push(pqueue, &pqueue_reqs[0]), 0);
    cr_assert_eq(pthread_create(&t, NULL, pqueue_late_pusher, NULL), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n = publisher_queue_take(pqueue, pqueue_out, 3, 2000, 0);
    pthread_join(t, NULL);
    cr_assert_eq(n, 3);
    cr_assert_eq(pqueue_out[2], &pqueue_reqs[2]);
    cr_assert_lt(pqueue_ms_since(&t0), 1000, "a full batch must end the linger");
}

Test(publisher_queue, zero_capacity_is_refused) {
    cr_assert_null(publisher_queue_create(0));
}
