/* config: ingress-auth's settings, one declarative cfg table read from the
 * environment at start (see `ingress-auth --help` for the list). */
#ifndef INGRESS_CONFIG_H
#define INGRESS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

enum ingress_redis_policy {
    INGRESS_REDIS_FAIL_OPEN = 0, /* Redis down: skip rate limit and idempotency */
    INGRESS_REDIS_FAIL_CLOSED,   /* Redis down: answer 503 */
};

struct ingress_config {
    char *bind;       /* INGRESS_BIND */
    int port;         /* INGRESS_PORT */
    char *admin_bind; /* INGRESS_ADMIN_BIND */
    int admin_port;   /* INGRESS_ADMIN_PORT */
    char *clients_file;
    long long max_body;
    long long timestamp_window_ms;
    long long max_connections;
    long long connection_timeout_ms;
    long long http_threads;
    long long idempotency_ttl_ms;
    char *redis_policy_name; /* INGRESS_REDIS_POLICY text */
    enum ingress_redis_policy redis_policy;
    char *redis_host;
    int redis_port;
    char *redis_username;
    char *redis_password; /* secret */
    char *redis_key_prefix;
    long long redis_timeout_ms;
    char *publisher_url;
    char *publisher_token; /* PUBLISHER_INTERNAL_TOKEN (secret) */
    long long publish_timeout_ms;
    long long retry_after_ms;
    long long drain_timeout_ms;
    char *log_level;
};

/* Loads every setting from the environment into c (zeroed first). Returns 0,
 * or -1 with a message naming the variable in err[errlen] (nothing is kept
 * then). Free with ingress_config_free after a success. */
int ingress_config_load(struct ingress_config *c, char *err, size_t errlen);

/* Frees the strings (wiping secrets) and zeroes c. Safe to call twice. */
void ingress_config_free(struct ingress_config *c);

/* Appends the effective settings as one JSON object, secrets redacted. */
void ingress_config_describe(struct ingress_config *c, struct strbuf *out);

/* Prints the table of variables, types, defaults and help to `out`. */
void ingress_config_usage(FILE *out);

/* Validators, exposed for the unit tests: 0 if valid, else -1 with a phrase
 * in err (cfg_validate_fn contract). */
int ingress_config_policy_ok(const char *v, char *err, size_t errlen);
int ingress_config_url_ok(const char *v, char *err, size_t errlen);

#endif
