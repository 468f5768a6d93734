/* dlq_cmd: `ordersctl dlq list|redrive`, the SQS-style inspection and
 * redrive of a subscription's dead letters (proto/asyncapi.yaml, DeadLetter).
 *
 * Both read "<topic>.dlq" with a consumer of group ordersctl-dlq-<name> in
 * assign mode (no group membership, no rebalance), up to the end offsets
 * seen at start, so they finish even while consumers keep dead-lettering.
 * list starts at the beginning and commits nothing. redrive starts at the
 * group's committed offsets and, with a transactional producer
 * (publisher-ordersctl-dlq-<name>), writes each batch of redriven records
 * together with the group's new offsets in one transaction: either both
 * happen or neither, so no dead letter is ever sent twice or skipped. */
#ifndef ORDERSCTL_DLQ_CMD_H
#define ORDERSCTL_DLQ_CMD_H

#include <stdio.h>

#include "dlq_args.h"
#include "kafka_conf.h"

#define ORDERSCTL_DLQ_TIMEOUT_MS 30000 /* any one Kafka wait */
#define ORDERSCTL_DLQ_TXN_MAX 500      /* redriven records per transaction */

/* `ordersctl dlq ...`: argv[0] is "dlq". Reads the Kafka settings from the
 * environment (see ordersctl_dlq_usage). Returns an ORDERSCTL_EXIT_*. */
int ordersctl_dlq_main(int argc, char **argv);

/* Runs the parsed action with Kafka settings `s`, listing lines and the
 * summary to `out`, errors to `errout`. Returns ORDERSCTL_EXIT_OK, or
 * ORDERSCTL_EXIT_FAIL after a Kafka error, a timeout or a dead letter that
 * cannot be redriven (progress up to the record before it is kept). */
int ordersctl_dlq_run(const struct ordersctl_dlq_opts *o, const struct kafka_settings *s, FILE *out,
                      FILE *errout);

#endif
