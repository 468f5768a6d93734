/* object: what the archive writes for an event, as pure functions: the
 * object key orders/YYYY/MM/DD/<client_id>/<order_id>.json (UTC date of
 * ce_time), the CloudEvents structured-mode JSON document, and the name of
 * a batch object. The bytes depend on the event alone, so a redelivered
 * record overwrites its object with identical bytes. */
#ifndef ARCHIVE_OBJECT_H
#define ARCHIVE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "order_event.h"

struct strbuf;

/* Longest key: "orders/" + date + client id + order id + ".json". */
#define ARCHIVE_KEY_MAX 192

/* Writes the object key of an event whose ce_time is time_unix_ms (Unix
 * milliseconds, any sign) into out[outlen]. Returns its length, or -1 when
 * it does not fit or the year is outside 0..9999 (out is then ""). */
int archive_object_key(int64_t time_unix_ms, const char *client_id, const char *order_id, char *out,
                       size_t outlen);

/* Appends the structured-mode document of `ev` (no trailing newline):
 * {"specversion","id","source","type","time","subject","clientid",
 *  "datacontenttype",["traceparent",]"data"} in that order; "time" is
 * ce_time as sent, "data" the event's canonical order JSON. 0, or -1 when
 * `out` is full (out then holds a partial document; reset it). */
int archive_object_document(const struct order_event *ev, struct strbuf *out);

/* Writes the batch object name batches/<topic>/<partition>/<first offset,
 * 20 digits>-<anchor of the first record, 16 hex digits>.ndjson into
 * out[outlen] (zero-padded, so names sort in offset order). The anchor
 * (kafka_anchor.h) keeps a recreated topic's batch at the same offset from
 * overwriting the old log's, while the same records again (a batch rebuilt
 * after a crash) get the same name. Returns its length, or -1 (out "") when
 * it does not fit or an argument is negative. */
int archive_batch_key(const char *topic, int32_t partition, int64_t first_offset,
                      uint64_t first_anchor, char *out, size_t outlen);

#endif
