/* kafka_topics: creates or deletes the private topics of a `make bench` run
 * with librdkafka's admin API (a JVM start per call would cost seconds of
 * the QUICK run's budget on two shared cores).
 *
 *   kafka_topics create PARTITIONS TOPIC...
 *   kafka_topics delete TOPIC...
 *
 * Kafka user as in bench_util (the admin user by default: the service users
 * may not create topics). Replication factor 1 (single broker). A topic
 * that already exists (create) or is already gone (delete) is not an error.
 * Exit 0 on success, 1 when the broker refused, 2 on usage. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_conf.h"
#include "lib/bench_util.h"

#define KT_TOOL "kafka_topics"
#define KT_TIMEOUT_MS 30000
#define KT_MAX 16

/* Waits for the admin result event of type `want` and checks each topic's
 * result; returns 0 when all succeeded (or hit the tolerated error). */
static int kt_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t want, rd_kafka_resp_err_t ok_err) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KT_TIMEOUT_MS + 5000);
    int rc = 1;
    if (!ev) {
        fprintf(stderr, "%s: no answer from the broker\n", KT_TOOL);
        return 1;
    }
    if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
        fprintf(stderr, "%s: %s\n", KT_TOOL, rd_kafka_event_error_string(ev));
        goto out;
    }
    const rd_kafka_topic_result_t **res;
    size_t n;
    if (want == RD_KAFKA_EVENT_CREATETOPICS_RESULT)
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    else
        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != ok_err) {
            fprintf(stderr, "%s: %s: %s\n", KT_TOOL, rd_kafka_topic_result_name(res[i]),
                    rd_kafka_topic_result_error_string(res[i]));
            rc = 1;
        }
    }
out:
    rd_kafka_event_destroy(ev);
    return rc;
}

int main(int argc, char **argv) {
    int create = argc > 3 && !strcmp(argv[1], "create");
    int del = argc > 2 && !strcmp(argv[1], "delete");
    int first = create ? 3 : 2, ntopics = argc - first;
    int parts = create ? atoi(argv[2]) : 0;
    if ((!create && !del) || ntopics > KT_MAX || (create && parts <= 0)) {
        fprintf(stderr, "usage: kafka_topics create PARTITIONS TOPIC... | delete TOPIC...\n");
        return 2;
    }
    char err[512];
    struct kafka_settings ks;
    bench_kafka_settings(KT_TOOL, "bench-kafka-topics", &ks);
    rd_kafka_conf_t *conf = kafka_conf_base(&ks, err, sizeof err);
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err) : NULL;
    if (!rk) {
        fprintf(stderr, "%s: %s\n", KT_TOOL, err);
        if (conf)
            rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_operation_timeout(opt, KT_TIMEOUT_MS, err, sizeof err);
    int rc = 1;
    if (create) {
        rd_kafka_NewTopic_t *nt[KT_MAX];
        int made = 0;
        for (; made < ntopics; made++)
            if (!(nt[made] =
                      rd_kafka_NewTopic_new(argv[first + made], parts, 1, err, sizeof err))) {
                fprintf(stderr, "%s: %s: %s\n", KT_TOOL, argv[first + made], err);
                break;
            }
        if (made == ntopics) {
            rd_kafka_CreateTopics(rk, nt, (size_t)ntopics, opt, q);
            rc = kt_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                         RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
        }
        rd_kafka_NewTopic_destroy_array(nt, (size_t)made);
    } else {
        rd_kafka_DeleteTopic_t *dt[KT_MAX];
        for (int i = 0; i < ntopics; i++)
            dt[i] = rd_kafka_DeleteTopic_new(argv[first + i]);
        rd_kafka_DeleteTopics(rk, dt, (size_t)ntopics, opt, q);
        rc =
            kt_wait(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        rd_kafka_DeleteTopic_destroy_array(dt, (size_t)ntopics);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}
