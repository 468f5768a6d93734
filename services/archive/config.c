/* config: the archive consumer's cfg table (names agreed in
 * config-names: ARCHIVE_*, S3_*, KAFKA_*). */
#include "config.h"

#include "cfg.h"
#include "kafka_conf.h"
#include "strbuf.h"

#include <string.h>

#define ARCHIVE_CONFIG_NVARS 28

static int archive_config_mode_ok(const char *v, char *err, size_t errlen) {
    static const char *const set[] = {"object", "batch", NULL};
    return cfg_one_of(v, set, err, errlen);
}

/* Fills vars[] bound to c (NULL: placeholders, for usage). */
static size_t archive_config_table(struct archive_config *c, struct cfg_var *vars) {
    static struct archive_config dummy;
    if (!c)
        c = &dummy;
    const struct cfg_var table[ARCHIVE_CONFIG_NVARS] = {
        CFG_ADMIN_VARS(c, "ARCHIVE", "18111"),
        KAFKA_CFG_VARS(c, "archive"),
        {.name = "ARCHIVE_TOPIC",
         .type = CFG_STRING,
         .def = "orders.archive",
         .dest = &c->topic,
         .help = "topic to archive; dead letters go to <topic>.dlq"},
        {.name = "ARCHIVE_GROUP",
         .type = CFG_STRING,
         .def = "archive",
         .dest = &c->group,
         .help = "consumer group"},
        {.name = "S3_ENDPOINT",
         .type = CFG_STRING,
         .dest = &c->s3_endpoint,
         .flags = CFG_REQUIRED,
         .help = "http[s]://host[:port] of the S3-compatible store (path-style)"},
        {.name = "S3_REGION",
         .type = CFG_STRING,
         .def = "us-east-1",
         .dest = &c->s3_region,
         .help = "SigV4 signing region"},
        {.name = "S3_BUCKET",
         .type = CFG_STRING,
         .def = "orders-archive",
         .dest = &c->s3_bucket,
         .help = "bucket (the archive user needs PutObject only)"},
        {.name = "S3_ACCESS_KEY",
         .type = CFG_STRING,
         .dest = &c->s3_access_key,
         .flags = CFG_REQUIRED,
         .help = "access key of the archive store user"},
        {.name = "S3_SECRET_KEY",
         .type = CFG_STRING,
         .dest = &c->s3_secret_key,
         .flags = CFG_REQUIRED | CFG_SECRET,
         .help = "secret key (use S3_SECRET_KEY_FILE)"},
        {.name = "S3_CA_FILE",
         .type = CFG_STRING,
         .dest = &c->s3_ca_file,
         .help = "PEM CA bundle for an https endpoint"},
        {.name = "S3_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 100,
         .max = 300000,
         .dest = &c->s3_timeout_ms,
         .help = "deadline of one PUT (connect included)"},
        {.name = "ARCHIVE_MODE",
         .type = CFG_STRING,
         .def = "object",
         .dest = &c->mode_name,
         .validate = archive_config_mode_ok,
         .help = "object (one object per order) or batch (NDJSON per partition and first offset)"},
        {.name = "ARCHIVE_MAX_IN_FLIGHT",
         .type = CFG_INT,
         .def = "64",
         .min = 1,
         .max = 4096,
         .dest = &c->max_in_flight,
         .help = "most PUTs at once (object mode: also most records held)"},
        {.name = "ARCHIVE_BATCH_MAX",
         .type = CFG_INT,
         .def = "1000",
         .min = 1,
         .max = 100000,
         .dest = &c->batch_max,
         .help = "batch mode: records per object"},
        {.name = "ARCHIVE_BATCH_AGE",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 1,
         .max = 3600000,
         .dest = &c->batch_age_ms,
         .help = "batch mode: flush a batch this long after its first record"},
        {.name = "ARCHIVE_MAX_ATTEMPTS",
         .type = CFG_INT,
         .def = "3",
         .min = 1,
         .max = 100,
         .dest = &c->max_attempts,
         .help = "attempts at a poison record before it is dead-lettered"},
        {.name = "ARCHIVE_RETRY_BASE",
         .type = CFG_DURATION_MS,
         .def = "200ms",
         .min = 1,
         .max = 60000,
         .dest = &c->retry_base_ms,
         .help = "first retry delay (capped exponential backoff, jittered)"},
        {.name = "ARCHIVE_RETRY_CAP",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 1,
         .max = 600000,
         .dest = &c->retry_cap_ms,
         .help = "longest retry delay"},
        {.name = "ARCHIVE_DRAIN_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 100,
         .max = 300000,
         .dest = &c->drain_timeout_ms,
         .help = "on SIGTERM: time to finish in-flight PUTs and commit"},
        {.name = "ARCHIVE_STATS_INTERVAL",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 100,
         .max = 600000,
         .dest = &c->stats_interval_ms,
         .help = "librdkafka statistics period (consumer lag metric)"},
        {.name = "ARCHIVE_SESSION_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "45s",
         .min = 1000,
         .max = 3600000,
         .dest = &c->session_timeout_ms,
         .help = "Kafka session.timeout.ms: how soon a crashed member's partitions move on"},
        CFG_LOG_LEVEL_VAR(c),
    };
    memcpy(vars, table, sizeof table);
    return ARCHIVE_CONFIG_NVARS;
}

int archive_config_load(struct archive_config *c, char *err, size_t errlen) {
    struct cfg_var vars[ARCHIVE_CONFIG_NVARS];
    memset(c, 0, sizeof *c);
    size_t n = archive_config_table(c, vars);
    if (cfg_load(vars, n, err, errlen) != 0)
        return -1;
    if (c->retry_cap_ms < c->retry_base_ms) {
        snprintf(err, errlen, "ARCHIVE_RETRY_CAP: must not be below ARCHIVE_RETRY_BASE");
        archive_config_free(c);
        return -1;
    }
    c->mode = strcmp(c->mode_name, "batch") == 0 ? ARCHIVE_MODE_BATCH : ARCHIVE_MODE_OBJECT;
    /* dead-lettering waits for the broker; bounded like a PUT */
    c->dlq_timeout_ms = 10000;
    return 0;
}

void archive_config_free(struct archive_config *c) {
    struct cfg_var vars[ARCHIVE_CONFIG_NVARS];
    size_t n = archive_config_table(c, vars);
    cfg_free(vars, n);
    memset(c, 0, sizeof *c);
}

void archive_config_describe(struct archive_config *c, struct strbuf *out) {
    struct cfg_var vars[ARCHIVE_CONFIG_NVARS];
    size_t n = archive_config_table(c, vars);
    cfg_describe(vars, n, out);
}

void archive_config_usage(FILE *out) {
    struct cfg_var vars[ARCHIVE_CONFIG_NVARS];
    size_t n = archive_config_table(NULL, vars);
    cfg_usage(vars, n, out);
}
