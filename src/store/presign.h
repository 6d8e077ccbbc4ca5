/*
 * Presigners: one small const vtable per object store (STYLE.md §1, like redis's
 * ConnectionType), so the controller does not know how a URL is signed. S3 (SigV4) is the
 * first; GCS V4 and Azure SAS follow the same shape. Everything behind the table is pure:
 * no I/O, no clock reads, no logging — the caller passes the time, the credentials and
 * any region it discovered.
 */
#ifndef VR_STORE_PRESIGN_H
#define VR_STORE_PRESIGN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vreq/buf.h"

/* One GET presign request. Every pointer is borrowed for the call only. */
struct vr_presign_args {
    const char *key;    /* object key, decoded (Velero's layout, see velero.md §3) */
    int64_t expires_s;  /* requested lifetime; providers clamp it and say so in *expires_out */
    int64_t now_s;      /* signing time, Unix seconds (wall clock) */
    const char *region; /* aws: the bucket region (config or discovered); NULL = config's */
    const void *creds;  /* provider credentials: struct vr_aws_creds for aws */
    void *cache;        /* provider signing-key cache or NULL: struct vr_sigv4_key_cache */
};

struct vr_presigner_ops {
    /* BSL spec.provider value this entry serves ("aws"); find also accepts
     * "velero.io/<provider>". */
    const char *provider;
    /* Parses a BSL's spec.config (an object of strings; NULL = empty) with the BSL's bucket
     * and prefix into a new provider config. 0 (*out set, free with config_free), or
     * VR_ECONFIG with a one-line message for the BSL's status in err (permanent: the
     * config must be fixed). */
    int (*config_new)(const cJSON *config, const char *bucket, const char *prefix, void **out,
                      char *err, size_t errlen);
    /* Frees what config_new returned; NULL is a no-op. */
    void (*config_free)(void *cfg);
    /* Appends a presigned GET URL for args->key to url. 0 (*expires_out = the lifetime
     * actually signed, if expires_out is not NULL), or a VR_E* code documented by the
     * provider (the S3 one: vr_s3_presign_get); url is unchanged on error except for
     * VR_ETOOBIG, which empties it. */
    int (*presign_get)(const void *cfg, const struct vr_presign_args *args, struct vr_buf *url,
                       int64_t *expires_out);
};

/* The presigner for a BSL provider ("aws" or "velero.io/aws"), or NULL if unsupported. */
const struct vr_presigner_ops *vr_presigner_find(const char *provider);

#endif
