/* redis_reply: turns the replies of ingress-auth's Lua scripts into results.
 * Pure functions (no I/O), so every shape a reply can take is unit-tested. */
#ifndef INGRESS_REDIS_REPLY_H
#define INGRESS_REDIS_REPLY_H

#include <hiredis.h>

#include "idempotency.h"
#include "ratelimit.h"

/* Whole seconds, >= 1, covering wait_ms (rounded up). */
unsigned ingress_rl_retry_after_s(long long wait_ms);

/* Reads the token-bucket reply {allowed 1|0, wait_ms}. Returns ALLOWED or
 * LIMITED (then *retry_after_s, if not NULL, is set), or UNAVAILABLE when
 * the reply has another shape. */
enum ingress_rl_result ingress_rl_parse_reply(const redisReply *reply, unsigned *retry_after_s);

/* Reads the claim reply {'claimed'} | {'in_progress'} | {'conflict'} |
 * {'replay', status, body}. On REPLAY fills *answer with a malloc'd,
 * NUL-terminated copy of the body (binary-safe, body_len exact). Returns
 * UNAVAILABLE (answer left empty) on any other shape, a status outside
 * 100..599, or out of memory. */
enum ingress_idem_claim_result ingress_idem_parse_claim(const redisReply *reply,
                                                        struct ingress_idem_answer *answer);

/* Reads the reply of the rate limit + claim script: {'limited', wait_ms}
 * gives RATE_LIMITED (then *retry_after_s, if not NULL, is set as
 * ingress_rl_parse_reply would), any other shape is read as a claim reply
 * (ingress_idem_parse_claim). */
enum ingress_idem_claim_result ingress_idem_parse_rated_claim(const redisReply *reply,
                                                              unsigned *retry_after_s,
                                                              struct ingress_idem_answer *answer);

/* Reads the 0/1 integer reply of complete and release: 1, 0, or -1 when
 * the reply has another shape. */
int ingress_idem_parse_flag(const redisReply *reply);

#endif
