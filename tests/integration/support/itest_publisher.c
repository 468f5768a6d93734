/* itest_publisher: the publisher process's settings for the suites. */
#include "itest_publisher.h"

#include <stdio.h>

#include "itest_env.h"

void itest_publisher_prepare(struct itest_proc *p, const char *token, const char *billing_topic,
                             const char *archive_topic, char *txn_id, size_t txn_id_len) {
    char unique[64], subs[512];
    itest_proc_init(p, "publisher");
    itest_proc_secret(p, "PUBLISHER_INTERNAL_TOKEN", "token", token);
    itest_proc_secret(p, "KAFKA_PASSWORD", "password", itest_env("KAFKA_PUBLISHER_PASSWORD"));
    itest_unique("itpub", unique, sizeof unique);
    snprintf(txn_id, txn_id_len, "%s%s", itest_env("KAFKA_TRANSACTIONAL_ID_PREFIX"), unique);
    itest_proc_setenv(p, "KAFKA_USERNAME", itest_env("KAFKA_PUBLISHER_USER"));
    itest_proc_setenv(p, "PUBLISHER_TRANSACTIONAL_ID", txn_id);
    itest_proc_setenv(p, "PUBLISHER_FILTERS", NULL);
    snprintf(subs, sizeof subs, "billing=%s,archive=%s", billing_topic, archive_topic);
    itest_proc_setenv(p, "PUBLISHER_SUBSCRIPTIONS", subs);
    itest_env("KAFKA_BOOTSTRAP");
}
