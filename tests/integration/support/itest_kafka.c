/* itest_kafka: local Kafka users for the suites. */
#include "itest_kafka.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "itest_env.h"

struct kafka_settings itest_kafka_settings(const char *who, const char *client_id) {
    char user_var[64], pass_var[64];
    snprintf(user_var, sizeof user_var, "KAFKA_%s_USER", who);
    snprintf(pass_var, sizeof pass_var, "KAFKA_%s_PASSWORD", who);
    /* itest_env returns the environment's own strings: they outlive the names */
    struct kafka_settings s = {
        .bootstrap = itest_env("KAFKA_BOOTSTRAP"),
        .security_protocol = "SASL_PLAINTEXT",
        .sasl_mechanism = itest_env("KAFKA_SASL_MECHANISM"),
        .username = itest_env(user_var),
        .password = itest_env(pass_var),
        .client_id = client_id,
    };
    return s;
}

rd_kafka_t *itest_kafka_consumer(const char *who, const char *tag, const char *group,
                                 int read_uncommitted) {
    char err[512], unique[128];
    struct kafka_settings s = itest_kafka_settings(who, tag);
    if (!group)
        group = itest_unique(tag, unique, sizeof unique);
    rd_kafka_conf_t *conf = kafka_conf_consumer(&s, group, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    cr_assert_eq(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err), RD_KAFKA_CONF_OK);
    if (read_uncommitted)
        cr_assert_eq(
            rd_kafka_conf_set(conf, "isolation.level", "read_uncommitted", err, sizeof err),
            RD_KAFKA_CONF_OK, "%s", err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    return rk;
}
