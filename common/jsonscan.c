/* jsonscan: strict RFC 8259 scanner recording number literals and U+0000 strings. */
#include "jsonscan.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scanner {
    const unsigned char *src;
    size_t len, pos;
    int max_depth;
    size_t ordinal; /* member names, strings and numbers met so far */
    struct jsonscan *out;
    char *msg;
    size_t msglen;
};

/* Writes "invalid JSON at line L, column C: <detail>" for the current
 * position. Returns -1. */
static int scan_fail(struct scanner *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int scan_fail(struct scanner *s, const char *fmt, ...) {
    char detail[160];
    size_t line = 1, col = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < s->pos && i < s->len; i++) {
        col++;
        if (s->src[i] == '\n') {
            line++;
            col = 1;
        }
    }
    if (s->msglen)
        snprintf(s->msg, s->msglen, "invalid JSON at line %zu, column %zu: %s", line, col, detail);
    return -1;
}

static int is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

/* The byte at the current position, or -1 at the end. */
static int peek(const struct scanner *s) {
    return s->pos < s->len ? s->src[s->pos] : -1;
}

static void skip_ws(struct scanner *s) {
    int c;
    while ((c = peek(s)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        s->pos++;
}

/* Reports what was found where `what` was expected. Returns -1. */
static int unexpected(struct scanner *s, const char *what) {
    int c = peek(s);
    if (c < 0)
        return scan_fail(s, "unexpected end of input, expected %s", what);
    if (c > 0x20 && c < 0x7F)
        return scan_fail(s, "unexpected character '%c', expected %s", c, what);
    return scan_fail(s, "unexpected byte 0x%02X, expected %s", (unsigned)c, what);
}

static int record(struct scanner *s, size_t off, size_t len, int nul_string) {
    struct jsonscan *o = s->out;
    if (o->ntoks == o->captoks) {
        size_t cap = o->captoks ? o->captoks * 2 : 64;
        struct jsonscan_token *t =
            cap > SIZE_MAX / sizeof(*t) ? NULL : realloc(o->toks, cap * sizeof(*t));
        if (!t) {
            if (s->msglen)
                snprintf(s->msg, s->msglen, "out of memory");
            return -2;
        }
        o->toks = t;
        o->captoks = cap;
    }
    struct jsonscan_token rec = {s->ordinal, off, len, nul_string};
    o->toks[o->ntoks++] = rec;
    return 0;
}

/* Four hex digits at src[at..]; -1 if absent or not hex. */
static long hex4(const struct scanner *s, size_t at) {
    long x = 0;
    if (at > s->len || s->len - at < 4)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        unsigned char c = s->src[at + i];
        int d = is_digit(c)              ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        x = x * 16 + d;
    }
    return x;
}

/* One escape sequence at the backslash; sets *is_nul for \u0000. */
static int scan_escape(struct scanner *s, int *is_nul) {
    size_t at = s->pos;
    if (at + 1 >= s->len)
        return scan_fail(s, "unterminated escape sequence");
    unsigned char c = s->src[at + 1];
    if (c != '\0' && strchr("\"\\/bfnrt", c)) {
        s->pos += 2;
        return 0;
    }
    if (c != 'u')
        return scan_fail(s, "invalid escape sequence in a string");
    long cp = hex4(s, at + 2);
    if (cp < 0)
        return scan_fail(s, "\\u must be followed by 4 hex digits");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return scan_fail(s, "\\u%04lX is a lone low surrogate (not Unicode text)", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = (at + 7 < s->len && s->src[at + 6] == '\\' && s->src[at + 7] == 'u')
                      ? hex4(s, at + 8)
                      : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return scan_fail(s, "\\u%04lX is a lone high surrogate (not Unicode text)", cp);
        s->pos += 6;
    }
    s->pos += 6;
    *is_nul = cp == 0;
    return 0;
}

static int scan_string(struct scanner *s) {
    size_t start = s->pos++;
    int has_nul = 0;
    for (;;) {
        int c = peek(s);
        if (c < 0) {
            s->pos = start;
            return scan_fail(s, "unterminated string");
        }
        if (c == '"') {
            s->pos++;
            break;
        }
        if (c == '\\') {
            int nul = 0;
            if (scan_escape(s, &nul) != 0)
                return -1;
            has_nul |= nul;
        } else if (c < 0x20) {
            return scan_fail(s, "control character U+%04X must be escaped in a string",
                             (unsigned)c);
        } else {
            size_t n = utf8_sequence_len(s->src + s->pos, s->len - s->pos);
            if (n == 0)
                return scan_fail(s, "invalid UTF-8 in a string");
            s->pos += n;
        }
    }
    int rc = has_nul ? record(s, start, s->pos - start, 1) : 0;
    s->ordinal++;
    return rc;
}

static int scan_digits(struct scanner *s, const char *after) {
    if (peek(s) < 0 || !is_digit((unsigned char)peek(s)))
        return scan_fail(s, "invalid number: a digit must follow %s", after);
    while (peek(s) >= 0 && is_digit((unsigned char)peek(s)))
        s->pos++;
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, blanked in the work copy. */
static int scan_number(struct scanner *s) {
    size_t start = s->pos;
    if (peek(s) == '-')
        s->pos++;
    if (peek(s) == '0') {
        s->pos++;
        if (peek(s) >= 0 && is_digit((unsigned char)peek(s)))
            return scan_fail(s, "invalid number: leading zeros are not allowed");
    } else if (scan_digits(s, "'-'") != 0) {
        return -1;
    }
    if (peek(s) == '.') {
        s->pos++;
        if (scan_digits(s, "'.'") != 0)
            return -1;
    }
    if (peek(s) == 'e' || peek(s) == 'E') {
        s->pos++;
        if (peek(s) == '+' || peek(s) == '-')
            s->pos++;
        if (scan_digits(s, "the exponent mark") != 0)
            return -1;
    }
    size_t n = s->pos - start;
    s->out->work[start] = '0';
    memset(s->out->work + start + 1, ' ', n - 1);
    int rc = record(s, start, n, 0);
    s->ordinal++;
    return rc;
}

static int scan_word(struct scanner *s, const char *word) {
    size_t n = strlen(word);
    if (s->len - s->pos < n || memcmp(s->src + s->pos, word, n) != 0)
        return scan_fail(s, "invalid literal, expected %s", word);
    s->pos += n;
    return 0;
}

static int scan_value(struct scanner *s, int depth);

/* An object or array (open is '{' or '['), at nesting level `depth`. */
static int scan_container(struct scanner *s, int depth, int open) {
    int close = open == '{' ? '}' : ']';
    if (depth > s->max_depth)
        return scan_fail(s, "objects and arrays nested deeper than %d levels", s->max_depth);
    s->pos++;
    skip_ws(s);
    if (peek(s) == close) {
        s->pos++;
        return 0;
    }
    for (;;) {
        int rc;
        if (open == '{') {
            if (peek(s) != '"')
                return unexpected(s, "a member name in double quotes");
            if ((rc = scan_string(s)) != 0)
                return rc;
            skip_ws(s);
            if (peek(s) != ':')
                return unexpected(s, "':'");
            s->pos++;
            skip_ws(s);
        }
        if ((rc = scan_value(s, depth)) != 0)
            return rc;
        skip_ws(s);
        if (peek(s) == ',') {
            s->pos++;
            skip_ws(s);
        } else if (peek(s) == close) {
            s->pos++;
            return 0;
        } else {
            return unexpected(s, open == '{' ? "',' or '}'" : "',' or ']'");
        }
    }
}

static int scan_value(struct scanner *s, int depth) {
    int c = peek(s);
    switch (c) {
    case '{':
    case '[':
        return scan_container(s, depth + 1, c);
    case '"':
        return scan_string(s);
    case 't':
        return scan_word(s, "true");
    case 'f':
        return scan_word(s, "false");
    case 'n':
        return scan_word(s, "null");
    default:
        if (c == '-' || (c >= 0 && is_digit((unsigned char)c)))
            return scan_number(s);
        return unexpected(s, "a value");
    }
}

int jsonscan_run(struct jsonscan *out, const char *body, size_t len, int max_depth, char *msg,
                 size_t msglen) {
    struct scanner s = {(const unsigned char *)(body ? body : ""),
                        body ? len : 0,
                        0,
                        max_depth,
                        0,
                        out,
                        msg,
                        msglen};
    memset(out, 0, sizeof(*out));
    if (msglen)
        msg[0] = '\0';
    out->work = malloc(s.len + 1);
    if (!out->work) {
        if (msglen)
            snprintf(msg, msglen, "out of memory");
        return -2;
    }
    out->len = s.len;
    if (s.len)
        memcpy(out->work, body, s.len);
    out->work[s.len] = '\0';

    if (s.len >= 3 && memcmp(s.src, "\xEF\xBB\xBF", 3) == 0)
        return scan_fail(&s, "a byte order mark is not allowed");
    skip_ws(&s);
    if (peek(&s) < 0)
        return scan_fail(&s, "%s", s.len ? "the body holds no JSON value" : "the body is empty");
    int rc = scan_value(&s, 0);
    if (rc != 0)
        return rc;
    skip_ws(&s);
    if (peek(&s) >= 0)
        return unexpected(&s, "nothing after the JSON value");
    return 0;
}

void jsonscan_release(struct jsonscan *s) {
    if (!s)
        return;
    if (s->work)
        explicit_bzero(s->work, s->len);
    free(s->work);
    free(s->toks);
    memset(s, 0, sizeof(*s));
}
