/* store/crypto: SHA-256 and HMAC-SHA256 against FIPS 180-2 and RFC 4231 vectors. */
#include <stdint.h>
#include <string.h>

#include "store/crypto.h"
#include "testutil.h"
#include "vreq/err.h"

static void test_sha256(void **state)
{
    (void)state;
    char hex[VR_SHA256_HEX_LEN + 1];
    assert_int_equal(vr_crypto_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(vr_crypto_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(vr_crypto_sha256_hex(two, strlen(two), hex), 0);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    unsigned char raw[VR_SHA256_LEN];
    assert_int_equal(vr_crypto_sha256("abc", 3, raw), 0);
    assert_int_equal(raw[0], 0xba);
    assert_int_equal(raw[31], 0xad);
}

static void test_hmac(void **state)
{
    (void)state;
    unsigned char key[20], mac[VR_SHA256_LEN];
    char hex[VR_SHA256_HEX_LEN + 1];
    /* RFC 4231 test case 1. */
    memset(key, 0x0b, sizeof(key));
    assert_int_equal(vr_crypto_hmac_sha256(key, sizeof(key), "Hi There", 8, mac), 0);
    vr_crypto_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* RFC 4231 test case 2. */
    const char *data = "what do ya want for nothing?";
    assert_int_equal(vr_crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac), 0);
    vr_crypto_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a key longer than the block size. */
    unsigned char longkey[131];
    memset(longkey, 0xaa, sizeof(longkey));
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    assert_int_equal(vr_crypto_hmac_sha256(longkey, sizeof(longkey), d6, strlen(d6), mac), 0);
    vr_crypto_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* out may alias key (the SigV4 key chain relies on it). */
    unsigned char chain[VR_SHA256_LEN], expect[VR_SHA256_LEN];
    memset(chain, 7, sizeof(chain));
    assert_int_equal(vr_crypto_hmac_sha256(chain, sizeof(chain), "x", 1, expect), 0);
    assert_int_equal(vr_crypto_hmac_sha256(chain, sizeof(chain), "x", 1, chain), 0);
    assert_memory_equal(chain, expect, sizeof(chain));
    /* An empty key and empty data are valid. */
    assert_int_equal(vr_crypto_hmac_sha256("", 0, "", 0, mac), 0);
    vr_crypto_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_hex_equal_cleanse(void **state)
{
    (void)state;
    const unsigned char b[] = {0x00, 0x0f, 0xf0, 0xff, 0x5a};
    char hex[11];
    vr_crypto_hex(b, sizeof(b), hex);
    assert_string_equal(hex, "000ff0ff5a");
    vr_crypto_hex(b, 0, hex);
    assert_string_equal(hex, "");
    assert_true(vr_crypto_is_equal("abc", "abc", 3));
    assert_false(vr_crypto_is_equal("abc", "abd", 3));
    assert_true(vr_crypto_is_equal("x", "y", 0));
    unsigned char secret[16];
    memset(secret, 0xee, sizeof(secret));
    vr_crypto_cleanse(secret, sizeof(secret));
    for (size_t i = 0; i < sizeof(secret); i++)
        assert_int_equal(secret[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_hex_equal_cleanse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
