/*
 * SigV4 query-string presigning (presign.md §1.3-1.5). Pure: the time comes in the
 * request, nothing is logged. Every intermediate buffer holds the session token or the
 * URL (both secrets), so all of them are wiped before they are freed.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/timefmt.h"
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

/*
 * How one presign is built (profile and figures: bench/README.md, bench_presign): the
 * exact length of every piece is computed first and checked against the same caps as when
 * each piece had its own growing buffer; then one arena (on the stack up to
 * ARENA_ON_STACK, else one allocation) takes the encoded parameter values, the canonical
 * request (whose middle is the canonical query, reused for the URL) and the string to sign,
 * written with memcpy; the URL goes straight into the caller's buffer. No printf, no
 * buffer growth, and no allocation at all for a typical URL with a cached key.
 */

/* One query parameter, encoded. */
struct qpair {
    const char *name, *value;
    size_t nlen, vlen;
};

/* Pairs kept on the stack; a request with more extra parameters allocates. */
#define QPAIRS_ON_STACK 16
/* Arena bytes kept on the stack (a Velero log URL needs about 1.3 KB). */
#define ARENA_ON_STACK 4096
/* The X-Amz-* parameters the signer adds itself. */
#define STD_PARAMS 6

/* A writer over memory sized in advance: every length is computed before writing, so a
 * put cannot overflow. */
struct span {
    char *p;
    size_t len;
};

struct work {
    const struct vr_sigv4_request *req;
    char amz_date[17]; /* yyyymmddTHHMMSSZ */
    char date[9];      /* yyyymmdd */
    char expires[24];
    char signature[VR_SHA256_HEX_LEN + 1];
    struct qpair *pairs; /* local, or the heap when there are many */
    size_t npairs;
    struct qpair *local; /* QPAIRS_ON_STACK entries, left uninitialised */
    size_t enc_area;     /* encoded credential, token and extra parameters */
    size_t path_len, cq_len, cr_len, sts_len;
    struct span arena;
    const char *cr, *path, *cq, *sts; /* inside the arena */
    const char *token_enc;            /* the encoded session token, or NULL */
    size_t token_enc_len;
    /* strlen of the request's strings, taken once */
    size_t akid_len, region_len, service_len, token_len, host_len, path_raw_len;
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
    for (size_t i = 0; i < r->nparams; i++)
        if (!r->params[i].name)
            return VR_EINVAL;
    if (r->expires_s < 1 || r->expires_s > VR_SIGV4_MAX_EXPIRES_S)
        return VR_EINVAL;
    if (r->now_s < 0 || r->now_s > MAX_NOW_S)
        return VR_EINVAL;
    return 0;
}

/* Writes v as exactly width decimal digits. */
static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* yyyymmddTHHMMSSZ for a Unix time in 1970..9999 (checked by check_request), from the day
 * count by core's civil-from-days: gmtime_r plus strftime cost more than the rest of the
 * string building. */
static void format_time(struct work *w)
{
    int64_t t = w->req->now_s, secs = t % 86400, year;
    unsigned month, day;
    vr_time_civil_from_days(t / 86400, &year, &month, &day);
    put_digits(w->amz_date, (unsigned)year, 4);
    put_digits(w->amz_date + 4, month, 2);
    put_digits(w->amz_date + 6, day, 2);
    w->amz_date[8] = 'T';
    put_digits(w->amz_date + 9, (unsigned)(secs / 3600), 2);
    put_digits(w->amz_date + 11, (unsigned)(secs / 60 % 60), 2);
    put_digits(w->amz_date + 13, (unsigned)(secs % 60), 2);
    w->amz_date[15] = 'Z';
    w->amz_date[16] = '\0';
    memcpy(w->date, w->amz_date, 8);
    w->date[8] = '\0';
}

/* Length of the URI encoding of n bytes at p. */
static size_t enc_len(const char *p, size_t n, bool keep_slash)
{
    unsigned char keep_max = keep_slash ? 2 : 1;
    size_t len = n;
    /* Branch-free: class 0 wraps to 255, so "c - 1 >= keep_max" means "encode". */
    for (size_t i = 0; i < n; i++)
        len += 2 * (size_t)((unsigned char)(uri_class[(unsigned char)p[i]] - 1) >= keep_max);
    return len;
}

static const char *put(struct span *s, const void *p, size_t n)
{
    char *at = s->p + s->len;
    memcpy(at, p, n);
    s->len += n;
    return at;
}

static void put_str(struct span *s, const char *p)
{
    put(s, p, strlen(p));
}

/* Writes the URI encoding of n bytes at p (the rules of vr_sigv4_uri_encode); returns
 * where it starts. */
static const char *put_enc(struct span *s, const char *p, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char keep_max = keep_slash ? 2 : 1;
    char *start = s->p + s->len, *o = start;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i], c = uri_class[ch];
        if (c >= 1 && c <= keep_max) {
            *o++ = (char)ch;
            continue;
        }
        o[0] = '%';
        o[1] = hex[ch >> 4];
        o[2] = hex[ch & 0x0f];
        o += 3;
    }
    s->len = (size_t)(o - s->p);
    return start;
}

static bool token_signed(const struct vr_sigv4_request *r)
{
    return is_set(r->creds->session_token) && !r->token_after_signing;
}

/* Encoded length of "{AKID}/{date}/{region}/{service}/aws4_request" ('/' is %2F). */
static size_t credential_len(const struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    return enc_len(r->creds->access_key_id, w->akid_len, false) + 3 + 8 + 3 +
           enc_len(r->region, w->region_len, false) + 3 +
           enc_len(r->service, w->service_len, false) + 3 + sizeof(TERMINATOR) - 1;
}

static void take_lengths(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    w->akid_len = strlen(r->creds->access_key_id);
    w->region_len = strlen(r->region);
    w->service_len = strlen(r->service);
    w->token_len = r->creds->session_token ? strlen(r->creds->session_token) : 0;
    w->host_len = strlen(r->host);
    w->path_raw_len = strlen(r->path);
}

/* Sizes the parameters: w->enc_area (what must be written), w->npairs, and the canonical
 * query's length. VR_ETOOBIG past the caps that applied when each piece had its own
 * buffer (the raw credential, all encoded names and values, the canonical query). */
static int measure_params(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    size_t raw_cred = w->akid_len + 10 + w->region_len + 1 + w->service_len + sizeof(TERMINATOR);
    size_t cred = credential_len(w);
    /* The constant names and values: Algorithm, Credential, Date, Expires, SignedHeaders. */
    size_t scratch = 15 + 16 + 16 + cred + 10 + 16 + 13 + strlen(w->expires) + 19 + 4;
    w->token_enc_len = enc_len(r->creds->session_token, w->token_len, false);
    w->enc_area = cred + w->token_enc_len;
    w->npairs = STD_PARAMS - 1;
    if (token_signed(r)) {
        scratch += 20 + w->token_enc_len;
        w->npairs++;
    }
    for (size_t i = 0; i < r->nparams; i++) {
        const char *n = r->params[i].name, *v = r->params[i].value ? r->params[i].value : "";
        size_t len = enc_len(n, strlen(n), false) + enc_len(v, strlen(v), false);
        scratch += len;
        w->enc_area += len;
    }
    w->npairs += r->nparams;
    w->cq_len = scratch + 2 * w->npairs - 1;
    if (raw_cred > VR_SIGV4_SCRATCH_MAX || scratch > VR_SIGV4_SCRATCH_MAX ||
        w->cq_len > VR_SIGV4_SCRATCH_MAX)
        return VR_ETOOBIG;
    return 0;
}

/* Sizes the canonical request, the string to sign and the URL (same caps). */
static int measure_outputs(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    size_t host = w->host_len;
    w->path_len = r->path[0] ? enc_len(r->path, w->path_raw_len, true) : 1;
    w->cr_len = strlen(r->method) + 1 + w->path_len + 1 + w->cq_len + 6 + host + 7 +
                strlen(r->payload_hash);
    w->sts_len = sizeof(ALGORITHM) + 16 + 1 + 8 + 1 + w->region_len + 1 + w->service_len +
                 sizeof(TERMINATOR) + 1 + VR_SHA256_HEX_LEN;
    size_t url =
        strlen(r->scheme) + 3 + host + w->path_len + 1 + w->cq_len + 17 + VR_SHA256_HEX_LEN;
    if (is_set(r->creds->session_token) && r->token_after_signing)
        url += 22 + w->token_enc_len;
    if (w->cr_len > VR_SIGV4_SCRATCH_MAX || w->sts_len > VR_SIGV4_SCRATCH_MAX ||
        url > VR_SIGV4_SCRATCH_MAX)
        return VR_ETOOBIG;
    return 0;
}

static void add_pair(struct work *w, const char *name, size_t nlen, const char *value, size_t vlen)
{
    w->pairs[w->npairs++] =
        (struct qpair){.name = name, .nlen = nlen, .value = value, .vlen = vlen};
}

#define ADD_CONST(w, name, value) add_pair(w, name, sizeof(name) - 1, value, strlen(value))

static void add_credential(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    struct span *a = &w->arena;
    size_t start = a->len;
    put_enc(a, r->creds->access_key_id, w->akid_len, false);
    put(a, "%2F", 3);
    put(a, w->date, 8);
    put(a, "%2F", 3);
    put_enc(a, r->region, w->region_len, false);
    put(a, "%2F", 3);
    put_enc(a, r->service, w->service_len, false);
    put(a, "%2F" TERMINATOR, 3 + sizeof(TERMINATOR) - 1);
    add_pair(w, "X-Amz-Credential", 16, a->p + start, a->len - start);
}

/* Encodes every parameter into the arena and lists it in w->pairs (unsorted). */
static void add_params(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    const char *tok = r->creds->session_token;
    size_t want = w->npairs;
    w->pairs = want <= QPAIRS_ON_STACK ? w->local : vr_xcalloc(want, sizeof(*w->pairs));
    w->npairs = 0;
    ADD_CONST(w, "X-Amz-Algorithm", ALGORITHM);
    add_credential(w);
    ADD_CONST(w, "X-Amz-Date", w->amz_date);
    ADD_CONST(w, "X-Amz-Expires", w->expires);
    if (is_set(tok))
        w->token_enc = put_enc(&w->arena, tok, w->token_len, false);
    if (token_signed(r))
        add_pair(w, "X-Amz-Security-Token", 20, w->token_enc, w->token_enc_len);
    ADD_CONST(w, "X-Amz-SignedHeaders", "host");
    for (size_t i = 0; i < r->nparams; i++) {
        const char *n = r->params[i].name, *v = r->params[i].value ? r->params[i].value : "";
        const char *en = put_enc(&w->arena, n, strlen(n), false);
        size_t nlen = w->arena.len - (size_t)(en - w->arena.p);
        const char *ev = put_enc(&w->arena, v, strlen(v), false);
        add_pair(w, en, nlen, ev, w->arena.len - (size_t)(ev - w->arena.p));
    }
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

/* The signer's own parameters are added in sorted order, so with few extras an insertion
 * sort does a handful of comparisons; qsort only for long lists. */
static void sort_pairs(struct work *w)
{
    if (w->npairs > QPAIRS_ON_STACK) {
        qsort(w->pairs, w->npairs, sizeof(*w->pairs), cmp_pairs);
        return;
    }
    for (size_t i = 1; i < w->npairs; i++) {
        struct qpair q = w->pairs[i];
        size_t j = i;
        for (; j > 0 && cmp_pairs(&w->pairs[j - 1], &q) > 0; j--)
            w->pairs[j] = w->pairs[j - 1];
        w->pairs[j] = q;
    }
}

static void put_query(struct work *w)
{
    struct span *a = &w->arena;
    w->cq = a->p + a->len;
    for (size_t i = 0; i < w->npairs; i++) {
        const struct qpair *q = &w->pairs[i];
        if (i > 0)
            put(a, "&", 1);
        put(a, q->name, q->nlen);
        put(a, "=", 1);
        put(a, q->value, q->vlen);
    }
}

/* The canonical request; the path is encoded once here, with '/' kept and "" as "/". */
static void put_canonical_request(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    struct span *a = &w->arena;
    w->cr = a->p + a->len;
    put_str(a, r->method);
    put(a, "\n", 1);
    w->path = r->path[0] ? put_enc(a, r->path, w->path_raw_len, true) : put(a, "/", 1);
    put(a, "\n", 1);
    put_query(w);
    put(a, "\nhost:", 6);
    put(a, r->host, w->host_len);
    put(a, "\n\nhost\n", 7);
    put_str(a, r->payload_hash);
}

static int put_string_to_sign(struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    struct span *a = &w->arena;
    char hash[VR_SHA256_HEX_LEN + 1];
    int rc = vr_crypto_sha256_hex(w->cr, w->cr_len, hash);
    if (rc < 0)
        return rc;
    w->sts = a->p + a->len;
    put(a, ALGORITHM "\n", sizeof(ALGORITHM));
    put(a, w->amz_date, 16);
    put(a, "\n", 1);
    put(a, w->date, 8);
    put(a, "/", 1);
    put(a, r->region, w->region_len);
    put(a, "/", 1);
    put(a, r->service, w->service_len);
    put(a, "/" TERMINATOR "\n", sizeof(TERMINATOR) + 1);
    put(a, hash, VR_SHA256_HEX_LEN);
    return 0;
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

/* Builds the arena's contents and w->signature. */
static int sign(struct work *w, struct vr_sigv4_key_cache *cache)
{
    unsigned char key[VR_SHA256_LEN], mac[VR_SHA256_LEN];
    add_params(w);
    sort_pairs(w);
    put_canonical_request(w);
    vr_assert(w->arena.len == w->enc_area + w->cr_len);
    int rc = put_string_to_sign(w);
    if (rc < 0)
        return rc;
    vr_assert(w->arena.len == w->enc_area + w->cr_len + w->sts_len);
    rc = signing_key(w, cache, key);
    if (rc == 0)
        rc = vr_crypto_hmac_sha256(key, sizeof(key), w->sts, w->sts_len, mac);
    if (rc == 0)
        vr_crypto_hex(mac, sizeof(mac), w->signature);
    vr_crypto_cleanse(key, sizeof(key));
    return rc;
}

/* Appends "{scheme}://{host}{path}?{query}&X-Amz-Signature={sig}" (and the token when it
 * goes after signing). The canonical request already holds the encoded path and query. */
static int append_url(struct vr_buf *url, const struct work *w)
{
    const struct vr_sigv4_request *r = w->req;
    int rc = vr_buf_append_str(url, r->scheme);
    if (rc == 0)
        rc = vr_buf_append(url, "://", 3);
    if (rc == 0)
        rc = vr_buf_append(url, r->host, w->host_len);
    if (rc == 0)
        rc = vr_buf_append(url, w->path, w->path_len);
    if (rc == 0)
        rc = vr_buf_putc(url, '?');
    if (rc == 0)
        rc = vr_buf_append(url, w->cq, w->cq_len);
    if (rc == 0)
        rc = vr_buf_append(url, "&X-Amz-Signature=", 17);
    if (rc == 0)
        rc = vr_buf_append(url, w->signature, VR_SHA256_HEX_LEN);
    if (rc == 0 && is_set(r->creds->session_token) && r->token_after_signing) {
        rc = vr_buf_append(url, "&X-Amz-Security-Token=", 22);
        if (rc == 0)
            rc = vr_buf_append(url, w->token_enc, w->token_enc_len);
    }
    return rc;
}

/* Formats expires_s (1..604800, checked) in decimal. */
static void format_expires(struct work *w)
{
    char tmp[24];
    size_t n = 0;
    for (uint64_t v = (uint64_t)w->req->expires_s; v > 0 || n == 0; v /= 10)
        tmp[n++] = (char)('0' + v % 10);
    for (size_t i = 0; i < n; i++)
        w->expires[i] = tmp[n - 1 - i];
    w->expires[n] = '\0';
}

static int prepare(struct work *w)
{
    int rc = check_request(w->req);
    if (rc < 0)
        return rc;
    take_lengths(w);
    format_time(w);
    format_expires(w);
    rc = measure_params(w);
    if (rc == 0)
        rc = measure_outputs(w);
    return rc;
}

int vr_sigv4_presign(const struct vr_sigv4_request *req, struct vr_sigv4_key_cache *cache,
                     struct vr_buf *url, struct vr_buf *creq, struct vr_buf *sts)
{
    struct qpair local[QPAIRS_ON_STACK];
    struct work w = {.req = req, .local = local};
    int rc = prepare(&w);
    if (rc < 0)
        return rc;
    /* Typical URLs fit on the stack: no malloc at all on the cached-key path. */
    char stack_arena[ARENA_ON_STACK];
    size_t arena_len = w.enc_area + w.cr_len + w.sts_len;
    w.arena.p = arena_len <= sizeof(stack_arena) ? stack_arena : vr_xmalloc(arena_len);
    rc = sign(&w, cache);
    if (rc == 0 && url)
        rc = append_url(url, &w);
    if (rc == 0 && creq)
        rc = vr_buf_append(creq, w.cr, w.cr_len);
    if (rc == 0 && sts)
        rc = vr_buf_append(sts, w.sts, w.sts_len);
    /* The arena holds the session token and the query of a live URL. */
    if (w.arena.p == stack_arena)
        vr_crypto_cleanse(stack_arena, arena_len);
    else
        vr_free_secret(w.arena.p, arena_len);
    if (w.pairs != w.local)
        vr_free(w.pairs);
    vr_crypto_cleanse(w.signature, sizeof(w.signature));
    return rc;
}
