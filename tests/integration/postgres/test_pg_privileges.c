/* Least privilege in Postgres: the billing role may read and append orders and
 * move its offsets, and nothing else. Runs against the real local server. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "../support/itest_env.h"

static PGconn *pg_billing;
static PGconn *pg_migrator;
static char pg_order_id[96];

static PGconn *pg_connect_as(const char *user_var, const char *password_var) {
    const char *keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", NULL};
    const char *vals[] = {itest_env("PG_HOST"),
                          itest_env("PG_PORT"),
                          itest_env("PG_DATABASE"),
                          itest_env(user_var),
                          itest_env(password_var),
                          "5",
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    cr_assert(c && PQstatus(c) == CONNECTION_OK, "connect as %s: %s", itest_env(user_var),
              c ? PQerrorMessage(c) : "out of memory");
    return c;
}

/* Runs `sql` and returns its SQLSTATE ("00000" on success). */
static const char *pg_sqlstate(PGconn *c, const char *sql) {
    static char state[6];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        strcpy(state, "00000");
    } else {
        const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        snprintf(state, sizeof state, "%s", s ? s : "?????");
    }
    PQclear(r);
    return state;
}

static void pg_setup(void) {
    pg_billing = pg_connect_as("PG_BILLING_USER", "PG_BILLING_PASSWORD");
    pg_migrator = pg_connect_as("PG_MIGRATOR_USER", "PG_MIGRATOR_PASSWORD");
    itest_unique("acl", pg_order_id, sizeof pg_order_id);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO billing.orders (client_id, order_id, customer_id, currency, "
             "total_cents, items, event_id, received_at, kafka_partition, kafka_offset) "
             "VALUES ('itest', '%s', 'c1', 'EUR', 0, '[]', gen_random_uuid(), now(), 0, 0)",
             pg_order_id);
    cr_assert_str_eq(pg_sqlstate(pg_billing, sql), "00000", "billing may INSERT");
}

static void pg_teardown(void) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM billing.orders WHERE client_id = 'itest' AND order_id = '%s'",
             pg_order_id);
    if (pg_migrator)
        (void)pg_sqlstate(pg_migrator, sql);
    PQfinish(pg_billing);
    PQfinish(pg_migrator);
}

TestSuite(pg_privileges, .init = pg_setup, .fini = pg_teardown);

Test(pg_privileges, billing_can_select_its_rows) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT 1 FROM billing.orders WHERE order_id = '%s'", pg_order_id);
    PGresult *r = PQexec(pg_billing, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(pg_billing));
    cr_assert_eq(PQntuples(r), 1);
    PQclear(r);
}

Test(pg_privileges, billing_cannot_delete_update_or_truncate_orders) {
    cr_assert_str_eq(pg_sqlstate(pg_billing, "DELETE FROM billing.orders"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "UPDATE billing.orders SET total_cents = 1"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "TRUNCATE billing.orders"), "42501");
}

Test(pg_privileges, billing_cannot_change_the_schema) {
    cr_assert_str_eq(pg_sqlstate(pg_billing, "DROP TABLE billing.orders"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "ALTER TABLE billing.orders ADD COLUMN x int"),
                     "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "CREATE TABLE billing.evil (x int)"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "CREATE TABLE public.evil (x int)"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "DROP SCHEMA billing CASCADE"), "42501");
}

Test(pg_privileges, billing_cannot_touch_migrations_or_delete_offsets) {
    cr_assert_str_eq(pg_sqlstate(pg_billing, "SELECT * FROM billing.schema_migrations"), "42501");
    cr_assert_str_eq(pg_sqlstate(pg_billing, "DELETE FROM billing.consumer_offsets"), "42501");
    cr_assert_str_eq(
        pg_sqlstate(pg_billing, "UPDATE billing.consumer_offsets SET consumer_group = 'x'"),
        "42501");
}

Test(pg_privileges, billing_may_move_its_offsets_forward) {
    const char *upsert =
        "INSERT INTO billing.consumer_offsets (consumer_group, topic, kafka_partition, "
        "next_offset) VALUES ('itest-group', 'itest-topic', 0, 1) "
        "ON CONFLICT (consumer_group, topic, kafka_partition) "
        "DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()";
    cr_assert_str_eq(pg_sqlstate(pg_billing, upsert), "00000");
    cr_assert_str_eq(pg_sqlstate(pg_billing, upsert), "00000", "second run takes the UPDATE path");
    (void)pg_sqlstate(pg_migrator,
                      "DELETE FROM billing.consumer_offsets WHERE consumer_group = 'itest-group'");
}

Test(pg_privileges, wrong_password_is_refused) {
    const char *keys[] = {"host", "port", "dbname", "user", "password", NULL};
    const char *vals[] = {itest_env("PG_HOST"),     itest_env("PG_PORT"),
                          itest_env("PG_DATABASE"), itest_env("PG_BILLING_USER"),
                          "not-the-password",       NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    cr_assert_neq(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
}
