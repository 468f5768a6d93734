/* filter: a subset of the SNS subscription filter policy, applied to an
 * order before it is published to a subscription's topic.
 *
 * A policy is a JSON object. Each member names an order attribute and lists
 * the values it may have; an order matches when EVERY member matches (AND),
 * and a member matches when ANY of its values does (OR). An attribute absent
 * from the order never matches. The empty policy {} matches every order.
 *
 *   "currency", "customer_id", "metadata.<key>"
 *       a non-empty array of strings: exact, case-sensitive equality with the
 *       order's string value.
 *   "total_cents"
 *       a non-empty array of numbers (exact equality) and/or numeric ranges
 *       {"numeric": [">=", 100, "<", 5000]}: one comparison ("=", "<", "<=",
 *       ">", ">=" and a number) or a range (">" or ">=" then "<" or "<=").
 *
 * Example: {"currency": ["EUR", "USD"], "total_cents": [{"numeric": [">=", 100]}]}
 *
 * Anything else (another attribute, an empty list, duplicate members, an
 * unknown operator, a lower bound above the upper) is refused at load time. */
#ifndef PUBLISHER_FILTER_H
#define PUBLISHER_FILTER_H

#include <stddef.h>

struct cJSON;
struct publisher_filter;

/* Most values listed for one attribute. */
#define PUBLISHER_FILTER_MAX_VALUES 100
/* Most members in one policy. */
#define PUBLISHER_FILTER_MAX_RULES 16

/* Compiles `policy` (a cJSON object; borrowed, may be freed afterwards).
 * Returns the filter, owned by the caller (free with publisher_filter_destroy),
 * or NULL with a message naming the offending member in err[errlen]. */
struct publisher_filter *publisher_filter_parse(const struct cJSON *policy, char *err,
                                                size_t errlen);

/* Frees the filter. NULL is a no-op. */
void publisher_filter_destroy(struct publisher_filter *f);

/* Returns 1 if `order` (a cJSON object) matches the filter, else 0. A NULL
 * filter matches everything. Thread-safe (read-only). */
int publisher_filter_match(const struct publisher_filter *f, const struct cJSON *order);

#endif
