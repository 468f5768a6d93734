/* redis_reply: strict parsing of the Lua scripts' replies. */
#include "redis_reply.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

unsigned ingress_rl_retry_after_s(long long wait_ms) {
    if (wait_ms <= 1000)
        return 1;
    long long s = wait_ms / 1000 + (wait_ms % 1000 != 0);
    return s > (long long)UINT_MAX ? UINT_MAX : (unsigned)s;
}

enum ingress_rl_result ingress_rl_parse_reply(const redisReply *reply, unsigned *retry_after_s) {
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER)
        return INGRESS_RL_UNAVAILABLE;
    long long allowed = reply->element[0]->integer;
    if (allowed == 1)
        return INGRESS_RL_ALLOWED;
    if (allowed != 0 || reply->element[1]->integer < 0)
        return INGRESS_RL_UNAVAILABLE;
    if (retry_after_s)
        *retry_after_s = ingress_rl_retry_after_s(reply->element[1]->integer);
    return INGRESS_RL_LIMITED;
}

/* 1 if element i of the array is a bulk string equal to s. */
static int reply_str_is(const redisReply *reply, size_t i, const char *s) {
    const redisReply *e = reply->element[i];
    return e->type == REDIS_REPLY_STRING && e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* Parses a decimal HTTP status 100..599 from a bulk string; -1 if not. */
static int reply_status(const redisReply *e) {
    if (e->type != REDIS_REPLY_STRING || e->len != 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < 3; i++) {
        if (e->str[i] < '0' || e->str[i] > '9')
            return -1;
        v = v * 10 + (e->str[i] - '0');
    }
    return v >= 100 && v <= 599 ? v : -1;
}

enum ingress_idem_claim_result ingress_idem_parse_claim(const redisReply *reply,
                                                        struct ingress_idem_answer *answer) {
    if (answer)
        memset(answer, 0, sizeof *answer);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return INGRESS_IDEM_UNAVAILABLE;
    if (reply->elements == 1) {
        if (reply_str_is(reply, 0, "claimed"))
            return INGRESS_IDEM_CLAIMED;
        if (reply_str_is(reply, 0, "in_progress"))
            return INGRESS_IDEM_IN_PROGRESS;
        if (reply_str_is(reply, 0, "conflict"))
            return INGRESS_IDEM_CONFLICT;
        return INGRESS_IDEM_UNAVAILABLE;
    }
    if (reply->elements != 3 || !reply_str_is(reply, 0, "replay") ||
        reply->element[2]->type != REDIS_REPLY_STRING || !answer)
        return INGRESS_IDEM_UNAVAILABLE;
    int status = reply_status(reply->element[1]);
    if (status < 0)
        return INGRESS_IDEM_UNAVAILABLE;
    const redisReply *b = reply->element[2];
    char *body = malloc(b->len + 1);
    if (!body)
        return INGRESS_IDEM_UNAVAILABLE;
    memcpy(body, b->str, b->len);
    body[b->len] = '\0';
    answer->status = status;
    answer->body = body;
    answer->body_len = b->len;
    return INGRESS_IDEM_REPLAY;
}

enum ingress_idem_claim_result ingress_idem_parse_rated_claim(const redisReply *reply,
                                                              unsigned *retry_after_s,
                                                              struct ingress_idem_answer *answer) {
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply_str_is(reply, 0, "limited")) {
        if (answer)
            memset(answer, 0, sizeof *answer);
        if (reply->element[1]->type != REDIS_REPLY_INTEGER || reply->element[1]->integer < 0)
            return INGRESS_IDEM_UNAVAILABLE;
        if (retry_after_s)
            *retry_after_s = ingress_rl_retry_after_s(reply->element[1]->integer);
        return INGRESS_IDEM_RATE_LIMITED;
    }
    return ingress_idem_parse_claim(reply, answer);
}

int ingress_idem_parse_flag(const redisReply *reply) {
    if (!reply || reply->type != REDIS_REPLY_INTEGER ||
        (reply->integer != 0 && reply->integer != 1))
        return -1;
    return (int)reply->integer;
}
