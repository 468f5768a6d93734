/* config: the archive consumer's settings (environment, cfg table). */
#ifndef ARCHIVE_CONFIG_H
#define ARCHIVE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

enum archive_mode {
    ARCHIVE_MODE_OBJECT = 0, /* one object per order */
    ARCHIVE_MODE_BATCH = 1,  /* NDJSON objects per topic/partition/first offset */
};

struct archive_config {
    char *admin_bind;
    int admin_port;
    char *bootstrap, *security_protocol, *sasl_mechanism, *username, *password, *ca_file;
    char *topic, *group;
    char *s3_endpoint, *s3_region, *s3_bucket, *s3_access_key, *s3_secret_key, *s3_ca_file;
    long long s3_timeout_ms;
    char *mode_name;
    enum archive_mode mode; /* derived from mode_name */
    long long max_in_flight;
    long long batch_max;
    long long batch_age_ms;
    long long max_attempts;
    long long retry_base_ms, retry_cap_ms;
    long long dlq_timeout_ms;
    long long drain_timeout_ms;
    long long stats_interval_ms;
    long long session_timeout_ms;
    char *log_level;
};

/* Loads the configuration from the environment. Returns 0, or -1 with a
 * message naming the variable in err (nothing is kept then). Free with
 * archive_config_free. */
int archive_config_load(struct archive_config *c, char *err, size_t errlen);

/* Frees the strings (secrets wiped) and empties *c. Safe twice. */
void archive_config_free(struct archive_config *c);

/* Appends the effective settings as JSON, secrets redacted. */
void archive_config_describe(struct archive_config *c, struct strbuf *out);

/* Prints the variable table for --help. */
void archive_config_usage(FILE *out);

#endif
