/* Unit tests for services/publisher/config: defaults, derived transactional
 * id, *_FILE secrets and errors that name the variable but never a secret. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"

#include "../../../services/publisher/config.h"

#define PCONF_TOKEN "unit-token-that-must-never-be-printed"

static struct publisher_config pconf;
static char pconf_err[512];

static void pconf_setup(void) {
    static const char *const vars[] = {
        "PUBLISHER_BIND",
        "PUBLISHER_PORT",
        "PUBLISHER_ADMIN_BIND",
        "PUBLISHER_ADMIN_PORT",
        "PUBLISHER_INTERNAL_TOKEN",
        "KAFKA_BOOTSTRAP",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_USERNAME",
        "KAFKA_PASSWORD",
        "KAFKA_CA_FILE",
        "PUBLISHER_TRANSACTIONAL_ID",
        "PUBLISHER_SUBSCRIPTIONS",
        "PUBLISHER_FILTERS",
        "PUBLISHER_MAX_BATCH",
        "PUBLISHER_PRODUCERS",
        "PUBLISHER_QUEUE_CAPACITY",
        "PUBLISHER_LINGER",
        "PUBLISHER_COMMIT_TIMEOUT",
        "PUBLISHER_MAX_BODY",
        "PUBLISHER_MAX_CONNECTIONS",
        "PUBLISHER_CONNECTION_TIMEOUT",
        "PUBLISHER_HTTP_THREADS",
        "PUBLISHER_RETRY_AFTER",
        "PUBLISHER_DRAIN_TIMEOUT",
        "LOG_LEVEL",
    };
    char name[96];
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        unsetenv(vars[i]);
        snprintf(name, sizeof name, "%s_FILE", vars[i]);
        unsetenv(name);
    }
    setenv("PUBLISHER_INTERNAL_TOKEN", PCONF_TOKEN, 1);
    setenv("KAFKA_BOOTSTRAP", "127.0.0.1:19092", 1);
    memset(&pconf, 0, sizeof pconf);
    pconf_err[0] = '\0';
}

static void pconf_teardown(void) {
    publisher_config_free(&pconf);
}

TestSuite(publisher_config, .init = pconf_setup, .fini = pconf_teardown);

Test(publisher_config, defaults) {
    char host[256], want[300];
    cr_assert_eq(publisher_config_load(&pconf, pconf_err, sizeof pconf_err), 0, "%s", pconf_err);
    cr_assert_str_eq(pconf.bind, "127.0.0.1");
    cr_assert_eq(pconf.port, 18090);
    cr_assert_eq(pconf.admin_port, 18091);
    cr_assert_str_eq(pconf.security_protocol, "SASL_PLAINTEXT");
    cr_assert_str_eq(pconf.sasl_mechanism, "SCRAM-SHA-256");
    cr_assert_str_eq(pconf.subscriptions, "billing=orders.billing,archive=orders.archive");
    cr_assert_null(pconf.filters);
    cr_assert_eq(pconf.max_batch, 256);
    cr_assert_eq(pconf.linger_ms, 2);
    cr_assert_eq(pconf.commit_timeout_ms, 5000);
    cr_assert_eq(pconf.max_body, 65536);
    cr_assert_eq(pconf.retry_after_ms, 1000);
    cr_assert_str_eq(pconf.log_level, "info");
    cr_assert_eq(gethostname(host, sizeof host), 0);
    host[sizeof host - 1] = '\0';
    snprintf(want, sizeof want, "publisher-%s", host);
    cr_assert_str_eq(pconf.transactional_id, want);
}

Test(publisher_config, explicit_transactional_id_wins) {
    setenv("PUBLISHER_TRANSACTIONAL_ID", "publisher-0", 1);
    cr_assert_eq(publisher_config_load(&pconf, pconf_err, sizeof pconf_err), 0, "%s", pconf_err);
    cr_assert_str_eq(pconf.transactional_id, "publisher-0");
}

Test(publisher_config, secrets_from_files_and_redacted) {
    char dir[] = "/tmp/pconf-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pw", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("kafka-secret-password\n", f);
    fclose(f);
    setenv("KAFKA_PASSWORD_FILE", path, 1);
    cr_assert_eq(publisher_config_load(&pconf, pconf_err, sizeof pconf_err), 0, "%s", pconf_err);
    unlink(path);
    rmdir(dir);
    cr_assert_str_eq(pconf.password, "kafka-secret-password");
    struct strbuf sb;
    strbuf_init(&sb, 8192);
    publisher_config_describe(&pconf, &sb);
    cr_assert(strstr(strbuf_str(&sb), "\"KAFKA_PASSWORD\":\"<redacted>\""), "%s", strbuf_str(&sb));
    cr_assert(strstr(strbuf_str(&sb), "\"PUBLISHER_INTERNAL_TOKEN\":\"<redacted>\""));
    cr_assert_null(strstr(strbuf_str(&sb), "kafka-secret-password"));
    cr_assert_null(strstr(strbuf_str(&sb), PCONF_TOKEN));
    strbuf_release(&sb);
}

Test(publisher_config, errors_name_the_variable) {
    static const struct {
        const char *name, *value, *needle;
    } cases[] = {
        {"PUBLISHER_PORT", "70000", "PUBLISHER_PORT: \"70000\" is not a port"},
        {"PUBLISHER_MAX_BATCH", "0", "PUBLISHER_MAX_BATCH: \"0\" is out of range (1-10000)"},
        {"PUBLISHER_PRODUCERS", "9", "PUBLISHER_PRODUCERS: \"9\" is out of range (1-8)"},
        {"PUBLISHER_COMMIT_TIMEOUT", "90s", "PUBLISHER_COMMIT_TIMEOUT: \"90s\" is out of range"},
        {"PUBLISHER_LINGER", "soon", "PUBLISHER_LINGER: \"soon\" is not a duration"},
        {"LOG_LEVEL", "loud", "LOG_LEVEL: \"loud\" is not one of: debug, info, warn, error"},
        {"PUBLISHER_INTERNAL_TOKEN", "short", "PUBLISHER_INTERNAL_TOKEN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pconf_setup();
        setenv(cases[i].name, cases[i].value, 1);
        cr_assert_eq(publisher_config_load(&pconf, pconf_err, sizeof pconf_err), -1, "case %zu", i);
        cr_assert(strstr(pconf_err, cases[i].needle), "case %zu: '%s' lacks '%s'", i, pconf_err,
                  cases[i].needle);
    }
    cr_assert_null(strstr(pconf_err, "short"), "secret printed: %s", pconf_err);
    pconf_setup();
    unsetenv("KAFKA_BOOTSTRAP");
    cr_assert_eq(publisher_config_load(&pconf, pconf_err, sizeof pconf_err), -1);
    cr_assert(strstr(pconf_err, "KAFKA_BOOTSTRAP: required"), "%s", pconf_err);
}
