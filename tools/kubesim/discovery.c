/* kubesim discovery: /version, /api, /api/v1, /apis, /apis/G, /apis/G/V, /openapi/v2.
 * Always plain application/json (legacy discovery), whatever Accept asks for. */
#include <stdio.h>
#include <string.h>

#include "vreq/mem.h"
#include "core/common.h"

#include "sim_int.h"

static const char openapi_v2_type[] = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

static void respond_not_found(struct vr_http_req *req)
{
    struct ks_status st;
    ks__status_set(&st, 404, "NotFound", "the server could not find the requested resource");
    ks__respond_status(req, &st, NULL, 0);
}

static void respond_doc(struct vr_http_req *req, cJSON *doc)
{
    ks__respond_obj(req, 200, doc);
    cJSON_Delete(doc);
}

static cJSON *version_doc(void)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "major", "1");
    cJSON_AddStringToObject(v, "minor", "32");
    cJSON_AddStringToObject(v, "gitVersion", "v1.32.0");
    cJSON_AddStringToObject(v, "gitCommit", "0000000000000000000000000000000000000000");
    cJSON_AddStringToObject(v, "gitTreeState", "clean");
    cJSON_AddStringToObject(v, "buildDate", "2024-12-11T00:00:00Z");
    cJSON_AddStringToObject(v, "goVersion", "go1.23.3");
    cJSON_AddStringToObject(v, "compiler", "gc");
    cJSON_AddStringToObject(v, "platform", "linux/amd64");
    return v;
}

static cJSON *api_versions_doc(const struct ks_sim *sim, struct vr_http_req *req)
{
    char addr[300];
    struct vr_str host = vr_str_trim(vr_http_req_header(req, "Host"));
    if (host.n > 0 && host.n < sizeof(addr))
        snprintf(addr, sizeof(addr), "%.*s", (int)host.n, host.p);
    else
        snprintf(addr, sizeof(addr), "%s:%d", sim->host, ks_sim_port(sim));
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "kind", "APIVersions");
    cJSON *versions = cJSON_AddArrayToObject(doc, "versions");
    cJSON_AddItemToArray(versions, cJSON_CreateString("v1"));
    cJSON *cidrs = cJSON_AddArrayToObject(doc, "serverAddressByClientCIDRs");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "clientCIDR", "0.0.0.0/0");
    cJSON_AddStringToObject(c, "serverAddress", addr);
    cJSON_AddItemToArray(cidrs, c);
    return doc;
}

static void add_string_list(cJSON *obj, const char *key, const char *csv)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    struct vr_str rest = vr_str_c(csv), head;
    bool more = rest.n > 0;
    while (more) {
        more = vr_str_split(rest, ',', &head, &rest);
        head = vr_str_trim(head);
        if (head.n > 0) {
            char *s = vr_str_dup(head);
            cJSON_AddItemToArray(arr, cJSON_CreateString(s));
            vr_free(s);
        }
    }
}

static cJSON *resource_entry(const struct ks_resource *res, bool status)
{
    static const char verbs_rw[] = "create,delete,get,list,patch,update,watch";
    cJSON *e = cJSON_CreateObject();
    char name[160];
    snprintf(name, sizeof(name), "%s%s", res->plural, status ? "/status" : "");
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "singularName", status ? "" : res->singular);
    cJSON_AddBoolToObject(e, "namespaced", res->namespaced);
    cJSON_AddStringToObject(e, "kind", res->kind);
    if (status) {
        add_string_list(e, "verbs", "get,patch,update");
        return e;
    }
    bool ro = strcmp(res->group, "apiextensions.k8s.io") == 0;
    add_string_list(e, "verbs", ro ? "get,list,watch" : verbs_rw);
    if (res->short_names && res->short_names[0])
        add_string_list(e, "shortNames", res->short_names);
    if (res->velero)
        add_string_list(e, "categories", "velero");
    return e;
}

/* The APIResourceList of group/version, or NULL when nothing is served there. */
static cJSON *resource_list_doc(const struct ks_sim *sim, const char *group, const char *version)
{
    const struct ks_resource *const *all;
    size_t n = ks_store_resources(sim->store, &all);
    cJSON *doc = NULL, *arr = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct ks_resource *res = all[i];
        if (strcmp(res->group, group) != 0 || strcmp(res->version, version) != 0)
            continue;
        if (!doc) {
            char gv[128];
            snprintf(gv, sizeof(gv), "%s%s%s", group, group[0] ? "/" : "", version);
            doc = cJSON_CreateObject();
            cJSON_AddStringToObject(doc, "kind", "APIResourceList");
            cJSON_AddStringToObject(doc, "apiVersion", "v1");
            cJSON_AddStringToObject(doc, "groupVersion", gv);
            arr = cJSON_AddArrayToObject(doc, "resources");
        }
        cJSON_AddItemToArray(arr, resource_entry(res, false));
        if (ks_store_has_status(sim->store, res))
            cJSON_AddItemToArray(arr, resource_entry(res, true));
    }
    return doc;
}

static cJSON *group_version_obj(const char *group, const char *version)
{
    char gv[128];
    snprintf(gv, sizeof(gv), "%s/%s", group, version);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "groupVersion", gv);
    cJSON_AddStringToObject(v, "version", version);
    return v;
}

static cJSON *find_group(cJSON *groups, const char *name)
{
    cJSON *g;
    cJSON_ArrayForEach(g, groups)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(g, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return g;
    }
    return NULL;
}

/* Adds res's group (or just its version) to the APIGroup array. */
static void add_group(cJSON *groups, const struct ks_resource *res)
{
    cJSON *g = find_group(groups, res->group), *v;
    if (!g) {
        g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "name", res->group);
        cJSON_AddArrayToObject(g, "versions");
        cJSON_AddItemToObject(g, "preferredVersion", group_version_obj(res->group, res->version));
        cJSON_AddItemToArray(groups, g);
    }
    cJSON *versions = cJSON_GetObjectItemCaseSensitive(g, "versions");
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(v, "version");
        if (cJSON_IsString(ver) && strcmp(ver->valuestring, res->version) == 0)
            return;
    }
    cJSON_AddItemToArray(versions, group_version_obj(res->group, res->version));
}

static cJSON *groups_array(const struct ks_sim *sim)
{
    const struct ks_resource *const *all;
    size_t n = ks_store_resources(sim->store, &all);
    cJSON *groups = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        if (all[i]->group[0])
            add_group(groups, all[i]);
    return groups;
}

static cJSON *group_list_doc(const struct ks_sim *sim)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "kind", "APIGroupList");
    cJSON_AddStringToObject(doc, "apiVersion", "v1");
    cJSON_AddItemToObject(doc, "groups", groups_array(sim));
    return doc;
}

/* /apis/G: one APIGroup, or NULL. */
static cJSON *group_doc(const struct ks_sim *sim, const char *name)
{
    cJSON *groups = groups_array(sim);
    cJSON *g = find_group(groups, name);
    if (g) {
        cJSON_DetachItemViaPointer(groups, g);
        cJSON_AddStringToObject(g, "kind", "APIGroup");
        cJSON_AddStringToObject(g, "apiVersion", "v1");
    }
    cJSON_Delete(groups);
    return g;
}

/* /apis/G or /apis/G/V (rest = "G" or "G/V"). */
static cJSON *apis_doc(const struct ks_sim *sim, struct vr_str rest)
{
    struct vr_str g, v;
    char group[128], version[64];
    bool has_v = vr_str_split(rest, '/', &g, &v);
    if (g.n == 0 || g.n >= sizeof(group) || v.n >= sizeof(version))
        return NULL;
    snprintf(group, sizeof(group), "%.*s", (int)g.n, g.p);
    if (!has_v)
        return group_doc(sim, group);
    if (v.n == 0 || memchr(v.p, '/', v.n))
        return NULL;
    snprintf(version, sizeof(version), "%.*s", (int)v.n, v.p);
    return resource_list_doc(sim, group, version);
}

static cJSON *discovery_doc(struct ks_sim *sim, struct vr_http_req *req, struct vr_str path)
{
    if (vr_str_eq_c(path, "/version") || vr_str_eq_c(path, "/version/"))
        return version_doc();
    if (vr_str_eq_c(path, "/api") || vr_str_eq_c(path, "/api/"))
        return api_versions_doc(sim, req);
    if (vr_str_eq_c(path, "/api/v1"))
        return resource_list_doc(sim, "", "v1");
    if (vr_str_eq_c(path, "/apis") || vr_str_eq_c(path, "/apis/"))
        return group_list_doc(sim);
    if (vr_str_starts_with(path, "/apis/"))
        return apis_doc(sim, vr_str_make(path.p + 6, path.n - 6));
    return NULL;
}

void ks__discovery_handle(struct ks_sim *sim, struct vr_http_req *req)
{
    struct vr_str path = vr_http_req_path(req);
    const char *m = vr_http_req_method(req);
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    if (vr_str_eq_c(path, "/openapi/v2") && get) {
        ks__respond(req, 200, openapi_v2_type, "", 0);
        return;
    }
    cJSON *doc = get ? discovery_doc(sim, req, path) : NULL;
    if (doc)
        respond_doc(req, doc);
    else
        respond_not_found(req);
}
