/* args: command-line parsing, usage text and input files of ordersctl. */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

enum args_id {
    ARG_HELP,
    ARG_CLIENT_ID,
    ARG_SECRET,
    ARG_SECRET_FILE,
    ARG_URL,
    ARG_BODY_FILE,
    ARG_STDIN,
    ARG_GENERATE,
    ARG_CURL,
    ARG_TIMESTAMP,
    ARG_COUNT,
    ARG_RATE,
    ARG_CONNECTIONS,
    ARG_DURATION_LIMIT,
    ARG_TIMEOUT,
    ARG_PREFIX,
    ARG_PROGRESS,
    ARG_ALLOW_ERRORS,
    ARG_COUNT_OF_IDS,
};

#define ARGS_ALL (ORDERSCTL_CMD_SIGN | ORDERSCTL_CMD_SEND | ORDERSCTL_CMD_LOAD)
#define ARGS_SIGN_SEND (ORDERSCTL_CMD_SIGN | ORDERSCTL_CMD_SEND)
#define ARGS_NET (ORDERSCTL_CMD_SEND | ORDERSCTL_CMD_LOAD)

struct args_def {
    const char *name; /* long form without "--", or the literal short form */
    enum args_id id;
    int takes_value;
    unsigned cmds;
};

static const struct args_def args_table[] = {
    {"help", ARG_HELP, 0, ARGS_ALL},
    {"-h", ARG_HELP, 0, ARGS_ALL},
    {"client-id", ARG_CLIENT_ID, 1, ARGS_ALL},
    {"secret", ARG_SECRET, 1, ARGS_ALL},
    {"secret-file", ARG_SECRET_FILE, 1, ARGS_ALL},
    {"url", ARG_URL, 1, ARGS_NET},
    {"body-file", ARG_BODY_FILE, 1, ARGS_SIGN_SEND},
    {"-", ARG_STDIN, 0, ARGS_SIGN_SEND},
    {"generate", ARG_GENERATE, 0, ARGS_SIGN_SEND},
    {"curl", ARG_CURL, 1, ORDERSCTL_CMD_SIGN},
    {"timestamp", ARG_TIMESTAMP, 1, ARGS_SIGN_SEND},
    {"-n", ARG_COUNT, 1, ORDERSCTL_CMD_LOAD},
    {"count", ARG_COUNT, 1, ORDERSCTL_CMD_LOAD},
    {"rate", ARG_RATE, 1, ORDERSCTL_CMD_LOAD},
    {"connections", ARG_CONNECTIONS, 1, ORDERSCTL_CMD_LOAD},
    {"duration-limit", ARG_DURATION_LIMIT, 1, ORDERSCTL_CMD_LOAD},
    {"timeout", ARG_TIMEOUT, 1, ARGS_NET},
    {"prefix", ARG_PREFIX, 1, ORDERSCTL_CMD_LOAD},
    {"progress", ARG_PROGRESS, 0, ORDERSCTL_CMD_LOAD},
    {"allow-errors", ARG_ALLOW_ERRORS, 0, ORDERSCTL_CMD_LOAD},
};

const char *ordersctl_cmd_name(enum ordersctl_cmd cmd) {
    switch (cmd) {
    case ORDERSCTL_CMD_SIGN:
        return "sign";
    case ORDERSCTL_CMD_SEND:
        return "send";
    case ORDERSCTL_CMD_LOAD:
        return "load";
    }
    return "?";
}

int ordersctl_client_id_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > ORDERSCTL_CLIENT_ID_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* 1 if `s` is a usable order-id prefix: 1-ORDERSCTL_PREFIX_MAX of [A-Za-z0-9_-]. */
static int args_prefix_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > ORDERSCTL_PREFIX_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Strict unsigned decimal in [min, max]. 0 or -1. */
static int args_parse_ull(const char *s, unsigned long long min, unsigned long long max,
                          unsigned long long *out) {
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Strict finite decimal number in [min, max] ("1", "0.5", "1e3"). 0 or -1. */
static int args_parse_double(const char *s, double min, double max, double *out) {
    char *end = NULL;
    if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Finds the definition for one argv word; *value is set for "--name=value".
 * Returns NULL if the word is not an option of any subcommand. */
static const struct args_def *args_lookup(const char *word, const char **value) {
    char name[64];
    *value = NULL;
    if (strncmp(word, "--", 2) != 0) {
        for (size_t i = 0; i < sizeof(args_table) / sizeof(args_table[0]); i++)
            if (args_table[i].name[0] == '-' && strcmp(args_table[i].name, word) == 0)
                return &args_table[i];
        return NULL;
    }
    const char *eq = strchr(word + 2, '=');
    size_t len = eq ? (size_t)(eq - (word + 2)) : strlen(word + 2);
    if (len == 0 || len >= sizeof(name))
        return NULL;
    memcpy(name, word + 2, len);
    name[len] = '\0';
    for (size_t i = 0; i < sizeof(args_table) / sizeof(args_table[0]); i++) {
        if (args_table[i].name[0] != '-' && strcmp(args_table[i].name, name) == 0) {
            if (eq)
                *value = eq + 1;
            return &args_table[i];
        }
    }
    return NULL;
}

/* Stores one option's value into *o. 0, or -1 with a message. */
static int args_apply(const struct args_def *d, const char *opt, const char *v,
                      struct ordersctl_opts *o, char *err, size_t errlen) {
    unsigned long long u = 0;
    switch (d->id) {
    case ARG_HELP:
        o->help = 1;
        return 0;
    case ARG_CLIENT_ID:
        if (!ordersctl_client_id_valid(v))
            goto bad_client;
        o->client_id = v;
        return 0;
    case ARG_SECRET:
        if (v[0] == '\0') {
            snprintf(err, errlen, "--secret must not be empty");
            return -1;
        }
        o->secret = v;
        return 0;
    case ARG_SECRET_FILE:
        o->secret_file = v;
        return 0;
    case ARG_URL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            goto bad_url;
        o->url = v;
        return 0;
    case ARG_CURL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            goto bad_url;
        o->curl_url = v;
        return 0;
    case ARG_BODY_FILE:
        o->body_file = v;
        return 0;
    case ARG_STDIN:
        o->body_file = "-";
        return 0;
    case ARG_GENERATE:
        o->generate = 1;
        return 0;
    case ARG_TIMESTAMP:
        if (args_parse_ull(v, 0, 9007199254740991ULL, &u) != 0)
            goto bad_value;
        o->timestamp = (long long)u;
        o->has_timestamp = 1;
        return 0;
    case ARG_COUNT:
        if (args_parse_ull(v, 1, 1000000000ULL, &o->count) != 0)
            goto bad_value;
        return 0;
    case ARG_RATE:
        if (args_parse_double(v, 0, 10000000.0, &o->rate) != 0)
            goto bad_value;
        return 0;
    case ARG_CONNECTIONS:
        if (args_parse_ull(v, 1, 1024, &u) != 0)
            goto bad_value;
        o->connections = (unsigned)u;
        return 0;
    case ARG_DURATION_LIMIT:
        if (args_parse_double(v, 0.001, 86400.0, &o->duration_limit_s) != 0)
            goto bad_value;
        return 0;
    case ARG_TIMEOUT:
        if (args_parse_double(v, 0.001, 3600.0, &o->timeout_s) != 0)
            goto bad_value;
        return 0;
    case ARG_PREFIX:
        if (!args_prefix_valid(v)) {
            snprintf(err, errlen, "invalid value for %s: '%s' (1-%d of [A-Za-z0-9_-])", opt, v,
                     ORDERSCTL_PREFIX_MAX);
            return -1;
        }
        o->prefix = v;
        return 0;
    case ARG_PROGRESS:
        o->progress = 1;
        return 0;
    case ARG_ALLOW_ERRORS:
        o->allow_errors = 1;
        return 0;
    case ARG_COUNT_OF_IDS:
        break;
    }
    snprintf(err, errlen, "internal error: unhandled option %s", opt);
    return -1;
bad_client:
    snprintf(err, errlen, "invalid value for %s: '%s' (1-64 of [A-Za-z0-9._-])", opt, v);
    return -1;
bad_url:
    snprintf(err, errlen, "invalid value for %s: '%s' (expected an http:// or https:// URL)", opt,
             v);
    return -1;
bad_value : {
    static const char *const expect[ARG_COUNT_OF_IDS] = {
        [ARG_TIMESTAMP] = "Unix seconds, 0-9007199254740991",
        [ARG_COUNT] = "an integer, 1-1000000000",
        [ARG_RATE] = "requests per second, 0 (closed loop) to 10000000",
        [ARG_CONNECTIONS] = "an integer, 1-1024",
        [ARG_DURATION_LIMIT] = "seconds, 0.001-86400",
        [ARG_TIMEOUT] = "seconds, 0.001-3600",
    };
    snprintf(err, errlen, "invalid value for %s: '%s' (expected %s)", opt, v,
             expect[d->id] ? expect[d->id] : "a valid value");
    return -1;
}
}

/* Checks the combination of options once all are read. 0 or -1. */
static int args_check(const struct ordersctl_opts *o, const int *seen, char *err, size_t errlen) {
    if (!o->client_id) {
        snprintf(err, errlen, "missing --client-id");
        return -1;
    }
    if (!o->secret == !o->secret_file) {
        snprintf(err, errlen,
                 o->secret ? "--secret and --secret-file are mutually exclusive"
                           : "missing --secret or --secret-file");
        return -1;
    }
    if (o->secret_file && o->body_file && strcmp(o->secret_file, "-") == 0 &&
        strcmp(o->body_file, "-") == 0) {
        snprintf(err, errlen, "the secret and the body cannot both come from stdin");
        return -1;
    }
    if (o->cmd & ARGS_SIGN_SEND) {
        int sources = seen[ARG_BODY_FILE] + seen[ARG_STDIN] + o->generate;
        if (sources != 1) {
            snprintf(err, errlen, "%s",
                     sources ? "give only one of --body-file, - or --generate"
                             : "missing body: --body-file F, - or --generate");
            return -1;
        }
    }
    if (o->cmd == ORDERSCTL_CMD_LOAD) {
        if (!seen[ARG_COUNT]) {
            snprintf(err, errlen, "missing -n N (number of orders)");
            return -1;
        }
        if (!seen[ARG_RATE]) {
            snprintf(err, errlen, "missing --rate R (orders per second; 0 = as fast as possible)");
            return -1;
        }
    }
    return 0;
}

int ordersctl_args_parse(enum ordersctl_cmd cmd, int argc, char *const *argv,
                         struct ordersctl_opts *o, char *err, size_t errlen) {
    int seen[ARG_COUNT_OF_IDS] = {0};
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->url = ORDERSCTL_DEFAULT_URL;
    o->connections = 1;
    o->duration_limit_s = 300.0;
    o->timeout_s = 30.0;

    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *value = NULL;
        const struct args_def *d = args_lookup(word, &value);
        if (!d) {
            if (word[0] == '-')
                snprintf(err, errlen, "unknown option '%s'", word);
            else
                snprintf(err, errlen, "unexpected argument '%s'", word);
            return -1;
        }
        const char *opt = d->name[0] == '-' ? d->name : word;
        char optname[64];
        if (d->name[0] != '-') {
            snprintf(optname, sizeof(optname), "--%s", d->name);
            opt = optname;
        }
        if (!(d->cmds & cmd)) {
            snprintf(err, errlen, "option '%s' is not valid for '%s'", opt,
                     ordersctl_cmd_name(cmd));
            return -1;
        }
        if (seen[d->id]++) {
            snprintf(err, errlen, "option '%s' given more than once", opt);
            return -1;
        }
        if (d->takes_value && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '%s' needs a value", opt);
                return -1;
            }
            value = argv[++i];
        } else if (!d->takes_value && value) {
            snprintf(err, errlen, "option '%s' takes no value", opt);
            return -1;
        }
        if (args_apply(d, opt, value, o, err, errlen) != 0)
            return -1;
    }
    if (o->help)
        return 0;
    return args_check(o, seen, err, errlen);
}

void ordersctl_usage(enum ordersctl_cmd cmd, FILE *out) {
    static const char secret_help[] =
        "  --client-id ID       client id, 1-64 of [A-Za-z0-9._-] (X-Client-Id)\n"
        "  --secret S           HMAC secret (visible in `ps`: prefer --secret-file)\n"
        "  --secret-file F      file holding the secret (one trailing newline ignored)\n";
    switch (cmd) {
    case ORDERSCTL_CMD_SIGN:
        fprintf(out,
                "usage: ordersctl sign --client-id ID (--secret S | --secret-file F)\n"
                "                      [--timestamp T] (--body-file F | - | --generate)\n"
                "                      [--curl URL]\n"
                "Prints X-Client-Id, X-Timestamp and X-Signature for the body, or with\n"
                "--curl a ready-to-paste curl command. String to sign:\n"
                "  <timestamp> \\n POST \\n /orders \\n <raw body bytes>\n%s"
                "  --timestamp T        Unix seconds (default: now)\n"
                "  --body-file F | -    body from a file, or from stdin\n"
                "  --generate           a random valid order (printed after the headers)\n"
                "  --curl URL           print a curl command posting the body to URL\n",
                secret_help);
        return;
    case ORDERSCTL_CMD_SEND:
        fprintf(out,
                "usage: ordersctl send [--url URL] --client-id ID (--secret S | --secret-file F)\n"
                "                      (--body-file F | - | --generate) [--timestamp T]\n"
                "                      [--timeout S]\n"
                "Signs and POSTs one order; prints the status, X-Request-Id,\n"
                "Idempotent-Replayed, Retry-After and the response body.\n"
                "Exit 0 on 2xx, 1 otherwise.\n%s"
                "  --url URL            default " ORDERSCTL_DEFAULT_URL "\n"
                "  --body-file F | -    body from a file, or from stdin\n"
                "  --generate           a random valid order (unique order_id, 1-5 items)\n"
                "  --timestamp T        Unix seconds (default: now)\n"
                "  --timeout S          whole-request timeout in seconds (default 30)\n",
                secret_help);
        return;
    case ORDERSCTL_CMD_LOAD:
        fprintf(out,
                "usage: ordersctl load [--url URL] --client-id ID (--secret S | --secret-file F)\n"
                "                      -n N --rate R [--connections C] [--duration-limit S]\n"
                "                      [--prefix P] [--timeout S] [--progress] [--allow-errors]\n"
                "Sends N generated orders, open loop at R per second: request i is due at\n"
                "t0 + i/R and its latency counts from that due time (no coordinated\n"
                "omission). --rate 0 is a closed loop, as fast as C connections allow.\n"
                "Exit 0 if every response was 2xx, 1 otherwise.\n%s"
                "  --url URL            default " ORDERSCTL_DEFAULT_URL "\n"
                "  -n, --count N        number of orders (1-1000000000)\n"
                "  --rate R             orders per second; 0 = closed loop\n"
                "  --connections C      keep-alive HTTP/1.1 connections (default 1, max 1024)\n"
                "  --duration-limit S   stop after S seconds whatever is left (default 300)\n"
                "  --prefix P           order ids are P-<seq> (default: a random run id)\n"
                "  --timeout S          per-request timeout in seconds (default 30)\n"
                "  --progress           progress line on stderr even when it is not a tty\n"
                "  --allow-errors       exit 0 even if some responses were not 2xx\n",
                secret_help);
        return;
    }
}

int ordersctl_read_file(const char *path, size_t limit, struct strbuf *out, char *err,
                        size_t errlen) {
    int rc = -1;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    char chunk[16384];
    FILE *f = is_stdin ? stdin : fopen(path, "rb");

    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", name, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n > 0 && (n > limit - out->len || strbuf_append(out, chunk, n) != 0)) {
            snprintf(err, errlen, "%s: larger than %zu bytes", name, limit);
            goto cleanup;
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read %s", name);
                goto cleanup;
            }
            break;
        }
    }
    rc = 0;
cleanup:
    if (!is_stdin)
        fclose(f);
    return rc;
}

int ordersctl_secret_load(const struct ordersctl_opts *o, struct strbuf *out, char *err,
                          size_t errlen) {
    if (o->secret) {
        if (strbuf_puts(out, o->secret) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    if (!o->secret_file) {
        snprintf(err, errlen, "missing --secret or --secret-file");
        return -1;
    }
    if (ordersctl_read_file(o->secret_file, 4096, out, err, errlen) != 0)
        return -1;
    if (out->len > 0 && out->data[out->len - 1] == '\n')
        out->data[--out->len] = '\0';
    if (out->len > 0 && out->data[out->len - 1] == '\r')
        out->data[--out->len] = '\0';
    if (out->len == 0 || memchr(out->data, '\0', out->len)) {
        snprintf(err, errlen, "%s: empty or binary secret", o->secret_file);
        return -1;
    }
    return 0;
}

void ordersctl_secret_wipe(struct strbuf *secret) {
    if (secret->data)
        explicit_bzero(secret->data, secret->cap);
    strbuf_release(secret);
}
