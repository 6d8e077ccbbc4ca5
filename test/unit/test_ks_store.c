/* kubesim's object store (store.h): write semantics, resourceVersions, watch history. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "testutil.h"
#include "vreq/mem.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

/* ---- helpers ---- */

static struct ks_store *mk(bool sub, bool failed, size_t window)
{
    struct ks_store_opts o = {
        .status_subresource = sub, .failed_phase = failed, .compaction_window = window};
    return ks_store_new(&o);
}

static cJSON *J(const char *fmt, ...) VR_PRINTF(1, 2);

static cJSON *J(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_ParseWithLengthOpts(buf, strlen(buf) + 1, NULL, true);
    if (!j)
        print_error("bad test JSON: %s\n", buf);
    assert_non_null(j);
    return j;
}

static const struct ks_resource *DR(struct ks_store *s)
{
    return ks_store_find(s, "velero.io", "v1", "downloadrequests");
}

static const struct ks_resource *SSR(struct ks_store *s)
{
    return ks_store_find(s, "velero.io", "v1", "serverstatusrequests");
}

static const char *mstr(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double mnum(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const cJSON *path(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static uint64_t rv_of(const cJSON *obj)
{
    const char *rv = mstr(obj, "resourceVersion");
    assert_non_null(rv);
    return strtoull(rv, NULL, 10);
}

/* Creates a DownloadRequest; returns the stored object. */
static const cJSON *mkdr(struct ks_store *s, const char *ns, const char *name, const char *extra)
{
    const cJSON *out = NULL;
    struct ks_status st;
    cJSON *obj = J("{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\","
                   "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"target\":{\"kind\":\"BackupLog\","
                   "\"name\":\"b\"}}%s%s}",
                   name, extra[0] ? "," : "", extra);
    int rc = ks_store_create(s, DR(s), ns, obj, NOW, &out, &st);
    if (rc != 0)
        print_error("create failed: %d %s\n", st.code, st.message);
    assert_int_equal(rc, 0);
    return out;
}

static cJSON *dup_obj(const cJSON *o)
{
    return cJSON_Duplicate(o, true);
}

/* Records watch events. */
struct rec {
    int n;
    enum ks_event_type type[64];
    uint64_t rv[64];
    char *line[64];
    const char *line_ptr[64];
    char name[64][64];
};

static void rec_cb(const struct ks_event *ev, void *arg)
{
    struct rec *r = arg;
    assert_true(r->n < 64);
    r->type[r->n] = ev->type;
    r->rv[r->n] = ev->rv;
    r->line[r->n] = vr_xstrndup(ev->line, ev->line_len);
    r->line_ptr[r->n] = ev->line;
    snprintf(r->name[r->n], sizeof(r->name[0]), "%s", ev->name);
    assert_int_equal(ev->line[ev->line_len - 1], '\n');
    assert_null(memchr(ev->line, '\n', ev->line_len - 1));
    r->n++;
}

static void rec_free(struct rec *r)
{
    for (int i = 0; i < r->n; i++)
        vr_free(r->line[i]);
    memset(r, 0, sizeof(*r));
}

/* The object of recorded line i (caller frees). */
static cJSON *rec_obj(const struct rec *r, int i)
{
    cJSON *ev = cJSON_ParseWithLengthOpts(r->line[i], strlen(r->line[i]) + 1, NULL, false);
    assert_non_null(ev);
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
    cJSON_Delete(ev);
    return obj;
}

static struct ks_watcher *watch(struct ks_store *s, const struct ks_resource *res,
                                const char *from, struct rec *r, const char *labels)
{
    struct ks_selector sel;
    memset(&sel, 0, sizeof(sel));
    struct ks_status st;
    assert_int_equal(ks_selector_parse(&sel, NULL, labels, &st), 0);
    struct ks_watcher *w = NULL;
    int rc = ks_store_watch(s, res, &sel, from, rec_cb, r, &w, &st);
    if (rc != 0)
        print_error("watch failed: %d %s\n", st.code, st.message);
    assert_int_equal(rc, 0);
    return w;
}

/* ---- preload and CRDs ---- */

static void test_preload_namespaces_and_crds(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const struct ks_resource *ns = ks_store_find(s, "", "v1", "namespaces");
    const struct ks_resource *crd =
        ks_store_find(s, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    assert_non_null(ns);
    assert_non_null(crd);
    assert_false(ns->namespaced);
    assert_null(ks_store_find(s, "velero.io", "v2", "downloadrequests"));
    const cJSON *o;
    struct ks_status st;
    const char *names[] = {"default", "kube-system", "kube-public", "velero"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ks_store_get(s, ns, "", names[i], &o, &st), 0);
    assert_int_equal(ks_store_get(s, crd, "", "downloadrequests.velero.io", &o, &st), 0);
    const cJSON *ver = cJSON_GetArrayItem(path(o, "spec", "versions"), 0);
    assert_non_null(path(ver, "subresources", "status"));
    const cJSON *phase = path(path(path(path(path(ver, "schema", "openAPIV3Schema"), "properties",
                                                 "status"), "properties", NULL), "phase", NULL),
                              "enum", NULL);
    assert_int_equal(cJSON_GetArraySize(phase), 2);
    const cJSON *cond = cJSON_GetArrayItem(path(o, "status", "conditions"), 1);
    assert_string_equal(path(cond, "type", NULL)->valuestring, "Established");
    assert_string_equal(path(cond, "status", NULL)->valuestring, "True");
    size_t n;
    const struct ks_resource *const *all;
    n = ks_store_resources(s, &all);
    assert_int_equal(n, 9);
    int crds = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i]->velero) {
            assert_int_equal(ks_store_get(s, crd, "", all[i]->crd_name, &o, &st), 0);
            crds++;
        }
    assert_int_equal(crds, 5);
    assert_string_equal(SSR(s)->short_names, "ssr");
    ks_store_free(s);

    s = mk(false, true, 0);
    crd = ks_store_find(s, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    assert_int_equal(ks_store_get(s, crd, "", "downloadrequests.velero.io", &o, &st), 0);
    ver = cJSON_GetArrayItem(path(o, "spec", "versions"), 0);
    assert_null(path(ver, "subresources", NULL));
    phase = path(path(path(path(path(ver, "schema", "openAPIV3Schema"), "properties", "status"),
                           "properties", NULL),
                      "phase", NULL),
                 "enum", NULL);
    assert_int_equal(cJSON_GetArraySize(phase), 3);
    assert_string_equal(cJSON_GetArrayItem(phase, 2)->valuestring, "Failed");
    assert_false(ks_store_has_status(s, DR(s)));
    ks_store_free(s);
}

/* ---- create ---- */

static void test_rv_monotonic_across_types(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    uint64_t r0 = ks_store_rv(s);
    assert_true(r0 > 0);
    const cJSON *a = mkdr(s, "velero", "a", "");
    assert_int_equal(rv_of(a), r0 + 1);
    const struct ks_resource *lease = ks_store_find(s, "coordination.k8s.io", "v1", "leases");
    const struct ks_resource *secret = ks_store_find(s, "", "v1", "secrets");
    const cJSON *out;
    struct ks_status st;
    assert_int_equal(ks_store_create(s, lease, "velero",
                                     J("{\"metadata\":{\"name\":\"l\"},\"spec\":{}}"), NOW, &out,
                                     &st),
                     0);
    assert_int_equal(rv_of(out), r0 + 2);
    assert_string_equal(path(out, "kind", NULL)->valuestring, "Lease");
    assert_string_equal(path(out, "apiVersion", NULL)->valuestring, "coordination.k8s.io/v1");
    assert_null(path(out, "metadata", "generation")); /* built-ins have none */
    assert_int_equal(ks_store_create(s, secret, "default", J("{\"metadata\":{\"name\":\"s\"}}"),
                                     NOW, &out, &st),
                     0);
    assert_int_equal(rv_of(out), r0 + 3);
    const cJSON *b = mkdr(s, "velero", "b", "");
    assert_int_equal(rv_of(b), r0 + 4);
    assert_int_equal(ks_store_rv(s), r0 + 4);
    /* The list RV is the store's, not the newest item's. */
    cJSON *list;
    assert_int_equal(ks_store_list(s, DR(s), NULL, &list, &st), 0);
    assert_int_equal(rv_of(list), r0 + 4);
    cJSON_Delete(list);
    assert_int_equal(ks_store_list(s, lease, NULL, &list, &st), 0);
    assert_int_equal(rv_of(list), r0 + 4);
    cJSON_Delete(list);
    ks_store_free(s);
}

static void test_create_sets_system_fields(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "x", "");
    const char *uid = mstr(o, "uid");
    assert_non_null(uid);
    assert_int_equal(strlen(uid), 36);
    assert_int_equal(uid[14], '4');
    assert_non_null(strchr("89ab", uid[19]));
    assert_string_equal(mstr(o, "creationTimestamp"), "2026-01-01T00:00:00Z");
    assert_int_equal(mnum(o, "generation"), 1);
    assert_string_equal(mstr(o, "namespace"), "velero");
    const cJSON *o2 = mkdr(s, "velero", "y", "");
    assert_string_not_equal(mstr(o2, "uid"), uid);
    /* apiVersion/kind may be omitted; RV "0" is accepted as unset. */
    const cJSON *out;
    struct ks_status st;
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"z\",\"resourceVersion\":\"0\","
                                       "\"namespace\":\"velero\"}}"),
                                     NOW, &out, &st),
                     0);
    assert_string_equal(path(out, "kind", NULL)->valuestring, "DownloadRequest");
    assert_string_equal(path(out, "apiVersion", NULL)->valuestring, "velero.io/v1");
    assert_int_equal(rv_of(out), ks_store_rv(s));
    ks_store_free(s);
}

static void test_generate_name(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *out;
    struct ks_status st;
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"generateName\":\"dl-\"}}"), NOW, &out,
                                     &st),
                     0);
    const char *name = mstr(out, "name");
    assert_int_equal(strlen(name), 8);
    assert_memory_equal(name, "dl-", 3);
    for (int i = 3; i < 8; i++)
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", name[i]));
    char long_prefix[80];
    memset(long_prefix, 'p', 70);
    long_prefix[70] = '\0';
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"generateName\":\"%s\"}}", long_prefix),
                                     NOW, &out, &st),
                     0);
    name = mstr(out, "name");
    assert_int_equal(strlen(name), 63);
    assert_memory_equal(name, long_prefix, 58);
    /* Neither name nor generateName: 422 Required. */
    assert_int_equal(ks_store_create(s, DR(s), "velero", J("{\"metadata\":{}}"), NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.message, "DownloadRequest.velero.io \"\" is invalid: metadata.name: "
                                    "Required value: name or generateName is required");
    ks_store_free(s);
}

static void test_create_errors(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *out;
    struct ks_status st;
    /* Missing namespace: 404 about the namespace. */
    assert_int_equal(ks_store_create(s, DR(s), "nope", J("{\"metadata\":{\"name\":\"a\"}}"), NOW,
                                     &out, &st),
                     -1);
    assert_int_equal(st.code, 404);
    assert_string_equal(st.reason, "NotFound");
    assert_string_equal(st.message, "namespaces \"nope\" not found");
    char *js = ks_status_json(&st, DR(s));
    assert_non_null(strstr(js, "\"details\":{\"name\":\"nope\",\"group\":\"\",\"kind\":"
                               "\"namespaces\"}"));
    vr_free(js);
    /* Name taken. */
    mkdr(s, "velero", "a", "");
    assert_int_equal(ks_store_create(s, DR(s), "velero", J("{\"metadata\":{\"name\":\"a\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "AlreadyExists");
    assert_string_equal(st.message, "downloadrequests.velero.io \"a\" already exists");
    /* Same name in another namespace is fine. */
    mkdr(s, "default", "a", "");
    /* Bad name: 422 with the field. */
    assert_int_equal(ks_store_create(s, DR(s), "velero", J("{\"metadata\":{\"name\":\"Bad_N\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.field, "metadata.name");
    assert_non_null(strstr(st.message, "DownloadRequest.velero.io \"Bad_N\" is invalid: "
                                       "metadata.name: Invalid value: \"Bad_N\": a lowercase RFC "
                                       "1123 subdomain"));
    /* RV on create: 500. */
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"r\",\"resourceVersion\":\"5\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 500);
    assert_string_equal(st.message, "resourceVersion should not be set on objects to be created");
    /* Type and namespace mismatches: 400. */
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"apiVersion\":\"velero.io/v2\",\"metadata\":{\"name\":"
                                       "\"t\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 400);
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"kind\":\"Backup\",\"metadata\":{\"name\":\"t\"}}"), NOW,
                                     &out, &st),
                     -1);
    assert_int_equal(st.code, 400);
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"t\",\"namespace\":\"default\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.reason, "BadRequest");
    /* None of the failures bumped the RV or stored anything. */
    cJSON *list;
    assert_int_equal(ks_store_list(s, DR(s), NULL, &list, &st), 0);
    assert_int_equal(cJSON_GetArraySize(path(list, "items", NULL)), 2);
    assert_int_equal(rv_of(list), rv_of(mkdr(s, "velero", "last", "")) - 1);
    cJSON_Delete(list);
    ks_store_free(s);
}

/* ---- update ---- */

static void test_update_errors(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "");
    const cJSON *out;
    struct ks_status st;
    /* No RV: 422 with the exact message. */
    cJSON *body = dup_obj(o);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "resourceVersion");
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.reason, "Invalid");
    assert_string_equal(st.message, "DownloadRequest.velero.io \"a\" is invalid: "
                                    "metadata.resourceVersion: Invalid value: 0x0: must be "
                                    "specified for an update");
    assert_string_equal(st.field, "metadata.resourceVersion");
    /* Stale RV: 409 Conflict. */
    body = dup_obj(o);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "resourceVersion",
                                           cJSON_CreateString("1"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), -1);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "Conflict");
    assert_string_equal(st.message,
                        "Operation cannot be fulfilled on downloadrequests.velero.io \"a\": the "
                        "object has been modified; please apply your changes to the latest "
                        "version and try again");
    /* Missing object: 404. */
    assert_int_equal(ks_store_update(s, DR(s), "velero", "zz", dup_obj(o), false, &out, &st), -1);
    assert_int_equal(st.code, 404);
    assert_string_equal(st.message, "downloadrequests.velero.io \"zz\" not found");
    /* Name differing from the URL: 400. */
    body = dup_obj(o);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "name",
                                           cJSON_CreateString("b"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.message,
                        "the name of the object (b) does not match the name on the URL (a)");
    /* Namespace change: 400. */
    body = dup_obj(o);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "namespace",
                                           cJSON_CreateString("default"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), -1);
    assert_int_equal(st.code, 400);
    /* uid change: 422. */
    body = dup_obj(o);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "uid",
                                           cJSON_CreateString("other"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.field, "metadata.uid");
    /* creationTimestamp and generation are forced back; omitted uid is kept. */
    body = dup_obj(o);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(body, "metadata");
    cJSON_ReplaceItemInObjectCaseSensitive(meta, "creationTimestamp",
                                           cJSON_CreateString("2000-01-01T00:00:00Z"));
    cJSON_ReplaceItemInObjectCaseSensitive(meta, "generation", cJSON_CreateNumber(40));
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), "k", "v");
    char *uid = vr_xstrdup(mstr(o, "uid"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), 0);
    assert_string_equal(mstr(out, "creationTimestamp"), "2026-01-01T00:00:00Z");
    assert_string_equal(mstr(out, "uid"), uid);
    assert_int_equal(mnum(out, "generation"), 1);
    vr_free(uid);
    ks_store_free(s);
}

static void test_status_isolation_main_endpoint(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    /* Create drops status when the subresource is on. */
    const cJSON *o = mkdr(s, "velero", "a", "\"status\":{\"phase\":\"Processed\"}");
    assert_null(path(o, "status", NULL));
    const cJSON *out;
    struct ks_status st;
    cJSON *body = dup_obj(o);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "status"), "phase", "New");
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "spec"), "target",
                                           J("{\"kind\":\"BackupLog\",\"name\":\"c\"}"));
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), 0);
    assert_null(path(out, "status", NULL));
    assert_string_equal(path(path(out, "spec", "target"), "name", NULL)->valuestring, "c");
    /* With a stored status, the main endpoint keeps it whatever the body says. */
    body = dup_obj(out);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "status"), "phase", "Processed");
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, true, &out, &st), 0);
    body = dup_obj(out);
    cJSON_DeleteItemFromObjectCaseSensitive(body, "status");
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), 0);
    assert_string_equal(path(path(out, "status", NULL), "phase", NULL)->valuestring, "Processed");
    ks_store_free(s);
}

static void test_status_isolation_status_endpoint(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "");
    uint64_t rv0 = rv_of(o);
    const cJSON *out;
    struct ks_status st;
    cJSON *body = dup_obj(o);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "status"), "phase", "Processed");
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "spec"), "target", J("{}"));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(body, "metadata"), "labels"), "k",
                            "v");
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, true, &out, &st), 0);
    assert_string_equal(path(path(out, "status", NULL), "phase", NULL)->valuestring, "Processed");
    assert_string_equal(path(path(out, "spec", "target"), "name", NULL)->valuestring, "b");
    assert_null(path(path(out, "metadata", NULL), "labels", NULL));
    assert_int_equal(rv_of(out), rv0 + 1);
    assert_int_equal(mnum(out, "generation"), 1); /* status writes never bump it */
    /* /status still checks the RV. */
    body = dup_obj(o);
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, true, &out, &st), -1);
    assert_int_equal(st.code, 409);
    /* /status merge patch: only status applies. */
    const char *p = "{\"spec\":{\"x\":1},\"status\":{\"phase\":\"New\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), true, &out, &st), 0);
    assert_string_equal(path(path(out, "status", NULL), "phase", NULL)->valuestring, "New");
    assert_null(path(path(out, "spec", NULL), "x", NULL));
    ks_store_free(s);
}

static void test_status_without_subresource(void **state)
{
    (void)state;
    struct ks_store *s = mk(false, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "\"status\":{\"phase\":\"New\"}");
    assert_non_null(path(o, "status", NULL)); /* kept on create */
    const cJSON *out;
    struct ks_status st;
    /* No /status endpoint. */
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", dup_obj(o), true, &out, &st), -1);
    assert_int_equal(st.code, 404);
    const char *p = "{\"status\":{\"phase\":\"Processed\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), true, &out, &st), -1);
    assert_int_equal(st.code, 404);
    /* The main endpoint writes status, and that bumps generation. */
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), false, &out, &st), 0);
    assert_string_equal(path(path(out, "status", NULL), "phase", NULL)->valuestring, "Processed");
    assert_int_equal(mnum(out, "generation"), 2);
    ks_store_free(s);
}

static void test_generation_rules(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "a", "");
    const cJSON *out;
    struct ks_status st;
    /* Metadata-only change: RV moves, generation does not. */
    const char *labels = "{\"metadata\":{\"labels\":{\"a\":\"b\"},\"annotations\":{\"x\":\"y\"}}}";
    assert_int_equal(ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(labels),
                                    false, &out, &st),
                     0);
    assert_int_equal(mnum(out, "generation"), 1);
    /* Spec change: +1. */
    const char *spec = "{\"spec\":{\"ttl\":\"10m\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(spec), false, &out, &st),
        0);
    assert_int_equal(mnum(out, "generation"), 2);
    /* A new top-level field outside spec/status/metadata also counts. */
    const char *other = "{\"extra\":1}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(other), false, &out, &st),
        0);
    assert_int_equal(mnum(out, "generation"), 3);
    /* Status through /status: no bump. */
    const char *status = "{\"status\":{\"phase\":\"New\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(status), true, &out, &st),
        0);
    assert_int_equal(mnum(out, "generation"), 3);
    /* Clients cannot set it. */
    const char *gen = "{\"metadata\":{\"generation\":99}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(gen), false, &out, &st),
        0);
    assert_int_equal(mnum(out, "generation"), 3);
    ks_store_free(s);
}

static void test_noop_writes_emit_nothing(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "a", "");
    const cJSON *out;
    struct ks_status st;
    const char *p = "{\"status\":{\"phase\":\"New\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), true, &out, &st), 0);
    uint64_t rv = ks_store_rv(s);
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), "", &r, NULL);
    assert_int_equal(r.n, 1); /* the synthetic ADDED */
    /* PUT of the stored object with keys reordered. */
    cJSON *body = cJSON_CreateObject();
    for (const cJSON *i = out->child; i; i = i->next)
        ; /* (walk to check the shape only) */
    const cJSON *items[] = {path(out, "status", NULL), path(out, "spec", NULL),
                            path(out, "metadata", NULL), path(out, "kind", NULL),
                            path(out, "apiVersion", NULL)};
    const char *keys[] = {"status", "spec", "metadata", "kind", "apiVersion"};
    for (int i = 0; i < 5; i++)
        cJSON_AddItemToObject(body, keys[i], cJSON_Duplicate(items[i], true));
    const cJSON *stored = out;
    assert_int_equal(ks_store_update(s, DR(s), "velero", "a", body, false, &out, &st), 0);
    assert_ptr_equal(out, stored);
    /* Same status again, an empty merge patch, an empty JSON patch, a no-op label edit. */
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), true, &out, &st), 0);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c("{}"), false, &out, &st),
        0);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_JSON, vr_str_c("[]"), false, &out, &st),
        0);
    const char *nolabel = "{\"metadata\":{\"labels\":null}}";
    assert_int_equal(ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(nolabel),
                                    false, &out, &st),
                     0);
    assert_int_equal(ks_store_rv(s), rv);
    assert_int_equal(rv_of(out), rv);
    assert_int_equal(r.n, 1);
    /* A real change is seen. */
    const char *label = "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}";
    assert_int_equal(ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(label),
                                    false, &out, &st),
                     0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.type[1], KS_EV_MODIFIED);
    assert_int_equal(r.rv[1], rv + 1);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

/* ---- phase enum ---- */

static void test_phase_enum_without_failed(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "x", "");
    const cJSON *out;
    struct ks_status st;
    const char *p = "{\"status\":{\"phase\":\"Failed\",\"message\":\"boom\"}}";
    uint64_t rv = ks_store_rv(s);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "x", KS_PATCH_MERGE, vr_str_c(p), true, &out, &st), -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.reason, "Invalid");
    assert_string_equal(st.message, "DownloadRequest.velero.io \"x\" is invalid: status.phase: "
                                    "Unsupported value: \"Failed\": supported values: \"New\", "
                                    "\"Processed\"");
    assert_string_equal(st.field, "status.phase");
    assert_int_equal(ks_store_rv(s), rv);
    char *js = ks_status_json(&st, DR(s));
    cJSON *j = cJSON_ParseWithLengthOpts(js, strlen(js) + 1, NULL, true);
    const cJSON *cause = cJSON_GetArrayItem(path(path(j, "details", NULL), "causes", NULL), 0);
    assert_string_equal(path(cause, "reason", NULL)->valuestring, "FieldValueNotSupported");
    assert_string_equal(path(cause, "field", NULL)->valuestring, "status.phase");
    assert_string_equal(path(cause, "message", NULL)->valuestring,
                        "Unsupported value: \"Failed\": supported values: \"New\", \"Processed\"");
    assert_int_equal(path(j, "code", NULL)->valueint, 422);
    assert_string_equal(path(path(j, "details", NULL), "kind", NULL)->valuestring,
                        "DownloadRequest");
    cJSON_Delete(j);
    vr_free(js);
    /* Allowed values pass; status.message is pruned on such CRDs. */
    const char *ok = "{\"status\":{\"phase\":\"Processed\",\"message\":\"m\",\"downloadURL\":"
                     "\"u\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "x", KS_PATCH_MERGE, vr_str_c(ok), true, &out, &st), 0);
    assert_null(path(path(out, "status", NULL), "message", NULL));
    assert_string_equal(path(path(out, "status", NULL), "downloadURL", NULL)->valuestring, "u");
    /* A non-string phase. */
    const char *num = "{\"status\":{\"phase\":3}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "x", KS_PATCH_MERGE, vr_str_c(num), true, &out, &st),
        -1);
    assert_int_equal(st.code, 422);
    ks_store_free(s);
}

static void test_phase_enum_with_failed(void **state)
{
    (void)state;
    struct ks_store *s = mk(false, true, 0);
    const cJSON *o = mkdr(s, "velero", "x", "\"status\":{\"phase\":\"Failed\",\"message\":\"m\"}");
    assert_string_equal(path(path(o, "status", NULL), "message", NULL)->valuestring, "m");
    const cJSON *out;
    struct ks_status st;
    const char *bad = "{\"status\":{\"phase\":\"Bogus\"}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "x", KS_PATCH_MERGE, vr_str_c(bad), false, &out, &st),
        -1);
    assert_string_equal(st.message, "DownloadRequest.velero.io \"x\" is invalid: status.phase: "
                                    "Unsupported value: \"Bogus\": supported values: \"New\", "
                                    "\"Processed\", \"Failed\"");
    /* ServerStatusRequest never has Failed; "" is accepted. */
    assert_int_equal(ks_store_create(s, SSR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"s\"},\"status\":{\"phase\":"
                                       "\"Failed\"}}"),
                                     NOW, &out, &st),
                     -1);
    assert_int_equal(st.code, 422);
    assert_non_null(strstr(st.message, "ServerStatusRequest.velero.io \"s\" is invalid"));
    assert_int_equal(ks_store_create(s, SSR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"s\"},\"status\":{\"phase\":\"\"}}"),
                                     NOW, &out, &st),
                     0);
    ks_store_free(s);
}

/* ---- delete ---- */

static void test_delete_preconditions(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "");
    char uid[64], rv[32];
    snprintf(uid, sizeof(uid), "%s", mstr(o, "uid"));
    snprintf(rv, sizeof(rv), "%s", mstr(o, "resourceVersion"));
    cJSON *out = NULL;
    struct ks_status st;
    cJSON *opts = J("{\"preconditions\":{\"uid\":\"A\"}}");
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", opts, &out, &st), -1);
    cJSON_Delete(opts);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "Conflict");
    char want[256];
    snprintf(want, sizeof(want), "Precondition failed: UID in precondition: A, UID in object meta: %s",
             uid);
    assert_string_equal(st.message, want);
    opts = J("{\"preconditions\":{\"resourceVersion\":\"1\"}}");
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", opts, &out, &st), -1);
    cJSON_Delete(opts);
    snprintf(want, sizeof(want),
             "Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object "
             "meta: %s",
             rv);
    assert_string_equal(st.message, want);
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "nope", NULL, &out, &st), -1);
    assert_int_equal(st.code, 404);
    /* Matching preconditions delete. */
    opts = J("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":"
             "\"Foreground\",\"preconditions\":{\"uid\":\"%s\",\"resourceVersion\":\"%s\"}}",
             uid, rv);
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", opts, &out, &st), 0);
    cJSON_Delete(opts);
    cJSON_Delete(out);
    const cJSON *got;
    assert_int_equal(ks_store_get(s, DR(s), "velero", "a", &got, &st), -1);
    assert_int_equal(st.code, 404);
    ks_store_free(s);
}

static void test_delete_response_and_event(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "\"status\":{}");
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", mstr(o, "uid"));
    uint64_t rv0 = rv_of(o);
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), NULL, &r, NULL);
    rec_free(&r);
    cJSON *out = NULL;
    struct ks_status st;
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", NULL, &out, &st), 0);
    char *js = cJSON_PrintUnformatted(out);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
             "\"details\":{\"name\":\"a\",\"group\":\"velero.io\",\"kind\":\"downloadrequests\","
             "\"uid\":\"%s\"}}",
             uid);
    assert_string_equal(js, want);
    vr_free(js);
    cJSON_Delete(out);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.type[0], KS_EV_DELETED);
    assert_int_equal(r.rv[0], rv0 + 1);
    assert_int_equal(ks_store_rv(s), rv0 + 1);
    assert_memory_equal(r.line[0], "{\"type\":\"DELETED\",\"object\":{", 28);
    cJSON *obj = rec_obj(&r, 0);
    assert_int_equal(rv_of(obj), rv0 + 1); /* last state, deletion's RV */
    assert_string_equal(mstr(obj, "uid"), uid);
    cJSON_Delete(obj);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

static void test_finalizers_flow(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "a", "");
    const cJSON *o;
    struct ks_status st;
    const char *addf = "{\"metadata\":{\"finalizers\":[\"velero.io/x\"]}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(addf), false, &o, &st), 0);
    uint64_t rv = rv_of(o);
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), NULL, &r, NULL);
    rec_free(&r);
    ks_store_set_now(s, NOW + 60);
    cJSON *out = NULL;
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", NULL, &out, &st), 0);
    /* Kept, marked, RV bumped, MODIFIED; the answer is the object. */
    assert_string_equal(path(out, "kind", NULL)->valuestring, "DownloadRequest");
    assert_string_equal(mstr(out, "deletionTimestamp"), "2026-01-01T00:01:00Z");
    assert_int_equal(mnum(out, "deletionGracePeriodSeconds"), 0);
    assert_int_equal(rv_of(out), rv + 1);
    assert_int_equal(mnum(out, "generation"), 2);
    cJSON_Delete(out);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.type[0], KS_EV_MODIFIED);
    assert_int_equal(ks_store_get(s, DR(s), "velero", "a", &o, &st), 0);
    /* A second DELETE changes nothing. */
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "a", NULL, &out, &st), 0);
    assert_int_equal(rv_of(out), rv + 1);
    cJSON_Delete(out);
    assert_int_equal(r.n, 1);
    /* No new finalizers while deleting; deletionTimestamp cannot be cleared. */
    const char *more = "{\"metadata\":{\"finalizers\":[\"velero.io/x\",\"new\"]}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(more), false, &o, &st),
        -1);
    assert_int_equal(st.code, 422);
    assert_string_equal(st.field, "metadata.finalizers");
    const char *undel = "{\"metadata\":{\"deletionTimestamp\":null,\"labels\":{\"a\":\"b\"}}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(undel), false, &o, &st),
        0);
    assert_string_equal(mstr(o, "deletionTimestamp"), "2026-01-01T00:01:00Z");
    /* Emptying finalizers deletes: DELETED, then gone. */
    const char *none = "{\"metadata\":{\"finalizers\":null}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(none), false, &o, &st), 0);
    assert_int_equal(rv_of(o), ks_store_rv(s)); /* the returned last state stays readable */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.type[2], KS_EV_DELETED);
    assert_int_equal(r.rv[2], ks_store_rv(s));
    assert_int_equal(ks_store_get(s, DR(s), "velero", "a", &o, &st), -1);
    assert_int_equal(st.code, 404);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

/* ---- patch ---- */

static void test_patch_rv_and_errors(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    const cJSON *o = mkdr(s, "velero", "a", "");
    uint64_t rv = rv_of(o);
    const cJSON *out;
    struct ks_status st;
    /* A merge patch naming a stale RV conflicts; the current one passes. */
    const char *stale = "{\"metadata\":{\"resourceVersion\":\"1\",\"labels\":{\"a\":\"b\"}}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(stale), false, &out, &st),
        -1);
    assert_int_equal(st.code, 409);
    char cur[128];
    snprintf(cur, sizeof(cur), "{\"metadata\":{\"resourceVersion\":\"%llu\",\"labels\":{\"a\":"
                               "\"b\"}}}",
             (unsigned long long)rv);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(cur), false, &out, &st),
        0);
    assert_int_equal(rv_of(out), rv + 1);
    /* JSON patch replacing the RV with a stale one: 409 too. */
    const char *jp = "[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\"2\"}]";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_JSON, vr_str_c(jp), false, &out, &st), -1);
    assert_int_equal(st.code, 409);
    /* Failing test: 422. */
    const char *t = "[{\"op\":\"test\",\"path\":\"/spec/target/name\",\"value\":\"zz\"}]";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_JSON, vr_str_c(t), false, &out, &st), -1);
    assert_int_equal(st.code, 422);
    /* Each op kind through the store. */
    const char *ops = "[{\"op\":\"add\",\"path\":\"/spec/a\",\"value\":[1]},"
                      "{\"op\":\"copy\",\"from\":\"/spec/a\",\"path\":\"/spec/b\"},"
                      "{\"op\":\"move\",\"from\":\"/spec/b\",\"path\":\"/spec/c\"},"
                      "{\"op\":\"replace\",\"path\":\"/spec/c/0\",\"value\":2},"
                      "{\"op\":\"remove\",\"path\":\"/spec/a\"},"
                      "{\"op\":\"test\",\"path\":\"/spec/c\",\"value\":[2]}]";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_JSON, vr_str_c(ops), false, &out, &st), 0);
    assert_null(path(path(out, "spec", NULL), "a", NULL));
    assert_int_equal(cJSON_GetArrayItem(path(path(out, "spec", NULL), "c", NULL), 0)->valueint, 2);
    /* Malformed bodies: 400. */
    const char *bad[] = {"{", "[1", "{\"a\":1} x", "", "[{\"op\":\"nope\",\"path\":\"/a\"}]"};
    for (size_t i = 0; i < 5; i++) {
        enum ks_patch_type ty = i == 4 ? KS_PATCH_JSON : KS_PATCH_MERGE;
        assert_int_equal(
            ks_store_patch(s, DR(s), "velero", "a", ty, vr_str_c(bad[i]), false, &out, &st), -1);
        assert_int_equal(st.code, 400);
    }
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c("[]"), false, &out, &st),
        -1);
    assert_int_equal(st.code, 400);
    /* Removing the name: 400 (URL mismatch). Missing object: 404. */
    const char *noname = "{\"metadata\":{\"name\":null}}";
    assert_int_equal(ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(noname),
                                    false, &out, &st),
                     -1);
    assert_int_equal(st.code, 400);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "q", KS_PATCH_MERGE, vr_str_c("{}"), false, &out, &st),
        -1);
    assert_int_equal(st.code, 404);
    ks_store_free(s);
}

/* ---- list ---- */

static void test_list_sorted_and_selected(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    struct ks_status st;
    cJSON *list;
    assert_int_equal(ks_store_list(s, DR(s), NULL, &list, &st), 0);
    char *js = cJSON_PrintUnformatted(list);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequestList\",\"metadata\":{"
             "\"resourceVersion\":\"%llu\"},\"items\":[]}",
             (unsigned long long)ks_store_rv(s));
    assert_string_equal(js, want);
    vr_free(js);
    cJSON_Delete(list);
    mkdr(s, "velero", "b", "");
    mkdr(s, "default", "z", "");
    assert_int_equal(ks_store_create(s, DR(s), "velero",
                                     J("{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}}}"),
                                     NOW, NULL, &st),
                     0);
    assert_int_equal(ks_store_list(s, DR(s), NULL, &list, &st), 0);
    const cJSON *items = path(list, "items", NULL);
    assert_int_equal(cJSON_GetArraySize(items), 3);
    const char *order[] = {"z", "a", "b"};
    for (int i = 0; i < 3; i++) {
        const cJSON *it = cJSON_GetArrayItem(items, i);
        assert_string_equal(mstr(it, "name"), order[i]);
        assert_string_equal(path(it, "kind", NULL)->valuestring, "DownloadRequest");
        assert_string_equal(path(it, "apiVersion", NULL)->valuestring, "velero.io/v1");
    }
    cJSON_Delete(list);
    struct ks_selector sel;
    memset(&sel, 0, sizeof(sel));
    snprintf(sel.ns, sizeof(sel.ns), "velero");
    const struct {
        const char *fs, *ls;
        int n;
    } cases[] = {
        {NULL, NULL, 2},
        {"metadata.name=b", NULL, 1},
        {"metadata.name==b", "", 1},
        {"metadata.name=z", NULL, 0},
        {"metadata.namespace=velero,metadata.name=a", NULL, 1},
        {NULL, "app=x", 1},
        {NULL, "app==y", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ks_selector_parse(&sel, cases[i].fs, cases[i].ls, &st), 0);
        assert_string_equal(sel.ns, "velero");
        assert_int_equal(ks_store_list(s, DR(s), &sel, &list, &st), 0);
        assert_int_equal(cJSON_GetArraySize(path(list, "items", NULL)), cases[i].n);
        cJSON_Delete(list);
    }
    const char *bad_fs[] = {"spec.x=1", "metadata.name!=a", "metadata.uid=1"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ks_selector_parse(&sel, bad_fs[i], NULL, &st), -1);
        assert_int_equal(st.code, 400);
    }
    const char *bad_ls[] = {"a!=b", "a in (b)", "a=b,c=d", "a"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ks_selector_parse(&sel, NULL, bad_ls[i], &st), -1);
        assert_int_equal(st.code, 400);
    }
    ks_store_free(s);
}

/* ---- watch ---- */

static void test_watch_synthetic_then_live(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "b", "");
    mkdr(s, "velero", "a", "");
    mkdr(s, "default", "c", "");
    const char *froms[] = {NULL, "0"};
    for (int f = 0; f < 2; f++) {
        struct rec r = {0};
        struct ks_selector sel;
        struct ks_status st;
        memset(&sel, 0, sizeof(sel));
        snprintf(sel.ns, sizeof(sel.ns), "velero");
        struct ks_watcher *w;
        assert_int_equal(ks_store_watch(s, DR(s), &sel, froms[f], rec_cb, &r, &w, &st), 0);
        /* The second round also sees "f" from the first. */
        assert_int_equal(r.n, 2 + f);
        assert_int_equal(r.type[0], KS_EV_ADDED);
        assert_string_equal(r.name[0], "a");
        assert_string_equal(r.name[1], "b");
        assert_memory_equal(r.line[0], "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":", 39);
        mkdr(s, "velero", "d", "");
        mkdr(s, "default", f ? "e1" : "e0", ""); /* outside the watched namespace */
        assert_int_equal(r.n, 3 + f);
        assert_string_equal(r.name[2 + f], "d");
        assert_int_equal(r.rv[2 + f], ks_store_rv(s) - 1);
        ks_store_unwatch(s, w);
        mkdr(s, "velero", f ? "g" : "f", "");
        assert_int_equal(r.n, 3 + f);
        rec_free(&r);
        cJSON *out;
        assert_int_equal(ks_store_delete(s, DR(s), "velero", "d", NULL, &out, &st), 0);
        cJSON_Delete(out);
    }
    ks_store_free(s);
}

static void test_watch_replay_exact(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 100);
    const cJSON *a = mkdr(s, "velero", "a", "");
    uint64_t n = rv_of(a);
    mkdr(s, "velero", "b", "");
    const cJSON *out;
    struct ks_status st;
    const char *p = "{\"spec\":{\"x\":1}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(p), false, &out, &st), 0);
    /* Other resources' events take RVs too. */
    assert_int_equal(ks_store_create(s, ks_store_find(s, "", "v1", "secrets"), "velero",
                                     J("{\"metadata\":{\"name\":\"s\"}}"), NOW, &out, &st),
                     0);
    cJSON *del;
    assert_int_equal(ks_store_delete(s, DR(s), "velero", "b", NULL, &del, &st), 0);
    cJSON_Delete(del);
    char from[24];
    snprintf(from, sizeof(from), "%llu", (unsigned long long)n);
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), from, &r, NULL);
    /* Exactly the events after N: ADDED b (n+1), MODIFIED a (n+2), DELETED b (n+4). */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.type[0], KS_EV_ADDED);
    assert_int_equal(r.rv[0], n + 1);
    assert_string_equal(r.name[0], "b");
    assert_int_equal(r.type[1], KS_EV_MODIFIED);
    assert_int_equal(r.rv[1], n + 2);
    assert_int_equal(r.type[2], KS_EV_DELETED);
    assert_int_equal(r.rv[2], n + 4);
    for (int i = 0; i < 3; i++) {
        cJSON *obj = rec_obj(&r, i);
        assert_int_equal(rv_of(obj), r.rv[i]);
        cJSON_Delete(obj);
    }
    mkdr(s, "velero", "c", "");
    assert_int_equal(r.n, 4);
    assert_int_equal(r.rv[3], n + 5);
    ks_store_unwatch(s, w);
    rec_free(&r);
    /* From the current RV: nothing replayed. */
    snprintf(from, sizeof(from), "%llu", (unsigned long long)ks_store_rv(s));
    w = watch(s, DR(s), from, &r, NULL);
    assert_int_equal(r.n, 0);
    ks_store_unwatch(s, w);
    ks_store_free(s);
}

static void test_event_line_shared(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    struct rec r1 = {0}, r2 = {0};
    struct ks_watcher *w1 = watch(s, DR(s), NULL, &r1, NULL);
    struct ks_watcher *w2 = watch(s, DR(s), NULL, &r2, NULL);
    mkdr(s, "velero", "a", "");
    assert_int_equal(r1.n, 1);
    assert_int_equal(r2.n, 1);
    assert_ptr_equal(r1.line_ptr[0], r2.line_ptr[0]);
    ks_store_unwatch(s, w1);
    ks_store_unwatch(s, w2);
    rec_free(&r1);
    rec_free(&r2);
    ks_store_free(s);
}

static void expect_watch_error(struct ks_store *s, const char *from, int code, const char *msg)
{
    struct rec r = {0};
    struct ks_watcher *w = NULL;
    struct ks_status st;
    assert_int_equal(ks_store_watch(s, DR(s), NULL, from, rec_cb, &r, &w, &st), -1);
    assert_null(w);
    assert_int_equal(st.code, code);
    if (msg)
        assert_string_equal(st.message, msg);
    assert_int_equal(r.n, 0);
}

static void test_watch_410_after_eviction(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 3);
    uint64_t base = ks_store_rv(s);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "o%d", i);
        mkdr(s, "velero", name, "");
    }
    /* Events base+1..base+5; the ring keeps 3 (base+3..5), evicted up to base+2. */
    char from[24], msg[128];
    snprintf(from, sizeof(from), "%llu", (unsigned long long)(base + 1));
    snprintf(msg, sizeof(msg), "too old resource version: %llu (%llu)",
             (unsigned long long)(base + 1), (unsigned long long)(base + 2));
    expect_watch_error(s, from, 410, msg);
    struct ks_status st;
    assert_int_equal(ks_store_watch(s, DR(s), NULL, from, rec_cb, NULL, &(struct ks_watcher *){0},
                                    &st),
                     -1);
    assert_string_equal(st.reason, "Expired");
    /* Exactly the compacted RV is still valid and replays everything retained. */
    snprintf(from, sizeof(from), "%llu", (unsigned long long)(base + 2));
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), from, &r, NULL);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.rv[0], base + 3);
    assert_int_equal(r.rv[2], base + 5);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

static void test_watch_410_after_compact(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 100);
    const cJSON *a = mkdr(s, "velero", "a", "");
    char from[24], msg[128];
    snprintf(from, sizeof(from), "%llu", (unsigned long long)rv_of(a));
    mkdr(s, "velero", "b", "");
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), from, &r, NULL);
    assert_int_equal(r.n, 1);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_compact(s);
    uint64_t cur = ks_store_rv(s);
    snprintf(msg, sizeof(msg), "too old resource version: %s (%llu)", from,
             (unsigned long long)cur);
    expect_watch_error(s, from, 410, msg);
    /* Watching from the compaction point is fine, and so is a fresh watch. */
    snprintf(from, sizeof(from), "%llu", (unsigned long long)cur);
    w = watch(s, DR(s), from, &r, NULL);
    assert_int_equal(r.n, 0);
    mkdr(s, "velero", "c", "");
    assert_int_equal(r.n, 1);
    ks_store_unwatch(s, w);
    rec_free(&r);
    w = watch(s, DR(s), NULL, &r, NULL);
    assert_int_equal(r.n, 3);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

static void test_watch_504_and_400(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    uint64_t cur = ks_store_rv(s);
    char from[24], msg[128];
    snprintf(from, sizeof(from), "%llu", (unsigned long long)(cur + 1));
    snprintf(msg, sizeof(msg), "Timeout: Too large resource version: %llu, current: %llu",
             (unsigned long long)(cur + 1), (unsigned long long)cur);
    expect_watch_error(s, from, 504, msg);
    struct ks_status st;
    struct ks_watcher *w;
    assert_int_equal(ks_store_watch(s, DR(s), NULL, from, rec_cb, NULL, &w, &st), -1);
    assert_string_equal(st.reason, "Timeout");
    assert_int_equal(st.retry_after_s, 1);
    char *js = ks_status_json(&st, DR(s));
    assert_non_null(strstr(js, "\"reason\":\"ResourceVersionTooLarge\""));
    assert_non_null(strstr(js, "\"retryAfterSeconds\":1"));
    assert_non_null(strstr(js, "\"code\":504"));
    vr_free(js);
    expect_watch_error(s, "abc", 400, NULL);
    expect_watch_error(s, "-1", 400, NULL);
    expect_watch_error(s, "99999999999999999999999", 400, NULL);
    ks_store_free(s);
}

static void test_watch_selector_transitions(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    mkdr(s, "velero", "a", "");
    struct rec r = {0};
    struct ks_watcher *w = watch(s, DR(s), NULL, &r, "app=x");
    assert_int_equal(r.n, 0);
    const cJSON *out;
    struct ks_status st;
    const char *on = "{\"metadata\":{\"labels\":{\"app\":\"x\"}}}";
    const char *off = "{\"metadata\":{\"labels\":{\"app\":\"y\"}}}";
    const char *spec = "{\"spec\":{\"q\":1}}";
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(on), false, &out, &st), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.type[0], KS_EV_ADDED);
    assert_memory_equal(r.line[0], "{\"type\":\"ADDED\"", 15);
    assert_int_equal(r.rv[0], ks_store_rv(s));
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(spec), false, &out, &st),
        0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.type[1], KS_EV_MODIFIED);
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(off), false, &out, &st),
        0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.type[2], KS_EV_DELETED);
    assert_memory_equal(r.line[2], "{\"type\":\"DELETED\"", 17);
    /* The DELETED shows the previous content with the event's RV. */
    cJSON *obj = rec_obj(&r, 2);
    assert_string_equal(path(path(path(obj, "metadata", NULL), "labels", NULL), "app", NULL)
                            ->valuestring,
                        "x");
    assert_int_equal(rv_of(obj), ks_store_rv(s));
    cJSON_Delete(obj);
    /* Changes while not matching are not seen; replay applies the same transitions. */
    assert_int_equal(
        ks_store_patch(s, DR(s), "velero", "a", KS_PATCH_MERGE, vr_str_c(spec), false, &out, &st),
        0);
    assert_int_equal(r.n, 3);
    ks_store_unwatch(s, w);
    rec_free(&r);
    ks_store_free(s);
}

/* Watchers for the unwatch-in-callback test. */
struct selfstop {
    struct ks_store *s;
    struct ks_watcher *self;
    struct ks_watcher *other;
    int n;
};

static void stop_cb(const struct ks_event *ev, void *arg)
{
    (void)ev;
    struct selfstop *x = arg;
    x->n++;
    ks_store_unwatch(x->s, x->self);
    if (x->other) {
        ks_store_unwatch(x->s, x->other);
        x->other = NULL;
    }
}

static void count_cb(const struct ks_event *ev, void *arg)
{
    (void)ev;
    (*(int *)arg)++;
}

static void test_unwatch_inside_callback(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    struct ks_status st;
    int before = 0, after = 0;
    struct ks_watcher *wb, *wa;
    /* Watchers are called newest first: wa, then x, then wb. x stops itself and wb. */
    assert_int_equal(ks_store_watch(s, DR(s), NULL, NULL, count_cb, &before, &wb, &st), 0);
    struct selfstop x = {.s = s};
    assert_int_equal(ks_store_watch(s, DR(s), NULL, NULL, stop_cb, &x, &x.self, &st), 0);
    x.other = wb;
    assert_int_equal(ks_store_watch(s, DR(s), NULL, NULL, count_cb, &after, &wa, &st), 0);
    mkdr(s, "velero", "a", "");
    assert_int_equal(x.n, 1);
    assert_int_equal(after, 1);
    assert_int_equal(before, 0); /* unwatched before its turn */
    mkdr(s, "velero", "b", "");
    assert_int_equal(x.n, 1);
    assert_int_equal(after, 2);
    assert_int_equal(before, 0);
    ks_store_unwatch(s, wa);
    mkdr(s, "velero", "c", "");
    assert_int_equal(after, 2);
    /* Unwatching nothing is harmless; ks_store_free releases live watchers. */
    ks_store_unwatch(s, NULL);
    assert_int_equal(ks_store_watch(s, DR(s), NULL, NULL, count_cb, &after, &wa, &st), 0);
    assert_int_equal(after, 5);
    ks_store_free(s);
}

/* ---- load and Status ---- */

static void test_load_documents_and_lists(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    struct ks_status st;
    const char *yaml = "apiVersion: velero.io/v1\n"
                       "kind: DownloadRequest\n"
                       "metadata: {name: one, namespace: team-a}\n"
                       "spec: {target: {kind: BackupLog, name: b}}\n"
                       "---\n"
                       "apiVersion: v1\n"
                       "kind: List\n"
                       "items:\n"
                       "- apiVersion: velero.io/v1\n"
                       "  kind: Backup\n"
                       "  metadata: {name: bk}\n"
                       "- apiVersion: coordination.k8s.io/v1\n"
                       "  kind: Lease\n"
                       "  metadata: {name: l, namespace: velero}\n"
                       "  spec: {leaseDurationSeconds: 15}\n"
                       "---\n";
    assert_int_equal(ks_store_load(s, yaml, strlen(yaml), NOW, &st), 0);
    const cJSON *o;
    assert_int_equal(ks_store_get(s, DR(s), "team-a", "one", &o, &st), 0);
    assert_int_equal(ks_store_get(s, ks_store_find(s, "", "v1", "namespaces"), "", "team-a", &o,
                                  &st),
                     0);
    assert_int_equal(ks_store_get(s, ks_store_find(s, "velero.io", "v1", "backups"), "default",
                                  "bk", &o, &st),
                     0);
    assert_int_equal(ks_store_get(s, ks_store_find(s, "coordination.k8s.io", "v1", "leases"),
                                  "velero", "l", &o, &st),
                     0);
    assert_int_equal(path(path(o, "spec", NULL), "leaseDurationSeconds", NULL)->valueint, 15);
    /* JSON List input too. */
    const char *json = "{\"kind\":\"DownloadRequestList\",\"apiVersion\":\"velero.io/v1\","
                       "\"items\":[{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\","
                       "\"metadata\":{\"name\":\"j\",\"namespace\":\"velero\"}}]}";
    assert_int_equal(ks_store_load(s, json, strlen(json), NOW, &st), 0);
    assert_int_equal(ks_store_get(s, DR(s), "velero", "j", &o, &st), 0);
    /* Errors name the document (and item). */
    const char *dup = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n"
                      "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
    assert_int_equal(ks_store_load(s, dup, strlen(dup), NOW, &st), -1);
    assert_string_equal(st.message, "document 2: secrets \"s\" already exists");
    const char *unknown = "kind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: Pod, "
                          "metadata: {name: p}}\n";
    assert_int_equal(ks_store_load(s, unknown, strlen(unknown), NOW, &st), -1);
    assert_string_equal(st.message, "document 1 item 1: kubesim does not serve v1 Pod");
    const char *broken = "a: [1\n";
    assert_int_equal(ks_store_load(s, broken, strlen(broken), NOW, &st), -1);
    assert_non_null(strstr(st.message, "line "));
    ks_store_free(s);
}

static void test_status_json_shape(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    struct ks_status st;
    const cJSON *o;
    assert_int_equal(ks_store_get(s, DR(s), "velero", "nope", &o, &st), -1);
    char *js = ks_status_json(&st, DR(s));
    assert_string_equal(js, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                            "\"Failure\",\"message\":\"downloadrequests.velero.io \\\"nope\\\" not "
                            "found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nope\","
                            "\"group\":\"velero.io\",\"kind\":\"downloadrequests\"},\"code\":404}");
    vr_free(js);
    /* A Status without a name has no details. */
    assert_int_equal(ks_selector_parse(&(struct ks_selector){0}, "x=y", NULL, &st), -1);
    js = ks_status_json(&st, DR(s));
    assert_null(strstr(js, "details"));
    assert_non_null(strstr(js, "\"code\":400"));
    vr_free(js);
    ks_store_free(s);
}

static void test_many_objects(void **state)
{
    (void)state;
    struct ks_store *s = mk(true, false, 0);
    enum { N = 20000 };
    for (int i = N - 1; i >= 0; i--) {
        char name[16];
        snprintf(name, sizeof(name), "o%05d", i);
        mkdr(s, "velero", name, "");
    }
    struct ks_status st;
    const cJSON *o;
    assert_int_equal(ks_store_get(s, DR(s), "velero", "o12345", &o, &st), 0);
    cJSON *list;
    assert_int_equal(ks_store_list(s, DR(s), NULL, &list, &st), 0);
    const cJSON *items = path(list, "items", NULL);
    assert_int_equal(cJSON_GetArraySize(items), N);
    assert_string_equal(mstr(items->child, "name"), "o00000");
    assert_string_equal(mstr(items->child->prev, "name"), "o19999");
    cJSON_Delete(list);
    ks_store_free(s);
}

/* Secrets: stringData is folded into data (base64) and never stored, on create and update. */
static void test_secret_string_data(void **state)
{
    (void)state;
    struct ks_store *s = mk(false, true, 0);
    struct ks_status st;
    const struct ks_resource *sec = ks_store_find(s, "", "v1", "secrets");
    const char *yaml = "apiVersion: v1\nkind: Secret\n"
                       "metadata: {name: c, namespace: velero}\n"
                       "data: {keep: a2VlcA==, cloud: b2xk}\n"
                       "stringData: {cloud: \"[default]\\n\", extra: x}\n";
    assert_int_equal(ks_store_load(s, yaml, strlen(yaml), NOW, &st), 0);
    const cJSON *o;
    assert_int_equal(ks_store_get(s, sec, "velero", "c", &o, &st), 0);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "stringData"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "keep")->valuestring, "a2VlcA==");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "cloud")->valuestring,
                        "W2RlZmF1bHRdCg==");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "extra")->valuestring, "eA==");
    const char *patch = "{\"stringData\":{\"keep\":\"new\"}}";
    assert_int_equal(ks_store_patch(s, sec, "velero", "c", KS_PATCH_MERGE,
                                    vr_str_make(patch, strlen(patch)), false, &o, &st),
                     0);
    data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "stringData"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "keep")->valuestring, "bmV3");
    ks_store_free(s);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preload_namespaces_and_crds),
        cmocka_unit_test(test_rv_monotonic_across_types),
        cmocka_unit_test(test_create_sets_system_fields),
        cmocka_unit_test(test_generate_name),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_update_errors),
        cmocka_unit_test(test_status_isolation_main_endpoint),
        cmocka_unit_test(test_status_isolation_status_endpoint),
        cmocka_unit_test(test_status_without_subresource),
        cmocka_unit_test(test_generation_rules),
        cmocka_unit_test(test_noop_writes_emit_nothing),
        cmocka_unit_test(test_phase_enum_without_failed),
        cmocka_unit_test(test_phase_enum_with_failed),
        cmocka_unit_test(test_delete_preconditions),
        cmocka_unit_test(test_delete_response_and_event),
        cmocka_unit_test(test_finalizers_flow),
        cmocka_unit_test(test_patch_rv_and_errors),
        cmocka_unit_test(test_list_sorted_and_selected),
        cmocka_unit_test(test_watch_synthetic_then_live),
        cmocka_unit_test(test_watch_replay_exact),
        cmocka_unit_test(test_event_line_shared),
        cmocka_unit_test(test_watch_410_after_eviction),
        cmocka_unit_test(test_watch_410_after_compact),
        cmocka_unit_test(test_watch_504_and_400),
        cmocka_unit_test(test_watch_selector_transitions),
        cmocka_unit_test(test_unwatch_inside_callback),
        cmocka_unit_test(test_load_documents_and_lists),
        cmocka_unit_test(test_status_json_shape),
        cmocka_unit_test(test_many_objects),
        cmocka_unit_test(test_secret_string_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
