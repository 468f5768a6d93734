/* strbuf: growable, bounded, NUL-terminated byte buffer. */
#include "strbuf.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, size_t limit) {
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->limit = limit;
    sb->overflow = 0;
}

void strbuf_release(struct strbuf *sb) {
    free(sb->data);
    strbuf_init(sb, sb->limit);
}

void strbuf_reset(struct strbuf *sb) {
    sb->len = 0;
    sb->overflow = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

/* Ensures room for `extra` more bytes plus the NUL. 0 or -1. */
static int strbuf_reserve(struct strbuf *sb, size_t extra) {
    if (extra > sb->limit - sb->len) {
        sb->overflow = 1;
        return -1;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > sb->limit + 1)
        cap = sb->limit + 1;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->overflow = 1;
        return -1;
    }
    sb->data = p;
    sb->cap = cap;
    return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t n) {
    if (strbuf_reserve(sb, n) != 0)
        return -1;
    if (n)
        memcpy(sb->data + sb->len, data, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s) {
    return strbuf_append(sb, s, strlen(s));
}

int strbuf_putc(struct strbuf *sb, char c) {
    return strbuf_append(sb, &c, 1);
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || strbuf_reserve(sb, (size_t)n) != 0)
        return -1;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

int strbuf_json_escape(struct strbuf *sb, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t start_len = sb->len;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        int rc;
        if (c == '"') {
            rc = strbuf_append(sb, "\\\"", 2);
        } else if (c == '\\') {
            rc = strbuf_append(sb, "\\\\", 2);
        } else if (c == '\n') {
            rc = strbuf_append(sb, "\\n", 2);
        } else if (c == '\r') {
            rc = strbuf_append(sb, "\\r", 2);
        } else if (c == '\t') {
            rc = strbuf_append(sb, "\\t", 2);
        } else if (c < 0x20 || c == 0x7F) {
            rc = strbuf_printf(sb, "\\u%04x", c);
        } else {
            size_t len = utf8_sequence_len(p + i, n - i);
            if (len == 0) {
                rc = strbuf_append(sb, "\xEF\xBF\xBD", 3); /* U+FFFD */
                len = 1;
            } else {
                rc = strbuf_append(sb, p + i, len);
            }
            i += len;
            if (rc != 0)
                goto fail;
            continue;
        }
        if (rc != 0)
            goto fail;
        i++;
    }
    return 0;
fail:
    /* Never leave half an escape sequence behind. */
    sb->len = start_len;
    if (sb->data)
        sb->data[sb->len] = '\0';
    return -1;
}

const char *strbuf_str(const struct strbuf *sb) {
    return sb->data ? sb->data : "";
}
