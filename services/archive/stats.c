/* stats: metric families of the archive consumer (see stats.h). */
#include "stats.h"

#include "metrics.h"

#include <string.h>

int archive_stats_init(struct archive_stats *s, struct metrics_registry *reg, const char *topic,
                       const char *version) {
    static const char *const result[] = {"result"};
    memset(s, 0, sizeof *s);
    int rc = consumer_stats_init(&s->c, reg, "archive", topic, version);
    struct metrics_gauge *in_flight =
        metrics_gauge_new(reg, "orders_archive_puts_in_flight", "S3 PUTs in flight", 0, NULL);
    s->puts_in_flight = metrics_gauge_child(in_flight, NULL);
    s->commits = metrics_counter_new(reg, "orders_archive_offset_commits_total",
                                     "Kafka offset commits, by result", 1, result);
    return rc == 0 && in_flight && s->commits ? 0 : -1;
}

void archive_stats_release(struct archive_stats *s) {
    consumer_stats_release(&s->c);
}
