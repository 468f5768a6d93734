/* object: object keys and the structured-mode document of an event. */
#include "object.h"

#include "strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int archive_object_key(int64_t time_unix_ms, const char *client_id, const char *order_id, char *out,
                       size_t outlen) {
    /* floor division: 1969-12-31T23:59:59.999Z is -1 ms and belongs to the 31st */
    int64_t secs = time_unix_ms / 1000 - (time_unix_ms % 1000 < 0 ? 1 : 0);
    time_t t = (time_t)secs;
    struct tm tm;
    int n;

    if (outlen > 0)
        out[0] = '\0';
    if ((int64_t)t != secs || !gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return -1;
    n = snprintf(out, outlen, "orders/%04d/%02d/%02d/%s/%s.json", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, client_id, order_id);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    return n;
}

/* Appends "name":"<escaped value>", preceded by a comma unless first. */
static int archive_object_member(struct strbuf *out, const char *name, const char *value,
                                 int first) {
    if ((!first && strbuf_putc(out, ',') != 0) || strbuf_putc(out, '"') != 0 ||
        strbuf_puts(out, name) != 0 || strbuf_puts(out, "\":\"") != 0 ||
        strbuf_json_escape(out, value, strlen(value)) != 0 || strbuf_putc(out, '"') != 0)
        return -1;
    return 0;
}

int archive_object_document(const struct order_event *ev, struct strbuf *out) {
    char source[sizeof "/clients/" + ORDER_EVENT_CLIENT_ID_MAX];
    snprintf(source, sizeof source, "/clients/%s", ev->client_id);
    if (strbuf_putc(out, '{') != 0 || archive_object_member(out, "specversion", "1.0", 1) != 0 ||
        archive_object_member(out, "id", ev->id, 0) != 0 ||
        archive_object_member(out, "source", source, 0) != 0 ||
        archive_object_member(out, "type", "orders.order.accepted.v1", 0) != 0 ||
        archive_object_member(out, "time", ev->time, 0) != 0 ||
        archive_object_member(out, "subject", ev->order.order_id, 0) != 0 ||
        archive_object_member(out, "clientid", ev->client_id, 0) != 0 ||
        archive_object_member(out, "datacontenttype", "application/json", 0) != 0)
        return -1;
    if (ev->traceparent[0] && archive_object_member(out, "traceparent", ev->traceparent, 0) != 0)
        return -1;
    /* data is already canonical compact JSON (order_validate), embedded as is */
    if (strbuf_puts(out, ",\"data\":") != 0 || !ev->data ||
        strbuf_append(out, ev->data, ev->data_len) != 0 || strbuf_putc(out, '}') != 0)
        return -1;
    return 0;
}

int archive_batch_key(const char *topic, int32_t partition, int64_t first_offset,
                      uint64_t first_anchor, char *out, size_t outlen) {
    int n;
    if (outlen > 0)
        out[0] = '\0';
    if (partition < 0 || first_offset < 0)
        return -1;
    n = snprintf(out, outlen, "batches/%s/%" PRId32 "/%020" PRId64 "-%016" PRIx64 ".ndjson", topic,
                 partition, first_offset, first_anchor);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    return n;
}
