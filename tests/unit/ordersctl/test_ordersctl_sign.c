/* Unit tests for ordersctl sign: HMAC vectors (computed with Python's hmac module), header and curl
 * output. */
#include <criterion/criterion.h>

#include <string.h>

#include "../../../services/ordersctl/args.h"
#include "../../../services/ordersctl/sign.h"
#include "strbuf.h"

/* hmac.new(secret, f"{ts}\nPOST\n/orders\n".encode() + body, hashlib.sha256).hexdigest() */
#define SIGN_TEST_V1 "3f4d87bd88ce4a1fb59564b83753d6f3522a38a8dcee386d6d8aa03045032e9b"
#define SIGN_TEST_V2 "4f2f01cbbe6a4a2598198248fd88f1485d61f1550a9297a1edd1e89d4abd2ba0"
#define SIGN_TEST_V3 "2d461feb9c6e9d0974ed8ac1bb26dbbd7159b39a3236a988396dbbc32153faa1"
#define SIGN_TEST_TYPICAL "f8bafe2569e450828b5b2499d198fe8e9bf1deeeb945d7513263df8e970242ea"

static const char sign_test_body1[] = "{\"order_id\":\"o1\"}";
static const char sign_test_body3[] = "{\"a\":\"\xc3\xa9\"}\n";

Test(ordersctl_sign, known_vector) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    cr_assert_eq(ordersctl_sign_hex("dev-only-demo-secret", 20, 1700000000LL, sign_test_body1,
                                    strlen(sign_test_body1), hex),
                 0);
    cr_assert_str_eq(hex, SIGN_TEST_V1);
}

Test(ordersctl_sign, empty_body_vector) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    cr_assert_eq(ordersctl_sign_hex("dev-only-loadtest-secret", 24, 1795000000LL, NULL, 0, hex), 0);
    cr_assert_str_eq(hex, SIGN_TEST_V2);
}

Test(ordersctl_sign, raw_bytes_and_timestamp_zero) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    cr_assert_eq(ordersctl_sign_hex("k", 1, 0, sign_test_body3, strlen(sign_test_body3), hex), 0);
    cr_assert_str_eq(hex, SIGN_TEST_V3);
}

/* The contract's own example body, byte for byte (it ends with a newline). */
Test(ordersctl_sign, contract_example_file) {
    char err[256] = "";
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    struct strbuf body;
    strbuf_init(&body, 1 << 20);
    cr_assert_eq(ordersctl_read_file("tests/contracts/examples/valid/typical.json", 1 << 20, &body,
                                     err, sizeof(err)),
                 0, "%s (run from the repository root)", err);
    cr_assert_eq(body.len, 317);
    cr_assert_eq(
        ordersctl_sign_hex("dev-only-demo-secret", 20, 1795000000LL, body.data, body.len, hex), 0);
    cr_assert_str_eq(hex, SIGN_TEST_TYPICAL);
    strbuf_release(&body);
}

/* A signer reused across messages (reset between them) gives the one-shot results. */
Test(ordersctl_sign, signer_is_reusable) {
    char hex[ORDERSCTL_SIG_HEX_LEN + 1];
    struct ordersctl_signer *s = ordersctl_signer_create("dev-only-demo-secret", 20);
    cr_assert_not_null(s);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(
            ordersctl_signer_sign(s, 1700000000LL, sign_test_body1, strlen(sign_test_body1), hex),
            0);
        cr_assert_str_eq(hex, SIGN_TEST_V1);
        cr_assert_eq(
            ordersctl_signer_sign(s, 1700000001LL, sign_test_body1, strlen(sign_test_body1), hex),
            0);
        cr_assert_str_neq(hex, SIGN_TEST_V1);
    }
    ordersctl_signer_destroy(s);
    ordersctl_signer_destroy(NULL);
}

Test(ordersctl_sign, header_lines) {
    struct strbuf out;
    strbuf_init(&out, 4096);
    cr_assert_eq(ordersctl_sign_format_headers(&out, "demo", 1700000000LL, SIGN_TEST_V1), 0);
    cr_assert_str_eq(strbuf_str(&out), "X-Client-Id: demo\n"
                                       "X-Timestamp: 1700000000\n"
                                       "X-Signature: sha256=" SIGN_TEST_V1 "\n");
    strbuf_release(&out);
}

Test(ordersctl_sign, curl_command_quotes_for_the_shell) {
    static const char body[] = "{\"note\":\"it's\"}\n";
    struct strbuf out;
    strbuf_init(&out, 4096);
    cr_assert_eq(ordersctl_sign_format_curl(&out, "http://127.0.0.1:18080/orders", "demo",
                                            1700000000LL, SIGN_TEST_V1, body, strlen(body)),
                 0);
    cr_assert_str_eq(strbuf_str(&out), "curl -sS -i 'http://127.0.0.1:18080/orders' \\\n"
                                       "  -H 'Content-Type: application/json' \\\n"
                                       "  -H 'X-Client-Id: demo' \\\n"
                                       "  -H 'X-Timestamp: 1700000000' \\\n"
                                       "  -H 'X-Signature: sha256=" SIGN_TEST_V1 "' \\\n"
                                       "  --data-raw '{\"note\":\"it'\\''s\"}\n'\n");
    strbuf_release(&out);
}

Test(ordersctl_sign, curl_command_refuses_nul_bytes) {
    static const char body[] = {'{', '\0', '}'};
    struct strbuf out;
    strbuf_init(&out, 4096);
    cr_assert_eq(ordersctl_sign_format_curl(&out, "http://x/orders", "demo", 1, SIGN_TEST_V1, body,
                                            sizeof(body)),
                 -1);
    strbuf_release(&out);
}
