/* itest_publisher: the publisher process as the suites that need one run it
 * (publisher, ingress, e2e): its own secrets as files, the publisher Kafka
 * user, a transactional id unique to the run. */
#ifndef ITEST_PUBLISHER_H
#define ITEST_PUBLISHER_H

#include <stddef.h>

#include "itest_proc.h"

/* Prepares `p` (first start only): bearer `token`, the publisher's Kafka
 * credentials, subscriptions "billing=<billing_topic>,archive=<archive_topic>"
 * without filters, and a transactional id (the local prefix + a unique
 * suffix) written to txn_id. Ports are the caller's to set. */
void itest_publisher_prepare(struct itest_proc *p, const char *token, const char *billing_topic,
                             const char *archive_topic, char *txn_id, size_t txn_id_len);

#endif
