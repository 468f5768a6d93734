/* kafka_ceiling: the Kafka stage's physical ceiling for `make bench`.
 *
 * Produces N orders, each as the publisher writes it (CloudEvents binary
 * mode: same key, value and headers) to every subscription topic, with the
 * same producer settings (kafka_conf_producer: idempotent, acks=all), but
 * with no transactions and no HTTP in front: as fast as librdkafka can go.
 * Prints one line "records_per_s <x> orders_per_s <y>" for scripts/bench.sh,
 * which also uses it to fill the private topics the sink stage drains.
 *
 *   kafka_ceiling N [TOPIC...]
 *
 * TOPICs default to KAFKA_TOPIC_BILLING and KAFKA_TOPIC_ARCHIVE; `make
 * bench` passes private topics, so the running consumers never see these
 * records. The Kafka user is BENCH_KAFKA_USER (default: the admin user of
 * scripts/local.env: only it may write topics outside the service ACLs);
 * the orders' client id is BENCH_CLIENT_ID (default "bench-client"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "../../services/ordersctl/gen.h"
#include "../../services/publisher/cloudevents.h"
#include "lib/bench_util.h"
#include "crypto.h"
#include "kafka_conf.h"
#include "strbuf.h"

#define KC_TOPICS_MAX 8

static int kc_failed;

static void kc_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err && !kc_failed++)
        fprintf(stderr, "kafka_ceiling: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

int main(int argc, char **argv) {
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    const char *topics[KC_TOPICS_MAX];
    int ntopics = 0;
    for (int a = 2; a < argc && ntopics < KC_TOPICS_MAX; a++)
        topics[ntopics++] = argv[a];
    if (ntopics == 0) {
        topics[ntopics++] = bench_env("kafka_ceiling", "KAFKA_TOPIC_BILLING");
        topics[ntopics++] = bench_env("kafka_ceiling", "KAFKA_TOPIC_ARCHIVE");
    }
    const char *client = bench_env_or("BENCH_CLIENT_ID", "bench-client");
    struct kafka_settings ks;
    bench_kafka_settings("kafka_ceiling", "bench-kafka-ceiling", &ks);
    char err[512], run[ORDERSCTL_RUN_ID_MAX];
    struct ordersctl_rng rng;
    if (n == 0 || ordersctl_rng_seed(&rng) != 0 || ordersctl_gen_run_id(run) != 0) {
        fprintf(stderr, "usage: kafka_ceiling [N>0] (or: random generator failed)\n");
        return 2;
    }
    rd_kafka_conf_t *conf = kafka_conf_producer(&ks, NULL, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "kafka_ceiling: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, kc_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_ceiling: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    struct strbuf body;
    strbuf_init(&body, 4096);
    double t0 = bench_mono();
    for (unsigned long i = 0; i < n && !kc_failed; i++) {
        char order_id[80], key[PUBLISHER_CE_KEY_MAX + 1], event_id[37];
        char ce_time[PUBLISHER_CE_TIME_LEN + 1], tp[PUBLISHER_TRACEPARENT_LEN + 1];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        strbuf_reset(&body);
        if (ordersctl_gen_order_id(order_id, sizeof order_id, run, i + 1) < 0 ||
            ordersctl_gen_order(&body, order_id, &rng) != 0 || crypto_uuid_v4(event_id) != 0 ||
            publisher_ce_format_time(&ts, ce_time) != 0 || publisher_ce_traceparent_new(tp) != 0 ||
            publisher_ce_key(client, order_id, key, sizeof key) < 0) {
            fprintf(stderr, "kafka_ceiling: cannot build order %lu\n", i + 1);
            kc_failed = 1;
            break;
        }
        struct publisher_ce_event ev = {.event_id = event_id,
                                        .client_id = client,
                                        .order_id = order_id,
                                        .ce_time = ce_time,
                                        .traceparent = tp};
        for (int t = 0; t < ntopics; t++) {
            rd_kafka_headers_t *h = publisher_ce_headers(&ev);
            rd_kafka_resp_err_t e;
            if (!h) {
                kc_failed = 1;
                break;
            }
            for (;;) {
                e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topics[t]), RD_KAFKA_V_KEY(key, strlen(key)),
                    RD_KAFKA_V_VALUE(body.data, body.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    break;
                rd_kafka_poll(rk, 10); /* local queue full: let deliveries drain */
            }
            if (e) {
                rd_kafka_headers_destroy(h);
                fprintf(stderr, "kafka_ceiling: produce: %s\n", rd_kafka_err2str(e));
                kc_failed = 1;
                break;
            }
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR && !kc_failed++)
        fprintf(stderr, "kafka_ceiling: flush timed out\n");
    double secs = bench_mono() - t0;
    rd_kafka_destroy(rk);
    strbuf_release(&body);
    if (kc_failed)
        return 1;
    printf("records_per_s %.1f orders_per_s %.1f\n", (double)ntopics * (double)n / secs,
           (double)n / secs);
    return 0;
}
