/* The ServerStatusRequest decision, projection and patch body (see serverstatusrequest.h). */
#include <stdio.h>
#include <string.h>

#include "controller/lease.h"
#include "controller/serverstatusrequest.h"
#include "core/common.h"
#include "vreq/err.h"

const char *vr_ssr_action_name(enum vr_ssr_action a)
{
    switch (a) {
    case VR_SSR_PROCESS:
        return "process";
    case VR_SSR_DELETE:
        return "delete";
    case VR_SSR_REQUEUE:
        return "requeue";
    }
    return "unknown";
}

/* RFC 3339 to Unix seconds (fraction dropped, floor). */
static bool time_s(const cJSON *v, int64_t *out)
{
    int64_t us;
    if (!cJSON_IsString(v) || vr_lease_parse_time(v->valuestring, &us) < 0)
        return false;
    *out = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    return true;
}

int vr_ssr_obj_from_json(const cJSON *obj, struct vr_ssr_obj *out)
{
    struct vr_ssr_obj o;
    memset(&o, 0, sizeof(o));
    if (!cJSON_IsObject(obj))
        return VR_EPARSE;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    o.has_created =
        time_s(cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"), &o.created_s);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (st && !cJSON_IsNull(st)) {
        if (!cJSON_IsObject(st))
            return VR_EPARSE;
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
        if (ph && !cJSON_IsNull(ph) && !cJSON_IsString(ph))
            return VR_EPARSE;
        if (cJSON_IsString(ph))
            snprintf(o.phase, sizeof(o.phase), "%s", ph->valuestring);
        o.has_processed = time_s(cJSON_GetObjectItemCaseSensitive(st, "processedTimestamp"),
                                 &o.processed_s);
    }
    *out = o;
    return 0;
}

static int proj_extract(const cJSON *obj, void **out)
{
    struct vr_ssr_obj o;
    int rc = vr_ssr_obj_from_json(obj, &o);
    if (rc < 0)
        return rc;
    struct vr_ssr_obj *p = vr_xmalloc(sizeof(*p));
    *p = o;
    *out = p;
    return 0;
}

static void proj_release(void *payload)
{
    vr_free(payload);
}

static bool proj_equal(const void *a, const void *b)
{
    const struct vr_ssr_obj *x = a, *y = b;
    if (!x || !y)
        return x == y;
    return strcmp(x->phase, y->phase) == 0 && x->has_processed == y->has_processed &&
           x->processed_s == y->processed_s && x->has_created == y->has_created &&
           x->created_s == y->created_s;
}

const struct vr_kcache_projector vr_ssr_proj = {
    .name = "serverstatusrequest",
    .extract = proj_extract,
    .release = proj_release,
    .equal = proj_equal,
};

/* Delete at base + ttl (seconds), or requeue until that instant to the millisecond. */
static void expire_at(int64_t base, int64_t now_ms, int64_t ttl_s, struct vr_ssr_plan *plan)
{
    int64_t due_ms = (base + ttl_s) * 1000;
    if (now_ms >= due_ms) {
        plan->action = VR_SSR_DELETE;
        return;
    }
    plan->action = VR_SSR_REQUEUE;
    plan->after_ms = (uint64_t)(due_ms - now_ms);
}

void vr_ssr_decide(const struct vr_ssr_obj *o, int64_t now_ms, int64_t ttl_s,
                   struct vr_ssr_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (o->phase[0] == '\0' || strcmp(o->phase, "New") == 0) {
        plan->action = VR_SSR_PROCESS;
        return;
    }
    bool processed = strcmp(o->phase, "Processed") == 0;
    plan->unknown_phase = !processed;
    if (processed && o->has_processed)
        expire_at(o->processed_s, now_ms, ttl_s, plan);
    else if (o->has_created)
        expire_at(o->created_s, now_ms, ttl_s, plan);
    else
        plan->action = VR_SSR_DELETE; /* no time to count from: nothing will ever change */
}

char *vr_ssr_patch_body(int64_t now_s, const char *server_version,
                        const struct vr_plugins *plugins)
{
    char t[40];
    vr_lease_format_time(now_s * 1000000, t, sizeof(t));
    t[19] = 'Z'; /* whole seconds, like metav1.Time: drop ".000000" */
    t[20] = '\0';
    cJSON *root = cJSON_CreateObject();
    cJSON *st = cJSON_AddObjectToObject(root, "status");
    cJSON_AddStringToObject(st, "phase", "Processed");
    cJSON_AddStringToObject(st, "processedTimestamp", t);
    cJSON_AddStringToObject(st, "serverVersion", server_version ? server_version : "");
    cJSON_AddItemToObject(st, "plugins", vr_plugins_to_json(plugins));
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return body;
}
