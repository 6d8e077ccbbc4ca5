/*
 * bench_presign: S3 presigned URLs per second.
 *
 * Phases, each run several times on the same N keys ("backups/b<i>/b<i>-logs.gz" under a
 * prefix, path-style MinIO-like endpoint, session token), median printed with min and max:
 *   cached     vr_s3_presign_get with a warm vr_sigv4_key_cache (the daemon's steady state)
 *   uncached   the same without a cache: the four-HMAC key derivation on every URL
 * The reference, measured in the same run, is the bare OpenSSL cost the cached path cannot
 * avoid: one EVP SHA-256 of a canonical-request-sized buffer plus one EVP_MAC HMAC-SHA256 of
 * a string-to-sign-sized buffer per URL. The ratio cached/reference shows what the string
 * building and encoding add. No assertion is made on any figure; --smoke runs tiny sizes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <uv.h>

#include "store/s3.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#define MAX_RUNS 9
#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */

struct bench {
    unsigned n;
    char (*keys)[64];
    struct vr_s3_config cfg;
    struct vr_aws_creds creds;
    unsigned long sink;
};

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v and prints median, min and max of runs values. Returns the median. */
static double report(const char *what, double *v, int runs)
{
    qsort(v, (size_t)runs, sizeof(*v), cmp_double);
    double med = v[runs / 2];
    printf("%-34s %12.0f URLs/s  (min %.0f, max %.0f)\n", what, med, v[0], v[runs - 1]);
    return med;
}

static double run_presign(struct bench *b, bool cached)
{
    struct vr_sigv4_key_cache cache;
    struct vr_buf url;
    vr_sigv4_key_cache_init(&cache);
    vr_buf_init(&url, 8192);
    double t0 = now_s();
    for (unsigned i = 0; i < b->n; i++) {
        vr_buf_reset(&url);
        if (vr_s3_presign_get(&b->cfg, NULL, &b->creds, b->keys[i], 600, NOW_S,
                              cached ? &cache : NULL, &url, NULL) != 0) {
            fprintf(stderr, "presign failed\n");
            exit(1);
        }
        b->sink += url.len;
    }
    double dt = now_s() - t0;
    vr_buf_cleanup(&url);
    vr_sigv4_key_cache_cleanup(&cache);
    return b->n / dt;
}

/* One SHA-256 of a canonical-request-sized buffer and one HMAC of a string-to-sign-sized
 * buffer per URL, straight on EVP with pre-fetched algorithms. */
static double run_reference(struct bench *b)
{
    static unsigned char creq[420], sts[140], key[32];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    size_t maclen;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    double t0 = now_s();
    for (unsigned i = 0; i < b->n; i++) {
        creq[0] = (unsigned char)i;
        EVP_Digest(creq, sizeof(creq), md, &mdlen, sha, NULL);
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
        EVP_MAC_init(ctx, key, sizeof(key), params);
        EVP_MAC_update(ctx, sts, sizeof(sts));
        EVP_MAC_final(ctx, md, &maclen, sizeof(md));
        EVP_MAC_CTX_free(ctx);
        b->sink += md[0];
    }
    double dt = now_s() - t0;
    EVP_MAC_free(hmac);
    EVP_MD_free(sha);
    return b->n / dt;
}

static void setup(struct bench *b)
{
    char err[256];
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "region", "us-east-1");
    cJSON_AddStringToObject(cfg, "s3Url", "http://minio.velero.svc:9000");
    cJSON_AddStringToObject(cfg, "s3ForcePathStyle", "true");
    if (vr_s3_config_parse(cfg, "velero", "pfx", &b->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        exit(1);
    }
    cJSON_Delete(cfg);
    b->keys = vr_xcalloc(b->n, sizeof(*b->keys));
    for (unsigned i = 0; i < b->n; i++)
        (void)snprintf(b->keys[i], sizeof(b->keys[i]), "pfx/backups/b%u/b%u-logs.gz", i, i);
    b->creds.access_key_id = (char *)"AKIAIOSFODNN7EXAMPLE";
    b->creds.secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    b->creds.session_token = (char *)"FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN0123456789abcdef";
}

int main(int argc, char **argv)
{
    bool smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
    if (argc > 1 && !smoke) {
        fprintf(stderr, "usage: bench_presign [--smoke]\n");
        return 2;
    }
    struct bench b = {.n = smoke ? 200 : 100000};
    int runs = smoke ? 1 : 7;
    double cached[MAX_RUNS], uncached[MAX_RUNS], ref[MAX_RUNS];
    vr_mem_init_cjson();
    setup(&b);
    printf("bench_presign: %u URLs per run, %d runs\n", b.n, runs);
    for (int r = 0; r < runs; r++) {
        cached[r] = run_presign(&b, true);
        uncached[r] = run_presign(&b, false);
        ref[r] = run_reference(&b);
    }
    double c = report("presign, cached signing key", cached, runs);
    report("presign, key derived per URL", uncached, runs);
    double rf = report("ref: EVP SHA-256 + HMAC per URL", ref, runs);
    printf("cached presign costs %.2fx the bare OpenSSL work (sink %lu)\n", rf / c, b.sink);
    vr_s3_config_cleanup(&b.cfg);
    vr_free(b.keys);
    return 0;
}
