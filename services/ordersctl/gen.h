/* gen: random valid orders and unique order ids for send --generate and load.
 *
 * Bodies follow proto/order.schema.json: 1-5 items, total_cents equal to the
 * sum of quantity * unit_price_cents, and a metadata entry naming the tool.
 * The generator is a small non-cryptographic PRNG (splitmix64) seeded from
 * the OpenSSL CSPRNG, fast enough for the load generator's hot path. */
#ifndef ORDERSCTL_GEN_H
#define ORDERSCTL_GEN_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct ordersctl_opts;

#define ORDERSCTL_ORDER_ID_MAX 64
#define ORDERSCTL_RUN_ID_MAX 24 /* "ld<10 digits>-<8 hex>" plus NUL */

/* PRNG state; set `s` directly for a reproducible sequence. */
struct ordersctl_rng {
    uint64_t s;
};

/* Seeds from the CSPRNG. Returns 0, or -1 if it failed. */
int ordersctl_rng_seed(struct ordersctl_rng *r);

/* Returns the next 64 pseudo-random bits. */
uint64_t ordersctl_rng_next(struct ordersctl_rng *r);

/* Returns a value in [lo, hi] (lo <= hi), nearly uniform. */
uint64_t ordersctl_rng_range(struct ordersctl_rng *r, uint64_t lo, uint64_t hi);

/* Appends one valid order with this order_id (1-64 of [A-Za-z0-9_-], not
 * checked) as compact JSON. Returns 0, or -1 if the buffer refused it. */
int ordersctl_gen_order(struct strbuf *out, const char *order_id, struct ordersctl_rng *rng);

/* Writes "<prefix>-<seq>" into out[cap]. Returns its length, or -1 if it
 * does not fit or would exceed ORDERSCTL_ORDER_ID_MAX. */
int ordersctl_gen_order_id(char *out, size_t cap, const char *prefix, unsigned long long seq);

/* Writes a fresh run id "ld<unix seconds>-<8 random hex>" (a valid order-id
 * prefix, unique across runs). Returns 0, or -1 if the CSPRNG failed. */
int ordersctl_gen_run_id(char out[ORDERSCTL_RUN_ID_MAX]);

/* The body for sign/send: the file or stdin of --body-file/-, or with
 * --generate a random order with order_id "ord-<uuid v4>" (copied into
 * order_id[idcap] when order_id is not NULL; "" otherwise). Appends to
 * `body`. Returns 0, or -1 with a message in err. */
int ordersctl_body_prepare(const struct ordersctl_opts *o, struct strbuf *body, char *order_id,
                           size_t idcap, char *err, size_t errlen);

#endif
