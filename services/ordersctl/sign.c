/* sign: the request signature of DESIGN.md and the `ordersctl sign` command. */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "crypto.h"
#include "gen.h"
#include "strbuf.h"

struct ordersctl_signer {
    struct crypto_hmac *hmac;
};

struct ordersctl_signer *ordersctl_signer_create(const void *secret, size_t secretlen) {
    struct ordersctl_signer *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->hmac = crypto_hmac_create(secret, secretlen);
    if (!s->hmac) {
        free(s);
        return NULL;
    }
    return s;
}

void ordersctl_signer_destroy(struct ordersctl_signer *s) {
    if (!s)
        return;
    crypto_hmac_destroy(s->hmac);
    free(s);
}

int ordersctl_signer_sign(struct ordersctl_signer *s, long long ts, const void *body, size_t len,
                          char hex[ORDERSCTL_SIG_HEX_LEN + 1]) {
    static const char middle[] = "\nPOST\n/orders\n";
    unsigned char mac[CRYPTO_SHA256_LEN];
    char tsbuf[24];
    int n = snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);

    hex[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(tsbuf))
        return -1;
    if (crypto_hmac_reset(s->hmac) != 0 || crypto_hmac_update(s->hmac, tsbuf, (size_t)n) != 0 ||
        crypto_hmac_update(s->hmac, middle, sizeof(middle) - 1) != 0 ||
        crypto_hmac_update(s->hmac, body, len) != 0 || crypto_hmac_final(s->hmac, mac) != 0)
        return -1;
    crypto_hex_encode(mac, sizeof(mac), hex);
    return 0;
}

int ordersctl_sign_hex(const void *secret, size_t secretlen, long long ts, const void *body,
                       size_t len, char hex[ORDERSCTL_SIG_HEX_LEN + 1]) {
    struct ordersctl_signer *s = ordersctl_signer_create(secret, secretlen);
    hex[0] = '\0';
    if (!s)
        return -1;
    int rc = ordersctl_signer_sign(s, ts, body, len, hex);
    ordersctl_signer_destroy(s);
    return rc;
}

int ordersctl_sign_format_headers(struct strbuf *out, const char *client_id, long long ts,
                                  const char *hex) {
    return strbuf_printf(out, "X-Client-Id: %s\nX-Timestamp: %lld\nX-Signature: sha256=%s\n",
                         client_id, ts, hex);
}

/* Appends `s` (n bytes) single-quoted for a POSIX shell: ' becomes '\''. */
static int sign_shell_quote(struct strbuf *out, const char *s, size_t n) {
    int rc = strbuf_putc(out, '\'');
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s[i] == '\'' ? strbuf_puts(out, "'\\''") : strbuf_putc(out, s[i]);
    return rc | strbuf_putc(out, '\'');
}

int ordersctl_sign_format_curl(struct strbuf *out, const char *url, const char *client_id,
                               long long ts, const char *hex, const char *body, size_t len) {
    int rc = 0;
    if (memchr(body, '\0', len))
        return -1;
    rc |= strbuf_puts(out, "curl -sS -i ");
    rc |= sign_shell_quote(out, url, strlen(url));
    rc |= strbuf_puts(out, " \\\n  -H 'Content-Type: application/json' \\\n");
    rc |= strbuf_printf(out, "  -H 'X-Client-Id: %s' \\\n", client_id); /* [A-Za-z0-9._-] */
    rc |= strbuf_printf(out, "  -H 'X-Timestamp: %lld' \\\n", ts);
    rc |= strbuf_printf(out, "  -H 'X-Signature: sha256=%s' \\\n", hex);
    rc |= strbuf_puts(out, "  --data-raw ");
    rc |= sign_shell_quote(out, body, len);
    rc |= strbuf_putc(out, '\n');
    return rc ? -1 : 0;
}

int ordersctl_sign_run(const struct ordersctl_opts *o) {
    int rc = ORDERSCTL_EXIT_USAGE;
    char err[512];
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    struct strbuf secret, body, out;
    long long ts = o->has_timestamp ? o->timestamp : (long long)time(NULL);

    strbuf_init(&secret, 4096);
    strbuf_init(&body, ORDERSCTL_BODY_MAX);
    strbuf_init(&out, 2 * ORDERSCTL_BODY_MAX + 4096);
    if (ordersctl_secret_load(o, &secret, err, sizeof(err)) != 0 ||
        ordersctl_body_prepare(o, &body, NULL, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "ordersctl sign: %s\n", err);
        goto cleanup;
    }
    if (ordersctl_sign_hex(secret.data, secret.len, ts, body.data, body.len, hex) != 0) {
        fprintf(stderr, "ordersctl sign: HMAC computation failed\n");
        rc = ORDERSCTL_EXIT_FAIL;
        goto cleanup;
    }
    if (o->curl_url) {
        if (ordersctl_sign_format_curl(&out, o->curl_url, o->client_id, ts, hex, strbuf_str(&body),
                                       body.len) != 0) {
            fprintf(stderr, "ordersctl sign: the body cannot be put on a command line "
                            "(NUL byte); use `ordersctl send`\n");
            goto cleanup;
        }
    } else {
        int f = ordersctl_sign_format_headers(&out, o->client_id, ts, hex);
        if (o->generate) /* the caller must see the bytes that were signed */
            f |= strbuf_putc(&out, '\n') | strbuf_append(&out, body.data, body.len) |
                 strbuf_putc(&out, '\n');
        if (f != 0) {
            fprintf(stderr, "ordersctl sign: out of memory\n");
            rc = ORDERSCTL_EXIT_FAIL;
            goto cleanup;
        }
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "ordersctl sign: cannot write to stdout\n");
        rc = ORDERSCTL_EXIT_FAIL;
        goto cleanup;
    }
    rc = ORDERSCTL_EXIT_OK;
cleanup:
    ordersctl_secret_wipe(&secret);
    strbuf_release(&body);
    strbuf_release(&out);
    return rc;
}
