/*
 * Bucket region discovery (presign.md §3, "Region discovery"): one anonymous, non-blocking
 * HEAD https://<bucket>.s3.us-east-1.amazonaws.com/ (path style, https://s3.us-east-1.
 * amazonaws.com/<bucket>, when the bucket name is not DNS-safe or path style is asked for)
 * reading X-Amz-Bucket-Region, which S3 sends with 200, 301 and 403 alike. Used only when a
 * BSL has neither region nor s3Url; the caller caches the answer per BSL, or per bucket with
 * struct vr_region_cache below.
 */
#ifndef VR_STORE_REGION_H
#define VR_STORE_REGION_H

#include <stdbool.h>
#include <stddef.h>

#include "vreq/curl_uv.h"

#define VR_REGION_MAX 64

struct vr_region_lookup;

/* Completion: exactly once per started lookup, from the loop. status 0: region is the
 * bucket's region (borrowed, valid during the call). Otherwise region is NULL and err a
 * sentence for logs: VR_ENOTFOUND ("bucket not found", permanent), VR_ECONFIG ("unable to
 * determine bucket's region, bucket: b": no header on a non-5xx answer, permanent),
 * VR_ESERVER (5xx without the header), VR_EHTTP / VR_ETIMEDOUT (transport, transient),
 * VR_ECANCELED (vr_region_lookup_cancel or the bridge closing). */
typedef void (*vr_region_cb)(int status, const char *region, const char *err, void *arg);

struct vr_region_opts {
    const char *base_url; /* NULL = "https://s3.us-east-1.amazonaws.com"; tests: loopback */
    bool path_style;      /* force path style (s3ForcePathStyle) */
    unsigned timeout_ms;  /* 0 = 10000 */
};

/* Whether bucket can be a DNS label of a virtual-hosted URL over TLS: 3-63 characters of
 * [a-z0-9-], starting and ending with a letter or digit, no dots. */
bool vr_region_bucket_is_dns_safe(const char *bucket);

/* The URL the lookup sends its HEAD to, into out (cap bytes). 0, VR_EINVAL (a bucket name
 * S3 would never accept: empty, over 255 bytes, characters outside [A-Za-z0-9._-], or a
 * base_url without scheme) or VR_ETOOBIG. Pure. */
int vr_region_url(const char *bucket, const struct vr_region_opts *opts, char *out, size_t cap);

/* Starts a lookup on cu (opts may be NULL). 0: cb runs later; *out (may be NULL) is a handle
 * valid until cb runs, for vr_region_lookup_cancel. VR_EINVAL (see vr_region_url) or
 * VR_ESHUTDOWN: cb never runs. */
int vr_region_lookup_start(struct vr_curl_uv *cu, const char *bucket,
                           const struct vr_region_opts *opts, vr_region_cb cb, void *arg,
                           struct vr_region_lookup **out);

/* Cancels a running lookup: cb runs later with VR_ECANCELED. Only before cb ran. */
void vr_region_lookup_cancel(struct vr_region_lookup *l);

/* A small per-bucket cache of answers (regions only; failures are not cached). */
struct vr_region_cache_entry {
    char *bucket;
    char region[VR_REGION_MAX];
};

struct vr_region_cache {
    struct vr_region_cache_entry *v;
    size_t n, cap;
};

/* Looks bucket up: true and its region (borrowed, valid until the next put) when cached. */
bool vr_region_cache_find(const struct vr_region_cache *c, const char *bucket,
                          const char **region);
/* Stores or replaces bucket's region. */
void vr_region_cache_put(struct vr_region_cache *c, const char *bucket, const char *region);
/* Forgets one bucket (BSL changed). */
void vr_region_cache_forget(struct vr_region_cache *c, const char *bucket);
/* Frees every entry; c stays usable (empty). */
void vr_region_cache_cleanup(struct vr_region_cache *c);

#endif
