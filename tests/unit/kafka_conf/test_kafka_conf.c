/* Unit tests for common/kafka_conf: every key read back with rd_kafka_conf_get. */
#include <criterion/criterion.h>

#include <string.h>

#include "kafka_conf.h"

#define KAFKA_TEST_PASSWORD "pw-Zq81-never-print-me"

static rd_kafka_conf_t *kafka_test_conf;
static char kafka_test_err[512];

static void kafka_test_setup(void) {
    kafka_test_conf = NULL;
    memset(kafka_test_err, 0, sizeof(kafka_test_err));
}

static void kafka_test_teardown(void) {
    if (kafka_test_conf)
        rd_kafka_conf_destroy(kafka_test_conf);
    kafka_test_conf = NULL;
}

/* The SASL/SCRAM settings the local stack uses. */
static struct kafka_settings kafka_test_sasl(void) {
    struct kafka_settings s = {
        .bootstrap = "127.0.0.1:19092,127.0.0.2:19092",
        .security_protocol = "SASL_PLAINTEXT",
        .sasl_mechanism = "SCRAM-SHA-256",
        .username = "publisher",
        .password = KAFKA_TEST_PASSWORD,
        .ca_file = NULL,
        .client_id = "publisher-0",
    };
    return s;
}

/* Asserts that `key` reads back as exactly `expect`. */
static void kafka_test_expect(rd_kafka_conf_t *conf, const char *key, const char *expect) {
    char value[512];
    size_t size = sizeof(value);
    cr_assert_eq(rd_kafka_conf_get(conf, key, value, &size), RD_KAFKA_CONF_OK, "get %s", key);
    cr_assert_str_eq(value, expect, "%s", key);
}

/* Asserts that building failed, the error mentions `needle` and never the
 * password. */
static void kafka_test_expect_error(rd_kafka_conf_t *conf, const char *needle) {
    cr_assert_null(conf);
    cr_assert(strstr(kafka_test_err, needle) != NULL, "error '%s' lacks '%s'", kafka_test_err,
              needle);
    cr_assert(strstr(kafka_test_err, KAFKA_TEST_PASSWORD) == NULL, "password leaked: %s",
              kafka_test_err);
}

TestSuite(kafka_conf, .init = kafka_test_setup, .fini = kafka_test_teardown);

Test(kafka_conf, base_sasl_reads_back) {
    struct kafka_settings s = kafka_test_sasl();
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "bootstrap.servers", "127.0.0.1:19092,127.0.0.2:19092");
    kafka_test_expect(kafka_test_conf, "client.id", "publisher-0");
    kafka_test_expect(kafka_test_conf, "security.protocol", "sasl_plaintext");
    kafka_test_expect(kafka_test_conf, "sasl.mechanisms", "SCRAM-SHA-256");
    kafka_test_expect(kafka_test_conf, "sasl.username", "publisher");
    kafka_test_expect(kafka_test_conf, "sasl.password", KAFKA_TEST_PASSWORD);
}

Test(kafka_conf, base_plaintext_defaults_and_ignores_sasl_fields) {
    struct kafka_settings s = {
        .bootstrap = "localhost:9092", .username = "ignored", .ca_file = "/nonexistent/ca.pem"};
    char value[256];
    size_t size = sizeof(value);

    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "bootstrap.servers", "localhost:9092");
    kafka_test_expect(kafka_test_conf, "security.protocol", "plaintext");
    kafka_test_expect(kafka_test_conf, "client.id", "rdkafka"); /* librdkafka default */
    /* Not a SASL protocol: the username was not copied. */
    cr_assert_neq(rd_kafka_conf_get(kafka_test_conf, "sasl.username", value, &size),
                  RD_KAFKA_CONF_OK);
    /* Not a TLS protocol: no CA location. */
    size = sizeof(value);
    cr_assert_neq(rd_kafka_conf_get(kafka_test_conf, "ssl.ca.location", value, &size),
                  RD_KAFKA_CONF_OK);
}

Test(kafka_conf, base_sasl_ssl_with_ca_and_case_insensitive_names) {
    struct kafka_settings s = kafka_test_sasl();
    s.security_protocol = "sasl_ssl";
    s.sasl_mechanism = "scram-sha-512";
    s.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "security.protocol", "sasl_ssl");
    kafka_test_expect(kafka_test_conf, "sasl.mechanisms", "SCRAM-SHA-512");
    kafka_test_expect(kafka_test_conf, "ssl.ca.location", "/etc/ssl/certs/ca-certificates.crt");
}

Test(kafka_conf, base_ssl_without_sasl) {
    struct kafka_settings s = {.bootstrap = "kafka:9093",
                               .security_protocol = "SSL",
                               .ca_file = "/etc/ssl/certs/ca-certificates.crt"};
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "security.protocol", "ssl");
    kafka_test_expect(kafka_test_conf, "ssl.ca.location", "/etc/ssl/certs/ca-certificates.crt");
}

Test(kafka_conf, sasl_without_password_names_the_field) {
    struct kafka_settings s = kafka_test_sasl();
    s.password = NULL;
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "password");
    cr_assert_str_eq(kafka_test_err, "kafka config: sasl password is required with SASL_PLAINTEXT");

    s.password = "";
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "password");
}

Test(kafka_conf, sasl_without_username_names_the_field) {
    struct kafka_settings s = kafka_test_sasl();
    s.username = "";
    kafka_test_conf =
        kafka_conf_producer(&s, "publisher-0", kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "username");
}

Test(kafka_conf, sasl_without_mechanism) {
    struct kafka_settings s = kafka_test_sasl();
    s.sasl_mechanism = NULL;
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "sasl mechanism is required");
}

Test(kafka_conf, unknown_security_protocol) {
    struct kafka_settings s = kafka_test_sasl();
    s.security_protocol = "SASL_TLS";
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "unknown security protocol 'SASL_TLS'");
}

Test(kafka_conf, unknown_sasl_mechanism) {
    struct kafka_settings s = kafka_test_sasl();
    s.sasl_mechanism = "GSSAPI";
    kafka_test_conf = kafka_conf_consumer(&s, "billing", kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "unknown sasl mechanism 'GSSAPI'");
}

Test(kafka_conf, missing_bootstrap) {
    struct kafka_settings s = kafka_test_sasl();
    s.bootstrap = NULL;
    kafka_test_conf = kafka_conf_base(&s, kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "bootstrap");
}

Test(kafka_conf, errors_tolerate_a_null_buffer) {
    struct kafka_settings s = kafka_test_sasl();
    s.password = NULL;
    cr_assert_null(kafka_conf_base(&s, NULL, 0));
}

Test(kafka_conf, producer_transactional_reads_back) {
    struct kafka_settings s = kafka_test_sasl();
    kafka_test_conf =
        kafka_conf_producer(&s, "publisher-0", kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "enable.idempotence", "true");
    kafka_test_expect(kafka_test_conf, "acks", "-1"); /* librdkafka spells "all" as -1 */
    kafka_test_expect(kafka_test_conf, "max.in.flight.requests.per.connection", "5");
    kafka_test_expect(kafka_test_conf, "linger.ms", "1");
    kafka_test_expect(kafka_test_conf, "delivery.timeout.ms", "30000");
    kafka_test_expect(kafka_test_conf, "message.timeout.ms", "30000"); /* same property */
    kafka_test_expect(kafka_test_conf, "transactional.id", "publisher-0");
    kafka_test_expect(kafka_test_conf, "transaction.timeout.ms", "60000");
    /* The base settings are there too. */
    kafka_test_expect(kafka_test_conf, "security.protocol", "sasl_plaintext");
    kafka_test_expect(kafka_test_conf, "sasl.username", "publisher");
    kafka_test_expect(kafka_test_conf, "bootstrap.servers", "127.0.0.1:19092,127.0.0.2:19092");
}

Test(kafka_conf, producer_without_transactions) {
    struct kafka_settings s = kafka_test_sasl();
    char value[256];
    size_t size = sizeof(value);
    kafka_test_conf = kafka_conf_producer(&s, NULL, kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "enable.idempotence", "true");
    kafka_test_expect(kafka_test_conf, "acks", "-1");
    cr_assert_neq(rd_kafka_conf_get(kafka_test_conf, "transactional.id", value, &size),
                  RD_KAFKA_CONF_OK, "transactional.id set to '%s'", value);
}

/* Silences librdkafka's connection-refused logs in the test below. */
static void kafka_test_quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                                 const char *buf) {
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* Creates (then destroys) a client of `type` from conf, asserting that
 * librdkafka accepts the combination: it validates some settings only in
 * rd_kafka_new. */
static void kafka_test_creates(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    cr_assert_not_null(conf, "%s", kafka_test_err);
    rd_kafka_conf_set_log_cb(conf, kafka_test_quiet_log);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        rd_kafka_conf_destroy(conf);
    cr_assert_not_null(rk, "rd_kafka_new: %s", errstr);
    rd_kafka_destroy(rk);
}

Test(kafka_conf, producer_conf_creates_a_producer) {
    /* librdkafka validates the combination (idempotence, acks, in-flight,
     * timeouts) in rd_kafka_new; nothing is contacted until used. */
    struct kafka_settings s = kafka_test_sasl();
    s.bootstrap = "127.0.0.1:1"; /* never a real broker, even with the stack up */
    kafka_test_creates(RD_KAFKA_PRODUCER, kafka_conf_producer(&s, "publisher-0", kafka_test_err,
                                                              sizeof(kafka_test_err)));
}

Test(kafka_conf, consumer_reads_back) {
    struct kafka_settings s = kafka_test_sasl();
    kafka_test_conf = kafka_conf_consumer(&s, "billing", kafka_test_err, sizeof(kafka_test_err));
    cr_assert_not_null(kafka_test_conf, "%s", kafka_test_err);
    kafka_test_expect(kafka_test_conf, "group.id", "billing");
    kafka_test_expect(kafka_test_conf, "isolation.level", "read_committed");
    kafka_test_expect(kafka_test_conf, "enable.auto.commit", "false");
    kafka_test_expect(kafka_test_conf, "enable.auto.offset.store", "false");
    kafka_test_expect(kafka_test_conf, "auto.offset.reset", "smallest"); /* = earliest */
    kafka_test_expect(kafka_test_conf, "partition.assignment.strategy", "cooperative-sticky");
    kafka_test_expect(kafka_test_conf, "enable.partition.eof", "false");
    kafka_test_expect(kafka_test_conf, "statistics.interval.ms", "0");
    kafka_test_expect(kafka_test_conf, "sasl.mechanisms", "SCRAM-SHA-256");
    /* Bounded prefetch instead of librdkafka's 100000 messages / 64 MiB
     * queue / 50 MiB fetches (the consumers' RSS). */
    kafka_test_expect(kafka_test_conf, "queued.min.messages", "10000");
    kafka_test_expect(kafka_test_conf, "queued.max.messages.kbytes", "4096");
    kafka_test_expect(kafka_test_conf, "fetch.max.bytes", "4194304");
    kafka_test_expect(kafka_test_conf, "max.partition.fetch.bytes", "1048576");
}

Test(kafka_conf, consumer_conf_creates_a_consumer) {
    /* librdkafka checks the fetch limits against each other (fetch.max.bytes
     * vs message.max.bytes, receive.message.max.bytes) only in rd_kafka_new. */
    struct kafka_settings s = kafka_test_sasl();
    s.bootstrap = "127.0.0.1:1"; /* never a real broker, even with the stack up */
    kafka_test_creates(RD_KAFKA_CONSUMER,
                       kafka_conf_consumer(&s, "billing", kafka_test_err, sizeof(kafka_test_err)));
}

Test(kafka_conf, consumer_requires_group) {
    struct kafka_settings s = kafka_test_sasl();
    kafka_test_conf = kafka_conf_consumer(&s, "", kafka_test_err, sizeof(kafka_test_err));
    kafka_test_expect_error(kafka_test_conf, "group id");
}
