/* Unit tests for common/crypto: RFC 4231 HMAC-SHA256, FIPS 180 SHA-256, hex, UUIDs. */
#include <criterion/criterion.h>

#include <string.h>

#include "crypto.h"

/* Decodes a test vector written as lowercase hex; aborts the test if it is
 * not valid (a typo in the vector, not a failure of the code under test). */
static size_t crypto_test_unhex(const char *hex, unsigned char *out, size_t cap) {
    size_t n = 0;
    cr_assert_eq(crypto_hex_decode(hex, strlen(hex), out, cap, &n), 0, "bad vector %s", hex);
    return n;
}

/* HMACs `data` under `key` and compares the first `maclen` bytes, in hex,
 * with `expect_hex` (which has exactly 2*maclen digits). */
static void crypto_test_check_hmac(const unsigned char *key, size_t keylen,
                                   const unsigned char *data, size_t len, const char *expect_hex) {
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    size_t maclen = strlen(expect_hex) / 2;

    cr_assert_eq(crypto_hmac_sha256(key, keylen, data, len, mac), 0);
    crypto_hex_encode(mac, maclen, hex);
    cr_assert_str_eq(hex, expect_hex);
}

/* ---- RFC 4231 section 4, HMAC-SHA-256 column, all seven cases ------------ */

Test(crypto, hmac_rfc4231_case1) {
    unsigned char key[20], data[64];
    size_t keylen = crypto_test_unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", key, sizeof(key));
    size_t len = crypto_test_unhex("4869205468657265", data, sizeof(data)); /* "Hi There" */
    cr_assert_eq(keylen, 20);
    crypto_test_check_hmac(key, keylen, data, len,
                           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

Test(crypto, hmac_rfc4231_case2) {
    unsigned char key[4], data[64];
    size_t keylen = crypto_test_unhex("4a656665", key, sizeof(key)); /* "Jefe" */
    /* "what do ya want for nothing?" */
    size_t len = crypto_test_unhex("7768617420646f2079612077616e7420666f72206e6f7468696e673f", data,
                                   sizeof(data));
    cr_assert_eq(len, 28);
    crypto_test_check_hmac(key, keylen, data, len,
                           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(crypto, hmac_rfc4231_case3) {
    unsigned char key[20], data[50];
    size_t keylen = crypto_test_unhex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", key, sizeof(key));
    size_t len = crypto_test_unhex("dddddddddddddddddddddddddddddddddddddddddddddddddd"
                                   "dddddddddddddddddddddddddddddddddddddddddddddddddd",
                                   data, sizeof(data));
    cr_assert_eq(keylen, 20);
    cr_assert_eq(len, 50);
    crypto_test_check_hmac(key, keylen, data, len,
                           "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

Test(crypto, hmac_rfc4231_case4) {
    unsigned char key[25], data[50];
    size_t keylen =
        crypto_test_unhex("0102030405060708090a0b0c0d0e0f10111213141516171819", key, sizeof(key));
    size_t len = crypto_test_unhex("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                                   "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
                                   data, sizeof(data));
    cr_assert_eq(keylen, 25);
    cr_assert_eq(len, 50);
    crypto_test_check_hmac(key, keylen, data, len,
                           "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

Test(crypto, hmac_rfc4231_case5_truncated_128) {
    unsigned char key[20], data[64];
    size_t keylen = crypto_test_unhex("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", key, sizeof(key));
    /* "Test With Truncation" */
    size_t len = crypto_test_unhex("546573742057697468205472756e636174696f6e", data, sizeof(data));
    cr_assert_eq(keylen, 20);
    /* The RFC gives only the leftmost 128 bits for this case. */
    crypto_test_check_hmac(key, keylen, data, len, "a3b6167473100ee06e0c796c2955552b");
}

/* Cases 6 and 7 use a 131-byte key of 0xaa (larger than the 64-byte block). */
Test(crypto, hmac_rfc4231_case6_long_key) {
    unsigned char key[131];
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    memset(key, 0xaa, sizeof(key));
    cr_assert_eq(strlen(data), 54);
    crypto_test_check_hmac(key, sizeof(key), (const unsigned char *)data, strlen(data),
                           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static const char crypto_test_case7_data[] =
    "This is a test using a larger than block-size key and a larger than block-size data. "
    "The key needs to be hashed before being used by the HMAC algorithm.";

Test(crypto, hmac_rfc4231_case7_long_key_and_data) {
    unsigned char key[131];
    memset(key, 0xaa, sizeof(key));
    cr_assert_eq(strlen(crypto_test_case7_data), 152);
    crypto_test_check_hmac(key, sizeof(key), (const unsigned char *)crypto_test_case7_data,
                           strlen(crypto_test_case7_data),
                           "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

Test(crypto, hmac_empty_key_and_data) {
    crypto_test_check_hmac((const unsigned char *)"", 0, NULL, 0,
                           "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- incremental HMAC --------------------------------------------------- */

Test(crypto, hmac_incremental_matches_one_shot_in_odd_chunks) {
    unsigned char key[131], mac[CRYPTO_SHA256_LEN];
    char hex[65];
    size_t len = strlen(crypto_test_case7_data);
    memset(key, 0xaa, sizeof(key));

    struct crypto_hmac *h = crypto_hmac_create(key, sizeof(key));
    cr_assert_not_null(h);
    for (size_t off = 0; off < len; off += 7) {
        size_t n = len - off < 7 ? len - off : 7;
        cr_assert_eq(crypto_hmac_update(h, crypto_test_case7_data + off, n), 0);
    }
    cr_assert_eq(crypto_hmac_update(h, NULL, 0), 0);
    cr_assert_eq(crypto_hmac_final(h, mac), 0);
    crypto_hex_encode(mac, sizeof(mac), hex);
    cr_assert_str_eq(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");

    /* Same key again after reset: RFC 4231 case 6. */
    const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    cr_assert_eq(crypto_hmac_reset(h), 0);
    cr_assert_eq(crypto_hmac_update(h, data6, strlen(data6)), 0);
    cr_assert_eq(crypto_hmac_final(h, mac), 0);
    crypto_hex_encode(mac, sizeof(mac), hex);
    cr_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    crypto_hmac_destroy(h);
    crypto_hmac_destroy(NULL);
}

/* The request signature: "<ts>\nPOST\n/orders\n<body>" fed in pieces, as
 * ingress-auth does it, must equal the MAC of the concatenation (value
 * computed independently with Python's hmac module). */
Test(crypto, hmac_string_to_sign_in_pieces) {
    const char *secret = "client-secret";
    const char *body = "{\"order_id\":\"A1\"}";
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[65];

    struct crypto_hmac *h = crypto_hmac_create(secret, strlen(secret));
    cr_assert_not_null(h);
    cr_assert_eq(crypto_hmac_update(h, "1700000000", 10), 0);
    cr_assert_eq(crypto_hmac_update(h, "\nPOST\n/orders\n", 14), 0);
    cr_assert_eq(crypto_hmac_update(h, body, strlen(body)), 0);
    cr_assert_eq(crypto_hmac_final(h, mac), 0);
    crypto_hmac_destroy(h);
    crypto_hex_encode(mac, sizeof(mac), hex);
    cr_assert_str_eq(hex, "d8088aa9d157d462b37b91b6ef313bad0ea5b2b4187bcb132c0e01a5125e0d5c");
}

/* ---- SHA-256 (FIPS 180-2 appendix B examples) --------------------------- */

static void crypto_test_check_sha256(const char *msg, const char *expect_hex) {
    unsigned char md[CRYPTO_SHA256_LEN];
    char hex[65];
    cr_assert_eq(crypto_sha256(msg, strlen(msg), md), 0);
    crypto_hex_encode(md, sizeof(md), hex);
    cr_assert_str_eq(hex, expect_hex, "sha256(\"%s\")", msg);
}

Test(crypto, sha256_empty) {
    crypto_test_check_sha256("",
                             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(crypto, sha256_abc) {
    crypto_test_check_sha256("abc",
                             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(crypto, sha256_two_blocks) {
    crypto_test_check_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(crypto, sha256_null_data_zero_length) {
    unsigned char md[CRYPTO_SHA256_LEN];
    char hex[65];
    cr_assert_eq(crypto_sha256(NULL, 0, md), 0);
    crypto_hex_encode(md, sizeof(md), hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- hex ---------------------------------------------------------------- */

Test(crypto, hex_encode_lowercase_and_terminated) {
    const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 2];
    memset(out, 'X', sizeof(out));
    crypto_hex_encode(in, sizeof(in), out);
    cr_assert_str_eq(out, "00017f80abff");
    cr_assert_eq(out[13], 'X', "wrote past 2n+1 bytes");

    crypto_hex_encode(in, 0, out);
    cr_assert_str_eq(out, "");
}

Test(crypto, hex_round_trip_all_byte_values) {
    unsigned char in[256], back[256];
    char hex[513];
    size_t n = 0;
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    crypto_hex_encode(in, sizeof(in), hex);
    cr_assert_eq(strlen(hex), 512);
    cr_assert_eq(crypto_hex_decode(hex, 512, back, sizeof(back), &n), 0);
    cr_assert_eq(n, 256);
    cr_assert_arr_eq(in, back, 256);
}

Test(crypto, hex_decode_exact) {
    unsigned char out[4];
    size_t n = 99;
    cr_assert_eq(crypto_hex_decode("00ff10a9", 8, out, sizeof(out), &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(out[0], 0x00);
    cr_assert_eq(out[1], 0xff);
    cr_assert_eq(out[2], 0x10);
    cr_assert_eq(out[3], 0xa9);

    /* Empty input decodes to nothing. */
    cr_assert_eq(crypto_hex_decode("", 0, out, 0, &n), 0);
    cr_assert_eq(n, 0);

    /* Only hexlen characters are read: the rest need not be hex. */
    cr_assert_eq(crypto_hex_decode("abZZ", 2, out, sizeof(out), &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 0xab);
}

Test(crypto, hex_decode_rejections) {
    unsigned char out[8];
    size_t n = 77;
    cr_assert_eq(crypto_hex_decode("abc", 3, out, sizeof(out), &n), -1, "odd length");
    cr_assert_eq(crypto_hex_decode("0G", 2, out, sizeof(out), &n), -1, "'G'");
    cr_assert_eq(crypto_hex_decode("g0", 2, out, sizeof(out), &n), -1, "'g'");
    cr_assert_eq(crypto_hex_decode("AB", 2, out, sizeof(out), &n), -1, "uppercase is rejected");
    cr_assert_eq(crypto_hex_decode("aB", 2, out, sizeof(out), &n), -1, "mixed case is rejected");
    cr_assert_eq(crypto_hex_decode(" a", 2, out, sizeof(out), &n), -1, "space");
    cr_assert_eq(crypto_hex_decode("0x", 2, out, sizeof(out), &n), -1, "0x prefix");
    cr_assert_eq(crypto_hex_decode("a\0", 2, out, sizeof(out), &n), -1, "embedded NUL");
    cr_assert_eq(crypto_hex_decode("0011223344", 10, out, 4, &n), -1, "output too small");
    cr_assert_eq(n, 77, "outlen untouched on failure");
    /* Exactly fitting output is fine. */
    cr_assert_eq(crypto_hex_decode("00112233", 8, out, 4, &n), 0);
    cr_assert_eq(n, 4);
}

/* ---- constant-time compare ---------------------------------------------- */

Test(crypto, equal_ct) {
    unsigned char a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    cr_assert_eq(crypto_equal_ct(a, b, sizeof(a)), 1);
    b[31] ^= 0x01;
    cr_assert_eq(crypto_equal_ct(a, b, sizeof(a)), 0, "last byte differs");
    b[31] = a[31];
    b[0] ^= 0x80;
    cr_assert_eq(crypto_equal_ct(a, b, sizeof(a)), 0, "first byte differs");
    cr_assert_eq(crypto_equal_ct(a, b, 0), 1, "empty ranges are equal");
    cr_assert_eq(crypto_equal_ct(a + 1, b + 1, 31), 1);
}

/* ---- random and UUID ---------------------------------------------------- */

Test(crypto, random_bytes_fill_and_differ) {
    unsigned char a[64], b[64], zero[64] = {0};
    cr_assert_eq(crypto_random_bytes(a, sizeof(a)), 0);
    cr_assert_eq(crypto_random_bytes(b, sizeof(b)), 0);
    cr_assert(memcmp(a, b, sizeof(a)) != 0);
    cr_assert(memcmp(a, zero, sizeof(a)) != 0);
    cr_assert_eq(crypto_random_bytes(a, 0), 0);
}

/* Checks the textual form: 8-4-4-4-12 lowercase hex, version nibble 4,
 * variant nibble one of 8, 9, a, b. */
static void crypto_test_check_uuid(const char *u) {
    cr_assert_eq(strlen(u), 36, "uuid %s", u);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            cr_assert_eq(u[i], '-', "uuid %s position %d", u, i);
        } else {
            cr_assert((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'),
                      "uuid %s position %d is not lowercase hex", u, i);
        }
    }
    cr_assert_eq(u[14], '4', "version nibble of %s", u);
    cr_assert(strchr("89ab", u[19]) != NULL, "variant nibble of %s", u);
}

Test(crypto, uuid_v4_format_and_uniqueness) {
    char a[CRYPTO_UUID_STR_LEN + 1], b[CRYPTO_UUID_STR_LEN + 1];
    cr_assert_eq(crypto_uuid_v4(a), 0);
    cr_assert_eq(crypto_uuid_v4(b), 0);
    crypto_test_check_uuid(a);
    crypto_test_check_uuid(b);
    cr_assert_str_neq(a, b);
}

Test(crypto, uuid_v4_variant_bits_over_many) {
    /* Over many draws the variant nibble must never leave 8..b and the
     * version never leave 4 (the masks are applied to every UUID). */
    int seen[16] = {0};
    for (int i = 0; i < 2000; i++) {
        char u[CRYPTO_UUID_STR_LEN + 1];
        cr_assert_eq(crypto_uuid_v4(u), 0);
        crypto_test_check_uuid(u);
        int v = u[19] >= 'a' ? u[19] - 'a' + 10 : u[19] - '0';
        seen[v]++;
    }
    /* All four variant values appear (probability of a miss ~ 4 * 0.75^2000). */
    cr_assert(seen[8] && seen[9] && seen[10] && seen[11]);
}
