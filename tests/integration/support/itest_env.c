/* itest_env: environment lookups and unique names for integration tests. */
#include "itest_env.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

const char *itest_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v)
        cr_assert_fail("%s is not set: run integration suites through `make test` or "
                       "`make integration` (they load scripts/local.env)",
                       name);
    return v;
}

char *itest_unique(const char *prefix, char *out, unsigned long outlen) {
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, outlen, "%s-%ld-%ld-%u", prefix, (long)getpid(), (long)ts.tv_nsec, counter++);
    return out;
}
