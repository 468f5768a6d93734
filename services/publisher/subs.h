/* subs: the publisher's subscriptions, one Kafka topic each, with an
 * optional filter (filter.h) deciding which orders it receives.
 *
 * PUBLISHER_SUBSCRIPTIONS lists them as "name=topic[,name=topic...]", e.g.
 * "billing=orders.billing,archive=orders.archive". Names are 1-64 bytes of
 * [A-Za-z0-9_-]; topics are valid Kafka names (1-249 bytes of [A-Za-z0-9._-],
 * not "." or ".."). No blanks, no empty entries, no repeated name or topic.
 *
 * PUBLISHER_FILTERS (normally PUBLISHER_FILTERS_FILE) is a JSON object from
 * subscription name to filter policy, e.g.
 *   {"billing": {"currency": ["EUR"]}, "archive": {}}
 * A subscription without an entry receives every order. */
#ifndef PUBLISHER_SUBS_H
#define PUBLISHER_SUBS_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct publisher_filter;

/* Most subscriptions (a match result is a bit mask). */
#define PUBLISHER_SUBS_MAX 32

struct publisher_sub {
    char *name;
    char *topic;
    struct publisher_filter *filter; /* NULL: every order */
};

struct publisher_subs {
    size_t n;
    struct publisher_sub sub[PUBLISHER_SUBS_MAX];
};

/* Parses a subscription list. Returns a new set owned by the caller (free
 * with publisher_subs_destroy), or NULL with the reason in err[errlen]. */
struct publisher_subs *publisher_subs_parse(const char *spec, char *err, size_t errlen);

/* Attaches the filters of a PUBLISHER_FILTERS JSON text (len bytes). Every
 * member must name a known subscription. Returns 0, or -1 with the reason in
 * err (filters already attached by this call are removed again). */
int publisher_subs_set_filters(struct publisher_subs *s, const char *json, size_t len, char *err,
                               size_t errlen);

/* Returns the mask of subscriptions that receive `order` (bit i for
 * s->sub[i]). 0 means nobody subscribed to it. Thread-safe (read-only). */
uint32_t publisher_subs_match(const struct publisher_subs *s, const struct cJSON *order);

/* Frees the set and its filters. NULL is a no-op. */
void publisher_subs_destroy(struct publisher_subs *s);

#endif
