/* Unit tests for services/publisher/subs: subscription list, filters, masks. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../../../services/publisher/subs.h"

static struct publisher_subs *psubs;
static char psubs_err[256];

static void psubs_setup(void) {
    psubs = NULL;
    memset(psubs_err, 0, sizeof psubs_err);
}

static void psubs_teardown(void) {
    publisher_subs_destroy(psubs);
    psubs = NULL;
}

static uint32_t psubs_match(const char *order_json) {
    cJSON *order = cJSON_Parse(order_json);
    cr_assert_not_null(order);
    uint32_t m = publisher_subs_match(psubs, order);
    cJSON_Delete(order);
    return m;
}

static int psubs_filters(const char *json) {
    return publisher_subs_set_filters(psubs, json, strlen(json), psubs_err, sizeof psubs_err);
}

TestSuite(publisher_subs, .init = psubs_setup, .fini = psubs_teardown);

Test(publisher_subs, default_list) {
    psubs = publisher_subs_parse("billing=orders.billing,archive=orders.archive", psubs_err,
                                 sizeof psubs_err);
    cr_assert_not_null(psubs, "%s", psubs_err);
    cr_assert_eq(psubs->n, 2);
    cr_assert_str_eq(psubs->sub[0].name, "billing");
    cr_assert_str_eq(psubs->sub[0].topic, "orders.billing");
    cr_assert_str_eq(psubs->sub[1].name, "archive");
    cr_assert_str_eq(psubs->sub[1].topic, "orders.archive");
    cr_assert_null(psubs->sub[0].filter);
    cr_assert_eq(psubs_match("{\"order_id\":\"o\"}"), 0x3u);
}

Test(publisher_subs, single_entry) {
    psubs = publisher_subs_parse("x=t", psubs_err, sizeof psubs_err);
    cr_assert_not_null(psubs, "%s", psubs_err);
    cr_assert_eq(psubs->n, 1);
    cr_assert_str_eq(psubs->sub[0].topic, "t");
}

Test(publisher_subs, invalid_lists) {
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"", "at least one subscription"},
        {"billing", "entry 1: expected name=topic"},
        {"billing=orders.billing,", "entry 2: expected name=topic"},
        {",billing=orders.billing", "entry 1: expected name=topic"},
        {"=orders.billing", "entry 1: name must be"},
        {"bil ling=orders.billing", "entry 1: name must be"},
        {"billing=", "entry 1: topic must be"},
        {"billing=orders billing", "entry 1: topic must be"},
        {"billing=.", "entry 1: topic must be"},
        {"billing=..", "entry 1: topic must be"},
        {"billing=a=b", "entry 1: topic must be"},
        {"a=t1,a=t2", "subscription 'a' is listed twice"},
        {"a=t,b=t", "topic 't' is listed twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        psubs_err[0] = '\0';
        struct publisher_subs *s = publisher_subs_parse(cases[i].spec, psubs_err, sizeof psubs_err);
        cr_assert_null(s, "case %zu accepted: '%s'", i, cases[i].spec);
        cr_assert(strstr(psubs_err, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i,
                  psubs_err, cases[i].needle);
    }
}

Test(publisher_subs, at_most_32) {
    char spec[2048] = "";
    for (int i = 0; i < 33; i++) {
        char one[32];
        snprintf(one, sizeof one, "%ss%d=t%d", i ? "," : "", i, i);
        strcat(spec, one);
    }
    cr_assert_null(publisher_subs_parse(spec, psubs_err, sizeof psubs_err));
    cr_assert(strstr(psubs_err, "at most 32") != NULL, "%s", psubs_err);
    spec[strlen(spec) - strlen(",s32=t32")] = '\0';
    psubs = publisher_subs_parse(spec, psubs_err, sizeof psubs_err);
    cr_assert_not_null(psubs, "%s", psubs_err);
    cr_assert_eq(psubs->n, 32);
    cr_assert_eq(psubs_match("{}"), 0xffffffffu);
}

Test(publisher_subs, filters_select_subscriptions) {
    psubs = publisher_subs_parse("billing=orders.billing,archive=orders.archive", psubs_err,
                                 sizeof psubs_err);
    cr_assert_not_null(psubs);
    cr_assert_eq(psubs_filters("{\"billing\":{\"currency\":[\"EUR\"],"
                               "\"total_cents\":[{\"numeric\":[\">=\",100,\"<\",5000]}]},"
                               "\"archive\":{}}\n"),
                 0, "%s", psubs_err);
    cr_assert_not_null(psubs->sub[0].filter);
    cr_assert_not_null(psubs->sub[1].filter);
    cr_assert_eq(psubs_match("{\"currency\":\"EUR\",\"total_cents\":100}"), 0x3u);
    cr_assert_eq(psubs_match("{\"currency\":\"EUR\",\"total_cents\":5000}"), 0x2u);
    cr_assert_eq(psubs_match("{\"currency\":\"USD\",\"total_cents\":100}"), 0x2u);
}

Test(publisher_subs, filter_matching_nobody_gives_empty_mask) {
    psubs = publisher_subs_parse("billing=orders.billing", psubs_err, sizeof psubs_err);
    cr_assert_not_null(psubs);
    cr_assert_eq(psubs_filters("{\"billing\":{\"currency\":[\"EUR\"]}}"), 0, "%s", psubs_err);
    cr_assert_eq(psubs_match("{\"currency\":\"GBP\"}"), 0u);
}

Test(publisher_subs, invalid_filters_change_nothing) {
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{", "invalid JSON"},
        {"{} x", "trailing data"},
        {"[]", "must be a JSON object"},
        {"{\"nobody\":{}}", "'nobody' is not a subscription"},
        {"{\"billing\":{},\"billing\":{}}", "'billing' is listed twice"},
        {"{\"billing\":{\"currency\":[\"EUR\"]},\"archive\":{\"colour\":[\"red\"]}}",
         "archive: colour: unsupported attribute"},
    };
    psubs = publisher_subs_parse("billing=orders.billing,archive=orders.archive", psubs_err,
                                 sizeof psubs_err);
    cr_assert_not_null(psubs);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        psubs_err[0] = '\0';
        cr_assert_eq(psubs_filters(cases[i].json), -1, "case %zu accepted", i);
        cr_assert(strstr(psubs_err, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i,
                  psubs_err, cases[i].needle);
        cr_assert_null(psubs->sub[0].filter, "case %zu left a filter behind", i);
        cr_assert_null(psubs->sub[1].filter, "case %zu left a filter behind", i);
    }
}
