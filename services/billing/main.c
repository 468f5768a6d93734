/* billing: consumes orders.billing and writes each order exactly once into
 * Postgres billing.orders, as the least-privilege billing role (consumer.h
 * for the delivery guarantees, pg.h for the transaction). */
#include "admin.h"
#include "config.h"
#include "consumer_stats.h"
#include "consumer.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "sig.h"
#include "strbuf.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef ORDERS_VERSION
#define ORDERS_VERSION "dev"
#endif

#define BILLING_DLQ_TIMEOUT_MS 10000

static int billing_main_stop(void *ctx) {
    (void)ctx;
    if (sig_take_reload())
        LOG_INFO("SIGHUP ignored: restart to change settings");
    return sig_stop_requested();
}

static void billing_main_log_config(struct billing_config *c) {
    struct strbuf sb;
    strbuf_init(&sb, 8192);
    billing_config_describe(c, &sb);
    LOG_INFO("configuration: %s", strbuf_str(&sb));
    strbuf_release(&sb);
}

int main(int argc, char **argv) {
    struct billing_config conf;
    struct metrics_registry *reg = NULL;
    struct consumer_stats stats = {0};
    struct billing_pg *pg = NULL;
    struct billing_consumer *consumer = NULL;
    struct admin_server *admin = NULL;
    char err[512];
    int status = 1;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: billing (configured by environment variables)\n\n");
        billing_config_usage(stdout);
        return 0;
    }

    /* 1. configuration */
    if (billing_config_load(&conf, err, sizeof err) != 0) {
        fprintf(stderr, "billing: config error: %s\n", err);
        return 2;
    }
    if (log_init("billing", conf.log_level) != 0) {
        fprintf(stderr, "billing: config error: LOG_LEVEL\n");
        billing_config_free(&conf);
        return 2;
    }
    billing_main_log_config(&conf);

    /* 2. clients and servers */
    reg = metrics_registry_create();
    if (!reg || consumer_stats_init(&stats, reg, "billing", conf.topic, ORDERS_VERSION) != 0 ||
        metrics_register_process(reg) != 0) {
        LOG_ERROR("cannot register metrics");
        goto cleanup;
    }
    const struct billing_pg_settings pgs = {
        .host = conf.pg_host,
        .port = conf.pg_port,
        .database = conf.pg_database,
        .user = conf.pg_user,
        .password = conf.pg_password,
        .sslmode = conf.pg_sslmode,
        .timeout_ms = (long)conf.pg_timeout_ms,
    };
    pg = billing_pg_create(&pgs);
    if (!pg) {
        LOG_ERROR("out of memory");
        goto cleanup;
    }
    const struct kafka_settings kafka = KAFKA_SETTINGS_OF(&conf, "billing");
    const struct billing_consumer_settings cs = {
        .kafka = &kafka,
        .topic = conf.topic,
        .group = conf.group,
        .pg = pg,
        .stats = &stats,
        .batch_max = (size_t)conf.batch_max,
        .batch_wait_ms = (long)conf.batch_wait_ms,
        .max_attempts = (uint32_t)conf.max_attempts,
        .retry = {.base_ms = (uint32_t)conf.retry_base_ms, .cap_ms = (uint32_t)conf.retry_cap_ms},
        .stats_interval_ms = (long)conf.stats_interval_ms,
        .session_timeout_ms = (long)conf.session_timeout_ms,
        .dlq_timeout_ms = BILLING_DLQ_TIMEOUT_MS,
    };
    sig_mask_handled(SIG_BLOCK); /* librdkafka and admin threads never take signals */
    consumer = billing_consumer_create(&cs, err, sizeof err);
    if (!consumer) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    admin = admin_server_start(conf.admin_bind, (uint16_t)conf.admin_port, reg,
                               billing_consumer_ready, consumer, err, sizeof err);
    if (!admin) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }

    /* 3. signals */
    if (sig_install() != 0 || sig_mask_handled(SIG_UNBLOCK) != 0) {
        LOG_ERROR("cannot install signal handlers");
        goto cleanup;
    }
    LOG_INFO("billing %s consuming %s as group %s into postgres %s:%d/%s as %s, admin on %s:%u",
             ORDERS_VERSION, conf.topic, conf.group, conf.pg_host, conf.pg_port, conf.pg_database,
             conf.pg_user, conf.admin_bind, (unsigned)admin_server_port(admin));

    /* 4. loop, 5. drain (inside run: last batch, then leave the group) */
    int rc = billing_consumer_run(consumer, billing_main_stop, NULL, (long)conf.drain_timeout_ms);
    admin_server_set_draining(admin, 1);
    status = rc == 0 ? 0 : 1;
    LOG_INFO("stopped");

cleanup:
    /* 6. free in reverse order */
    admin_server_stop(admin);
    billing_consumer_destroy(consumer);
    billing_pg_destroy(pg);
    metrics_registry_destroy(reg);
    consumer_stats_release(&stats);
    billing_config_free(&conf);
    sig_finish();
    return status;
}
