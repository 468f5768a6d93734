/* itest_kafka: local Kafka users for the suites. */
#include "itest_kafka.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

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

#define ITEST_KAFKA_ADMIN_MS 30000

static rd_kafka_t *itest_kafka_admin(void) {
    char err[512];
    struct kafka_settings s = itest_kafka_settings("ADMIN", "itest-admin");
    rd_kafka_conf_t *conf = kafka_conf_base(&s, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    cr_assert_eq(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    return rk;
}

/* Runs one admin request queued on q and returns its result event (never
 * NULL: a missing answer fails the test). */
static rd_kafka_event_t *itest_kafka_admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t want) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ITEST_KAFKA_ADMIN_MS + 5000);
    cr_assert_not_null(ev, "no answer from the broker");
    cr_assert_eq(rd_kafka_event_type(ev), want);
    cr_assert_eq(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
                 rd_kafka_event_error_string(ev));
    return ev;
}

/* One topic result's error of a create or delete. */
static rd_kafka_resp_err_t itest_kafka_topic_op(rd_kafka_t *rk, int create, const char *topic,
                                                int partitions) {
    char err[256];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    cr_assert_eq(
        rd_kafka_AdminOptions_set_operation_timeout(opt, ITEST_KAFKA_ADMIN_MS, err, sizeof err),
        RD_KAFKA_RESP_ERR_NO_ERROR, "%s", err);
    const rd_kafka_topic_result_t **res;
    size_t n = 0;
    rd_kafka_event_t *ev;
    if (create) {
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
        cr_assert_not_null(nt, "%s", err);
        rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
        ev = itest_kafka_admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_NewTopic_destroy(nt);
    } else {
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
        rd_kafka_DeleteTopics(rk, &dt, 1, opt, q);
        ev = itest_kafka_admin_wait(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rd_kafka_DeleteTopic_destroy(dt);
    }
    cr_assert_eq(n, 1);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[0]);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    return e;
}

void itest_kafka_recreate_topic(const char *topic, int partitions) {
    rd_kafka_t *rk = itest_kafka_admin();
    rd_kafka_resp_err_t e = itest_kafka_topic_op(rk, 0, topic, 0);
    cr_assert(e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
              "delete %s: %s", topic, rd_kafka_err2str(e));
    /* The deletion completes asynchronously: "already exists" until then. */
    for (int tries = 0; tries < 300; tries++) {
        e = itest_kafka_topic_op(rk, 1, topic, partitions);
        if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            break;
        usleep(100 * 1000);
    }
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "create %s: %s", topic, rd_kafka_err2str(e));
    /* Wait until the new partitions have leaders (watermarks answer). */
    int64_t lo = -1, hi = -1;
    for (int tries = 0; tries < 300; tries++) {
        if (rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 1000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        usleep(100 * 1000);
    }
    cr_assert_eq(hi, 0, "recreated %s is not empty (%lld)", topic, (long long)hi);
    rd_kafka_destroy(rk);
}

void itest_kafka_delete_records(const char *topic, int32_t partition, int64_t before) {
    char err[256];
    rd_kafka_t *rk = itest_kafka_admin();
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    cr_assert_eq(
        rd_kafka_AdminOptions_set_operation_timeout(opt, ITEST_KAFKA_ADMIN_MS, err, sizeof err),
        RD_KAFKA_RESP_ERR_NO_ERROR, "%s", err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = before;
    rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(l);
    rd_kafka_DeleteRecords(rk, &dr, 1, opt, q);
    rd_kafka_event_t *ev = itest_kafka_admin_wait(q, RD_KAFKA_EVENT_DELETERECORDS_RESULT);
    const rd_kafka_topic_partition_list_t *res =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    cr_assert_eq(res->cnt, 1);
    cr_assert_eq(res->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR, "delete records: %s",
                 rd_kafka_err2str(res->elems[0].err));
    rd_kafka_event_destroy(ev);
    rd_kafka_DeleteRecords_destroy(dr);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

void itest_kafka_watermarks(const char *topic, int32_t partition, int64_t *low, int64_t *high) {
    rd_kafka_t *rk = itest_kafka_admin();
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, topic, partition, low, high, ITEST_KAFKA_ADMIN_MS);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "watermarks of %s [%d]: %s", topic, (int)partition,
                 rd_kafka_err2str(e));
    rd_kafka_destroy(rk);
}
