/* crypto: HMAC-SHA256, SHA-256, hex, constant-time compare and random ids on OpenSSL 3.
 *
 * Thin wrappers over the OpenSSL 3 EVP API (EVP_MAC "HMAC" with digest
 * "SHA256", EVP_Digest, CRYPTO_memcmp, RAND_bytes), so callers never touch
 * OpenSSL types. All functions are thread-safe; an HMAC context belongs to one
 * thread at a time. */
#ifndef COMMON_CRYPTO_H
#define COMMON_CRYPTO_H

#include <stddef.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX_LEN 64 /* without the NUL */
#define CRYPTO_UUID_STR_LEN 36   /* without the NUL */

/* An incremental HMAC-SHA256 computation (opaque). */
struct crypto_hmac;

/* One-shot HMAC-SHA256 of `data` under `key` into `out`. `key` may be empty
 * (keylen 0) and `data` may be NULL when len is 0. Returns 0, or -1 on an
 * OpenSSL failure (out is then unspecified). */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[CRYPTO_SHA256_LEN]);

/* Starts an incremental HMAC-SHA256 under `key` (copied into OpenSSL's state;
 * the caller's buffer may be wiped afterwards). Returns the context, or NULL
 * on allocation/OpenSSL failure. Free with crypto_hmac_destroy. */
struct crypto_hmac *crypto_hmac_create(const void *key, size_t keylen);

/* Feeds `len` bytes (data may be NULL when len is 0). Returns 0 or -1. */
int crypto_hmac_update(struct crypto_hmac *h, const void *data, size_t len);

/* Writes the 32-byte MAC of everything fed since create/reset. Afterwards the
 * context only accepts crypto_hmac_reset or crypto_hmac_destroy. 0 or -1. */
int crypto_hmac_final(struct crypto_hmac *h, unsigned char out[CRYPTO_SHA256_LEN]);

/* Restarts the computation with the same key (cheaper than a new context,
 * e.g. to MAC many messages under one secret). Returns 0 or -1. */
int crypto_hmac_reset(struct crypto_hmac *h);

/* Frees the context and the key material it holds. NULL is a no-op. */
void crypto_hmac_destroy(struct crypto_hmac *h);

/* SHA-256 of `data` (may be NULL when len is 0) into `out`. 0 or -1. */
int crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* Writes the lowercase hex form of `n` bytes plus a NUL: `out` must hold
 * 2n+1 bytes. Cannot fail. */
void crypto_hex_encode(const unsigned char *in, size_t n, char *out);

/* Strictly decodes `hexlen` characters of lowercase hex into `out`. Uppercase
 * digits are REJECTED: the signature header is specified as lowercase hex and
 * accepting one spelling per value keeps the check simple. Returns 0 and sets
 * *outlen = hexlen/2, or -1 (out contents unspecified) if hexlen is odd, a
 * character is not in [0-9a-f], or the result would exceed `outcap`. */
int crypto_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outcap,
                      size_t *outlen);

/* Compares `n` bytes in time independent of their contents (CRYPTO_memcmp).
 * Returns 1 when equal, 0 when different. */
int crypto_equal_ct(const void *a, const void *b, size_t n);

/* Fills `buf` with `n` bytes from the OpenSSL CSPRNG. 0, or -1 on failure
 * (never returns weak randomness). */
int crypto_random_bytes(void *buf, size_t n);

/* Writes a random (version 4, RFC 9562) UUID in its 36-character lowercase
 * textual form plus a NUL, e.g. "1b4e28ba-2fa1-4d2b-883f-0016d3cca427".
 * Returns 0, or -1 if the random generator failed (out is then ""). */
int crypto_uuid_v4(char out[CRYPTO_UUID_STR_LEN + 1]);

#endif
