/* answer: the bodies ingress-auth sends, byte for byte as the contract
 * (proto/error.schema.json, openapi.yaml) fixes them, and the answer a
 * request ends with before it is turned into an HTTP response. */
#ifndef INGRESS_ANSWER_H
#define INGRESS_ANSWER_H

#include <stddef.h>

#include "strbuf.h"

#define INGRESS_ANSWER_BODY_MAX 8192 /* an error message + pointer is far smaller */

/* The message of every 401, whatever the reason (one body for all). */
#define INGRESS_UNAUTHORIZED_MESSAGE "unauthorized"

struct ingress_answer {
    unsigned status;
    struct strbuf body;     /* JSON */
    unsigned retry_after_s; /* > 0: send Retry-After (429, 503) */
    int replayed;           /* send Idempotent-Replayed: true */
};

/* Empties an answer for use (body limit INGRESS_ANSWER_BODY_MAX). */
void ingress_answer_init(struct ingress_answer *a);

/* Frees the body. */
void ingress_answer_release(struct ingress_answer *a);

/* Appends {"error":{"code":..,"message":..[,"field":..]}} to out: message
 * and field JSON-escaped, field left out when NULL. Returns 0, or -1 if the
 * buffer refused the bytes. */
int ingress_error_json(struct strbuf *out, const char *code, const char *message,
                       const char *field);

/* Sets a to an error answer (status, body; retry_after_s for 429/503).
 * When the body cannot be built, a minimal constant body with the same code
 * is used instead, so an answer always goes out. */
void ingress_answer_error(struct ingress_answer *a, unsigned status, const char *code,
                          const char *message, const char *field, unsigned retry_after_s);

/* Appends {"order_id":..,"event_id":..,"status":"accepted"}. 0 or -1. */
int ingress_accepted_json(struct strbuf *out, const char *order_id, const char *event_id);

#endif
