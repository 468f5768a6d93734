/* housekeep: ingress-auth's periodic duties, run from main()'s loop about
 * once a second: reload the client registry when its file changed (a
 * Kubernetes Secret update swaps a symlink, so the resolved file's identity
 * and mtime are compared) or on SIGHUP, and probe Redis and the publisher
 * for /readyz.
 *
 * Readiness: the publisher must answer HTTP; Redis must answer PING only
 * under the fail-closed policy (with fail-open the service can serve
 * without it, so taking the pod out of rotation would turn a Redis outage
 * into a full outage). */
#ifndef INGRESS_HOUSEKEEP_H
#define INGRESS_HOUSEKEEP_H

#include <stdatomic.h>

#include "clients.h"
#include "config.h"

struct strbuf;
struct ingress_forward;
struct ingress_redis;
struct ingress_stats;

struct ingress_housekeep {
    const char *clients_path; /* borrowed */
    struct ingress_clients_file_id seen;
    struct ingress_clients_holder *holder;
    struct ingress_redis *redis;
    struct ingress_forward *forward;
    struct ingress_stats *stats; /* may be NULL */
    enum ingress_redis_policy policy;
    long probe_timeout_ms;
    atomic_int redis_up, publisher_up, probed;
};

/* Prepares hk; `seen` is the identity of the registry already loaded. All
 * pointers are borrowed. */
void ingress_housekeep_init(struct ingress_housekeep *hk, const char *clients_path,
                            const struct ingress_clients_file_id *seen,
                            struct ingress_clients_holder *holder, struct ingress_redis *redis,
                            struct ingress_forward *forward, struct ingress_stats *stats,
                            enum ingress_redis_policy policy, long probe_timeout_ms);

/* Reloads the registry if its file changed, or always when force != 0.
 * Returns 1 if a new registry was swapped in, 0 if nothing changed, -1 if
 * the file could not be read or is invalid (logged; the old registry keeps
 * serving). */
int ingress_housekeep_reload(struct ingress_housekeep *hk, int force);

/* Probes Redis and the publisher (bounded by the timeouts) and updates the
 * readiness flags and orders_ingress_dependency_up. */
void ingress_housekeep_probe(struct ingress_housekeep *hk);

/* admin_ready_fn over the last probe (ctx is the housekeep). */
int ingress_housekeep_ready(void *ctx, struct strbuf *why);

#endif
