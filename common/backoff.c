/* backoff: capped exponential backoff with full jitter (see backoff.h). */
#include "backoff.h"

uint32_t backoff_delay_ms(const struct backoff_policy *p, uint32_t attempt, uint32_t random) {
    uint64_t base = p->base_ms, cap = p->cap_ms;
    /* Attempt 0 is a caller slip; treat it as the first retry. The shift is
     * bounded first: base * 2^(attempt-1) exceeds any 32-bit cap long before
     * attempt 33, so there the ceiling is simply the cap. */
    uint32_t exp = attempt > 1 ? attempt - 1 : 0;
    uint64_t hi = exp >= 32 ? cap : base << exp;
    if (hi > cap)
        hi = cap;
    uint64_t lo = base / 2;
    if (lo > hi) /* cap < base/2: a misconfigured policy still obeys the cap */
        lo = hi;
    return (uint32_t)(lo + (uint64_t)random % (hi - lo + 1));
}
