/* config: the publisher's cfg table and its derived defaults. */
#include "config.h"
#include "txn_batcher.h"

#include "cfg.h"
#include "kafka_conf.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUBLISHER_CONFIG_NVARS 26
#define PUBLISHER_TXN_PREFIX "publisher-"

static int publisher_config_token_ok(const char *v, char *err, size_t errlen) {
    if (strlen(v) < 16) {
        snprintf(err, errlen, "is shorter than 16 bytes");
        return -1;
    }
    return 0;
}

/* Fills vars[] with the table bound to c (c may be NULL for usage only: the
 * dest pointers are then only placeholders). Returns the number of entries. */
static size_t publisher_config_table(struct publisher_config *c, struct cfg_var *vars) {
    static struct publisher_config dummy;
    if (!c)
        c = &dummy;
    const struct cfg_var table[PUBLISHER_CONFIG_NVARS] = {
        {.name = "PUBLISHER_BIND",
         .type = CFG_STRING,
         .def = "127.0.0.1",
         .dest = &c->bind,
         .help = "numeric address of the publish endpoint"},
        {.name = "PUBLISHER_PORT",
         .type = CFG_PORT,
         .def = "18090",
         .dest = &c->port,
         .help = "port of POST /v1/publish"},
        CFG_ADMIN_VARS(c, "PUBLISHER", "18091"),
        {.name = "PUBLISHER_INTERNAL_TOKEN",
         .type = CFG_STRING,
         .dest = &c->token,
         .flags = CFG_REQUIRED | CFG_SECRET,
         .validate = publisher_config_token_ok,
         .help = "bearer token ingress-auth presents (use PUBLISHER_INTERNAL_TOKEN_FILE)"},
        KAFKA_CFG_VARS(c, "publisher"),
        {.name = "PUBLISHER_TRANSACTIONAL_ID",
         .type = CFG_STRING,
         .dest = &c->transactional_id,
         .help = "Kafka transactional.id, stable across restarts (default publisher-<hostname>)"},
        {.name = "PUBLISHER_SUBSCRIPTIONS",
         .type = CFG_STRING,
         .def = "billing=orders.billing,archive=orders.archive",
         .dest = &c->subscriptions,
         .help = "name=topic[,name=topic...]"},
        {.name = "PUBLISHER_FILTERS",
         .type = CFG_STRING,
         .dest = &c->filters,
         .help = "JSON {name: filter policy} (use PUBLISHER_FILTERS_FILE)"},
        {.name = "PUBLISHER_MAX_BATCH",
         .type = CFG_INT,
         .def = "256",
         .min = 1,
         .max = 10000,
         .dest = &c->max_batch,
         .help = "most requests sharing one transaction"},
        {.name = "PUBLISHER_PRODUCERS",
         .type = CFG_INT,
         .def = "2",
         .min = 1,
         .max = PUBLISHER_PRODUCERS_MAX,
         .dest = &c->producers,
         .help = "transactional producers sharing the queue (one commits while another produces)"},
        {.name = "PUBLISHER_QUEUE_CAPACITY",
         .type = CFG_INT,
         .def = "4096",
         .min = 1,
         .max = 1000000,
         .dest = &c->queue_capacity,
         .help = "most requests waiting for a transaction; beyond: 503"},
        {.name = "PUBLISHER_LINGER",
         .type = CFG_DURATION_MS,
         .def = "2ms",
         .min = 0,
         .max = 1000,
         .dest = &c->linger_ms,
         .help = "wait for more requests to join a batch"},
        {.name = "PUBLISHER_COMMIT_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 100,
         .max = 50000,
         .dest = &c->commit_timeout_ms,
         .help = "deadline of one transaction (produce + commit); beyond: 503"},
        {.name = "PUBLISHER_MAX_BODY",
         .type = CFG_INT,
         .def = "65536",
         .min = 2,
         .max = 16 * 1024 * 1024,
         .dest = &c->max_body,
         .help = "largest body in bytes (413)"},
        {.name = "PUBLISHER_MAX_CONNECTIONS",
         .type = CFG_INT,
         .def = "1024",
         .min = 1,
         .max = 65536,
         .dest = &c->max_connections,
         .help = "concurrent HTTP connections"},
        {.name = "PUBLISHER_CONNECTION_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "30s",
         .min = 1000,
         .max = 3600000,
         .dest = &c->connection_timeout_ms,
         .help = "idle HTTP connection timeout"},
        {.name = "PUBLISHER_HTTP_THREADS",
         .type = CFG_INT,
         .def = "2",
         .min = 1,
         .max = 64,
         .dest = &c->http_threads,
         .help = "HTTP server threads"},
        {.name = "PUBLISHER_RETRY_AFTER",
         .type = CFG_DURATION_MS,
         .def = "1s",
         .min = 1000,
         .max = 300000,
         .dest = &c->retry_after_ms,
         .help = "Retry-After of 503 answers"},
        {.name = "PUBLISHER_DRAIN_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 100,
         .max = 300000,
         .dest = &c->drain_timeout_ms,
         .help = "on SIGTERM: time to finish queued requests"},
        CFG_LOG_LEVEL_VAR(c),
    };
    memcpy(vars, table, sizeof table);
    return PUBLISHER_CONFIG_NVARS;
}

/* Sets the default transactional id "publisher-<hostname>" when unset. */
static int publisher_config_default_txn_id(struct publisher_config *c, char *err, size_t errlen) {
    char host[256];
    if (c->transactional_id && *c->transactional_id)
        return 0;
    if (gethostname(host, sizeof host) != 0 || !host[0]) {
        snprintf(err, errlen, "PUBLISHER_TRANSACTIONAL_ID: not set and the hostname is unknown");
        return -1;
    }
    host[sizeof host - 1] = '\0';
    size_t n = sizeof PUBLISHER_TXN_PREFIX + strlen(host);
    char *id = malloc(n);
    if (!id) {
        snprintf(err, errlen, "PUBLISHER_TRANSACTIONAL_ID: out of memory");
        return -1;
    }
    snprintf(id, n, "%s%s", PUBLISHER_TXN_PREFIX, host);
    free(c->transactional_id);
    c->transactional_id = id;
    return 0;
}

int publisher_config_load(struct publisher_config *c, char *err, size_t errlen) {
    struct cfg_var vars[PUBLISHER_CONFIG_NVARS];
    memset(c, 0, sizeof *c);
    size_t n = publisher_config_table(c, vars);
    if (cfg_load(vars, n, err, errlen) != 0)
        return -1;
    if (publisher_config_default_txn_id(c, err, errlen) != 0) {
        publisher_config_free(c);
        return -1;
    }
    return 0;
}

void publisher_config_free(struct publisher_config *c) {
    struct cfg_var vars[PUBLISHER_CONFIG_NVARS];
    size_t n = publisher_config_table(c, vars);
    cfg_free(vars, n);
    memset(c, 0, sizeof *c);
}

void publisher_config_describe(struct publisher_config *c, struct strbuf *out) {
    struct cfg_var vars[PUBLISHER_CONFIG_NVARS];
    size_t n = publisher_config_table(c, vars);
    cfg_describe(vars, n, out);
}

void publisher_config_usage(FILE *out) {
    struct cfg_var vars[PUBLISHER_CONFIG_NVARS];
    size_t n = publisher_config_table(NULL, vars);
    cfg_usage(vars, n, out);
}
