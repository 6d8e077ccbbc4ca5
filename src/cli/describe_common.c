/* Describe renderers: label selectors and the sections backups and restores share. */
#include "cli/describe_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct req {
    const char *key;
    char *text;
};

static int cmp_req(const void *a, const void *b)
{
    const struct req *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    return r != 0 ? r : strcmp(x->text, y->text);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *expr_text(const cJSON *e)
{
    const char *key = vr__jstr(e, "key", ""), *op = vr__jstr(e, "operator", "");
    const cJSON *arr = vr__j(e, "values");
    if (strcmp(op, "Exists") == 0)
        return vr_xstrdup(key);
    if (strcmp(op, "DoesNotExist") == 0)
        return vr_xasprintf("!%s", key);
    /* Values are a set: Kubernetes prints them sorted. */
    size_t n = (size_t)(cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0);
    const char **sorted = vr_xcalloc(n + 1, sizeof(*sorted));
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, (int)i);
        sorted[i] = cJSON_IsString(v) ? v->valuestring : "";
    }
    qsort(sorted, n, sizeof(*sorted), cmp_cstr);
    struct vr_buf vals;
    vr_buf_init(&vals, (size_t)1 << 20);
    for (size_t i = 0; i < n; i++)
        (void)vr_buf_printf(&vals, "%s%s", i ? "," : "", sorted[i]);
    char *t = vr_xasprintf("%s %s (%s)", key, strcmp(op, "NotIn") == 0 ? "notin" : "in",
                           vals.p ? vals.p : "");
    vr_buf_cleanup(&vals);
    vr_free(sorted);
    return t;
}

void vr__label_selector(const cJSON *sel, struct vr_buf *out)
{
    const cJSON *ml = vr__j(sel, "matchLabels"), *me = vr__j(sel, "matchExpressions"), *e;
    size_t n = 0, cap = 0;
    cJSON_ArrayForEach(e, (cJSON_IsObject(ml) ? ml : NULL)) cap++;
    cJSON_ArrayForEach(e, (cJSON_IsArray(me) ? me : NULL)) cap++;
    struct req *reqs = vr_xcalloc(cap + 1, sizeof(*reqs));
    cJSON_ArrayForEach(e, (cJSON_IsObject(ml) ? ml : NULL))
    {
        reqs[n].key = e->string;
        reqs[n++].text = vr_xasprintf("%s=%s", e->string, cJSON_IsString(e) ? e->valuestring : "");
    }
    cJSON_ArrayForEach(e, (cJSON_IsArray(me) ? me : NULL))
    {
        reqs[n].key = vr__jstr(e, "key", "");
        reqs[n++].text = expr_text(e);
    }
    qsort(reqs, n, sizeof(*reqs), cmp_req);
    vr_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        (void)vr_buf_printf(out, "%s%s", i ? "," : "", reqs[i].text);
        vr_free(reqs[i].text);
    }
    if (n == 0)
        (void)vr_buf_append_str(out, VR__NONE);
    vr_free(reqs);
}

void vr__describe_map(struct vr__dctx *c, const char *name, const cJSON *m)
{
    size_t n;
    const char **keys = vr__sorted_keys(m, &n);
    vr__p(c, "%s:\t", name);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[i]);
        vr__p(c, "%s%s=%s\n", i ? "\t" : "", keys[i], cJSON_IsString(v) ? v->valuestring : "");
    }
    if (n == 0)
        vr__p(c, "%s\n", VR__NONE);
    vr_free(keys);
}

void vr__describe_metadata(struct vr__dctx *c, const cJSON *obj)
{
    vr__p(c, "Name:\t%s\n", vr__jstr(obj, "metadata.name", ""));
    vr__p(c, "Namespace:\t%s\n", vr__jstr(obj, "metadata.namespace", ""));
    vr__describe_map(c, "Labels", vr__j(obj, "metadata.labels"));
    vr__describe_map(c, "Annotations", vr__j(obj, "metadata.annotations"));
}

/* Velero's DescribeSlice: "<tabs>name:\t" then one value per line, aligned. */
static void describe_slice(struct vr__dctx *c, int indent, const char *name, const cJSON *arr)
{
    static const char tabs[] = "\t\t\t\t";
    const char *pre = tabs + (sizeof(tabs) - 1 - (size_t)indent);
    const cJSON *e;
    bool first = true;
    vr__p(c, "%s%s:\t", pre, name);
    cJSON_ArrayForEach(e, (cJSON_IsArray(arr) ? arr : NULL))
    {
        vr__p(c, "%s%s%s\n", first ? "" : pre, first ? "" : "\t",
              cJSON_IsString(e) ? e->valuestring : "");
        first = false;
    }
    if (first)
        vr__p(c, "%s%s\n", pre, VR__NONE);
}

void vr__describe_result(struct vr__dctx *c, const char *name, const cJSON *result)
{
    const cJSON *ns = vr__j(result, "namespaces");
    size_t n;
    vr__p(c, "%s:\n", name);
    describe_slice(c, 1, "Velero", vr__j(result, "velero"));
    describe_slice(c, 1, "Cluster", vr__j(result, "cluster"));
    const char **keys = vr__sorted_keys(ns, &n);
    if (n == 0)
        vr__p(c, "\tNamespaces: %s\n", VR__NONE);
    else
        vr__p(c, "\tNamespaces:\n");
    for (size_t i = 0; i < n; i++)
        describe_slice(c, 2, keys[i], cJSON_GetObjectItemCaseSensitive(ns, keys[i]));
    vr_free(keys);
}

void vr__describe_results_file(struct vr__dctx *c, const cJSON *obj, enum vr_dkind kind,
                               bool counts_on_not_found)
{
    int64_t warnings = vr__jint(obj, "status.warnings"), errors = vr__jint(obj, "status.errors");
    char err[256];
    if (warnings == 0 && errors == 0)
        return;
    const struct vr_dfile *f = vr__dctx_file(c, kind);
    if (f->state == VR_DFILE_NOT_FOUND && counts_on_not_found) {
        vr__p(c, "Errors:\t%lld\n", (long long)errors);
        vr__p(c, "Warnings:\t%lld\n", (long long)warnings);
        return;
    }
    if (f->state != VR_DFILE_OK) {
        const char *m = f->state == VR_DFILE_NOT_FOUND ? "file not found" : f->err;
        vr__p(c, "Warnings:\t<error getting warnings: %s>\n\nErrors:\t<error getting errors: %s>\n",
              m, m);
        return;
    }
    cJSON *res = vr__dparse(f->data, cJSON_Object, "map[string]results.Result", err, sizeof(err));
    if (!res) {
        vr__p(c, "Warnings:\t<error decoding warnings: %s>\n\nErrors:\t<error decoding errors: %s>\n",
              err, err);
        return;
    }
    if (warnings > 0) {
        vr__ln(c);
        vr__describe_result(c, "Warnings", vr__j(res, "warnings"));
    }
    if (errors > 0) {
        vr__ln(c);
        vr__describe_result(c, "Errors", vr__j(res, "errors"));
    }
    cJSON_Delete(res);
}

void vr__describe_resource_list(struct vr__dctx *c, enum vr_dkind kind, const char *what)
{
    const struct vr_dfile *f = vr__dctx_file(c, kind);
    char err[256];
    size_t n;
    if (f->state == VR_DFILE_NOT_FOUND) {
        vr__p(c, "Resource List:\t<%s resource list not found>\n", what);
        return;
    }
    if (f->state != VR_DFILE_OK) {
        vr__p(c, "Resource List:\t<error getting %s resource list: %s>\n", what, f->err);
        return;
    }
    cJSON *list = vr__dparse(f->data, cJSON_Object, "map[string][]string", err, sizeof(err));
    if (!list) {
        vr__p(c, "Resource List:\t<error reading %s resource list: %s>\n", what, err);
        return;
    }
    vr__p(c, "Resource List:\n");
    const char **keys = vr__sorted_keys(list, &n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, keys[i]), *e;
        vr__p(c, "\t%s:\n\t\t- ", keys[i]);
        bool first = true;
        cJSON_ArrayForEach(e, (cJSON_IsArray(items) ? items : NULL))
        {
            vr__p(c, "%s%s", first ? "" : "\n\t\t- ", cJSON_IsString(e) ? e->valuestring : "");
            first = false;
        }
        vr__ln(c);
    }
    vr_free(keys);
    cJSON_Delete(list);
}
