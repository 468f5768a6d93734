/* e2e_billing: billing.orders read back as the migrator role and compared
 * with what was sent (see e2e.h). */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../billing/billing_itest.h"
#include "e2e.h"

long e2e_billing_count(const char *client) {
    PGconn *c = ibill_pg_admin();
    long n = ibill_count(c, client);
    PQfinish(c);
    return n;
}

void e2e_billing_wait(const char *client, long n, long timeout_ms) {
    PGconn *c = ibill_pg_admin();
    ibill_wait_count(c, client, n, timeout_ms);
    PQfinish(c);
}

void e2e_billing_cleanup(const char *client) {
    PGconn *c = ibill_pg_admin();
    ibill_cleanup_rows(c, client);
    PQfinish(c);
}

/* Index of order id "o123456" among n orders, or SIZE_MAX. */
static size_t e2e_index(const char *oid, size_t n) {
    char *end;
    if (oid[0] != 'o' || strlen(oid) != 7)
        return SIZE_MAX;
    unsigned long i = strtoul(oid + 1, &end, 10);
    return *end == '\0' && i < n ? (size_t)i : SIZE_MAX;
}

/* Asserts that JSON text `got` (as Postgres prints jsonb) equals member
 * `name` of the sent body, or that both are absent/null. */
static void e2e_json_member_eq(const cJSON *sent, const char *name, const char *got,
                               const char *oid) {
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(sent, name);
    if (!got) {
        cr_assert(!want || cJSON_IsNull(want), "%s: %s lost", oid, name);
        return;
    }
    cJSON *g = cJSON_Parse(got);
    cr_assert_not_null(g, "%s: %s is not JSON", oid, name);
    cr_assert(want && cJSON_Compare(g, want, 1), "%s: %s differs: %s", oid, name, got);
    cJSON_Delete(g);
}

void e2e_billing_check(const char *client, const struct e2e_order *o, size_t n,
                       long long *received_ms) {
    static const char sql[] =
        "SELECT order_id, customer_id, currency, total_cents::text, items::text, metadata::text,"
        " event_id::text, (extract(epoch FROM received_at) * 1000)::bigint::text"
        " FROM billing.orders WHERE client_id = $1";
    const char *params[] = {client};
    char *seen = calloc(n, 1);
    cr_assert_not_null(seen);
    PGconn *c = ibill_pg_admin();
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    cr_assert_eq((size_t)PQntuples(r), n, "billing.orders holds %d rows of %zu orders",
                 PQntuples(r), n);
    for (int row = 0; row < PQntuples(r); row++) {
        const char *oid = PQgetvalue(r, row, 0);
        size_t i = e2e_index(oid, n);
        cr_assert_neq(i, SIZE_MAX, "unexpected order %s in billing.orders", oid);
        cr_assert_eq(seen[i], 0, "order %s stored twice", oid);
        seen[i] = 1;
        cJSON *sent = cJSON_Parse(o[i].body);
        cr_assert_not_null(sent);
        const cJSON *cust = cJSON_GetObjectItemCaseSensitive(sent, "customer_id");
        const cJSON *cur = cJSON_GetObjectItemCaseSensitive(sent, "currency");
        const cJSON *tot = cJSON_GetObjectItemCaseSensitive(sent, "total_cents");
        cr_assert_str_eq(PQgetvalue(r, row, 1), cust->valuestring, "%s: customer_id", oid);
        cr_assert_str_eq(PQgetvalue(r, row, 2), cur->valuestring, "%s: currency", oid);
        cr_assert_eq(strtoll(PQgetvalue(r, row, 3), NULL, 10), (long long)tot->valuedouble,
                     "%s: total_cents", oid);
        e2e_json_member_eq(sent, "items", PQgetvalue(r, row, 4), oid);
        e2e_json_member_eq(sent, "metadata", PQgetisnull(r, row, 5) ? NULL : PQgetvalue(r, row, 5),
                           oid);
        cr_assert_str_eq(PQgetvalue(r, row, 6), o[i].event_id, "%s: event_id is not the 202's",
                         oid);
        if (received_ms)
            received_ms[i] = strtoll(PQgetvalue(r, row, 7), NULL, 10);
        cJSON_Delete(sent);
    }
    PQclear(r);
    PQfinish(c);
    free(seen);
}
