/* dlq_args: command line of `ordersctl dlq` (see dlq_args.h). */
#include "dlq_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dlq.h"
#include "errmsg.h"

#define DLQ_ARGS_GROUP_PREFIX "ordersctl-dlq-"
#define DLQ_ARGS_TXN_PREFIX "publisher-ordersctl-dlq-" /* publisher's ACL prefix */

static int dlq_args_name_valid(const char *s, size_t max, const char *extra) {
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

/* "--name value" or "--name=value": returns the value and advances *i, or
 * NULL (err filled) when it is missing. */
static const char *dlq_args_value(int argc, char *const *argv, int *i, const char *eq,
                                  const char *name, char *err, size_t errlen) {
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc) {
        errmsg_set(err, errlen, "option --%s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

int ordersctl_dlq_args_parse(int argc, char *const *argv, struct ordersctl_dlq_opts *o, char *err,
                             size_t errlen) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            o->help = 1;
            return 0;
        }
    if (argc < 2) {
        errmsg_set(err, errlen, "missing action: list or redrive");
        return -1;
    }
    if (strcmp(argv[1], "list") == 0)
        o->action = ORDERSCTL_DLQ_LIST;
    else if (strcmp(argv[1], "redrive") == 0)
        o->action = ORDERSCTL_DLQ_REDRIVE;
    else {
        errmsg_set(err, errlen, "unknown action '%s' (list or redrive)", argv[1]);
        return -1;
    }
    int have_max = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            errmsg_set(err, errlen, "unexpected argument '%s'", a);
            return -1;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        char name[32];
        if (nlen >= sizeof name) {
            errmsg_set(err, errlen, "unknown option '%s'", a);
            return -1;
        }
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        const char **dest = NULL;
        if (strcmp(name, "subscription") == 0)
            dest = &o->subscription;
        else if (strcmp(name, "topic") == 0)
            dest = &o->topic;
        else if (strcmp(name, "max") != 0) {
            errmsg_set(err, errlen, "unknown option '--%s'", name);
            return -1;
        }
        const char *v = dlq_args_value(argc, argv, &i, eq, name, err, errlen);
        if (!v)
            return -1;
        if ((dest && *dest) || (!dest && have_max)) {
            errmsg_set(err, errlen, "option --%s given twice", name);
            return -1;
        }
        if (dest) {
            *dest = v;
            continue;
        }
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end || errno || n < 1 || n > ORDERSCTL_DLQ_MAX_MAX) {
            errmsg_set(err, errlen, "--max: '%s' is not a number from 1 to %lu", v,
                       ORDERSCTL_DLQ_MAX_MAX);
            return -1;
        }
        o->max = n;
        have_max = 1;
    }
    if (!o->subscription) {
        errmsg_set(err, errlen, "--subscription is required");
        return -1;
    }
    if (!dlq_args_name_valid(o->subscription, ORDERSCTL_DLQ_SUB_MAX, "_-")) {
        errmsg_set(err, errlen, "--subscription: '%s' is not 1-64 of [A-Za-z0-9_-]",
                   o->subscription);
        return -1;
    }
    if (o->topic && (!dlq_args_name_valid(o->topic, ORDERSCTL_DLQ_TOPIC_MAX, "._-") ||
                     strcmp(o->topic, ".") == 0 || strcmp(o->topic, "..") == 0)) {
        errmsg_set(err, errlen, "--topic: '%s' is not a Kafka topic name", o->topic);
        return -1;
    }
    return 0;
}

int ordersctl_dlq_names(const struct ordersctl_dlq_opts *o, struct ordersctl_dlq_names *n,
                        char *err, size_t errlen) {
    memset(n, 0, sizeof *n);
    int a = o->topic ? snprintf(n->source, sizeof n->source, "%s", o->topic)
                     : snprintf(n->source, sizeof n->source, "orders.%s", o->subscription);
    int b = snprintf(n->dlq, sizeof n->dlq, "%s%s", n->source, DLQ_TOPIC_SUFFIX);
    int c = snprintf(n->group, sizeof n->group, DLQ_ARGS_GROUP_PREFIX "%s", o->subscription);
    int d = snprintf(n->transactional_id, sizeof n->transactional_id, DLQ_ARGS_TXN_PREFIX "%s",
                     o->subscription);
    if (a < 0 || b < 0 || c < 0 || d < 0 || (size_t)b >= sizeof n->dlq ||
        (size_t)c >= sizeof n->group || (size_t)d >= sizeof n->transactional_id) {
        errmsg_set(err, errlen, "topic '%s' is too long for its dead-letter topic", n->source);
        return -1;
    }
    return 0;
}

void ordersctl_dlq_usage(FILE *out) {
    fprintf(
        out,
        "usage: ordersctl dlq list    --subscription NAME [--topic TOPIC] [--max N]\n"
        "       ordersctl dlq redrive --subscription NAME [--topic TOPIC] [--max N]\n"
        "\n"
        "Dead letters of a subscription (like an SQS DLQ and its redrive).\n"
        "  list     print each dead letter of <topic>.dlq from the beginning: partition,\n"
        "           offset, key, reason, error, source partition/offset, attempts,\n"
        "           failed_at, redrive count, and whether it was already redriven.\n"
        "           Commits nothing.\n"
        "  redrive  re-publish the dead letters not yet redriven to their source topic\n"
        "           (key, value and original headers; the dlq_* headers dropped,\n"
        "           dlq_redrive_count = previous + 1), and record progress in the same\n"
        "           Kafka transaction (group ordersctl-dlq-NAME, transactional id\n"
        "           publisher-ordersctl-dlq-NAME), so a second redrive never re-sends.\n"
        "\n"
        "  --subscription NAME  subscription name, 1-64 of [A-Za-z0-9_-]\n"
        "  --topic TOPIC        its topic (default orders.NAME); dead letters are in TOPIC.dlq\n"
        "  --max N              list/redrive at most N dead letters (default: all)\n"
        "\n"
        "Kafka access, as for the services (runs as the publisher principal, the only one\n"
        "that may write orders.*): KAFKA_BOOTSTRAP, KAFKA_SECURITY_PROTOCOL\n"
        "(SASL_PLAINTEXT), KAFKA_SASL_MECHANISM (SCRAM-SHA-256), KAFKA_USERNAME,\n"
        "KAFKA_PASSWORD or KAFKA_PASSWORD_FILE, KAFKA_CA_FILE.\n"
        "\n"
        "Exit status: 0 ok, 1 Kafka or data error, 2 usage or configuration error.\n");
}
