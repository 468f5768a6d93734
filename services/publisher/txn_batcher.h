/* txn_batcher: group commit. A pool of transactional producers, each owned
 * by one Kafka thread, takes requests from one queue; requests queued
 * together share one transaction. Several producers overlap one
 * transaction's commit with the next one's produce (a single producer
 * commits one transaction at a time, and the requests of the next wait for
 * it); a producer that just committed rests PUBLISHER_TXN_REST_MS while the
 * others take the queue (txn_batcher.c says why). A producer that fails
 * leaves the queue to the others; requests are answered 503 at once only
 * when none can take them.
 *
 * For every batch (at most max_batch requests, gathered for up to linger_ms):
 *   begin_transaction; produce one copy per matching subscription of every
 *   request; flush (all copies acknowledged by the brokers); commit_transaction
 *   within the batch deadline (commit_timeout_ms after begin); then answer the
 *   whole batch PUBLISHER_COMMITTED — only after the commit returned success.
 * On any produce, delivery, flush or commit error the whole batch is answered
 * PUBLISHER_UNAVAILABLE and the transaction aborted (bounded), following
 * librdkafka's transactional error handling:
 *   - retriable (e.g. a commit timeout): the commit may still finish in the
 *     background, so it is resumed (never aborted: librdkafka forbids that);
 *     no new transaction starts, new requests get 503, until it settles;
 *   - txn_requires_abort: abort_transaction, then carry on;
 *   - fatal (fenced, ...) or anything else: the producer is destroyed and a
 *     new one created; its init_transactions fences the old epoch and aborts
 *     any transaction left open.
 * While Kafka is unreachable requests fail with 503 after at most the commit
 * deadline (or at once while the producer is not usable); intake recovers by
 * itself when Kafka comes back. Copies are flushed before commit is called, so
 * a deadline passing while messages are undelivered aborts cleanly: a
 * PUBLISHER_UNAVAILABLE answer means "not committed", except in the rare case
 * where the commit request itself was sent and did not answer in time (then
 * "not known"; a retry may publish the order twice, which consumers absorb:
 * the key (client_id, order_id) is their idempotency key). */
#ifndef PUBLISHER_TXN_BATCHER_H
#define PUBLISHER_TXN_BATCHER_H

#include <stddef.h>

struct kafka_settings;
struct publisher_request;
struct publisher_stats;
struct publisher_subs;
struct strbuf;
struct publisher_batcher;

/* The longest a request waits in the queue before its transaction starts;
 * older ones are answered 503 unpublished. ingress-auth's publish timeout
 * (INGRESS_PUBLISH_TIMEOUT, 8 s) must exceed this + linger + commit
 * timeout (PUBLISHER_COMMIT_TIMEOUT, 5 s). */
#define PUBLISHER_MAX_QUEUE_WAIT_MS 2000

/* Upper bound of publisher_batcher_settings.producers. */
#define PUBLISHER_PRODUCERS_MAX 8

struct publisher_batcher_settings {
    const struct kafka_settings *kafka; /* borrowed: must outlive the batcher */
    const char *transactional_id;       /* borrowed: must outlive the batcher */
    const struct publisher_subs *subs;  /* borrowed: must outlive the batcher */
    struct publisher_stats *stats;      /* borrowed; may be NULL */
    size_t max_batch;                   /* >= 1 */
    size_t producers;      /* transactional producers sharing the queue, 1..PUBLISHER_PRODUCERS_MAX
                              (0: 1); the first uses transactional_id, the others
                              transactional_id-<n> */
    size_t queue_capacity; /* >= 1 */
    long linger_ms;
    long commit_timeout_ms;
    struct publisher_limbo *limbo; /* borrowed; may be NULL: orders answered 503
                                      while their commit went on */
};

/* Checks the Kafka settings and starts the Kafka thread, which then creates
 * the producer and calls init_transactions (retrying until Kafka answers).
 * Returns the batcher, or NULL with a message in err[errlen]. Free with
 * publisher_batcher_stop then publisher_batcher_destroy. */
struct publisher_batcher *publisher_batcher_create(const struct publisher_batcher_settings *s,
                                                   char *err, size_t errlen);

/* Queues req for the next transaction. Returns 0: req->done(req) will be
 * called exactly once, from the Kafka thread, with req->outcome set. Returns
 * -1 when refused (producer not usable, queue full, shutting down), with a
 * short static reason in *why: done() is then never called and the caller
 * answers 503 itself. Thread-safe. */
int publisher_batcher_submit(struct publisher_batcher *b, struct publisher_request *req,
                             const char **why);

/* Readiness (admin_ready_fn): 1 when init_transactions has completed and the
 * last transaction did not fail (or Kafka answered since); else 0 with the
 * reason appended to why. Thread-safe. */
int publisher_batcher_ready(void *batcher, struct strbuf *why);

/* Graceful stop: refuses new requests, lets the Kafka thread commit what is
 * queued until deadline_ms from now, answers everything still left with
 * PUBLISHER_UNAVAILABLE and joins the thread. Afterwards no done() call is
 * pending. Idempotent. */
void publisher_batcher_stop(struct publisher_batcher *b, long deadline_ms);

/* Stops (with a zero deadline) if still running, destroys the producer and
 * frees b. NULL is a no-op. */
void publisher_batcher_destroy(struct publisher_batcher *b);

#endif
