/* cfg: declarative configuration from environment variables, parsed once at start.
 *
 * A service describes its settings in one table and loads it first thing in
 * main():
 *
 *   static struct { char *bootstrap; int port; long long timeout_ms; char *pass; } conf;
 *   static const struct cfg_var vars[] = {
 *       {.name = "PUBLISHER_PORT", .type = CFG_PORT, .def = "18090", .dest = &conf.port,
 *        .help = "HTTP listen port"},
 *       {.name = "KAFKA_TIMEOUT", .type = CFG_DURATION_MS, .def = "5s", .min = 100,
 *        .max = 60000, .dest = &conf.timeout_ms, .help = "commit timeout"},
 *       {.name = "KAFKA_PASSWORD", .type = CFG_STRING, .dest = &conf.pass,
 *        .flags = CFG_REQUIRED | CFG_SECRET, .help = "SCRAM password"},
 *   };
 *   cfg_load_or_exit(vars, sizeof vars / sizeof vars[0], "publisher");
 *   ...
 *   cfg_free(vars, sizeof vars / sizeof vars[0]);
 *
 * Every variable NAME may instead be given as NAME_FILE=<path> (the Kubernetes
 * convention for mounted secrets): the value is the file's content, at most
 * CFG_FILE_MAX bytes, with one trailing "\n" or "\r\n" removed. Setting both
 * NAME and NAME_FILE is an error.
 *
 * Parsing is strict: no surrounding blanks, no trailing garbage, no empty
 * numbers, no overflow. Error messages name the variable, the bad value (never
 * for CFG_SECRET) and what was expected:
 *   PUBLISHER_PORT: "70000" is not a port (1-65535) */
#ifndef COMMON_CFG_H
#define COMMON_CFG_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

/* Largest value accepted from a NAME_FILE file. */
#define CFG_FILE_MAX (64 * 1024)

enum cfg_type {
    CFG_STRING,      /* dest: char ** — heap copy (NULL if unset), freed by cfg_free */
    CFG_INT,         /* dest: long long * — decimal, optional leading '-' */
    CFG_BOOL,        /* dest: bool * — true/false, 1/0, yes/no, on/off (any case) */
    CFG_DURATION_MS, /* dest: long long * — milliseconds; "250ms", "5s", "2m", "1h" or "250" */
    CFG_PORT,        /* dest: int * — 1 to 65535 */
};

/* flags */
#define CFG_REQUIRED 0x1u /* must be set (no default); empty strings rejected too */
#define CFG_SECRET 0x2u   /* value never printed: not in errors, usage or describe */

/* Extra check run on the text of a value that parsed. Returns 0 if valid, or
 * nonzero after writing into err[errlen] a phrase that completes
 * `NAME: "value" ...`, e.g. "is not one of: a, b". It must not copy the value
 * into err (for secrets cfg replaces such a message anyway). */
typedef int (*cfg_validate_fn)(const char *value, char *err, size_t errlen);

struct cfg_var {
    const char *name; /* environment variable, at most CFG_NAME_MAX-6 bytes */
    enum cfg_type type;
    const char *def; /* default as text, parsed like a value; NULL: none */
    /* CFG_INT and CFG_DURATION_MS: inclusive bounds, applied unless both are
     * 0. Durations are never negative. */
    long long min, max;
    void *dest; /* see enum cfg_type */
    const char *help;
    unsigned flags;
    cfg_validate_fn validate; /* optional */
};

#define CFG_NAME_MAX 128

/* Reads every variable of the table into its dest. An optional variable that
 * is unset and has no default gets NULL / 0 / false. Returns 0, or -1 with a
 * message in err[errlen] for the first bad variable; on failure no memory is
 * kept (strings already loaded are freed and their dest set to NULL), other
 * dest values are unspecified. Call cfg_free() after a success. */
int cfg_load(const struct cfg_var *vars, size_t n, char *err, size_t errlen);

/* cfg_load(), or on failure prints "<service>: config error: <msg>" to stderr
 * and exits with status 2. */
void cfg_load_or_exit(const struct cfg_var *vars, size_t n, const char *service);

/* Frees the CFG_STRING values (wiping CFG_SECRET ones first) and sets their
 * dest to NULL. Safe to call twice. */
void cfg_free(const struct cfg_var *vars, size_t n);

/* Appends a JSON object of the effective values to `out`, e.g.
 * {"PORT":18090,"DEBUG":false,"PASSWORD":"<redacted>"}: numbers and booleans
 * as JSON, strings escaped, unset strings null, secrets "<redacted>" when set.
 * Check out->overflow if it may not fit. */
void cfg_describe(const struct cfg_var *vars, size_t n, struct strbuf *out);

/* Prints a help table (name, type, default, description) to `out`. */
void cfg_usage(const struct cfg_var *vars, size_t n, FILE *out);

/* Validator helper: returns 0 if `value` equals (case-sensitively) one of the
 * strings of the NULL-terminated `set`, else -1 with "is not one of: a, b, c"
 * in err. Wrap it in a cfg_validate_fn:
 *
 *   static int level_ok(const char *v, char *err, size_t errlen) {
 *       static const char *const set[] = {"debug", "info", "warn", "error", NULL};
 *       return cfg_one_of(v, set, err, errlen);
 *   } */
int cfg_one_of(const char *value, const char *const *set, char *err, size_t errlen);

/* Validator of LOG_LEVEL: the names log_init accepts. */
int cfg_log_level_ok(const char *value, char *err, size_t errlen);

/* Table entries every service has, for its config struct c (members
 * admin_bind, admin_port, log_level): <prefix>_ADMIN_BIND and
 * <prefix>_ADMIN_PORT of the admin server (/healthz /readyz /metrics), and
 * LOG_LEVEL. */
// clang-format off
#define CFG_ADMIN_VARS(c, prefix, default_port)                                                     \
    {.name = prefix "_ADMIN_BIND", .type = CFG_STRING, .def = "127.0.0.1", .dest = &(c)->admin_bind, \
     .help = "numeric address of /healthz /readyz /metrics"},                                      \
    {.name = prefix "_ADMIN_PORT", .type = CFG_PORT, .def = default_port, .dest = &(c)->admin_port, \
     .help = "admin port"}
#define CFG_LOG_LEVEL_VAR(c)                                                                        \
    {.name = "LOG_LEVEL", .type = CFG_STRING, .def = "info", .dest = &(c)->log_level,               \
     .validate = cfg_log_level_ok, .help = "debug, info, warn or error"}
// clang-format on

#endif
