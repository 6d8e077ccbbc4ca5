/* kubesim resource endpoints: routing of /api/v1/... and /apis/G/V/..., and the verbs. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vreq/err.h"
#include "vreq/mem.h"
#include "core/common.h"

#include "sim_int.h"

#define MAX_SEGMENTS 10
#define SELECTOR_MAX 1024

static const char msg_not_found[] = "the server could not find the requested resource";
static const char msg_not_allowed[] = "the server does not allow this method on the requested "
                                      "resource";
static const char msg_media[] = "the body of the request was in an unknown format - accepted "
                                "media types include: application/json-patch+json, "
                                "application/merge-patch+json, application/apply-patch+yaml";

/* ---- routing ---- */

struct segments {
    int n;
    char s[MAX_SEGMENTS][KS_NAME_MAX];
};

static int split_path(struct vr_str path, struct segments *sg)
{
    struct vr_str rest = path, head;
    sg->n = 0;
    if (!vr_str_starts_with(rest, "/"))
        return -1;
    rest = vr_str_make(rest.p + 1, rest.n - 1);
    for (;;) {
        bool more = vr_str_split(rest, '/', &head, &rest);
        size_t len;
        if (head.n == 0 || sg->n == MAX_SEGMENTS)
            return -1;
        if (vr_url_decode(head, false, sg->s[sg->n], KS_NAME_MAX, &len) < 0)
            return -1;
        if (len != strlen(sg->s[sg->n]))
            return -1; /* an encoded NUL */
        sg->n++;
        if (!more)
            return 0;
    }
}

/* rest = the segments after group/version (and a legacy "watch"). */
static int route_rest(const struct ks_sim *sim, const char *group, const char *version,
                      char (*seg)[KS_NAME_MAX], int rest, struct ks_route *r)
{
    const struct ks_resource *res;
    if (rest >= 3 && strcmp(seg[0], "namespaces") == 0) {
        res = ks_store_find(sim->store, group, version, seg[2]);
        if (res && res->namespaced) {
            snprintf(r->ns, sizeof(r->ns), "%s", seg[1]);
            seg += 2;
            rest -= 2;
            goto found;
        }
    }
    if (rest < 1)
        return -1;
    res = ks_store_find(sim->store, group, version, seg[0]);
    if (!res || (res->namespaced && rest > 1))
        return -1;
found:
    r->res = res;
    if (rest == 1) {
        r->target = KS_TARGET_COLLECTION;
        return 0;
    }
    snprintf(r->name, sizeof(r->name), "%s", seg[1]);
    if (rest == 2) {
        r->target = KS_TARGET_OBJECT;
        return 0;
    }
    if (rest == 3 && strcmp(seg[2], "status") == 0) {
        r->target = KS_TARGET_STATUS;
        return 0;
    }
    return -1;
}

int ks__route_parse(const struct ks_sim *sim, struct vr_str path, struct ks_route *r)
{
    struct segments sg;
    const char *group, *version;
    int i;
    if (split_path(path, &sg) < 0)
        return -1;
    memset(r, 0, sizeof(*r));
    if (sg.n >= 3 && strcmp(sg.s[0], "api") == 0) {
        group = "";
        version = sg.s[1];
        i = 2;
    } else if (sg.n >= 4 && strcmp(sg.s[0], "apis") == 0) {
        group = sg.s[1];
        version = sg.s[2];
        i = 3;
    } else {
        return -1;
    }
    if (strcmp(sg.s[i], "watch") == 0) {
        r->legacy_watch = true;
        i++;
    }
    return route_rest(sim, group, version, &sg.s[i], sg.n - i, r);
}

bool ks__query_bool(struct vr_str query, const char *key)
{
    char v[16];
    if (!vr_http_query_get(query, key, v, sizeof(v)))
        return false;
    return strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

static bool is_watch(const struct ks_route *r, struct vr_str query)
{
    return r->legacy_watch || ks__query_bool(query, "watch");
}

enum ks_req_class ks__classify(const char *method, const struct ks_route *r, struct vr_str query)
{
    if (strcmp(method, "GET") == 0) {
        if (r->target != KS_TARGET_STATUS && is_watch(r, query))
            return KS_REQ_WATCH;
        return r->target == KS_TARGET_COLLECTION ? KS_REQ_LIST : KS_REQ_GET;
    }
    if (strcmp(method, "POST") == 0)
        return KS_REQ_POST;
    if (strcmp(method, "PUT") == 0)
        return KS_REQ_PUT;
    if (strcmp(method, "PATCH") == 0)
        return KS_REQ_PATCH;
    if (strcmp(method, "DELETE") == 0)
        return KS_REQ_DELETE;
    return KS_REQ_OTHER;
}

/* ---- helpers ---- */

static void respond_error(struct vr_http_req *req, const struct ks_route *r, int code,
                          const char *reason, const char *msg)
{
    struct ks_status st;
    ks__status_set(&st, code, reason, "%s", msg);
    ks__respond_status(req, &st, r->res, 0);
}

static void respond_not_allowed(struct vr_http_req *req, const struct ks_route *r)
{
    respond_error(req, r, 405, "MethodNotAllowed", msg_not_allowed);
}

static void api_version_of(const struct ks_resource *res, char *out, size_t cap)
{
    if (res->group[0])
        snprintf(out, cap, "%s/%s", res->group, res->version);
    else
        snprintf(out, cap, "%s", res->version);
}

/* Parses the request body as a JSON object. On failure answers 400 and returns -1. */
static int parse_body(struct vr_http_req *req, const struct ks_route *r, cJSON **out)
{
    struct vr_str body = vr_http_req_body(req);
    const char *end = NULL;
    char msg[160];
    cJSON *doc = cJSON_ParseWithLengthOpts(body.p ? body.p : "", body.n, &end, false);
    if (doc && end) {
        struct vr_str tail = vr_str_trim(vr_str_make(end, body.n - (size_t)(end - body.p)));
        if (tail.n != 0) {
            cJSON_Delete(doc);
            doc = NULL;
        }
    }
    if (!doc) {
        snprintf(msg, sizeof(msg), "couldn't get version/kind; json parse error: %s",
                 body.n ? "invalid JSON" : "unexpected end of JSON input");
        respond_error(req, r, 400, "BadRequest", msg);
        return -1;
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        respond_error(req, r, 400, "BadRequest", "the body of the request is not a JSON object");
        return -1;
    }
    *out = doc;
    return 0;
}

static const char *meta_str(const cJSON *obj, const char *key)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills in a missing kind/apiVersion (lenient) and rejects mismatches like the real
 * server (400). On failure answers and returns -1; obj stays the caller's. */
static int check_type(struct vr_http_req *req, const struct ks_route *r, cJSON *obj)
{
    char want[128], msg[400];
    api_version_of(r->res, want, sizeof(want));
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (cJSON_IsString(av) && strcmp(av->valuestring, want) != 0) {
        snprintf(msg, sizeof(msg),
                 "the API version in the data (%.100s) does not match the expected API version "
                 "(%s)",
                 av->valuestring, want);
        respond_error(req, r, 400, "BadRequest", msg);
        return -1;
    }
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, r->res->kind) != 0) {
        snprintf(msg, sizeof(msg), "the kind in the data (%.100s) does not match the expected kind (%s)",
                 kind->valuestring, r->res->kind);
        respond_error(req, r, 400, "BadRequest", msg);
        return -1;
    }
    if (!cJSON_IsString(av)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
        cJSON_AddStringToObject(obj, "apiVersion", want);
    }
    if (!cJSON_IsString(kind)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
        cJSON_AddStringToObject(obj, "kind", r->res->kind);
    }
    return 0;
}

static int check_names(struct vr_http_req *req, const struct ks_route *r, const cJSON *obj)
{
    char msg[600];
    const char *ns = meta_str(obj, "namespace");
    if (r->res->namespaced && ns && ns[0] && strcmp(ns, r->ns) != 0) {
        respond_error(req, r, 400, "BadRequest",
                      "the namespace of the provided object does not match the namespace sent on "
                      "the request");
        return -1;
    }
    if (r->target == KS_TARGET_COLLECTION)
        return 0;
    const char *name = meta_str(obj, "name");
    if (!name || strcmp(name, r->name) != 0) {
        snprintf(msg, sizeof(msg),
                 "the name of the object (%.250s) does not match the name on the URL (%s)",
                 name ? name : "", r->name);
        respond_error(req, r, 400, "BadRequest", msg);
        return -1;
    }
    return 0;
}

static void respond_result(struct vr_http_req *req, const struct ks_route *r, int rc, int code,
                           const cJSON *obj, const struct ks_status *st)
{
    if (rc < 0)
        ks__respond_status(req, st, r->res, 0);
    else
        ks__respond_obj(req, code, obj);
}

/* ---- verbs ---- */

static void do_get(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    const cJSON *obj = NULL;
    struct ks_status st;
    int rc = ks_store_get(sim->store, r->res, r->ns, r->name, &obj, &st);
    respond_result(req, r, rc, 200, obj, &st);
}

#define CONTINUE_MAX 2048

/* List options checked before the store: continue with a resourceVersion other than "0",
 * resourceVersionMatch without resourceVersion, and a malformed limit (kube-api.md §1.3,
 * §1.4). Answers and returns -1 on a bad combination; else *limit (0 = none). */
static int check_list_options(struct vr_http_req *req, const struct ks_route *r,
                              struct vr_str query, unsigned *limit)
{
    char v[64], cont[8];
    bool has_rv = vr_http_query_get(query, "resourceVersion", v, sizeof(v)) && v[0];
    if (has_rv && strcmp(v, "0") != 0 && vr_http_query_get(query, "continue", cont, sizeof(cont)) &&
        cont[0]) {
        respond_error(req, r, 400, "BadRequest",
                      "specifying resource version is not allowed when using continue");
        return -1;
    }
    if (vr_http_query_get(query, "resourceVersionMatch", v, sizeof(v)) && v[0] && !has_rv) {
        respond_error(req, r, 422, "Invalid",
                      "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                      "resourceVersionMatch is forbidden unless resourceVersion is provided");
        return -1;
    }
    int64_t n = 0;
    *limit = 0;
    if (vr_http_query_get(query, "limit", v, sizeof(v)) && v[0]) {
        if (vr_parse_int64(vr_str_c(v), INT64_MIN, INT64_MAX, &n) < 0) {
            respond_error(req, r, 400, "BadRequest", "invalid limit: not an integer");
            return -1;
        }
        /* A limit <= 0 means no limit, as in the apiserver. */
        *limit = n <= 0 ? 0 : n > 100000 ? 100000 : (unsigned)n;
    }
    return 0;
}

static void do_list(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    struct vr_str query = vr_http_req_query(req);
    struct ks_selector sel;
    struct ks_status st;
    char fs[SELECTOR_MAX] = "", ls[SELECTOR_MAX] = "", cont[CONTINUE_MAX] = "";
    cJSON *list = NULL;
    unsigned limit;
    if (check_list_options(req, r, query, &limit) < 0)
        return;
    memset(&sel, 0, sizeof(sel));
    snprintf(sel.ns, sizeof(sel.ns), "%s", r->ns);
    vr_http_query_get(query, "fieldSelector", fs, sizeof(fs));
    vr_http_query_get(query, "labelSelector", ls, sizeof(ls));
    vr_http_query_get(query, "continue", cont, sizeof(cont));
    if (ks_selector_parse(&sel, fs, ls, &st) < 0) {
        ks__respond_status(req, &st, r->res, 0);
        return;
    }
    int rc = ks_store_list_page(sim->store, r->res, &sel, limit, cont, &list, &st);
    respond_result(req, r, rc, 200, list, &st);
    cJSON_Delete(list);
}

static void do_create(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    cJSON *obj;
    const cJSON *out = NULL;
    struct ks_status st;
    if (parse_body(req, r, &obj) < 0)
        return;
    if (check_type(req, r, obj) < 0 || check_names(req, r, obj) < 0) {
        cJSON_Delete(obj);
        return;
    }
    int rc = ks_store_create(sim->store, r->res, r->ns, obj, ks__now_s(), &out, &st);
    respond_result(req, r, rc, 201, out, &st);
}

static void do_update(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    cJSON *obj;
    const cJSON *out = NULL;
    struct ks_status st;
    if (parse_body(req, r, &obj) < 0)
        return;
    if (check_type(req, r, obj) < 0 || check_names(req, r, obj) < 0) {
        cJSON_Delete(obj);
        return;
    }
    bool status = r->target == KS_TARGET_STATUS;
    int rc = ks_store_update(sim->store, r->res, r->ns, r->name, obj, status, &out, &st);
    respond_result(req, r, rc, 200, out, &st);
}

/* The media type of Content-Type, parameters (";charset=...") dropped. */
static int patch_type(struct vr_http_req *req, enum ks_patch_type *out)
{
    struct vr_str ct = vr_http_req_header(req, "Content-Type"), params;
    vr_str_split(ct, ';', &ct, &params);
    ct = vr_str_trim(ct);
    if (vr_str_caseeq_c(ct, "application/merge-patch+json")) {
        *out = KS_PATCH_MERGE;
        return 0;
    }
    if (vr_str_caseeq_c(ct, "application/json-patch+json")) {
        *out = KS_PATCH_JSON;
        return 0;
    }
    return -1;
}

static void do_patch(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    enum ks_patch_type type;
    const cJSON *out = NULL;
    struct ks_status st;
    if (patch_type(req, &type) < 0) {
        respond_error(req, r, 415, "UnsupportedMediaType", msg_media);
        return;
    }
    bool status = r->target == KS_TARGET_STATUS;
    int rc = ks_store_patch(sim->store, r->res, r->ns, r->name, type, vr_http_req_body(req),
                            status, &out, &st);
    respond_result(req, r, rc, 200, out, &st);
}

static void do_delete(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    cJSON *opts = NULL, *out = NULL;
    struct ks_status st;
    if (vr_str_trim(vr_http_req_body(req)).n > 0 && parse_body(req, r, &opts) < 0)
        return;
    int rc = ks_store_delete(sim->store, r->res, r->ns, r->name, opts, &out, &st);
    respond_result(req, r, rc, 200, out, &st);
    cJSON_Delete(out);
    cJSON_Delete(opts);
}

/* ---- dispatch ---- */

static bool is_read_only(const struct ks_resource *res)
{
    return strcmp(res->group, "apiextensions.k8s.io") == 0;
}

static void handle_get(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    if (r->target != KS_TARGET_STATUS && is_watch(r, vr_http_req_query(req))) {
        ks__watch_start(sim, req, r);
        return;
    }
    if (r->legacy_watch) {
        respond_not_allowed(req, r);
        return;
    }
    if (r->target == KS_TARGET_COLLECTION)
        do_list(sim, req, r);
    else
        do_get(sim, req, r);
}

static void handle_write(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r,
                         const char *m)
{
    bool coll = r->target == KS_TARGET_COLLECTION;
    if (is_read_only(r->res) || r->legacy_watch)
        respond_not_allowed(req, r);
    else if (strcmp(m, "POST") == 0 && coll && (r->ns[0] || !r->res->namespaced))
        do_create(sim, req, r);
    else if (strcmp(m, "PUT") == 0 && !coll)
        do_update(sim, req, r);
    else if (strcmp(m, "PATCH") == 0 && !coll)
        do_patch(sim, req, r);
    else if (strcmp(m, "DELETE") == 0 && r->target == KS_TARGET_OBJECT)
        do_delete(sim, req, r);
    else
        respond_not_allowed(req, r);
}

void ks__api_handle(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    const char *m = vr_http_req_method(req);
    ks_store_set_now(sim->store, ks__now_s());
    if (r->target == KS_TARGET_STATUS && !ks_store_has_status(sim->store, r->res)) {
        respond_error(req, r, 404, "NotFound", msg_not_found);
        return;
    }
    if (strcmp(m, "GET") == 0)
        handle_get(sim, req, r);
    else
        handle_write(sim, req, r, m);
}
