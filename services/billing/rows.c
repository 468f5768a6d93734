/* rows: COPY text-format lines of order events (see rows.h). */
#include "rows.h"

#include "order_event.h"
#include "strbuf.h"

#include <inttypes.h>
#include <string.h>

int billing_rows_escape(struct strbuf *out, const char *s, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        if (strbuf_append(out, s + start, i - start) != 0 || strbuf_puts(out, esc) != 0)
            return -1;
        start = i + 1;
    }
    return strbuf_append(out, s + start, n - start);
}

static int billing_rows_text(struct strbuf *out, const char *s, char sep) {
    if (billing_rows_escape(out, s, strlen(s)) != 0)
        return -1;
    return strbuf_putc(out, sep);
}

int billing_rows_append(struct strbuf *out, const struct order_event *ev) {
    const struct order_summary *o = &ev->order;
    if (billing_rows_text(out, ev->client_id, '\t') != 0 ||
        billing_rows_text(out, o->order_id, '\t') != 0 ||
        billing_rows_text(out, o->customer_id, '\t') != 0 ||
        billing_rows_text(out, o->currency, '\t') != 0 ||
        strbuf_printf(out, "%" PRId64 "\t", o->total_cents) != 0 ||
        billing_rows_escape(out, ev->data, ev->data_len) != 0 || strbuf_putc(out, '\t') != 0 ||
        billing_rows_text(out, ev->id, '\t') != 0 || billing_rows_text(out, ev->time, '\t') != 0 ||
        strbuf_printf(out, "%" PRId32 "\t%" PRId64 "\n", ev->partition, ev->offset) != 0)
        return -1;
    return 0;
}
