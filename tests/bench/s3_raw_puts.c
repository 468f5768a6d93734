/* s3_raw_puts: the archive's ceiling for `make bench` (stage 4): the very
 * objects the archive writes for a topic, PUT straight into the store with
 * the archive's own PUT engine (services/archive/s3put.c: libcurl multi,
 * keep-alive) at the same concurrency, as the same PutObject-only user.
 *
 *   s3_raw_puts TOPIC N [IN_FLIGHT]
 *
 * First (not timed) it reads the N records of TOPIC (a private topic filled
 * by kafka_ceiling; Kafka user as in bench_util) and renders each with the
 * archive's functions (archive_object_key, archive_object_document), under
 * the key prefix "rawbench/<TOPIC>/" so the archive's own objects are not
 * overwritten. Then it times the PUTs only. IN_FLIGHT defaults to 64, the
 * archive's ARCHIVE_MAX_IN_FLIGHT default. Prints "raw_puts
 * objects_per_s <x> seconds <y>"; exits 1 when a record is missing or a PUT
 * fails, 2 on a usage or set-up error. */
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/archive/object.h"
#include "../../services/archive/s3put.h"
#include "kafka_conf.h"
#include "lib/bench_util.h"
#include "order_event.h"
#include "strbuf.h"

#define RP_TOOL "s3_raw_puts"
#define RP_KEY_MAX (ARCHIVE_KEY_MAX + 256)
#define RP_READ_TIMEOUT_S 120.0

struct rp_object {
    char key[RP_KEY_MAX];
    char *doc;
    size_t len;
};

/* Reads n records of `topic` and renders them into objs[0..n). Returns how
 * many were rendered (n on success). */
static size_t rp_read(const char *topic, struct rp_object *objs, size_t n) {
    char err[512], group[300];
    struct kafka_settings ks;
    bench_kafka_settings(RP_TOOL, "bench-s3-raw-puts", &ks);
    snprintf(group, sizeof group, "%s.rawputs", topic);
    rd_kafka_conf_t *conf = kafka_conf_consumer(&ks, group, err, sizeof err);
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err) : NULL;
    if (!rk) {
        fprintf(stderr, "%s: %s\n", RP_TOOL, err);
        if (conf)
            rd_kafka_conf_destroy(conf);
        return 0;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    size_t got = 0;
    struct strbuf doc;
    strbuf_init(&doc, 1 << 20);
    double deadline = bench_mono() + RP_READ_TIMEOUT_S;
    while (!e && got < n && bench_mono() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "%s: consume: %s\n", RP_TOOL, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        struct order_event ev;
        char why[256];
        struct rp_object *o = &objs[got];
        int ok = order_event_decode(m, &ev, why, sizeof why) == ORDER_EVENT_OK;
        rd_kafka_message_destroy(m);
        if (!ok) {
            fprintf(stderr, "%s: undecodable record: %s\n", RP_TOOL, why);
            break;
        }
        strbuf_reset(&doc);
        int klen = snprintf(o->key, sizeof o->key, "rawbench/%s/", topic);
        ok = klen > 0 && (size_t)klen < sizeof o->key &&
             archive_object_key(ev.time_unix_ms, ev.client_id, ev.order.order_id, o->key + klen,
                                sizeof o->key - (size_t)klen) >= 0 &&
             archive_object_document(&ev, &doc) == 0 && (o->doc = malloc(doc.len + 1)) != NULL;
        order_event_release(&ev);
        if (!ok) {
            fprintf(stderr, "%s: cannot render record %zu\n", RP_TOOL, got);
            break;
        }
        memcpy(o->doc, doc.data, doc.len + 1);
        o->len = doc.len;
        got++;
    }
    strbuf_release(&doc);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

/* PUTs every object with in_flight transfers at once; returns the seconds
 * taken, or -1 after the first failure (reported on stderr). */
static double rp_put_all(struct rp_object *objs, size_t n, long in_flight) {
    char err[256];
    const struct archive_s3put_settings s = {
        .endpoint = bench_env(RP_TOOL, "S3_ENDPOINT"),
        .region = bench_env(RP_TOOL, "S3_REGION"),
        .bucket = bench_env(RP_TOOL, "S3_BUCKET"),
        .access_key = bench_env(RP_TOOL, "S3_ARCHIVE_ACCESS_KEY"),
        .secret_key = bench_env(RP_TOOL, "S3_ARCHIVE_SECRET_KEY"),
        .timeout_ms = 10000,
        .max_connections = in_flight};
    struct archive_s3put *p = archive_s3put_create(&s, err, sizeof err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", RP_TOOL, err);
        return -1;
    }
    size_t next = 0, done = 0;
    double t0 = bench_mono(), secs = -1;
    while (done < n) {
        struct s3_result res;
        while (next < n && archive_s3put_in_flight(p) < (size_t)in_flight) {
            if (archive_s3put_start(p, objs[next].key, objs[next].doc, objs[next].len, &objs[next],
                                    &res) != 0) {
                fprintf(stderr, "%s: cannot start PUT: %s\n", RP_TOOL, res.message);
                goto out;
            }
            next++;
        }
        if (archive_s3put_wait(p, NULL, 0, 100) != 0) {
            fprintf(stderr, "%s: libcurl multi failed\n", RP_TOOL);
            goto out;
        }
        void *tag;
        double one;
        while (archive_s3put_next_done(p, &tag, &res, &one) == 1) {
            if (res.http_status != 200) {
                fprintf(stderr, "%s: PUT %s: HTTP %ld %s\n", RP_TOOL,
                        ((struct rp_object *)tag)->key, res.http_status, res.message);
                goto out;
            }
            done++;
        }
    }
    secs = bench_mono() - t0;
out:
    archive_s3put_destroy(p);
    return secs;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: s3_raw_puts TOPIC N [IN_FLIGHT]\n");
        return 2;
    }
    const char *topic = argv[1];
    size_t n = strtoul(argv[2], NULL, 10);
    long in_flight = argc > 3 ? strtol(argv[3], NULL, 10) : 64;
    struct rp_object *objs = calloc(n ? n : 1, sizeof *objs);
    if (n == 0 || in_flight <= 0 || !objs || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: N and IN_FLIGHT must be positive (or out of memory)\n", RP_TOOL);
        return 2;
    }
    size_t got = rp_read(topic, objs, n);
    double secs = got == n ? rp_put_all(objs, n, in_flight) : -1;
    for (size_t i = 0; i < got; i++)
        free(objs[i].doc);
    free(objs);
    curl_global_cleanup();
    if (got != n) {
        fprintf(stderr, "%s: read %zu of %zu records of %s\n", RP_TOOL, got, n, topic);
        return 1;
    }
    if (secs <= 0)
        return 1;
    printf("raw_puts objects_per_s %.1f seconds %.3f\n", (double)n / secs, secs);
    return 0;
}
