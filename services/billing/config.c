/* config: the billing consumer's cfg table and its cross-variable checks. */
#include "config.h"

#include "cfg.h"
#include "kafka_conf.h"
#include "errmsg.h"
#include "strbuf.h"

#include <string.h>

#define BILLING_CONFIG_NVARS 26
#define BILLING_TOPIC_MAX 245 /* Kafka's 249 minus the ".dlq" of the DLQ */

static int billing_config_sslmode_ok(const char *v, char *err, size_t errlen) {
    static const char *const set[] = {"disable",   "allow",       "prefer", "require",
                                      "verify-ca", "verify-full", NULL};
    return cfg_one_of(v, set, err, errlen);
}

/* Kafka topic and group names: 1..BILLING_TOPIC_MAX of [A-Za-z0-9._-]. */
static int billing_config_name_ok(const char *v, char *err, size_t errlen) {
    size_t n = strlen(v);
    if (n == 0 || n > BILLING_TOPIC_MAX ||
        strspn(v, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
        errmsg_set(err, errlen, "is not 1-%d characters of [A-Za-z0-9._-]", BILLING_TOPIC_MAX);
        return -1;
    }
    return 0;
}

/* Fills vars[] with the table bound to c (c may be NULL for usage only: the
 * dest pointers are then placeholders). Returns the number of entries. */
static size_t billing_config_table(struct billing_config *c, struct cfg_var *vars) {
    static struct billing_config dummy;
    if (!c)
        c = &dummy;
    const struct cfg_var table[BILLING_CONFIG_NVARS] = {
        CFG_ADMIN_VARS(c, "BILLING", "18101"),
        KAFKA_CFG_VARS(c, "billing"),
        {.name = "BILLING_TOPIC",
         .type = CFG_STRING,
         .def = "orders.billing",
         .dest = &c->topic,
         .validate = billing_config_name_ok,
         .help = "topic to consume; dead letters go to <topic>.dlq"},
        {.name = "BILLING_GROUP",
         .type = CFG_STRING,
         .def = "billing",
         .dest = &c->group,
         .validate = billing_config_name_ok,
         .help = "Kafka consumer group, also the key of the stored offsets"},
        {.name = "PG_HOST",
         .type = CFG_STRING,
         .def = "127.0.0.1",
         .dest = &c->pg_host,
         .help = "Postgres host"},
        {.name = "PG_PORT",
         .type = CFG_PORT,
         .def = "5432",
         .dest = &c->pg_port,
         .help = "Postgres port"},
        {.name = "PG_DATABASE",
         .type = CFG_STRING,
         .def = "orders",
         .dest = &c->pg_database,
         .help = "Postgres database"},
        {.name = "PG_USER",
         .type = CFG_STRING,
         .def = "billing",
         .dest = &c->pg_user,
         .help = "least-privilege Postgres role (SELECT/INSERT, offsets UPDATE)"},
        {.name = "PG_PASSWORD",
         .type = CFG_STRING,
         .dest = &c->pg_password,
         .flags = CFG_SECRET,
         .help = "Postgres password (use PG_PASSWORD_FILE)"},
        {.name = "PG_SSLMODE",
         .type = CFG_STRING,
         .def = "prefer",
         .dest = &c->pg_sslmode,
         .validate = billing_config_sslmode_ok,
         .help = "libpq sslmode"},
        {.name = "BILLING_BATCH_MAX",
         .type = CFG_INT,
         .def = "500",
         .min = 1,
         .max = 5000,
         .dest = &c->batch_max,
         .help = "most records written in one Postgres transaction"},
        {.name = "BILLING_BATCH_WAIT",
         .type = CFG_DURATION_MS,
         .def = "100ms",
         .min = 1,
         .max = 60000,
         .dest = &c->batch_wait_ms,
         .help = "longest a record waits for its batch to fill"},
        {.name = "BILLING_MAX_ATTEMPTS",
         .type = CFG_INT,
         .def = "3",
         .min = 1,
         .max = 100,
         .dest = &c->max_attempts,
         .help = "tries of a poison record before it goes to the DLQ"},
        {.name = "BILLING_RETRY_BASE",
         .type = CFG_DURATION_MS,
         .def = "200ms",
         .min = 1,
         .max = 600000,
         .dest = &c->retry_base_ms,
         .help = "first backoff delay after a transient failure"},
        {.name = "BILLING_RETRY_CAP",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 1,
         .max = 600000,
         .dest = &c->retry_cap_ms,
         .help = "longest backoff delay (>= BILLING_RETRY_BASE)"},
        {.name = "BILLING_PG_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 1000,
         .max = 300000,
         .dest = &c->pg_timeout_ms,
         .help = "Postgres connect and statement timeout"},
        {.name = "BILLING_DRAIN_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 100,
         .max = 300000,
         .dest = &c->drain_timeout_ms,
         .help = "on SIGTERM: time to write the in-flight batch"},
        {.name = "BILLING_STATS_INTERVAL",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 100,
         .max = 3600000,
         .dest = &c->stats_interval_ms,
         .help = "librdkafka statistics (consumer lag metric) interval"},
        {.name = "BILLING_SESSION_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "45s",
         .min = 6000,
         .max = 300000,
         .dest = &c->session_timeout_ms,
         .help = "group session timeout: how soon a crashed member's partitions move"},
        CFG_LOG_LEVEL_VAR(c),
    };
    memcpy(vars, table, sizeof table);
    return BILLING_CONFIG_NVARS;
}

int billing_config_load(struct billing_config *c, char *err, size_t errlen) {
    struct cfg_var vars[BILLING_CONFIG_NVARS];
    memset(c, 0, sizeof *c);
    size_t n = billing_config_table(c, vars);
    if (cfg_load(vars, n, err, errlen) != 0)
        return -1;
    if (c->retry_cap_ms < c->retry_base_ms) {
        errmsg_set(err, errlen, "BILLING_RETRY_CAP: %lld ms is below BILLING_RETRY_BASE (%lld ms)",
                   c->retry_cap_ms, c->retry_base_ms);
        billing_config_free(c);
        return -1;
    }
    return 0;
}

void billing_config_free(struct billing_config *c) {
    struct cfg_var vars[BILLING_CONFIG_NVARS];
    size_t n = billing_config_table(c, vars);
    cfg_free(vars, n);
    memset(c, 0, sizeof *c);
}

void billing_config_describe(struct billing_config *c, struct strbuf *out) {
    struct cfg_var vars[BILLING_CONFIG_NVARS];
    size_t n = billing_config_table(c, vars);
    cfg_describe(vars, n, out);
}

void billing_config_usage(FILE *out) {
    struct cfg_var vars[BILLING_CONFIG_NVARS];
    size_t n = billing_config_table(NULL, vars);
    cfg_usage(vars, n, out);
}
