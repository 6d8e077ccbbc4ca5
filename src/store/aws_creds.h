/*
 * AWS credentials as every S3 piece sees them: the signer (store/s3) reads them, the
 * providers (store/cred) produce and refresh them. The secret and token are secrets:
 * never logged, wiped with vr_aws_creds_cleanup.
 */
#ifndef VR_STORE_AWS_CREDS_H
#define VR_STORE_AWS_CREDS_H

#include <stdint.h>

struct vr_aws_creds {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL for long-term keys */
    int64_t expiration_s;    /* Unix seconds; 0 = never expires (static keys) */
    const char *source;      /* static string for logs: "secret", "env", "imds", ... */
};

/* Deep copy (dst's previous contents are not freed). */
void vr_aws_creds_copy(struct vr_aws_creds *dst, const struct vr_aws_creds *src);

/* Wipes and frees the strings; c is zeroed. */
void vr_aws_creds_cleanup(struct vr_aws_creds *c);

#endif
