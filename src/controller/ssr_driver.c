/* The ServerStatusRequest driver: informer, work queue and writes (see
 * serverstatusrequest.h). */
#include <stdio.h>
#include <string.h>

#include "controller/serverstatusrequest.h"
#include "core/common.h"
#include "vreq/err.h"
#include "vreq/log.h"

#ifndef VR_VERSION
#define VR_VERSION "0.0.0"
#endif

struct run {
    struct run *next, **pprev;
    struct vr_ssr_ctrl *c;
    const char *key; /* the queue's key, "ns/name" (borrowed from the queue until done) */
    char *ns, *name, *uid;
    struct vr_kube_call *call;
    bool via_status;
    uint64_t start_ms;
};

/* A request whose unknown phase was logged, so it is logged once. */
struct logged {
    struct logged *next;
    char uid[];
};

struct vr_ssr_ctrl {
    uv_loop_t *loop;
    struct vr_clock *clock;
    struct vr_kube_client *kc;
    struct vr_ssr_opts o;
    char *ns, *version;
    struct vr_plugins plugins;
    struct vr_informer *inf;
    struct vr_workqueue *wq;
    struct vr_kube_call *crd_call;
    struct run *runs;
    struct logged *logged;
    struct vr_ssr_stats stats;
    bool use_status, started, crd_done, leading, closing;
    int pending_closes;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

void vr_ssr_opts_default(struct vr_ssr_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ttl_s = 60;
    o->max_in_flight = 10;
    o->leading = true;
    vr_informer_opts_default(&o->informer);
}

/* ---- keys ---- */

static void enqueue(struct vr_ssr_ctrl *c, const struct vr_kobj *o)
{
    char key[VR_WQ_KEY_MAX + 1];
    int n = snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
    if (n > 0 && (size_t)n < sizeof(key))
        (void)vr_wq_add(c->wq, key); /* VR_ESHUTDOWN while closing: dropped on purpose */
}

static void on_add(const struct vr_kobj *o, void *arg)
{
    enqueue(arg, o);
}

static void on_update(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg)
{
    VR_UNUSED(old);
    enqueue(arg, cur);
}

static void forget_logged(struct vr_ssr_ctrl *c, const char *uid)
{
    for (struct logged **pp = &c->logged; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->uid, uid) == 0) {
            struct logged *l = *pp;
            *pp = l->next;
            vr_free(l);
            return;
        }
    }
}

static void on_delete(const struct vr_kobj *o, void *arg)
{
    forget_logged(arg, o->uid);
}

static void on_synced(void *arg)
{
    struct vr_ssr_ctrl *c = arg;
    VR_LOG(VR_LOG_INFO, "ssr", "cache synced (%zu requests)",
           vr_kcache_size(vr_informer_cache(c->inf)));
}

/* ---- reconcile ---- */

static void run_end(struct run *r, enum vr_wq_result res, uint64_t after_ms)
{
    struct vr_ssr_ctrl *c = r->c;
    if (c->o.metrics) {
        enum vr_vm_result m = res == VR_WQ_OK            ? VR_VM_SUCCESS
                              : res == VR_WQ_REQUEUE_AFTER ? VR_VM_REQUEUE
                                                           : VR_VM_ERROR;
        uint64_t now = vr_clock_now_ms(c->clock);
        vr_vm_reconciled(c->o.metrics, m, (double)(now - r->start_ms) / 1000.0);
    }
    if (res == VR_WQ_ERROR)
        c->stats.errors++;
    *r->pprev = r->next;
    if (r->next)
        r->next->pprev = r->pprev;
    vr_wq_done(c->wq, r->key, res, after_ms);
    if (c->o.metrics)
        vr_vm_queue_depth(c->o.metrics, vr_wq_len(c->wq));
    vr_free(r->ns);
    vr_free(r->name);
    vr_free(r->uid);
    vr_free(r);
}

static void log_unknown_once(struct vr_ssr_ctrl *c, const struct vr_kobj *o,
                             const struct vr_ssr_obj *p, int64_t ttl_s)
{
    for (struct logged *l = c->logged; l; l = l->next)
        if (strcmp(l->uid, o->uid) == 0)
            return;
    size_t n = strlen(o->uid) + 1;
    struct logged *l = vr_xmalloc(sizeof(*l) + n);
    memcpy(l->uid, o->uid, n);
    l->next = c->logged;
    c->logged = l;
    VR_LOG(VR_LOG_WARN, "ssr",
           "unexpected ServerStatusRequest phase \"%s\"; deleting it %llds after creation "
           "namespace=%s name=%s",
           p->phase, (long long)ttl_s, o->ns, o->name);
}

static void on_patched(int status, const struct vr_kube_result *res, void *arg);
static void on_deleted(int status, const struct vr_kube_result *res, void *arg);

static void start_patch(struct run *r)
{
    struct vr_ssr_ctrl *c = r->c;
    char *body = vr_ssr_patch_body(vr_clock_now_s(c->clock), c->version, &c->plugins);
    r->via_status = c->use_status;
    c->stats.patches++;
    r->call = vr_kube_patch(c->kc, &vr_kube_res_serverstatusrequests, r->ns, r->name,
                            r->via_status ? "status" : NULL, VR_KUBE_PATCH_MERGE, body,
                            on_patched, r);
    cJSON_free(body);
}

static bool phase_is_processed(const cJSON *obj)
{
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "status"), "phase");
    return cJSON_IsString(ph) && strcmp(ph->valuestring, "Processed") == 0;
}

static void on_patched(int status, const struct vr_kube_result *res, void *arg)
{
    struct run *r = arg;
    struct vr_ssr_ctrl *c = r->c;
    r->call = NULL;
    if (status == 0 && !r->via_status && !phase_is_processed(res->obj)) {
        /* The CRD has a status subresource: the main resource dropped our status. */
        VR_LOG(VR_LOG_INFO, "ssr", "status dropped by the main resource; using /status");
        c->use_status = true;
        run_end(r, VR_WQ_REQUEUE_AFTER, 0);
        return;
    }
    if (status == VR_ENOTFOUND && r->via_status &&
        vr_kcache_get(vr_informer_cache(c->inf), r->ns, r->name)) {
        VR_LOG(VR_LOG_INFO, "ssr", "no /status subresource; patching the main resource");
        c->use_status = false;
        run_end(r, VR_WQ_REQUEUE_AFTER, 0);
        return;
    }
    if (status < 0 && status != VR_ENOTFOUND) {
        if (status != VR_ECANCELED)
            VR_LOG(VR_LOG_WARN, "ssr", "Error updating ServerStatusRequest status: %s "
               "namespace=%s name=%s", vr_strerror(status), r->ns, r->name);
        run_end(r, VR_WQ_ERROR, 0);
        return;
    }
    /* Processed (or gone): the watch event brings the key back for its deletion timer. */
    run_end(r, VR_WQ_OK, 0);
}

static void on_deleted(int status, const struct vr_kube_result *res, void *arg)
{
    struct run *r = arg;
    VR_UNUSED(res);
    r->call = NULL;
    /* 404: already gone; 409: the uid precondition met a newer object of that name. */
    if (status < 0 && status != VR_ENOTFOUND && status != VR_ECONFLICT) {
        if (status != VR_ECANCELED)
            VR_LOG(VR_LOG_WARN, "ssr", "Unable to delete the request: %s namespace=%s name=%s",
               vr_strerror(status), r->ns, r->name);
        run_end(r, VR_WQ_ERROR, 0);
        return;
    }
    run_end(r, VR_WQ_OK, 0);
}

static void carry_out(struct run *r, const struct vr_kobj *o)
{
    struct vr_ssr_ctrl *c = r->c;
    struct vr_ssr_plan plan;
    const struct vr_ssr_obj *p = o->payload;
    vr_ssr_decide(p, vr_clock_wall_ms(c->clock), c->o.ttl_s, &plan);
    if (plan.unknown_phase)
        log_unknown_once(c, o, p, c->o.ttl_s);
    switch (plan.action) {
    case VR_SSR_PROCESS:
        start_patch(r);
        return;
    case VR_SSR_DELETE:
        c->stats.deletes++;
        r->call = vr_kube_delete(c->kc, &vr_kube_res_serverstatusrequests, r->ns, r->name,
                                 r->uid[0] ? r->uid : NULL, NULL, on_deleted, r);
        return;
    case VR_SSR_REQUEUE:
        run_end(r, VR_WQ_REQUEUE_AFTER, plan.after_ms);
        return;
    }
}

static void process(struct vr_workqueue *wq, const char *key, void *arg)
{
    struct vr_ssr_ctrl *c = arg;
    struct run *r = vr_xcalloc(1, sizeof(*r));
    r->c = c;
    r->key = key;
    r->start_ms = vr_clock_now_ms(c->clock);
    r->next = c->runs;
    r->pprev = &c->runs;
    if (c->runs)
        c->runs->pprev = &r->next;
    c->runs = r;
    c->stats.reconciles++;
    const char *slash = strchr(key, '/');
    r->ns = vr_xstrndup(key, slash ? (size_t)(slash - key) : 0);
    r->name = vr_xstrdup(slash ? slash + 1 : key);
    const struct vr_kobj *o = vr_kcache_get(vr_informer_cache(c->inf), r->ns, r->name);
    VR_UNUSED(wq);
    if (!o || !o->payload || !c->leading) {
        run_end(r, VR_WQ_OK, 0); /* gone, or a follower: nothing to write */
        return;
    }
    r->uid = vr_xstrdup(o->uid);
    carry_out(r, o);
}

/* ---- CRD probe ---- */

static bool crd_has_status(const cJSON *crd)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(crd, "spec"), "versions"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "v1") == 0)
            return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(v, "subresources"), "status"));
    }
    return false;
}

static void on_crd(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_ssr_ctrl *c = arg;
    c->crd_call = NULL;
    c->crd_done = true;
    if (c->closing) {
        vr_ssr_ctrl_close(c, c->closed_cb, c->closed_arg); /* resumes the pending close */
        return;
    }
    if (status == 0)
        c->use_status = crd_has_status(res->obj);
    else
        VR_LOG(VR_LOG_INFO, "ssr", "CRD probe failed (%s); learning from the first write",
               vr_strerror(status));
    VR_LOG(VR_LOG_DEBUG, "ssr", "status writes go to %s",
           c->use_status ? "the /status subresource" : "the main resource");
    vr_informer_start(c->inf);
}

/* ---- public ---- */

static int make_parts(struct vr_ssr_ctrl *c)
{
    struct vr_informer_opts io = c->o.informer;
    io.res = &vr_kube_res_serverstatusrequests;
    io.ns = c->ns;
    io.proj = &vr_ssr_proj;
    struct vr_informer_handlers h = {on_add, on_update, on_delete, on_synced, c};
    int rc = vr_informer_new(c->loop, c->clock, c->kc, &io, &h, &c->inf);
    if (rc < 0)
        return rc;
    struct vr_wq_opts wo;
    vr_wq_opts_default(&wo);
    wo.name = "serverstatusrequests";
    wo.max_in_flight = c->o.max_in_flight;
    rc = vr_wq_new(c->loop, c->clock, &wo, process, c, &c->wq);
    if (rc < 0) {
        vr_informer_close(c->inf, NULL, NULL);
        c->inf = NULL;
    }
    return rc;
}

int vr_ssr_ctrl_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                    const struct vr_ssr_opts *opts, struct vr_ssr_ctrl **out)
{
    if (opts->ttl_s < 0 || opts->max_in_flight == 0)
        return VR_EINVAL;
    struct vr_ssr_ctrl *c = vr_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->clock = clock;
    c->kc = kc;
    c->o = *opts;
    c->ns = opts->ns ? vr_xstrdup(opts->ns) : NULL;
    c->version = vr_xstrdup(opts->server_version ? opts->server_version : VR_VERSION);
    if (opts->plugins)
        vr_plugins_copy(opts->plugins, &c->plugins);
    else
        vr_plugins_default(&c->plugins);
    c->leading = opts->leading;
    int rc = make_parts(c);
    if (rc < 0) {
        vr_plugins_cleanup(&c->plugins);
        vr_free(c->version);
        vr_free(c->ns);
        vr_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void vr_ssr_ctrl_start(struct vr_ssr_ctrl *c)
{
    if (c->started || c->closing)
        return;
    c->started = true;
    c->crd_call = vr_kube_get(c->kc, &vr_kube_res_crds, NULL, "serverstatusrequests.velero.io",
                              on_crd, c);
}

void vr_ssr_ctrl_set_leading(struct vr_ssr_ctrl *c, bool leading)
{
    if (c->leading == leading || c->closing)
        return;
    c->leading = leading;
    if (!leading)
        return;
    const struct vr_kobj *o;
    struct vr_kcache_iter it;
    for (vr_kcache_iter_init(&it, vr_informer_cache(c->inf));
         (o = vr_kcache_iter_next(&it)) != NULL;)
        enqueue(c, o);
}

void vr_ssr_ctrl_stop_informers(struct vr_ssr_ctrl *c)
{
    vr_informer_stop(c->inf);
}

static void part_closed(void *arg)
{
    struct vr_ssr_ctrl *c = arg;
    if (--c->pending_closes > 0)
        return;
    void (*cb)(void *) = c->closed_cb;
    void *cb_arg = c->closed_arg;
    while (c->logged) {
        struct logged *l = c->logged;
        c->logged = l->next;
        vr_free(l);
    }
    vr_plugins_cleanup(&c->plugins);
    vr_free(c->version);
    vr_free(c->ns);
    vr_free(c);
    if (cb)
        cb(cb_arg);
}

void vr_ssr_ctrl_close(struct vr_ssr_ctrl *c, void (*cb)(void *arg), void *arg)
{
    c->closing = true;
    c->closed_cb = cb;
    c->closed_arg = arg;
    if (c->crd_call) {
        vr_kube_call_cancel(c->crd_call); /* on_crd comes back here */
        return;
    }
    vr_informer_stop(c->inf);
    /* In-flight writes are left to finish (contract §5): the work queue's close waits for
     * their vr_wq_done, and the app's drain bound cancels them through the kube client
     * if the API server never answers. */
    c->pending_closes = 2;
    vr_wq_close(c->wq, part_closed, c);
    vr_informer_close(c->inf, part_closed, c);
}

bool vr_ssr_ctrl_is_ready(const struct vr_ssr_ctrl *c)
{
    return c->crd_done && vr_informer_has_synced(c->inf);
}

void vr_ssr_ctrl_stats(const struct vr_ssr_ctrl *c, struct vr_ssr_stats *out)
{
    *out = c->stats;
}

const struct vr_informer *vr_ssr_ctrl_informer(const struct vr_ssr_ctrl *c)
{
    return c->inf;
}

const struct vr_workqueue *vr_ssr_ctrl_queue(const struct vr_ssr_ctrl *c)
{
    return c->wq;
}
