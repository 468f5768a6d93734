/* utf8: strict UTF-8 checks (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF), shared by JSON escaping, metrics labels and validation. */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence that starts at s, reading at most
 * n bytes (n >= 1), or 0 when the sequence is invalid or truncated. */
size_t utf8_sequence_len(const unsigned char *s, size_t n);

/* 1 when the n bytes at s are entirely valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t n);

/* Number of code points in valid UTF-8 s of n bytes; -1 when invalid. */
long utf8_codepoints(const char *s, size_t n);

#endif
