/* kafka_conf: builds the librdkafka configuration every service shares. */
#include "kafka_conf.h"
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Canonical spellings; the lookups below accept any case. */
static const char *const kafka_conf_protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT",
                                                   "SASL_SSL"};
static const char *const kafka_conf_mechanisms[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};

/* Returns the canonical entry of `table` equal to `value` ignoring case, or
 * NULL. */
static const char *kafka_conf_lookup(const char *const *table, size_t n, const char *value) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(table[i], value) == 0)
            return table[i];
    return NULL;
}

static int kafka_conf_empty(const char *s) {
    return !s || !*s;
}

/* Sets one property. On failure writes "<key>: <librdkafka reason>" to err
 * and returns -1. For a secret the reason is left out, since librdkafka may
 * quote the value it refused. */
static int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, int secret,
                          char *err, size_t errlen) {
    char reason[512];
    reason[0] = '\0';
    if (rd_kafka_conf_set(conf, key, value, reason, sizeof(reason)) == RD_KAFKA_CONF_OK)
        return 0;
    if (secret)
        errmsg_set(err, errlen, "kafka config: %s was refused", key);
    else
        errmsg_set(err, errlen, "kafka config: %s: %s", key, reason);
    return -1;
}

/* Sets a NULL-terminated list of key/value pairs. 0 or -1 (err filled). */
static int kafka_conf_set_all(rd_kafka_conf_t *conf, const char *const *kv, char *err,
                              size_t errlen) {
    for (size_t i = 0; kv[i]; i += 2)
        if (kafka_conf_set(conf, kv[i], kv[i + 1], 0, err, errlen) != 0)
            return -1;
    return 0;
}

rd_kafka_conf_t *kafka_conf_base(const struct kafka_settings *s, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = NULL;
    const char *protocol = "PLAINTEXT";
    const char *mechanism = NULL;
    int sasl, tls;

    if (kafka_conf_empty(s->bootstrap)) {
        errmsg_set(err, errlen, "kafka config: bootstrap servers are required");
        return NULL;
    }
    if (!kafka_conf_empty(s->security_protocol)) {
        protocol = kafka_conf_lookup(kafka_conf_protocols, 4, s->security_protocol);
        if (!protocol) {
            errmsg_set(err, errlen,
                       "kafka config: unknown security protocol '%.64s' (expected "
                       "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)",
                       s->security_protocol);
            return NULL;
        }
    }
    sasl = strncmp(protocol, "SASL_", 5) == 0;
    tls = strcmp(protocol, "SSL") == 0 || strcmp(protocol, "SASL_SSL") == 0;

    if (sasl) {
        if (kafka_conf_empty(s->sasl_mechanism)) {
            errmsg_set(err, errlen, "kafka config: sasl mechanism is required with %s", protocol);
            return NULL;
        }
        mechanism = kafka_conf_lookup(kafka_conf_mechanisms, 3, s->sasl_mechanism);
        if (!mechanism) {
            errmsg_set(err, errlen,
                       "kafka config: unknown sasl mechanism '%.64s' (expected "
                       "SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN)",
                       s->sasl_mechanism);
            return NULL;
        }
        if (kafka_conf_empty(s->username)) {
            errmsg_set(err, errlen, "kafka config: sasl username is required with %s", protocol);
            return NULL;
        }
        if (kafka_conf_empty(s->password)) {
            errmsg_set(err, errlen, "kafka config: sasl password is required with %s", protocol);
            return NULL;
        }
    }

    conf = rd_kafka_conf_new();
    if (!conf) {
        errmsg_set(err, errlen, "kafka config: out of memory");
        return NULL;
    }
    if (kafka_conf_set(conf, "bootstrap.servers", s->bootstrap, 0, err, errlen) != 0)
        goto fail;
    if (!kafka_conf_empty(s->client_id) &&
        kafka_conf_set(conf, "client.id", s->client_id, 0, err, errlen) != 0)
        goto fail;
    if (kafka_conf_set(conf, "security.protocol", protocol, 0, err, errlen) != 0)
        goto fail;
    if (sasl) {
        if (kafka_conf_set(conf, "sasl.mechanisms", mechanism, 0, err, errlen) != 0 ||
            kafka_conf_set(conf, "sasl.username", s->username, 0, err, errlen) != 0 ||
            kafka_conf_set(conf, "sasl.password", s->password, 1, err, errlen) != 0)
            goto fail;
    }
    if (tls && !kafka_conf_empty(s->ca_file) &&
        kafka_conf_set(conf, "ssl.ca.location", s->ca_file, 0, err, errlen) != 0)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_conf_t *kafka_conf_producer(const struct kafka_settings *s, const char *transactional_id,
                                     char *err, size_t errlen) {
    /* clang-format off */
    static const char *const producer_kv[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "max.in.flight.requests.per.connection", "5",
        "linger.ms", "1",
        "delivery.timeout.ms", "30000",
        NULL,
    };
    /* clang-format on */
    /* clang-format off */
    static const char *const txn_kv[] = {
        "transaction.timeout.ms", "60000",
        NULL,
    };
    /* clang-format on */
    rd_kafka_conf_t *conf = kafka_conf_base(s, err, errlen);
    if (!conf)
        return NULL;
    if (kafka_conf_set_all(conf, producer_kv, err, errlen) != 0)
        goto fail;
    if (!kafka_conf_empty(transactional_id)) {
        if (kafka_conf_set(conf, "transactional.id", transactional_id, 0, err, errlen) != 0 ||
            kafka_conf_set_all(conf, txn_kv, err, errlen) != 0)
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_conf_t *kafka_conf_consumer(const struct kafka_settings *s, const char *group_id,
                                     char *err, size_t errlen) {
    /* clang-format off */
    static const char *const consumer_kv[] = {
        "isolation.level", "read_committed",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        "partition.assignment.strategy", "cooperative-sticky",
        "enable.partition.eof", "false",
        /* Bounded prefetch. librdkafka's defaults (100 000 messages, 64 MiB
         * queued, 50 MiB per fetch response) made a consumer with a backlog
         * grow to 112-122 MiB RSS; these keep it near 32 MiB. Both
         * consumers take at most a few thousand records at a time, and on
         * loopback a fetch round trip is a few ms, so 4 MiB of queued
         * records (about 6 000 orders of 600 bytes) keeps them fed: the
         * billing drain rate did not drop (docs/PROFILE.md; 1 MiB did cut
         * it by half, archive uses 1 MiB). A record larger than the fetch
         * limits is still fetched (KIP-74). */
        "queued.min.messages", KAFKA_CONF_QUEUED_MIN_MESSAGES,
        "queued.max.messages.kbytes", KAFKA_CONF_QUEUED_MAX_KBYTES,
        "fetch.max.bytes", KAFKA_CONF_FETCH_MAX_BYTES,
        "max.partition.fetch.bytes", KAFKA_CONF_PARTITION_FETCH_MAX_BYTES,
        NULL,
    };
    /* clang-format on */
    rd_kafka_conf_t *conf;

    if (kafka_conf_empty(group_id)) {
        errmsg_set(err, errlen, "kafka config: consumer group id is required");
        return NULL;
    }
    conf = kafka_conf_base(s, err, errlen);
    if (!conf)
        return NULL;
    if (kafka_conf_set(conf, "group.id", group_id, 0, err, errlen) != 0 ||
        kafka_conf_set_all(conf, consumer_kv, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}
