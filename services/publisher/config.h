/* config: the publisher's settings, one declarative cfg table read from the
 * environment at start (see `publisher --help` for the list). */
#ifndef PUBLISHER_CONFIG_H
#define PUBLISHER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

struct publisher_config {
    char *bind;       /* PUBLISHER_BIND */
    int port;         /* PUBLISHER_PORT */
    char *admin_bind; /* PUBLISHER_ADMIN_BIND */
    int admin_port;   /* PUBLISHER_ADMIN_PORT */
    char *token;      /* PUBLISHER_INTERNAL_TOKEN (secret) */
    char *bootstrap;  /* KAFKA_BOOTSTRAP */
    char *security_protocol;
    char *sasl_mechanism;
    char *username;
    char *password; /* KAFKA_PASSWORD (secret) */
    char *ca_file;
    char *transactional_id; /* default "publisher-<hostname>" */
    char *subscriptions;
    char *filters; /* PUBLISHER_FILTERS JSON, normally from PUBLISHER_FILTERS_FILE */
    long long max_batch;
    long long producers;
    long long queue_capacity;
    long long linger_ms;
    long long commit_timeout_ms;
    long long max_body;
    long long max_connections;
    long long connection_timeout_ms;
    long long http_threads;
    long long retry_after_ms;
    long long drain_timeout_ms;
    char *log_level;
};

/* Loads every setting from the environment into c (zeroed first). Returns 0,
 * or -1 with a message naming the variable in err[errlen] (nothing is kept
 * then). Free with publisher_config_free after a success. */
int publisher_config_load(struct publisher_config *c, char *err, size_t errlen);

/* Frees the strings (wiping secrets) and zeroes c. Safe to call twice. */
void publisher_config_free(struct publisher_config *c);

/* Appends the effective settings as one JSON object, secrets redacted. */
void publisher_config_describe(struct publisher_config *c, struct strbuf *out);

/* Prints the table of variables, types, defaults and help to `out`. */
void publisher_config_usage(FILE *out);

#endif
