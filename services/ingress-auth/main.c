/* ingress-auth: the public edge of the pipeline. Authenticates signed
 * POST /orders requests, applies rate limits, validates and deduplicates
 * orders, and hands them to the publisher, answering 202 only once the
 * publisher committed them (server.h, pipeline.h). */
#include "admin.h"
#include "clients.h"
#include "config.h"
#include "forward.h"
#include "housekeep.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "redis_pool.h"
#include "server.h"
#include "sig.h"
#include "stats.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef ORDERS_VERSION
#define ORDERS_VERSION "dev"
#endif

#define INGRESS_TICK_MS 1000         /* clients file check and probes */
#define INGRESS_PROBE_TIMEOUT_MS 800 /* below the tick */
#define INGRESS_CLAIM_MARGIN_MS 5000 /* a claim outlives the publish deadline */
#define INGRESS_CONNECT_TIMEOUT_MS 1000

static void ingress_main_log_config(struct ingress_config *c) {
    struct strbuf sb;
    strbuf_init(&sb, 8192);
    ingress_config_describe(c, &sb);
    LOG_INFO("configuration: %s", strbuf_str(&sb));
    strbuf_release(&sb);
}

static unsigned ingress_ms_to_s(long long ms) {
    return (unsigned)((ms + 999) / 1000);
}

int main(int argc, char **argv) {
    struct ingress_config conf;
    struct metrics_registry *reg = NULL;
    struct ingress_stats stats;
    struct ingress_clients *initial = NULL;
    struct ingress_clients_holder *holder = NULL;
    struct ingress_redis *redis = NULL;
    struct ingress_forward *forward = NULL;
    struct ingress_server *server = NULL;
    struct admin_server *admin = NULL;
    struct ingress_housekeep hk;
    char err[512];
    int status = 1, curl_ready = 0;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ingress-auth (configured by environment variables)\n\n");
        ingress_config_usage(stdout);
        return 0;
    }

    /* 1. configuration */
    if (ingress_config_load(&conf, err, sizeof err) != 0) {
        fprintf(stderr, "ingress-auth: config error: %s\n", err);
        return 2;
    }
    if (log_init("ingress-auth", conf.log_level) != 0) {
        fprintf(stderr, "ingress-auth: config error: LOG_LEVEL\n");
        ingress_config_free(&conf);
        return 2;
    }
    ingress_main_log_config(&conf);

    /* 2. clients: registry, Redis, publisher, metrics */
    sig_mask_handled(SIG_BLOCK); /* only the main thread takes signals */
    initial = ingress_clients_load(conf.clients_file, err, sizeof err);
    if (!initial) {
        fprintf(stderr, "ingress-auth: config error: INGRESS_CLIENTS_FILE: %s\n", err);
        ingress_config_free(&conf);
        return 2;
    }
    const struct ingress_clients_file_id seen = *ingress_clients_source(initial);
    LOG_INFO("%zu clients loaded from %s", ingress_clients_count(initial), conf.clients_file);
    holder = ingress_clients_holder_create(initial);
    if (!holder) {
        LOG_ERROR("out of memory");
        ingress_clients_free(initial);
        goto cleanup;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        LOG_ERROR("cannot initialise libcurl");
        goto cleanup;
    }
    curl_ready = 1;
    reg = metrics_registry_create();
    if (!reg || ingress_stats_init(&stats, reg, ORDERS_VERSION) != 0 ||
        metrics_register_process(reg) != 0) {
        LOG_ERROR("cannot register metrics");
        goto cleanup;
    }
    const struct ingress_redis_settings rset = {
        .host = conf.redis_host,
        .port = conf.redis_port,
        .username = conf.redis_username,
        .password = conf.redis_password,
        .key_prefix = conf.redis_key_prefix,
        .connect_timeout_ms = (int)conf.redis_timeout_ms,
        .command_timeout_ms = (int)conf.redis_timeout_ms,
        .pool_size = (int)conf.http_threads + 1, /* + the readiness probe */
    };
    redis = ingress_redis_create(&rset, err, sizeof err);
    if (!redis) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    const struct ingress_forward_settings fset = {
        .url = conf.publisher_url,
        .token = conf.publisher_token,
        .timeout_ms = (long)conf.publish_timeout_ms,
        .connect_timeout_ms = INGRESS_CONNECT_TIMEOUT_MS,
        .pool_size = (size_t)conf.http_threads,
    };
    forward = ingress_forward_create(&fset, err, sizeof err);
    if (!forward) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }

    /* 3. servers */
    const struct ingress_pipeline pipeline = {
        .clients = holder,
        .redis = redis,
        .forward = forward,
        .stats = &stats,
        .policy = conf.redis_policy,
        .window_s = (long)(conf.timestamp_window_ms / 1000),
        .idem_ttl_s = ingress_ms_to_s(conf.idempotency_ttl_ms),
        .claim_ttl_ms = (unsigned)(conf.publish_timeout_ms + INGRESS_CLAIM_MARGIN_MS),
        .retry_after_s = ingress_ms_to_s(conf.retry_after_ms),
    };
    const struct ingress_server_settings sset = {
        .bind = conf.bind,
        .port = (uint16_t)conf.port,
        .max_connections = (unsigned)conf.max_connections,
        .connection_timeout_s = ingress_ms_to_s(conf.connection_timeout_ms),
        .max_body = (size_t)conf.max_body,
        .pipeline = &pipeline,
        .stats = &stats,
    };
    ingress_housekeep_init(&hk, conf.clients_file, &seen, holder, redis, forward, &stats,
                           conf.redis_policy, INGRESS_PROBE_TIMEOUT_MS);
    server = ingress_server_start(&sset, err, sizeof err);
    if (!server) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }
    admin = admin_server_start(conf.admin_bind, (uint16_t)conf.admin_port, reg,
                               ingress_housekeep_ready, &hk, err, sizeof err);
    if (!admin) {
        LOG_ERROR("%s", err);
        goto cleanup;
    }

    /* 4. signals */
    if (sig_install() != 0) {
        LOG_ERROR("cannot install signal handlers");
        goto cleanup;
    }
    sig_mask_handled(SIG_UNBLOCK);
    LOG_INFO("ingress-auth %s serving POST /orders on %s:%u, admin on %s:%u, Redis policy %s, "
             "publisher %s",
             ORDERS_VERSION, conf.bind, (unsigned)ingress_server_port(server), conf.admin_bind,
             (unsigned)admin_server_port(admin), conf.redis_policy_name, conf.publisher_url);

    /* 5. loop: requests are served on the HTTP threads; here, once a tick,
     * the clients file is checked and the dependencies probed */
    ingress_housekeep_probe(&hk);
    while (!sig_stop_requested()) {
        if (sig_wait(INGRESS_TICK_MS))
            break;
        ingress_housekeep_reload(&hk, sig_take_reload());
        ingress_housekeep_probe(&hk);
    }

    /* 6. drain: not ready, no new connections, finish what is in flight */
    LOG_INFO("stopping: draining for at most %lld ms", conf.drain_timeout_ms);
    admin_server_set_draining(admin, 1);
    ingress_server_quiesce(server);
    if (sig_drain(ingress_server_inflight, server, (long)conf.drain_timeout_ms) != 0)
        LOG_WARN("%d requests still in flight at the drain deadline",
                 ingress_server_inflight(server));
    status = 0;
    LOG_INFO("stopped");

cleanup:
    /* 7. free in reverse order */
    ingress_server_stop(server);
    admin_server_stop(admin);
    ingress_forward_destroy(forward);
    ingress_redis_destroy(redis);
    metrics_registry_destroy(reg);
    if (curl_ready)
        curl_global_cleanup();
    ingress_clients_holder_destroy(holder);
    ingress_config_free(&conf);
    sig_finish();
    return status;
}
