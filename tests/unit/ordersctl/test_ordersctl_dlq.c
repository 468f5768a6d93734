/* ordersctl dlq: argument parsing, derived Kafka names, the listing line
 * and the header rewrite of a redrive. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

#include "../../../services/ordersctl/dlq_args.h"
#include "../../../services/ordersctl/dlq_rewrite.h"
#include "strbuf.h"

TestSuite(ordersctl_dlq);

static int tod_parse(struct ordersctl_dlq_opts *o, char *err, size_t errlen, int argc, ...) {
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return ordersctl_dlq_args_parse(argc, argv, o, err, errlen);
}

Test(ordersctl_dlq, parses_actions_and_options) {
    struct ordersctl_dlq_opts o;
    char err[256];
    cr_assert_eq(tod_parse(&o, err, sizeof err, 4, "dlq", "list", "--subscription", "billing"), 0,
                 "%s", err);
    cr_assert_eq(o.action, ORDERSCTL_DLQ_LIST);
    cr_assert_str_eq(o.subscription, "billing");
    cr_assert_null(o.topic);
    cr_assert_eq(o.max, 0);
    cr_assert_eq(tod_parse(&o, err, sizeof err, 6, "dlq", "redrive", "--subscription=archive",
                           "--max", "2", "--topic=orders.arch_1"),
                 0, "%s", err);
    cr_assert_eq(o.action, ORDERSCTL_DLQ_REDRIVE);
    cr_assert_str_eq(o.subscription, "archive");
    cr_assert_str_eq(o.topic, "orders.arch_1");
    cr_assert_eq(o.max, 2);
    cr_assert_eq(tod_parse(&o, err, sizeof err, 3, "dlq", "bogus", "--help"), 0);
    cr_assert(o.help);
    cr_assert_eq(tod_parse(&o, err, sizeof err, 2, "dlq", "-h"), 0);
    cr_assert(o.help);
}

Test(ordersctl_dlq, refuses_bad_arguments_with_a_reason) {
    static const struct {
        int argc;
        const char *argv[6];
        const char *why;
    } bad[] = {
        {1, {"dlq"}, "missing action: list or redrive"},
        {2, {"dlq", "purge"}, "unknown action 'purge' (list or redrive)"},
        {2, {"dlq", "list"}, "--subscription is required"},
        {3, {"dlq", "list", "--subscription"}, "option --subscription needs a value"},
        {4,
         {"dlq", "list", "--subscription", "a b"},
         "--subscription: 'a b' is not 1-64 of "
         "[A-Za-z0-9_-]"},
        {4,
         {"dlq", "list", "--subscription", "a.b"},
         "--subscription: 'a.b' is not 1-64 of "
         "[A-Za-z0-9_-]"},
        {4,
         {"dlq", "list", "--subscription=a", "--subscription=b"},
         "option --subscription given twice"},
        {4,
         {"dlq", "list", "--subscription=a", "--max=0"},
         "--max: '0' is not a number from 1 to 1000000000"},
        {4,
         {"dlq", "list", "--subscription=a", "--max=-1"},
         "--max: '-1' is not a number from 1 to 1000000000"},
        {4,
         {"dlq", "list", "--subscription=a", "--max=2x"},
         "--max: '2x' is not a number from 1 to 1000000000"},
        {4,
         {"dlq", "list", "--subscription=a", "--max=1000000001"},
         "--max: '1000000001' is not a number from 1 to 1000000000"},
        {5, {"dlq", "list", "--subscription=a", "--max=1", "--max=2"}, "option --max given twice"},
        {4,
         {"dlq", "list", "--subscription=a", "--topic=a/b"},
         "--topic: 'a/b' is not a Kafka topic name"},
        {4,
         {"dlq", "list", "--subscription=a", "--topic=.."},
         "--topic: '..' is not a Kafka topic name"},
        {4, {"dlq", "list", "--subscription=a", "--client-id=x"}, "unknown option '--client-id'"},
        {4, {"dlq", "list", "--subscription=a", "extra"}, "unexpected argument 'extra'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ordersctl_dlq_opts o;
        char err[256] = "";
        cr_assert_eq(
            ordersctl_dlq_args_parse(bad[i].argc, (char *const *)bad[i].argv, &o, err, sizeof err),
            -1, "case %zu accepted", i);
        cr_assert_str_eq(err, bad[i].why, "case %zu", i);
    }
}

Test(ordersctl_dlq, derives_topics_group_and_transactional_id) {
    struct ordersctl_dlq_opts o = {.action = ORDERSCTL_DLQ_LIST, .subscription = "billing"};
    struct ordersctl_dlq_names n;
    char err[256];
    cr_assert_eq(ordersctl_dlq_names(&o, &n, err, sizeof err), 0);
    cr_assert_str_eq(n.source, "orders.billing");
    cr_assert_str_eq(n.dlq, "orders.billing.dlq");
    cr_assert_str_eq(n.group, "ordersctl-dlq-billing");
    /* The publisher's ACL covers transactional ids prefixed "publisher-". */
    cr_assert_str_eq(n.transactional_id, "publisher-ordersctl-dlq-billing");
    o.topic = "custom.topic";
    cr_assert_eq(ordersctl_dlq_names(&o, &n, err, sizeof err), 0);
    cr_assert_str_eq(n.dlq, "custom.topic.dlq");
    char longest[ORDERSCTL_DLQ_TOPIC_MAX + 1];
    memset(longest, 't', ORDERSCTL_DLQ_TOPIC_MAX);
    longest[ORDERSCTL_DLQ_TOPIC_MAX] = '\0';
    o.topic = longest; /* a valid topic whose ".dlq" would exceed 249 bytes */
    cr_assert_eq(ordersctl_dlq_names(&o, &n, err, sizeof err), -1);
}

/* A dead letter's headers: originals (one null, one binary), then dlq_*. */
static rd_kafka_headers_t *tod_dead_letter(const char *redrive_count) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    cr_assert_eq(rd_kafka_header_add(h, "ce_id", -1, "id-1", -1), 0);
    cr_assert_eq(rd_kafka_header_add(h, "x-bin", -1, "\xff\x00", 2), 0);
    cr_assert_eq(rd_kafka_header_add(h, "x-null", -1, NULL, 0), 0);
    if (redrive_count)
        cr_assert_eq(rd_kafka_header_add(h, "dlq_redrive_count", -1, redrive_count, -1), 0);
    rd_kafka_headers_t *d =
        dlq_headers_build_parts(h, "orders.billing", 3, 1042, DLQ_REASON_PERMANENT,
                                "boom \"quoted\"\n", 5, INT64_C(1714567302001));
    rd_kafka_headers_destroy(h);
    cr_assert_not_null(d);
    return d;
}

static void tod_assert_header(const rd_kafka_headers_t *h, size_t i, const char *name,
                              const void *v, size_t n) {
    const char *gn;
    const void *gv;
    size_t gs;
    cr_assert_eq(rd_kafka_header_get_all(h, i, &gn, &gv, &gs), 0, "no header #%zu", i);
    cr_assert_str_eq(gn, name);
    if (!v) {
        cr_assert_null(gv, "%s should stay null", name);
        return;
    }
    cr_assert(gs == n && memcmp(gv, v, n) == 0, "header %s differs", name);
}

Test(ordersctl_dlq, redrive_keeps_originals_drops_dlq_headers_and_counts) {
    rd_kafka_headers_t *d = tod_dead_letter(NULL);
    char err[256];
    rd_kafka_headers_t *r = ordersctl_dlq_redrive_headers(d, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(rd_kafka_header_cnt(r), 4);
    tod_assert_header(r, 0, "ce_id", "id-1", 4);
    tod_assert_header(r, 1, "x-bin", "\xff\x00", 2);
    tod_assert_header(r, 2, "x-null", NULL, 0);
    tod_assert_header(r, 3, "dlq_redrive_count", "1", 1);
    rd_kafka_headers_destroy(r);
    rd_kafka_headers_destroy(d);

    /* A record redriven before and dead-lettered again carries its count. */
    d = tod_dead_letter("41");
    r = ordersctl_dlq_redrive_headers(d, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(rd_kafka_header_cnt(r), 4);
    tod_assert_header(r, 3, "dlq_redrive_count", "42", 2);
    rd_kafka_headers_destroy(r);
    rd_kafka_headers_destroy(d);

    d = tod_dead_letter("9999999998");
    r = ordersctl_dlq_redrive_headers(d, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    tod_assert_header(r, 3, "dlq_redrive_count", "9999999999", 10);
    rd_kafka_headers_destroy(r);
    rd_kafka_headers_destroy(d);

    r = ordersctl_dlq_redrive_headers(NULL, err, sizeof err);
    cr_assert_eq(rd_kafka_header_cnt(r), 1);
    tod_assert_header(r, 0, "dlq_redrive_count", "1", 1);
    rd_kafka_headers_destroy(r);
}

Test(ordersctl_dlq, redrive_refuses_a_malformed_count) {
    static const char *const bad[] = {"0", "01", "x", "-1", "", "9999999999", "12345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rd_kafka_headers_t *d = tod_dead_letter(bad[i]);
        char err[256] = "";
        cr_assert_null(ordersctl_dlq_redrive_headers(d, err, sizeof err), "'%s' accepted", bad[i]);
        cr_assert(strstr(err, "dlq_redrive_count") != NULL, "%s", err);
        rd_kafka_headers_destroy(d);
    }
    rd_kafka_headers_t *d = tod_dead_letter("1");
    cr_assert_eq(rd_kafka_header_add(d, "dlq_redrive_count", -1, "2", -1), 0);
    char err[256];
    cr_assert_null(ordersctl_dlq_redrive_headers(d, err, sizeof err), "repeated count accepted");
    rd_kafka_headers_destroy(d);
}

Test(ordersctl_dlq, listing_line_shows_every_field_escaped) {
    rd_kafka_headers_t *d = tod_dead_letter("2");
    struct ordersctl_dlq_entry e;
    ordersctl_dlq_entry_read(d, &e);
    cr_assert_str_eq(e.reason, "permanent_store_error");
    cr_assert_str_eq(e.source_offset, "1042");
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    cr_assert_eq(ordersctl_dlq_entry_format(0, 7, "c/o\"1", 5, &e, 1, &sb), 0);
    cr_assert_str_eq(strbuf_str(&sb),
                     "partition=0 offset=7 key=\"c/o\\\"1\" reason=permanent_store_error "
                     "source=orders.billing/3@1042 attempts=5 failed_at=2024-05-01T12:41:42.001Z "
                     "redrive_count=2 status=redriven error=\"boom \\\"quoted\\\"\\n\"");
    strbuf_release(&sb);
    rd_kafka_headers_destroy(d);

    /* No dlq_* headers, no key: every field says so. */
    ordersctl_dlq_entry_read(NULL, &e);
    strbuf_init(&sb, 4096);
    cr_assert_eq(ordersctl_dlq_entry_format(1, 0, NULL, 0, &e, 0, &sb), 0);
    cr_assert_str_eq(strbuf_str(&sb), "partition=1 offset=0 key=null reason=- source=-/-@- "
                                      "attempts=- failed_at=- redrive_count=0 status=pending "
                                      "error=\"\"");
    strbuf_release(&sb);
}
