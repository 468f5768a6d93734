/* gen: random valid orders and unique order ids for send --generate and load. */
#include "gen.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "crypto.h"
#include "strbuf.h"

int ordersctl_rng_seed(struct ordersctl_rng *r) {
    return crypto_random_bytes(&r->s, sizeof(r->s));
}

uint64_t ordersctl_rng_next(struct ordersctl_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t ordersctl_rng_range(struct ordersctl_rng *r, uint64_t lo, uint64_t hi) {
    uint64_t span = hi - lo + 1;
    if (span == 0) /* the full 64-bit range */
        return ordersctl_rng_next(r);
    return lo + ordersctl_rng_next(r) % span;
}

/* Appends `s` then the decimal form of `v` (no printf on the hot path). */
static int gen_put_num(struct strbuf *out, const char *s, uint64_t v) {
    char digits[24];
    size_t n = sizeof(digits);
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n > 0);
    if (strbuf_puts(out, s) != 0)
        return -1;
    return strbuf_append(out, digits + n, sizeof(digits) - n);
}

int ordersctl_gen_order(struct strbuf *out, const char *order_id, struct ordersctl_rng *rng) {
    static const char *const currencies[] = {"EUR", "USD", "GBP", "JPY", "CHF"};
    uint64_t total = 0;
    unsigned nitems = (unsigned)ordersctl_rng_range(rng, 1, 5);
    size_t cur = ordersctl_rng_range(rng, 0, sizeof(currencies) / sizeof(currencies[0]) - 1);
    int rc = 0;

    rc |= strbuf_puts(out, "{\"order_id\":\"");
    rc |= strbuf_puts(out, order_id);
    rc |= gen_put_num(out, "\",\"customer_id\":\"cust-", ordersctl_rng_range(rng, 1, 99999));
    rc |= strbuf_puts(out, "\",\"currency\":\"");
    rc |= strbuf_puts(out, currencies[cur]);
    rc |= strbuf_puts(out, "\",\"items\":[");
    for (unsigned i = 0; i < nitems; i++) {
        uint64_t qty = ordersctl_rng_range(rng, 1, 10);
        uint64_t price = ordersctl_rng_range(rng, 1, 100000);
        total += qty * price;
        rc |= gen_put_num(out, i ? ",{\"sku\":\"SKU-" : "{\"sku\":\"SKU-",
                          ordersctl_rng_range(rng, 1, 9999));
        rc |= gen_put_num(out, "\",\"quantity\":", qty);
        rc |= gen_put_num(out, ",\"unit_price_cents\":", price);
        rc |= strbuf_putc(out, '}');
    }
    rc |= gen_put_num(out, "],\"total_cents\":", total);
    rc |= strbuf_puts(out, ",\"metadata\":{\"source\":\"ordersctl\"}}");
    return rc ? -1 : 0;
}

int ordersctl_gen_order_id(char *out, size_t cap, const char *prefix, unsigned long long seq) {
    int n = snprintf(out, cap, "%s-%llu", prefix, seq);
    if (n < 0 || (size_t)n >= cap || n > ORDERSCTL_ORDER_ID_MAX)
        return -1;
    return n;
}

int ordersctl_gen_run_id(char out[ORDERSCTL_RUN_ID_MAX]) {
    unsigned char rnd[4];
    char hex[2 * sizeof(rnd) + 1];
    out[0] = '\0';
    if (crypto_random_bytes(rnd, sizeof(rnd)) != 0)
        return -1;
    crypto_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(out, ORDERSCTL_RUN_ID_MAX, "ld%lld-%s", (long long)time(NULL), hex);
    return 0;
}

int ordersctl_body_prepare(const struct ordersctl_opts *o, struct strbuf *body, char *order_id,
                           size_t idcap, char *err, size_t errlen) {
    char uuid[CRYPTO_UUID_STR_LEN + 1];
    char id[ORDERSCTL_ORDER_ID_MAX + 1];
    struct ordersctl_rng rng;

    if (order_id && idcap)
        order_id[0] = '\0';
    if (!o->generate)
        return ordersctl_read_file(o->body_file, ORDERSCTL_BODY_MAX, body, err, errlen);
    if (crypto_uuid_v4(uuid) != 0 || ordersctl_rng_seed(&rng) != 0) {
        snprintf(err, errlen, "random generator failed");
        return -1;
    }
    snprintf(id, sizeof(id), "ord-%s", uuid);
    if (ordersctl_gen_order(body, id, &rng) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (order_id && idcap)
        snprintf(order_id, idcap, "%s", id);
    return 0;
}
