/*
 * The BSL side of S3 presigning: velero-plugin-for-aws's config keys and the endpoint,
 * addressing and expiry rules (presign.md §1.2, §1.6, §3). Pure: the signing itself is
 * sigv4.c, the time and credentials come from the caller.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "store/s3.h"
#include "vreq/err.h"
#include "vreq/mem.h"
#include "vreq/str.h"

#define URL_HINT                                                                                   \
    ", URL must be valid according to https://golang.org/pkg/net/url/#Parse and start with "       \
    "http:// or https://"

/* Velero's ValidateObjectStoreConfigKeys lists valid keys sorted. */
#define VALID_KEYS                                                                                 \
    "[bucket caCert checksumAlgorithm credentialsFile customerKeyEncryptionFile "                  \
    "customerKeyEncryptionSecret enableSharedConfig insecureSkipTLSVerify kmsKeyId prefix "        \
    "profile publicUrl region s3ForcePathStyle s3Url serverSideEncryption signatureVersion "       \
    "tagging]"

enum key_kind { KEY_STR, KEY_BOOL };

struct config_key {
    const char *name;
    enum key_kind kind;
    size_t off; /* char * or bool field of struct vr_s3_config */
};

#define STR_KEY(n, f)                                                                              \
    {                                                                                              \
        n, KEY_STR, offsetof(struct vr_s3_config, f)                                               \
    }
#define BOOL_KEY(n, f)                                                                             \
    {                                                                                              \
        n, KEY_BOOL, offsetof(struct vr_s3_config, f)                                              \
    }

static const struct config_key config_keys[] = {
    STR_KEY("region", region),
    STR_KEY("s3Url", s3_url),
    STR_KEY("publicUrl", public_url),
    STR_KEY("kmsKeyId", kms_key_id),
    BOOL_KEY("s3ForcePathStyle", force_path_style),
    STR_KEY("signatureVersion", signature_version),
    STR_KEY("credentialsFile", credentials_file),
    STR_KEY("profile", profile),
    STR_KEY("serverSideEncryption", server_side_encryption),
    BOOL_KEY("insecureSkipTLSVerify", insecure_skip_tls_verify),
    STR_KEY("customerKeyEncryptionFile", customer_key_file),
    STR_KEY("customerKeyEncryptionSecret", customer_key_secret),
    STR_KEY("enableSharedConfig", enable_shared_config),
    STR_KEY("tagging", tagging),
    STR_KEY("checksumAlgorithm", checksum_algorithm),
    STR_KEY("bucket", bucket),
    STR_KEY("prefix", prefix),
    STR_KEY("caCert", ca_cert),
};

static bool is_set(const char *s)
{
    return s && s[0] != '\0';
}

static void endpoint_cleanup(struct vr_s3_endpoint *ep)
{
    vr_free(ep->host);
    vr_free(ep->path);
    memset(ep, 0, sizeof(*ep));
}

void vr_s3_config_cleanup(struct vr_s3_config *cfg)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(config_keys); i++) {
        if (config_keys[i].kind == KEY_STR)
            vr_free(*(char **)(void *)((char *)cfg + config_keys[i].off));
    }
    endpoint_cleanup(&cfg->s3_ep);
    endpoint_cleanup(&cfg->public_ep);
    memset(cfg, 0, sizeof(*cfg));
}

bool vr_s3_config_needs_region(const struct vr_s3_config *cfg)
{
    return !is_set(cfg->region) && !is_set(cfg->s3_url);
}

static const struct config_key *find_key(const char *name)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(config_keys); i++) {
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    }
    return NULL;
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < VR_ARRAY_SIZE(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return VR_EPARSE;
}

static int config_err(char *err, size_t errlen, const char *fmt, ...) VR_PRINTF(3, 4);

static int config_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return VR_ECONFIG;
}

/* Stores one config value; the plugin ignores empty values, and so do we. */
static int set_key(struct vr_s3_config *c, const struct config_key *k, const char *v, char *err,
                   size_t errlen)
{
    void *field = (char *)c + k->off;
    switch (k->kind) {
    case KEY_STR:
        vr_free(*(char **)field);
        *(char **)field = v[0] ? vr_xstrdup(v) : NULL;
        return 0;
    case KEY_BOOL:
        if (v[0] && parse_go_bool(v, (bool *)field) < 0)
            return config_err(err, errlen,
                              "could not parse %s (expected bool): strconv.ParseBool: parsing "
                              "\"%s\": invalid syntax",
                              k->name, v);
        return 0;
    }
    return 0;
}

static int unknown_keys_err(const cJSON *config, char *err, size_t errlen)
{
    struct vr_buf b;
    vr_buf_init(&b, 4096);
    const cJSON *it;
    int rc = 0;
    cJSON_ArrayForEach(it, config)
    {
        if (!find_key(it->string) && rc == 0)
            rc = vr_buf_printf(&b, "%s%s", b.len ? " " : "", it->string);
    }
    config_err(err, errlen, "config has invalid keys [%s]; valid keys are " VALID_KEYS,
               b.p ? b.p : "");
    vr_buf_cleanup(&b);
    return VR_ECONFIG;
}

static int read_keys(const cJSON *config, struct vr_s3_config *c, char *err, size_t errlen)
{
    const cJSON *it;
    if (!config)
        return 0;
    if (!cJSON_IsObject(config))
        return config_err(err, errlen, "config must be an object of strings");
    cJSON_ArrayForEach(it, config)
    {
        if (!find_key(it->string))
            return unknown_keys_err(config, err, errlen);
    }
    cJSON_ArrayForEach(it, config)
    {
        if (!cJSON_IsString(it))
            return config_err(err, errlen, "config key %s must be a string", it->string);
        int rc = set_key(c, find_key(it->string), it->valuestring, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A copy of s without leading and trailing '/'; NULL when nothing is left. */
static char *trim_slashes(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && *s == '/') {
        s++;
        n--;
    }
    while (n > 0 && s[n - 1] == '/')
        n--;
    return n ? vr_xstrndup(s, n) : NULL;
}

static void take_trimmed(char **field, const char *override)
{
    char *t = trim_slashes(override ? override : (*field ? *field : ""));
    vr_free(*field);
    *field = t;
}

static int check_values(const struct vr_s3_config *c, char *err, size_t errlen)
{
    static const char *const algs[] = {"CRC32", "CRC32C", "SHA1", "SHA256"};
    const char *sv = c->signature_version;
    if (sv && strcmp(sv, "1") != 0 && strcmp(sv, "4") != 0)
        return config_err(err, errlen, "invalid signature version: %s", sv);
    if (c->kms_key_id && c->customer_key_file)
        return config_err(err, errlen,
                          "you cannot use kmsKeyId and customerKeyEncryptionFile at the same time");
    if (c->checksum_algorithm) {
        bool ok = false;
        for (size_t i = 0; i < VR_ARRAY_SIZE(algs); i++)
            ok = ok || strcmp(c->checksum_algorithm, algs[i]) == 0;
        if (!ok)
            return config_err(err, errlen, "invalid checksum algorithm: %s", c->checksum_algorithm);
    }
    if (!c->bucket)
        return config_err(err, errlen, "bucket is required");
    return 0;
}

static bool is_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return true;
}

/* Whether s is a dotted-quad IPv4 literal (four runs of digits). */
static bool is_ipv4(const char *s, size_t n)
{
    size_t parts = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!is_digits(s + start, i - start) || i - start > 3)
                return false;
            parts++;
            start = i + 1;
        }
    }
    return parts == 4;
}

/* Host characters we accept in an endpoint: a DNS name or an IP literal. */
static bool host_chars_ok(const char *h, size_t n, bool bracketed)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
                  (bracketed && (ch == ':' || ch == '%'));
        if (!ok)
            return false;
    }
    return true;
}

/* Splits an authority (userinfo dropped) into host and port; *port is "" when absent. */
static int split_authority(struct vr_str auth, struct vr_str *host, struct vr_str *port,
                           bool *bracketed)
{
    const char *at = memchr(auth.p, '@', auth.n);
    while (at) { /* the last '@' ends the userinfo */
        auth = vr_str_make(at + 1, auth.n - (size_t)(at + 1 - auth.p));
        at = memchr(auth.p, '@', auth.n);
    }
    *bracketed = auth.n > 0 && auth.p[0] == '[';
    const char *colon;
    if (*bracketed) {
        const char *close = memchr(auth.p, ']', auth.n);
        if (!close)
            return VR_EPARSE;
        *host = vr_str_make(auth.p, (size_t)(close - auth.p) + 1);
        colon = close + 1 < auth.p + auth.n ? close + 1 : NULL;
        if (colon && *colon != ':')
            return VR_EPARSE;
    } else {
        colon = memchr(auth.p, ':', auth.n);
        *host = vr_str_make(auth.p, colon ? (size_t)(colon - auth.p) : auth.n);
    }
    *port =
        colon ? vr_str_make(colon + 1, auth.n - (size_t)(colon + 1 - auth.p)) : vr_str_make("", 0);
    return 0;
}

static int endpoint_host(struct vr_str auth, bool https, struct vr_s3_endpoint *ep)
{
    struct vr_str host, port;
    bool bracketed;
    uint64_t portnum = 0;
    if (split_authority(auth, &host, &port, &bracketed) < 0)
        return VR_EPARSE;
    struct vr_str inner = bracketed ? vr_str_make(host.p + 1, host.n - 2) : host;
    if (!host_chars_ok(inner.p, inner.n, bracketed))
        return VR_EPARSE;
    if (port.n > 0 &&
        (!is_digits(port.p, port.n) || vr_parse_uint64(port, 65535, &portnum) < 0 || portnum == 0))
        return VR_EPARSE;
    bool dflt = port.n == 0 || portnum == (https ? 443u : 80u);
    ep->host =
        dflt ? vr_str_dup(host) : vr_xasprintf("%.*s:%" PRIu64, (int)host.n, host.p, portnum);
    for (char *p = ep->host; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    ep->is_ip = bracketed || is_ipv4(host.p, host.n);
    return 0;
}

/* The endpoint's path prefix, decoded, without trailing '/'. */
static int endpoint_path(struct vr_str path, struct vr_s3_endpoint *ep)
{
    while (path.n > 0 && path.p[path.n - 1] == '/')
        path.n--;
    char *out = vr_xmalloc(path.n + 1);
    size_t outlen = 0;
    int rc = vr_url_decode(path, false, out, path.n + 1, &outlen);
    if (rc < 0) {
        vr_free(out);
        return rc;
    }
    ep->path = out;
    return 0;
}

static int parse_endpoint(const char *url, struct vr_s3_endpoint *out)
{
    struct vr_s3_endpoint ep = {0};
    struct vr_str s = vr_str_c(url);
    if (vr_str_caseeq_c(vr_str_make(s.p, s.n < 8 ? s.n : 8), "https://"))
        ep.https = true;
    else if (!vr_str_caseeq_c(vr_str_make(s.p, s.n < 7 ? s.n : 7), "http://"))
        return VR_EPARSE;
    s = vr_str_make(s.p + (ep.https ? 8 : 7), s.n - (ep.https ? 8 : 7));
    size_t auth_n = strcspn(s.p, "/?#");
    size_t path_n = strcspn(s.p + auth_n, "?#");
    int rc = endpoint_host(vr_str_make(s.p, auth_n), ep.https, &ep);
    if (rc == 0)
        rc = endpoint_path(vr_str_make(s.p + auth_n, path_n), &ep);
    if (rc < 0) {
        endpoint_cleanup(&ep);
        return rc;
    }
    *out = ep;
    return 0;
}

static int parse_endpoints(struct vr_s3_config *c, char *err, size_t errlen)
{
    if (c->s3_url && parse_endpoint(c->s3_url, &c->s3_ep) < 0)
        return config_err(err, errlen, "Invalid s3 url %s" URL_HINT, c->s3_url);
    if (c->public_url && parse_endpoint(c->public_url, &c->public_ep) < 0)
        return config_err(err, errlen, "Invalid s3 url %s" URL_HINT, c->public_url);
    return 0;
}

int vr_s3_config_parse(const cJSON *config, const char *bucket, const char *prefix,
                       struct vr_s3_config *out, char *err, size_t errlen)
{
    struct vr_s3_config c = {0};
    int rc = read_keys(config, &c, err, errlen);
    if (rc < 0)
        goto out_cleanup;
    take_trimmed(&c.bucket, bucket);
    take_trimmed(&c.prefix, prefix);
    if (!c.prefix)
        c.prefix = vr_xstrdup("");
    rc = check_values(&c, err, errlen);
    if (rc == 0)
        rc = parse_endpoints(&c, err, errlen);
    if (rc < 0)
        goto out_cleanup;
    *out = c;
    return 0;
out_cleanup:
    vr_s3_config_cleanup(&c);
    return rc;
}

static bool is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool vr_s3_bucket_is_virtual_hostable(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63 || !is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        /* A dotted name breaks the *.s3.amazonaws.com TLS wildcard, and botocore and the
         * SDKs' endpoint rules use path style for it on custom endpoints whatever the
         * scheme: so any '.' means path style. */
        if (!is_lower_alnum(b[i]) && b[i] != '-')
            return false;
    }
    return true;
}

static bool region_ok(const char *r)
{
    if (!is_set(r) || strlen(r) > 63)
        return false;
    for (; *r; r++) {
        bool ok = (*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') ||
                  (*r >= '0' && *r <= '9') || *r == '-' || *r == '_' || *r == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* X-Amz-Expires after the clamp to the credentials' remaining life (presign.md §1.6). */
static int effective_expires(const struct vr_aws_creds *creds, int64_t expires_s, int64_t now_s,
                             int64_t *out)
{
    if (expires_s < 1 || expires_s > VR_SIGV4_MAX_EXPIRES_S)
        return VR_EINVAL;
    if (!creds || !is_set(creds->access_key_id) || !is_set(creds->secret_access_key))
        return VR_EUNAUTH;
    int64_t e = expires_s;
    if (creds->expiration_s != 0) {
        int64_t left = creds->expiration_s - now_s - VR_S3_CRED_MARGIN_S;
        if (left < e)
            e = left;
    }
    if (e < 1)
        return VR_EUNAUTH;
    *out = e;
    return 0;
}

/* Where a URL points. host is borrowed from the config unless host_owned holds it; path
 * is path_stack when it fits there (the common case: no malloc per URL), else the heap. */
struct target {
    bool https;
    const char *host;
    char *host_owned;
    char *path;
    size_t path_len;
    char path_stack[512];
};

/* Concatenates n strings (no printf on this per-URL path) into buf when they fit in cap
 * bytes with the NUL, else into a new heap string. */
static char *concat(const char *const *parts, size_t n, char *buf, size_t cap, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(parts[i]);
    char *p = total < cap ? buf : vr_xmalloc(total + 1), *o = p;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        memcpy(o, parts[i], l);
        o += l;
    }
    *o = '\0';
    if (len)
        *len = total;
    return p;
}

static void build_target(const struct vr_s3_config *c, const char *region, const char *key,
                         struct target *t)
{
    const struct vr_s3_endpoint *ep = c->public_ep.host ? &c->public_ep
                                      : c->s3_ep.host   ? &c->s3_ep
                                                        : NULL;
    const char *eppath = ep ? ep->path : "";
    t->https = ep ? ep->https : true;
    t->host_owned =
        ep ? NULL : concat((const char *[]){"s3.", region, ".amazonaws.com"}, 3, NULL, 0, NULL);
    t->host = ep ? ep->host : t->host_owned;
    bool path_style =
        c->force_path_style || (ep && ep->is_ip) || !vr_s3_bucket_is_virtual_hostable(c->bucket);
    if (path_style) {
        t->path = concat((const char *[]){eppath, "/", c->bucket, "/", key}, 5, t->path_stack,
                         sizeof(t->path_stack), &t->path_len);
    } else {
        char *vhost = concat((const char *[]){c->bucket, ".", t->host}, 3, NULL, 0, NULL);
        vr_free(t->host_owned);
        t->host = t->host_owned = vhost;
        t->path = concat((const char *[]){eppath, "/", key}, 3, t->path_stack,
                         sizeof(t->path_stack), &t->path_len);
    }
}

int vr_s3_presign_get(const struct vr_s3_config *cfg, const char *region,
                      const struct vr_aws_creds *creds, const char *key, int64_t expires_s,
                      int64_t now_s, struct vr_sigv4_key_cache *cache, struct vr_buf *url,
                      int64_t *expires_out)
{
    int64_t e;
    if (!cfg || !cfg->bucket || !key || !url)
        return VR_EINVAL;
    region = region ? region : cfg->region;
    /* contract §3: s3Url without region signs for us-east-1 (what MinIO and most S3
     * clones accept); real AWS without either needs the lookup first. */
    if (!is_set(region) && is_set(cfg->s3_url))
        region = "us-east-1";
    if (!region_ok(region))
        return VR_EINVAL;
    int rc = effective_expires(creds, expires_s, now_s, &e);
    if (rc < 0)
        return rc;
    struct target t;
    build_target(cfg, region, key, &t);
    struct vr_sigv4_request req = {
        .method = "GET",
        .scheme = t.https ? "https" : "http",
        .host = t.host,
        .path = t.path,
        .service = "s3",
        .region = region,
        .payload_hash = "UNSIGNED-PAYLOAD",
        .creds = creds,
        .expires_s = e,
        .now_s = now_s,
    };
    rc = vr_sigv4_presign(&req, cache, url, NULL, NULL);
    vr_free(t.host_owned);
    if (t.path == t.path_stack)
        vr_crypto_cleanse(t.path_stack, t.path_len);
    else
        vr_free_secret(t.path, t.path_len);
    if (rc == 0 && expires_out)
        *expires_out = e;
    return rc;
}

static int s3_config_new(const cJSON *config, const char *bucket, const char *prefix, void **out,
                         char *err, size_t errlen)
{
    struct vr_s3_config *c = vr_xcalloc(1, sizeof(*c));
    int rc = vr_s3_config_parse(config, bucket, prefix, c, err, errlen);
    if (rc < 0) {
        vr_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void s3_config_free(void *cfg)
{
    if (!cfg)
        return;
    vr_s3_config_cleanup(cfg);
    vr_free(cfg);
}

static int s3_presign_get(const void *cfg, const struct vr_presign_args *a, struct vr_buf *url,
                          int64_t *expires_out)
{
    return vr_s3_presign_get(cfg, a->region, a->creds, a->key, a->expires_s, a->now_s, a->cache,
                             url, expires_out);
}

const struct vr_presigner_ops vr_s3_presigner = {
    .provider = "aws",
    .config_new = s3_config_new,
    .config_free = s3_config_free,
    .presign_get = s3_presign_get,
};
