/* fuzz_validate: libFuzzer target for the ingress-auth order validator, header parsers and client
 * registry.
 *
 * Each input is fed, as is, to order_validate and to
 * ingress_clients_parse, and, split at its first three NUL bytes into
 * X-Client-Id / X-Timestamp / X-Signature / body, to ingress_auth_check. Beyond
 * "no crash, no leak, no undefined behaviour" it checks invariants:
 *   - a valid order's canonical form is valid and canonical again (a fixed point);
 *   - an error always has a code and a message; invalid_json has field "";
 *     an invalid_order field is "" or starts with '/';
 *   - the header parsers agree with the check's verdicts.
 * Built and run by tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clients.h"
#include "order_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_registry[] =
    "{\"demo\":{\"secrets\":[\"dev-only-demo-secret\",\"second\"],\"rate_per_second\":1,"
    "\"burst\":1}}";

static struct ingress_clients *fz_clients(void) {
    static struct ingress_clients *clients;
    char err[256];
    if (!clients)
        clients = ingress_clients_parse(fz_registry, strlen(fz_registry), err, sizeof(err));
    if (!clients)
        abort();
    return clients;
}

static void fz_validate(const char *body, size_t len) {
    struct order_error err;
    struct order_summary sum;
    char *canon = NULL;
    int rc = order_validate(body, len, &err, &canon, &sum);
    if (rc == 0) {
        char *again = NULL;
        if (!canon || order_validate(canon, strlen(canon), &err, &again, NULL) != 0 ||
            strcmp(canon, again) != 0)
            abort();
        free(again);
    } else if (rc == -1) {
        if (!err.code || err.message[0] == '\0' || canon || sum.metadata)
            abort();
        if (strcmp(err.code, "invalid_json") == 0
                ? err.field[0] != '\0'
                : (strcmp(err.code, "invalid_order") != 0 || (err.field[0] && err.field[0] != '/')))
            abort();
    }
    free(canon);
    order_summary_release(&sum);
}

static void fz_auth(const char *buf, size_t size) {
    const char *part[3] = {NULL, NULL, NULL};
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        const char *nul = memchr(buf + off, '\0', size - off);
        if (!nul)
            return;
        part[i] = buf + off;
        off = (size_t)(nul - buf) + 1;
    }
    enum ingress_auth_failure r;
    int rc = ingress_auth_check(fz_clients(), part[0], part[1], part[2], buf + off, size - off,
                                1700000000, 300, &r);
    uint64_t ts;
    unsigned char mac[CRYPTO_SHA256_LEN];
    /* The syntax checks run in a documented order; the parsers must agree. */
    enum ingress_auth_failure want =
        !ingress_client_id_valid(part[0])                 ? INGRESS_AUTH_BAD_CLIENT_ID
        : ingress_auth_parse_timestamp(part[1], &ts) != 0 ? INGRESS_AUTH_BAD_TIMESTAMP
        : ingress_auth_parse_signature(part[2], mac) != 0 ? INGRESS_AUTH_BAD_SIGNATURE_FORMAT
                                                          : INGRESS_AUTH_OK;
    if ((rc == 0) != (r == INGRESS_AUTH_OK) || (want != INGRESS_AUTH_OK && r != want) ||
        (want == INGRESS_AUTH_OK &&
         (r == INGRESS_AUTH_BAD_CLIENT_ID || r == INGRESS_AUTH_BAD_TIMESTAMP ||
          r == INGRESS_AUTH_BAD_SIGNATURE_FORMAT)) ||
        strcmp(ingress_auth_failure_name(r), "unknown") == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    /* A private copy with a NUL after it, so that nothing may read past `size`
     * unnoticed (ASan) and the auth split has terminated strings. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';

    fz_validate(buf, size);
    struct ingress_clients *c = ingress_clients_parse(buf, size, err, sizeof(err));
    ingress_clients_free(c);
    fz_auth(buf, size);
    free(buf);
    return 0;
}
