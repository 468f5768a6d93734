/* args: command-line parsing, usage text and input files of ordersctl.
 *
 * Parsing is a pure function over argv (no getopt global state, no I/O), so
 * the tests can call it repeatedly. Options are "--name value" or
 * "--name=value"; "-n N" and "-h" are the only short forms; a lone "-" means
 * "read the body from stdin". Each option is valid for a set of subcommands
 * only; anything else is a usage error (exit status 2). */
#ifndef ORDERSCTL_ARGS_H
#define ORDERSCTL_ARGS_H

#include <stdio.h>

struct strbuf;

/* Subcommands, as bits so an option can list where it is allowed. */
enum ordersctl_cmd {
    ORDERSCTL_CMD_SIGN = 1u << 0,
    ORDERSCTL_CMD_SEND = 1u << 1,
    ORDERSCTL_CMD_LOAD = 1u << 2,
};

/* Exit statuses of every subcommand. */
enum {
    ORDERSCTL_EXIT_OK = 0,
    ORDERSCTL_EXIT_FAIL = 1,  /* request failures (send), non-2xx (load) */
    ORDERSCTL_EXIT_USAGE = 2, /* bad arguments or unreadable input files */
};

#define ORDERSCTL_DEFAULT_URL "http://127.0.0.1:18080/orders"
#define ORDERSCTL_CLIENT_ID_MAX 64
#define ORDERSCTL_PREFIX_MAX 40        /* order-id prefix; "-<seq>" is appended */
#define ORDERSCTL_BODY_MAX (16u << 20) /* larger than any server limit, to test 413 */

/* Parsed options. Strings point into argv (not copied, never freed). */
struct ordersctl_opts {
    enum ordersctl_cmd cmd;
    int help;                /* -h/--help: print usage, exit 0 */
    const char *client_id;   /* validated: 1-64 of [A-Za-z0-9._-] */
    const char *secret;      /* --secret, or NULL */
    const char *secret_file; /* --secret-file, or NULL (exactly one of the two) */
    const char *url;         /* send/load; defaults to ORDERSCTL_DEFAULT_URL */
    const char *body_file;   /* path, "-" for stdin, or NULL */
    int generate;            /* --generate: make a random valid order */
    const char *curl_url;    /* sign --curl URL, or NULL */
    long long timestamp;     /* --timestamp, when has_timestamp */
    int has_timestamp;
    unsigned long long count; /* load -n */
    double rate;              /* load --rate; 0 = closed loop */
    unsigned connections;     /* load --connections, default 1 */
    double duration_limit_s;  /* load --duration-limit, default 300 */
    double timeout_s;         /* per request, default 30 */
    const char *prefix;       /* load --prefix, or NULL for a random run id */
    int progress;             /* load --progress: progress line even without a tty */
    int allow_errors;         /* load --allow-errors: non-2xx do not make exit 1 */
};

/* Parses argv[1..argc-1] (argv[0] is the subcommand name) for `cmd`. Fills
 * *o with the values and defaults. Returns 0, or -1 with a one-line message
 * in err[errlen] (unknown option, option not valid for the subcommand,
 * missing or malformed value, repeated option, missing required option,
 * conflicting options). With -h/--help it returns 0 and sets o->help without
 * checking required options. */
int ordersctl_args_parse(enum ordersctl_cmd cmd, int argc, char *const *argv,
                         struct ordersctl_opts *o, char *err, size_t errlen);

/* Returns the subcommand's name ("sign", ...), or "?" for an unknown value. */
const char *ordersctl_cmd_name(enum ordersctl_cmd cmd);

/* Prints the usage text of one subcommand. */
void ordersctl_usage(enum ordersctl_cmd cmd, FILE *out);

/* Returns 1 if `s` is a valid X-Client-Id (1-64 of [A-Za-z0-9._-]), else 0. */
int ordersctl_client_id_valid(const char *s);

/* Appends the whole content of `path` ("-": stdin) to `out`, refusing more
 * than `limit` bytes. Returns 0, or -1 with a message in err (the buffer may
 * then hold part of the file). */
int ordersctl_read_file(const char *path, size_t limit, struct strbuf *out, char *err,
                        size_t errlen);

/* Loads the HMAC secret from --secret or --secret-file into `out` (the file
 * loses one trailing "\n" or "\r\n"). Returns 0, or -1 with a message in err
 * (unreadable file, empty secret). The message never contains the secret.
 * The caller wipes and releases `out` (ordersctl_secret_wipe). */
int ordersctl_secret_load(const struct ordersctl_opts *o, struct strbuf *out, char *err,
                          size_t errlen);

/* Overwrites the buffer's bytes with zeros and releases it. */
void ordersctl_secret_wipe(struct strbuf *secret);

#endif
