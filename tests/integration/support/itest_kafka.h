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

#endif
