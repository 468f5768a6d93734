/* Unit tests for common/log: exact JSON lines, escaping, levels, context, bounds. */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static FILE *out;
static char *out_buf;
static size_t out_len;
static int eval_count;

static void setup(void) {
    out = open_memstream(&out_buf, &out_len);
    cr_assert_not_null(out);
    cr_assert_eq(log_init("billing", "info"), 0);
    log_set_output(out);
    log_context_clear();
    eval_count = 0;
}

static void teardown(void) {
    log_set_output(NULL);
    fclose(out);
    free(out_buf);
}

/* Everything written so far. */
static const char *captured(void) {
    fflush(out);
    return out_len ? out_buf : "";
}

static int count_eval(void) {
    return ++eval_count;
}

/* Checks `ts` starts with "2026-11-27T10:52:05.123Z" shaped text. */
static void assert_timestamp(const char *ts) {
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd')
            cr_assert(isdigit((unsigned char)ts[i]), "timestamp char %zu in '%.24s'", i, ts);
        else
            cr_assert_eq(ts[i], shape[i], "timestamp char %zu in '%.24s'", i, ts);
    }
}

/* Asserts the output is exactly one line `{"ts":"<ts>"<rest>`; `rest` starts
 * after the timestamp's closing quote. */
static void assert_single_line(const char *rest) {
    const char *s = captured();
    cr_assert_eq(strncmp(s, "{\"ts\":\"", 7), 0, "line: %s", s);
    assert_timestamp(s + 7);
    cr_assert_eq(s[31], '"');
    cr_assert_str_eq(s + 32, rest);
}

/* Parses every line of the output with cJSON; returns how many there were.
 * If `last` is given, it receives the parsed last line (caller deletes). */
static int parse_lines(cJSON **last) {
    const char *s = captured();
    int lines = 0;
    if (last)
        *last = NULL;
    while (*s) {
        const char *nl = strchr(s, '\n');
        cr_assert_not_null(nl, "unterminated line: %s", s);
        cr_assert_leq((size_t)(nl - s + 1), (size_t)LOG_LINE_MAX);
        cJSON *obj = cJSON_ParseWithLength(s, (size_t)(nl - s));
        cr_assert_not_null(obj, "line %d is not JSON: %.200s", lines, s);
        cr_assert(cJSON_IsObject(obj));
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "ts")));
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "level")));
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "msg")));
        if (last) {
            cJSON_Delete(*last);
            *last = obj;
        } else {
            cJSON_Delete(obj);
        }
        lines++;
        s = nl + 1;
    }
    return lines;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, simple_line_is_exact) {
    LOG_INFO("hello %d", 42);
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"hello 42\"}\n");
}

Test(log, levels_are_named) {
    cr_assert_eq(log_init("billing", "debug"), 0);
    LOG_DEBUG("d");
    LOG_INFO("i");
    LOG_WARN("w");
    LOG_ERROR("e");
    cJSON *last;
    cr_assert_eq(parse_lines(&last), 4);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(last, "level")->valuestring, "error");
    cJSON_Delete(last);
    const char *s = captured();
    cr_assert_not_null(strstr(s, "\"level\":\"debug\",\"service\":\"billing\",\"msg\":\"d\"}\n"));
    cr_assert_not_null(strstr(s, "\"level\":\"info\",\"service\":\"billing\",\"msg\":\"i\"}\n"));
    cr_assert_not_null(strstr(s, "\"level\":\"warn\",\"service\":\"billing\",\"msg\":\"w\"}\n"));
    cr_assert_not_null(strstr(s, "\"level\":\"error\",\"service\":\"billing\",\"msg\":\"e\"}\n"));
}

Test(log, escapes_every_string) {
    LOG_WARN("%s", "q\"b\\s\nn\tt\x01u\xff!");
    assert_single_line(",\"level\":\"warn\",\"service\":\"billing\","
                       "\"msg\":\"q\\\"b\\\\s\\nn\\tt\\u0001u\xEF\xBF\xBD!\"}\n");
    cJSON *obj;
    cr_assert_eq(parse_lines(&obj), 1);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(obj, "msg")->valuestring,
                     "q\"b\\s\nn\tt\x01u\xEF\xBF\xBD!");
    cJSON_Delete(obj);
}

Test(log, escapes_service_name) {
    cr_assert_eq(log_init("bil\"ling\n", "info"), 0);
    LOG_INFO("x");
    assert_single_line(",\"level\":\"info\",\"service\":\"bil\\\"ling\\n\",\"msg\":\"x\"}\n");
}

Test(log, debug_suppressed_at_info_without_evaluating_arguments) {
    LOG_DEBUG("never %d", count_eval());
    cr_assert_eq(eval_count, 0, "arguments of a disabled level were evaluated");
    cr_assert_str_eq(captured(), "");
    LOG_INFO("once %d", count_eval());
    cr_assert_eq(eval_count, 1);
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"once 1\"}\n");
}

Test(log, warn_level_filters_info) {
    cr_assert_eq(log_init("billing", "WARN"), 0);
    cr_assert_not(log_enabled(LOG_LEVEL_INFO));
    cr_assert(log_enabled(LOG_LEVEL_WARN));
    LOG_INFO("no %d", count_eval());
    LOG_WARN("yes");
    LOG_ERROR("yes");
    cr_assert_eq(eval_count, 0);
    cr_assert_eq(parse_lines(NULL), 2);
}

Test(log, unknown_level_is_rejected_and_changes_nothing) {
    cr_assert_eq(log_init("other", "verbose"), -1);
    cr_assert_eq(log_level_parse("trace"), -1);
    cr_assert_eq(log_level_parse("Error"), LOG_LEVEL_ERROR);
    cr_assert_str_eq(log_level_name(LOG_LEVEL_WARN), "warn");
    cr_assert_str_eq(log_level_name(17), "unknown");
    LOG_DEBUG("still filtered");
    LOG_INFO("kept");
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"kept\"}\n");
}

/* Returns line `index` (0-based) of the output without its timestamp: the
 * text after `{"ts":"<24 chars>"`, newline included, in a static buffer. */
static const char *line_after_ts(int index) {
    static char line[4096];
    const char *s = captured();
    for (int i = 0; i < index && s; i++) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    cr_assert(s && *s, "no line %d", index);
    const char *nl = strchr(s, '\n');
    cr_assert_not_null(nl);
    cr_assert_gt(nl - s, 32);
    assert_timestamp(s + 7);
    cr_assert_eq(s[31], '"');
    snprintf(line, sizeof line, "%.*s", (int)(nl + 1 - (s + 32)), s + 32);
    return line;
}

Test(log, context_appears_and_disappears) {
    log_context_set("req-1", "4bf92f3577b34da6a3ce929d0e0e4736");
    LOG_INFO("with");
    log_context_clear();
    LOG_INFO("without");
    log_context_set("req-2", NULL);
    LOG_INFO("request only");
    log_context_set(NULL, "");
    LOG_INFO("cleared by NULL");
    cr_assert_eq(parse_lines(NULL), 4);
    cr_assert_str_eq(
        line_after_ts(0),
        ",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"with\","
        "\"request_id\":\"req-1\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}\n");
    cr_assert_str_eq(line_after_ts(1),
                     ",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"without\"}\n");
    cr_assert_str_eq(line_after_ts(2), ",\"level\":\"info\",\"service\":\"billing\","
                                       "\"msg\":\"request only\",\"request_id\":\"req-2\"}\n");
    cr_assert_str_eq(line_after_ts(3),
                     ",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"cleared by NULL\"}\n");
}

Test(log, context_is_cut_to_bound) {
    char id[200];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    log_context_set(id, NULL);
    LOG_INFO("x");
    cJSON *obj;
    cr_assert_eq(parse_lines(&obj), 1);
    cr_assert_eq(strlen(cJSON_GetObjectItemCaseSensitive(obj, "request_id")->valuestring),
                 (size_t)LOG_CONTEXT_MAX - 1);
    cJSON_Delete(obj);
}

static void *log_other_thread(void *arg) {
    (void)arg;
    LOG_INFO("from thread");
    return NULL;
}

Test(log, context_is_per_thread) {
    log_context_set("req-main", "t");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, log_other_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"from thread\"}\n");
}

Test(log, key_value_fields) {
    const char *const kv[] = {"order_id", "o-1", "client", "c\"1", "absent", NULL};
    log_context_set("req-9", NULL);
    log_write_kv(LOG_LEVEL_INFO, "order accepted", kv, 3);
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"order accepted\","
                       "\"request_id\":\"req-9\",\"order_id\":\"o-1\",\"client\":\"c\\\"1\","
                       "\"absent\":null}\n");
    log_write_kv(LOG_LEVEL_DEBUG, "filtered", kv, 3);
    cr_assert_eq(parse_lines(NULL), 1);
}

Test(log, long_message_is_truncated_but_valid) {
    size_t n = 100000;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    LOG_ERROR("%s", big);
    cJSON *obj;
    cr_assert_eq(parse_lines(&obj), 1);
    const char *msg = cJSON_GetObjectItemCaseSensitive(obj, "msg")->valuestring;
    cr_assert_gt(strlen(msg), (size_t)10000);
    cr_assert_eq(strncmp(msg, big, strlen(msg)), 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "truncated")));
    cr_assert_leq(strlen(captured()), (size_t)LOG_LINE_MAX);
    cJSON_Delete(obj);
    free(big);
}

Test(log, escaped_expansion_is_bounded) {
    /* Each \x01 becomes six bytes, and each "é" must not be cut in two. */
    size_t n = 12000;
    char *big = malloc(3 * n + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++) {
        big[3 * i] = '\x01';
        big[3 * i + 1] = '\xC3';
        big[3 * i + 2] = '\xA9';
    }
    big[3 * n] = '\0';
    log_context_set("req-long", "trace-long");
    LOG_INFO("%s", big);
    log_write_kv(LOG_LEVEL_INFO, big, (const char *const[]){"k", big}, 1);
    cJSON *obj;
    cr_assert_eq(parse_lines(&obj), 2);
    const char *msg = cJSON_GetObjectItemCaseSensitive(obj, "msg")->valuestring;
    cr_assert_gt(strlen(msg), (size_t)1000);
    cr_assert_null(strstr(msg, "\xEF\xBF\xBD"), "a UTF-8 sequence was cut");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(obj, "request_id")->valuestring, "req-long");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "truncated")));
    cJSON_Delete(obj);
    free(big);
}

Test(log, empty_message) {
    LOG_INFO("%s", "");
    assert_single_line(",\"level\":\"info\",\"service\":\"billing\",\"msg\":\"\"}\n");
}

#define LOG_T_THREADS 8
#define LOG_T_LINES 200

static void *log_spam(void *arg) {
    long id = (long)arg;
    char rid[32];
    snprintf(rid, sizeof rid, "req-%ld", id);
    log_context_set(rid, NULL);
    for (int i = 0; i < LOG_T_LINES; i++)
        LOG_INFO("thread %ld line %d %s", id, i, "padding padding padding padding padding");
    return NULL;
}

Test(log, threads_never_interleave) {
    pthread_t th[LOG_T_THREADS];
    for (long i = 0; i < LOG_T_THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, log_spam, (void *)i), 0);
    for (int i = 0; i < LOG_T_THREADS; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(parse_lines(NULL), LOG_T_THREADS * LOG_T_LINES);
}
