/*
 * SigV4 query-string presigning (presign.md §1.3-1.5). Pure: the time comes in the
 * request, nothing is logged. Every intermediate buffer holds the session token or the
 * URL (both secrets), so all of them are wiped before they are freed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "store/crypto.h"
#include "store/s3.h"
#include "vreq/err.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
/* Latest signable instant: 9999-12-31T23:59:59Z (four-digit years only). */
#define MAX_NOW_S INT64_C(253402300799)

/* Byte classes for URI encoding: 0 = %XX, 1 = unreserved (kept), 2 = '/' (kept in paths). */
static const unsigned char uri_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    /* 0x80-0xff: every byte of a multi-byte UTF-8 sequence is encoded. */
};

int vr_sigv4_uri_encode(struct vr_buf *b, const char *p, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char keep_max = keep_slash ? 2 : 1;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && uri_class[(unsigned char)p[run]] >= 1 &&
               uri_class[(unsigned char)p[run]] <= keep_max)
            run++;
        int rc = vr_buf_append(b, p + i, run - i);
        if (rc < 0 || run == n)
            return rc;
        unsigned char c = (unsigned char)p[run];
        char e[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
        rc = vr_buf_append(b, e, sizeof(e));
        if (rc < 0)
            return rc;
        i = run + 1;
    }
    return 0;
}

void vr_sigv4_key_cache_init(struct vr_sigv4_key_cache *c)
{
    memset(c, 0, sizeof(*c));
}

void vr_sigv4_key_cache_cleanup(struct vr_sigv4_key_cache *c)
{
    if (c->secret)
        vr_free_secret(c->secret, c->secret_len);
    vr_crypto_cleanse(c, sizeof(*c));
    memset(c, 0, sizeof(*c));
}

/* One query parameter, encoded. Offsets into the scratch buffer while it still grows,
 * pointers once it is complete. */
struct qpair {
    size_t noff, nlen, voff, vlen;
    const char *name, *value;
};

struct work {
    const struct vr_sigv4_request *req;
    char amz_date[17];     /* yyyymmddTHHMMSSZ */
    char date[9];          /* yyyymmdd */
    struct vr_buf scratch; /* encoded names and values */
    struct vr_buf cq;      /* canonical query */
    struct vr_buf cr;      /* canonical request */
    struct vr_buf sts;     /* string to sign */
    struct vr_buf url;
    struct qpair *pairs;
    size_t npairs;
};

static bool is_set(const char *s)
{
    return s && s[0] != '\0';
}

static int check_request(const struct vr_sigv4_request *r)
{
    if (!is_set(r->method) || !is_set(r->scheme) || !is_set(r->host) || !r->path ||
        !is_set(r->service) || !is_set(r->region) || !is_set(r->payload_hash) || !r->creds ||
        !is_set(r->creds->access_key_id) || !is_set(r->creds->secret_access_key))
        return VR_EINVAL;
    if (r->nparams > 0 && !r->params)
        return VR_EINVAL;
    if (r->expires_s < 1 || r->expires_s > VR_SIGV4_MAX_EXPIRES_S)
        return VR_EINVAL;
    if (r->now_s < 0 || r->now_s > MAX_NOW_S)
        return VR_EINVAL;
    return 0;
}

static int format_time(struct work *w)
{
    time_t t = (time_t)w->req->now_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return VR_EINVAL;
    if (strftime(w->amz_date, sizeof(w->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
        return VR_EINVAL;
    memcpy(w->date, w->amz_date, 8);
    w->date[8] = '\0';
    return 0;
}

/* Appends one encoded name and value to the scratch buffer and records it. */
static int add_pair(struct work *w, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct qpair *q = &w->pairs[w->npairs];
    q->noff = w->scratch.len;
    int rc = vr_sigv4_uri_encode(&w->scratch, name, nlen, false);
    if (rc < 0)
        return rc;
    q->nlen = w->scratch.len - q->noff;
    q->voff = w->scratch.len;
    rc = vr_sigv4_uri_encode(&w->scratch, value, vlen, false);
    if (rc < 0)
        return rc;
    q->vlen = w->scratch.len - q->voff;
    w->npairs++;
    return 0;
}

static int add_pair_c(struct work *w, const char *name, const char *value)
{
    return add_pair(w, name, strlen(name), value ? value : "", value ? strlen(value) : 0);
}

static int add_credential(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    struct vr_buf cred;
    vr_buf_init(&cred, VR_SIGV4_SCRATCH_MAX);
    int rc = vr_buf_printf(&cred, "%s/%s/%s/%s/" TERMINATOR, r->creds->access_key_id, w->date,
                           r->region, r->service);
    if (rc == 0)
        rc = add_pair(w, "X-Amz-Credential", 16, cred.p, cred.len);
    vr_buf_cleanup(&cred);
    return rc;
}

static bool token_signed(const struct vr_sigv4_request *r)
{
    return is_set(r->creds->session_token) && !r->token_after_signing;
}

static int add_params(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    char expires[24];
    snprintf(expires, sizeof(expires), "%" PRId64, r->expires_s);
    w->pairs = vr_xcalloc(r->nparams + 6, sizeof(*w->pairs));
    int rc = add_pair_c(w, "X-Amz-Algorithm", ALGORITHM);
    if (rc == 0)
        rc = add_credential(w);
    if (rc == 0)
        rc = add_pair_c(w, "X-Amz-Date", w->amz_date);
    if (rc == 0)
        rc = add_pair_c(w, "X-Amz-Expires", expires);
    if (rc == 0)
        rc = add_pair_c(w, "X-Amz-SignedHeaders", "host");
    if (rc == 0 && token_signed(r))
        rc = add_pair_c(w, "X-Amz-Security-Token", r->creds->session_token);
    for (size_t i = 0; rc == 0 && i < r->nparams; i++) {
        if (!r->params[i].name)
            return VR_EINVAL;
        rc = add_pair_c(w, r->params[i].name, r->params[i].value);
    }
    return rc;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return (an > bn) - (an < bn);
}

/* Sorted by encoded name, then encoded value (never by the joined "name=value": '-'
 * sorts below '=', presign.md §1.7). */
static int cmp_pairs(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = cmp_bytes(x->name, x->nlen, y->name, y->nlen);
    return c != 0 ? c : cmp_bytes(x->value, x->vlen, y->value, y->vlen);
}

static int build_query(struct work *w)
{
    for (size_t i = 0; i < w->npairs; i++) {
        w->pairs[i].name = w->scratch.p + w->pairs[i].noff;
        w->pairs[i].value = w->scratch.p + w->pairs[i].voff;
    }
    qsort(w->pairs, w->npairs, sizeof(*w->pairs), cmp_pairs);
    for (size_t i = 0; i < w->npairs; i++) {
        const struct qpair *q = &w->pairs[i];
        int rc = i > 0 ? vr_buf_putc(&w->cq, '&') : 0;
        if (rc == 0)
            rc = vr_buf_append(&w->cq, q->name, q->nlen);
        if (rc == 0)
            rc = vr_buf_putc(&w->cq, '=');
        if (rc == 0)
            rc = vr_buf_append(&w->cq, q->value, q->vlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Appends the canonical URI: the decoded path encoded once, '/' kept, "" as "/". */
static int append_path(struct vr_buf *b, const char *path)
{
    if (path[0] == '\0')
        return vr_buf_putc(b, '/');
    return vr_sigv4_uri_encode(b, path, strlen(path), true);
}

static int build_canonical_request(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    int rc = vr_buf_printf(&w->cr, "%s\n", r->method);
    if (rc == 0)
        rc = append_path(&w->cr, r->path);
    if (rc == 0)
        rc = vr_buf_putc(&w->cr, '\n');
    if (rc == 0)
        rc = vr_buf_append(&w->cr, w->cq.p ? w->cq.p : "", w->cq.len);
    if (rc == 0)
        rc = vr_buf_printf(&w->cr, "\nhost:%s\n\nhost\n%s", r->host, r->payload_hash);
    return rc;
}

static int build_string_to_sign(struct work *w)
{
    char hash[VR_SHA256_HEX_LEN + 1];
    int rc = vr_crypto_sha256_hex(w->cr.p, w->cr.len, hash);
    if (rc < 0)
        return rc;
    return vr_buf_printf(&w->sts, ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s", w->amz_date,
                         w->date, w->req->region, w->req->service, hash);
}

static int hmac_str(unsigned char key[VR_SHA256_LEN], const char *s)
{
    return vr_crypto_hmac_sha256(key, VR_SHA256_LEN, s, strlen(s), key);
}

static int derive_key(const struct work *w, unsigned char out[VR_SHA256_LEN])
{
    const char *secret = w->req->creds->secret_access_key;
    size_t slen = strlen(secret);
    char *k = vr_xmalloc(slen + 5);
    unsigned char key[VR_SHA256_LEN];
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, slen + 1);
    int rc = vr_crypto_hmac_sha256(k, slen + 4, w->date, 8, key);
    if (rc == 0)
        rc = hmac_str(key, w->req->region);
    if (rc == 0)
        rc = hmac_str(key, w->req->service);
    if (rc == 0)
        rc = hmac_str(key, TERMINATOR);
    if (rc == 0)
        memcpy(out, key, sizeof(key));
    vr_free_secret(k, slen + 5);
    vr_crypto_cleanse(key, sizeof(key));
    return rc;
}

static bool cache_matches(const struct vr_sigv4_key_cache *c, const struct work *w)
{
    const char *secret = w->req->creds->secret_access_key;
    size_t slen = strlen(secret);
    return c->valid && c->secret_len == slen && vr_crypto_is_equal(c->secret, secret, slen) &&
           strcmp(c->date, w->date) == 0 && strcmp(c->region, w->req->region) == 0 &&
           strcmp(c->service, w->req->service) == 0;
}

static void cache_store(struct vr_sigv4_key_cache *c, const struct work *w,
                        const unsigned char key[VR_SHA256_LEN])
{
    const struct vr_sigv4_request *r = w->req;
    uint64_t hits = c->hits, misses = c->misses;
    vr_sigv4_key_cache_cleanup(c);
    c->hits = hits;
    c->misses = misses;
    /* A region or service too long for the fixed fields is simply not cached. */
    if (strlen(r->region) >= sizeof(c->region) || strlen(r->service) >= sizeof(c->service))
        return;
    memcpy(c->key, key, VR_SHA256_LEN);
    c->secret_len = strlen(r->creds->secret_access_key);
    c->secret = vr_xstrdup(r->creds->secret_access_key);
    memcpy(c->date, w->date, sizeof(c->date));
    memcpy(c->region, r->region, strlen(r->region) + 1);
    memcpy(c->service, r->service, strlen(r->service) + 1);
    c->valid = true;
}

static int signing_key(const struct work *w, struct vr_sigv4_key_cache *c,
                       unsigned char key[VR_SHA256_LEN])
{
    if (c && cache_matches(c, w)) {
        c->hits++;
        memcpy(key, c->key, VR_SHA256_LEN);
        return 0;
    }
    int rc = derive_key(w, key);
    if (rc == 0 && c) {
        c->misses++;
        cache_store(c, w, key);
    }
    return rc;
}

static int build_url(struct work *w, const char *signature)
{
    const struct vr_sigv4_request *r = w->req;
    int rc = vr_buf_printf(&w->url, "%s://%s", r->scheme, r->host);
    if (rc == 0)
        rc = append_path(&w->url, r->path);
    if (rc == 0)
        rc = vr_buf_putc(&w->url, '?');
    if (rc == 0)
        rc = vr_buf_append(&w->url, w->cq.p ? w->cq.p : "", w->cq.len);
    if (rc == 0)
        rc = vr_buf_printf(&w->url, "&X-Amz-Signature=%s", signature);
    if (rc == 0 && is_set(r->creds->session_token) && r->token_after_signing) {
        rc = vr_buf_append_str(&w->url, "&X-Amz-Security-Token=");
        if (rc == 0)
            rc = vr_sigv4_uri_encode(&w->url, r->creds->session_token,
                                     strlen(r->creds->session_token), false);
    }
    return rc;
}

static int sign(struct work *w, struct vr_sigv4_key_cache *cache)
{
    unsigned char key[VR_SHA256_LEN], mac[VR_SHA256_LEN];
    char signature[VR_SHA256_HEX_LEN + 1];
    int rc = add_params(w);
    if (rc == 0)
        rc = build_query(w);
    if (rc == 0)
        rc = build_canonical_request(w);
    if (rc == 0)
        rc = build_string_to_sign(w);
    if (rc == 0)
        rc = signing_key(w, cache, key);
    if (rc == 0)
        rc = vr_crypto_hmac_sha256(key, sizeof(key), w->sts.p, w->sts.len, mac);
    if (rc == 0) {
        vr_crypto_hex(mac, sizeof(mac), signature);
        rc = build_url(w, signature);
    }
    vr_crypto_cleanse(key, sizeof(key));
    return rc;
}

static int append_out(struct vr_buf *out, const struct vr_buf *b)
{
    return out ? vr_buf_append(out, b->p ? b->p : "", b->len) : 0;
}

int vr_sigv4_presign(const struct vr_sigv4_request *req, struct vr_sigv4_key_cache *cache,
                     struct vr_buf *url, struct vr_buf *creq, struct vr_buf *sts)
{
    struct work w = {.req = req};
    int rc = check_request(req);
    if (rc < 0)
        return rc;
    rc = format_time(&w);
    if (rc < 0)
        return rc;
    vr_buf_init(&w.scratch, VR_SIGV4_SCRATCH_MAX);
    vr_buf_init(&w.cq, VR_SIGV4_SCRATCH_MAX);
    vr_buf_init(&w.cr, VR_SIGV4_SCRATCH_MAX);
    vr_buf_init(&w.sts, VR_SIGV4_SCRATCH_MAX);
    vr_buf_init(&w.url, VR_SIGV4_SCRATCH_MAX);
    rc = sign(&w, cache);
    if (rc == 0)
        rc = append_out(url, &w.url);
    if (rc == 0)
        rc = append_out(creq, &w.cr);
    if (rc == 0)
        rc = append_out(sts, &w.sts);
    vr_free(w.pairs);
    vr_buf_cleanup_secret(&w.scratch);
    vr_buf_cleanup_secret(&w.cq);
    vr_buf_cleanup_secret(&w.cr);
    vr_buf_cleanup_secret(&w.sts);
    vr_buf_cleanup_secret(&w.url);
    return rc;
}
