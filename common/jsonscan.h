/* jsonscan: a strict RFC 8259 syntax check of raw bytes, recording what cJSON loses.
 *
 * cJSON is lenient (it accepts "+1", "01", raw control characters in
 * strings, any byte <= 0x20 as white space, invalid UTF-8 and a BOM) and it
 * keeps numbers only as doubles. This scanner checks one JSON text strictly
 * and, in document order, records (1) every number literal's exact text and
 * (2) every string (member name or value) holding U+0000, so that a caller
 * parsing the same bytes with cJSON can match each record to its node by
 * walking the tree in pre-order: the k-th member name, string or number met
 * in that walk has ordinal k. It also yields a copy of the text in which each
 * number literal is blanked to "0" followed by spaces, which cJSON parses
 * into the same tree without ever converting the literal.
 *
 * Refused (as "invalid JSON"): anything outside the RFC 8259 grammar, a UTF-8
 * byte order mark, invalid UTF-8 (overlong, surrogates, > U+10FFFF), \u
 * escapes giving a lone surrogate, unescaped control characters, nesting
 * deeper than a given bound, and any non-white-space byte after the value. */
#ifndef JSONSCAN_H
#define JSONSCAN_H

#include <stddef.h>

/* One record: a number literal at body[off..off+len), or (nul_string) a
 * string token there whose decoded value holds U+0000. */
struct jsonscan_token {
    size_t ordinal;
    size_t off, len;
    int nul_string;
};

struct jsonscan {
    char *work; /* NUL-terminated copy of the body, numbers blanked */
    size_t len; /* bytes in work, without the NUL */
    struct jsonscan_token *toks;
    size_t ntoks, captoks;
};

/* Scans `len` bytes of `body` (NULL allowed when len is 0), allowing
 * `max_depth` levels of nested objects/arrays. Returns 0 with *s filled; -1
 * if the text is not strict JSON, with a message such as "invalid JSON at
 * line 3, column 14: expected ',' or '}'" in msg (column in bytes); -2 if
 * memory ran out. In every case *s must then be released with
 * jsonscan_release. */
int jsonscan_run(struct jsonscan *s, const char *body, size_t len, int max_depth, char *msg,
                 size_t msglen);

/* Wipes the work copy (the text may hold secrets), frees what a scan holds
 * and empties it. Safe twice. */
void jsonscan_release(struct jsonscan *s);

#endif
