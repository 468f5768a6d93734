/* errmsg: the one way modules fill a caller's error buffer (char *err,
 * size_t errlen), the error half of the 0 / -1 convention. */
#ifndef COMMON_ERRMSG_H
#define COMMON_ERRMSG_H

#include <stddef.h>

/* Formats into err (always NUL-terminated, truncated to errlen). A NULL err
 * or a zero errlen is allowed and does nothing, so callers may pass either
 * when they do not want the message. */
void errmsg_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
