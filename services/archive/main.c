/* archive: copies every accepted order from orders.archive to the object
 * store, one CloudEvents structured-mode JSON object per order (or NDJSON
 * batches), committing Kafka offsets only for what is stored (consumer.h). */
#include "admin.h"
#include "config.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "sig.h"
#include "stats.h"
#include "strbuf.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef ORDERS_VERSION
#define ORDERS_VERSION "dev"
#endif

int main(int argc, char **argv) {
    struct archive_config conf;
    struct metrics_registry *reg = NULL;
    struct archive_stats stats = {0};
    struct archive_consumer *consumer = NULL;
    struct admin_server *admin = NULL;
    struct strbuf sb;
    char err[512];
    int status = 1;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: archive (configured by environment variables)\n\n");
        archive_config_usage(stdout);
        return 0;
    }

    /* 1. configuration */
    if (archive_config_load(&conf, err, sizeof err) != 0) {
        fprintf(stderr, "archive: config error: %s\n", err);
        return 2;
    }
    if (log_init("archive", conf.log_level) != 0) {
        fprintf(stderr, "archive: config error: LOG_LEVEL\n");
        archive_config_free(&conf);
        return 2;
    }
    strbuf_init(&sb, 8192);
    archive_config_describe(&conf, &sb);
    LOG_INFO("configuration: %s", strbuf_str(&sb));
    strbuf_release(&sb);

    /* 2. signals first: a SIGTERM during start-up still drains cleanly */
    if (sig_install() != 0) {
        LOG_ERROR("cannot install signal handlers");
        goto cleanup;
    }

    /* 3. clients and the admin server; their threads never take signals */
    sig_mask_handled(SIG_BLOCK);
    reg = metrics_registry_create();
    if (!reg || archive_stats_init(&stats, reg, conf.topic, ORDERS_VERSION) != 0 ||
        metrics_register_process(reg) != 0) {
        LOG_ERROR("cannot register metrics");
        goto cleanup;
    }
    consumer = archive_consumer_create(&conf, &stats, err, sizeof err);
    if (!consumer) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    admin = admin_server_start(conf.admin_bind, (uint16_t)conf.admin_port, reg,
                               archive_consumer_ready, consumer, err, sizeof err);
    if (!admin) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    LOG_INFO("archive %s: %s -> %s/%s (%s mode), admin on %s:%u", ORDERS_VERSION, conf.topic,
             conf.s3_endpoint, conf.s3_bucket, conf.mode_name, conf.admin_bind,
             (unsigned)admin_server_port(admin));

    sig_mask_handled(SIG_UNBLOCK);

    /* 4. loop until SIGTERM, then drain (inside run) */
    if (archive_consumer_run(consumer) == 0)
        status = 0;
    admin_server_set_draining(admin, 1);
    LOG_INFO("stopped");

cleanup:
    /* 5. free in reverse order */
    admin_server_stop(admin);
    archive_consumer_destroy(consumer);
    metrics_registry_destroy(reg);
    archive_stats_release(&stats);
    archive_config_free(&conf);
    sig_finish();
    return status;
}
