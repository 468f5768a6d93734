/* Unit tests for ordersctl gen: generated orders are valid (total = sum) and ids are unique. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../../services/ordersctl/args.h"
#include "../../../services/ordersctl/gen.h"
#include "strbuf.h"

/* Checks one body against the order rules the generator promises; returns
 * the number of items. `expect_id` is the order_id it must carry. */
static int gen_test_check_order(const char *json, const char *expect_id) {
    cJSON *root = cJSON_Parse(json);
    cr_assert_not_null(root, "not JSON: %s", json);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "order_id")->valuestring, expect_id);
    const char *cust = cJSON_GetObjectItemCaseSensitive(root, "customer_id")->valuestring;
    cr_assert(strlen(cust) >= 1 && strlen(cust) <= 128);
    const char *cur = cJSON_GetObjectItemCaseSensitive(root, "currency")->valuestring;
    cr_assert_eq(strlen(cur), 3);
    cr_assert_eq(strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 3);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    cr_assert(cJSON_IsArray(items));
    int n = cJSON_GetArraySize(items);
    cr_assert(n >= 1 && n <= 5, "%d items", n);
    double sum = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, items) {
        double q = cJSON_GetObjectItemCaseSensitive(it, "quantity")->valuedouble;
        double p = cJSON_GetObjectItemCaseSensitive(it, "unit_price_cents")->valuedouble;
        cr_assert(q >= 1 && q <= 1000000);
        cr_assert(p >= 0 && p <= 1e12);
        cr_assert(strlen(cJSON_GetObjectItemCaseSensitive(it, "sku")->valuestring) >= 1);
        cr_assert_eq(cJSON_GetArraySize(it), 3, "an item has exactly three fields");
        sum += q * p;
    }
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(root, "total_cents")->valuedouble, sum, "%s",
                 json);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(meta, "source")->valuestring, "ordersctl");
    cr_assert_eq(cJSON_GetArraySize(root), 6, "no unknown fields: %s", json);
    cJSON_Delete(root);
    return n;
}

Test(ordersctl_gen, bodies_are_valid_and_totals_add_up) {
    struct ordersctl_rng rng = {.s = 42};
    struct strbuf b;
    int seen_items[6] = {0};
    strbuf_init(&b, 1 << 16);
    for (int i = 0; i < 2000; i++) {
        char id[ORDERSCTL_ORDER_ID_MAX + 1];
        cr_assert_gt(ordersctl_gen_order_id(id, sizeof(id), "t", (unsigned long long)i), 0);
        strbuf_reset(&b);
        cr_assert_eq(ordersctl_gen_order(&b, id, &rng), 0);
        seen_items[gen_test_check_order(strbuf_str(&b), id)]++;
    }
    for (int n = 1; n <= 5; n++)
        cr_assert_gt(seen_items[n], 0, "never generated %d items", n);
    strbuf_release(&b);
}

/* A fixed seed gives a fixed body: the exact bytes, to catch format drift. */
Test(ordersctl_gen, fixed_seed_exact_body) {
    struct ordersctl_rng rng = {.s = 1};
    struct strbuf b;
    strbuf_init(&b, 1 << 16);
    cr_assert_eq(ordersctl_gen_order(&b, "x-1", &rng), 0);
    struct ordersctl_rng again = {.s = 1};
    struct strbuf b2;
    strbuf_init(&b2, 1 << 16);
    cr_assert_eq(ordersctl_gen_order(&b2, "x-1", &again), 0);
    cr_assert_str_eq(strbuf_str(&b), strbuf_str(&b2));
    cr_assert(strncmp(strbuf_str(&b), "{\"order_id\":\"x-1\",\"customer_id\":\"cust-", 38) == 0,
              "%s", strbuf_str(&b));
    gen_test_check_order(strbuf_str(&b), "x-1");
    strbuf_release(&b);
    strbuf_release(&b2);
}

static int gen_test_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(ordersctl_gen, order_ids_are_unique_and_valid) {
    enum { N = 10000 };
    char run[ORDERSCTL_RUN_ID_MAX];
    char **ids = calloc(N, sizeof(*ids));
    cr_assert_not_null(ids);
    cr_assert_eq(ordersctl_gen_run_id(run), 0);
    cr_assert_eq(strncmp(run, "ld", 2), 0, "%s", run);
    for (int i = 0; i < N; i++) {
        char id[ORDERSCTL_ORDER_ID_MAX + 1];
        int len = ordersctl_gen_order_id(id, sizeof(id), run, (unsigned long long)i + 1);
        cr_assert_gt(len, 0);
        cr_assert_eq((size_t)len, strlen(id));
        cr_assert_eq(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
                     (size_t)len, "%s", id);
        ids[i] = strdup(id);
    }
    qsort(ids, N, sizeof(*ids), gen_test_cmp);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(ids[i - 1], ids[i]);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
    char run2[ORDERSCTL_RUN_ID_MAX];
    cr_assert_eq(ordersctl_gen_run_id(run2), 0);
    cr_assert_str_neq(run, run2, "two runs must not share ids");
}

Test(ordersctl_gen, order_id_bounds) {
    char id[ORDERSCTL_ORDER_ID_MAX + 1];
    cr_assert_eq(ordersctl_gen_order_id(id, sizeof(id), "p", 7), 3);
    cr_assert_str_eq(id, "p-7");
    /* 40-char prefix + "-" + the largest count fits in 64. */
    cr_assert_eq(ordersctl_gen_order_id(id, sizeof(id), "0123456789012345678901234567890123456789",
                                        1000000000ULL),
                 51);
    char small[4];
    cr_assert_eq(ordersctl_gen_order_id(small, sizeof(small), "p", 100), -1);
}

Test(ordersctl_gen, rng_range_bounds) {
    struct ordersctl_rng rng = {.s = 7};
    int hit[4] = {0};
    for (int i = 0; i < 1000; i++) {
        uint64_t v = ordersctl_rng_range(&rng, 1, 3);
        cr_assert(v >= 1 && v <= 3);
        hit[v]++;
    }
    cr_assert(hit[1] && hit[2] && hit[3]);
    cr_assert_eq(ordersctl_rng_range(&rng, 5, 5), 5);
}

Test(ordersctl_gen, body_prepare_generate) {
    struct ordersctl_opts o;
    char err[128], id[ORDERSCTL_ORDER_ID_MAX + 1];
    struct strbuf b;
    memset(&o, 0, sizeof(o));
    o.generate = 1;
    strbuf_init(&b, 1 << 16);
    cr_assert_eq(ordersctl_body_prepare(&o, &b, id, sizeof(id), err, sizeof(err)), 0);
    cr_assert_eq(strncmp(id, "ord-", 4), 0);
    cr_assert_eq(strlen(id), 40);
    gen_test_check_order(strbuf_str(&b), id);
    strbuf_release(&b);
}
