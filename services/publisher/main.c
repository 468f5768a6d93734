/* publisher: the only service holding Kafka write credentials. It receives
 * validated orders from ingress-auth on POST /v1/publish and writes one copy
 * per subscription in one Kafka transaction, answering 202 only after the
 * commit (http.h, txn_batcher.h). */
#include "admin.h"
#include "config.h"
#include "http.h"
#include "limbo.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "sig.h"
#include "stats.h"
#include "strbuf.h"
#include "subs.h"
#include "txn_batcher.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef ORDERS_VERSION
#define ORDERS_VERSION "dev"
#endif

#define PUBLISHER_ANSWER_DRAIN_MS 2000 /* after the batcher stopped: answers sent */

/* Builds the subscriptions and their filters; NULL with err set. */
static struct publisher_subs *publisher_main_subs(const struct publisher_config *c, char *err,
                                                  size_t errlen) {
    char why[400];
    struct publisher_subs *subs = publisher_subs_parse(c->subscriptions, why, sizeof why);
    if (!subs) {
        snprintf(err, errlen, "PUBLISHER_SUBSCRIPTIONS: %s", why);
        return NULL;
    }
    if (c->filters && *c->filters &&
        publisher_subs_set_filters(subs, c->filters, strlen(c->filters), why, sizeof why) != 0) {
        snprintf(err, errlen, "PUBLISHER_FILTERS: %s", why);
        publisher_subs_destroy(subs);
        return NULL;
    }
    return subs;
}

static void publisher_main_log_config(struct publisher_config *c, const struct publisher_subs *s) {
    struct strbuf sb;
    strbuf_init(&sb, 8192);
    publisher_config_describe(c, &sb);
    LOG_INFO("configuration: %s", strbuf_str(&sb));
    for (size_t i = 0; i < s->n; i++)
        LOG_INFO("subscription %s -> topic %s%s", s->sub[i].name, s->sub[i].topic,
                 s->sub[i].filter ? " (filtered)" : "");
    strbuf_release(&sb);
}

#define PUBLISHER_LIMBO_TTL_MS (10LL * 60 * 1000) /* 10 minutes */

int main(int argc, char **argv) {
    struct publisher_config conf;
    struct publisher_subs *subs = NULL;
    struct metrics_registry *reg = NULL;
    struct publisher_stats stats;
    struct publisher_batcher *batcher = NULL;
    struct publisher_limbo *limbo = NULL;
    struct publisher_http *http = NULL;
    struct admin_server *admin = NULL;
    char err[512];
    int status = 1;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: publisher (configured by environment variables)\n\n");
        publisher_config_usage(stdout);
        return 0;
    }

    /* 1. configuration */
    if (publisher_config_load(&conf, err, sizeof err) != 0) {
        fprintf(stderr, "publisher: config error: %s\n", err);
        return 2;
    }
    if (log_init("publisher", conf.log_level) != 0) {
        fprintf(stderr, "publisher: config error: LOG_LEVEL\n");
        publisher_config_free(&conf);
        return 2;
    }
    subs = publisher_main_subs(&conf, err, sizeof err);
    if (!subs) {
        fprintf(stderr, "publisher: config error: %s\n", err);
        publisher_config_free(&conf);
        return 2;
    }
    publisher_main_log_config(&conf, subs);

    /* 2. clients and servers */
    reg = metrics_registry_create();
    if (!reg || publisher_stats_init(&stats, reg, ORDERS_VERSION) != 0 ||
        metrics_register_process(reg) != 0) {
        LOG_ERROR("cannot register metrics");
        goto cleanup;
    }
    const struct kafka_settings kafka = KAFKA_SETTINGS_OF(&conf, "publisher");
    /* Orders answered 503 while their commit went on, remembered long
     * enough for any client retry (ingress-auth's publish timeout is
     * seconds; clients back off by Retry-After). */
    limbo = publisher_limbo_create((size_t)conf.max_batch * 16, PUBLISHER_LIMBO_TTL_MS);
    if (!limbo) {
        LOG_ERROR("out of memory");
        goto cleanup;
    }
    const struct publisher_batcher_settings bset = {
        .kafka = &kafka,
        .transactional_id = conf.transactional_id,
        .subs = subs,
        .stats = &stats,
        .limbo = limbo,
        .max_batch = (size_t)conf.max_batch,
        .producers = (size_t)conf.producers,
        .queue_capacity = (size_t)conf.queue_capacity,
        .linger_ms = (long)conf.linger_ms,
        .commit_timeout_ms = (long)conf.commit_timeout_ms,
    };
    sig_mask_handled(SIG_BLOCK); /* threads created from here on never take signals */
    batcher = publisher_batcher_create(&bset, err, sizeof err);
    if (!batcher) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    const struct publisher_http_settings hset = {
        .bind = conf.bind,
        .port = (uint16_t)conf.port,
        .threads = (unsigned)conf.http_threads,
        .max_connections = (unsigned)conf.max_connections,
        .connection_timeout_s = (unsigned)((conf.connection_timeout_ms + 999) / 1000),
        .max_body = (size_t)conf.max_body,
        .token = conf.token,
        .retry_after_s = (unsigned)((conf.retry_after_ms + 999) / 1000),
        .subs = subs,
        .batcher = batcher,
        .stats = &stats,
        .limbo = limbo,
    };
    http = publisher_http_start(&hset, err, sizeof err);
    if (!http) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    admin = admin_server_start(conf.admin_bind, (uint16_t)conf.admin_port, reg,
                               publisher_batcher_ready, batcher, err, sizeof err);
    if (!admin) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }

    /* 3. signals */
    if (sig_install() != 0 || sig_mask_handled(SIG_UNBLOCK) != 0) {
        LOG_ERROR("cannot install signal handlers");
        goto cleanup;
    }
    LOG_INFO("publisher %s serving POST /v1/publish on %s:%u, admin on %s:%u, "
             "transactional.id %s",
             ORDERS_VERSION, conf.bind, (unsigned)publisher_http_port(http), conf.admin_bind,
             (unsigned)admin_server_port(admin), conf.transactional_id);

    /* 4. loop: the work happens on the HTTP and Kafka threads */
    while (!sig_stop_requested()) {
        sig_wait(1000);
        if (sig_take_reload())
            LOG_INFO("SIGHUP ignored: restart to change settings");
    }

    /* 5. drain: not ready, no new connections, commit what is queued */
    LOG_INFO("stopping: draining for at most %lld ms", conf.drain_timeout_ms);
    admin_server_set_draining(admin, 1);
    publisher_http_quiesce(http);
    publisher_batcher_stop(batcher, (long)conf.drain_timeout_ms);
    if (sig_drain(publisher_http_pending, http, PUBLISHER_ANSWER_DRAIN_MS) != 0)
        LOG_WARN("some answers were not sent before the deadline");
    status = 0;
    LOG_INFO("stopped");

cleanup:
    /* 6. free in reverse order (the batcher answers every suspended request
     * before the HTTP server goes away) */
    if (batcher)
        publisher_batcher_stop(batcher, 0);
    publisher_http_stop(http);
    admin_server_stop(admin);
    publisher_batcher_destroy(batcher);
    publisher_limbo_destroy(limbo);
    metrics_registry_destroy(reg);
    publisher_subs_destroy(subs);
    publisher_config_free(&conf);
    sig_finish();
    return status;
}
