/* itest_kafka: the local Kafka users as the suites connect with them. */
#ifndef ITEST_KAFKA_H
#define ITEST_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"

/* Settings of local SCRAM user `who` ("ADMIN", "PUBLISHER", "BILLING",
 * "ARCHIVE": KAFKA_<who>_USER / KAFKA_<who>_PASSWORD of scripts/local.env). */
struct kafka_settings itest_kafka_settings(const char *who, const char *client_id);

/* A consumer as `who` in `group` (NULL: one unique to the call, named after
 * `tag`), read_committed unless read_uncommitted; librdkafka logs errors
 * only (tests assert on results; close-time noise would clutter output). */
rd_kafka_t *itest_kafka_consumer(const char *who, const char *tag, const char *group,
                                 int read_uncommitted);

/* Deletes `topic` and creates it again with `partitions` partitions, as the
 * admin user: offsets restart at 0 (ACLs name the topic and survive).
 * Retries while the broker still finishes the deletion. */
void itest_kafka_recreate_topic(const char *topic, int partitions);

/* Deletes the records of topic/partition before `before` (the log start
 * moves there, as retention would move it), as the admin user. */
void itest_kafka_delete_records(const char *topic, int32_t partition, int64_t before);

/* Low and high watermarks of topic/partition, as the admin user. */
void itest_kafka_watermarks(const char *topic, int32_t partition, int64_t *low, int64_t *high);

#endif
