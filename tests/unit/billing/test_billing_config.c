/* Unit tests for services/billing/config: defaults, *_FILE secrets, bounds
 * and cross-variable rules, errors that name the variable but never a
 * secret. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"

#include "../../../services/billing/config.h"

#define BCONF_PG_SECRET "pg-secret-that-must-never-be-printed"

static struct billing_config bconf;
static char bconf_err[512];

static void bconf_setup(void) {
    static const char *const vars[] = {
        "BILLING_ADMIN_BIND",
        "BILLING_ADMIN_PORT",
        "KAFKA_BOOTSTRAP",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_USERNAME",
        "KAFKA_PASSWORD",
        "KAFKA_CA_FILE",
        "BILLING_TOPIC",
        "BILLING_GROUP",
        "PG_HOST",
        "PG_PORT",
        "PG_DATABASE",
        "PG_USER",
        "PG_PASSWORD",
        "PG_SSLMODE",
        "BILLING_BATCH_MAX",
        "BILLING_BATCH_WAIT",
        "BILLING_MAX_ATTEMPTS",
        "BILLING_RETRY_BASE",
        "BILLING_RETRY_CAP",
        "BILLING_PG_TIMEOUT",
        "BILLING_DRAIN_TIMEOUT",
        "BILLING_STATS_INTERVAL",
        "BILLING_SESSION_TIMEOUT",
        "LOG_LEVEL",
    };
    char name[96];
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        unsetenv(vars[i]);
        snprintf(name, sizeof name, "%s_FILE", vars[i]);
        unsetenv(name);
    }
    setenv("KAFKA_BOOTSTRAP", "127.0.0.1:19092", 1);
    memset(&bconf, 0, sizeof bconf);
    bconf_err[0] = '\0';
}

static void bconf_teardown(void) {
    billing_config_free(&bconf);
}

TestSuite(billing_config, .init = bconf_setup, .fini = bconf_teardown);

Test(billing_config, defaults_match_the_agreed_names) {
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), 0, "%s", bconf_err);
    cr_assert_str_eq(bconf.topic, "orders.billing");
    cr_assert_str_eq(bconf.group, "billing");
    cr_assert_str_eq(bconf.pg_user, "billing");
    cr_assert_str_eq(bconf.security_protocol, "SASL_PLAINTEXT");
    cr_assert_eq(bconf.max_attempts, 3);
    cr_assert_eq(bconf.admin_port, 18101);
    cr_assert_eq(bconf.batch_max, 500);
    cr_assert_eq(bconf.batch_wait_ms, 100);
    cr_assert_leq(bconf.retry_base_ms, bconf.retry_cap_ms);
}

Test(billing_config, kafka_bootstrap_is_required) {
    unsetenv("KAFKA_BOOTSTRAP");
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "KAFKA_BOOTSTRAP") != NULL, "%s", bconf_err);
}

Test(billing_config, durations_and_bounds) {
    setenv("BILLING_BATCH_WAIT", "250ms", 1);
    setenv("BILLING_RETRY_BASE", "1s", 1);
    setenv("BILLING_RETRY_CAP", "2m", 1);
    setenv("BILLING_BATCH_MAX", "5000", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), 0, "%s", bconf_err);
    cr_assert_eq(bconf.batch_wait_ms, 250);
    cr_assert_eq(bconf.retry_base_ms, 1000);
    cr_assert_eq(bconf.retry_cap_ms, 120000);
    cr_assert_eq(bconf.batch_max, 5000);
    billing_config_free(&bconf);
    setenv("BILLING_BATCH_MAX", "5001", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "BILLING_BATCH_MAX") != NULL, "%s", bconf_err);
}

Test(billing_config, max_attempts_must_be_positive) {
    setenv("BILLING_MAX_ATTEMPTS", "0", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "BILLING_MAX_ATTEMPTS") != NULL, "%s", bconf_err);
}

Test(billing_config, retry_cap_below_base_is_refused) {
    setenv("BILLING_RETRY_BASE", "5s", 1);
    setenv("BILLING_RETRY_CAP", "1s", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "BILLING_RETRY_CAP") != NULL, "%s", bconf_err);
    cr_assert_null(bconf.topic, "nothing kept after a failure");
}

Test(billing_config, topic_and_group_must_be_kafka_names) {
    setenv("BILLING_TOPIC", "orders billing", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "BILLING_TOPIC") != NULL, "%s", bconf_err);
    setenv("BILLING_TOPIC", "orders.billing", 1);
    setenv("BILLING_GROUP", "", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "BILLING_GROUP") != NULL, "%s", bconf_err);
}

Test(billing_config, sslmode_is_one_of_libpq_modes) {
    setenv("PG_SSLMODE", "maybe", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), -1);
    cr_assert(strstr(bconf_err, "PG_SSLMODE") != NULL, "%s", bconf_err);
    setenv("PG_SSLMODE", "verify-full", 1);
    cr_assert_eq(billing_config_load(&bconf, bconf_err, sizeof bconf_err), 0, "%s", bconf_err);
}

Test(billing_config, password_file_is_read_and_never_described) {
    char path[] = "/tmp/bconf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, BCONF_PG_SECRET "\n", sizeof BCONF_PG_SECRET),
                 (ssize_t)sizeof BCONF_PG_SECRET);
    close(fd);
    setenv("PG_PASSWORD_FILE", path, 1);
    int rc = billing_config_load(&bconf, bconf_err, sizeof bconf_err);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", bconf_err);
    cr_assert_str_eq(bconf.pg_password, BCONF_PG_SECRET);
    struct strbuf sb;
    strbuf_init(&sb, 16384);
    billing_config_describe(&bconf, &sb);
    cr_assert_null(strstr(strbuf_str(&sb), BCONF_PG_SECRET));
    cr_assert(strstr(strbuf_str(&sb), "\"PG_PASSWORD\":\"<redacted>\"") != NULL, "%s",
              strbuf_str(&sb));
    strbuf_release(&sb);
}
