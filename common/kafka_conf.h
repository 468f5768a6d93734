/* kafka_conf: builds the librdkafka configuration every service shares.
 *
 * One place decides the security settings (protocol, SASL, CA file) and the
 * delivery guarantees: idempotent/transactional producers with acks=all and
 * read_committed consumers that commit offsets themselves. Services add only
 * their callbacks (dr_msg_cb, rebalance_cb, log_cb...) on top.
 *
 * The password is only ever copied into the returned rd_kafka_conf_t; error
 * messages name settings, never their secret values. */
#ifndef COMMON_KAFKA_CONF_H
#define COMMON_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

struct kafka_settings {
    const char *bootstrap;         /* required: "host:port[,host:port...]" */
    const char *security_protocol; /* PLAINTEXT (default when NULL/""), SSL,
                                      SASL_PLAINTEXT or SASL_SSL; any case */
    const char *sasl_mechanism;    /* SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN;
                                      required with SASL_*, ignored otherwise */
    const char *username;          /* required with SASL_*, ignored otherwise */
    const char *password;          /* required with SASL_*, ignored otherwise */
    const char *ca_file;           /* optional PEM CA bundle; used with SSL and
                                      SASL_SSL only, ignored otherwise */
    const char *client_id;         /* optional; librdkafka's default when NULL */
};

/* The KAFKA_* settings every Kafka user reads (KAFKA_BOOTSTRAP, _SECURITY_
 * PROTOCOL, _SASL_MECHANISM, _USERNAME, _PASSWORD[_FILE], _CA_FILE), as six
 * entries of a service's cfg table (cfg.h). `c` points at the service's
 * config struct, whose char * fields bear the same names as those of struct
 * kafka_settings; `principal` names the service's Kafka user in the help. */
// clang-format off
#define KAFKA_CFG_VARS(c, principal)                                                                                    \
    {.name = "KAFKA_BOOTSTRAP", .type = CFG_STRING, .dest = &(c)->bootstrap, .flags = CFG_REQUIRED,                     \
     .help = "Kafka bootstrap servers host:port[,...]"},                                                                \
    {.name = "KAFKA_SECURITY_PROTOCOL", .type = CFG_STRING, .dest = &(c)->security_protocol, .def = "SASL_PLAINTEXT",   \
     .help = "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},                                                             \
    {.name = "KAFKA_SASL_MECHANISM", .type = CFG_STRING, .dest = &(c)->sasl_mechanism, .def = "SCRAM-SHA-256",          \
     .help = "SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN"},                                                                  \
    {.name = "KAFKA_USERNAME", .type = CFG_STRING, .dest = &(c)->username,                                              \
     .help = "SASL user (the " principal " principal)"},                                                                \
    {.name = "KAFKA_PASSWORD", .type = CFG_STRING, .dest = &(c)->password, .flags = CFG_SECRET,                         \
     .help = "SASL password (use KAFKA_PASSWORD_FILE)"},                                                                \
    {.name = "KAFKA_CA_FILE", .type = CFG_STRING, .dest = &(c)->ca_file,                                                \
     .help = "PEM CA bundle for SSL / SASL_SSL"}
// clang-format on

/* The kafka_settings view of a config struct filled by KAFKA_CFG_VARS. */
#define KAFKA_SETTINGS_OF(c, id)                                                                   \
    ((struct kafka_settings){.bootstrap = (c)->bootstrap,                                          \
                             .security_protocol = (c)->security_protocol,                          \
                             .sasl_mechanism = (c)->sasl_mechanism,                                \
                             .username = (c)->username,                                            \
                             .password = (c)->password,                                            \
                             .ca_file = (c)->ca_file,                                              \
                             .client_id = (id)})

/* Common settings: bootstrap.servers, client.id, security.protocol, then
 * sasl.mechanisms/sasl.username/sasl.password for SASL protocols and
 * ssl.ca.location for TLS protocols when ca_file is set.
 * Returns a new conf owned by the caller (rd_kafka_new takes it over, or free
 * it with rd_kafka_conf_destroy), or NULL with a message in `err` when a
 * setting is missing, unknown or refused by librdkafka. */
rd_kafka_conf_t *kafka_conf_base(const struct kafka_settings *s, char *err, size_t errlen);

/* Base settings plus an exactly-once capable producer: enable.idempotence,
 * acks=all, max.in.flight.requests.per.connection=5, linger.ms=1 and
 * delivery.timeout.ms=30000. With a non-NULL, non-empty `transactional_id`
 * also transactional.id and transaction.timeout.ms=60000 (the delivery
 * timeout must not exceed it). Same ownership and failure contract as
 * kafka_conf_base. */
rd_kafka_conf_t *kafka_conf_producer(const struct kafka_settings *s, const char *transactional_id,
                                     char *err, size_t errlen);

/* Prefetch bounds of every consumer (librdkafka's defaults: 100000
 * messages, 65536 KiB, 52428800 and 1048576 bytes). With the high-level
 * consumer the first two apply to its one queue, all partitions together. */
#define KAFKA_CONF_QUEUED_MIN_MESSAGES "10000"
#define KAFKA_CONF_QUEUED_MAX_KBYTES "4096"
#define KAFKA_CONF_FETCH_MAX_BYTES "4194304"
#define KAFKA_CONF_PARTITION_FETCH_MAX_BYTES "1048576"

/* Base settings plus a consumer that sees committed transactions only and
 * stores/commits offsets explicitly: group.id (required), isolation.level=
 * read_committed, enable.auto.commit=false, enable.auto.offset.store=false,
 * auto.offset.reset=earliest, partition.assignment.strategy=
 * cooperative-sticky (so the rebalance callback must use
 * rd_kafka_incremental_assign/unassign), enable.partition.eof=false, and a
 * bounded prefetch (the KAFKA_CONF_* limits above; a service may override
 * them on the result).
 * statistics.interval.ms keeps librdkafka's default (0, off); set it on the
 * result if needed. Same ownership and failure contract as kafka_conf_base. */
rd_kafka_conf_t *kafka_conf_consumer(const struct kafka_settings *s, const char *group_id,
                                     char *err, size_t errlen);

#endif
