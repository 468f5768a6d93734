/* itest_env: settings for integration tests, read from the environment that
 * scripts/local.env provides (make test and make integration export it). */
#ifndef ITEST_ENV_H
#define ITEST_ENV_H

/* Returns the value of environment variable `name`. Aborts the current test
 * with a clear message when it is unset, so a suite run outside `make test`
 * fails loudly instead of testing nothing. Never NULL. */
const char *itest_env(const char *name);

/* Fills `out` with a string unique to this process and call, for keys and
 * ids that must not collide across runs. Returns out. */
char *itest_unique(const char *prefix, char *out, unsigned long outlen);

#endif
