/* bench_util: small helpers shared by the benchmark tools in tests/bench/
 * (settings from the environment, clocks, percentiles, the Kafka settings
 * of the admin or a service user). Not used by the services. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>

struct kafka_settings;

/* The value of environment variable `name`; exits 2 with a message naming
 * the tool and the variable when it is unset or empty. */
const char *bench_env(const char *tool, const char *name);

/* The value of `name`, or `def` when unset or empty. */
const char *bench_env_or(const char *name, const char *def);

/* Seconds on CLOCK_MONOTONIC (durations) and CLOCK_REALTIME (timestamps
 * compared with other processes on this machine). */
double bench_mono(void);
double bench_real(void);

/* Sleeps until CLOCK_MONOTONIC reaches `t` (seconds); returns at once when
 * it has passed. */
void bench_sleep_until(double t);

/* Sorts v[0..n) ascending in place. */
void bench_sort(double *v, size_t n);

/* The p-th percentile (0-100, nearest rank) of sorted v[0..n); 0 when n is
 * 0. */
double bench_percentile(const double *sorted, size_t n, double p);

/* Fills *ks for SASL/SCRAM on KAFKA_BOOTSTRAP as user BENCH_KAFKA_USER
 * (password BENCH_KAFKA_PASSWORD), defaulting to the Kafka admin user of
 * scripts/local.env: benchmarks write private topics the services never
 * read. Strings point into the environment. Exits 2 when a setting is
 * missing. */
void bench_kafka_settings(const char *tool, const char *client_id, struct kafka_settings *ks);

#endif
