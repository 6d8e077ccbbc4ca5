/*
 * S3 SigV4 query-string presigning (presign.md §1) and the BSL config of
 * velero-plugin-for-aws (presign.md §3, velero.md §8.1). Pure: no I/O, no clock reads, no
 * logging; the caller passes the signing time and the credentials.
 *
 * Two levels: vr_sigv4_presign signs one fully described request (used by the published
 * vectors, and usable for any service); vr_s3_presign_get turns a parsed BSL config, a
 * region and an object key into that request (endpoint, addressing style, ports, expiry).
 */
#ifndef VR_STORE_S3_H
#define VR_STORE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store/aws_creds.h"
#include "store/crypto.h"
#include "store/presign.h"
#include "vreq/buf.h"

/* Longest X-Amz-Expires S3 accepts: 7 days. */
#define VR_SIGV4_MAX_EXPIRES_S 604800
/* A URL signed with temporary credentials stops this long before they expire. */
#define VR_S3_CRED_MARGIN_S 60
/* Cap on the internal scratch space of one presign (encoded key, query, canonical request). */
#define VR_SIGV4_SCRATCH_MAX (256 * 1024)

/* An extra signed query parameter, decoded; the signer encodes it. value NULL = "". */
struct vr_sigv4_param {
    const char *name;
    const char *value;
};

/* Everything one SigV4 query presign depends on. Pointers are borrowed for the call. */
struct vr_sigv4_request {
    const char *method; /* "GET" */
    const char *scheme; /* "https" or "http"; only used to build the URL */
    const char *host;   /* authority exactly as signed and sent: lower case, IPv6 in
                           brackets, ":port" only when not the scheme's default */
    const char *path;   /* decoded path; encoded once here with '/' kept and no
                           normalisation; "" signs as "/" */
    const struct vr_sigv4_param *params; /* extra signed query parameters, any order */
    size_t nparams;
    const char *service;              /* "s3" */
    const char *region;               /* credential scope region, e.g. "us-east-1" */
    const char *payload_hash;         /* "UNSIGNED-PAYLOAD" for S3 */
    const struct vr_aws_creds *creds; /* a session token is signed as X-Amz-Security-Token */
    bool token_after_signing;         /* append the token after signing instead (aws-c-auth's
                                         omit_session_token); never for S3 */
    int64_t expires_s;                /* X-Amz-Expires, 1..VR_SIGV4_MAX_EXPIRES_S */
    int64_t now_s;                    /* signing time, Unix seconds, years 1970..9999 */
};

/*
 * The derived signing key for one (secret, date, region, service), owned by the caller
 * (e.g. one per BSL). With a warm cache a URL costs one SHA-256 and one HMAC on top of the
 * string building. Holds a copy of the secret: cleanup wipes it.
 */
struct vr_sigv4_key_cache {
    bool valid;
    unsigned char key[VR_SHA256_LEN];
    char *secret; /* copy of the secret the key was derived from (wiped on cleanup) */
    size_t secret_len;
    char date[9]; /* yyyymmdd */
    char region[64];
    char service[32];
    uint64_t hits; /* counters, for tests and benchmarks */
    uint64_t misses;
};

/* Initialises caller-owned storage; allocates nothing. */
void vr_sigv4_key_cache_init(struct vr_sigv4_key_cache *c);
/* Wipes the key and the secret copy and frees it; c is left empty and reusable. */
void vr_sigv4_key_cache_cleanup(struct vr_sigv4_key_cache *c);

/*
 * Signs req as a SigV4 query presign and appends the URL
 * "{scheme}://{host}{canonical URI}?{canonical query}&X-Amz-Signature={sig}" to url.
 * cache may be NULL (derive the key every time). When creq / sts are not NULL, the
 * canonical request and the string to sign are appended to them too (for tests).
 * Returns 0; VR_EINVAL for missing fields, an expiry outside 1..604800 or a time outside
 * 1970..9999; VR_ETOOBIG when a buffer's cap (or VR_SIGV4_SCRATCH_MAX) is hit; VR_ECRYPTO.
 * On error the output buffers are unchanged, except that one hitting its cap is emptied.
 */
int vr_sigv4_presign(const struct vr_sigv4_request *req, struct vr_sigv4_key_cache *cache,
                     struct vr_buf *url, struct vr_buf *creq, struct vr_buf *sts);

/* Appends the SigV4 URI encoding of n bytes at p to b: every byte but A-Z a-z 0-9 - . _ ~
 * becomes %XX (upper-case hex); '/' is kept when keep_slash. 0 or VR_ETOOBIG. */
int vr_sigv4_uri_encode(struct vr_buf *b, const char *p, size_t n, bool keep_slash);

/* A parsed s3Url or publicUrl. */
struct vr_s3_endpoint {
    bool https;
    char *host; /* lower case, brackets kept, ":port" only when not the default */
    char *path; /* decoded path prefix without trailing '/', "" for none */
    bool is_ip; /* IPv4 or IPv6 literal: always path-style */
};

/* A BSL's spec.config for provider aws. Unset or empty keys are NULL. */
struct vr_s3_config {
    char *bucket; /* required; leading and trailing '/' trimmed */
    char *prefix; /* leading and trailing '/' trimmed; "" when none. For the caller's object
                     keys (velero.md §3): vr_s3_presign_get does not add it. */
    char *region;
    char *s3_url;
    char *public_url;
    char *kms_key_id;
    char *signature_version; /* "1" or "4"; accepted, unused (plugin >= 1.9 signs V4) */
    char *credentials_file;
    char *profile;
    char *server_side_encryption;
    char *customer_key_file;   /* customerKeyEncryptionFile */
    char *customer_key_secret; /* customerKeyEncryptionSecret */
    char *enable_shared_config;
    char *tagging;
    char *checksum_algorithm;
    char *ca_cert;
    bool force_path_style; /* s3ForcePathStyle */
    bool insecure_skip_tls_verify;
    struct vr_s3_endpoint s3_ep;     /* parsed s3_url (host NULL when unset) */
    struct vr_s3_endpoint public_ep; /* parsed public_url (host NULL when unset) */
};

/*
 * Parses spec.config (NULL = empty object) as velero-plugin-for-aws does. bucket and
 * prefix (the BSL's spec.objectStorage fields) win over config keys of the same name;
 * either may be NULL. Every value must be a JSON string. Errors (VR_ECONFIG, all
 * permanent, with a one-line message in err, truncated to errlen): unknown keys
 * ("config has invalid keys [k]; valid keys are [...]"), non-string values, a boolean that
 * Go's strconv.ParseBool rejects ("could not parse s3ForcePathStyle (expected bool): ..."),
 * an s3Url/publicUrl that is not an http(s) URL with a host ("Invalid s3 url ..."),
 * signatureVersion other than "1"/"4" ("invalid signature version: ..."), an unknown
 * checksumAlgorithm, kmsKeyId together with customerKeyEncryptionFile, a missing bucket.
 * On success *out is filled (free with vr_s3_config_cleanup); on error it is untouched.
 */
int vr_s3_config_parse(const cJSON *config, const char *bucket, const char *prefix,
                       struct vr_s3_config *out, char *err, size_t errlen);

/* Frees every string of cfg and zeroes it. */
void vr_s3_config_cleanup(struct vr_s3_config *cfg);

/* Whether the region must be discovered (HEAD bucket, X-Amz-Bucket-Region): true only
 * when neither region nor s3Url is set, as in the plugin. */
bool vr_s3_config_needs_region(const struct vr_s3_config *cfg);

/*
 * Appends a presigned GET URL for key (decoded) to url.
 * - Endpoint: publicUrl, else s3Url, else https://s3.<region>.amazonaws.com.
 * - Path-style ({endpoint}/{bucket}/{key}) when s3ForcePathStyle, when the endpoint host
 *   is an IP literal, or when the bucket is not DNS-safe for virtual hosting (upper case,
 *   '_', '.', bad length, ...); otherwise virtual-hosted
 *   ({bucket}.{host}/{key}). The endpoint's own path prefix is kept.
 * - region: NULL uses cfg->region; with neither, s3Url alone signs for us-east-1 (contract
 *   §3), and without s3Url it is VR_EINVAL (discover it first).
 * - X-Amz-Expires = min(expires_s, creds expiry - now_s - VR_S3_CRED_MARGIN_S) for
 *   temporary credentials; written to *expires_out when not NULL.
 * cache may be NULL. Returns 0; VR_EINVAL (bad arguments, expires_s outside
 * 1..VR_SIGV4_MAX_EXPIRES_S, no region); VR_EUNAUTH when the credentials are missing or
 * expire within the margin (nothing left to sign: refresh them and retry); VR_ETOOBIG;
 * VR_ECRYPTO. url is unchanged on error except after VR_ETOOBIG (emptied).
 */
int vr_s3_presign_get(const struct vr_s3_config *cfg, const char *region,
                      const struct vr_aws_creds *creds, const char *key, int64_t expires_s,
                      int64_t now_s, struct vr_sigv4_key_cache *cache, struct vr_buf *url,
                      int64_t *expires_out);

/* Whether bucket can be virtual-hosted ({bucket}.{host}): 3-63 characters of a-z, 0-9 and
 * '-', starting and ending with a letter or digit. Dotted names are refused whatever the
 * scheme (TLS wildcard; botocore and the SDK endpoint rules use path style for them). */
bool vr_s3_bucket_is_virtual_hostable(const char *bucket);

/* The presigner table entry for provider "aws" (config: struct vr_s3_config; args->creds:
 * struct vr_aws_creds; args->cache: struct vr_sigv4_key_cache or NULL). */
extern const struct vr_presigner_ops vr_s3_presigner;

#endif
