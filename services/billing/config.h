/* config: the billing consumer's settings, one declarative cfg table read
 * from the environment at start (see `billing --help` for the list). */
#ifndef BILLING_CONFIG_H
#define BILLING_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

struct billing_config {
    char *admin_bind; /* BILLING_ADMIN_BIND */
    int admin_port;   /* BILLING_ADMIN_PORT */
    char *bootstrap;  /* KAFKA_BOOTSTRAP */
    char *security_protocol;
    char *sasl_mechanism;
    char *username;
    char *password; /* KAFKA_PASSWORD (secret) */
    char *ca_file;
    char *topic; /* BILLING_TOPIC */
    char *group; /* BILLING_GROUP */
    char *pg_host;
    int pg_port;
    char *pg_database;
    char *pg_user;
    char *pg_password; /* PG_PASSWORD (secret) */
    char *pg_sslmode;
    long long batch_max;        /* records per Postgres transaction */
    long long batch_wait_ms;    /* oldest record waits at most this long */
    long long max_attempts;     /* poison: tries before the DLQ */
    long long retry_base_ms;    /* backoff of transient failures */
    long long retry_cap_ms;     /* its upper bound */
    long long pg_timeout_ms;    /* connect and statement timeout */
    long long drain_timeout_ms; /* SIGTERM: finish the batch within it */
    long long stats_interval_ms;
    long long session_timeout_ms; /* Kafka session.timeout.ms */
    char *log_level;
};

/* Loads every setting from the environment into c (zeroed first) and checks
 * the rules that span variables (BILLING_RETRY_CAP >= BILLING_RETRY_BASE).
 * Returns 0, or -1 with a message naming the variable in err[errlen]
 * (nothing is kept then). Free with billing_config_free after a success. */
int billing_config_load(struct billing_config *c, char *err, size_t errlen);

/* Frees the strings (wiping secrets) and zeroes c. Safe to call twice. */
void billing_config_free(struct billing_config *c);

/* Appends the effective settings as one JSON object, secrets redacted. */
void billing_config_describe(struct billing_config *c, struct strbuf *out);

/* Prints the table of variables, types, defaults and help to `out`. */
void billing_config_usage(FILE *out);

#endif
