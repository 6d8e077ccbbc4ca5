/*
 * Writes: create, update (PUT and /status), patch, delete, with kube-apiserver's
 * custom-resource semantics (kube-api.md §4).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "patch.h"
#include "store_int.h"
#include "vreq/err.h"

#define KS_GENERATE_ATTEMPTS 8
#define KS_GENERATE_PREFIX_MAX 58

static const char *const subdomain_msg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char *const label_msg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/* ---- small helpers ---- */

static void stamp_rv(cJSON *obj, uint64_t rv)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
    vr__ks_set_str(vr__ks_meta(obj), "resourceVersion", buf);
}

static void format_time(int64_t now_s, char *buf, size_t cap)
{
    time_t t = (time_t)now_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

static void random_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        vr_panic("RAND_bytes failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static bool label_ok(const char *p, size_t n)
{
    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
            return false;
    return true;
}

static bool subdomain_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 253)
        return false;
    const char *p = name;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, len))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static int check_name(const struct ks_resource *res, const char *name, struct ks_status *st)
{
    bool ns = res == vr__ks_namespaces();
    size_t max = ns ? 63 : 253;
    if (strlen(name) > max) {
        vr__ks_invalid(st, res, name, "metadata.name", "FieldValueTooLong",
                       "Invalid value: \"%.64s...\": must be no more than %zu characters", name,
                       max);
        return -1;
    }
    if (ns ? label_ok(name, strlen(name)) : subdomain_ok(name))
        return 0;
    vr__ks_invalid(st, res, name, "metadata.name", "FieldValueInvalid", "Invalid value: \"%s\": %s",
                   name, ns ? label_msg : subdomain_msg);
    return -1;
}

/* apiVersion and kind: filled in when absent, 400 when they name another type. */
static int check_type(const struct ks_resource *res, cJSON *obj, struct ks_status *st)
{
    if (!cJSON_IsObject(obj)) {
        vr__ks_status(st, 400, "BadRequest", "", "the request body must be a JSON object");
        return -1;
    }
    char av[96];
    vr__ks_api_version(res, av, sizeof(av));
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    if (!v || (cJSON_IsString(v) && v->valuestring[0] == '\0'))
        vr__ks_set_str(obj, "apiVersion", av);
    else if (!cJSON_IsString(v) || strcmp(v->valuestring, av) != 0) {
        vr__ks_status(st, 400, "BadRequest", "",
                      "the API version in the data (%.64s) does not match the expected API "
                      "version (%s)",
                      cJSON_IsString(v) ? v->valuestring : "?", av);
        return -1;
    }
    cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (!k || (cJSON_IsString(k) && k->valuestring[0] == '\0'))
        vr__ks_set_str(obj, "kind", res->kind);
    else if (!cJSON_IsString(k) || strcmp(k->valuestring, res->kind) != 0) {
        vr__ks_status(st, 400, "BadRequest", "",
                      "the kind in the data (%.64s) does not match the expected kind (%s)",
                      cJSON_IsString(k) ? k->valuestring : "?", res->kind);
        return -1;
    }
    return 0;
}

static cJSON *ensure_meta(cJSON *obj, struct ks_status *st)
{
    cJSON *meta = vr__ks_meta(obj);
    if (!meta)
        return cJSON_AddObjectToObject(obj, "metadata");
    if (cJSON_IsObject(meta))
        return meta;
    vr__ks_status(st, 400, "BadRequest", "", "metadata must be an object");
    return NULL;
}

/* Namespaced kinds: body namespace filled from the URL or must equal it; cluster-scoped
 * kinds carry none. */
static int fix_namespace(const struct ks_resource *res, cJSON *meta, const char *ns,
                         struct ks_status *st)
{
    if (!res->namespaced) {
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
        return 0;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    if (!v || (cJSON_IsString(v) && v->valuestring[0] == '\0')) {
        vr__ks_set_str(meta, "namespace", ns);
        return 0;
    }
    if (cJSON_IsString(v) && strcmp(v->valuestring, ns) == 0)
        return 0;
    vr__ks_status(st, 400, "BadRequest", "",
                  "the namespace of the provided object does not match the namespace sent on "
                  "the request");
    return -1;
}

static bool ns_exists(struct ks_store *s, const char *ns)
{
    struct ks_rstate *nrs = vr__ks_rstate(s, vr__ks_namespaces());
    return vr__ks_lookup(nrs, "", ns) != NULL;
}

static int status_missing_ns(struct ks_status *st, const char *ns)
{
    vr__ks_not_found(st, vr__ks_namespaces(), ns);
    st->res = vr__ks_namespaces();
    return -1;
}

static const cJSON *finalizers_of(const cJSON *obj)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
    return cJSON_IsArray(f) ? f : NULL;
}

static bool has_finalizers(const cJSON *obj)
{
    const cJSON *f = finalizers_of(obj);
    return f && cJSON_GetArraySize(f) > 0;
}

static int conflict(struct ks_status *st, const struct ks_resource *res, const char *name)
{
    char q[128];
    vr__ks_status(st, 409, "Conflict", name,
                  "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                  "please apply your changes to the latest version and try again",
                  vr__ks_qualified(res, q, sizeof(q)), name);
    return -1;
}

/* ---- create ---- */

/* Checks the body up to the name; namespace existence included. */
static int create_checks(struct ks_store *s, const struct ks_resource *res, const char *ns,
                         cJSON *obj, struct ks_status *st)
{
    if (check_type(res, obj, st) < 0)
        return -1;
    cJSON *meta = ensure_meta(obj, st);
    if (!meta || fix_namespace(res, meta, ns, st) < 0)
        return -1;
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (cJSON_IsString(rv) && rv->valuestring[0] && strcmp(rv->valuestring, "0") != 0) {
        vr__ks_status(st, 500, "InternalError", "",
                      "resourceVersion should not be set on objects to be created");
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
    if (res->namespaced && !ns_exists(s, ns))
        return status_missing_ns(st, ns);
    return 0;
}

/* Picks a free name from metadata.generateName (apiserver names.SimpleNameGenerator). */
static int generate_name(struct ks_rstate *rs, const char *ns, const char *prefix, char *out,
                         size_t cap, struct ks_status *st)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    int plen = (int)strlen(prefix);
    if (plen > KS_GENERATE_PREFIX_MAX)
        plen = KS_GENERATE_PREFIX_MAX;
    for (int attempt = 0; attempt < KS_GENERATE_ATTEMPTS; attempt++) {
        unsigned char r[5];
        char suffix[6];
        if (RAND_bytes(r, sizeof(r)) != 1)
            vr_panic("RAND_bytes failed");
        for (int i = 0; i < 5; i++)
            suffix[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
        suffix[5] = '\0';
        snprintf(out, cap, "%.*s%s", plen, prefix, suffix);
        if (!vr__ks_lookup(rs, ns, out))
            return 0;
    }
    char q[128];
    vr__ks_status(st, 409, "AlreadyExists", out,
                  "%s \"%s\" already exists, the server was not able to generate a unique name "
                  "for the object",
                  vr__ks_qualified(rs->res, q, sizeof(q)), out);
    st->retry_after_s = 1;
    return -1;
}

static int resolve_name(struct ks_rstate *rs, const char *ns, cJSON *meta, struct ks_status *st)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    if (cJSON_IsString(name) && name->valuestring[0])
        return check_name(rs->res, name->valuestring, st);
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generateName");
    if (!cJSON_IsString(gen) || gen->valuestring[0] == '\0') {
        vr__ks_invalid(st, rs->res, "", "metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required");
        return -1;
    }
    char buf[80];
    if (generate_name(rs, ns, gen->valuestring, buf, sizeof(buf), st) < 0)
        return -1;
    vr__ks_set_str(meta, "name", buf);
    return check_name(rs->res, buf, st);
}

static void set_system_fields(const struct ks_resource *res, cJSON *obj, int64_t now_s)
{
    cJSON *meta = vr__ks_meta(obj);
    char uid[37], ts[32];
    random_uuid(uid);
    format_time(now_s, ts, sizeof(ts));
    vr__ks_set_str(meta, "uid", uid);
    if (vr__ks_has_generation(res))
        vr__ks_set_item(meta, "generation", cJSON_CreateNumber(1));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
    vr__ks_set_str(meta, "creationTimestamp", ts);
    static const char *const dropped[] = {"deletionTimestamp", "deletionGracePeriodSeconds",
                                          "managedFields", "selfLink"};
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(meta, dropped[i]);
    if (res == vr__ks_namespaces() && !cJSON_GetObjectItemCaseSensitive(obj, "status"))
        cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "status"), "phase", "Active");
}

/* Like the real API server, a Secret's stringData is write-only convenience: each entry
 * is base64-encoded into data (overriding a key of the same name) and stringData is
 * dropped before the object is stored. */
static void secret_string_data(const struct ks_resource *res, cJSON *obj)
{
    if (res->group[0] != '\0' || strcmp(res->plural, "secrets") != 0)
        return;
    cJSON *sd = cJSON_DetachItemFromObjectCaseSensitive(obj, "stringData");
    if (!cJSON_IsObject(sd)) {
        cJSON_Delete(sd);
        return;
    }
    cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    if (!cJSON_IsObject(data)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "data");
        data = cJSON_AddObjectToObject(obj, "data");
    }
    for (const cJSON *it = sd->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !it->string)
            continue;
        size_t n = strlen(it->valuestring);
        char *b64 = vr_xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)it->valuestring, (int)n);
        cJSON_DeleteItemFromObjectCaseSensitive(data, it->string);
        cJSON_AddStringToObject(data, it->string, b64);
        vr_free(b64);
    }
    cJSON_Delete(sd);
}

static int create_locked(struct ks_store *s, struct ks_rstate *rs, const char *ns, cJSON *obj,
                         const cJSON **out, struct ks_status *st)
{
    const struct ks_resource *res = rs->res;
    if (create_checks(s, res, ns, obj, st) < 0)
        return -1;
    cJSON *meta = vr__ks_meta(obj);
    if (resolve_name(rs, ns, meta, st) < 0)
        return -1;
    const char *name = vr__ks_meta_str(obj, "name");
    if (ks_store_has_status(s, res))
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    secret_string_data(res, obj);
    if (vr__ks_validate(s, res, obj, name, st) < 0)
        return -1;
    if (vr__ks_lookup(rs, ns, name)) {
        char q[128];
        vr__ks_status(st, 409, "AlreadyExists", name, "%s \"%s\" already exists",
                      vr__ks_qualified(res, q, sizeof(q)), name);
        return -1;
    }
    set_system_fields(res, obj, s->now_s);
    s->rv++;
    stamp_rv(obj, s->rv);
    struct ks_ver *v = vr__ks_ver_new(obj);
    struct ks_entry *e = vr__ks_insert(rs, ns, name, v, s->rv);
    vr__ks_emit(s, rs, KS_EV_ADDED, v, NULL, e->ns, e->name);
    if (out)
        *out = v->obj;
    return 0;
}

int ks_store_create(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    cJSON *obj, int64_t now_s, const cJSON **out, struct ks_status *st)
{
    vr__ks_release_lent(s);
    s->now_s = now_s;
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    const char *scope = res->namespaced ? (ns ? ns : "") : "";
    if (res->namespaced && scope[0] == '\0') {
        cJSON_Delete(obj);
        vr__ks_status(st, 400, "BadRequest", "", "a namespace is required to create %s",
                      res->plural);
        return -1;
    }
    int rc = create_locked(s, rs, scope, obj, out, st);
    if (rc < 0)
        cJSON_Delete(obj);
    return rc;
}

/* ---- update ---- */

/* Type, metadata, name and namespace of an update body. */
static int upd_check_meta(const struct ks_entry *e, const struct ks_resource *res, cJSON *obj,
                          struct ks_status *st)
{
    if (check_type(res, obj, st) < 0)
        return -1;
    cJSON *meta = ensure_meta(obj, st);
    if (!meta)
        return -1;
    const char *name = vr__ks_meta_str(obj, "name");
    if (!name || strcmp(name, e->name) != 0) {
        vr__ks_status(st, 400, "BadRequest", "",
                      "the name of the object (%.200s) does not match the name on the URL (%s)",
                      name ? name : "", e->name);
        return -1;
    }
    return fix_namespace(res, meta, e->ns, st);
}

static int upd_check_rv(const struct ks_entry *e, const struct ks_resource *res, cJSON *obj,
                        bool rv_required, struct ks_status *st)
{
    const char *rv = vr__ks_meta_str(obj, "resourceVersion");
    uint64_t n = 0;
    if (rv && rv[0] && vr_parse_uint64(vr_str_c(rv), UINT64_MAX, &n) < 0) {
        vr__ks_status(st, 400, "BadRequest", "", "invalid resourceVersion: \"%.64s\"", rv);
        return -1;
    }
    if (n == 0 && rv_required) {
        vr__ks_invalid(st, res, e->name, "metadata.resourceVersion", "FieldValueInvalid",
                       "Invalid value: 0x0: must be specified for an update");
        return -1;
    }
    if (n != 0 && n != e->rv)
        return conflict(st, res, e->name);
    stamp_rv(obj, e->rv);
    return 0;
}

/* Status subresource isolation: the main endpoint keeps the stored status, /status
 * takes only status from the request (apiextensions strategy.go, status_strategy.go). */
static cJSON *upd_isolate_status(const cJSON *old, cJSON *obj, bool status)
{
    cJSON *incoming = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
    if (!status) {
        cJSON_Delete(incoming);
        const cJSON *keep = cJSON_GetObjectItemCaseSensitive(old, "status");
        if (keep)
            cJSON_AddItemToObject(obj, "status", cJSON_Duplicate(keep, true));
        return obj;
    }
    cJSON_Delete(obj);
    cJSON *res = cJSON_Duplicate(old, true);
    cJSON_DeleteItemFromObjectCaseSensitive(res, "status");
    if (incoming)
        cJSON_AddItemToObject(res, "status", incoming);
    return res;
}

static void force_from_old(cJSON *meta, const cJSON *old_meta, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(old_meta, field);
    if (v)
        vr__ks_set_item(meta, field, cJSON_Duplicate(v, true));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(meta, field);
}

/* Server-owned metadata (apiserver rest.BeforeUpdate): uid kept (422 when changed),
 * creationTimestamp, generation and the deletion fields forced to the stored ones. */
static int upd_force_fields(const struct ks_entry *e, const struct ks_resource *res,
                            const cJSON *old, cJSON *obj, struct ks_status *st)
{
    cJSON *meta = vr__ks_meta(obj);
    const cJSON *old_meta = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    const char *uid = vr__ks_meta_str(obj, "uid");
    const char *old_uid = vr__ks_meta_str(old, "uid");
    if (uid && uid[0] && old_uid && strcmp(uid, old_uid) != 0) {
        vr__ks_invalid(st, res, e->name, "metadata.uid", "FieldValueInvalid",
                       "Invalid value: \"%.64s\": field is immutable", uid);
        return -1;
    }
    static const char *const forced[] = {"uid", "creationTimestamp", "generation",
                                         "deletionTimestamp", "deletionGracePeriodSeconds"};
    for (size_t i = 0; i < sizeof(forced) / sizeof(forced[0]); i++)
        force_from_old(meta, old_meta, forced[i]);
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "selfLink");
    return 0;
}

static bool string_in(const cJSON *arr, const char *s)
{
    for (const cJSON *i = arr ? arr->child : NULL; i; i = i->next)
        if (cJSON_IsString(i) && strcmp(i->valuestring, s) == 0)
            return true;
    return false;
}

/* While deleting, no new finalizers (apimachinery ValidateObjectMetaUpdate). */
static int upd_check_finalizers(const struct ks_entry *e, const struct ks_resource *res,
                                const cJSON *old, const cJSON *obj, struct ks_status *st)
{
    if (!vr__ks_meta_str(old, "deletionTimestamp"))
        return 0;
    const cJSON *nf = finalizers_of(obj), *of = finalizers_of(old);
    for (const cJSON *i = nf ? nf->child : NULL; i; i = i->next) {
        if (cJSON_IsString(i) && !string_in(of, i->valuestring)) {
            vr__ks_invalid(st, res, e->name, "metadata.finalizers", "FieldValueForbidden",
                           "Forbidden: no new finalizers can be added if the object is being "
                           "deleted, found new finalizers []string{\"%.64s\"}",
                           i->valuestring);
            return -1;
        }
    }
    return 0;
}

/* Whether a and b differ outside metadata (and status when skip_status). */
static bool content_differs(const cJSON *a, const cJSON *b, bool skip_status)
{
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *x = pass ? b : a, *y = pass ? a : b;
        for (const cJSON *i = x->child; i; i = i->next) {
            if (!strcmp(i->string, "metadata") || (skip_status && !strcmp(i->string, "status")))
                continue;
            const cJSON *j = cJSON_GetObjectItemCaseSensitive(y, i->string);
            if (!j || !cJSON_Compare(i, j, true))
                return true;
        }
    }
    return false;
}

static void upd_generation(struct ks_store *s, const struct ks_resource *res, const cJSON *old,
                           cJSON *obj)
{
    if (!vr__ks_has_generation(res))
        return;
    cJSON *gen = cJSON_GetObjectItemCaseSensitive(vr__ks_meta(obj), "generation");
    if (!cJSON_IsNumber(gen) || !content_differs(old, obj, ks_store_has_status(s, res)))
        return;
    cJSON_SetNumberValue(gen, gen->valuedouble + 1);
}

/* Stores obj (owned) as e's new state, or removes e when the last finalizer went. */
static void upd_commit(struct ks_store *s, struct ks_rstate *rs, struct ks_entry *e, cJSON *obj,
                       const cJSON **out)
{
    s->rv++;
    stamp_rv(obj, s->rv);
    struct ks_ver *v = vr__ks_ver_new(obj);
    *out = v->obj;
    if (vr__ks_meta_str(obj, "deletionTimestamp") && !has_finalizers(obj)) {
        char ns[256], name[256];
        snprintf(ns, sizeof(ns), "%s", e->ns);
        snprintf(name, sizeof(name), "%s", e->name);
        struct ks_ver *prev = e->ver;
        prev->refs++;
        vr__ks_remove(rs, e);
        vr__ks_emit(s, rs, KS_EV_DELETED, v, prev, ns, name);
        vr__ks_ver_unref(prev);
        s->lent = v; /* *out must outlive the entry */
        return;
    }
    struct ks_ver *prev = e->ver;
    e->ver = v;
    e->rv = s->rv;
    vr__ks_emit(s, rs, KS_EV_MODIFIED, v, prev, e->ns, e->name);
    vr__ks_ver_unref(prev);
}

/* The shared tail of PUT, /status PUT and PATCH. Takes ownership of obj. */
static int apply_update(struct ks_store *s, struct ks_rstate *rs, struct ks_entry *e, cJSON *obj,
                        bool status, bool rv_required, const cJSON **out, struct ks_status *st)
{
    const struct ks_resource *res = rs->res;
    const cJSON *old = e->ver->obj;
    if (upd_check_meta(e, res, obj, st) < 0 || upd_check_rv(e, res, obj, rv_required, st) < 0)
        goto out_free;
    if (ks_store_has_status(s, res))
        obj = upd_isolate_status(old, obj, status);
    secret_string_data(res, obj);
    if (upd_force_fields(e, res, old, obj, st) < 0 || vr__ks_validate(s, res, obj, e->name, st) < 0 ||
        upd_check_finalizers(e, res, old, obj, st) < 0)
        goto out_free;
    upd_generation(s, res, old, obj);
    if (cJSON_Compare(obj, old, true)) {
        cJSON_Delete(obj); /* no-op: nothing written, no event */
        *out = old;
        return 0;
    }
    upd_commit(s, rs, e, obj, out);
    return 0;
out_free:
    cJSON_Delete(obj);
    return -1;
}

/* Looks up the target of an update, patch or delete; 404 when absent (or /status when
 * the resource has no status subresource). */
static struct ks_entry *target(struct ks_store *s, struct ks_rstate *rs, const char *ns,
                               const char *name, bool status, struct ks_status *st)
{
    vr__ks_release_lent(s);
    if (status && !ks_store_has_status(s, rs->res)) {
        vr__ks_status(st, 404, "NotFound", "", "the server could not find the requested resource");
        return NULL;
    }
    struct ks_entry *e = vr__ks_lookup(rs, rs->res->namespaced ? (ns ? ns : "") : "", name);
    if (!e)
        vr__ks_not_found(st, rs->res, name);
    return e;
}

int ks_store_update(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    const char *name, cJSON *obj, bool status, const cJSON **out,
                    struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    struct ks_entry *e = target(s, rs, ns, name, status, st);
    if (!e) {
        cJSON_Delete(obj);
        return -1;
    }
    return apply_update(s, rs, e, obj, status, true, out, st);
}

/* ---- patch ---- */

static cJSON *parse_patch(struct vr_str body, struct ks_status *st)
{
    const char *end = NULL;
    cJSON *p = body.n ? cJSON_ParseWithLengthOpts(body.p, body.n, &end, false) : NULL;
    if (p) {
        for (const char *c = end; c < body.p + body.n; c++) {
            if (*c != ' ' && *c != '\n' && *c != '\r' && *c != '\t' && *c != '\0') {
                cJSON_Delete(p);
                p = NULL;
                break;
            }
        }
    }
    if (!p)
        vr__ks_status(st, 400, "BadRequest", "", "error decoding patch: invalid JSON");
    return p;
}

static int apply_patch(enum ks_patch_type type, cJSON **doc, const cJSON *patch,
                       struct ks_status *st)
{
    char err[256];
    int rc;
    switch (type) {
    case KS_PATCH_MERGE:
        if (!cJSON_IsObject(patch)) {
            vr__ks_status(st, 400, "BadRequest", "", "a merge patch must be a JSON object");
            return -1;
        }
        return ks_patch_merge(doc, patch);
    case KS_PATCH_JSON:
        rc = ks_patch_json(doc, patch, err, sizeof(err));
        if (rc == VR_ETOOBIG)
            vr__ks_status(st, 413, "RequestEntityTooLarge", "", "%s", err);
        else if (rc == VR_EINVALID)
            vr__ks_status(st, 422, "Invalid", "", "%s", err);
        else if (rc < 0)
            vr__ks_status(st, 400, "BadRequest", "", "%s", err);
        return rc < 0 ? -1 : 0;
    }
    vr__ks_status(st, 415, "UnsupportedMediaType", "", "unsupported patch type");
    return -1;
}

int ks_store_patch(struct ks_store *s, const struct ks_resource *res, const char *ns,
                   const char *name, enum ks_patch_type type, struct vr_str body, bool status,
                   const cJSON **out, struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    struct ks_entry *e = target(s, rs, ns, name, status, st);
    if (!e)
        return -1;
    cJSON *patch = parse_patch(body, st);
    if (!patch)
        return -1;
    cJSON *doc = cJSON_Duplicate(e->ver->obj, true);
    int rc = apply_patch(type, &doc, patch, st);
    cJSON_Delete(patch);
    if (rc < 0) {
        cJSON_Delete(doc);
        return -1;
    }
    return apply_update(s, rs, e, doc, status, false, out, st);
}

/* ---- delete ---- */

static int check_preconditions(const struct ks_entry *e, const cJSON *opts, struct ks_status *st)
{
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(opts, "preconditions");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(pre, "uid");
    const char *cur_uid = vr__ks_meta_str(e->ver->obj, "uid");
    if (cJSON_IsString(uid) && strcmp(uid->valuestring, cur_uid ? cur_uid : "") != 0) {
        vr__ks_status(st, 409, "Conflict", e->name,
                      "Precondition failed: UID in precondition: %.64s, UID in object meta: %s",
                      uid->valuestring, cur_uid ? cur_uid : "");
        return -1;
    }
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(pre, "resourceVersion");
    const char *cur_rv = vr__ks_meta_str(e->ver->obj, "resourceVersion");
    if (cJSON_IsString(rv) && strcmp(rv->valuestring, cur_rv ? cur_rv : "") != 0) {
        vr__ks_status(st, 409, "Conflict", e->name,
                      "Precondition failed: ResourceVersion in precondition: %.64s, "
                      "ResourceVersion in object meta: %s",
                      rv->valuestring, cur_rv ? cur_rv : "");
        return -1;
    }
    return 0;
}

static bool is_dry_run(const cJSON *opts)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(opts, "dryRun");
    return cJSON_IsArray(d) && cJSON_GetArraySize(d) > 0;
}

static cJSON *success_status(const struct ks_resource *res, const struct ks_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "Status");
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(o, "status", "Success");
    cJSON *d = cJSON_AddObjectToObject(o, "details");
    cJSON_AddStringToObject(d, "name", e->name);
    cJSON_AddStringToObject(d, "group", res->group);
    cJSON_AddStringToObject(d, "kind", res->plural);
    const char *uid = vr__ks_meta_str(e->ver->obj, "uid");
    cJSON_AddStringToObject(d, "uid", uid ? uid : "");
    return o;
}

/* Objects with finalizers stay, marked for deletion (apiserver store.go markAsDeleting). */
static void mark_deleting(struct ks_store *s, struct ks_rstate *rs, struct ks_entry *e)
{
    cJSON *obj = cJSON_Duplicate(e->ver->obj, true);
    cJSON *meta = vr__ks_meta(obj);
    char ts[32];
    format_time(s->now_s, ts, sizeof(ts));
    vr__ks_set_str(meta, "deletionTimestamp", ts);
    vr__ks_set_item(meta, "deletionGracePeriodSeconds", cJSON_CreateNumber(0));
    cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    if (cJSON_IsNumber(gen) && gen->valuedouble > 0)
        cJSON_SetNumberValue(gen, gen->valuedouble + 1);
    const cJSON *ignored;
    upd_commit(s, rs, e, obj, &ignored);
}

static void remove_now(struct ks_store *s, struct ks_rstate *rs, struct ks_entry *e)
{
    char ns[256], name[256];
    snprintf(ns, sizeof(ns), "%s", e->ns);
    snprintf(name, sizeof(name), "%s", e->name);
    s->rv++;
    cJSON *last = cJSON_Duplicate(e->ver->obj, true);
    stamp_rv(last, s->rv);
    struct ks_ver *v = vr__ks_ver_new(last);
    struct ks_ver *prev = e->ver;
    prev->refs++;
    vr__ks_remove(rs, e);
    vr__ks_emit(s, rs, KS_EV_DELETED, v, prev, ns, name);
    vr__ks_ver_unref(prev);
    vr__ks_ver_unref(v);
}

int ks_store_delete(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    const char *name, const cJSON *delete_options, cJSON **out,
                    struct ks_status *st)
{
    struct ks_rstate *rs = vr__ks_rstate(s, res);
    struct ks_entry *e = target(s, rs, ns, name, false, st);
    if (!e || check_preconditions(e, delete_options, st) < 0)
        return -1;
    bool dry = is_dry_run(delete_options);
    if (has_finalizers(e->ver->obj)) {
        if (!dry && !vr__ks_meta_str(e->ver->obj, "deletionTimestamp"))
            mark_deleting(s, rs, e);
        *out = cJSON_Duplicate(e->ver->obj, true);
        return 0;
    }
    *out = success_status(res, e);
    if (!dry)
        remove_now(s, rs, e);
    return 0;
}
