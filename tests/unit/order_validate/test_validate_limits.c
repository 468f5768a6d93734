/* Unit tests for ingress-auth validate: every limit at and beyond its edge, and the contract
 * examples. */
#include <criterion/criterion.h>

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "order_validate.h"
#include "strbuf.h"

/* Builds an order whose parts can be swapped: `items` is the inside of the
 * array, `extra` members follow total_cents. */
static void vl_build(struct strbuf *sb, const char *order_id, const char *customer_id,
                     const char *items, const char *total, const char *extra) {
    strbuf_init(sb, 1 << 20);
    cr_assert_eq(strbuf_printf(sb,
                               "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"currency\":\"EUR\","
                               "\"items\":[%s],\"total_cents\":%s%s}",
                               order_id, customer_id, items, total, extra),
                 0);
}

static void vl_repeat(struct strbuf *sb, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(strbuf_puts(sb, s), 0);
}

/* Validates; want_field NULL means "must be valid". */
static void vl_expect(const char *what, const struct strbuf *body, const char *want_field) {
    struct order_error err;
    int rc = order_validate(body->data, body->len, &err, NULL, NULL);
    if (!want_field) {
        cr_expect_eq(rc, 0, "[%s] rejected: %s %s", what, err.field, err.message);
        return;
    }
    cr_expect_eq(rc, -1, "[%s] accepted", what);
    if (rc == -1) {
        cr_expect_str_eq(err.code, "invalid_order", "[%s]", what);
        cr_expect_str_eq(err.field, want_field, "[%s] field %s", what, err.field);
    }
}

static void vl_item_case(const char *what, const char *items, const char *total,
                         const char *field) {
    struct strbuf sb;
    vl_build(&sb, "o", "c", items, total, "");
    vl_expect(what, &sb, field);
    strbuf_release(&sb);
}

Test(ingress_validate, integer_edges) {
    vl_item_case("quantity 1", "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":3}", "3", NULL);
    vl_item_case("quantity 0", "{\"sku\":\"S\",\"quantity\":0,\"unit_price_cents\":3}", "0",
                 "/items/0/quantity");
    vl_item_case("quantity 1000000", "{\"sku\":\"S\",\"quantity\":1000000,\"unit_price_cents\":3}",
                 "3000000", NULL);
    vl_item_case("quantity 1000001", "{\"sku\":\"S\",\"quantity\":1000001,\"unit_price_cents\":3}",
                 "3000003", "/items/0/quantity");
    vl_item_case("price 0", "{\"sku\":\"S\",\"quantity\":5,\"unit_price_cents\":0}", "0", NULL);
    vl_item_case("price -1", "{\"sku\":\"S\",\"quantity\":5,\"unit_price_cents\":-1}", "0",
                 "/items/0/unit_price_cents");
    vl_item_case("price 10^12", "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1000000000000}",
                 "1000000000000", NULL);
    vl_item_case("total 2^53-1 exactly",
                 "{\"sku\":\"S\",\"quantity\":69431,\"unit_price_cents\":129728784761}",
                 "9007199254740991", NULL);
    /* 2^53 = 1000000 * 9007199254 + 740992, a consistent sum: refused by range */
    vl_item_case("total 2^53",
                 "{\"sku\":\"S\",\"quantity\":1000000,\"unit_price_cents\":9007199254},"
                 "{\"sku\":\"T\",\"quantity\":1,\"unit_price_cents\":740992}",
                 "9007199254740992", "/total_cents");
    /* 100 lines of 10^18 each: 10^20 wraps a 64-bit sum; must not pass */
    struct strbuf items;
    strbuf_init(&items, 1 << 20);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(strbuf_printf(&items,
                                   "%s{\"sku\":\"S\",\"quantity\":1000000,"
                                   "\"unit_price_cents\":1000000000000}",
                                   i ? "," : ""),
                     0);
    vl_item_case("sum 10^20", items.data, "7766279631452241920", "/total_cents");
    strbuf_release(&items);
}

Test(ingress_validate, string_edges_count_code_points) {
    struct strbuf id, cust, sb;
    strbuf_init(&id, 4096);
    vl_repeat(&id, "a", 64);
    strbuf_init(&cust, 4096);
    vl_repeat(&cust, "\xC3\xA9", 128); /* 128 code points, 256 bytes */
    vl_build(&sb, id.data, cust.data, "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}", "1",
             "");
    vl_expect("order_id 64, customer_id 128 x e-acute", &sb, NULL);
    strbuf_release(&sb);

    vl_repeat(&id, "a", 1);
    vl_build(&sb, id.data, "c", "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}", "1", "");
    vl_expect("order_id 65", &sb, "/order_id");
    strbuf_release(&sb);

    vl_repeat(&cust, "\xC3\xA9", 1);
    vl_build(&sb, "o", cust.data, "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}", "1", "");
    vl_expect("customer_id 129", &sb, "/customer_id");
    strbuf_release(&sb);

    struct strbuf item;
    strbuf_init(&item, 4096);
    strbuf_puts(&item, "{\"sku\":\"");
    vl_repeat(&item, "\xF0\x9F\x98\x80", 64); /* 64 code points, 256 bytes */
    strbuf_puts(&item, "\",\"quantity\":1,\"unit_price_cents\":1}");
    vl_build(&sb, "o", "c", item.data, "1", "");
    vl_expect("sku 64 x 4-byte", &sb, NULL);
    strbuf_release(&sb);
    strbuf_reset(&item);
    strbuf_puts(&item, "{\"sku\":\"");
    vl_repeat(&item, "\\u00e9", 65);
    strbuf_puts(&item, "\",\"quantity\":1,\"unit_price_cents\":1}");
    vl_build(&sb, "o", "c", item.data, "1", "");
    vl_expect("sku 65 escaped", &sb, "/items/0/sku");
    strbuf_release(&sb);
    strbuf_release(&item);
    strbuf_release(&id);
    strbuf_release(&cust);
}

static void vl_items(const char *what, int n, const char *field) {
    struct strbuf items, sb;
    char total[32];
    strbuf_init(&items, 1 << 20);
    for (int i = 0; i < n; i++)
        strbuf_printf(&items, "%s{\"sku\":\"S%d\",\"quantity\":1,\"unit_price_cents\":2}",
                      i ? "," : "", i);
    snprintf(total, sizeof(total), "%d", 2 * n);
    vl_build(&sb, "o", "c", items.data ? items.data : "", total, "");
    vl_expect(what, &sb, field);
    strbuf_release(&sb);
    strbuf_release(&items);
}

Test(ingress_validate, item_count_edges) {
    vl_items("1 item", 1, NULL);
    vl_items("100 items", 100, NULL);
    vl_items("101 items", 101, "/items");
    vl_items("0 items", 0, "/items");
}

/* metadata of n entries with keys of klen code points and values of vlen. */
static void vl_metadata(const char *what, int n, size_t klen, size_t vlen, const char *field) {
    struct strbuf md, sb;
    strbuf_init(&md, 1 << 20);
    strbuf_puts(&md, ",\"metadata\":{");
    for (int i = 0; i < n; i++) {
        strbuf_printf(&md, "%s\"%02d", i ? "," : "", i);
        vl_repeat(&md, "\xC3\xBC", klen - 2);
        strbuf_puts(&md, "\":\"");
        vl_repeat(&md, "\xC3\xBC", vlen);
        strbuf_puts(&md, "\"");
    }
    strbuf_puts(&md, "}");
    vl_build(&sb, "o", "c", "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}", "1", md.data);
    vl_expect(what, &sb, field);
    strbuf_release(&sb);
    strbuf_release(&md);
}

Test(ingress_validate, metadata_edges) {
    vl_metadata("32 entries at every limit", 32, 64, 256, NULL);
    vl_metadata("33 entries", 33, 3, 1, "/metadata");
    vl_metadata("value 257", 1, 4, 257,
                "/metadata/00\xC3\xBC\xC3\xBC"); /* key "00" + 2 x u-umlaut */
}

Test(ingress_validate, metadata_key_65_points_at_the_key) {
    struct strbuf md, sb, want;
    strbuf_init(&md, 1 << 16);
    strbuf_init(&want, 1 << 16);
    strbuf_puts(&md, ",\"metadata\":{\"");
    vl_repeat(&md, "\xC3\xBC", 65);
    strbuf_puts(&md, "\":\"v\"}");
    strbuf_puts(&want, "/metadata/");
    vl_repeat(&want, "\xC3\xBC", 65);
    vl_build(&sb, "o", "c", "{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}", "1", md.data);
    vl_expect("key 65", &sb, want.data);
    strbuf_release(&sb);
    strbuf_release(&md);
    strbuf_release(&want);
}

static void vl_nested(int depth, const char *code, const char *field) {
    struct strbuf sb;
    struct order_error err;
    strbuf_init(&sb, 1 << 16);
    strbuf_puts(&sb, "{\"note\":");
    vl_repeat(&sb, "[", (size_t)depth - 1);
    vl_repeat(&sb, "]", (size_t)depth - 1);
    strbuf_puts(&sb, "}");
    cr_expect_eq(order_validate(sb.data, sb.len, &err, NULL, NULL), -1);
    cr_expect_str_eq(err.code, code, "depth %d: %s", depth, err.message);
    cr_expect_str_eq(err.field, field, "depth %d", depth);
    strbuf_release(&sb);
}

Test(ingress_validate, nesting_limit) {
    vl_nested(ORDER_VALIDATE_MAX_DEPTH, "invalid_order", "/note");
    vl_nested(ORDER_VALIDATE_MAX_DEPTH + 1, "invalid_json", "");
    vl_nested(5000, "invalid_json", ""); /* no recursion beyond the limit */
}

/* A member name too long for err->field: the pointer falls back to the
 * enclosing value (here the body), the message is shortened. */
Test(ingress_validate, huge_member_name_is_clipped) {
    struct strbuf sb;
    struct order_error err;
    strbuf_init(&sb, 1 << 16);
    strbuf_puts(&sb, "{\"");
    vl_repeat(&sb, "k", 2000);
    strbuf_puts(&sb, "\":1}");
    cr_assert_eq(order_validate(sb.data, sb.len, &err, NULL, NULL), -1);
    cr_expect_str_eq(err.code, "invalid_order");
    cr_expect_str_eq(err.field, "");
    cr_expect(strncmp(err.message, "kkkkkkkk", 8) == 0, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "k... is not allowed"), "%s", err.message);
    strbuf_release(&sb);
}

/* ---- the contract examples, as tests/contracts/examples/cases.yaml says ---- */

/* Finds tests/contracts/examples from the working directory or from the
 * binary's location (<root>/build*\/tests/unit_tests). */
static int vl_examples_dir(char *out, size_t outlen) {
    char exe[PATH_MAX];
    if (access("tests/contracts/examples/cases.yaml", R_OK) == 0) {
        snprintf(out, outlen, "tests/contracts/examples");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *root = dirname(dirname(dirname(exe)));
    snprintf(out, outlen, "%s/tests/contracts/examples", root);
    return 0;
}

static char *vl_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

Test(ingress_validate, contract_examples) {
    char dir[PATH_MAX], path[PATH_MAX + 64], line[1024], section[32] = "";
    cr_assert_eq(vl_examples_dir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/cases.yaml", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);

    /* Cases are flushed when the next one starts (or at the end). */
    char file[256] = "", field[512] = "";
    int has_field = 0, checked = 0;
    for (int eof = 0; !eof;) {
        eof = fgets(line, sizeof(line), f) == NULL;
        int starts_case = !eof && strncmp(line, "  - file: ", 10) == 0;
        int starts_section = !eof && line[0] >= 'a' && line[0] <= 'z' && strchr(line, ':');
        if ((eof || starts_case || starts_section) && file[0]) {
            size_t len;
            struct order_error err;
            char *canon = NULL;
            snprintf(path, sizeof(path), "%s/%s", dir, file);
            char *body = vl_read(path, &len);
            int rc = order_validate(body, len, &err, &canon, NULL);
            if (strcmp(section, "valid") == 0) {
                cr_expect_eq(rc, 0, "%s: %s %s", file, err.field, err.message);
            } else {
                const char *want =
                    strcmp(section, "malformed") == 0 ? "invalid_json" : "invalid_order";
                cr_expect_eq(rc, -1, "%s accepted", file);
                if (rc == -1) {
                    cr_expect_str_eq(err.code, want, "%s: %s", file, err.message);
                    if (has_field || strcmp(want, "invalid_json") == 0)
                        cr_expect_str_eq(err.field, has_field ? field : "", "%s: field %s (%s)",
                                         file, err.field, err.message);
                }
            }
            free(canon);
            free(body);
            checked++;
            file[0] = '\0';
            has_field = 0;
        }
        if (starts_section)
            snprintf(section, sizeof(section), "%.*s", (int)strcspn(line, ":"), line);
        if (starts_case)
            snprintf(file, sizeof(file), "%.*s", (int)strcspn(line + 10, "\r\n"), line + 10);
        if (!eof && strncmp(line, "    field: \"", 12) == 0) {
            snprintf(field, sizeof(field), "%.*s", (int)strcspn(line + 12, "\""), line + 12);
            has_field = 1;
        }
    }
    fclose(f);
    cr_expect_geq(checked, 80, "only %d cases read from cases.yaml", checked);
}
