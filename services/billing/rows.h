/* rows: encodes decoded order events as rows of COPY's text format for the
 * staging table (pg.h), one line per event:
 *
 *   client_id \t order_id \t customer_id \t currency \t total_cents \t
 *   order JSON \t event_id \t ce_time \t kafka_partition \t kafka_offset \n
 *
 * Text fields are escaped as COPY requires (backslash, tab, newline,
 * carriage return), so any UTF-8 a valid order may hold arrives intact;
 * items and metadata are taken from the order JSON by the INSERT ... SELECT. */
#ifndef BILLING_ROWS_H
#define BILLING_ROWS_H

#include <stddef.h>

struct strbuf;
struct order_event;

/* Column list of the staging table, in the order billing_rows_append
 * writes them. */
#define BILLING_ROWS_COLUMNS                                                                       \
    "client_id, order_id, customer_id, currency, total_cents, data, event_id, received_at, "       \
    "kafka_partition, kafka_offset"

/* Appends `n` bytes of `s` escaped for COPY text format. Returns 0, or -1 if
 * `out` hit its limit. */
int billing_rows_escape(struct strbuf *out, const char *s, size_t n);

/* Appends the line of `ev` (with its partition and offset). Returns 0, or -1
 * if `out` hit its limit (out->overflow is set; discard the buffer). */
int billing_rows_append(struct strbuf *out, const struct order_event *ev);

#endif
