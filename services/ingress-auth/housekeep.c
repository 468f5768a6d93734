/* housekeep: client registry reloads and dependency probes. */
#include "housekeep.h"

#include "forward.h"
#include "log.h"
#include "redis_pool.h"
#include "stats.h"
#include "strbuf.h"

#include <errno.h>
#include <string.h>

void ingress_housekeep_init(struct ingress_housekeep *hk, const char *clients_path,
                            const struct ingress_clients_file_id *seen,
                            struct ingress_clients_holder *holder, struct ingress_redis *redis,
                            struct ingress_forward *forward, struct ingress_stats *stats,
                            enum ingress_redis_policy policy, long probe_timeout_ms) {
    memset(hk, 0, sizeof *hk);
    hk->clients_path = clients_path;
    hk->seen = *seen;
    hk->holder = holder;
    hk->redis = redis;
    hk->forward = forward;
    hk->stats = stats;
    hk->policy = policy;
    hk->probe_timeout_ms = probe_timeout_ms;
    atomic_init(&hk->redis_up, 0);
    atomic_init(&hk->publisher_up, 0);
    atomic_init(&hk->probed, 0);
}

int ingress_housekeep_reload(struct ingress_housekeep *hk, int force) {
    char err[512];
    int changed = ingress_clients_file_changed(hk->clients_path, &hk->seen);
    if (changed < 0) {
        /* Mid-swap or removed: keep serving the registry we have. */
        if (force)
            LOG_WARN("clients file %s: %s; keeping the current registry", hk->clients_path,
                     strerror(errno));
        return force ? -1 : 0;
    }
    if (!changed && !force)
        return 0;
    struct ingress_clients *next = ingress_clients_load(hk->clients_path, err, sizeof err);
    if (!next) {
        ingress_stats_count(hk->stats, hk->stats ? hk->stats->reloads : NULL, "error");
        LOG_ERROR("clients reload failed, keeping the current registry: %s", err);
        return -1;
    }
    hk->seen = *ingress_clients_source(next);
    size_t n = ingress_clients_count(next);
    ingress_clients_holder_swap(hk->holder, next);
    ingress_stats_count(hk->stats, hk->stats ? hk->stats->reloads : NULL, "ok");
    LOG_INFO("clients reloaded from %s: %zu clients", hk->clients_path, n);
    return 1;
}

void ingress_housekeep_probe(struct ingress_housekeep *hk) {
    int redis = ingress_redis_ping(hk->redis) == 0;
    int publisher = ingress_forward_probe(hk->forward, hk->probe_timeout_ms) == 0;
    if (redis != atomic_exchange(&hk->redis_up, redis) || !atomic_load(&hk->probed)) {
        if (redis)
            LOG_INFO("Redis is reachable");
        else
            LOG_WARN("Redis is unreachable (policy %s)",
                     hk->policy == INGRESS_REDIS_FAIL_OPEN ? "fail-open" : "fail-closed");
    }
    if (publisher != atomic_exchange(&hk->publisher_up, publisher) || !atomic_load(&hk->probed)) {
        if (publisher)
            LOG_INFO("the publisher is reachable");
        else
            LOG_WARN("the publisher is unreachable");
    }
    atomic_store(&hk->probed, 1);
    ingress_stats_dependency(hk->stats, "redis", redis);
    ingress_stats_dependency(hk->stats, "publisher", publisher);
}

int ingress_housekeep_ready(void *ctx, struct strbuf *why) {
    struct ingress_housekeep *hk = ctx;
    if (!atomic_load(&hk->probed)) {
        strbuf_puts(why, "starting");
        return 0;
    }
    if (!atomic_load(&hk->publisher_up)) {
        strbuf_puts(why, "publisher unreachable");
        return 0;
    }
    if (hk->policy == INGRESS_REDIS_FAIL_CLOSED && !atomic_load(&hk->redis_up)) {
        strbuf_puts(why, "redis unreachable (policy fail-closed)");
        return 0;
    }
    return 1;
}
