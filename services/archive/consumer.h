/* consumer: the archive pipeline on one thread. A read_committed consumer
 * in group `archive` (cooperative-sticky) feeds records to the object store
 * through many concurrent PUTs (s3put); offsets are committed only up to
 * the finished prefix of each partition (tracker). Transient store failures
 * pause the partition and retry with backoff forever; poison (undecodable,
 * invalid, permanent store errors) is dead-lettered after max_attempts.
 *
 * Batch mode keeps at most one uploaded-but-uncommitted batch per
 * partition, so a redelivery after a crash rebuilds a batch with the same
 * first offset, i.e. the same name, and overwrites the only object that
 * could hold its records: each record ends in exactly one batch object. */
#ifndef ARCHIVE_CONSUMER_H
#define ARCHIVE_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct archive_stats;
struct strbuf;
struct archive_consumer;

/* Creates the Kafka consumer (subscribed to conf->topic), the dead-letter
 * producer and the PUT engine. conf and stats are borrowed and must outlive
 * the consumer. NULL with a message in err. */
struct archive_consumer *archive_consumer_create(const struct archive_config *conf,
                                                 struct archive_stats *stats, char *err,
                                                 size_t errlen);

/* Runs until sig_stop_requested(), then drains: stops fetching, waits up
 * to conf->drain_timeout_ms for in-flight PUTs (records still waiting for a
 * retry are abandoned: they were not committed and will be redelivered),
 * commits what is stored and leaves the group. 0, or -1 on a fatal error. */
int archive_consumer_run(struct archive_consumer *c);

/* Readiness for admin_server (thread-safe): joined the group and no
 * partition is paused by store failures. */
int archive_consumer_ready(void *ctx, struct strbuf *why);

/* Frees everything (after run returned, or instead of it). NULL no-op. */
void archive_consumer_destroy(struct archive_consumer *c);

#endif
