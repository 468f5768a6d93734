/* auth: authentication of a POST /orders request from its three headers and raw body.
 *
 * DESIGN.md / proto/openapi.yaml: X-Client-Id is 1-64 of [A-Za-z0-9._-];
 * X-Timestamp is Unix seconds as 1-19 decimal digits (no sign, no spaces)
 * within `window_s` of the server clock (both edges allowed); X-Signature is
 * 64 lowercase hex digits, optionally prefixed "sha256=", of the HMAC-SHA256,
 * keyed with one of the client's secrets, of
 *     <X-Timestamp> "\n" "POST" "\n" "/orders" "\n" <raw body bytes>
 * (the header value exactly as sent). Every secret of the client is tried,
 * always all of them, each compared in constant time, so neither the result
 * time nor the code path tells which secret matched.
 *
 * The precise reason is for logs and metrics only: the HTTP answer is the
 * same 401 for all of them. Client ids are not secret: an unknown id is
 * refused before any HMAC is computed. */
#ifndef INGRESS_AUTH_H
#define INGRESS_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"

struct ingress_clients;

#define INGRESS_AUTH_TIMESTAMP_MAX_DIGITS 19
#define INGRESS_AUTH_SIGNATURE_PREFIX "sha256="
#define INGRESS_AUTH_SIGNED_MIDDLE "\nPOST\n/orders\n" /* between timestamp and body */

enum ingress_auth_failure {
    INGRESS_AUTH_OK = 0,
    INGRESS_AUTH_MISSING_HEADER,       /* a header is absent (NULL) */
    INGRESS_AUTH_BAD_CLIENT_ID,        /* X-Client-Id syntax */
    INGRESS_AUTH_UNKNOWN_CLIENT,       /* well-formed id not in the registry */
    INGRESS_AUTH_BAD_TIMESTAMP,        /* X-Timestamp syntax */
    INGRESS_AUTH_STALE_TIMESTAMP,      /* more than window_s away from now */
    INGRESS_AUTH_BAD_SIGNATURE_FORMAT, /* X-Signature syntax */
    INGRESS_AUTH_SIGNATURE_MISMATCH,   /* no secret of the client verifies it */
    INGRESS_AUTH_INTERNAL_ERROR,       /* OpenSSL/allocation failure: not the client's fault */
};

/* Authenticates one request. `now` is the server's Unix time; window_s the
 * allowed skew in seconds (a negative window refuses every timestamp).
 * `body` may be NULL when body_len is 0; it is fed to the HMAC in place,
 * never copied. Returns 0 when a secret of the client verifies the
 * signature, else -1 with *reason set (if reason is not NULL; it is set to
 * INGRESS_AUTH_OK on success). Checks run in this order: missing header,
 * client id, timestamp syntax, signature syntax, unknown client, window,
 * signature. */
int ingress_auth_check(const struct ingress_clients *clients, const char *client_id,
                       const char *timestamp, const char *signature, const char *body,
                       size_t body_len, time_t now, long window_s,
                       enum ingress_auth_failure *reason);

/* The reason's name for logs and metric labels, e.g. "stale_timestamp";
 * "unknown" for a value outside the enum. A static string. */
const char *ingress_auth_failure_name(enum ingress_auth_failure reason);

/* Parses X-Timestamp: 1-19 ASCII digits and nothing else (leading zeros are
 * allowed: the value is signed as sent). 0 and *out set, or -1. */
int ingress_auth_parse_timestamp(const char *value, uint64_t *out);

/* Parses X-Signature: optional "sha256=" then exactly 64 lowercase hex
 * digits. 0 with the 32 bytes in mac, or -1. */
int ingress_auth_parse_signature(const char *value, unsigned char mac[CRYPTO_SHA256_LEN]);

/* HMAC-SHA256 under `secret` of timestamp "\nPOST\n/orders\n" body, fed
 * incrementally. 0, or -1 on an OpenSSL failure. */
int ingress_auth_mac(const void *secret, size_t secret_len, const char *timestamp, const char *body,
                     size_t body_len, unsigned char mac[CRYPTO_SHA256_LEN]);

#endif
