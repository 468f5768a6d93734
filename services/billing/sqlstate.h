/* sqlstate: decides what a failed Postgres write means for the consumer.
 *
 * Only errors that the same rows will hit again, whatever the server's
 * state, are poison: data exceptions (class 22: value out of range, bad
 * text representation...) and integrity violations (class 23: check, not
 * null, foreign key) except unique_violation 23505, which ON CONFLICT makes
 * impossible for orders and which on the offsets table means a concurrent
 * writer (a zombie), never bad data. Everything else, including an error
 * without SQLSTATE (connection lost), is transient: wait, retry, never
 * dead-letter, so an outage or a wrong grant cannot drain the topic into
 * the DLQ. */
#ifndef BILLING_SQLSTATE_H
#define BILLING_SQLSTATE_H

enum billing_pg_class {
    BILLING_PG_TRANSIENT = 0, /* retry the same batch later with backoff */
    BILLING_PG_PERMANENT = 1, /* the data itself is refused: isolate the row */
};

/* Classifies a SQLSTATE (5 characters; NULL or malformed: no server answer,
 * so transient). */
enum billing_pg_class billing_sqlstate_classify(const char *sqlstate);

#endif
