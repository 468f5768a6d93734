/* limbo: retries of orders whose commit outcome was unknown. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../../../services/publisher/limbo.h"

static void tl_req(struct publisher_request *r, const char *client, const char *order,
                   const char *body, const char *event_id) {
    memset(r, 0, sizeof *r);
    snprintf(r->client_id, sizeof r->client_id, "%s", client);
    snprintf(r->order_id, sizeof r->order_id, "%s", order);
    snprintf(r->event_id, sizeof r->event_id, "%s", event_id);
    snprintf(r->ce_time, sizeof r->ce_time, "2024-05-01T12:34:56.789Z");
    r->body = body;
    r->body_len = strlen(body);
}

static enum publisher_limbo_state tl_find(struct publisher_limbo *l, const char *client,
                                          const char *order, const char *body, long long now,
                                          char event_id_out[37]) {
    struct publisher_request q;
    tl_req(&q, client, order, body, "");
    enum publisher_limbo_state st = publisher_limbo_find(l, &q, body, strlen(body), now);
    if (event_id_out)
        memcpy(event_id_out, q.event_id, 37);
    return st;
}

#define EV1 "11111111-1111-4111-8111-111111111111"
#define EV2 "22222222-2222-4222-8222-222222222222"

Test(publisher_limbo, unknown_orders_are_published) {
    struct publisher_limbo *l = publisher_limbo_create(8, 1000);
    cr_assert_not_null(l);
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 0, NULL), PUBLISHER_LIMBO_NONE);
    publisher_limbo_destroy(l);
}

Test(publisher_limbo, pending_then_committed_replays_the_original_ids) {
    struct publisher_limbo *l = publisher_limbo_create(8, 1000);
    struct publisher_request a, b;
    tl_req(&a, "c", "o1", "{\"order_id\":\"o1\"}", EV1);
    tl_req(&b, "c", "o2", "{\"order_id\":\"o2\"}", EV2);
    struct publisher_request *batch[] = {&a, &b};
    cr_assert_eq(publisher_limbo_hold(l, 0, batch, 2, 100), 2);
    char ev[37] = "";
    cr_assert_eq(tl_find(l, "c", "o1", "{\"order_id\":\"o1\"}", 200, ev), PUBLISHER_LIMBO_PENDING);
    publisher_limbo_resolve(l, 0, 1);
    cr_assert_eq(tl_find(l, "c", "o1", "{\"order_id\":\"o1\"}", 200, ev),
                 PUBLISHER_LIMBO_COMMITTED);
    cr_assert_str_eq(ev, EV1);
    cr_assert_eq(tl_find(l, "c", "o2", "{\"order_id\":\"o2\"}", 200, ev),
                 PUBLISHER_LIMBO_COMMITTED);
    cr_assert_str_eq(ev, EV2);
    /* Another client's order with the same id is another order. */
    cr_assert_eq(tl_find(l, "d", "o1", "{\"order_id\":\"o1\"}", 200, NULL), PUBLISHER_LIMBO_NONE);
    /* Another body is not this order's retry. */
    cr_assert_eq(tl_find(l, "c", "o1", "{\"order_id\":\"o1\",\"x\":1}", 200, NULL),
                 PUBLISHER_LIMBO_NONE);
    publisher_limbo_destroy(l);
}

Test(publisher_limbo, aborted_commit_forgets_so_a_retry_publishes) {
    struct publisher_limbo *l = publisher_limbo_create(8, 1000);
    struct publisher_request a;
    tl_req(&a, "c", "o1", "{}", EV1);
    struct publisher_request *batch[] = {&a};
    publisher_limbo_hold(l, 0, batch, 1, 0);
    cr_assert_eq(publisher_limbo_size(l), 1);
    publisher_limbo_resolve(l, 0, 0);
    cr_assert_eq(publisher_limbo_size(l), 0);
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 1, NULL), PUBLISHER_LIMBO_NONE);
    publisher_limbo_destroy(l);
}

Test(publisher_limbo, entries_expire_and_capacity_evicts_the_oldest) {
    struct publisher_limbo *l = publisher_limbo_create(2, 1000);
    struct publisher_request a, b, c;
    tl_req(&a, "c", "o1", "{}", EV1);
    tl_req(&b, "c", "o2", "{}", EV1);
    tl_req(&c, "c", "o3", "{}", EV1);
    struct publisher_request *batch[] = {&a, &b, &c};
    publisher_limbo_hold(l, 0, batch, 3, 0);
    publisher_limbo_resolve(l, 0, 1);
    cr_assert_eq(publisher_limbo_size(l), 2);
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 10, NULL), PUBLISHER_LIMBO_NONE, "evicted");
    cr_assert_eq(tl_find(l, "c", "o3", "{}", 10, NULL), PUBLISHER_LIMBO_COMMITTED);
    cr_assert_eq(tl_find(l, "c", "o3", "{}", 1000, NULL), PUBLISHER_LIMBO_NONE, "expired");
    publisher_limbo_destroy(l);
}

Test(publisher_limbo, resolve_only_touches_pending_entries) {
    struct publisher_limbo *l = publisher_limbo_create(8, 1000);
    struct publisher_request a, b;
    tl_req(&a, "c", "o1", "{}", EV1);
    tl_req(&b, "c", "o2", "{}", EV2);
    struct publisher_request *first[] = {&a}, *second[] = {&b};
    publisher_limbo_hold(l, 0, first, 1, 0);
    publisher_limbo_resolve(l, 0, 1);
    publisher_limbo_hold(l, 0, second, 1, 0);
    publisher_limbo_resolve(l, 0, 0); /* the second transaction aborted */
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 1, NULL), PUBLISHER_LIMBO_COMMITTED);
    cr_assert_eq(tl_find(l, "c", "o2", "{}", 1, NULL), PUBLISHER_LIMBO_NONE);
    publisher_limbo_destroy(l);
}

/* Two producers, each with its own unresolved commit: one producer's
 * outcome decides only the orders it held. */
Test(publisher_limbo, resolve_only_touches_the_owner_entries) {
    struct publisher_limbo *l = publisher_limbo_create(8, 1000);
    struct publisher_request a, b;
    tl_req(&a, "c", "o1", "{}", EV1);
    tl_req(&b, "c", "o2", "{}", EV2);
    struct publisher_request *first[] = {&a}, *second[] = {&b};
    publisher_limbo_hold(l, 0, first, 1, 0);
    publisher_limbo_hold(l, 1, second, 1, 0);
    publisher_limbo_resolve(l, 1, 0); /* producer 1's commit aborted */
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 1, NULL), PUBLISHER_LIMBO_PENDING);
    cr_assert_eq(tl_find(l, "c", "o2", "{}", 1, NULL), PUBLISHER_LIMBO_NONE);
    publisher_limbo_resolve(l, 0, 1); /* producer 0's commit went through */
    cr_assert_eq(tl_find(l, "c", "o1", "{}", 1, NULL), PUBLISHER_LIMBO_COMMITTED);
    publisher_limbo_destroy(l);
}

Test(publisher_limbo, create_refuses_nonsense) {
    cr_assert_null(publisher_limbo_create(0, 1000));
    cr_assert_null(publisher_limbo_create(8, 0));
}
