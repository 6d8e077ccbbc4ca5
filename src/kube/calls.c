/* The public verbs: URL layout (kube-api.md §1.1), query parameters, bodies. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/common.h"
#include "kube/client_int.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static const char ct_json[] = "application/json";
static const char ct_merge[] = "application/merge-patch+json";
static const char ct_json_patch[] = "application/json-patch+json";

/* ---- URL building ---- */

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Percent-encodes everything but RFC 3986 unreserved bytes. */
static int append_escaped(struct vr_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if (is_unreserved(*p)) {
            rc = vr_buf_putc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = vr_buf_append(b, e, sizeof(e));
        }
    }
    return rc;
}

/* One path segment: non-empty and not a dot segment (curl would resolve those). */
static int append_segment(struct vr_buf *b, const char *s)
{
    if (!s || !s[0] || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return VR_EINVAL;
    int rc = vr_buf_putc(b, '/');
    return rc < 0 ? rc : append_escaped(b, s);
}

/* /api/v1 or /apis/G/V, then /namespaces/NS when namespaced and ns is set, /PLURAL, and
 * /NAME and /SUB when given. */
static int build_path(struct vr_buf *b, const struct vr_kube_resource *res, const char *ns,
                      const char *name, const char *sub)
{
    int rc = res->group[0] ? vr_buf_append_str(b, "/apis") : vr_buf_append_str(b, "/api");
    if (rc == 0 && res->group[0])
        rc = append_segment(b, res->group);
    if (rc == 0)
        rc = append_segment(b, res->version);
    if (rc == 0 && res->namespaced && ns) {
        rc = vr_buf_append_str(b, "/namespaces");
        if (rc == 0)
            rc = append_segment(b, ns);
    }
    if (rc == 0)
        rc = append_segment(b, res->plural);
    if (rc == 0 && name)
        rc = append_segment(b, name);
    if (rc == 0 && sub)
        rc = append_segment(b, sub);
    return rc;
}

struct query {
    struct vr_buf b;
    int rc;
};

static void query_init(struct query *q)
{
    vr_buf_init(&q->b, VR__KUBE_URL_MAX);
    q->rc = 0;
}

/* Adds key=value (value escaped) when value is non-NULL and non-empty. */
static void query_add(struct query *q, const char *key, const char *value)
{
    if (q->rc < 0 || !value || !value[0])
        return;
    q->rc = vr_buf_putc(&q->b, q->b.len ? '&' : '?');
    if (q->rc == 0)
        q->rc = vr_buf_append_str(&q->b, key);
    if (q->rc == 0)
        q->rc = vr_buf_putc(&q->b, '=');
    if (q->rc == 0)
        q->rc = append_escaped(&q->b, value);
}

static void query_add_uint(struct query *q, const char *key, unsigned v)
{
    char s[16];
    if (v == 0)
        return;
    (void)snprintf(s, sizeof(s), "%u", v);
    query_add(q, key, s);
}

/* The namespace a single-object call uses: ns, else the client's. */
static const char *object_ns(const struct vr_kube_client *c, const struct vr_kube_resource *res,
                             const char *ns)
{
    if (!res->namespaced)
        return NULL;
    return ns ? ns : c->namespace;
}

/* Sets call->path and call->url; the query (may be NULL) is consumed. */
static int set_url(struct vr_kube_call *call, const struct vr_kube_resource *res, const char *ns,
                   const char *name, const char *sub, struct query *q)
{
    struct vr_buf path;
    vr_buf_init(&path, VR__KUBE_URL_MAX);
    int rc = build_path(&path, res, ns, name, sub);
    if (rc == 0 && q)
        rc = q->rc;
    if (rc == 0) {
        call->url = vr_xasprintf("%s%s%s", call->c->server, path.p,
                                 q && q->b.p ? q->b.p : "");
        call->path = vr_buf_take(&path, NULL);
    }
    vr_buf_cleanup(&path);
    if (q)
        vr_buf_cleanup(&q->b);
    return rc;
}

static void set_body(struct vr_kube_call *call, const char *body, const char *ctype)
{
    call->body_len = body ? strlen(body) : 0;
    call->body = vr_xstrndup(body ? body : "", call->body_len);
    call->content_type = ctype;
}

/* ---- verbs ---- */

struct vr_kube_call *vr_kube_get(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                 const char *ns, const char *name, vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "GET", "GET", cb, arg);
    int rc = set_url(call, res, object_ns(c, res, ns), name, NULL, NULL);
    return vr__kube_call_submit(call, rc);
}

struct vr_kube_call *vr_kube_list(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                  const char *ns, const struct vr_kube_list_opts *opts,
                                  vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "LIST", "GET", cb, arg);
    struct query q;
    query_init(&q);
    if (opts) {
        query_add(&q, "resourceVersion", opts->resource_version);
        query_add(&q, "fieldSelector", opts->field_selector);
        query_add(&q, "labelSelector", opts->label_selector);
        query_add_uint(&q, "limit", opts->limit);
        query_add(&q, "continue", opts->continue_token);
    }
    int rc = set_url(call, res, res->namespaced ? ns : NULL, NULL, NULL, &q);
    return vr__kube_call_submit(call, rc);
}

struct vr_kube_call *vr_kube_create(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *body, vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "POST", "POST", cb, arg);
    int rc = set_url(call, res, object_ns(c, res, ns), NULL, NULL, NULL);
    set_body(call, body, ct_json);
    return vr__kube_call_submit(call, body ? rc : VR_EINVAL);
}

struct vr_kube_call *vr_kube_update(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *name, const char *subresource, const char *body,
                                    vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "PUT", "PUT", cb, arg);
    int rc = set_url(call, res, object_ns(c, res, ns), name, subresource, NULL);
    set_body(call, body, ct_json);
    return vr__kube_call_submit(call, body ? rc : VR_EINVAL);
}

struct vr_kube_call *vr_kube_patch(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                   const char *ns, const char *name, const char *subresource,
                                   enum vr_kube_patch_type type, const char *body,
                                   vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "PATCH", "PATCH", cb, arg);
    int rc = set_url(call, res, object_ns(c, res, ns), name, subresource, NULL);
    const char *ctype = ct_merge;
    switch (type) {
    case VR_KUBE_PATCH_MERGE:
        ctype = ct_merge;
        break;
    case VR_KUBE_PATCH_JSON:
        ctype = ct_json_patch;
        break;
    }
    set_body(call, body, ctype);
    return vr__kube_call_submit(call, body ? rc : VR_EINVAL);
}

/* DeleteOptions with preconditions, or NULL when there are none. */
static char *delete_options(const char *uid, const char *rv)
{
    if (!uid && !rv)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "DeleteOptions");
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON *pre = cJSON_AddObjectToObject(o, "preconditions");
    if (uid)
        cJSON_AddStringToObject(pre, "uid", uid);
    if (rv)
        cJSON_AddStringToObject(pre, "resourceVersion", rv);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

struct vr_kube_call *vr_kube_delete(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *name, const char *uid_precondition,
                                    const char *rv_precondition, vr_kube_done_cb cb, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "DELETE", "DELETE", cb, arg);
    int rc = set_url(call, res, object_ns(c, res, ns), name, NULL, NULL);
    char *opts = delete_options(uid_precondition, rv_precondition);
    if (opts) {
        set_body(call, opts, ct_json);
        vr_free(opts);
    }
    return vr__kube_call_submit(call, rc);
}

struct vr_kube_call *vr_kube_watch(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                   const char *ns, const struct vr_kube_watch_opts *opts,
                                   vr_kube_data_cb data_cb, vr_kube_done_cb done, void *arg)
{
    struct vr_kube_call *call = vr__kube_call_new(c, "WATCH", "GET", done, arg);
    struct vr_kube_watch_opts none = {0};
    struct query q;
    if (!opts)
        opts = &none;
    call->watch = true;
    call->data_cb = data_cb;
    call->idle_timeout_ms = opts->idle_timeout_ms;
    query_init(&q);
    query_add(&q, "watch", "1");
    query_add(&q, "resourceVersion", opts->resource_version);
    query_add(&q, "fieldSelector", opts->field_selector);
    query_add(&q, "labelSelector", opts->label_selector);
    query_add(&q, "allowWatchBookmarks", opts->allow_bookmarks ? "true" : NULL);
    query_add_uint(&q, "timeoutSeconds", opts->timeout_s);
    int rc = set_url(call, res, res->namespaced ? ns : NULL, NULL, NULL, &q);
    return vr__kube_call_submit(call, data_cb ? rc : VR_EINVAL);
}
