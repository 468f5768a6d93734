/* auth: X-Client-Id / X-Timestamp / X-Signature checks with HMAC-SHA256 over every secret. */
#include "auth.h"

#include "clients.h"

#include <string.h>

const char *ingress_auth_failure_name(enum ingress_auth_failure reason) {
    switch (reason) {
    case INGRESS_AUTH_OK:
        return "ok";
    case INGRESS_AUTH_MISSING_HEADER:
        return "missing_header";
    case INGRESS_AUTH_BAD_CLIENT_ID:
        return "bad_client_id";
    case INGRESS_AUTH_UNKNOWN_CLIENT:
        return "unknown_client";
    case INGRESS_AUTH_BAD_TIMESTAMP:
        return "bad_timestamp";
    case INGRESS_AUTH_STALE_TIMESTAMP:
        return "stale_timestamp";
    case INGRESS_AUTH_BAD_SIGNATURE_FORMAT:
        return "bad_signature_format";
    case INGRESS_AUTH_SIGNATURE_MISMATCH:
        return "signature_mismatch";
    case INGRESS_AUTH_INTERNAL_ERROR:
        return "internal_error";
    }
    return "unknown";
}

int ingress_auth_parse_timestamp(const char *value, uint64_t *out) {
    uint64_t x = 0;
    size_t n = 0;
    if (!value)
        return -1;
    for (; value[n] >= '0' && value[n] <= '9'; n++) {
        if (n == INGRESS_AUTH_TIMESTAMP_MAX_DIGITS)
            return -1;
        x = x * 10 + (uint64_t)(value[n] - '0'); /* 19 digits < 2^64: no overflow */
    }
    if (n == 0 || value[n] != '\0')
        return -1;
    *out = x;
    return 0;
}

int ingress_auth_parse_signature(const char *value, unsigned char mac[CRYPTO_SHA256_LEN]) {
    size_t plen = strlen(INGRESS_AUTH_SIGNATURE_PREFIX), n;
    if (!value)
        return -1;
    if (strncmp(value, INGRESS_AUTH_SIGNATURE_PREFIX, plen) == 0)
        value += plen;
    if (strnlen(value, CRYPTO_SHA256_HEX_LEN + 1) != CRYPTO_SHA256_HEX_LEN)
        return -1;
    /* crypto_hex_decode refuses uppercase digits, as the contract does. */
    if (crypto_hex_decode(value, CRYPTO_SHA256_HEX_LEN, mac, CRYPTO_SHA256_LEN, &n) != 0 ||
        n != CRYPTO_SHA256_LEN)
        return -1;
    return 0;
}

int ingress_auth_mac(const void *secret, size_t secret_len, const char *timestamp, const char *body,
                     size_t body_len, unsigned char mac[CRYPTO_SHA256_LEN]) {
    const char *middle = INGRESS_AUTH_SIGNED_MIDDLE;
    struct crypto_hmac *h = crypto_hmac_create(secret, secret_len);
    int rc = -1;
    if (!h)
        return -1;
    if (crypto_hmac_update(h, timestamp, strlen(timestamp)) != 0 ||
        crypto_hmac_update(h, middle, strlen(middle)) != 0 ||
        crypto_hmac_update(h, body_len ? body : NULL, body_len) != 0 ||
        crypto_hmac_final(h, mac) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    crypto_hmac_destroy(h);
    return rc;
}

/* |now - ts| <= window_s, without overflow for any inputs. */
static int within_window(uint64_t ts, time_t now, long window_s) {
    if (window_s < 0 || ts > (uint64_t)INT64_MAX)
        return 0;
    int64_t t = (int64_t)ts, n = (int64_t)now;
    /* The true distance fits in uint64_t; unsigned subtraction computes it. */
    uint64_t dist = t >= n ? (uint64_t)t - (uint64_t)n : (uint64_t)n - (uint64_t)t;
    return dist <= (uint64_t)window_s;
}

static int auth_fail(enum ingress_auth_failure *reason, enum ingress_auth_failure r) {
    if (reason)
        *reason = r;
    return -1;
}

int ingress_auth_check(const struct ingress_clients *clients, const char *client_id,
                       const char *timestamp, const char *signature, const char *body,
                       size_t body_len, time_t now, long window_s,
                       enum ingress_auth_failure *reason) {
    unsigned char want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
    uint64_t ts;
    int matched = 0, failed = 0;

    if (!client_id || !timestamp || !signature)
        return auth_fail(reason, INGRESS_AUTH_MISSING_HEADER);
    if (!ingress_client_id_valid(client_id))
        return auth_fail(reason, INGRESS_AUTH_BAD_CLIENT_ID);
    if (ingress_auth_parse_timestamp(timestamp, &ts) != 0)
        return auth_fail(reason, INGRESS_AUTH_BAD_TIMESTAMP);
    if (ingress_auth_parse_signature(signature, want) != 0)
        return auth_fail(reason, INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    const struct ingress_client *c = ingress_clients_find(clients, client_id);
    if (!c)
        return auth_fail(reason, INGRESS_AUTH_UNKNOWN_CLIENT);
    if (!within_window(ts, now, window_s))
        return auth_fail(reason, INGRESS_AUTH_STALE_TIMESTAMP);

    /* Every secret, no early exit: which one matched must not show. */
    for (size_t i = 0; i < c->nsecrets; i++) {
        const struct ingress_secret *s = &c->secrets[i];
        if (ingress_auth_mac(s->data, s->len, timestamp, body, body_len, got) != 0) {
            failed = 1;
            continue;
        }
        matched |= crypto_equal_ct(got, want, sizeof(want));
    }
    explicit_bzero(got, sizeof(got));
    if (!matched)
        return auth_fail(reason,
                         failed ? INGRESS_AUTH_INTERNAL_ERROR : INGRESS_AUTH_SIGNATURE_MISMATCH);
    if (reason)
        *reason = INGRESS_AUTH_OK;
    return 0;
}
