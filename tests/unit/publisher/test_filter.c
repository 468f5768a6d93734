/* Unit tests for services/publisher/filter: SNS filter-policy subset, by table. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "../../../services/publisher/filter.h"

/* Compiles a policy given as JSON text; NULL on failure (message in err). */
static struct publisher_filter *pfilter_compile(const char *json, char *err, size_t errlen) {
    cJSON *policy = cJSON_Parse(json);
    cr_assert_not_null(policy, "bad test policy %s", json);
    struct publisher_filter *f = publisher_filter_parse(policy, err, errlen);
    cJSON_Delete(policy);
    return f;
}

static int pfilter_match(const char *policy_json, const char *order_json) {
    char err[256] = "";
    struct publisher_filter *f = pfilter_compile(policy_json, err, sizeof err);
    cr_assert_not_null(f, "policy %s refused: %s", policy_json, err);
    cJSON *order = cJSON_Parse(order_json);
    cr_assert_not_null(order);
    int m = publisher_filter_match(f, order);
    cJSON_Delete(order);
    publisher_filter_destroy(f);
    return m;
}

#define PFILTER_ORDER                                                                              \
    "{\"order_id\":\"o1\",\"customer_id\":\"cust-42\",\"currency\":\"EUR\",\"items\":[],"          \
    "\"total_cents\":3490,\"metadata\":{\"channel\":\"web\",\"coupon\":\"SPRING\"}}"
#define PFILTER_ORDER_NO_META                                                                      \
    "{\"order_id\":\"o2\",\"customer_id\":\"cust-7\",\"currency\":\"USD\",\"total_cents\":100}"

TestSuite(publisher_filter);

Test(publisher_filter, match_table) {
    static const struct {
        const char *policy, *order;
        int match;
    } cases[] = {
        {"{}", PFILTER_ORDER, 1},
        {"{\"currency\":[\"EUR\"]}", PFILTER_ORDER, 1},
        {"{\"currency\":[\"USD\",\"EUR\"]}", PFILTER_ORDER, 1},
        {"{\"currency\":[\"USD\"]}", PFILTER_ORDER, 0},
        {"{\"currency\":[\"eur\"]}", PFILTER_ORDER, 0}, /* case-sensitive */
        {"{\"customer_id\":[\"cust-42\"]}", PFILTER_ORDER, 1},
        {"{\"customer_id\":[\"cust-4\"]}", PFILTER_ORDER, 0},
        {"{\"metadata.channel\":[\"web\"]}", PFILTER_ORDER, 1},
        {"{\"metadata.channel\":[\"app\"]}", PFILTER_ORDER, 0},
        {"{\"metadata.channel\":[\"web\"]}", PFILTER_ORDER_NO_META, 0}, /* absent: no match */
        {"{\"metadata.nope\":[\"web\"]}", PFILTER_ORDER, 0},
        {"{\"total_cents\":[3490]}", PFILTER_ORDER, 1},
        {"{\"total_cents\":[3491]}", PFILTER_ORDER, 0},
        {"{\"total_cents\":[{\"numeric\":[\">=\",100,\"<\",5000]}]}", PFILTER_ORDER, 1},
        {"{\"total_cents\":[{\"numeric\":[\">=\",100,\"<\",5000]}]}", PFILTER_ORDER_NO_META, 1},
        {"{\"total_cents\":[{\"numeric\":[\">\",100,\"<\",5000]}]}", PFILTER_ORDER_NO_META, 0},
        {"{\"total_cents\":[{\"numeric\":[\">\",100,\"<=\",3490]}]}", PFILTER_ORDER, 1},
        {"{\"total_cents\":[{\"numeric\":[\">\",100,\"<\",3490]}]}", PFILTER_ORDER, 0},
        {"{\"total_cents\":[{\"numeric\":[\"<\",100]}]}", PFILTER_ORDER, 0},
        {"{\"total_cents\":[{\"numeric\":[\"<=\",100]}]}", PFILTER_ORDER_NO_META, 1},
        {"{\"total_cents\":[{\"numeric\":[\"=\",3490]}]}", PFILTER_ORDER, 1},
        {"{\"total_cents\":[{\"numeric\":[\">\",5000]},{\"numeric\":[\"<\",200]}]}",
         PFILTER_ORDER_NO_META, 1}, /* OR within a member */
        {"{\"currency\":[\"EUR\"],\"total_cents\":[{\"numeric\":[\">\",5000]}]}", PFILTER_ORDER,
         0}, /* AND across members */
        {"{\"currency\":[\"EUR\"],\"metadata.coupon\":[\"SPRING\"],"
         "\"total_cents\":[{\"numeric\":[\">=\",0]}]}",
         PFILTER_ORDER, 1},
        {"{\"currency\":[\"EUR\"]}", "{\"currency\":1}", 0}, /* wrong type: no match */
        {"{\"total_cents\":[1]}", "{\"total_cents\":\"1\"}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(pfilter_match(cases[i].policy, cases[i].order), cases[i].match,
                     "case %zu: policy %s", i, cases[i].policy);
}

Test(publisher_filter, null_filter_matches_everything) {
    cJSON *order = cJSON_Parse(PFILTER_ORDER);
    cr_assert_eq(publisher_filter_match(NULL, order), 1);
    cJSON_Delete(order);
}

Test(publisher_filter, invalid_policies_are_refused_with_the_member_named) {
    static const struct {
        const char *policy, *needle;
    } cases[] = {
        {"[]", "must be a JSON object"},
        {"{\"country\":[\"DE\"]}", "country: unsupported attribute"},
        {"{\"metadata.\":[\"x\"]}", "metadata.: unsupported attribute"},
        {"{\"currency\":[]}", "currency: must be an array of 1 to 100 values"},
        {"{\"currency\":\"EUR\"}", "currency: must be an array"},
        {"{\"currency\":[1]}", "currency: values must be strings"},
        {"{\"total_cents\":[\"1\"]}", "total_cents: values must be numbers"},
        {"{\"total_cents\":[{\"range\":[1,2]}]}", "total_cents: an object value must be"},
        {"{\"total_cents\":[{\"numeric\":[\"!=\",1]}]}", "total_cents: numeric must be"},
        {"{\"total_cents\":[{\"numeric\":[\"<\",1,\">\",0]}]}", "total_cents: numeric must be"},
        {"{\"total_cents\":[{\"numeric\":[\">\",1]}],\"total_cents\":[2]}",
         "total_cents: duplicate member"},
        {"{\"total_cents\":[{\"numeric\":[\">\",10,\"<\",5]}]}", "lower bound above its upper"},
        {"{\"total_cents\":[{\"numeric\":[\">\",1,\"<\"]}]}", "total_cents: numeric must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        struct publisher_filter *f = pfilter_compile(cases[i].policy, err, sizeof err);
        cr_assert_null(f, "case %zu accepted: %s", i, cases[i].policy);
        cr_assert(strstr(err, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                  cases[i].needle);
    }
}
