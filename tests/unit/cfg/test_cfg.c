/* Unit tests for common/cfg: types, bounds, required, *_FILE secrets, redaction, exit code. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "strbuf.h"

/* Every variable a test may set; the fixtures unset them all. */
static const char *const env_names[] = {
    "CFGT_V",    "CFGT_V_FILE",    "CFGT_STR",       "CFGT_STR_FILE",
    "CFGT_INT",  "CFGT_BOOL",      "CFGT_DUR",       "CFGT_PORT",
    "CFGT_PASS", "CFGT_PASS_FILE", "CFGT_REQ",       "CFGT_REQ_FILE",
    "CFGT_LVL",  "CFGT_NODEF",     "CFGT_PORT_FILE", NULL,
};

static char tmp_path[64];

static void unset_all(void) {
    for (size_t i = 0; env_names[i]; i++)
        unsetenv(env_names[i]);
}

static void setup(void) {
    unset_all();
    tmp_path[0] = '\0';
}

static void teardown(void) {
    unset_all();
    if (tmp_path[0])
        unlink(tmp_path);
}

/* Writes `content` (len bytes) to a fresh temp file whose path is tmp_path. */
static const char *write_tmp(const char *content, size_t len) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/cfgt-XXXXXX");
    int fd = mkstemp(tmp_path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static int level_ok(const char *v, char *err, size_t errlen) {
    static const char *const set[] = {"debug", "info", "warn", "error", NULL};
    return cfg_one_of(v, set, err, errlen);
}

/* A careless validator that copies the value into its message. */
static int echo_bad(const char *v, char *err, size_t errlen) {
    snprintf(err, errlen, "is wrong: '%s'", v);
    return -1;
}

TestSuite(cfg, .init = setup, .fini = teardown);

Test(cfg, defaults_applied) {
    char *str = NULL, *nodef = (char *)"junk";
    long long i = -1, dur = -1;
    bool b = false;
    int port = 0;
    const struct cfg_var vars[] = {
        {.name = "CFGT_STR", .type = CFG_STRING, .def = "orders.billing", .dest = &str},
        {.name = "CFGT_INT", .type = CFG_INT, .def = "-42", .dest = &i},
        {.name = "CFGT_BOOL", .type = CFG_BOOL, .def = "yes", .dest = &b},
        {.name = "CFGT_DUR", .type = CFG_DURATION_MS, .def = "5s", .dest = &dur},
        {.name = "CFGT_PORT", .type = CFG_PORT, .def = "18090", .dest = &port},
        {.name = "CFGT_NODEF", .type = CFG_STRING, .dest = &nodef},
    };
    char err[256] = "untouched";
    cr_assert_eq(cfg_load(vars, 6, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "");
    cr_assert_str_eq(str, "orders.billing");
    cr_assert_eq(i, -42);
    cr_assert_eq(b, true);
    cr_assert_eq(dur, 5000);
    cr_assert_eq(port, 18090);
    cr_assert_null(nodef);
    cfg_free(vars, 6);
    cr_assert_null(str);
    cfg_free(vars, 6); /* twice is harmless */
}

Test(cfg, environment_overrides_default) {
    char *str = NULL;
    int port = 0;
    const struct cfg_var vars[] = {
        {.name = "CFGT_STR", .type = CFG_STRING, .def = "x", .dest = &str},
        {.name = "CFGT_PORT", .type = CFG_PORT, .def = "1", .dest = &port},
    };
    setenv("CFGT_STR", "from env", 1);
    setenv("CFGT_PORT", "8080", 1);
    char err[256];
    cr_assert_eq(cfg_load(vars, 2, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(str, "from env");
    cr_assert_eq(port, 8080);
    cfg_free(vars, 2);
}

struct good_case {
    enum cfg_type type;
    const char *text;
    long long want; /* bool: 0/1 */
};

Test(cfg, good_values_of_each_type) {
    static const struct good_case cases[] = {
        {CFG_INT, "0", 0},
        {CFG_INT, "-5", -5},
        {CFG_INT, "9223372036854775807", LLONG_MAX},
        {CFG_INT, "-9223372036854775808", LLONG_MIN},
        {CFG_BOOL, "true", 1},
        {CFG_BOOL, "TRUE", 1},
        {CFG_BOOL, "1", 1},
        {CFG_BOOL, "yes", 1},
        {CFG_BOOL, "On", 1},
        {CFG_BOOL, "false", 0},
        {CFG_BOOL, "0", 0},
        {CFG_BOOL, "no", 0},
        {CFG_BOOL, "OFF", 0},
        {CFG_DURATION_MS, "250ms", 250},
        {CFG_DURATION_MS, "5s", 5000},
        {CFG_DURATION_MS, "2m", 120000},
        {CFG_DURATION_MS, "1h", 3600000},
        {CFG_DURATION_MS, "42", 42},
        {CFG_DURATION_MS, "0", 0},
        {CFG_PORT, "1", 1},
        {CFG_PORT, "65535", 65535},
        {CFG_PORT, "8080", 8080},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long long ll = -7;
        bool b = false;
        int port = -7;
        void *dest = cases[k].type == CFG_BOOL   ? (void *)&b
                     : cases[k].type == CFG_PORT ? (void *)&port
                                                 : (void *)&ll;
        const struct cfg_var var = {.name = "CFGT_V", .type = cases[k].type, .dest = dest};
        char err[256] = "";
        setenv("CFGT_V", cases[k].text, 1);
        cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "case %zu \"%s\": %s", k, cases[k].text,
                     err);
        long long got = cases[k].type == CFG_BOOL ? b : cases[k].type == CFG_PORT ? port : ll;
        cr_assert_eq(got, cases[k].want, "case %zu \"%s\": got %lld", k, cases[k].text, got);
    }
}

struct bad_case {
    enum cfg_type type;
    const char *text;
    long long min, max;
    const char *want; /* the whole error message */
};

Test(cfg, bad_values_name_variable_value_and_expectation) {
    static const struct bad_case cases[] = {
        {CFG_INT, "", 0, 0, "CFGT_V: \"\" is not an integer"},
        {CFG_INT, "abc", 0, 0, "CFGT_V: \"abc\" is not an integer"},
        {CFG_INT, "12abc", 0, 0, "CFGT_V: \"12abc\" is not an integer"},
        {CFG_INT, " 12", 0, 0, "CFGT_V: \" 12\" is not an integer"},
        {CFG_INT, "12 ", 0, 0, "CFGT_V: \"12 \" is not an integer"},
        {CFG_INT, "+5", 0, 0, "CFGT_V: \"+5\" is not an integer"},
        {CFG_INT, "-", 0, 0, "CFGT_V: \"-\" is not an integer"},
        {CFG_INT, "0x10", 0, 0, "CFGT_V: \"0x10\" is not an integer"},
        {CFG_INT, "9223372036854775808", 0, 0,
         "CFGT_V: \"9223372036854775808\" is out of range for an integer"},
        {CFG_INT, "-9223372036854775809", 0, 0,
         "CFGT_V: \"-9223372036854775809\" is out of range for an integer"},
        {CFG_INT, "101", 1, 100, "CFGT_V: \"101\" is out of range (1-100)"},
        {CFG_INT, "0", 1, 100, "CFGT_V: \"0\" is out of range (1-100)"},
        {CFG_BOOL, "maybe", 0, 0,
         "CFGT_V: \"maybe\" is not a boolean (true/false, 1/0, yes/no, on/off)"},
        {CFG_BOOL, "", 0, 0, "CFGT_V: \"\" is not a boolean (true/false, 1/0, yes/no, on/off)"},
        {CFG_BOOL, "truee", 0, 0,
         "CFGT_V: \"truee\" is not a boolean (true/false, 1/0, yes/no, on/off)"},
        {CFG_DURATION_MS, "5x", 0, 0,
         "CFGT_V: \"5x\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "-5s", 0, 0,
         "CFGT_V: \"-5s\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "s", 0, 0,
         "CFGT_V: \"s\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "1.5s", 0, 0,
         "CFGT_V: \"1.5s\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "", 0, 0,
         "CFGT_V: \"\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "5 s", 0, 0,
         "CFGT_V: \"5 s\" is not a duration (e.g. 250ms, 5s, 2m, 1h; plain numbers are ms)"},
        {CFG_DURATION_MS, "9999999999999999h", 0, 0,
         "CFGT_V: \"9999999999999999h\" is out of range for a duration"},
        {CFG_DURATION_MS, "2h", 100, 3600000, "CFGT_V: \"2h\" is out of range (100-3600000 ms)"},
        {CFG_DURATION_MS, "50ms", 100, 3600000,
         "CFGT_V: \"50ms\" is out of range (100-3600000 ms)"},
        {CFG_PORT, "70000", 0, 0, "CFGT_V: \"70000\" is not a port (1-65535)"},
        {CFG_PORT, "0", 0, 0, "CFGT_V: \"0\" is not a port (1-65535)"},
        {CFG_PORT, "-1", 0, 0, "CFGT_V: \"-1\" is not a port (1-65535)"},
        {CFG_PORT, "80a", 0, 0, "CFGT_V: \"80a\" is not a port (1-65535)"},
        {CFG_PORT, "", 0, 0, "CFGT_V: \"\" is not a port (1-65535)"},
        {CFG_PORT, "99999999999999999999", 0, 0,
         "CFGT_V: \"99999999999999999999\" is not a port (1-65535)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long long ll = 0;
        bool b = false;
        int port = 0;
        void *dest = cases[k].type == CFG_BOOL   ? (void *)&b
                     : cases[k].type == CFG_PORT ? (void *)&port
                                                 : (void *)&ll;
        const struct cfg_var var = {.name = "CFGT_V",
                                    .type = cases[k].type,
                                    .min = cases[k].min,
                                    .max = cases[k].max,
                                    .dest = dest};
        char err[256] = "";
        setenv("CFGT_V", cases[k].text, 1);
        cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1, "case %zu \"%s\" accepted", k,
                     cases[k].text);
        cr_assert_str_eq(err, cases[k].want, "case %zu", k);
    }
}

Test(cfg, bounds_are_inclusive) {
    long long v = 0;
    const struct cfg_var var = {.name = "CFGT_V", .type = CFG_INT, .min = -3, .max = 7, .dest = &v};
    char err[256];
    setenv("CFGT_V", "-3", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(v, -3);
    setenv("CFGT_V", "7", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(v, 7);
    setenv("CFGT_V", "-4", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_V: \"-4\" is out of range (-3-7)");
    setenv("CFGT_V", "8", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
}

Test(cfg, bad_default_is_reported_as_default) {
    int port = 0;
    const struct cfg_var var = {
        .name = "CFGT_PORT", .type = CFG_PORT, .def = "http", .dest = &port};
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PORT: default \"http\" is not a port (1-65535)");
}

Test(cfg, long_value_is_cut_in_message) {
    char text[200];
    memset(text, '9', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    text[150] = 'x';
    long long v;
    const struct cfg_var var = {.name = "CFGT_V", .type = CFG_INT, .dest = &v};
    char err[512];
    setenv("CFGT_V", text, 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "CFGT_V: \"%.80s...\" is not an integer", text);
    cr_assert_str_eq(err, want);
}

Test(cfg, required_missing) {
    char *s = NULL;
    const struct cfg_var var = {.name = "CFGT_REQ",
                                .type = CFG_STRING,
                                .def = "ignored",
                                .dest = &s,
                                .flags = CFG_REQUIRED};
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_REQ: required but not set (set CFGT_REQ or CFGT_REQ_FILE)");
    cr_assert_null(s);
    setenv("CFGT_REQ", "", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_REQ: required but empty");
    setenv("CFGT_REQ", "present", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(s, "present");
    cfg_free(&var, 1);
}

Test(cfg, failure_frees_what_was_loaded) {
    char *a = NULL, *b = NULL;
    long long i = 0;
    const struct cfg_var vars[] = {
        {.name = "CFGT_STR", .type = CFG_STRING, .def = "first", .dest = &a},
        {.name = "CFGT_PASS", .type = CFG_STRING, .def = "second", .dest = &b, .flags = CFG_SECRET},
        {.name = "CFGT_INT", .type = CFG_INT, .def = "nope", .dest = &i},
    };
    char err[256];
    cr_assert_eq(cfg_load(vars, 3, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_INT: default \"nope\" is not an integer");
    cr_assert_null(a);
    cr_assert_null(b);
}

Test(cfg, validator_one_of) {
    char *lvl = NULL;
    const struct cfg_var var = {
        .name = "CFGT_LVL", .type = CFG_STRING, .def = "info", .dest = &lvl, .validate = level_ok};
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(lvl, "info");
    cfg_free(&var, 1);
    setenv("CFGT_LVL", "verbose", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_LVL: \"verbose\" is not one of: debug, info, warn, error");
    cr_assert_null(lvl);
}

Test(cfg, file_value_strips_one_newline) {
    static const struct {
        const char *content;
        size_t len;
        const char *want;
    } cases[] = {
        {"s3cret\n", 7, "s3cret"},
        {"s3cret\r\n", 8, "s3cret"},
        {"s3cret", 6, "s3cret"},
        {"two\n\n", 5, "two\n"},
        {"", 0, ""},
        {"\n", 1, ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *pass = NULL;
        const struct cfg_var var = {
            .name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass, .flags = CFG_SECRET};
        setenv("CFGT_PASS_FILE", write_tmp(cases[k].content, cases[k].len), 1);
        char err[256];
        cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "case %zu: %s", k, err);
        cr_assert_str_eq(pass, cases[k].want, "case %zu", k);
        cfg_free(&var, 1);
        unlink(tmp_path);
        tmp_path[0] = '\0';
    }
}

Test(cfg, file_value_is_parsed_by_type) {
    int port = 0;
    const struct cfg_var var = {.name = "CFGT_PORT", .type = CFG_PORT, .dest = &port};
    setenv("CFGT_PORT_FILE", write_tmp("6543\n", 5), 1);
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(port, 6543);
    unsetenv("CFGT_PORT_FILE");
}

Test(cfg, both_name_and_file_is_an_error) {
    char *pass = NULL;
    const struct cfg_var var = {.name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass};
    setenv("CFGT_PASS", "inline", 1);
    setenv("CFGT_PASS_FILE", write_tmp("filed", 5), 1);
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PASS: both CFGT_PASS and CFGT_PASS_FILE are set; use only one");
    cr_assert_null(pass);
}

Test(cfg, unreadable_file_is_an_error) {
    char *pass = NULL;
    const struct cfg_var var = {.name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass};
    setenv("CFGT_PASS_FILE", "/nonexistent/cfgt/secret", 1);
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PASS_FILE: cannot read \"/nonexistent/cfgt/secret\": "
                          "No such file or directory");
    setenv("CFGT_PASS_FILE", "/tmp", 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PASS_FILE: cannot read \"/tmp\": Is a directory");
    cr_assert_null(pass);
}

Test(cfg, oversized_or_binary_file_is_an_error) {
    char *pass = NULL;
    const struct cfg_var var = {.name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass};
    char *big = malloc(CFG_FILE_MAX + 1);
    cr_assert_not_null(big);
    memset(big, 'k', CFG_FILE_MAX + 1);
    setenv("CFGT_PASS_FILE", write_tmp(big, CFG_FILE_MAX + 1), 1);
    free(big);
    char err[256], want[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "CFGT_PASS_FILE: \"%s\" is larger than 65536 bytes", tmp_path);
    cr_assert_str_eq(err, want);
    unlink(tmp_path);

    setenv("CFGT_PASS_FILE", write_tmp("a\0b", 3), 1);
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), -1);
    snprintf(want, sizeof want, "CFGT_PASS_FILE: \"%s\" contains a NUL byte", tmp_path);
    cr_assert_str_eq(err, want);
    cr_assert_null(pass);
}

Test(cfg, file_of_exactly_the_limit_is_accepted) {
    char *pass = NULL;
    const struct cfg_var var = {.name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass};
    char *big = malloc(CFG_FILE_MAX);
    cr_assert_not_null(big);
    memset(big, 'k', CFG_FILE_MAX);
    setenv("CFGT_PASS_FILE", write_tmp(big, CFG_FILE_MAX), 1);
    free(big);
    char err[256];
    cr_assert_eq(cfg_load(&var, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(strlen(pass), (size_t)CFG_FILE_MAX);
    cfg_free(&var, 1);
}

Test(cfg, secrets_never_in_error_messages) {
    long long v = 0;
    char *s = NULL;
    char err[256];
    const struct cfg_var num = {
        .name = "CFGT_PASS", .type = CFG_INT, .dest = &v, .flags = CFG_SECRET};
    setenv("CFGT_PASS", "hunter2", 1);
    cr_assert_eq(cfg_load(&num, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PASS: <redacted> is not an integer");

    /* A validator that echoes the value is overruled for secrets. */
    const struct cfg_var str = {.name = "CFGT_PASS",
                                .type = CFG_STRING,
                                .dest = &s,
                                .flags = CFG_SECRET,
                                .validate = echo_bad};
    cr_assert_eq(cfg_load(&str, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_PASS: <redacted> is not valid");

    unsetenv("CFGT_PASS");
    setenv("CFGT_PASS_FILE", write_tmp("hunter2\n", 8), 1);
    cr_assert_eq(cfg_load(&num, 1, err, sizeof err), -1);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    cr_assert_str_eq(err, "CFGT_PASS: <redacted> is not an integer");

    /* The same validator on a non-secret shows its message. */
    const struct cfg_var plain = {
        .name = "CFGT_STR", .type = CFG_STRING, .dest = &s, .validate = echo_bad};
    setenv("CFGT_STR", "open", 1);
    cr_assert_eq(cfg_load(&plain, 1, err, sizeof err), -1);
    cr_assert_str_eq(err, "CFGT_STR: \"open\" is wrong: 'open'");
}

Test(cfg, describe_redacts_secrets) {
    char *str = NULL, *pass = NULL, *unset = NULL;
    long long i = 0, dur = 0;
    bool b = false;
    int port = 0;
    const struct cfg_var vars[] = {
        {.name = "CFGT_STR", .type = CFG_STRING, .def = "a\"b", .dest = &str},
        {.name = "CFGT_INT", .type = CFG_INT, .def = "-7", .dest = &i},
        {.name = "CFGT_BOOL", .type = CFG_BOOL, .def = "on", .dest = &b},
        {.name = "CFGT_DUR", .type = CFG_DURATION_MS, .def = "2m", .dest = &dur},
        {.name = "CFGT_PORT", .type = CFG_PORT, .def = "443", .dest = &port},
        {.name = "CFGT_PASS", .type = CFG_STRING, .dest = &pass, .flags = CFG_SECRET},
        {.name = "CFGT_NODEF", .type = CFG_STRING, .dest = &unset},
    };
    setenv("CFGT_PASS", "hunter2", 1);
    char err[256];
    cr_assert_eq(cfg_load(vars, 7, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(pass, "hunter2");
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    cfg_describe(vars, 7, &sb);
    cr_assert_str_eq(strbuf_str(&sb),
                     "{\"CFGT_STR\":\"a\\\"b\",\"CFGT_INT\":-7,\"CFGT_BOOL\":true,"
                     "\"CFGT_DUR\":120000,\"CFGT_PORT\":443,\"CFGT_PASS\":\"<redacted>\","
                     "\"CFGT_NODEF\":null}");
    strbuf_release(&sb);
    cfg_free(vars, 7);
}

Test(cfg, usage_lists_every_variable) {
    char *pass = NULL;
    long long dur = 0;
    const struct cfg_var vars[] = {
        {.name = "CFGT_DUR",
         .type = CFG_DURATION_MS,
         .def = "5s",
         .min = 100,
         .max = 60000,
         .dest = &dur,
         .help = "commit timeout"},
        {.name = "CFGT_PASS",
         .type = CFG_STRING,
         .def = "dev-only",
         .dest = &pass,
         .help = "password",
         .flags = CFG_SECRET},
        {.name = "CFGT_REQ", .type = CFG_STRING, .dest = &pass, .flags = CFG_REQUIRED},
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cfg_usage(vars, 3, f);
    fclose(f);
    cr_assert_str_eq(text, "NAME       TYPE      DEFAULT           DESCRIPTION\n"
                           "CFGT_DUR   duration  5s                commit timeout [100-60000 ms]\n"
                           "CFGT_PASS  string    <redacted>        password (secret)\n"
                           "CFGT_REQ   string    (required)        \n"
                           "Any NAME may instead be read from the file named by NAME_FILE.\n");
    free(text);
}

Test(cfg, one_of_helper) {
    static const char *const set[] = {"a", "bb", NULL};
    char err[64] = "";
    cr_assert_eq(cfg_one_of("bb", set, err, sizeof err), 0);
    cr_assert_str_eq(err, "");
    cr_assert_eq(cfg_one_of("B", set, err, sizeof err), -1);
    cr_assert_str_eq(err, "is not one of: a, bb");
}

Test(cfg, load_or_exit_returns_on_success) {
    int port = 0;
    const struct cfg_var var = {.name = "CFGT_PORT", .type = CFG_PORT, .def = "80", .dest = &port};
    cfg_load_or_exit(&var, 1, "svc");
    cr_assert_eq(port, 80);
}

Test(cfg, load_or_exit_exits_2, .exit_code = 2) {
    int port = 0;
    const struct cfg_var var = {.name = "CFGT_PORT", .type = CFG_PORT, .dest = &port};
    setenv("CFGT_PORT", "70000", 1);
    cr_redirect_stderr(); /* keep the expected message out of the test report */
    cfg_load_or_exit(&var, 1, "publisher");
    cr_assert_fail("cfg_load_or_exit returned on a bad value");
}

Test(cfg, load_or_exit_message_on_stderr) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int port = 0;
        const struct cfg_var var = {.name = "CFGT_PORT", .type = CFG_PORT, .dest = &port};
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        setenv("CFGT_PORT", "70000", 1);
        cfg_load_or_exit(&var, 1, "publisher");
        _exit(99);
    }
    close(fds[1]);
    char buf[512];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fds[0]);
    /* Only the first line is ours: under ASan, LeakSanitizer may add a note
     * about the forked child of a threaded process. */
    char *nl = strchr(buf, '\n');
    if (nl)
        nl[1] = '\0';
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 2);
    cr_assert_str_eq(buf,
                     "publisher: config error: CFGT_PORT: \"70000\" is not a port (1-65535)\n");
}
