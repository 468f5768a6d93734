/* config: ingress-auth's cfg table and the values derived from it. */
#include "config.h"

#include "cfg.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INGRESS_CONFIG_NVARS 24

int ingress_config_policy_ok(const char *v, char *err, size_t errlen) {
    static const char *const set[] = {"fail-open", "fail-closed", NULL};
    return cfg_one_of(v, set, err, errlen);
}

/* An absolute http(s) URL with a host: libcurl does the rest of the parsing. */
int ingress_config_url_ok(const char *v, char *err, size_t errlen) {
    const char *rest = NULL;
    if (strncasecmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        rest = v + 8;
    if (!rest || !*rest || *rest == '/' || strpbrk(v, " \t\r\n")) {
        snprintf(err, errlen, "is not an http:// or https:// URL");
        return -1;
    }
    return 0;
}

static int ingress_config_token_ok(const char *v, char *err, size_t errlen) {
    if (strlen(v) < 16) {
        snprintf(err, errlen, "is shorter than 16 bytes");
        return -1;
    }
    return 0;
}

/* Fills vars[] with the table bound to c (c may be NULL for usage only: the
 * dest pointers are then only placeholders). Returns the number of entries. */
static size_t ingress_config_table(struct ingress_config *c, struct cfg_var *vars) {
    static struct ingress_config dummy;
    if (!c)
        c = &dummy;
    const struct cfg_var table[INGRESS_CONFIG_NVARS] = {
        {.name = "INGRESS_BIND",
         .type = CFG_STRING,
         .def = "127.0.0.1",
         .dest = &c->bind,
         .help = "numeric address of POST /orders"},
        {.name = "INGRESS_PORT",
         .type = CFG_PORT,
         .def = "18080",
         .dest = &c->port,
         .help = "port of POST /orders"},
        CFG_ADMIN_VARS(c, "INGRESS", "18081"),
        {.name = "INGRESS_CLIENTS_FILE",
         .type = CFG_STRING,
         .dest = &c->clients_file,
         .flags = CFG_REQUIRED,
         .help = "JSON client registry (ids, secrets, rate limits); reloaded on change and SIGHUP"},
        {.name = "INGRESS_MAX_BODY",
         .type = CFG_INT,
         .def = "65536",
         .min = 2,
         .max = 16 * 1024 * 1024,
         .dest = &c->max_body,
         .help = "largest body in bytes (413 above)"},
        {.name = "INGRESS_TIMESTAMP_WINDOW",
         .type = CFG_DURATION_MS,
         .def = "300s",
         .min = 1000,
         .max = 86400000,
         .dest = &c->timestamp_window_ms,
         .help = "largest allowed distance of X-Timestamp from the server clock"},
        {.name = "INGRESS_MAX_CONNECTIONS",
         .type = CFG_INT,
         .def = "1024",
         .min = 1,
         .max = 65536,
         .dest = &c->max_connections,
         .help = "concurrent HTTP connections"},
        {.name = "INGRESS_CONNECTION_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "15s",
         .min = 1000,
         .max = 3600000,
         .dest = &c->connection_timeout_ms,
         .help = "a connection idle (or trickling) this long is closed (slowloris)"},
        {.name = "INGRESS_HTTP_THREADS",
         .type = CFG_INT,
         .def = "64",
         .min = 1,
         .max = 256,
         .dest = &c->http_threads,
         .help = "Redis and publisher pool size: requests doing that work at once"},
        {.name = "INGRESS_IDEMPOTENCY_TTL",
         .type = CFG_DURATION_MS,
         .def = "24h",
         .min = 1000,
         .max = 30LL * 86400000,
         .dest = &c->idempotency_ttl_ms,
         .help = "how long an answered order is remembered for replays"},
        {.name = "INGRESS_REDIS_POLICY",
         .type = CFG_STRING,
         .def = "fail-open",
         .dest = &c->redis_policy_name,
         .validate = ingress_config_policy_ok,
         .help = "Redis down: fail-open (serve without rate limit and idempotency) or "
                 "fail-closed (503)"},
        {.name = "REDIS_HOST",
         .type = CFG_STRING,
         .def = "127.0.0.1",
         .dest = &c->redis_host,
         .help = "Redis host"},
        {.name = "REDIS_PORT",
         .type = CFG_PORT,
         .def = "6379",
         .dest = &c->redis_port,
         .help = "Redis port"},
        {.name = "REDIS_USERNAME",
         .type = CFG_STRING,
         .def = "ingress-auth",
         .dest = &c->redis_username,
         .help = "Redis ACL user"},
        {.name = "REDIS_PASSWORD",
         .type = CFG_STRING,
         .dest = &c->redis_password,
         .flags = CFG_REQUIRED | CFG_SECRET,
         .help = "Redis ACL password (use REDIS_PASSWORD_FILE)"},
        {.name = "REDIS_KEY_PREFIX",
         .type = CFG_STRING,
         .def = "ingress:",
         .dest = &c->redis_key_prefix,
         .help = "prefix of every Redis key (the ACL user's key pattern)"},
        {.name = "REDIS_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "250ms",
         .min = 10,
         .max = 10000,
         .dest = &c->redis_timeout_ms,
         .help = "Redis connect and command timeout; beyond it the Redis-down policy applies"},
        {.name = "PUBLISHER_URL",
         .type = CFG_STRING,
         .def = "http://127.0.0.1:18090/v1/publish",
         .dest = &c->publisher_url,
         .validate = ingress_config_url_ok,
         .help = "the publisher's internal endpoint"},
        {.name = "PUBLISHER_INTERNAL_TOKEN",
         .type = CFG_STRING,
         .dest = &c->publisher_token,
         .flags = CFG_REQUIRED | CFG_SECRET,
         .validate = ingress_config_token_ok,
         .help = "bearer token for the publisher (use PUBLISHER_INTERNAL_TOKEN_FILE)"},
        {.name = "INGRESS_PUBLISH_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "8s",
         .min = 100,
         .max = 120000,
         .dest = &c->publish_timeout_ms,
         .help = "deadline of one publish call (above the publisher's commit timeout); then 503"},
        {.name = "INGRESS_RETRY_AFTER",
         .type = CFG_DURATION_MS,
         .def = "1s",
         .min = 1000,
         .max = 300000,
         .dest = &c->retry_after_ms,
         .help = "Retry-After of 503 answers"},
        {.name = "INGRESS_DRAIN_TIMEOUT",
         .type = CFG_DURATION_MS,
         .def = "10s",
         .min = 100,
         .max = 300000,
         .dest = &c->drain_timeout_ms,
         .help = "on SIGTERM: time to finish requests in flight"},
        CFG_LOG_LEVEL_VAR(c),
    };
    memcpy(vars, table, sizeof table);
    return INGRESS_CONFIG_NVARS;
}

int ingress_config_load(struct ingress_config *c, char *err, size_t errlen) {
    struct cfg_var vars[INGRESS_CONFIG_NVARS];
    memset(c, 0, sizeof *c);
    size_t n = ingress_config_table(c, vars);
    if (cfg_load(vars, n, err, errlen) != 0)
        return -1;
    c->redis_policy = strcmp(c->redis_policy_name, "fail-closed") == 0 ? INGRESS_REDIS_FAIL_CLOSED
                                                                       : INGRESS_REDIS_FAIL_OPEN;
    return 0;
}

void ingress_config_free(struct ingress_config *c) {
    struct cfg_var vars[INGRESS_CONFIG_NVARS];
    size_t n = ingress_config_table(c, vars);
    cfg_free(vars, n);
    memset(c, 0, sizeof *c);
}

void ingress_config_describe(struct ingress_config *c, struct strbuf *out) {
    struct cfg_var vars[INGRESS_CONFIG_NVARS];
    size_t n = ingress_config_table(c, vars);
    cfg_describe(vars, n, out);
}

void ingress_config_usage(FILE *out) {
    struct cfg_var vars[INGRESS_CONFIG_NVARS];
    size_t n = ingress_config_table(NULL, vars);
    cfg_usage(vars, n, out);
}
