/* Unit tests for ingress-auth validate: bad bodies (code, field, message), canonical output,
 * limits. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_validate.h"

/* Pieces of a valid order, for building bodies that break one rule. */
#define HEAD "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"currency\":\"EUR\","
#define ITEM1 "\"items\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1}]"
#define TOTAL1 ",\"total_cents\":1"
#define VALID HEAD ITEM1 TOTAL1 "}"

struct vt_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    const char *code;
    const char *field;
    const char *message; /* NULL: not checked */
};

static const struct vt_case vt_bad[] = {
    /* ---- not one strict JSON text: invalid_json, field "" ---- */
    {"empty", "", 0, "invalid_json", "", "invalid JSON at line 1, column 1: the body is empty"},
    {"blank", " \r\n\t", 0, "invalid_json", "",
     "invalid JSON at line 2, column 2: the body holds no JSON value"},
    {"bom", "\xEF\xBB\xBF" VALID, 0, "invalid_json", "",
     "invalid JSON at line 1, column 1: a byte order mark is not allowed"},
    {"plus sign", HEAD ITEM1 ",\"total_cents\":+1}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 124: unexpected character '+', expected a value"},
    {"leading zero", HEAD ITEM1 ",\"total_cents\":01}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 125: invalid number: leading zeros are not allowed"},
    {"bare dot", "{\"a\":1.}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 8: invalid number: a digit must follow '.'"},
    {"dot first", "{\"a\":.5}", 0, "invalid_json", "", NULL},
    {"lone minus", "{\"a\":-}", 0, "invalid_json", "", NULL},
    {"empty exponent", "{\"a\":1e}", 0, "invalid_json", "", NULL},
    {"NaN", HEAD ITEM1 ",\"total_cents\":NaN}", 0, "invalid_json", "", NULL},
    {"Infinity", "{\"a\":Infinity}", 0, "invalid_json", "", NULL},
    {"truncated null", "{\"a\":nul}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 6: invalid literal, expected null"},
    {"lone high surrogate", "{\"customer_id\":\"\\ud800\"}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 17: \\uD800 is a lone high surrogate (not Unicode text)"},
    {"lone low surrogate", "{\"a\":\"x\\uDC00\"}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 8: \\uDC00 is a lone low surrogate (not Unicode text)"},
    {"high then non-low", "{\"a\":\"\\ud83d\\u0041\"}", 0, "invalid_json", "", NULL},
    {"short \\u", "{\"a\":\"\\u12\"}", 0, "invalid_json", "", NULL},
    {"bad escape", "{\"a\":\"\\x41\"}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 7: invalid escape sequence in a string"},
    {"raw control char", "{\"a\":\"x\x01y\"}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 8: control character U+0001 must be escaped in a string"},
    {"raw tab in string", "{\"a\":\"x\ty\"}", 0, "invalid_json", "", NULL},
    {"overlong utf8", "{\"a\":\"\xC0\xAF\"}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 7: invalid UTF-8 in a string"},
    {"utf8 surrogate", "{\"a\":\"\xED\xA0\x80\"}", 0, "invalid_json", "", NULL},
    {"above U+10FFFF", "{\"a\":\"\xF4\x90\x80\x80\"}", 0, "invalid_json", "", NULL},
    {"truncated utf8", "{\"a\":\"\xE2\x82\"}", 0, "invalid_json", "", NULL},
    {"high byte outside string", "{\"a\":1\x80}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 7: unexpected byte 0x80, expected ',' or '}'"},
    {"NUL after value", VALID "\0", sizeof(VALID), "invalid_json", "", NULL},
    {"vertical tab as space", "\v" VALID, 0, "invalid_json", "", NULL},
    {"missing colon", "{\"a\" 1}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 6: unexpected character '1', expected ':'"},
    {"lone comma", "{,}", 0, "invalid_json", "", NULL},
    {"unquoted name", "{order_id:1}", 0, "invalid_json", "", NULL},
    {"trailing brace", VALID "}", 0, "invalid_json", "",
     "invalid JSON at line 1, column 126: unexpected character '}', expected nothing after the "
     "JSON value"},
    {"multi-line position", "{\n  \"a\": 1,\n  \"b\": tru\n}", 0, "invalid_json", "",
     "invalid JSON at line 3, column 8: invalid literal, expected true"},

    /* ---- well-formed, not an order: invalid_order ---- */
    {"body is null", "null", 0, "invalid_order", "", "the body must be a JSON object (an order)"},
    {"body is a number", " 12 ", 0, "invalid_order", "", NULL},
    {"all missing", "{}", 0, "invalid_order", "/currency", "currency is required"},
    {"unknown members: alphabetical first", HEAD ITEM1 TOTAL1 ",\"zeta\":1,\"alpha\":2}", 0,
     "invalid_order", "/alpha",
     "alpha is not allowed (an order has only order_id, customer_id, currency, items, total_cents "
     "and metadata)"},
    {"unknown member: pointer escaping", HEAD ITEM1 TOTAL1 ",\"a/b~c\":1}", 0, "invalid_order",
     "/a~1b~0c", NULL},
    {"unknown before missing", "{\"colour\":\"red\"}", 0, "invalid_order", "/colour", NULL},
    {"duplicate via escape", HEAD "\"order\\u005fid\":\"o2\"," ITEM1 TOTAL1 "}", 0, "invalid_order",
     "/order_id", "order_id appears more than once (duplicate member names are not allowed)"},
    {"duplicate: earliest second occurrence", "{\"a\":1,\"b\":1,\"b\":2,\"a\":2}", 0,
     "invalid_order", "/b", NULL},
    {"duplicate inside unknown member", HEAD ITEM1 TOTAL1 ",\"note\":{\"x\":1,\"x\":2}}", 0,
     "invalid_order", "/note/x", NULL},
    {"duplicate outer before inner", "{\"m\":{\"x\":1,\"x\":2},\"a\":1,\"a\":2}", 0,
     "invalid_order", "/a", NULL},
    {"U+0000 in a value", HEAD ITEM1 ",\"total_cents\":1,\"metadata\":{\"k\":\"a\\u0000b\"}}", 0,
     "invalid_order", "/metadata/k", "metadata.k must not contain U+0000"},
    {"U+0000 in a member name", "{\"a\\u0000\":1}", 0, "invalid_order", "",
     "the body has a member name containing U+0000 (not allowed)"},
    {"order_id non-ASCII",
     "{\"order_id\":\"\xC3\xA9\",\"customer_id\":\"c\",\"currency\":\"EUR\"," ITEM1 TOTAL1 "}", 0,
     "invalid_order", "/order_id",
     "order_id must be a string of 1 to 64 characters from [A-Za-z0-9_-]"},
    {"currency with space",
     "{\"order_id\":\"o\",\"customer_id\":\"c\",\"currency\":\"EU \"," ITEM1 TOTAL1 "}", 0,
     "invalid_order", "/currency",
     "currency must be 3 uppercase letters A-Z (ISO 4217, e.g. \"EUR\")"},
    {"items[1] not an object",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1},"
          "7]" TOTAL1 "}",
     0, "invalid_order", "/items/1",
     "items[1] must be an object with sku, quantity and unit_price_cents"},
    {"item unknown before missing",
     HEAD "\"items\":[{\"sku\":\"S\",\"colour\":\"red\"}]" TOTAL1 "}", 0, "invalid_order",
     "/items/0/colour",
     "items[0].colour is not allowed (an order line has only sku, quantity and unit_price_cents)"},
    {"items[2].quantity above max",
     HEAD "\"items\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price_cents\":1},"
          "{\"sku\":\"B\",\"quantity\":1,\"unit_price_cents\":1},"
          "{\"sku\":\"C\",\"quantity\":1000001,\"unit_price_cents\":1}]" TOTAL1 "}",
     0, "invalid_order", "/items/2/quantity",
     "items[2].quantity must be an integer between 1 and 1000000"},
    {"quantity -0",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":-0,\"unit_price_cents\":1}]" TOTAL1 "}", 0,
     "invalid_order", "/items/0/quantity", NULL},
    {"quantity 2.5",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":2.5,\"unit_price_cents\":1}]" TOTAL1 "}", 0,
     "invalid_order", "/items/0/quantity",
     "items[0].quantity must be an integer between 1 and 1000000"},
    {"quantity 1e400",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":1e400,\"unit_price_cents\":1}]" TOTAL1 "}", 0,
     "invalid_order", "/items/0/quantity", NULL},
    {"quantity 20 digits",
     HEAD
     "\"items\":[{\"sku\":\"S\",\"quantity\":12345678901234567890,\"unit_price_cents\":1}]" TOTAL1
     "}",
     0, "invalid_order", "/items/0/quantity", NULL},
    {"quantity 1.0",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":1.0,\"unit_price_cents\":1}]" TOTAL1 "}", 0,
     "invalid_order", "/items/0/quantity",
     "items[0].quantity must be written as an integer literal (2, not 2.0 or 2e0)"},
    {"float literals: total first",
     HEAD
     "\"items\":[{\"sku\":\"S\",\"quantity\":1.0,\"unit_price_cents\":1}],\"total_cents\":1E0}",
     0, "invalid_order", "/total_cents", NULL},
    {"schema error before float literal",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":1.0,\"unit_price_cents\":1},{\"sku\":\"\","
          "\"quantity\":1,\"unit_price_cents\":1}],\"total_cents\":2}",
     0, "invalid_order", "/items/1/sku", "items[1].sku must be a string of 1 to 64 characters"},
    {"unit price above 10^12",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price_cents\":1000000000001}]" TOTAL1
          "}",
     0, "invalid_order", "/items/0/unit_price_cents",
     "items[0].unit_price_cents must be an integer between 0 and 1000000000000"},
    {"total 2^53", HEAD ITEM1 ",\"total_cents\":9007199254740992}", 0, "invalid_order",
     "/total_cents", "total_cents must be an integer between 0 and 9007199254740991"},
    {"total off by one", HEAD ITEM1 ",\"total_cents\":2}", 0, "invalid_order", "/total_cents",
     "total_cents must equal the sum of quantity * unit_price_cents over items: 1, not 2"},
    {"sum above 2^53-1",
     HEAD "\"items\":[{\"sku\":\"S\",\"quantity\":9008,\"unit_price_cents\":1000000000000}],"
          "\"total_cents\":9007199254740991}",
     0, "invalid_order", "/total_cents",
     "total_cents must equal the sum of quantity * unit_price_cents over items, but that sum "
     "exceeds 9007199254740991"},
    {"metadata value not a string", HEAD ITEM1 TOTAL1 ",\"metadata\":{\"n\":1}}", 0,
     "invalid_order", "/metadata/n", "metadata.n must be a string of at most 256 characters"},
    {"metadata values: alphabetical first",
     HEAD ITEM1 TOTAL1 ",\"metadata\":{\"z\":1,\"ok\":\"v\",\"b\":true}}", 0, "invalid_order",
     "/metadata/b", NULL},
    {"metadata key pointer escaping",
     HEAD ITEM1 TOTAL1
     ",\"metadata\":{\"~/"
     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}}",
     0, "invalid_order",
     "/metadata/~0~1kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
     "metadata keys must be at most 64 characters"},
};

/* Runs one case; reports through cr_expect so that every case is checked. */
static void vt_check(const struct vt_case *c) {
    struct order_error err;
    struct order_summary sum;
    char *canon = (char *)"untouched";
    size_t len = c->len ? c->len : strlen(c->body);
    int rc = order_validate(c->body, len, &err, &canon, &sum);
    cr_expect_eq(rc, -1, "[%s] rc %d", c->name, rc);
    cr_expect_null(canon, "[%s] canonical output on failure", c->name);
    cr_expect_null(sum.metadata, "[%s] summary not empty", c->name);
    if (rc != -1)
        return;
    cr_expect_str_eq(err.code, c->code, "[%s] code %s, want %s", c->name, err.code, c->code);
    cr_expect_str_eq(err.field, c->field, "[%s] field '%s', want '%s'", c->name, err.field,
                     c->field);
    if (c->message)
        cr_expect_str_eq(err.message, c->message, "[%s] message '%s'", c->name, err.message);
    cr_expect(strlen(err.message) > 0, "[%s] empty message", c->name);
    order_summary_release(&sum);
}

Test(ingress_validate, table_of_bad_bodies) {
    size_t n = sizeof(vt_bad) / sizeof(vt_bad[0]);
    cr_assert_geq(n, 40);
    for (size_t i = 0; i < n; i++)
        vt_check(&vt_bad[i]);
}

/* Validates a body that must pass; returns the canonical text (caller frees). */
static char *vt_ok(const char *body, size_t len, struct order_summary *sum) {
    struct order_error err;
    char *canon = NULL;
    int rc = order_validate(body, len, &err, &canon, sum);
    cr_assert_eq(rc, 0, "rejected: %s %s %s", err.code, err.field, err.message);
    cr_assert_not_null(canon);
    return canon;
}

static void vt_canonical(const char *body, const char *want) {
    struct order_summary sum;
    char *canon = vt_ok(body, strlen(body), &sum);
    cr_expect_str_eq(canon, want);
    free(canon);
    order_summary_release(&sum);
}

Test(ingress_validate, canonical_is_compact_and_keeps_member_order) {
    vt_canonical(
        "{\r\n\t\"total_cents\" : 3490 ,\r\n\t\"items\":[ {\"unit_price_cents\":1250,"
        "\"quantity\":2,\"sku\":\"BOOK-123\"},{\"quantity\":10,\"sku\":\"PEN-7\","
        "\"unit_price_cents\":99} ],\r\n\t\"currency\":\"JPY\",\r\n\t\"customer_id\":"
        "\"cust-1\", \"order_id\":\"ord-1\"\r\n}\r\n",
        "{\"total_cents\":3490,\"items\":[{\"unit_price_cents\":1250,\"quantity\":2,"
        "\"sku\":\"BOOK-123\"},{\"quantity\":10,\"sku\":\"PEN-7\",\"unit_price_cents\":99}],"
        "\"currency\":\"JPY\",\"customer_id\":\"cust-1\",\"order_id\":\"ord-1\"}");
}

Test(ingress_validate, canonical_decodes_escapes_and_keeps_integers_exact) {
    vt_canonical("{\"order_id\":\"o\",\"customer_id\":\"a\\\"b\\\\c\\/d\\u00e9\\n\\ud83d\\ude00\","
                 "\"currency\":\"\\u0045UR\",\"items\":[{\"sku\":\"S\",\"quantity\":1000000,"
                 "\"unit_price_cents\":-0},{\"sku\":\"T\",\"quantity\":1,\"unit_price_cents\":"
                 "1000000000000}],\"total_cents\":1000000000000}",
                 "{\"order_id\":\"o\",\"customer_id\":\"a\\\"b\\\\c/d\xC3\xA9\\n\xF0\x9F\x98\x80\","
                 "\"currency\":\"EUR\",\"items\":[{\"sku\":\"S\",\"quantity\":1000000,"
                 "\"unit_price_cents\":0},{\"sku\":\"T\",\"quantity\":1,\"unit_price_cents\":"
                 "1000000000000}],\"total_cents\":1000000000000}");
}

/* The body of the signing test vector in proto/openapi.yaml is already
 * canonical: validation must give back the very same bytes. */
Test(ingress_validate, canonical_of_compact_body_is_identity) {
    const char *body =
        "{\"order_id\":\"ord-2024-0001\",\"customer_id\":\"cust-42\",\"currency\":\"EUR\","
        "\"items\":[{\"sku\":\"BOOK-123\",\"quantity\":2,\"unit_price_cents\":1250},{\"sku\":"
        "\"PEN-7\",\"quantity\":10,\"unit_price_cents\":99}],\"total_cents\":3490,\"metadata\":"
        "{\"channel\":\"web\",\"coupon\":\"SPRING\"}}";
    vt_canonical(body, body);
}

Test(ingress_validate, summary_fields_and_metadata) {
    struct order_summary sum;
    const char *body =
        HEAD "\"items\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price_cents\":5},"
             "{\"sku\":\"B\",\"quantity\":1,\"unit_price_cents\":7}],"
             "\"total_cents\":17,\"metadata\":{\"channel\":\"w\\u0065b\",\"e\":\"\"}}";
    char *canon = vt_ok(body, strlen(body), &sum);
    cr_expect_str_eq(sum.order_id, "o1");
    cr_expect_str_eq(sum.customer_id, "c1");
    cr_expect_str_eq(sum.currency, "EUR");
    cr_expect_eq(sum.total_cents, 17);
    cr_expect_eq(sum.item_count, 2);
    cr_expect_str_eq(order_metadata_get(&sum, "channel"), "web");
    cr_expect_str_eq(order_metadata_get(&sum, "e"), "");
    cr_expect_null(order_metadata_get(&sum, "missing"));
    /* the canonical text still holds the metadata after the summary took it */
    cr_expect_not_null(strstr(canon, "\"metadata\":{\"channel\":\"web\",\"e\":\"\"}"));
    free(canon);
    order_summary_release(&sum);
    order_summary_release(&sum); /* harmless twice */
    cr_expect_null(order_metadata_get(&sum, "channel"));
}

Test(ingress_validate, optional_outputs_may_be_null) {
    cr_expect_eq(order_validate(VALID, strlen(VALID), NULL, NULL, NULL), 0);
    cr_expect_eq(order_validate("{", 1, NULL, NULL, NULL), -1);
    cr_expect_eq(order_validate(NULL, 0, NULL, NULL, NULL), -1);
}

/* Does not read past `len`: the bytes after it would make the body valid. */
Test(ingress_validate, honours_length) {
    struct order_error err;
    cr_expect_eq(order_validate(VALID, strlen(VALID) - 1, &err, NULL, NULL), -1);
    cr_expect_str_eq(err.code, "invalid_json");
    cr_expect_str_eq(err.message, "invalid JSON at line 1, column 125: unexpected end of input, "
                                  "expected ',' or '}'");
}
