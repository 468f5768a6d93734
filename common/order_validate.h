/* order_validate: strict validation of a POST /orders body into its canonical form.
 *
 * Implements the body contract of DESIGN.md, proto/order.schema.json and
 * tests/contracts/examples/cases.yaml, including the rules JSON Schema cannot
 * express (duplicate member names, integer literals, total = sum of lines).
 *
 * How it works: a strict RFC 8259 scanner reads the raw bytes first (grammar,
 * UTF-8, escapes, lone surrogates, control characters, nesting depth,
 * trailing data) and records the exact text of every number literal. cJSON
 * then builds the tree from a copy in which each number literal is blanked to
 * "0" + spaces (so cJSON's strtod never sees it), and every number node is
 * turned into a cJSON_Raw node holding its original literal, matched to the
 * scanner's record by document order. Integer rules are thus checked on the
 * literal as sent ("2.0" and "2e0" are not integers; 10^12 is exact), and the
 * canonical output prints integers verbatim, never as doubles.
 *
 * Choices beyond the written contract (documented here, tested):
 * - a \u escape giving a lone surrogate is invalid_json (not Unicode text);
 * - U+0000 (written \u0000) in any string is invalid_order at that string
 *   (Postgres text/jsonb cannot hold it): a member name containing it is
 *   reported at the object holding it;
 * - nesting deeper than ORDER_VALIDATE_MAX_DEPTH is invalid_json (RFC 8259
 *   section 9 allows a parser to limit depth; an order needs 3 levels);
 * - a UTF-8 byte order mark is invalid_json (as Python's json module says);
 * - when several rules fail, the error reported is the one the reference
 *   implementation in tests/contracts/check.py picks: duplicates first (outer
 *   objects first), then schema errors by path (members in alphabetical
 *   order; unknown, then missing members before the members' own values),
 *   then non-integer literals, then the total. */
#ifndef COMMON_ORDER_VALIDATE_H
#define COMMON_ORDER_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define ORDER_VALIDATE_MAX_DEPTH 16 /* objects/arrays nested in one another */
#define ORDER_ID_MAX 64             /* bytes (ASCII only) */
#define ORDER_CUSTOMER_ID_MAX 128   /* code points */
#define ORDER_MESSAGE_MAX 256
#define ORDER_FIELD_MAX 1024
#define ORDER_TOTAL_CENTS_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

/* Why a body was refused: maps 1:1 onto the 400 error body of the contract. */
struct order_error {
    /* "invalid_json", "invalid_order", or "internal_error" (out of memory:
     * answer 500/503, not 400). A static string. */
    const char *code;
    /* Human-readable and precise, e.g. "items[2].quantity must be an integer
     * between 1 and 1000000". Never longer than the buffer; may quote member
     * names of the body (shortened when long). */
    char message[ORDER_MESSAGE_MAX];
    /* RFC 6901 JSON pointer of the failing value ("" for invalid_json and
     * for the whole body). A pointer that would not fit (only possible below
     * a member name of several hundred bytes, never a valid one) is cut back
     * to the deepest enclosing value that fits. */
    char field[ORDER_FIELD_MAX];
};

/* What the server needs from a valid order without parsing it again. */
struct order_summary {
    char order_id[ORDER_ID_MAX + 1];
    char customer_id[ORDER_CUSTOMER_ID_MAX * 4 + 1]; /* UTF-8, NUL-terminated */
    char currency[4];
    int64_t total_cents;
    size_t item_count;
    /* The order's "metadata" object as a cJSON tree (decoded string values,
     * input order), for subscription filters; NULL when the order has none.
     * Owned by the summary: free with order_summary_release. Look a
     * key up with order_metadata_get. */
    struct cJSON *metadata;
};

/* Validates `len` bytes of `body` (need not be NUL-terminated; NULL allowed
 * when len is 0).
 * On success returns 0; if canonical_out is not NULL, *canonical_out is a
 * malloc'd NUL-terminated compact JSON text of the order (members in input
 * order, integers as integer literals, strings with only the escapes JSON
 * requires) that the caller frees with free(); if summary is not NULL it is
 * filled and must be released with order_summary_release.
 * On a client error returns -1 and fills *err (if not NULL); on an allocation
 * failure returns -2 with err->code "internal_error". On any failure
 * *canonical_out is NULL and *summary is empty (releasing it is harmless). */
int order_validate(const char *body, size_t len, struct order_error *err, char **canonical_out,
                   struct order_summary *summary);

/* Frees what a summary owns (the metadata tree) and empties it. Safe on an
 * empty or already released summary. */
void order_summary_release(struct order_summary *summary);

/* Returns the metadata value of `key` (owned by the summary, valid until it
 * is released), or NULL if the order has no such metadata entry. */
const char *order_metadata_get(const struct order_summary *summary, const char *key);

#endif
