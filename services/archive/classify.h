/* classify: what a failed PUT or a poison record means for the consumer.
 *
 * Transient (retry forever with backoff, pause the partition, not ready,
 * never dead-letter): no HTTP answer (connection refused, timeout, reset),
 * 5xx, 408, 429, S3 throttling codes (s3_result_is_transient), our own
 * out-of-memory, and the answers that mean the store is misconfigured
 * rather than the record bad: 401/403 (AccessDenied, InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed...) and 404 NoSuchBucket.
 * A policy or credential mistake affects every record alike; dead-lettering
 * would empty the topic into the DLQ, while waiting loses nothing, keeps
 * /readyz false and lets the lag alert page someone.
 *
 * Permanent (poison after max attempts): any other 4xx (400 InvalidArgument,
 * 411, 413 EntityTooLarge, KeyTooLongError...) and our own invalid-argument
 * errors (a key the store cannot take). */
#ifndef ARCHIVE_CLASSIFY_H
#define ARCHIVE_CLASSIFY_H

#include <stdint.h>

#include "s3.h"

enum archive_outcome {
    ARCHIVE_OUTCOME_OK = 0,
    ARCHIVE_OUTCOME_TRANSIENT = 1,
    ARCHIVE_OUTCOME_PERMANENT = 2,
};

/* Classifies the result of a PUT. */
enum archive_outcome archive_classify_put(const struct s3_result *res);

/* Short label for metrics and logs: "ok", "transient", "permanent". */
const char *archive_outcome_name(enum archive_outcome o);

enum archive_step {
    ARCHIVE_STEP_DONE = 0,  /* stored: the offset may move on */
    ARCHIVE_STEP_RETRY = 1, /* try again after a backoff delay */
    ARCHIVE_STEP_DLQ = 2,   /* dead-letter now, then the offset may move on */
};

/* What to do after attempt number `attempts` (1 = the first) ended with
 * `o`: transient failures always retry (the attempt does not count towards
 * the limit), permanent ones retry until `max_attempts` attempts were made. */
enum archive_step archive_next_step(enum archive_outcome o, uint32_t attempts,
                                    uint32_t max_attempts);

#endif
