/* dlq_rewrite: dead-letter headers for listing and redriving (see
 * dlq_rewrite.h). */
#include "dlq_rewrite.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "strbuf.h"

void ordersctl_dlq_entry_read(const rd_kafka_headers_t *h, struct ordersctl_dlq_entry *e) {
    memset(e, 0, sizeof *e);
    const struct {
        const char *name;
        char *buf;
        size_t len;
    } f[] = {
        {"dlq_reason", e->reason, sizeof e->reason},
        {"dlq_error", e->error, sizeof e->error},
        {"dlq_source_topic", e->source_topic, sizeof e->source_topic},
        {"dlq_source_partition", e->source_partition, sizeof e->source_partition},
        {"dlq_source_offset", e->source_offset, sizeof e->source_offset},
        {"dlq_attempts", e->attempts, sizeof e->attempts},
        {"dlq_failed_at", e->failed_at, sizeof e->failed_at},
        {ORDERSCTL_DLQ_REDRIVE_COUNT, e->redrive_count, sizeof e->redrive_count},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        dlq_header_get_hdrs(h, f[i].name, f[i].buf, f[i].len); /* "" when unreadable */
}

/* Header values are untrusted: printed as-is only when they are plain
 * tokens, else as "-" so one odd header cannot break a listing line. */
static const char *dlq_rewrite_token(const char *s) {
    if (!*s)
        return "-";
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == 0x7f)
            return "?";
    return s;
}

int ordersctl_dlq_entry_format(int32_t partition, int64_t offset, const void *key, size_t keylen,
                               const struct ordersctl_dlq_entry *e, int redriven,
                               struct strbuf *out) {
    strbuf_printf(out, "partition=%" PRId32 " offset=%" PRId64 " key=", partition, offset);
    if (key) {
        strbuf_putc(out, '"');
        strbuf_json_escape(out, key, keylen);
        strbuf_putc(out, '"');
    } else {
        strbuf_puts(out, "null");
    }
    strbuf_printf(out, " reason=%s source=%s/%s@%s attempts=%s failed_at=%s",
                  dlq_rewrite_token(e->reason), dlq_rewrite_token(e->source_topic),
                  dlq_rewrite_token(e->source_partition), dlq_rewrite_token(e->source_offset),
                  dlq_rewrite_token(e->attempts), dlq_rewrite_token(e->failed_at));
    strbuf_printf(out, " redrive_count=%s status=%s error=\"",
                  e->redrive_count[0] ? dlq_rewrite_token(e->redrive_count) : "0",
                  redriven ? "redriven" : "pending");
    strbuf_json_escape(out, e->error, strlen(e->error));
    strbuf_putc(out, '"');
    return out->overflow ? -1 : 0;
}

/* PositiveCount: 1-10 digits, no leading zero. */
static int dlq_rewrite_count_parse(const void *v, size_t n, unsigned long long *out) {
    const char *s = v;
    if (!v || n < 1 || n > 10 || s[0] == '0')
        return -1;
    unsigned long long c = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        c = c * 10 + (unsigned)(s[i] - '0');
    }
    *out = c;
    return 0;
}

rd_kafka_headers_t *ordersctl_dlq_redrive_headers(const rd_kafka_headers_t *dead, char *err,
                                                  size_t errlen) {
    unsigned long long previous = 0;
    const void *v;
    size_t n;
    if (dead && rd_kafka_header_get(dead, 0, ORDERSCTL_DLQ_REDRIVE_COUNT, &v, &n) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
        const void *v2;
        size_t n2;
        if (rd_kafka_header_get(dead, 1, ORDERSCTL_DLQ_REDRIVE_COUNT, &v2, &n2) ==
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            dlq_rewrite_count_parse(v, n, &previous) != 0 ||
            previous >= ORDERSCTL_DLQ_REDRIVE_COUNT_MAX) {
            errmsg_set(err, errlen,
                       "header " ORDERSCTL_DLQ_REDRIVE_COUNT
                       " is repeated or not a count below 9999999999");
            return NULL;
        }
    }
    size_t cnt = dead ? rd_kafka_header_cnt(dead) : 0;
    rd_kafka_headers_t *h = rd_kafka_headers_new(cnt + 1);
    if (!h)
        goto oom;
    const char *name;
    for (size_t i = 0;
         dead && rd_kafka_header_get_all(dead, i, &name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        if (strncmp(name, ORDERSCTL_DLQ_HEADER_PREFIX, strlen(ORDERSCTL_DLQ_HEADER_PREFIX)) == 0)
            continue;
        /* A null value stays null: -1 would mean "NUL-terminated". */
        if (rd_kafka_header_add(h, name, -1, v, v ? (ssize_t)n : 0) != RD_KAFKA_RESP_ERR_NO_ERROR)
            goto oom;
    }
    char count[24];
    snprintf(count, sizeof count, "%llu", previous + 1);
    if (rd_kafka_header_add(h, ORDERSCTL_DLQ_REDRIVE_COUNT, -1, count, -1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto oom;
    return h;
oom:
    if (h)
        rd_kafka_headers_destroy(h);
    errmsg_set(err, errlen, "out of memory");
    return NULL;
}
