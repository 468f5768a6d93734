/* dlq_args: command line of `ordersctl dlq list|redrive`, its usage text,
 * and the Kafka names derived from the subscription.
 *
 *   ordersctl dlq list    --subscription NAME [--topic TOPIC] [--max N]
 *   ordersctl dlq redrive --subscription NAME [--topic TOPIC] [--max N]
 *
 * Parsing is a pure function over argv (no I/O), like args.c. */
#ifndef ORDERSCTL_DLQ_ARGS_H
#define ORDERSCTL_DLQ_ARGS_H

#include <stddef.h>
#include <stdio.h>

enum ordersctl_dlq_action {
    ORDERSCTL_DLQ_LIST = 1,
    ORDERSCTL_DLQ_REDRIVE = 2,
};

#define ORDERSCTL_DLQ_SUB_MAX 64    /* subscription names, as PUBLISHER_SUBSCRIPTIONS */
#define ORDERSCTL_DLQ_TOPIC_MAX 249 /* Kafka's limit */
#define ORDERSCTL_DLQ_MAX_MAX 1000000000UL

/* Parsed options; strings point into argv. */
struct ordersctl_dlq_opts {
    enum ordersctl_dlq_action action;
    int help;                 /* -h/--help (also `ordersctl dlq` alone is a usage error) */
    const char *subscription; /* 1-64 of [A-Za-z0-9_-] */
    const char *topic;        /* --topic, or NULL for "orders.<subscription>" */
    unsigned long max;        /* --max N (1-10^9); 0 = every dead letter */
};

/* Kafka names of one subscription's dead-letter handling. */
struct ordersctl_dlq_names {
    char source[ORDERSCTL_DLQ_TOPIC_MAX + 1]; /* the subscription topic */
    char dlq[ORDERSCTL_DLQ_TOPIC_MAX + 1];    /* source + ".dlq" */
    char group[96];                           /* "ordersctl-dlq-<subscription>" */
    char transactional_id[96];                /* "publisher-ordersctl-dlq-<subscription>" */
};

/* Parses argv[1..argc-1] (argv[0] is "dlq"; argv[1] the action). Returns 0,
 * or -1 with a one-line message in err (unknown action or option, missing or
 * malformed value, repeated option, missing --subscription). With -h/--help
 * returns 0 with o->help set, without checking anything else. */
int ordersctl_dlq_args_parse(int argc, char *const *argv, struct ordersctl_dlq_opts *o, char *err,
                             size_t errlen);

/* Fills the derived names. Returns 0, or -1 with err when a name would be
 * too long or the topic is not a valid Kafka topic name. */
int ordersctl_dlq_names(const struct ordersctl_dlq_opts *o, struct ordersctl_dlq_names *n,
                        char *err, size_t errlen);

/* Usage text of `ordersctl dlq`, with the environment it reads. */
void ordersctl_dlq_usage(FILE *out);

#endif
