/* pg: the billing writer. One libpq connection, as the least-privilege
 * billing role, writing a batch of orders and the consumed offsets in ONE
 * transaction:
 *
 *   BEGIN;
 *   COPY pg_temp.billing_stage FROM STDIN;           -- rows.h lines
 *   INSERT INTO billing.orders SELECT ... FROM pg_temp.billing_stage
 *     ON CONFLICT (client_id, order_id) DO NOTHING;  -- redelivery: no-op
 *   UPDATE billing.consumer_offsets SET next_offset = <next>, anchor = <a>
 *     WHERE <group, topic, partition> AND next_offset = <expected>;
 *     (or INSERT ... ON CONFLICT DO NOTHING when no row was expected)
 *   COMMIT;
 *
 * The offset write is conditional on the value this consumer last saw, so a
 * zombie (an instance that lost the partition but still writes) or a commit
 * whose outcome was lost with the connection finds 0 rows, and the whole
 * transaction rolls back: BILLING_PG_FENCED. The caller then reloads the
 * stored offset and seeks there. */
#ifndef BILLING_PG_H
#define BILLING_PG_H

#include <stddef.h>
#include <stdint.h>

struct order_event;
struct billing_pg;

struct billing_pg_settings {
    const char *host, *database, *user, *password, *sslmode; /* borrowed */
    int port;
    long timeout_ms; /* connect timeout and statement_timeout */
};

enum billing_pg_result {
    BILLING_PG_OK = 0,
    BILLING_PG_ERR_TRANSIENT = -1, /* outage, timeout, lost connection: retry */
    BILLING_PG_ERR_PERMANENT = -2, /* the rows are refused (sqlstate.h): isolate */
    BILLING_PG_ERR_FENCED = -3,    /* a stored offset moved under us: reload it */
};

/* No row stored yet for a partition. */
#define BILLING_PG_NO_OFFSET INT64_C(-1)

/* One partition's offset move in a write: from `expected` (the stored value
 * this consumer knows, or BILLING_PG_NO_OFFSET) to `next`, with the anchor
 * (common/kafka_anchor.h) of the record at next - 1. */
struct billing_pg_offset {
    int32_t partition;
    int64_t expected;
    int64_t next;
    uint64_t anchor;
};

/* A stored position: next offset (BILLING_PG_NO_OFFSET when none is
 * stored) and, when has_anchor, the anchor of the record before it. */
struct billing_pg_stored {
    int64_t next;
    int has_anchor;
    uint64_t anchor;
};

/* Creates a writer (not yet connected; strings are copied). Returns NULL when
 * out of memory. Free with billing_pg_destroy. */
struct billing_pg *billing_pg_create(const struct billing_pg_settings *s);

/* Closes the connection and frees the writer. NULL is a no-op. */
void billing_pg_destroy(struct billing_pg *pg);

/* 1 when a connection is open and believed healthy. */
int billing_pg_connected(const struct billing_pg *pg);

/* Opens the connection if needed and prepares the staging table. Returns
 * BILLING_PG_OK or BILLING_PG_ERR_TRANSIENT with a message in err (never
 * the password). */
enum billing_pg_result billing_pg_connect(struct billing_pg *pg, char *err, size_t errlen);

/* Reads the stored positions of `n` partitions of group/topic into out[i]
 * (next = BILLING_PG_NO_OFFSET where none is stored). Returns BILLING_PG_OK
 * or BILLING_PG_ERR_TRANSIENT. */
enum billing_pg_result billing_pg_load_offsets(struct billing_pg *pg, const char *group,
                                               const char *topic, const int32_t *partitions,
                                               size_t n, struct billing_pg_stored *out, char *err,
                                               size_t errlen);

/* Writes `nev` events (may be 0) and `noff` offset moves in one transaction.
 * On BILLING_PG_OK, *inserted (may be NULL) is the number of new orders
 * (the rest were duplicates). On BILLING_PG_ERR_FENCED, *fenced_partition
 * (may be NULL) names the first partition whose offset moved. On any error
 * nothing was written, err holds "postgres <SQLSTATE>: <message>" or the
 * connection problem; a transient error closes the connection so the next
 * call reconnects. */
enum billing_pg_result billing_pg_write(struct billing_pg *pg, const char *group, const char *topic,
                                        const struct order_event *const *evs, size_t nev,
                                        const struct billing_pg_offset *off, size_t noff,
                                        size_t *inserted, int32_t *fenced_partition, char *err,
                                        size_t errlen);

#endif
