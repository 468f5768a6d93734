/* Unit tests for ingress-auth auth: string to sign, known vectors, header syntax, window, rotation.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <string.h>

#include "../../../services/ingress-auth/auth.h"
#include "../../../services/ingress-auth/clients.h"

/* Expected MACs below were computed independently with Python:
 *   hmac.new(secret, ts + b"\nPOST\n/orders\n" + body, hashlib.sha256).hexdigest() */
#define AT_BODY "{\"a\":1}"
#define AT_TS "1700000000"
#define AT_NOW ((time_t)1700000000)
#define AT_DEMO_SIG "83bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b05ca"
#define AT_OLD_SIG "2859c9978241507b64f040aac331f29832bc9cb1534e55b010c80e6f8365b87d"
#define AT_NEW_SIG "c1ba9adf130a067fff83a45484d87cfb4cf4e9bbe97b1c33d6fe5716ffc0dd38"

/* proto/openapi.yaml, components.securitySchemes.signature.x-test-vector */
#define AT_VEC_BODY                                                                                \
    "{\"order_id\":\"ord-2024-0001\",\"customer_id\":\"cust-42\",\"currency\":\"EUR\","            \
    "\"items\":[{\"sku\":\"BOOK-123\",\"quantity\":2,\"unit_price_cents\":1250},{\"sku\":"         \
    "\"PEN-7\",\"quantity\":10,\"unit_price_cents\":99}],\"total_cents\":3490,\"metadata\":"       \
    "{\"channel\":\"web\",\"coupon\":\"SPRING\"}}"
#define AT_VEC_SIG "b858b3610767d9e7519d5d81883136802ead4776efad882a2047780b267a68d6"

static struct ingress_clients *at_clients;

static void at_setup(void) {
    static const char json[] =
        "{\"_comment\":\"test registry\","
        "\"demo\":{\"secrets\":[\"dev-only-demo-secret\"],\"rate_per_second\":10,\"burst\":20},"
        "\"rot\":{\"secrets\":[\"old-secret\",\"new-secret\"],\"rate_per_second\":1,\"burst\":1},"
        "\"example-client\":{\"secrets\":[\"example-secret-not-for-production\"],"
        "\"rate_per_second\":1,\"burst\":1}}";
    char err[256];
    at_clients = ingress_clients_parse(json, strlen(json), err, sizeof(err));
    cr_assert_not_null(at_clients, "%s", err);
}

static void at_teardown(void) {
    ingress_clients_free(at_clients);
}

TestSuite(ingress_auth, .init = at_setup, .fini = at_teardown);

/* Runs a check of AT_BODY at AT_NOW with a 300 s window; returns the reason. */
static enum ingress_auth_failure at_run(const char *id, const char *ts, const char *sig) {
    enum ingress_auth_failure r = INGRESS_AUTH_INTERNAL_ERROR;
    int rc = ingress_auth_check(at_clients, id, ts, sig, AT_BODY, strlen(AT_BODY), AT_NOW, 300, &r);
    cr_expect_eq(rc, r == INGRESS_AUTH_OK ? 0 : -1, "rc %d with reason %s", rc,
                 ingress_auth_failure_name(r));
    return r;
}

static void at_expect(const char *id, const char *ts, const char *sig,
                      enum ingress_auth_failure want) {
    enum ingress_auth_failure got = at_run(id, ts, sig);
    cr_expect_eq(got, want, "id=%s ts=%s sig=%s: %s, want %s", id ? id : "(null)",
                 ts ? ts : "(null)", sig ? sig : "(null)", ingress_auth_failure_name(got),
                 ingress_auth_failure_name(want));
}

Test(ingress_auth, string_to_sign_is_exact) {
    unsigned char got[CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
    const char *key = "dev-only-demo-secret";
    const char exact[] = "1700000000\nPOST\n/orders\n{\"a\":1}";
    cr_assert_eq(crypto_hmac_sha256(key, strlen(key), exact, strlen(exact), want), 0);
    cr_assert_eq(ingress_auth_mac(key, strlen(key), AT_TS, AT_BODY, strlen(AT_BODY), got), 0);
    cr_expect_eq(memcmp(got, want, sizeof(got)), 0);
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    crypto_hex_encode(got, sizeof(got), hex);
    cr_expect_str_eq(hex, AT_DEMO_SIG);
}

/* The body is fed by length: bytes after a NUL count, nothing past len does. */
Test(ingress_auth, body_is_bytes_not_a_string) {
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    const char *key = "dev-only-demo-secret";
    cr_assert_eq(ingress_auth_mac(key, strlen(key), AT_TS, "a\0bXYZ", 3, mac), 0);
    crypto_hex_encode(mac, sizeof(mac), hex);
    cr_expect_str_eq(hex, "3e1ef0a3c7b1c4e5dc59b1f24cf5484c6a4c546b205c9892d3f9046498c990b1");
    cr_assert_eq(ingress_auth_mac(key, strlen(key), AT_TS, NULL, 0, mac), 0);
    crypto_hex_encode(mac, sizeof(mac), hex);
    cr_expect_str_eq(hex, "aac6eba780b8ef50b3a62f58f6689c083c7e6205c7847df79cae5716cb64df2b");
}

Test(ingress_auth, openapi_test_vector) {
    enum ingress_auth_failure r;
    cr_expect_eq(ingress_auth_check(at_clients, "example-client", "1714566896", AT_VEC_SIG,
                                    AT_VEC_BODY, strlen(AT_VEC_BODY), 1714566896, 300, &r),
                 0, "%s", ingress_auth_failure_name(r));
    cr_expect_eq(r, INGRESS_AUTH_OK);
    cr_expect_eq(ingress_auth_check(at_clients, "example-client", "1714566896",
                                    "sha256=" AT_VEC_SIG, AT_VEC_BODY, strlen(AT_VEC_BODY),
                                    1714566896, 300, NULL),
                 0);
    /* one byte more of body: mismatch */
    cr_expect_eq(ingress_auth_check(at_clients, "example-client", "1714566896", AT_VEC_SIG,
                                    AT_VEC_BODY " ", strlen(AT_VEC_BODY) + 1, 1714566896, 300, &r),
                 -1);
    cr_expect_eq(r, INGRESS_AUTH_SIGNATURE_MISMATCH);
}

Test(ingress_auth, signature_syntax) {
    at_expect("demo", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_OK);
    at_expect("demo", AT_TS, "sha256=" AT_DEMO_SIG, INGRESS_AUTH_OK);
    /* uppercase hex */
    at_expect("demo", AT_TS, "83BD544E9A552DF1A0ED0D73C9CC3D648309910920ADA5722912E6EE6C7B05CA",
              INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "83bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b05cA",
              INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "SHA256=" AT_DEMO_SIG, INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    /* "sha256=" only as a prefix, once */
    at_expect("demo", AT_TS, AT_DEMO_SIG "sha256=", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "sha256=sha256=" AT_DEMO_SIG, INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, " sha256=" AT_DEMO_SIG, INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "sha256:" AT_DEMO_SIG, INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    /* 63 and 65 characters */
    at_expect("demo", AT_TS, "83bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b05c",
              INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, AT_DEMO_SIG "0", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "sha256=83bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b0",
              INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, AT_DEMO_SIG " ", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "sha256=", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("demo", AT_TS, "g3bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b05ca",
              INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    /* well-formed but wrong: last digit changed */
    at_expect("demo", AT_TS, "83bd544e9a552df1a0ed0d73c9cc3d648309910920ada5722912e6ee6c7b05cb",
              INGRESS_AUTH_SIGNATURE_MISMATCH);
}

Test(ingress_auth, parse_signature_bytes) {
    unsigned char mac[CRYPTO_SHA256_LEN];
    cr_assert_eq(ingress_auth_parse_signature("sha256=" AT_DEMO_SIG, mac), 0);
    cr_expect_eq(mac[0], 0x83);
    cr_expect_eq(mac[31], 0xca);
    cr_expect_eq(ingress_auth_parse_signature(NULL, mac), -1);
}

Test(ingress_auth, timestamp_syntax) {
    uint64_t ts = 0;
    cr_expect_eq(ingress_auth_parse_timestamp("0", &ts), 0);
    cr_expect_eq(ts, 0);
    cr_expect_eq(ingress_auth_parse_timestamp("9999999999999999999", &ts), 0);
    cr_expect_eq(ts, UINT64_C(9999999999999999999));
    cr_expect_eq(ingress_auth_parse_timestamp("00000000000000000001", &ts), -1); /* 20 digits */
    static const char *const bad[] = {"",     "-1",  "+1700000000", " 1700000000", "1700000000 ",
                                      "17e8", "1.5", "0x10",        "１７",        "1700000000\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        at_expect("demo", bad[i], AT_DEMO_SIG, INGRESS_AUTH_BAD_TIMESTAMP);
    /* 19 digits is the syntax limit; such a value is just far away */
    at_expect("demo", "9999999999999999999", AT_DEMO_SIG, INGRESS_AUTH_STALE_TIMESTAMP);
    at_expect("demo", "0", AT_DEMO_SIG, INGRESS_AUTH_STALE_TIMESTAMP);
}

/* The timestamp is signed as sent: leading zeros are part of the string. */
Test(ingress_auth, timestamp_signed_as_sent) {
    at_expect("demo", "01700000000",
              "d45d1b89604b1ddff7c8fb4fab7bacb17bfe60825b527a976d670c70bb3563ae", INGRESS_AUTH_OK);
    at_expect("demo", "01700000000", AT_DEMO_SIG, INGRESS_AUTH_SIGNATURE_MISMATCH);
}

static enum ingress_auth_failure at_at(time_t now, long window) {
    enum ingress_auth_failure r = INGRESS_AUTH_INTERNAL_ERROR;
    ingress_auth_check(at_clients, "demo", AT_TS, AT_DEMO_SIG, AT_BODY, strlen(AT_BODY), now,
                       window, &r);
    return r;
}

Test(ingress_auth, window_edges_inclusive) {
    cr_expect_eq(at_at(AT_NOW, 300), INGRESS_AUTH_OK);
    cr_expect_eq(at_at(AT_NOW + 300, 300), INGRESS_AUTH_OK);
    cr_expect_eq(at_at(AT_NOW - 300, 300), INGRESS_AUTH_OK);
    cr_expect_eq(at_at(AT_NOW + 301, 300), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at(AT_NOW - 301, 300), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at(AT_NOW, 0), INGRESS_AUTH_OK);
    cr_expect_eq(at_at(AT_NOW + 1, 0), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at(AT_NOW - 1, 0), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at(AT_NOW, -1), INGRESS_AUTH_STALE_TIMESTAMP);
    /* extreme clocks do not overflow */
    cr_expect_eq(at_at((time_t)INT64_MIN, 300), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at((time_t)INT64_MAX, 300), INGRESS_AUTH_STALE_TIMESTAMP);
    cr_expect_eq(at_at(0, LONG_MAX), INGRESS_AUTH_OK);
}

Test(ingress_auth, rotation_any_secret_verifies) {
    at_expect("rot", AT_TS, AT_OLD_SIG, INGRESS_AUTH_OK);
    at_expect("rot", AT_TS, "sha256=" AT_NEW_SIG, INGRESS_AUTH_OK);
    at_expect("rot", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_SIGNATURE_MISMATCH);
    /* a secret of another client does not verify */
    at_expect("demo", AT_TS, AT_NEW_SIG, INGRESS_AUTH_SIGNATURE_MISMATCH);
}

Test(ingress_auth, client_id_and_missing_headers) {
    at_expect("nobody", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_UNKNOWN_CLIENT);
    at_expect("Demo", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_UNKNOWN_CLIENT);
    at_expect("a.b-c_9", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_UNKNOWN_CLIENT);
    at_expect("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AT_TS,
              AT_DEMO_SIG, INGRESS_AUTH_UNKNOWN_CLIENT); /* 64 */
    at_expect("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AT_TS,
              AT_DEMO_SIG, INGRESS_AUTH_BAD_CLIENT_ID); /* 65 */
    at_expect("", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_BAD_CLIENT_ID);
    at_expect("de mo", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_BAD_CLIENT_ID);
    at_expect("demo/", AT_TS, AT_DEMO_SIG, INGRESS_AUTH_BAD_CLIENT_ID);
    at_expect(NULL, AT_TS, AT_DEMO_SIG, INGRESS_AUTH_MISSING_HEADER);
    at_expect("demo", NULL, AT_DEMO_SIG, INGRESS_AUTH_MISSING_HEADER);
    at_expect("demo", AT_TS, NULL, INGRESS_AUTH_MISSING_HEADER);
    /* syntax is checked before the registry and the clock */
    at_expect("nobody", "x", AT_DEMO_SIG, INGRESS_AUTH_BAD_TIMESTAMP);
    at_expect("nobody", "1", "x", INGRESS_AUTH_BAD_SIGNATURE_FORMAT);
    at_expect("nobody", "1", AT_DEMO_SIG, INGRESS_AUTH_UNKNOWN_CLIENT);
    at_expect("demo", "1", "sha256=" AT_NEW_SIG, INGRESS_AUTH_STALE_TIMESTAMP);
    enum ingress_auth_failure r;
    cr_expect_eq(ingress_auth_check(NULL, "demo", AT_TS, AT_DEMO_SIG, AT_BODY, 7, AT_NOW, 300, &r),
                 -1);
    cr_expect_eq(r, INGRESS_AUTH_UNKNOWN_CLIENT);
}

Test(ingress_auth, failure_names) {
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_OK), "ok");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_MISSING_HEADER), "missing_header");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_BAD_CLIENT_ID), "bad_client_id");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_UNKNOWN_CLIENT), "unknown_client");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_BAD_TIMESTAMP), "bad_timestamp");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_STALE_TIMESTAMP), "stale_timestamp");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_BAD_SIGNATURE_FORMAT),
                     "bad_signature_format");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_SIGNATURE_MISMATCH),
                     "signature_mismatch");
    cr_expect_str_eq(ingress_auth_failure_name(INGRESS_AUTH_INTERNAL_ERROR), "internal_error");
    cr_expect_str_eq(ingress_auth_failure_name((enum ingress_auth_failure)99), "unknown");
}
