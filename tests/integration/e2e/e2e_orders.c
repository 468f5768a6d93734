/* e2e_orders: the orders an end-to-end test sends (see e2e.h). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "e2e.h"
#include "strbuf.h"

/* Customer ids that a lossy hop would mangle: JSON escapes, COPY's
 * specials, multi-byte UTF-8. */
static const char *const e2e_customers[] = {
    "cust-plain",
    "tab\there \"quoted\" back\\slash",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 line\nbreak",
    "\\N looks like COPY null",
};

static const char *const e2e_currencies[] = {"EUR", "USD", "JPY"};

size_t e2e_n(const char *var, size_t def) {
    const char *v = getenv(var);
    long n = v && *v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? (size_t)n : def;
}

struct e2e_order *e2e_orders_make(size_t n) {
    struct e2e_order *o = calloc(n, sizeof *o);
    cr_assert_not_null(o);
    cr_assert_lt(n, (size_t)1000000, "order ids have 6 digits");
    for (size_t i = 0; i < n; i++) {
        struct e2e_order *x = &o[i];
        struct strbuf sb;
        unsigned char raw[24];
        char hex[49];
        const char *cust = e2e_customers[i % (sizeof e2e_customers / sizeof e2e_customers[0])];
        snprintf(x->order_id, sizeof x->order_id, "o%06zu", i);
        strbuf_init(&sb, sizeof x->body - 1);
        strbuf_printf(&sb, "{\"order_id\":\"%s\",\"customer_id\":\"", x->order_id);
        strbuf_json_escape(&sb, cust, strlen(cust));
        strbuf_printf(&sb, "\",\"currency\":\"%s\",\"items\":[", e2e_currencies[i % 3]);
        long long total = 0;
        for (size_t k = 0; k < 1 + i % 3; k++) {
            long long q = (long long)(k + 1 + i % 5), price = (long long)(i * 7 + k * 1000 + 1);
            total += q * price;
            strbuf_printf(&sb,
                          "%s{\"sku\":\"SKU-%zu-%zu\",\"quantity\":%lld,\"unit_price_cents\":%lld}",
                          k ? "," : "", i % 97, k, q, price);
        }
        strbuf_printf(&sb, "],\"total_cents\":%lld", total);
        if (i % 2)
            strbuf_printf(
                &sb,
                ",\"metadata\":{\"channel\":\"web\",\"n\":\"%zu\",\"note\":\"\\u00e9 \\\"q\\\"\"}",
                i);
        strbuf_puts(&sb, "}");
        cr_assert(!sb.overflow, "order %zu does not fit", i);
        snprintf(x->body, sizeof x->body, "%s", strbuf_str(&sb));
        strbuf_release(&sb);
        /* a traceparent of our own, so its trace id can be looked for */
        cr_assert_eq(crypto_random_bytes(raw, sizeof raw), 0);
        raw[0] |= 1;
        raw[16] |= 1;
        crypto_hex_encode(raw, sizeof raw, hex);
        snprintf(x->traceparent, sizeof x->traceparent, "00-%.32s-%.16s-01", hex, hex + 32);
    }
    return o;
}

long long e2e_parse_time_ms(const char *s) {
    struct tm tm;
    int y, mo, d, h, mi, sec, pos = 0;
    long long ms = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &pos) != 6 || pos != 19)
        return -1;
    const char *p = s + pos;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (long long)timegm(&tm) * 1000 + ms;
}
