/* log: structured JSON logging, one object per line, to stdout.
 *
 * Every line is a single JSON object:
 *   {"ts":"2026-11-27T10:52:05.123Z","level":"info","service":"billing",
 *    "msg":"...","request_id":"...","trace_id":"..."}
 * request_id / trace_id appear only when set for the calling thread with
 * log_context_set(). Every string goes through strbuf_json_escape, so lines are
 * valid JSON whatever the message holds (quotes, control bytes, invalid UTF-8).
 * A line is at most LOG_LINE_MAX bytes: a longer message is cut and the line
 * gets "truncated":true. Each line is written with one fwrite + fflush under a
 * mutex, so lines from several threads never interleave.
 *
 * Use the LOG_* macros: they test the level before the arguments are even
 * evaluated, and the format string is checked by the compiler.
 *
 *   LOG_INFO("consumed %zu messages from %s", n, topic);
 *
 * NEVER LOG A SECRET. This module has no API that takes a secret, and none
 * must be added: passwords, keys, HMAC secrets, tokens and signatures must not
 * reach a format argument or a key/value pair. Log the variable's name, or a
 * client id, instead. (cfg_describe() already redacts CFG_SECRET values.)
 *
 * Note: the LOG_DEBUG / LOG_INFO names clash with <syslog.h>; do not include
 * both in one file. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
};

/* Upper bound of one line, newline included. */
#define LOG_LINE_MAX (16 * 1024)
/* request_id and trace_id are cut to this many bytes minus one. */
#define LOG_CONTEXT_MAX 64
/* The service name is cut to this many bytes minus one. */
#define LOG_SERVICE_MAX 64

/* Sets the service name put on every line and the minimum level ("debug",
 * "info", "warn", "error", case-insensitive; NULL means "info"). Call once at
 * start, before other threads exist. Returns 0, or -1 if the level name is
 * unknown (nothing is changed then). */
int log_init(const char *service, const char *level_name);

/* Returns the level for a name as accepted by log_init, or -1. */
int log_level_parse(const char *level_name);

/* Returns the lowercase name of a level ("info"), or "unknown". Static string. */
const char *log_level_name(int level);

/* Redirects output to `f` (NULL: back to stdout). The caller keeps ownership
 * of `f` and must not close it while logging may still happen. Thread-safe. */
void log_set_output(FILE *f);

/* Returns nonzero if lines of this level are currently written. */
int log_enabled(int level);

/* Formats and writes one line if `level` is enabled. Prefer the macros. Never
 * fails visibly: if memory runs out the line is replaced by a short notice. */
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line with a plain (unformatted) message and extra string fields:
 * `kv` holds 2 * npairs strings, key then value; a NULL value becomes JSON
 * null. Keys must not repeat the standard field names. Pairs that do not fit
 * in the line are dropped and the line gets "truncated":true. */
void log_write_kv(int level, const char *msg, const char *const *kv, size_t npairs);

/* Sets the calling thread's request context, copied (cut to LOG_CONTEXT_MAX-1
 * bytes). NULL or "" leaves that field out of later lines. */
void log_context_set(const char *request_id, const char *trace_id);

/* Removes the calling thread's request context. */
void log_context_clear(void);

/* The one logging macro family: the level is checked before the format
 * arguments are evaluated. */
#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if (log_enabled(level))                                                                    \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)

#define LOG_DEBUG(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
