/* consumer: Kafka side of the archive (group membership, rebalances, the
 * poll loop and the shutdown drain); work.c does the records. */
#include "consumer.h"

#include "dlq.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "rewind.h"
#include "s3.h"
#include "sig.h"
#include "stats.h"
#include "strbuf.h"
#include "work.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARCHIVE_LOOP_WAIT_MS 200 /* longest idle wait; signals and records wake it earlier */
#define ARCHIVE_CLOSE_TIMEOUT_MS 10000
#define ARCHIVE_PROBE_MS 2000         /* idle: longest time without a word from the store */
#define ARCHIVE_PROBE_TIMEOUT_MS 2000 /* one probe (blocks the idle loop at most this long) */

struct archive_consumer {
    const struct archive_config *conf;
    struct archive_stats *stats;
    rd_kafka_t *rk;
    rd_kafka_t *producer;
    rd_kafka_queue_t *queue; /* the consumer queue, with an io event fd */
    int wake[2];             /* readable when the queue becomes non-empty */
    struct archive_work work;
    int work_ready;
    int closed; /* rd_kafka_consumer_close done */
    atomic_int joined;
    struct s3_client *probe; /* HEAD bucket while idle */
    int64_t contact_ms;      /* last PUT stored or probe answered */
    double stored_seen;      /* records_total{stored} at the last look */
    atomic_int store_down;   /* the last probe found the store unreachable */
};

/* ---- librdkafka callbacks (all run on the loop's thread, from poll) ------ */

static void archive_consumer_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                                    const char *buf) {
    (void)rk;
    if (level <= 3)
        LOG_ERROR("kafka %s: %s", fac, buf);
    else if (level <= 5)
        LOG_WARN("kafka %s: %s", fac, buf);
    else
        LOG_DEBUG("kafka %s: %s", fac, buf);
}

static void archive_consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    (void)opaque;
    /* librdkafka retries by itself; a broker outage is not fatal */
    LOG_WARN("kafka error %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int archive_consumer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    struct archive_consumer *c = opaque;
    (void)rk;
    (void)consumer_stats_lag(&c->stats->c, json, len);
    return 0; /* librdkafka frees json */
}

static void archive_consumer_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                       rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    struct archive_consumer *c = opaque;
    const char *v[] = {err ? "error" : "ok"};
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    metrics_counter_inc(c->stats->commits, v);
    if (!err || !offsets || !c->work_ready)
        return;
    LOG_WARN("async offset commit failed: %s; will commit again", rd_kafka_err2str(err));
    for (int i = 0; i < offsets->cnt; i++)
        archive_tracker_committed(c->work.tracker, offsets->elems[i].partition, -1);
}

/* Cooperative-sticky: only the partitions that move are passed. */
static void archive_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                          rd_kafka_topic_partition_list_t *parts, void *opaque) {
    struct archive_consumer *c = opaque;
    rd_kafka_error_t *e = NULL;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            if (!archive_work_part_add(&c->work, parts->elems[i].partition) ||
                consumer_stats_assigned(&c->stats->c, parts->elems[i].partition) != 0)
                LOG_ERROR("out of memory adding partition %" PRId32, parts->elems[i].partition);
        /* is each committed position still one of this log? (anchor.h) */
        archive_rewind_assign(&c->work, parts);
        e = rd_kafka_incremental_assign(rk, parts);
        LOG_INFO("assigned %d partition(s), %zu in total", parts->cnt, c->work.nparts);
        atomic_store(&c->joined, 1);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* commit what is stored, abandon the rest: the next owner starts
         * at the commit and overwrites with identical bytes */
        if (!rd_kafka_assignment_lost(rk))
            archive_work_commit(&c->work, 1);
        for (int i = 0; i < parts->cnt; i++) {
            archive_work_part_remove(&c->work, parts->elems[i].partition);
            consumer_stats_revoked(&c->stats->c, parts->elems[i].partition);
        }
        e = rd_kafka_incremental_unassign(rk, parts);
        LOG_INFO("revoked %d partition(s), %zu left", parts->cnt, c->work.nparts);
    } else {
        LOG_ERROR("rebalance failed: %s", rd_kafka_err2str(err));
        for (int i = 0; i < parts->cnt; i++)
            consumer_stats_revoked(&c->stats->c, parts->elems[i].partition);
        e = rd_kafka_incremental_unassign(rk, parts);
    }
    if (e) {
        LOG_ERROR("incremental (un)assign: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* ---- create / destroy ------------------------------------------------------ */

static rd_kafka_t *archive_consumer_new_consumer(struct archive_consumer *c,
                                                 const struct kafka_settings *ks, char *err,
                                                 size_t errlen) {
    char interval[32];
    rd_kafka_conf_t *kc = kafka_conf_consumer(ks, c->conf->group, err, errlen);
    rd_kafka_t *rk;
    if (!kc)
        return NULL;
    /* never move a position silently: a refused one reaches the poll loop
     * as an error and restarts the partition at its log start (rewind.h) */
    if (rd_kafka_conf_set(kc, "auto.offset.reset", "error", err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    char session[32];
    snprintf(interval, sizeof interval, "%lld", c->conf->stats_interval_ms);
    snprintf(session, sizeof session, "%lld", c->conf->session_timeout_ms);
    if (rd_kafka_conf_set(kc, "statistics.interval.ms", interval, err, errlen) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(kc, "session.timeout.ms", session, err, errlen) != RD_KAFKA_CONF_OK ||
        (c->conf->mode == ARCHIVE_MODE_OBJECT &&
         /* Object mode: a quarter of the shared prefetch. It drains at the
          * store's pace (~2 500 PUTs/s), which 1 MiB fetches keep fed, and
          * its peak RSS with a backlog falls from 33-34 to 22-23 MiB. Batch
          * mode (~10 000 records/s, Kafka-bound) and billing keep 4 MiB:
          * with 1 MiB they drained 2.5 times slower (docs/PROFILE.md). */
         (rd_kafka_conf_set(kc, "queued.max.messages.kbytes", "1024", err, errlen) !=
              RD_KAFKA_CONF_OK ||
          rd_kafka_conf_set(kc, "fetch.max.bytes", "1048576", err, errlen) != RD_KAFKA_CONF_OK))) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_conf_set_opaque(kc, c);
    rd_kafka_conf_set_log_cb(kc, archive_consumer_log_cb);
    rd_kafka_conf_set_error_cb(kc, archive_consumer_error_cb);
    rd_kafka_conf_set_stats_cb(kc, archive_consumer_stats_cb);
    rd_kafka_conf_set_offset_commit_cb(kc, archive_consumer_commit_cb);
    rd_kafka_conf_set_rebalance_cb(kc, archive_consumer_rebalance_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, errlen);
    if (!rk)
        rd_kafka_conf_destroy(kc);
    /* on success rd_kafka_new took the conf over */
    return rk;
}

static rd_kafka_t *archive_consumer_new_producer(const struct kafka_settings *ks, char *err,
                                                 size_t errlen) {
    rd_kafka_conf_t *pc = kafka_conf_producer(ks, NULL, err, errlen);
    rd_kafka_t *rk;
    if (!pc)
        return NULL;
    rd_kafka_conf_set_log_cb(pc, archive_consumer_log_cb);
    rd_kafka_conf_set_dr_msg_cb(pc, dlq_dr_msg_cb); /* dlq_publish waits on it */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, errlen);
    if (!rk)
        rd_kafka_conf_destroy(pc);
    return rk;
}

struct archive_consumer *archive_consumer_create(const struct archive_config *conf,
                                                 struct archive_stats *stats, char *err,
                                                 size_t errlen) {
    struct archive_consumer *c = calloc(1, sizeof *c);
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_resp_err_t kerr;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->conf = conf;
    c->stats = stats;
    c->wake[0] = c->wake[1] = -1;
    atomic_init(&c->joined, 0);
    atomic_init(&c->store_down, 0);
    if (archive_work_init(&c->work, conf, stats) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->work_ready = 1;
    const struct archive_s3put_settings ss = {
        .endpoint = conf->s3_endpoint,
        .region = conf->s3_region,
        .bucket = conf->s3_bucket,
        .access_key = conf->s3_access_key,
        .secret_key = conf->s3_secret_key,
        .ca_file = conf->s3_ca_file,
        .timeout_ms = (long)conf->s3_timeout_ms,
        .max_connections = (long)conf->max_in_flight,
    };
    c->work.s3 = archive_s3put_create(&ss, err, errlen);
    if (!c->work.s3)
        goto fail;
    const struct s3_settings ps = {
        .endpoint = conf->s3_endpoint,
        .region = conf->s3_region,
        .access_key = conf->s3_access_key,
        .secret_key = conf->s3_secret_key,
        .ca_file = conf->s3_ca_file,
        .timeout_ms = conf->s3_timeout_ms < ARCHIVE_PROBE_TIMEOUT_MS ? (long)conf->s3_timeout_ms
                                                                     : ARCHIVE_PROBE_TIMEOUT_MS,
    };
    c->probe = s3_client_create(&ps, err, errlen);
    if (!c->probe)
        goto fail;
    const struct kafka_settings ks = KAFKA_SETTINGS_OF(conf, "archive");
    c->producer = archive_consumer_new_producer(&ks, err, errlen);
    if (!c->producer)
        goto fail;
    c->rk = archive_consumer_new_consumer(c, &ks, err, errlen);
    if (!c->rk)
        goto fail;
    c->work.rk = c->rk;
    c->work.producer = c->producer;
    /* callbacks and records all arrive on the consumer queue */
    kerr = rd_kafka_poll_set_consumer(c->rk);
    if (kerr) {
        snprintf(err, errlen, "kafka: poll_set_consumer: %s", rd_kafka_err2str(kerr));
        goto fail;
    }
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    if (!c->queue || pipe(c->wake) != 0 || fcntl(c->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(c->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot set up the consumer wake-up pipe");
        goto fail;
    }
    rd_kafka_queue_io_event_enable(c->queue, c->wake[1], "1", 1);
    topics = rd_kafka_topic_partition_list_new(1);
    if (!topics) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rd_kafka_topic_partition_list_add(topics, conf->topic, RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (kerr) {
        snprintf(err, errlen, "kafka: subscribe to %s: %s", conf->topic, rd_kafka_err2str(kerr));
        goto fail;
    }
    return c;
fail:
    archive_consumer_destroy(c);
    return NULL;
}

void archive_consumer_destroy(struct archive_consumer *c) {
    if (!c)
        return;
    /* close first: it may run the rebalance callback, which needs the work
     * state; the records it held belong to the consumer */
    if (c->rk && !c->closed)
        rd_kafka_consumer_close(c->rk);
    c->closed = 1;
    if (c->work_ready)
        archive_work_release(&c->work);
    c->work_ready = 0;
    if (c->queue) {
        rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(c->queue);
    }
    if (c->rk)
        rd_kafka_destroy(c->rk);
    if (c->producer) {
        rd_kafka_flush(c->producer, 1000);
        rd_kafka_destroy(c->producer);
    }
    archive_s3put_destroy(c->work.s3);
    s3_client_destroy(c->probe);
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    free(c);
}

/* ---- loop ------------------------------------------------------------- */

static void archive_consumer_drain_wake(struct archive_consumer *c) {
    char buf[64];
    while (read(c->wake[0], buf, sizeof buf) > 0)
        ;
}

/* Takes records while there is room, and serves callbacks. Returns the
 * number of records taken. */
static int archive_consumer_poll(struct archive_consumer *c) {
    int n = 0;
    /* always poll at least once: rebalances, commits and statistics are
     * served here, and max.poll.interval.ms must not expire while paused */
    do {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m)
            break;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                archive_rewind_refused(&c->work, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                LOG_WARN("consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (archive_rewind_check(&c->work, m)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        archive_work_message(&c->work, m);
        n++;
    } while (archive_work_capacity(&c->work) > 0 && n < 1000);
    return n;
}

/* One loop turn; `timeout_ms` bounds the wait. */
static int archive_consumer_turn(struct archive_consumer *c, int timeout_ms, int fetch) {
    struct curl_waitfd fds[2] = {
        {.fd = c->wake[0], .events = CURL_WAIT_POLLIN},
        {.fd = sig_wakeup_fd(), .events = CURL_WAIT_POLLIN},
    };
    unsigned nfds = fds[1].fd >= 0 ? 2 : 1;
    int took = fetch && archive_work_should_poll(&c->work) ? archive_consumer_poll(c) : 0;
    if (took > 0 && archive_work_capacity(&c->work) > 0)
        timeout_ms = 0; /* more may be queued */
    if (archive_s3put_wait(c->work.s3, fds, nfds, timeout_ms) != 0) {
        LOG_ERROR("curl multi failed");
        return -1;
    }
    archive_consumer_drain_wake(c);
    archive_rewind_retry(&c->work);
    archive_work_step(&c->work);
    archive_work_apply_pause(&c->work);
    return 0;
}

/* Idle (nothing held), no PUT would notice the store going away, so a
 * bounded HEAD of the bucket checks it every ARCHIVE_PROBE_MS and readiness
 * follows an outage even when no record arrives. Any answer that is not
 * transient counts as reachable (the archive user may only PutObject, so a
 * 403 is the normal answer), except 404: the bucket is missing. While records
 * are held, their PUTs are the probe (failing_parts). */
static void archive_consumer_check_store(struct archive_consumer *c) {
    int64_t now = archive_now_ms();
    double stored = metrics_child_value(c->stats->c.stored);
    if (stored != c->stored_seen) { /* a PUT succeeded */
        c->stored_seen = stored;
        c->contact_ms = now;
        atomic_store(&c->store_down, 0);
    }
    if (c->work.held > 0 || now - c->contact_ms < ARCHIVE_PROBE_MS)
        return;
    struct s3_result res;
    c->contact_ms = now; /* probes are spaced by ARCHIVE_PROBE_MS either way */
    (void)s3_head_bucket(c->probe, c->conf->s3_bucket, &res);
    int down = s3_result_is_transient(&res) || res.http_status == 404;
    if (down) {
        metrics_child_inc(c->stats->c.transient);
        if (!atomic_exchange(&c->store_down, 1))
            LOG_WARN("object store probe failed (HTTP %ld %s): not ready until it answers",
                     res.http_status, res.message);
    } else if (atomic_exchange(&c->store_down, 0)) {
        LOG_INFO("object store answers again (HTTP %ld): ready", res.http_status);
    }
}

/* Why the consumer is not ready (NULL when it is); *failing gets the count
 * of partitions paused by store errors. */
static const char *archive_consumer_not_ready(struct archive_consumer *c, int *failing) {
    *failing = atomic_load(&c->work.failing_parts);
    if (sig_stop_requested())
        return "draining";
    if (!atomic_load(&c->joined))
        return "not yet a member of the consumer group";
    if (*failing > 0)
        return "object store failing";
    if (atomic_load(&c->store_down))
        return "object store unreachable (probe failed), retrying";
    return NULL;
}

static int archive_consumer_pending(void *ctx) {
    return archive_work_busy(ctx);
}

int archive_consumer_run(struct archive_consumer *c) {
    int64_t last_commit = 0, deadline;
    int rc = 0;

    while (!sig_stop_requested()) {
        if (sig_take_reload())
            LOG_INFO("SIGHUP ignored: restart to change settings");
        int wait = archive_work_next_timer_ms(&c->work, ARCHIVE_LOOP_WAIT_MS);
        if (archive_consumer_turn(c, wait, 1) != 0) {
            rc = -1;
            break;
        }
        int failing;
        archive_consumer_check_store(c);
        metrics_child_set(c->stats->c.ready, archive_consumer_not_ready(c, &failing) ? 0 : 1);
        int64_t now = archive_now_ms();
        if (now - last_commit >= 100 || c->conf->mode == ARCHIVE_MODE_BATCH) {
            archive_work_commit(&c->work, 0);
            last_commit = now;
        }
    }

    /* drain: stop fetching, let in-flight PUTs finish, commit, leave */
    LOG_INFO("stopping: draining %zu PUT(s) for at most %lld ms",
             archive_s3put_in_flight(c->work.s3), c->conf->drain_timeout_ms);
    c->work.draining = 1;
    metrics_child_set(c->stats->c.ready, 0);
    archive_work_apply_pause(&c->work);
    deadline = archive_now_ms() + c->conf->drain_timeout_ms;
    while (archive_consumer_pending(&c->work) && archive_now_ms() < deadline) {
        int left = (int)(deadline - archive_now_ms());
        if (archive_consumer_turn(c, left < 50 ? left : 50, 0) != 0)
            break;
        if (c->conf->mode == ARCHIVE_MODE_BATCH)
            archive_work_commit(&c->work, 1);
    }
    if (archive_consumer_pending(&c->work))
        LOG_WARN("drain deadline passed: %zu PUT(s) abandoned (they will be redelivered)",
                 archive_s3put_in_flight(c->work.s3));
    archive_work_commit(&c->work, 1);
    LOG_INFO("leaving the consumer group");
    rd_kafka_resp_err_t kerr = rd_kafka_consumer_close(c->rk);
    c->closed = 1;
    if (kerr)
        LOG_WARN("consumer close: %s", rd_kafka_err2str(kerr));
    return rc;
}

int archive_consumer_ready(void *ctx, struct strbuf *why) {
    struct archive_consumer *c = ctx;
    int failing;
    const char *no = archive_consumer_not_ready(c, &failing);
    if (!no)
        return 1;
    if (failing > 0 && !sig_stop_requested() && atomic_load(&c->joined))
        strbuf_printf(why, "%s: %d partition(s) paused, retrying", no, failing);
    else
        strbuf_puts(why, no);
    return 0;
}
