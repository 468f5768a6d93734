/* Least privilege in Kafka: each SCRAM user may do exactly what DESIGN.md
 * grants it. Runs against the real local broker (KRaft, StandardAuthorizer).
 * Every denial is paired with a grant of the same shape, so a broken broker
 * or a wrong password cannot make a test pass by accident. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../support/itest_env.h"
#include "../support/itest_kafka.h"
#include "kafka_conf.h"

#define KACL_TIMEOUT_MS 20000

/* The first error librdkafka reported through the error callback. */
struct kacl_errors {
    rd_kafka_resp_err_t first;
};

static void kacl_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    (void)reason;
    struct kacl_errors *e = opaque;
    if (e && e->first == RD_KAFKA_RESP_ERR_NO_ERROR)
        e->first = (rd_kafka_resp_err_t)err;
}

static void kacl_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    *(rd_kafka_resp_err_t *)m->_private = m->err;
}

static struct kafka_settings kacl_settings(const char *who) {
    return itest_kafka_settings(who, "itest-acl");
}

/* Produces one record as user `who` to `topic`; returns the delivery result. */
static rd_kafka_resp_err_t kacl_produce(const char *who, const char *topic) {
    struct kafka_settings s = kacl_settings(who);
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, kacl_dr_cb);
    cr_assert_eq(rd_kafka_conf_set(conf, "message.timeout.ms", "15000", err, sizeof err),
                 RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("itest/acl", 9),
                          RD_KAFKA_V_VALUE("{}", 2), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "producev: %s", rd_kafka_err2str(e));
    rd_kafka_flush(rk, KACL_TIMEOUT_MS);
    rd_kafka_destroy(rk);
    return result;
}

/* Subscribes as `who` in `group` to `topic` and polls until the first error
 * or assignment; returns NO_ERROR once partitions were assigned. */
/* fetch.wait.max.ms is 500 ms: a refused fetch is reported well within it */
#define KACL_FETCH_GRACE_MS 3000

static rd_kafka_resp_err_t kacl_consume(const char *who, const char *group, const char *topic) {
    struct kafka_settings s = kacl_settings(who);
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_consumer(&s, group, err, sizeof err);
    cr_assert(conf, "%s", err);
    /* Should a member of ours ever miss its LeaveGroup, the broker forgets it
     * after 6 s (its minimum) instead of 45 s, and the next run's join is not
     * held up waiting for it. */
    cr_assert_eq(rd_kafka_conf_set(conf, "session.timeout.ms", "6000", err, sizeof err),
                 RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);

    /* An assignment alone proves little: a user with only WRITE (hence
     * DESCRIBE) on a topic is still assigned its partitions, and only the
     * fetches are refused. So, once assigned, keep polling long enough for
     * a fetch to be answered before calling it a grant. */
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__TIMED_OUT;
    int assigned_for = -1;
    for (int waited = 0; waited < KACL_TIMEOUT_MS && assigned_for < KACL_FETCH_GRACE_MS;
         waited += 200) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m) {
            rd_kafka_resp_err_t merr = m->err;
            rd_kafka_message_destroy(m);
            if (merr != RD_KAFKA_RESP_ERR_NO_ERROR && merr != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                result = merr;
                break;
            }
        }
        if (assigned_for >= 0) {
            assigned_for += 200;
            continue;
        }
        rd_kafka_topic_partition_list_t *assigned = NULL;
        if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            int n = assigned->cnt;
            rd_kafka_topic_partition_list_destroy(assigned);
            if (n > 0) {
                result = RD_KAFKA_RESP_ERR_NO_ERROR;
                assigned_for = 0;
            }
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return result;
}

/* Initialises transactions as the publisher with `txn_id`. */
static rd_kafka_resp_err_t kacl_init_transactions(const char *txn_id) {
    struct kafka_settings s = kacl_settings("PUBLISHER");
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, txn_id, err, sizeof err);
    cr_assert(conf, "%s", err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    rd_kafka_error_t *error = rd_kafka_init_transactions(rk, KACL_TIMEOUT_MS);
    rd_kafka_resp_err_t code = error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (error)
        rd_kafka_error_destroy(error);
    rd_kafka_destroy(rk);
    return code;
}

static const char *kacl_topic(const char *var, const char *suffix) {
    static char buf[4][128];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s%s", itest_env(var), suffix);
    return out;
}

#define cr_assert_kafka(got, want)                                                                 \
    cr_assert_eq((got), (want), "got %s (%s), want %s", rd_kafka_err2name(got),                    \
                 rd_kafka_err2str(got), rd_kafka_err2name(want))

Test(kafka_acl, publisher_writes_every_subscription_topic, .timeout = 60) {
    cr_assert_kafka(kacl_produce("PUBLISHER", kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_kafka(kacl_produce("PUBLISHER", kacl_topic("KAFKA_TOPIC_ARCHIVE", "")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
}

Test(kafka_acl, publisher_cannot_write_dead_letters, .timeout = 60) {
    cr_assert_kafka(kacl_produce("PUBLISHER", kacl_topic("KAFKA_TOPIC_BILLING", ".dlq")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, billing_writes_only_its_dead_letters, .timeout = 90) {
    cr_assert_kafka(kacl_produce("BILLING", kacl_topic("KAFKA_TOPIC_BILLING", ".dlq")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_kafka(kacl_produce("BILLING", kacl_topic("KAFKA_TOPIC_ARCHIVE", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    cr_assert_kafka(kacl_produce("BILLING", kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    cr_assert_kafka(kacl_produce("BILLING", kacl_topic("KAFKA_TOPIC_ARCHIVE", ".dlq")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, archive_writes_only_its_dead_letters, .timeout = 90) {
    cr_assert_kafka(kacl_produce("ARCHIVE", kacl_topic("KAFKA_TOPIC_ARCHIVE", ".dlq")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_kafka(kacl_produce("ARCHIVE", kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    cr_assert_kafka(kacl_produce("ARCHIVE", kacl_topic("KAFKA_TOPIC_ARCHIVE", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, billing_reads_its_topic_in_its_group, .timeout = 60) {
    cr_assert_kafka(kacl_consume("BILLING", itest_env("KAFKA_GROUP_BILLING"),
                                 kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
}

Test(kafka_acl, archive_cannot_read_billing_topic, .timeout = 60) {
    cr_assert_kafka(kacl_consume("ARCHIVE", itest_env("KAFKA_GROUP_ARCHIVE"),
                                 kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, billing_cannot_use_another_group, .timeout = 60) {
    cr_assert_kafka(kacl_consume("BILLING", itest_env("KAFKA_GROUP_ARCHIVE"),
                                 kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
}

/* ordersctl dlq runs as the publisher: it may read the dead-letter topics
 * in groups prefixed ordersctl-dlq-, and nothing more. */
Test(kafka_acl, publisher_reads_dead_letters_in_ordersctl_dlq_groups, .timeout = 90) {
    char group[96];
    itest_unique("ordersctl-dlq-itest", group, sizeof group);
    cr_assert_kafka(kacl_consume("PUBLISHER", group, kacl_topic("KAFKA_TOPIC_BILLING", ".dlq")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_kafka(kacl_consume("PUBLISHER", group, kacl_topic("KAFKA_TOPIC_ARCHIVE", ".dlq")),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
}

Test(kafka_acl, publisher_cannot_read_dead_letters_in_other_groups, .timeout = 60) {
    cr_assert_kafka(kacl_consume("PUBLISHER", itest_env("KAFKA_GROUP_BILLING"),
                                 kacl_topic("KAFKA_TOPIC_BILLING", ".dlq")),
                    RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
}

Test(kafka_acl, publisher_cannot_read_subscription_topics, .timeout = 60) {
    char group[96];
    itest_unique("ordersctl-dlq-itest", group, sizeof group);
    cr_assert_kafka(kacl_consume("PUBLISHER", group, kacl_topic("KAFKA_TOPIC_BILLING", "")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, billing_cannot_read_its_dead_letters, .timeout = 60) {
    /* Reading dead letters back is the operator's tool's job, not billing's. */
    cr_assert_kafka(kacl_consume("BILLING", itest_env("KAFKA_GROUP_BILLING"),
                                 kacl_topic("KAFKA_TOPIC_BILLING", ".dlq")),
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

Test(kafka_acl, publisher_transactional_ids_are_prefixed, .timeout = 60) {
    char ok_id[128];
    snprintf(ok_id, sizeof ok_id, "%sitest", itest_env("KAFKA_TRANSACTIONAL_ID_PREFIX"));
    cr_assert_kafka(kacl_init_transactions(ok_id), RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_kafka(kacl_init_transactions("someone-else-itest"),
                    RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

Test(kafka_acl, wrong_password_is_refused, .timeout = 60) {
    struct kafka_settings s = kacl_settings("PUBLISHER");
    s.password = "not-the-password";
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_producer(&s, NULL, err, sizeof err);
    cr_assert(conf, "%s", err);
    struct kacl_errors errors = {RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_conf_set_error_cb(conf, kacl_error_cb);
    rd_kafka_conf_set_opaque(conf, &errors);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert(rk, "%s", err);
    for (int waited = 0; waited < KACL_TIMEOUT_MS && errors.first == RD_KAFKA_RESP_ERR_NO_ERROR;
         waited += 100)
        rd_kafka_poll(rk, 100);
    rd_kafka_destroy(rk);
    cr_assert_kafka(errors.first, RD_KAFKA_RESP_ERR__AUTHENTICATION);
}
