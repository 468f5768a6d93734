/* Unit tests for ordersctl args: option parsing, usage errors (exit status 2), secret files. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../services/ordersctl/args.h"
#include "strbuf.h"

#define ARGS_TEST_MAX 32

static char args_test_err[256];
static struct ordersctl_opts args_test_opts;

/* Parses a NULL-terminated word list for `cmd` (the subcommand name is
 * prepended as argv[0]). Returns the parser's result. */
static int args_test_parse(enum ordersctl_cmd cmd, const char *const *words) {
    char *argv[ARGS_TEST_MAX];
    int argc = 0;
    argv[argc++] = (char *)ordersctl_cmd_name(cmd);
    while (*words && argc < ARGS_TEST_MAX)
        argv[argc++] = (char *)*words++;
    args_test_err[0] = '\0';
    return ordersctl_args_parse(cmd, argc, argv, &args_test_opts, args_test_err,
                                sizeof(args_test_err));
}

/* Asserts that parsing fails with exactly `msg`. */
static void args_test_fails(enum ordersctl_cmd cmd, const char *const *words, const char *msg) {
    cr_assert_eq(args_test_parse(cmd, words), -1, "expected failure: %s", msg);
    cr_assert_str_eq(args_test_err, msg);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(ordersctl_args, sign_minimal_and_defaults) {
    cr_assert_eq(
        args_test_parse(ORDERSCTL_CMD_SIGN, WORDS("--client-id", "demo", "--secret", "s", "-")), 0,
        "%s", args_test_err);
    const struct ordersctl_opts *o = &args_test_opts;
    cr_assert_str_eq(o->client_id, "demo");
    cr_assert_str_eq(o->secret, "s");
    cr_assert_null(o->secret_file);
    cr_assert_str_eq(o->body_file, "-");
    cr_assert_str_eq(o->url, "http://127.0.0.1:18080/orders");
    cr_assert_eq(o->has_timestamp, 0);
    cr_assert_eq(o->generate, 0);
    cr_assert_null(o->curl_url);
    cr_assert_eq(o->timeout_s, 30.0);
}

Test(ordersctl_args, sign_equals_form_and_curl) {
    cr_assert_eq(
        args_test_parse(ORDERSCTL_CMD_SIGN, WORDS("--client-id=a.b_c-9", "--secret-file=/tmp/x",
                                                  "--timestamp=1700000000", "--body-file", "b.json",
                                                  "--curl", "https://example.com/orders")),
        0, "%s", args_test_err);
    cr_assert_str_eq(args_test_opts.client_id, "a.b_c-9");
    cr_assert_str_eq(args_test_opts.secret_file, "/tmp/x");
    cr_assert_eq(args_test_opts.timestamp, 1700000000LL);
    cr_assert_eq(args_test_opts.has_timestamp, 1);
    cr_assert_str_eq(args_test_opts.body_file, "b.json");
    cr_assert_str_eq(args_test_opts.curl_url, "https://example.com/orders");
}

Test(ordersctl_args, load_all_options) {
    cr_assert_eq(
        args_test_parse(ORDERSCTL_CMD_LOAD,
                        WORDS("--url", "http://127.0.0.1:9/orders", "--client-id", "lt", "--secret",
                              "s", "-n", "1000", "--rate=250.5", "--connections", "8",
                              "--duration-limit", "10", "--prefix", "run_1-x", "--timeout", "2.5",
                              "--progress", "--allow-errors")),
        0, "%s", args_test_err);
    const struct ordersctl_opts *o = &args_test_opts;
    cr_assert_str_eq(o->url, "http://127.0.0.1:9/orders");
    cr_assert_eq(o->count, 1000ULL);
    cr_assert_eq(o->rate, 250.5);
    cr_assert_eq(o->connections, 8u);
    cr_assert_eq(o->duration_limit_s, 10.0);
    cr_assert_str_eq(o->prefix, "run_1-x");
    cr_assert_eq(o->timeout_s, 2.5);
    cr_assert_eq(o->progress, 1);
    cr_assert_eq(o->allow_errors, 1);
}

Test(ordersctl_args, load_defaults_and_closed_loop) {
    cr_assert_eq(args_test_parse(ORDERSCTL_CMD_LOAD, WORDS("--client-id", "lt", "--secret", "s",
                                                           "--count", "5", "--rate", "0")),
                 0, "%s", args_test_err);
    cr_assert_eq(args_test_opts.rate, 0.0);
    cr_assert_eq(args_test_opts.connections, 1u);
    cr_assert_eq(args_test_opts.duration_limit_s, 300.0);
    cr_assert_null(args_test_opts.prefix);
    cr_assert_eq(args_test_opts.progress, 0);
}

Test(ordersctl_args, help_skips_required_checks) {
    cr_assert_eq(args_test_parse(ORDERSCTL_CMD_LOAD, WORDS("--help")), 0);
    cr_assert_eq(args_test_opts.help, 1);
    cr_assert_eq(args_test_parse(ORDERSCTL_CMD_SEND, WORDS("-h")), 0);
    cr_assert_eq(args_test_opts.help, 1);
}

Test(ordersctl_args, unknown_and_misplaced_words) {
    enum ordersctl_cmd c = ORDERSCTL_CMD_SIGN;
    args_test_fails(c, WORDS("--nope"), "unknown option '--nope'");
    args_test_fails(c, WORDS("-x"), "unknown option '-x'");
    args_test_fails(c, WORDS("--"), "unknown option '--'");
    args_test_fails(c, WORDS("extra"), "unexpected argument 'extra'");
    args_test_fails(c, WORDS("--rate", "5"), "option '--rate' is not valid for 'sign'");
    args_test_fails(c, WORDS("-n", "5"), "option '-n' is not valid for 'sign'");
    args_test_fails(ORDERSCTL_CMD_LOAD, WORDS("--generate"),
                    "option '--generate' is not valid for 'load'");
    args_test_fails(ORDERSCTL_CMD_SEND, WORDS("--curl", "http://x"),
                    "option '--curl' is not valid for 'send'");
    args_test_fails(ORDERSCTL_CMD_LOAD, WORDS("-"), "option '-' is not valid for 'load'");
}

Test(ordersctl_args, values_missing_repeated_or_unexpected) {
    enum ordersctl_cmd c = ORDERSCTL_CMD_SEND;
    args_test_fails(c, WORDS("--client-id"), "option '--client-id' needs a value");
    args_test_fails(c, WORDS("--secret", "a", "--secret", "b"),
                    "option '--secret' given more than once");
    args_test_fails(c, WORDS("--generate=yes"), "option '--generate' takes no value");
    args_test_fails(c, WORDS("--client-id", "d", "--secret", "s", "--body-file", "a", "-"),
                    "give only one of --body-file, - or --generate");
}

Test(ordersctl_args, bad_numbers) {
    enum ordersctl_cmd c = ORDERSCTL_CMD_LOAD;
    args_test_fails(c, WORDS("--rate", "-1"),
                    "invalid value for --rate: '-1' (expected requests per second, 0 (closed "
                    "loop) to 10000000)");
    args_test_fails(c, WORDS("--rate", "abc"),
                    "invalid value for --rate: 'abc' (expected requests per second, 0 (closed "
                    "loop) to 10000000)");
    args_test_fails(c, WORDS("--rate", "5x"),
                    "invalid value for --rate: '5x' (expected requests per second, 0 (closed "
                    "loop) to 10000000)");
    cr_assert_eq(args_test_parse(c, WORDS("--rate", "nan")), -1);
    cr_assert_eq(args_test_parse(c, WORDS("--rate", "inf")), -1);
    cr_assert_eq(args_test_parse(c, WORDS("--rate", "")), -1);
    args_test_fails(c, WORDS("--connections", "0"),
                    "invalid value for --connections: '0' (expected an integer, 1-1024)");
    args_test_fails(c, WORDS("--connections", "1025"),
                    "invalid value for --connections: '1025' (expected an integer, 1-1024)");
    args_test_fails(c, WORDS("-n", "0"),
                    "invalid value for -n: '0' (expected an integer, 1-1000000000)");
    args_test_fails(c, WORDS("-n", "-3"),
                    "invalid value for -n: '-3' (expected an integer, 1-1000000000)");
    args_test_fails(c, WORDS("--count", "99999999999999999999999"),
                    "invalid value for --count: '99999999999999999999999' (expected an integer, "
                    "1-1000000000)");
    args_test_fails(c, WORDS("--duration-limit", "0"),
                    "invalid value for --duration-limit: '0' (expected seconds, 0.001-86400)");
    args_test_fails(ORDERSCTL_CMD_SIGN, WORDS("--timestamp", "1.5"),
                    "invalid value for --timestamp: '1.5' (expected Unix seconds, "
                    "0-9007199254740991)");
}

Test(ordersctl_args, bad_strings) {
    enum ordersctl_cmd c = ORDERSCTL_CMD_LOAD;
    args_test_fails(c, WORDS("--client-id", "a b"),
                    "invalid value for --client-id: 'a b' (1-64 of [A-Za-z0-9._-])");
    args_test_fails(c, WORDS("--client-id", ""),
                    "invalid value for --client-id: '' (1-64 of [A-Za-z0-9._-])");
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    cr_assert_eq(args_test_parse(c, WORDS("--client-id", long_id)), -1);
    long_id[64] = '\0';
    cr_assert_eq(args_test_parse(
                     c, WORDS("--client-id", long_id, "--secret", "s", "-n", "1", "--rate", "1")),
                 0, "%s", args_test_err);
    args_test_fails(c, WORDS("--url", "ftp://x/orders"),
                    "invalid value for --url: 'ftp://x/orders' (expected an http:// or https:// "
                    "URL)");
    args_test_fails(c, WORDS("--prefix", "a.b"),
                    "invalid value for --prefix: 'a.b' (1-40 of [A-Za-z0-9_-])");
    args_test_fails(c, WORDS("--prefix", "01234567890123456789012345678901234567890"),
                    "invalid value for --prefix: '01234567890123456789012345678901234567890' "
                    "(1-40 of [A-Za-z0-9_-])");
    args_test_fails(c, WORDS("--secret", ""), "--secret must not be empty");
}

Test(ordersctl_args, required_and_conflicting) {
    args_test_fails(ORDERSCTL_CMD_SIGN, WORDS("--secret", "s", "-"), "missing --client-id");
    args_test_fails(ORDERSCTL_CMD_SIGN, WORDS("--client-id", "d", "-"),
                    "missing --secret or --secret-file");
    args_test_fails(ORDERSCTL_CMD_SIGN,
                    WORDS("--client-id", "d", "--secret", "s", "--secret-file", "f", "-"),
                    "--secret and --secret-file are mutually exclusive");
    args_test_fails(ORDERSCTL_CMD_SEND, WORDS("--client-id", "d", "--secret", "s"),
                    "missing body: --body-file F, - or --generate");
    args_test_fails(ORDERSCTL_CMD_SEND,
                    WORDS("--client-id", "d", "--secret", "s", "--generate", "-"),
                    "give only one of --body-file, - or --generate");
    args_test_fails(ORDERSCTL_CMD_SEND, WORDS("--client-id", "d", "--secret-file", "-", "-"),
                    "the secret and the body cannot both come from stdin");
    args_test_fails(ORDERSCTL_CMD_LOAD, WORDS("--client-id", "d", "--secret", "s", "--rate", "1"),
                    "missing -n N (number of orders)");
    args_test_fails(ORDERSCTL_CMD_LOAD, WORDS("--client-id", "d", "--secret", "s", "-n", "1"),
                    "missing --rate R (orders per second; 0 = as fast as possible)");
}

Test(ordersctl_args, client_id_rule) {
    cr_assert_eq(ordersctl_client_id_valid("demo"), 1);
    cr_assert_eq(ordersctl_client_id_valid("A.z_0-9"), 1);
    cr_assert_eq(ordersctl_client_id_valid(""), 0);
    cr_assert_eq(ordersctl_client_id_valid("a/b"), 0);
    cr_assert_eq(ordersctl_client_id_valid("\xc3\xa9"), 0);
}

/* Writes `content` (n bytes) to a fresh temp file; returns its malloc'd path. */
static char *args_test_tmpfile(const char *content, size_t n) {
    char *path = strdup("/tmp/ordersctl-args-XXXXXX");
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Loads a secret file and returns 0/-1; the secret is left in `out`. */
static int args_test_secret(const char *content, size_t n, struct strbuf *out) {
    struct ordersctl_opts o;
    memset(&o, 0, sizeof(o));
    char *path = args_test_tmpfile(content, n);
    o.secret_file = path;
    int rc = ordersctl_secret_load(&o, out, args_test_err, sizeof(args_test_err));
    unlink(path);
    free(path);
    return rc;
}

Test(ordersctl_args, secret_file_trailing_newline) {
    struct strbuf s;
    strbuf_init(&s, 4096);
    cr_assert_eq(args_test_secret("dev-only-demo-secret\n", 21, &s), 0, "%s", args_test_err);
    cr_assert_str_eq(strbuf_str(&s), "dev-only-demo-secret");
    ordersctl_secret_wipe(&s);
    strbuf_init(&s, 4096);
    cr_assert_eq(args_test_secret("abc\r\n", 5, &s), 0);
    cr_assert_str_eq(strbuf_str(&s), "abc");
    ordersctl_secret_wipe(&s);
    strbuf_init(&s, 4096);
    cr_assert_eq(args_test_secret("a b\n\n", 5, &s), 0); /* only one newline goes */
    cr_assert_str_eq(strbuf_str(&s), "a b\n");
    ordersctl_secret_wipe(&s);
    cr_assert_null(s.data);
}

Test(ordersctl_args, secret_file_errors_do_not_leak_it) {
    struct strbuf s;
    strbuf_init(&s, 4096);
    cr_assert_eq(args_test_secret("\n", 1, &s), -1);
    cr_assert(strstr(args_test_err, "empty or binary secret") != NULL, "%s", args_test_err);
    ordersctl_secret_wipe(&s);
    strbuf_init(&s, 4096);
    cr_assert_eq(args_test_secret("top\0secret", 10, &s), -1);
    cr_assert_null(strstr(args_test_err, "top"), "%s", args_test_err);
    ordersctl_secret_wipe(&s);

    struct ordersctl_opts o;
    memset(&o, 0, sizeof(o));
    o.secret_file = "/nonexistent/ordersctl-secret";
    strbuf_init(&s, 4096);
    cr_assert_eq(ordersctl_secret_load(&o, &s, args_test_err, sizeof(args_test_err)), -1);
    cr_assert_str_eq(args_test_err,
                     "cannot open /nonexistent/ordersctl-secret: No such file or directory");
    ordersctl_secret_wipe(&s);
}

Test(ordersctl_args, read_file_limit) {
    struct strbuf b;
    strbuf_init(&b, 1 << 20);
    char *path = args_test_tmpfile("0123456789", 10);
    cr_assert_eq(ordersctl_read_file(path, 10, &b, args_test_err, sizeof(args_test_err)), 0);
    cr_assert_str_eq(strbuf_str(&b), "0123456789");
    strbuf_reset(&b);
    cr_assert_eq(ordersctl_read_file(path, 9, &b, args_test_err, sizeof(args_test_err)), -1);
    cr_assert(strstr(args_test_err, "larger than 9 bytes") != NULL, "%s", args_test_err);
    unlink(path);
    free(path);
    strbuf_release(&b);
}

Test(ordersctl_args, usage_mentions_every_option) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    ordersctl_usage(ORDERSCTL_CMD_LOAD, f);
    fclose(f);
    const char *expect[] = {"--url",       "--client-id", "--secret",      "--secret-file",
                            "-n, --count", "--rate",      "--connections", "--duration-limit",
                            "--prefix",    "--timeout",   "--progress",    "--allow-errors"};
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        cr_assert(strstr(text, expect[i]) != NULL, "usage lacks %s", expect[i]);
    free(text);
}
