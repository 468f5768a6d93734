/* log: structured JSON log lines with a per-thread request context. */
#include "log.h"

#include "strbuf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Room kept after the message for the context, extra fields and the end. */
#define LOG_TAIL_MAX (LOG_LINE_MAX / 2)

static const char *const log_names[] = {"debug", "info", "warn", "error"};

static atomic_int log_min_level = LOG_LEVEL_INFO;
static char log_service[LOG_SERVICE_MAX] = "unknown";
static FILE *log_out; /* NULL: stdout */
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local char log_request_id[LOG_CONTEXT_MAX];
static _Thread_local char log_trace_id[LOG_CONTEXT_MAX];

/* Copies `src` into dst[size], cut to size-1 bytes; NULL gives "". */
static void log_copy(char *dst, size_t size, const char *src) {
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int log_level_parse(const char *level_name) {
    if (!level_name)
        return LOG_LEVEL_INFO;
    for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
        if (strcasecmp(level_name, log_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *log_level_name(int level) {
    if (level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_ERROR)
        return "unknown";
    return log_names[level];
}

int log_init(const char *service, const char *level_name) {
    int level = log_level_parse(level_name);
    if (level < 0)
        return -1;
    log_copy(log_service, sizeof log_service, service && *service ? service : "unknown");
    atomic_store(&log_min_level, level);
    return 0;
}

void log_set_output(FILE *f) {
    pthread_mutex_lock(&log_mutex);
    log_out = f;
    pthread_mutex_unlock(&log_mutex);
}

int log_enabled(int level) {
    return level >= atomic_load_explicit(&log_min_level, memory_order_relaxed) &&
           level <= LOG_LEVEL_ERROR;
}

void log_context_set(const char *request_id, const char *trace_id) {
    log_copy(log_request_id, sizeof log_request_id, request_id);
    log_copy(log_trace_id, sizeof log_trace_id, trace_id);
}

void log_context_clear(void) {
    log_request_id[0] = '\0';
    log_trace_id[0] = '\0';
}

/* Writes the UTC time as 2026-11-27T10:52:05.123Z into out[32]. */
static void log_timestamp(char out[32]) {
    struct timespec ts = {0, 0};
    struct tm tm;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm) ||
        strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        strcpy(out, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out + 19, 32 - 19, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Writes a finished line with one fwrite + fflush under the mutex. */
static void log_output(const char *line, size_t len) {
    pthread_mutex_lock(&log_mutex);
    FILE *out = log_out ? log_out : stdout;
    if (fwrite(line, 1, len, out) == len)
        fflush(out);
    pthread_mutex_unlock(&log_mutex);
}

/* Appends ,"key":"escaped value" (or null) atomically: 0, or -1 with the
 * buffer unchanged. */
static int log_put_field(struct strbuf *sb, const char *key, const char *value) {
    size_t mark = sb->len;
    int rc = strbuf_puts(sb, ",\"");
    if (rc == 0)
        rc = strbuf_json_escape(sb, key, strlen(key));
    if (rc == 0 && !value)
        rc = strbuf_puts(sb, "\":null");
    if (rc == 0 && value) {
        rc = strbuf_puts(sb, "\":\"");
        if (rc == 0)
            rc = strbuf_json_escape(sb, value, strlen(value));
        if (rc == 0)
            rc = strbuf_putc(sb, '"');
    }
    if (rc != 0 && sb->data) {
        sb->len = mark;
        sb->data[mark] = '\0';
    }
    return rc;
}

/* Escapes as much of msg[0..len) as fits in `sb`, whole characters only.
 * Returns 1 if something was left out, 0 if all of it fit. */
static int log_escape_bounded(struct strbuf *sb, const char *msg, size_t len) {
    if (strbuf_json_escape(sb, msg, len) == 0)
        return 0;
    /* Slow path: one UTF-8 sequence (lead byte + continuation bytes) at a
     * time, which escapes exactly like the whole string would. */
    const unsigned char *p = (const unsigned char *)msg;
    size_t i = 0;
    while (i < len) {
        size_t j = i + 1;
        while (j < len && j - i < 4 && (p[j] & 0xC0) == 0x80)
            j++;
        if (strbuf_json_escape(sb, msg + i, j - i) != 0)
            break;
        i = j;
    }
    return 1;
}

/* Builds and writes one line. `truncated` says the message was already cut. */
static void log_emit(int level, const char *msg, size_t msglen, int truncated,
                     const char *const *kv, size_t npairs) {
    struct strbuf tail, body, line;
    char ts[32];
    int written = 0;
    strbuf_init(&tail, LOG_TAIL_MAX);
    strbuf_init(&body, 0); /* real limit set once the head is known */
    strbuf_init(&line, LOG_LINE_MAX);

    /* Context and extra fields first, so we know what room the message has. */
    if (log_request_id[0] && log_put_field(&tail, "request_id", log_request_id) != 0)
        goto cleanup;
    if (log_trace_id[0] && log_put_field(&tail, "trace_id", log_trace_id) != 0)
        goto cleanup;
    for (size_t i = 0; kv && i < npairs; i++) {
        if (!kv[2 * i])
            continue;
        if (log_put_field(&tail, kv[2 * i], kv[2 * i + 1]) != 0) {
            truncated = 1;
            break;
        }
    }

    log_timestamp(ts);
    if (strbuf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", ts,
                      log_level_name(level)) != 0 ||
        strbuf_json_escape(&line, log_service, strlen(log_service)) != 0 ||
        strbuf_puts(&line, "\",\"msg\":\"") != 0)
        goto cleanup;

    static const char end_truncated[] = ",\"truncated\":true}\n";
    size_t reserve = 1 /* closing quote */ + tail.len + sizeof end_truncated - 1;
    strbuf_init(&body, LOG_LINE_MAX - line.len - reserve);
    if (log_escape_bounded(&body, msg, msglen))
        truncated = 1;

    if (strbuf_append(&line, strbuf_str(&body), body.len) != 0 || strbuf_putc(&line, '"') != 0 ||
        strbuf_append(&line, strbuf_str(&tail), tail.len) != 0 ||
        strbuf_puts(&line, truncated ? end_truncated : "}\n") != 0)
        goto cleanup;

    log_output(line.data, line.len);
    written = 1;
cleanup:
    if (!written) {
        /* Only memory can run out here; say so rather than vanish. */
        static const char notice[] = "{\"level\":\"error\",\"msg\":\"log: out of memory\"}\n";
        log_output(notice, sizeof notice - 1);
    }
    strbuf_release(&tail);
    strbuf_release(&body);
    strbuf_release(&line);
}

static void log_vwrite(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void log_vwrite(int level, const char *fmt, va_list ap) {
    /* The raw message can never be longer than the line it goes into. */
    char *msg = malloc(LOG_LINE_MAX);
    if (!msg) {
        static const char oom[] = "log: out of memory formatting a message";
        log_emit(level, oom, sizeof oom - 1, 1, NULL, 0);
        return;
    }
    int n = vsnprintf(msg, LOG_LINE_MAX, fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n;
    int truncated = 0;
    if (n < 0) {
        strcpy(msg, "log: bad format");
        len = strlen(msg);
    } else if (len >= LOG_LINE_MAX) {
        /* msg[LOG_LINE_MAX - 1] is the NUL; keep msg[len] a real byte and
         * step back so no UTF-8 sequence is cut in two. */
        truncated = 1;
        len = LOG_LINE_MAX - 2;
        while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80)
            len--;
    }
    log_emit(level, msg, len, truncated, NULL, 0);
    free(msg);
}

void log_write(int level, const char *fmt, ...) {
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

void log_write_kv(int level, const char *msg, const char *const *kv, size_t npairs) {
    if (!log_enabled(level))
        return;
    if (!msg)
        msg = "";
    log_emit(level, msg, strlen(msg), 0, kv, npairs);
}
