/* pg: one transaction per batch: rows via COPY into a staging table, then
 * INSERT ... ON CONFLICT DO NOTHING, then conditional offset moves (pg.h). */
#include "pg.h"

#include "errmsg.h"
#include "order_event.h"
#include "rows.h"
#include "sqlstate.h"
#include "strbuf.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BILLING_PG_COPY_LIMIT (256u * 1024 * 1024) /* far above 5000 orders of 64 KiB */

struct billing_pg {
    char *host, *database, *user, *password, *sslmode;
    int port;
    long timeout_ms;
    PGconn *conn;
    struct strbuf copy; /* COPY data, reused across batches */
};

static const char billing_pg_stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS billing_stage ("
    " client_id text, order_id text, customer_id text, currency text, total_cents bigint,"
    " data jsonb, event_id uuid, received_at timestamptz, kafka_partition integer,"
    " kafka_offset bigint) ON COMMIT DELETE ROWS";

static const char billing_pg_copy_sql[] =
    "COPY pg_temp.billing_stage (" BILLING_ROWS_COLUMNS ") FROM STDIN";

/* Offsets ascending, so within a batch the first copy of an order wins. */
static const char billing_pg_insert_sql[] =
    "INSERT INTO billing.orders (client_id, order_id, customer_id, currency, total_cents,"
    " items, metadata, event_id, received_at, kafka_partition, kafka_offset)"
    " SELECT client_id, order_id, customer_id, currency, total_cents, data->'items',"
    " data->'metadata', event_id, received_at, kafka_partition, kafka_offset"
    " FROM pg_temp.billing_stage ORDER BY kafka_partition, kafka_offset"
    " ON CONFLICT (client_id, order_id) DO NOTHING";

static const char billing_pg_update_sql[] =
    "UPDATE billing.consumer_offsets SET next_offset = $5, anchor = $6, updated_at = now()"
    " WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3 AND next_offset = $4";

static const char billing_pg_first_sql[] =
    "INSERT INTO billing.consumer_offsets"
    " (consumer_group, topic, kafka_partition, next_offset, anchor)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

static const char billing_pg_load_sql[] =
    "SELECT kafka_partition, next_offset, anchor FROM billing.consumer_offsets"
    " WHERE consumer_group = $1 AND topic = $2";

static char *billing_pg_strdup(const char *s) {
    return strdup(s ? s : "");
}

struct billing_pg *billing_pg_create(const struct billing_pg_settings *s) {
    struct billing_pg *pg = calloc(1, sizeof *pg);
    if (!pg)
        return NULL;
    pg->host = billing_pg_strdup(s->host);
    pg->database = billing_pg_strdup(s->database);
    pg->user = billing_pg_strdup(s->user);
    pg->password = billing_pg_strdup(s->password);
    pg->sslmode = billing_pg_strdup(s->sslmode && *s->sslmode ? s->sslmode : "prefer");
    pg->port = s->port;
    pg->timeout_ms = s->timeout_ms;
    strbuf_init(&pg->copy, BILLING_PG_COPY_LIMIT);
    if (!pg->host || !pg->database || !pg->user || !pg->password || !pg->sslmode) {
        billing_pg_destroy(pg);
        return NULL;
    }
    return pg;
}

static void billing_pg_close(struct billing_pg *pg) {
    if (pg->conn)
        PQfinish(pg->conn);
    pg->conn = NULL;
}

void billing_pg_destroy(struct billing_pg *pg) {
    if (!pg)
        return;
    billing_pg_close(pg);
    if (pg->password)
        memset(pg->password, 0, strlen(pg->password));
    free(pg->host);
    free(pg->database);
    free(pg->user);
    free(pg->password);
    free(pg->sslmode);
    strbuf_release(&pg->copy);
    free(pg);
}

int billing_pg_connected(const struct billing_pg *pg) {
    return pg->conn && PQstatus(pg->conn) == CONNECTION_OK;
}

/* libpq messages end with a newline; logs want one line. */
static void billing_pg_conn_error(struct billing_pg *pg, const char *what, char *err,
                                  size_t errlen) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
    errmsg_set(err, errlen, "postgres %s: %s", what, msg);
}

enum billing_pg_result billing_pg_connect(struct billing_pg *pg, char *err, size_t errlen) {
    char port[8], connect_timeout[24], options[160];
    if (billing_pg_connected(pg))
        return BILLING_PG_OK;
    billing_pg_close(pg);
    snprintf(port, sizeof port, "%d", pg->port);
    snprintf(connect_timeout, sizeof connect_timeout, "%ld", (pg->timeout_ms + 999) / 1000);
    /* Bounded waits: a statement (or a lock held by a zombie) and an idle
     * transaction cannot hold the consumer or the rows forever. */
    snprintf(options, sizeof options,
             "-c statement_timeout=%ld -c idle_in_transaction_session_timeout=%ld", pg->timeout_ms,
             pg->timeout_ms);
    char tcp_timeout[24];
    snprintf(tcp_timeout, sizeof tcp_timeout, "%ld", pg->timeout_ms);
    const char *keys[] = {"host",
                          "port",
                          "dbname",
                          "user",
                          "password",
                          "sslmode",
                          "connect_timeout",
                          "options",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          NULL};
    const char *vals[] = {
        pg->host,        port,      pg->database, pg->user, pg->password, pg->sslmode,
        connect_timeout, options,   "1",          "5",      "2",          "3",
        tcp_timeout,     "billing", NULL};
    pg->conn = PQconnectdbParams(keys, vals, 0);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        billing_pg_conn_error(pg, "connect", err, errlen);
        billing_pg_close(pg);
        return BILLING_PG_ERR_TRANSIENT;
    }
    PGresult *r = PQexec(pg->conn, billing_pg_stage_sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        billing_pg_conn_error(pg, "staging table", err, errlen);
        billing_pg_close(pg);
        return BILLING_PG_ERR_TRANSIENT;
    }
    return BILLING_PG_OK;
}

/* Classifies a failed result (r may be NULL) and writes the message. */
static enum billing_pg_result billing_pg_fail(struct billing_pg *pg, PGresult *r, const char *what,
                                              char *err, size_t errlen) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (state && primary)
        errmsg_set(err, errlen, "postgres %s: %s (%s)", state, primary, what);
    else
        billing_pg_conn_error(pg, what, err, errlen);
    return billing_sqlstate_classify(state) == BILLING_PG_PERMANENT ? BILLING_PG_ERR_PERMANENT
                                                                    : BILLING_PG_ERR_TRANSIENT;
}

/* Runs a statement expected to return no rows; on success *rows (may be
 * NULL) gets its row count. */
static enum billing_pg_result billing_pg_command(struct billing_pg *pg, const char *sql,
                                                 int nparams, const char *const *params, long *rows,
                                                 const char *what, char *err, size_t errlen) {
    PGresult *r = nparams ? PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                          : PQexec(pg->conn, sql);
    enum billing_pg_result rc = BILLING_PG_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = billing_pg_fail(pg, r, what, err, errlen);
    else if (rows)
        *rows = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

/* Sends the COPY data built in pg->copy. */
static enum billing_pg_result billing_pg_copy(struct billing_pg *pg, char *err, size_t errlen) {
    PGresult *r = PQexec(pg->conn, billing_pg_copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        enum billing_pg_result rc = billing_pg_fail(pg, r, "copy", err, errlen);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    const char *data = strbuf_str(&pg->copy);
    if ((pg->copy.len > 0 && PQputCopyData(pg->conn, data, (int)pg->copy.len) != 1) ||
        PQputCopyEnd(pg->conn, NULL) != 1) {
        billing_pg_conn_error(pg, "copy", err, errlen);
        return BILLING_PG_ERR_TRANSIENT;
    }
    enum billing_pg_result rc = BILLING_PG_OK;
    int seen = 0;
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (!seen && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = billing_pg_fail(pg, r, "copy", err, errlen);
        seen = 1;
        PQclear(r);
    }
    if (!seen) {
        billing_pg_conn_error(pg, "copy", err, errlen);
        rc = BILLING_PG_ERR_TRANSIENT;
    }
    return rc;
}

/* Moves one partition's stored offset; BILLING_PG_ERR_FENCED if it was not
 * at off->expected. */
static enum billing_pg_result billing_pg_move(struct billing_pg *pg, const char *group,
                                              const char *topic,
                                              const struct billing_pg_offset *off, char *err,
                                              size_t errlen) {
    char part[16], expected[24], next[24], anchor[24];
    long rows = 0;
    enum billing_pg_result rc;
    snprintf(part, sizeof part, "%" PRId32, off->partition);
    snprintf(expected, sizeof expected, "%" PRId64, off->expected);
    snprintf(next, sizeof next, "%" PRId64, off->next);
    /* bigint holds the 64 anchor bits as a signed value */
    snprintf(anchor, sizeof anchor, "%" PRId64, (int64_t)off->anchor);
    if (off->expected == BILLING_PG_NO_OFFSET) {
        const char *params[] = {group, topic, part, next, anchor};
        rc = billing_pg_command(pg, billing_pg_first_sql, 5, params, &rows, "offset insert", err,
                                errlen);
    } else {
        const char *params[] = {group, topic, part, expected, next, anchor};
        rc = billing_pg_command(pg, billing_pg_update_sql, 6, params, &rows, "offset update", err,
                                errlen);
    }
    if (rc == BILLING_PG_ERR_PERMANENT)
        rc = BILLING_PG_ERR_TRANSIENT; /* the offsets table refusing a value is not poison */
    if (rc == BILLING_PG_OK && rows != 1) {
        errmsg_set(err, errlen,
                   "stored offset of %s [%" PRId32 "] is no longer %s: another consumer moved it",
                   topic, off->partition,
                   off->expected == BILLING_PG_NO_OFFSET ? "unset" : expected);
        rc = BILLING_PG_ERR_FENCED;
    }
    return rc;
}

/* Ends a failed transaction; a connection that cannot even roll back (or
 * lost a transient error) is closed so the next call reconnects. */
static void billing_pg_abort(struct billing_pg *pg, enum billing_pg_result rc) {
    if (!billing_pg_connected(pg)) {
        billing_pg_close(pg);
        return;
    }
    PGresult *r = PQexec(pg->conn, "ROLLBACK");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || (rc == BILLING_PG_ERR_TRANSIENT && PQstatus(pg->conn) != CONNECTION_OK))
        billing_pg_close(pg);
}

enum billing_pg_result billing_pg_write(struct billing_pg *pg, const char *group, const char *topic,
                                        const struct order_event *const *evs, size_t nev,
                                        const struct billing_pg_offset *off, size_t noff,
                                        size_t *inserted, int32_t *fenced_partition, char *err,
                                        size_t errlen) {
    enum billing_pg_result rc = billing_pg_connect(pg, err, errlen);
    long rows = 0;
    if (rc != BILLING_PG_OK)
        return rc;
    strbuf_reset(&pg->copy);
    for (size_t i = 0; i < nev; i++)
        if (billing_rows_append(&pg->copy, evs[i]) != 0) {
            errmsg_set(err, errlen, "batch of %zu orders does not fit in memory", nev);
            return BILLING_PG_ERR_TRANSIENT;
        }
    rc = billing_pg_command(pg, "BEGIN", 0, NULL, NULL, "begin", err, errlen);
    if (rc != BILLING_PG_OK)
        goto fail;
    if (nev > 0) {
        rc = billing_pg_copy(pg, err, errlen);
        if (rc != BILLING_PG_OK)
            goto fail;
        rc = billing_pg_command(pg, billing_pg_insert_sql, 0, NULL, &rows, "insert", err, errlen);
        if (rc != BILLING_PG_OK)
            goto fail;
    }
    for (size_t i = 0; i < noff; i++) {
        rc = billing_pg_move(pg, group, topic, &off[i], err, errlen);
        if (rc == BILLING_PG_ERR_FENCED && fenced_partition)
            *fenced_partition = off[i].partition;
        if (rc != BILLING_PG_OK)
            goto fail;
    }
    rc = billing_pg_command(pg, "COMMIT", 0, NULL, NULL, "commit", err, errlen);
    if (rc != BILLING_PG_OK) {
        /* Outcome unknown: if it did commit, the next write of these
         * partitions is fenced and the consumer reloads the offsets. */
        billing_pg_close(pg);
        return BILLING_PG_ERR_TRANSIENT;
    }
    if (inserted)
        *inserted = (size_t)rows;
    return BILLING_PG_OK;

fail:
    billing_pg_abort(pg, rc);
    return rc;
}

enum billing_pg_result billing_pg_load_offsets(struct billing_pg *pg, const char *group,
                                               const char *topic, const int32_t *partitions,
                                               size_t n, struct billing_pg_stored *out, char *err,
                                               size_t errlen) {
    enum billing_pg_result rc = billing_pg_connect(pg, err, errlen);
    if (rc != BILLING_PG_OK)
        return rc;
    const char *params[] = {group, topic};
    PGresult *r = PQexecParams(pg->conn, billing_pg_load_sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        billing_pg_fail(pg, r, "load offsets", err, errlen);
        PQclear(r);
        billing_pg_abort(pg, BILLING_PG_ERR_TRANSIENT);
        return BILLING_PG_ERR_TRANSIENT;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (struct billing_pg_stored){.next = BILLING_PG_NO_OFFSET};
    for (int row = 0; row < PQntuples(r); row++) {
        long part = strtol(PQgetvalue(r, row, 0), NULL, 10);
        long long next = strtoll(PQgetvalue(r, row, 1), NULL, 10);
        int has_anchor = !PQgetisnull(r, row, 2);
        long long anchor = has_anchor ? strtoll(PQgetvalue(r, row, 2), NULL, 10) : 0;
        for (size_t i = 0; i < n; i++)
            if (partitions[i] == part)
                out[i] = (struct billing_pg_stored){
                    .next = next, .has_anchor = has_anchor, .anchor = (uint64_t)anchor};
    }
    PQclear(r);
    return BILLING_PG_OK;
}
