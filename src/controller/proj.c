#include <string.h>

#include <openssl/crypto.h>

#include "controller/proj.h"
#include "core/common.h"
#include "core/timefmt.h"
#include "vreq/err.h"
#include "vreq/mem.h"

/* ---- small JSON helpers ---- */

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* A string member: 1 when present as a string (*out a copy), 0 when absent or null, -1 when
 * of another type. */
static int str_member(const cJSON *o, const char *k, char **out)
{
    const cJSON *v = get(o, k);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -1;
    *out = vr_xstrdup(v->valuestring);
    return 1;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- time ---- */

int vr_rfc3339_parse(const char *s, int64_t *out)
{
    return vr_time_parse_rfc3339(s, s ? strlen(s) : 0, VR_RFC3339_EMPTY_FRAC, out, NULL);
}

void vr_rfc3339_format(int64_t t, char *out, size_t cap)
{
    vr_time_format_rfc3339(t, out, cap);
}

/* ---- base64 ---- */

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int vr_base64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return VR_EPARSE;
    char *buf = vr_xmalloc(n / 4 * 3 + 3);
    size_t w = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val(s[i]);
        if (v < 0) {
            vr_free_secret(buf, n / 4 * 3 + 3);
            return VR_EPARSE;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            buf[w++] = (char)(acc >> 16);
            buf[w++] = (char)(acc >> 8);
            buf[w++] = (char)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        buf[w++] = (char)(acc >> 4);
    } else if (n % 4 == 3) {
        buf[w++] = (char)(acc >> 10);
        buf[w++] = (char)(acc >> 2);
    }
    buf[w] = '\0';
    *out = buf;
    *outlen = w;
    return 0;
}

/* ---- DownloadRequest ---- */

/* A string member, borrowed: 1 when present as a string (*out), 0 when absent or null, -1
 * when of another type (*out untouched). */
static int str_ref(const cJSON *o, const char *k, const char **out)
{
    const cJSON *v = get(o, k);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -1;
    *out = v->valuestring;
    return 1;
}

/* The DownloadRequest payload is one block, the struct then its four strings, because one
 * is cached per request (bench/README.md, memory). */
static void dlr_release(void *p)
{
    vr_free(p);
}

struct dlr_strs {
    const char *kind, *target, *phase, *message;
};

static void dlr_status(const cJSON *st, struct vr_dlr_obj *o, struct dlr_strs *s)
{
    const char *exp = NULL, *url = NULL;
    if (str_ref(st, "phase", &s->phase) < 0 || str_ref(st, "message", &s->message) < 0)
        o->bad = "status.phase and status.message must be strings";
    if (str_ref(st, "downloadURL", &url) < 0)
        o->bad = "status.downloadURL must be a string";
    o->has_url = url && *url;
    int rc = str_ref(st, "expiration", &exp);
    if (rc < 0 || (rc > 0 && vr_rfc3339_parse(exp, &o->expiration_s) < 0))
        o->bad = "status.expiration is not an RFC 3339 time";
    else
        o->has_expiration = rc > 0;
}

/* Copies s (NULL stays NULL) to *at and advances it. */
static char *put_str(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *r = memcpy(*at, s, n);
    *at += n;
    return r;
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static int dlr_extract(const cJSON *obj, void **out)
{
    struct vr_dlr_obj tmp = {0};
    struct dlr_strs s = {0};
    const cJSON *target = get(get(obj, "spec"), "target");
    if (str_ref(target, "kind", &s.kind) <= 0 || str_ref(target, "name", &s.target) <= 0 ||
        !*s.target)
        tmp.bad = "spec.target.kind and spec.target.name must be non-empty strings";
    const cJSON *st = get(obj, "status");
    if (st && !cJSON_IsNull(st) && !cJSON_IsObject(st))
        tmp.bad = "status must be an object";
    else
        dlr_status(st, &tmp, &s);
    const char *created = NULL;
    if (str_ref(get(obj, "metadata"), "creationTimestamp", &created) > 0)
        (void)vr_rfc3339_parse(created, &tmp.created_s);
    s.phase = s.phase ? s.phase : "";
    s.message = s.message ? s.message : "";
    struct vr_dlr_obj *o = vr_xmalloc(sizeof(*o) + str_size(s.kind) + str_size(s.target) +
                                      str_size(s.phase) + str_size(s.message));
    *o = tmp;
    char *at = (char *)(o + 1);
    o->kind = put_str(&at, s.kind);
    o->target = put_str(&at, s.target);
    o->phase = put_str(&at, s.phase);
    o->message = put_str(&at, s.message);
    *out = o;
    return 0;
}

static bool dlr_equal(const void *pa, const void *pb)
{
    const struct vr_dlr_obj *a = pa, *b = pb;
    if (!a || !b)
        return a == b;
    return str_eq(a->kind, b->kind) && str_eq(a->target, b->target) &&
           str_eq(a->phase, b->phase) && str_eq(a->message, b->message) &&
           a->has_url == b->has_url && a->has_expiration == b->has_expiration &&
           a->expiration_s == b->expiration_s && a->created_s == b->created_s &&
           a->bad == b->bad;
}

const struct vr_kcache_projector vr_proj_dlr = {
    .name = "downloadrequest",
    .extract = dlr_extract,
    .release = dlr_release,
    .equal = dlr_equal,
};

/* ---- Backup / Restore ---- */

static void bk_release(void *p)
{
    struct vr_bk_obj *o = p;
    vr_free(o->ref);
    vr_free(o->phase);
    vr_free(o);
}

static int bk_extract(const cJSON *obj, const char *ref_field, void **out)
{
    struct vr_bk_obj *o = vr_xcalloc(1, sizeof(*o));
    (void)str_member(get(obj, "spec"), ref_field, &o->ref);
    (void)str_member(get(obj, "status"), "phase", &o->phase);
    if (!o->phase)
        o->phase = vr_xstrdup("");
    *out = o;
    return 0;
}

static int backup_extract(const cJSON *obj, void **out)
{
    return bk_extract(obj, "storageLocation", out);
}

static int restore_extract(const cJSON *obj, void **out)
{
    return bk_extract(obj, "backupName", out);
}

static bool bk_equal(const void *pa, const void *pb)
{
    const struct vr_bk_obj *a = pa, *b = pb;
    if (!a || !b)
        return a == b;
    return str_eq(a->ref, b->ref) && str_eq(a->phase, b->phase);
}

const struct vr_kcache_projector vr_proj_backup = {
    .name = "backup", .extract = backup_extract, .release = bk_release, .equal = bk_equal};
const struct vr_kcache_projector vr_proj_restore = {
    .name = "restore", .extract = restore_extract, .release = bk_release, .equal = bk_equal};

/* ---- BackupStorageLocation ---- */

static void bsl_release(void *p)
{
    struct vr_bsl_obj *o = p;
    vr_free(o->provider);
    vr_free(o->bucket);
    vr_free(o->prefix);
    cJSON_Delete(o->config);
    vr_free(o->cred_name);
    vr_free(o->cred_key);
    vr_free(o->ca_pem);
    vr_free(o->fingerprint);
    vr_free(o);
}

static void bsl_storage(const cJSON *os, struct vr_bsl_obj *o)
{
    char *ca = NULL;
    o->object_storage = cJSON_IsObject(os);
    if (str_member(os, "bucket", &o->bucket) < 0 || str_member(os, "prefix", &o->prefix) < 0)
        o->bad = "spec.objectStorage.bucket and .prefix must be strings";
    if (str_member(os, "caCert", &ca) < 0 ||
        (ca && *ca && vr_base64_decode(ca, strlen(ca), &o->ca_pem, &o->ca_pem_len) < 0))
        o->bad = "spec.objectStorage.caCert must be base64";
    vr_free(ca);
}

static int bsl_extract(const cJSON *obj, void **out)
{
    struct vr_bsl_obj *o = vr_xcalloc(1, sizeof(*o));
    const cJSON *spec = get(obj, "spec");
    if (str_member(spec, "provider", &o->provider) < 0)
        o->bad = "spec.provider must be a string";
    bsl_storage(get(spec, "objectStorage"), o);
    const cJSON *cfg = get(spec, "config");
    if (cJSON_IsObject(cfg))
        o->config = cJSON_Duplicate(cfg, 1);
    else if (cfg && !cJSON_IsNull(cfg))
        o->bad = "spec.config must be an object";
    const cJSON *cred = get(spec, "credential");
    if (cred && (str_member(cred, "name", &o->cred_name) <= 0 ||
                 str_member(cred, "key", &o->cred_key) <= 0))
        o->bad = "spec.credential needs string name and key";
    if (!o->prefix)
        o->prefix = vr_xstrdup("");
    o->fingerprint = spec ? cJSON_PrintUnformatted(spec) : vr_xstrdup("");
    *out = o;
    return 0;
}

static bool bsl_equal(const void *pa, const void *pb)
{
    const struct vr_bsl_obj *a = pa, *b = pb;
    if (!a || !b)
        return a == b;
    return str_eq(a->fingerprint, b->fingerprint);
}

const struct vr_kcache_projector vr_proj_bsl = {
    .name = "backupstoragelocation",
    .extract = bsl_extract,
    .release = bsl_release,
    .equal = bsl_equal,
};

/* ---- Secret ---- */

static void secret_release(void *p)
{
    struct vr_secret_obj *o = p;
    for (size_t i = 0; i < o->n; i++) {
        vr_free(o->e[i].key);
        vr_free_secret(o->e[i].value, o->e[i].len);
    }
    vr_free(o->e);
    vr_free(o);
}

static int secret_extract(const cJSON *obj, void **out)
{
    struct vr_secret_obj *o = vr_xcalloc(1, sizeof(*o));
    const cJSON *data = get(obj, "data"), *it;
    if (!cJSON_IsObject(data))
        data = NULL;
    size_t n = 0;
    cJSON_ArrayForEach(it, data) n++;
    o->e = vr_xcalloc(n ? n : 1, sizeof(*o->e));
    cJSON_ArrayForEach(it, data)
    {
        struct vr_secret_entry *e = &o->e[o->n];
        /* A value that is not base64 is left out, as if the key were missing. */
        if (!cJSON_IsString(it) || !it->string ||
            vr_base64_decode(it->valuestring, strlen(it->valuestring), &e->value, &e->len) < 0)
            continue;
        e->key = vr_xstrdup(it->string);
        o->n++;
    }
    *out = o;
    return 0;
}

static bool secret_equal(const void *pa, const void *pb)
{
    const struct vr_secret_obj *a = pa, *b = pb;
    if (!a || !b)
        return a == b;
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->e[i].key, b->e[i].key) || a->e[i].len != b->e[i].len ||
            CRYPTO_memcmp(a->e[i].value, b->e[i].value, a->e[i].len))
            return false;
    }
    return true;
}

const struct vr_kcache_projector vr_proj_secret = {
    .name = "secret", .extract = secret_extract, .release = secret_release, .equal = secret_equal};

const struct vr_secret_entry *vr_secret_find(const struct vr_secret_obj *s, const char *key)
{
    for (size_t i = 0; s && key && i < s->n; i++)
        if (!strcmp(s->e[i].key, key))
            return &s->e[i];
    return NULL;
}
