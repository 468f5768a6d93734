/* sign: the request signature of DESIGN.md and the `ordersctl sign` command.
 *
 * X-Signature is "sha256=" + lowercase hex HMAC-SHA256 under the client
 * secret of the string to sign
 *     <X-Timestamp> "\n" "POST" "\n" "/orders" "\n" <raw body bytes>
 * computed with common/crypto. A signer keeps one HMAC context per secret so
 * the load generator pays no key setup per request. */
#ifndef ORDERSCTL_SIGN_H
#define ORDERSCTL_SIGN_H

#include <stddef.h>

struct strbuf;
struct ordersctl_opts;

#define ORDERSCTL_SIG_HEX_LEN 64 /* without "sha256=" and the NUL */

/* A reusable HMAC-SHA256 under one secret (opaque; one thread at a time). */
struct ordersctl_signer;

/* Creates a signer; the secret is copied into OpenSSL's state, so the
 * caller may wipe its buffer afterwards. Returns NULL on failure. Free with
 * ordersctl_signer_destroy. */
struct ordersctl_signer *ordersctl_signer_create(const void *secret, size_t secretlen);

/* Frees the signer and its key material. NULL is a no-op. */
void ordersctl_signer_destroy(struct ordersctl_signer *s);

/* Writes the 64 lowercase hex digits (plus NUL) of the signature of `body`
 * at Unix time `ts`. Returns 0, or -1 on an OpenSSL failure. */
int ordersctl_signer_sign(struct ordersctl_signer *s, long long ts, const void *body, size_t len,
                          char hex[ORDERSCTL_SIG_HEX_LEN + 1]);

/* One-shot form of the above. 0 or -1. */
int ordersctl_sign_hex(const void *secret, size_t secretlen, long long ts, const void *body,
                       size_t len, char hex[ORDERSCTL_SIG_HEX_LEN + 1]);

/* Appends the three header lines, each ending in "\n":
 *   X-Client-Id: <id>\nX-Timestamp: <ts>\nX-Signature: sha256=<hex>\n
 * Returns 0, or -1 if the buffer refused the bytes. */
int ordersctl_sign_format_headers(struct strbuf *out, const char *client_id, long long ts,
                                  const char *hex);

/* Appends a ready-to-paste multi-line curl command POSTing `body` to `url`
 * with Content-Type and the three headers; arguments are single-quoted for a
 * POSIX shell and the body is passed with --data-raw (exact bytes). Returns
 * 0, or -1 if the body holds a NUL byte (not expressible) or the buffer
 * refused the bytes. */
int ordersctl_sign_format_curl(struct strbuf *out, const char *url, const char *client_id,
                               long long ts, const char *hex, const char *body, size_t len);

/* Runs `ordersctl sign` with parsed options: prints the headers (or the curl
 * command) to stdout, errors to stderr. Returns an ORDERSCTL_EXIT_* status. */
int ordersctl_sign_run(const struct ordersctl_opts *o);

#endif
