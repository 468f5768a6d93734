/* cfg: declarative configuration from environment variables and *_FILE secrets. */
#include "cfg.h"
#include "errmsg.h"

#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Longest value quoted in an error message. */
#define CFG_SHOW_MAX 80

static const char *cfg_type_name(enum cfg_type t) {
    switch (t) {
    case CFG_STRING:
        return "string";
    case CFG_INT:
        return "int";
    case CFG_BOOL:
        return "bool";
    case CFG_DURATION_MS:
        return "duration";
    case CFG_PORT:
        return "port";
    }
    return "?";
}

static int cfg_has_bounds(const struct cfg_var *v) {
    return v->min != 0 || v->max != 0;
}

/* Writes `NAME: <value> <what>` with the value quoted, marked as the default,
 * or redacted for secrets. */
static void cfg_bad(const struct cfg_var *v, const char *text, int is_default, const char *what,
                    char *err, size_t errlen) {
    if (v->flags & CFG_SECRET) {
        errmsg_set(err, errlen, "%s: %s<redacted> %s", v->name, is_default ? "default " : "", what);
        return;
    }
    size_t len = strlen(text);
    errmsg_set(err, errlen, "%s: %s\"%.*s%s\" %s", v->name, is_default ? "default " : "",
               (int)(len > CFG_SHOW_MAX ? CFG_SHOW_MAX : len), text,
               len > CFG_SHOW_MAX ? "..." : "", what);
}

/* Parses s[0..n) as a decimal integer (a leading '-' only if allow_neg).
 * Returns 0, -1 if it is not a number, -2 if it overflows long long. */
static int cfg_parse_num(const char *s, size_t n, int allow_neg, long long *out) {
    size_t i = 0;
    int neg = 0;
    if (allow_neg && n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n)
        return -1;
    for (size_t j = i; j < n; j++)
        if (s[j] < '0' || s[j] > '9')
            return -1;
    long long v = 0;
    for (; i < n; i++) {
        int d = s[i] - '0';
        if (neg) {
            if (v < (LLONG_MIN + d) / 10)
                return -2;
            v = v * 10 - d;
        } else {
            if (v > (LLONG_MAX - d) / 10)
                return -2;
            v = v * 10 + d;
        }
    }
    *out = v;
    return 0;
}

/* Parses "250ms", "5s", "2m", "1h" or "250" (ms). Same returns as above. */
static int cfg_parse_duration(const char *s, long long *out) {
    static const struct {
        const char *suffix;
        long long ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    size_t digits = strspn(s, "0123456789");
    const char *unit = s + digits;
    long long mult = 0, v;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].suffix) == 0)
            mult = units[i].ms;
    if (digits == 0 || mult == 0)
        return -1;
    int rc = cfg_parse_num(s, digits, 0, &v);
    if (rc != 0)
        return rc;
    if (v > LLONG_MAX / mult)
        return -2;
    *out = v * mult;
    return 0;
}

static int cfg_parse_bool(const char *s, bool *out) {
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Reads a NAME_FILE secret into a new NUL-terminated heap string (*out, owned
 * by the caller, to be wiped before free). One trailing "\n" or "\r\n" is
 * removed. Returns 0, or -1 with a message naming fvar and the path. */
static int cfg_read_file(const char *fvar, const char *path, char **out, size_t *outlen, char *err,
                         size_t errlen) {
    int rc = -1;
    size_t len = 0;
    char *buf = malloc(CFG_FILE_MAX + 2);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errmsg_set(err, errlen, "%s: cannot read \"%s\": %s", fvar, path, strerror(errno));
        goto cleanup;
    }
    if (!buf) {
        errmsg_set(err, errlen, "%s: out of memory", fvar);
        goto cleanup;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, CFG_FILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            errmsg_set(err, errlen, "%s: cannot read \"%s\": %s", fvar, path, strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > CFG_FILE_MAX) {
            errmsg_set(err, errlen, "%s: \"%s\" is larger than %d bytes", fvar, path, CFG_FILE_MAX);
            goto cleanup;
        }
    }
    if (memchr(buf, '\0', len)) {
        errmsg_set(err, errlen, "%s: \"%s\" contains a NUL byte", fvar, path);
        goto cleanup;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (buf) {
        explicit_bzero(buf, len);
        free(buf);
    }
    return rc;
}

/* Parses `text` (NULL: unset, zero value) per v->type, runs the validator and
 * stores the result in v->dest. Returns 0, or -1 with a message. */
static int cfg_store(const struct cfg_var *v, const char *text, int is_default, char *err,
                     size_t errlen) {
    long long ll = 0;
    bool b = false;
    char range[96];
    int rc = 0;

    if (text) {
        switch (v->type) {
        case CFG_STRING:
            if (*text == '\0' && (v->flags & CFG_REQUIRED)) {
                errmsg_set(err, errlen, "%s: required but empty", v->name);
                return -1;
            }
            break;
        case CFG_INT:
            rc = cfg_parse_num(text, strlen(text), 1, &ll);
            if (rc != 0) {
                cfg_bad(v, text, is_default,
                        rc == -2 ? "is out of range for an integer" : "is not an integer", err,
                        errlen);
                return -1;
            }
            if (cfg_has_bounds(v) && (ll < v->min || ll > v->max)) {
                snprintf(range, sizeof range, "is out of range (%lld-%lld)", v->min, v->max);
                cfg_bad(v, text, is_default, range, err, errlen);
                return -1;
            }
            break;
        case CFG_DURATION_MS:
            rc = cfg_parse_duration(text, &ll);
            if (rc != 0) {
                cfg_bad(v, text, is_default,
                        rc == -2 ? "is out of range for a duration"
                                 : "is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers "
                                   "are ms)",
                        err, errlen);
                return -1;
            }
            if (cfg_has_bounds(v) && (ll < v->min || ll > v->max)) {
                snprintf(range, sizeof range, "is out of range (%lld-%lld ms)", v->min, v->max);
                cfg_bad(v, text, is_default, range, err, errlen);
                return -1;
            }
            break;
        case CFG_BOOL:
            if (cfg_parse_bool(text, &b) != 0) {
                cfg_bad(v, text, is_default, "is not a boolean (true/false, 1/0, yes/no, on/off)",
                        err, errlen);
                return -1;
            }
            break;
        case CFG_PORT:
            if (cfg_parse_num(text, strlen(text), 0, &ll) != 0 || ll < 1 || ll > 65535) {
                cfg_bad(v, text, is_default, "is not a port (1-65535)", err, errlen);
                return -1;
            }
            break;
        default:
            errmsg_set(err, errlen, "%s: unknown type %d", v->name, (int)v->type);
            return -1;
        }
        if (v->validate) {
            char verr[256] = "";
            if (v->validate(text, verr, sizeof verr) != 0) {
                if (verr[0] == '\0' || ((v->flags & CFG_SECRET) && *text && strstr(verr, text)))
                    snprintf(verr, sizeof verr, "is not valid");
                cfg_bad(v, text, is_default, verr, err, errlen);
                return -1;
            }
        }
    }

    switch (v->type) {
    case CFG_STRING: {
        char *copy = NULL;
        if (text && !(copy = strdup(text))) {
            errmsg_set(err, errlen, "%s: out of memory", v->name);
            return -1;
        }
        *(char **)v->dest = copy;
        break;
    }
    case CFG_INT:
    case CFG_DURATION_MS:
        *(long long *)v->dest = ll;
        break;
    case CFG_BOOL:
        *(bool *)v->dest = b;
        break;
    case CFG_PORT:
        *(int *)v->dest = (int)ll;
        break;
    }
    return 0;
}

/* Finds the text of one variable (env, NAME_FILE or default) and stores it. */
static int cfg_load_one(const struct cfg_var *v, char *err, size_t errlen) {
    char fvar[CFG_NAME_MAX];
    char *filebuf = NULL;
    size_t filelen = 0;
    int rc = -1;

    if (!v->name || !v->dest || strlen(v->name) + sizeof "_FILE" > sizeof fvar) {
        errmsg_set(err, errlen, "%s: bad table entry (no dest or name too long)",
                   v->name ? v->name : "(null)");
        return -1;
    }
    snprintf(fvar, sizeof fvar, "%s_FILE", v->name);
    const char *env = getenv(v->name);
    const char *path = getenv(fvar);
    const char *text = NULL;
    int is_default = 0;

    if (env && path) {
        errmsg_set(err, errlen, "%s: both %s and %s are set; use only one", v->name, v->name, fvar);
        goto cleanup;
    }
    if (path) {
        if (cfg_read_file(fvar, path, &filebuf, &filelen, err, errlen) != 0)
            goto cleanup;
        text = filebuf;
    } else if (env) {
        text = env;
    } else if (v->flags & CFG_REQUIRED) {
        errmsg_set(err, errlen, "%s: required but not set (set %s or %s)", v->name, v->name, fvar);
        goto cleanup;
    } else if (v->def) {
        text = v->def;
        is_default = 1;
    }
    rc = cfg_store(v, text, is_default, err, errlen);
cleanup:
    if (filebuf) {
        explicit_bzero(filebuf, filelen);
        free(filebuf);
    }
    return rc;
}

int cfg_load(const struct cfg_var *vars, size_t n, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        if (cfg_load_one(&vars[i], err, errlen) != 0) {
            cfg_free(vars, i);
            return -1;
        }
    }
    if (err && errlen)
        err[0] = '\0';
    return 0;
}

void cfg_load_or_exit(const struct cfg_var *vars, size_t n, const char *service) {
    char err[512];
    if (cfg_load(vars, n, err, sizeof err) == 0)
        return;
    fprintf(stderr, "%s: config error: %s\n", service ? service : "service", err);
    exit(2);
}

void cfg_free(const struct cfg_var *vars, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (vars[i].type != CFG_STRING || !vars[i].dest)
            continue;
        char **s = vars[i].dest;
        if (*s && (vars[i].flags & CFG_SECRET))
            explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void cfg_describe(const struct cfg_var *vars, size_t n, struct strbuf *out) {
    int first = 1;
    strbuf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        if (!v->name || !v->dest)
            continue;
        if (!first)
            strbuf_putc(out, ',');
        first = 0;
        strbuf_putc(out, '"');
        strbuf_json_escape(out, v->name, strlen(v->name));
        strbuf_puts(out, "\":");
        if (v->type == CFG_STRING && !*(char **)v->dest) {
            strbuf_puts(out, "null");
        } else if (v->flags & CFG_SECRET) {
            strbuf_puts(out, "\"<redacted>\"");
        } else if (v->type == CFG_STRING) {
            const char *s = *(char **)v->dest;
            strbuf_putc(out, '"');
            strbuf_json_escape(out, s, strlen(s));
            strbuf_putc(out, '"');
        } else if (v->type == CFG_BOOL) {
            strbuf_puts(out, *(bool *)v->dest ? "true" : "false");
        } else if (v->type == CFG_PORT) {
            strbuf_printf(out, "%d", *(int *)v->dest);
        } else {
            strbuf_printf(out, "%lld", *(long long *)v->dest);
        }
    }
    strbuf_putc(out, '}');
}

void cfg_usage(const struct cfg_var *vars, size_t n, FILE *out) {
    int width = 4;
    for (size_t i = 0; i < n; i++)
        if (vars[i].name && (int)strlen(vars[i].name) > width)
            width = (int)strlen(vars[i].name);
    fprintf(out, "%-*s  %-8s  %-16s  %s\n", width, "NAME", "TYPE", "DEFAULT", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        const char *def = v->def ? v->def : "";
        if (v->flags & CFG_REQUIRED)
            def = "(required)";
        else if (v->def && (v->flags & CFG_SECRET))
            def = "<redacted>";
        fprintf(out, "%-*s  %-8s  %-16s  %s", width, v->name ? v->name : "?",
                cfg_type_name(v->type), def, v->help ? v->help : "");
        if ((v->type == CFG_INT || v->type == CFG_DURATION_MS) && cfg_has_bounds(v))
            fprintf(out, " [%lld-%lld%s]", v->min, v->max, v->type == CFG_DURATION_MS ? " ms" : "");
        if (v->flags & CFG_SECRET)
            fputs(" (secret)", out);
        fputc('\n', out);
    }
    fputs("Any NAME may instead be read from the file named by NAME_FILE.\n", out);
}

int cfg_one_of(const char *value, const char *const *set, char *err, size_t errlen) {
    struct strbuf sb;
    for (size_t i = 0; set && set[i]; i++)
        if (strcmp(value, set[i]) == 0)
            return 0;
    strbuf_init(&sb, errlen > 0 ? errlen - 1 : 0);
    strbuf_puts(&sb, "is not one of:");
    for (size_t i = 0; set && set[i]; i++) {
        strbuf_puts(&sb, i ? ", " : " ");
        strbuf_puts(&sb, set[i]);
    }
    errmsg_set(err, errlen, "%s", strbuf_str(&sb));
    strbuf_release(&sb);
    return -1;
}

int cfg_log_level_ok(const char *value, char *err, size_t errlen) {
    static const char *const set[] = {"debug", "info", "warn", "error", NULL};
    return cfg_one_of(value, set, err, errlen);
}
