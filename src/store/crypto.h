/*
 * Hashes and MACs for the signers, over OpenSSL 3 EVP. This is the one place OpenSSL
 * errors enter vreq: each failure is returned as VR_ECRYPTO and the OpenSSL error queue
 * is cleared, so nothing past this module sees an OpenSSL code. Pure: no I/O, no clock,
 * no logging. Single-threaded, like the rest of vreq: the fetched algorithms are cached
 * in statics on first use.
 */
#ifndef VR_STORE_CRYPTO_H
#define VR_STORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define VR_SHA256_LEN 32
#define VR_SHA256_HEX_LEN 64

/* SHA-256 of n bytes at p into out. 0 or VR_ECRYPTO (out untouched). */
int vr_crypto_sha256(const void *p, size_t n, unsigned char out[VR_SHA256_LEN]);

/* SHA-256 of n bytes at p as 64 lower-case hex digits plus a NUL in hex.
 * 0 or VR_ECRYPTO (hex untouched). */
int vr_crypto_sha256_hex(const void *p, size_t n, char hex[VR_SHA256_HEX_LEN + 1]);

/* HMAC-SHA256 of n bytes at p under keylen bytes of key, into out. out may alias key
 * (the key is consumed before out is written). 0 or VR_ECRYPTO (out untouched). */
int vr_crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
                          unsigned char out[VR_SHA256_LEN]);

/* Writes n bytes as 2n lower-case hex digits and a NUL: out holds 2n + 1 bytes. */
void vr_crypto_hex(const unsigned char *p, size_t n, char *out);

/* Wipes n bytes in a way the compiler cannot drop (OPENSSL_cleanse). */
void vr_crypto_cleanse(void *p, size_t n);

/* Whether n bytes at a and b are equal, in constant time (CRYPTO_memcmp): for signatures
 * and secrets. */
bool vr_crypto_is_equal(const void *a, const void *b, size_t n);

#endif
