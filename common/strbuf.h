/* strbuf: a growable, always NUL-terminated byte buffer with a hard cap.
 *
 * Used wherever output of unknown length is assembled (log lines, metrics
 * exposition, JSON bodies). Every append is bounded by the cap given at init:
 * once an append would exceed it, the buffer stops growing, keeps what it had
 * and reports failure, so a runaway producer cannot exhaust memory. */
#ifndef COMMON_STRBUF_H
#define COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *data;   /* NUL-terminated; NULL until the first append */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len ever allowed */
    int overflow; /* set once an append was refused for size or memory */
};

/* Prepares an empty buffer that never grows past `limit` bytes. Allocates
 * nothing yet. */
void strbuf_init(struct strbuf *sb, size_t limit);

/* Frees the storage and resets the buffer to empty (reusable after init). */
void strbuf_release(struct strbuf *sb);

/* Empties the buffer but keeps its storage. */
void strbuf_reset(struct strbuf *sb);

/* Appends `n` bytes. Returns 0, or -1 (and sets overflow) if the limit or
 * memory would be exceeded; the buffer then holds its previous content. */
int strbuf_append(struct strbuf *sb, const void *data, size_t n);

/* Appends a NUL-terminated string. Same contract as strbuf_append. */
int strbuf_puts(struct strbuf *sb, const char *s);

/* Appends one byte. Same contract as strbuf_append. */
int strbuf_putc(struct strbuf *sb, char c);

/* Appends printf-formatted text. Same contract as strbuf_append. */
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends `s` as the inside of a JSON string (no surrounding quotes):
 * escapes quote, backslash and control characters (\n, \t, \u00XX...), and
 * replaces bytes that are not valid UTF-8 with U+FFFD so the output is always
 * valid JSON. Same contract as strbuf_append. */
int strbuf_json_escape(struct strbuf *sb, const char *s, size_t n);

/* Returns the contents (never NULL: "" when empty). Owned by the buffer. */
const char *strbuf_str(const struct strbuf *sb);

#endif
