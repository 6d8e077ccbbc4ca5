#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "store/crypto.h"
#include "vreq/err.h"

/* Fetching an algorithm takes the provider store's locks; one fetch per process keeps a
 * presign at one SHA-256 and one HMAC. vreq is single-threaded, so plain statics do. */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static int crypto_fail(void)
{
    ERR_clear_error();
    return VR_ECRYPTO;
}

static int fetch_algs(void)
{
    if (!sha256_md)
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!hmac_mac)
        hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    return (sha256_md && hmac_mac) ? 0 : crypto_fail();
}

/* vreq is single-threaded: one digest and one MAC context are reused for every call
 * (a fresh context per call cost 1.8x the hashing itself, bench_presign). The MAC context
 * keeps the last key's schedule between calls; the signing-key cache holds that key
 * anyway. */
static EVP_MD_CTX *md_ctx;

int vr_crypto_sha256(const void *p, size_t n, unsigned char out[VR_SHA256_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (fetch_algs() < 0)
        return VR_ECRYPTO;
    if (!md_ctx && !(md_ctx = EVP_MD_CTX_new()))
        return crypto_fail();
    if (EVP_DigestInit_ex2(md_ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(md_ctx, p, n) != 1 ||
        EVP_DigestFinal_ex(md_ctx, md, &len) != 1 || len != VR_SHA256_LEN)
        return crypto_fail();
    memcpy(out, md, VR_SHA256_LEN);
    return 0;
}

int vr_crypto_sha256_hex(const void *p, size_t n, char hex[VR_SHA256_HEX_LEN + 1])
{
    unsigned char md[VR_SHA256_LEN];
    int rc = vr_crypto_sha256(p, n, md);
    if (rc < 0)
        return rc;
    vr_crypto_hex(md, sizeof(md), hex);
    return 0;
}

static EVP_MAC_CTX *mac_ctx;

int vr_crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
                          unsigned char out[VR_SHA256_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (fetch_algs() < 0)
        return VR_ECRYPTO;
    if (!mac_ctx) {
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
        if (!ctx || EVP_MAC_CTX_set_params(ctx, params) != 1) {
            EVP_MAC_CTX_free(ctx);
            return crypto_fail();
        }
        mac_ctx = ctx;
    }
    if (EVP_MAC_init(mac_ctx, key, keylen, NULL) != 1 || EVP_MAC_update(mac_ctx, p, n) != 1 ||
        EVP_MAC_final(mac_ctx, mac, &len, sizeof(mac)) != 1 || len != VR_SHA256_LEN)
        return crypto_fail();
    memcpy(out, mac, VR_SHA256_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

void vr_crypto_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void vr_crypto_cleanse(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

bool vr_crypto_is_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
