/* backoff: capped exponential backoff with full jitter (the AWS
 * architecture-blog schedule), for retrying a store that is down.
 *
 * delay(attempt) = random in [base/2, min(cap, base * 2^(attempt-1))], so
 * retries of many partitions and replicas do not stampede a recovering
 * store, and the cap bounds how late a recovery is noticed. */
#ifndef COMMON_BACKOFF_H
#define COMMON_BACKOFF_H

#include <stdint.h>

struct backoff_policy {
    uint32_t base_ms; /* first delay's upper bound, > 0 */
    uint32_t cap_ms;  /* no delay exceeds it, >= base_ms */
};

/* Delay before retry number `attempt` (1 = the first retry). `random` is
 * any 32-bit random value (callers pass a thread-local PRNG output; tests
 * pass fixed values). Never overflows, whatever the attempt. */
uint32_t backoff_delay_ms(const struct backoff_policy *p, uint32_t attempt, uint32_t random);

#endif
