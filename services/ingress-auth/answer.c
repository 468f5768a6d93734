/* answer: JSON bodies of ingress-auth's answers. */
#include "answer.h"

#include <string.h>

void ingress_answer_init(struct ingress_answer *a) {
    memset(a, 0, sizeof *a);
    strbuf_init(&a->body, INGRESS_ANSWER_BODY_MAX);
}

void ingress_answer_release(struct ingress_answer *a) {
    strbuf_release(&a->body);
}

static int ingress_json_string(struct strbuf *out, const char *s) {
    int r = strbuf_putc(out, '"');
    r |= strbuf_json_escape(out, s, strlen(s));
    r |= strbuf_putc(out, '"');
    return r ? -1 : 0;
}

int ingress_error_json(struct strbuf *out, const char *code, const char *message,
                       const char *field) {
    int r = strbuf_puts(out, "{\"error\":{\"code\":");
    r |= ingress_json_string(out, code);
    r |= strbuf_puts(out, ",\"message\":");
    r |= ingress_json_string(out, message && *message ? message : code);
    if (field) {
        r |= strbuf_puts(out, ",\"field\":");
        r |= ingress_json_string(out, field);
    }
    r |= strbuf_puts(out, "}}");
    return r ? -1 : 0;
}

void ingress_answer_error(struct ingress_answer *a, unsigned status, const char *code,
                          const char *message, const char *field, unsigned retry_after_s) {
    a->status = status;
    a->retry_after_s = retry_after_s;
    a->replayed = 0;
    strbuf_reset(&a->body);
    if (ingress_error_json(&a->body, code, message, field) != 0) {
        strbuf_reset(&a->body);
        /* code is one of the contract's fixed identifiers: no escaping needed */
        strbuf_printf(&a->body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, code);
    }
}

int ingress_accepted_json(struct strbuf *out, const char *order_id, const char *event_id) {
    int r = strbuf_puts(out, "{\"order_id\":");
    r |= ingress_json_string(out, order_id);
    r |= strbuf_puts(out, ",\"event_id\":");
    r |= ingress_json_string(out, event_id);
    r |= strbuf_puts(out, ",\"status\":\"accepted\"}");
    return r ? -1 : 0;
}
