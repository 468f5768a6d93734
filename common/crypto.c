/* crypto: HMAC-SHA256, SHA-256, hex, constant-time compare and random ids on OpenSSL 3. */
#include "crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct crypto_hmac {
    EVP_MAC_CTX *ctx;
};

/* The fetched HMAC implementation, shared by all contexts. Fetching is a
 * provider lookup under a lock, so it is done once per process and kept
 * (still reachable at exit, so not reported as a leak). */
static EVP_MAC *crypto_hmac_impl;
static pthread_once_t crypto_hmac_once = PTHREAD_ONCE_INIT;

static void crypto_hmac_fetch(void) {
    crypto_hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

struct crypto_hmac *crypto_hmac_create(const void *key, size_t keylen) {
    /* OpenSSL treats a NULL key as "keep the previous key", so an empty key
     * must still be passed as a valid pointer. */
    static const unsigned char empty_key[1] = {0};
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    struct crypto_hmac *h = NULL;

    if (pthread_once(&crypto_hmac_once, crypto_hmac_fetch) != 0 || !crypto_hmac_impl)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->ctx = EVP_MAC_CTX_new(crypto_hmac_impl);
    if (!h->ctx)
        goto err;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(h->ctx, keylen ? key : empty_key, keylen, params) != 1)
        goto err;
    return h;
err:
    crypto_hmac_destroy(h);
    return NULL;
}

int crypto_hmac_update(struct crypto_hmac *h, const void *data, size_t len) {
    if (len == 0)
        return 0;
    return EVP_MAC_update(h->ctx, data, len) == 1 ? 0 : -1;
}

int crypto_hmac_final(struct crypto_hmac *h, unsigned char out[CRYPTO_SHA256_LEN]) {
    size_t outlen = 0;
    if (EVP_MAC_final(h->ctx, out, &outlen, CRYPTO_SHA256_LEN) != 1)
        return -1;
    return outlen == CRYPTO_SHA256_LEN ? 0 : -1;
}

int crypto_hmac_reset(struct crypto_hmac *h) {
    /* A NULL key re-initialises with the key already set. */
    return EVP_MAC_init(h->ctx, NULL, 0, NULL) == 1 ? 0 : -1;
}

void crypto_hmac_destroy(struct crypto_hmac *h) {
    if (!h)
        return;
    EVP_MAC_CTX_free(h->ctx); /* cleanses the key schedule */
    free(h);
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[CRYPTO_SHA256_LEN]) {
    int rc = -1;
    struct crypto_hmac *h = crypto_hmac_create(key, keylen);
    if (!h)
        return -1;
    if (crypto_hmac_update(h, data, len) != 0)
        goto cleanup;
    if (crypto_hmac_final(h, out) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    crypto_hmac_destroy(h);
    return rc;
}

int crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]) {
    static const unsigned char empty[1] = {0};
    unsigned int outlen = 0;
    if (EVP_Digest(len ? data : empty, len, out, &outlen, EVP_sha256(), NULL) != 1)
        return -1;
    return outlen == CRYPTO_SHA256_LEN ? 0 : -1;
}

void crypto_hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

/* Value of one lowercase hex digit, or -1. */
static int crypto_hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int crypto_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outcap,
                      size_t *outlen) {
    if (hexlen % 2 != 0 || hexlen / 2 > outcap)
        return -1;
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = crypto_hex_value(hex[2 * i]);
        int lo = crypto_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *outlen = hexlen / 2;
    return 0;
}

int crypto_equal_ct(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}

int crypto_random_bytes(void *buf, size_t n) {
    unsigned char *p = buf;
    /* RAND_bytes takes an int length. */
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return -1;
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

int crypto_uuid_v4(char out[CRYPTO_UUID_STR_LEN + 1]) {
    unsigned char b[16];
    char hex[33];

    out[0] = '\0';
    if (crypto_random_bytes(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* variant 10xx (RFC 9562) */
    crypto_hex_encode(b, sizeof(b), hex);
    /* 8-4-4-4-12 */
    memcpy(out, hex, 8);
    out[8] = '-';
    memcpy(out + 9, hex + 8, 4);
    out[13] = '-';
    memcpy(out + 14, hex + 12, 4);
    out[18] = '-';
    memcpy(out + 19, hex + 16, 4);
    out[23] = '-';
    memcpy(out + 24, hex + 20, 12);
    out[36] = '\0';
    return 0;
}
