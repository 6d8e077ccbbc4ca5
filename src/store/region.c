/* Bucket region discovery with one anonymous HEAD (see region.h). */
#include <stdio.h>
#include <string.h>

#include "store/region.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define DEFAULT_BASE "https://s3.us-east-1.amazonaws.com"

struct vr_region_lookup {
    struct vr_req *req;
    vr_region_cb cb;
    void *arg;
    char bucket[256];
};

bool vr_region_bucket_is_dns_safe(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
            return false;
    return true;
}

static bool bucket_chars_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int vr_region_url(const char *bucket, const struct vr_region_opts *opts, char *out, size_t cap)
{
    const char *base = opts && opts->base_url ? opts->base_url : DEFAULT_BASE;
    if (!bucket_chars_ok(bucket))
        return VR_EINVAL;
    const char *sep = strstr(base, "://");
    if (!sep || sep == base)
        return VR_EINVAL;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0)
        return VR_EINVAL;
    /* An IP literal host cannot take a bucket label. */
    bool ip = auth[0] == '[' || (auth[0] >= '0' && auth[0] <= '9');
    bool path = (opts && opts->path_style) || ip || !vr_region_bucket_is_dns_safe(bucket);
    int scheme_len = (int)(sep - base);
    int n = path ? snprintf(out, cap, "%.*s://%.*s/%s", scheme_len, base, (int)alen, auth, bucket)
                 : snprintf(out, cap, "%.*s://%s.%.*s/", scheme_len, base, bucket, (int)alen,
                            auth);
    if (n < 0 || (size_t)n >= cap)
        return VR_ETOOBIG;
    return 0;
}

static bool region_ok(struct vr_str r)
{
    if (r.n == 0 || r.n >= VR_REGION_MAX)
        return false;
    for (size_t i = 0; i < r.n; i++)
        if (!((r.p[i] >= 'a' && r.p[i] <= 'z') || (r.p[i] >= '0' && r.p[i] <= '9') ||
              r.p[i] == '-'))
            return false;
    return true;
}

static void on_head(struct vr_req *req, int status, void *arg)
{
    struct vr_region_lookup *l = arg;
    char err[512];
    char region[VR_REGION_MAX];
    int http = vr_req_http_status(req);
    struct vr_str hdr = vr_req_header(req, "X-Amz-Bucket-Region");
    if (status < 0) {
        (void)snprintf(err, sizeof(err), "bucket region lookup for %s: %s", l->bucket,
                       vr_req_error_text(req));
    } else if (region_ok(hdr)) {
        memcpy(region, hdr.p, hdr.n);
        region[hdr.n] = '\0';
        l->cb(0, region, "", l->arg);
        goto out;
    } else if (http == 404) {
        (void)snprintf(err, sizeof(err), "bucket not found: %s", l->bucket);
        status = VR_ENOTFOUND;
    } else if (http >= 500) {
        (void)snprintf(err, sizeof(err), "bucket region lookup for %s: HTTP %d", l->bucket, http);
        status = VR_ESERVER;
    } else {
        (void)snprintf(err, sizeof(err), "unable to determine bucket's region, bucket: %s",
                       l->bucket);
        status = VR_ECONFIG;
    }
    l->cb(status, NULL, err, l->arg);
out:
    vr_free(l);
}

int vr_region_lookup_start(struct vr_curl_uv *cu, const char *bucket,
                           const struct vr_region_opts *opts, vr_region_cb cb, void *arg,
                           struct vr_region_lookup **out)
{
    char url[1024];
    int rc = vr_region_url(bucket, opts, url, sizeof(url));
    if (rc < 0)
        return rc == VR_ETOOBIG ? VR_EINVAL : rc;
    struct vr_region_lookup *l = vr_xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    (void)snprintf(l->bucket, sizeof(l->bucket), "%s", bucket);
    l->req = vr_req_new(cu, "HEAD", url);
    vr_req_set_body_cap(l->req, 64 * 1024);
    vr_req_set_timeout_ms(l->req, opts && opts->timeout_ms ? opts->timeout_ms : 10000);
    rc = vr_req_start(l->req, on_head, l);
    if (rc < 0) {
        vr_free(l);
        return rc;
    }
    if (out)
        *out = l;
    return 0;
}

void vr_region_lookup_cancel(struct vr_region_lookup *l)
{
    vr_req_cancel(l->req);
}

static struct vr_region_cache_entry *cache_at(const struct vr_region_cache *c, const char *b)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].bucket, b) == 0)
            return &c->v[i];
    return NULL;
}

bool vr_region_cache_find(const struct vr_region_cache *c, const char *bucket,
                          const char **region)
{
    struct vr_region_cache_entry *e = cache_at(c, bucket);
    if (!e)
        return false;
    *region = e->region;
    return true;
}

void vr_region_cache_put(struct vr_region_cache *c, const char *bucket, const char *region)
{
    struct vr_region_cache_entry *e = cache_at(c, bucket);
    if (!e) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 8;
            c->v = vr_xrealloc(c->v, c->cap * sizeof(*c->v));
        }
        e = &c->v[c->n++];
        e->bucket = vr_xstrdup(bucket);
    }
    (void)snprintf(e->region, sizeof(e->region), "%s", region);
}

void vr_region_cache_forget(struct vr_region_cache *c, const char *bucket)
{
    struct vr_region_cache_entry *e = cache_at(c, bucket);
    if (!e)
        return;
    vr_free(e->bucket);
    *e = c->v[--c->n];
}

void vr_region_cache_cleanup(struct vr_region_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        vr_free(c->v[i].bucket);
    vr_free(c->v);
    memset(c, 0, sizeof(*c));
}
