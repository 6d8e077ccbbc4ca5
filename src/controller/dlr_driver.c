/* The DownloadRequest controller's driver: informers, queue, signer and status writes on
 * the loop (see downloadrequest.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "controller/downloadrequest.h"
#include "core/common.h"
#include "core/redact.h"
#include "kube/informer.h"
#include "loop/app.h"
#include "queue/workqueue.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

enum tri { TRI_UNKNOWN, TRI_YES, TRI_NO };
enum inf_idx { INF_DLR, INF_BACKUP, INF_RESTORE, INF_BSL, INF_SECRET, INF_N };

/* The transient failure that ended a key's last attempt (for the give-up message). */
struct memo {
    struct memo *next;
    char *key;
    char err[200];
};

struct vr_dlr_ctrl {
    uv_loop_t *loop;
    struct vr_clock *clock;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    struct vr_dlr_opts opts;
    char *ns;
    struct vr_informer *inf[INF_N];
    int synced;
    bool crd_done, ready, closing, informers_stopped;
    bool leading; /* the write gate (leader election) */
    struct vr_kube_call *crd_call;
    enum tri status_sub, failed_ok;
    struct vr_workqueue *wq;
    struct vr_signer *signer;
    uv_timer_t *resync;
    struct memo *memos;
    struct vr_dlr_stats stats;
    int pending_close; /* wq, signer, informers, timer still closing */
    void (*closed_cb)(void *arg);
    void *closed_arg;
    struct vr_app_stopper stop_inf, stop_q;
};

/* One reconcile that needs the loop: a DELETE, a signing, a status write. */
struct run {
    struct vr_dlr_ctrl *c;
    const char *key; /* the queue's copy: valid until vr_wq_done */
    char *ns, *name, *uid, *kind;
    struct vr_sign_req sreq;
    struct vr_log_ctx log;
    bool failed;      /* the write is a permanent failure */
    char *url;        /* Processed: the URL (a secret until it expires) */
    char message[256];
    char exp[32];
    int64_t exp_s;
    bool to_status;   /* the write in flight goes to /status */
    uint64_t start_ms, sign_ms; /* metrics: reconcile and signing start */
};

static const char *const tri_names[] = {"unknown", "yes", "no"};

/* ---- memos ---- */

static struct memo **memo_find(struct vr_dlr_ctrl *c, const char *key)
{
    struct memo **pp = &c->memos;
    while (*pp && strcmp((*pp)->key, key))
        pp = &(*pp)->next;
    return pp;
}

static void memo_set(struct vr_dlr_ctrl *c, const char *key, const char *err)
{
    struct memo **pp = memo_find(c, key);
    if (!*pp) {
        *pp = vr_xcalloc(1, sizeof(**pp));
        (*pp)->key = vr_xstrdup(key);
    }
    snprintf((*pp)->err, sizeof((*pp)->err), "%s", err);
}

static void memo_forget(struct vr_dlr_ctrl *c, const char *key)
{
    struct memo **pp = memo_find(c, key), *m = *pp;
    if (m) {
        *pp = m->next;
        vr_free(m->key);
        vr_free(m);
    }
}

/* ---- runs ---- */

static void count(struct vr_dlr_ctrl *c, enum vr_wq_result res, uint64_t start_ms)
{
    if (!c->opts.metrics)
        return;
    enum vr_vm_result m = res == VR_WQ_OK             ? VR_VM_SUCCESS
                          : res == VR_WQ_REQUEUE_AFTER ? VR_VM_REQUEUE
                                                       : VR_VM_ERROR;
    vr_vm_reconciled(c->opts.metrics, m,
                     (double)(vr_clock_now_ms(c->clock) - start_ms) / 1000.0);
}

/* vr_wq_done of a reconcile that started at start_ms, counted in the metrics. */
static void key_done(struct vr_dlr_ctrl *c, const char *key, enum vr_wq_result res,
                     uint64_t after_ms, uint64_t start_ms)
{
    count(c, res, start_ms);
    (void)vr_wq_done(c->wq, key, res, after_ms);
}

static struct run *run_new(struct vr_dlr_ctrl *c, const char *key, const struct vr_kobj *o)
{
    const struct vr_dlr_obj *p = o->payload;
    struct run *r = vr_xcalloc(1, sizeof(*r));
    r->c = c;
    r->key = key;
    r->ns = vr_xstrdup(o->ns);
    r->name = vr_xstrdup(o->name);
    r->uid = vr_xstrdup(o->uid);
    r->kind = vr_xstrdup(p->kind ? p->kind : "");
    r->start_ms = vr_clock_now_ms(c->clock);
    r->log = (struct vr_log_ctx)VR_LOG_CTX_INIT("dlr");
    vr_log_ctx_set(&r->log, "controller", "download-request");
    vr_log_ctx_set(&r->log, "namespace", r->ns);
    vr_log_ctx_set(&r->log, "name", r->name);
    vr_log_ctx_set(&r->log, "kind", r->kind);
    return r;
}

static void run_end(struct run *r, enum vr_wq_result res, uint64_t after_ms)
{
    struct vr_dlr_ctrl *c = r->c;
    if (res == VR_WQ_ERROR)
        c->stats.transient++;
    else if (res == VR_WQ_OK)
        memo_forget(c, r->key);
    key_done(c, r->key, res, after_ms, r->start_ms);
    vr_free(r->ns);
    vr_free(r->name);
    vr_free(r->uid);
    vr_free(r->kind);
    if (r->url)
        vr_free_secret(r->url, strlen(r->url));
    vr_free(r);
}

static void run_transient(struct run *r, const char *fmt, ...) VR_PRINTF(2, 3);

static void run_transient(struct run *r, const char *fmt, ...)
{
    char err[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, sizeof(err), fmt, ap);
    va_end(ap);
    VR_LOGC(&r->log, VR_LOG_WARN, "will retry: %s", err);
    memo_set(r->c, r->key, err);
    run_end(r, VR_WQ_ERROR, 0);
}

/* ---- status writes ---- */

static char *patch_body(const struct run *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *st = cJSON_AddObjectToObject(root, "status");
    if (!r->failed) {
        cJSON_AddStringToObject(st, "phase", "Processed");
        cJSON_AddStringToObject(st, "downloadURL", r->url);
    } else if (r->c->failed_ok != TRI_NO) {
        cJSON_AddStringToObject(st, "phase", "Failed");
        cJSON_AddStringToObject(st, "message", r->message);
    }
    cJSON_AddStringToObject(st, "expiration", r->exp);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* Whether the cached object already holds what r would write. */
static bool changes_nothing(const struct run *r)
{
    const struct vr_kobj *o = vr_kcache_get(vr_informer_cache(r->c->inf[INF_DLR]), r->ns, r->name);
    if (!o || strcmp(o->uid, r->uid) || !r->failed)
        return false;
    const struct vr_dlr_obj *p = o->payload;
    bool exp_same = p->has_expiration && p->expiration_s == r->exp_s;
    if (r->c->failed_ok == TRI_NO)
        return exp_same;
    return exp_same && !strcmp(p->phase, "Failed") && !strcmp(p->message, r->message);
}

static void write_status(struct run *r);

/* Whether a 200 from the main resource shows the status was kept (not dropped because the
 * CRD has a status subresource). */
static bool status_applied(const struct run *r, const cJSON *obj)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(st, "expiration");
    return cJSON_IsString(exp) && !strcmp(exp->valuestring, r->exp);
}

static void learned(struct run *r, const char *what, enum tri *slot, enum tri v)
{
    if (*slot == v)
        return;
    VR_LOGC(&r->log, VR_LOG_INFO, "learned from a write: %s=%s", what, tri_names[v]);
    *slot = v;
}

static void wrote(struct run *r)
{
    char red[256];
    if (r->failed) {
        r->c->stats.failed++;
        VR_LOGC(&r->log, VR_LOG_INFO, "failed: %s expiration=%s", r->message, r->exp);
    } else {
        r->c->stats.processed++;
        VR_LOGC(&r->log, VR_LOG_INFO, "processed url=%s expiration=%s",
                vr_redact_url(r->url, red, sizeof(red)), r->exp);
    }
    run_end(r, VR_WQ_OK, 0);
}

static void on_patch(int status, const struct vr_kube_result *res, void *arg)
{
    struct run *r = arg;
    struct vr_dlr_ctrl *c = r->c;
    if (status == 0 && !r->to_status && c->status_sub != TRI_NO && !status_applied(r, res->obj)) {
        learned(r, "status-subresource", &c->status_sub, TRI_YES);
        write_status(r);
        return;
    }
    if (status == 0) {
        learned(r, "status-subresource", &c->status_sub, r->to_status ? TRI_YES : TRI_NO);
        wrote(r);
    } else if (status == VR_ENOTFOUND && r->to_status && c->status_sub == TRI_UNKNOWN) {
        learned(r, "status-subresource", &c->status_sub, TRI_NO);
        write_status(r);
    } else if (status == VR_ENOTFOUND) {
        VR_LOGC(&r->log, VR_LOG_DEBUG, "gone before its status was written");
        run_end(r, VR_WQ_OK, 0);
    } else if (status == VR_EINVALID && r->failed && c->failed_ok != TRI_NO) {
        learned(r, "failed-phase", &c->failed_ok, TRI_NO);
        write_status(r);
    } else if (status == VR_ECANCELED || status == VR_ESHUTDOWN) {
        run_end(r, VR_WQ_ERROR, 0);
    } else {
        run_transient(r, "status write failed: %s: %s", vr_strerror(status),
                      res && res->status ? res->status->message : "");
    }
}

static void write_status(struct run *r)
{
    struct vr_dlr_ctrl *c = r->c;
    if (changes_nothing(r)) {
        c->stats.skipped_writes++;
        run_end(r, VR_WQ_OK, 0);
        return;
    }
    r->to_status = c->status_sub != TRI_NO;
    char *body = patch_body(r);
    c->stats.patches++;
    struct vr_kube_call *call =
        vr_kube_patch(c->kc, &vr_kube_res_downloadrequests, r->ns, r->name,
                      r->to_status ? "status" : NULL, VR_KUBE_PATCH_MERGE, body, on_patch, r);
    /* on_patch reads the answer only to learn whether a main-resource write kept status. */
    if (r->to_status || c->status_sub == TRI_NO)
        vr_kube_call_skip_object(call);
    vr_free_secret(body, strlen(body));
}

static void set_expiration(struct run *r, int64_t lifetime_s)
{
    r->exp_s = vr_clock_now_s(r->c->clock) + lifetime_s;
    vr_rfc3339_format(r->exp_s, r->exp, sizeof(r->exp));
}

static void write_failure(struct run *r, const char *msg)
{
    r->failed = true;
    snprintf(r->message, sizeof(r->message), "%s", msg);
    set_expiration(r, r->c->opts.ttl_s);
    write_status(r);
}

/* ---- signing ---- */

static bool is_permanent(int status)
{
    return status == VR_ECONFIG || status == VR_ENOTFOUND || status == VR_EFORBIDDEN;
}

static void on_signed(struct vr_sign_req *sr, int status, const char *url, int64_t expires_s,
                      const char *err)
{
    struct run *r = container_of(sr, struct run, sreq);
    if (status == 0 && r->c->opts.presign)
        vr_metric_observe(r->c->opts.presign,
                          (double)(vr_clock_now_ms(r->c->clock) - r->sign_ms) / 1000.0);
    if (status == 0) {
        r->url = vr_xstrdup(url);
        set_expiration(r, expires_s > 0 ? expires_s : r->c->opts.ttl_s);
        write_status(r);
    } else if (is_permanent(status)) {
        write_failure(r, err);
    } else if (status == VR_ESHUTDOWN) {
        run_end(r, VR_WQ_ERROR, 0);
    } else {
        run_transient(r, "presigning failed: %s", err);
    }
}

/* ---- not found: confirm before failing ---- */

static void on_confirm(int status, const struct vr_kube_result *res, void *arg)
{
    struct run *r = arg;
    char msg[sizeof(r->message)];
    (void)res;
    snprintf(msg, sizeof(msg), "%s", r->message);
    if (status == 0) {
        /* Only late in its informer cache: retry (and give up one TTL after creation). */
        run_transient(r, "%s in the cache, but the API server has it", msg);
    } else if (status == VR_ECANCELED || status == VR_ESHUTDOWN) {
        run_end(r, VR_WQ_ERROR, 0);
    } else if (status == VR_ESERVER || status == VR_ETHROTTLED || status == VR_EHTTP ||
               status == VR_ETIMEDOUT) {
        run_transient(r, "%s in the cache, and reading it failed: %s", msg, vr_strerror(status));
    } else {
        /* 404, or a read we may not make (403): the cache's answer stands. */
        write_failure(r, msg);
    }
}

/* The watches are separate streams, so a link missing from its cache may only be late (a
 * Backup created just before its DownloadRequest): read it live before failing for good.
 * Whether a read was started. */
static bool confirm_missing(struct run *r, const struct vr_dlr_caches *caches,
                            enum vr_target_kind kind, const char *target, const char *msg)
{
    const struct vr_kube_resource *res;
    const char *name;
    if (vr_dlr_missing(caches, r->ns, kind, target, &res, &name) < 0)
        return false;
    snprintf(r->message, sizeof(r->message), "%s", msg);
    (void)vr_kube_get(r->c->kc, res, r->ns, name, on_confirm, r);
    return true;
}

static void process(struct run *r, const struct vr_dlr_plan *plan, const char *target)
{
    struct vr_dlr_ctrl *c = r->c;
    struct vr_dlr_caches caches = {
        vr_informer_cache(c->inf[INF_BACKUP]), vr_informer_cache(c->inf[INF_RESTORE]),
        vr_informer_cache(c->inf[INF_BSL]), vr_informer_cache(c->inf[INF_SECRET])};
    struct vr_dlr_target t;
    char msg[256];
    int rc = vr_dlr_resolve(&caches, r->ns, plan->kind, target, &t, msg, sizeof(msg));
    if (rc == VR_ENOTFOUND && confirm_missing(r, &caches, plan->kind, target, msg))
        return;
    if (rc < 0) {
        write_failure(r, msg);
        return;
    }
    struct vr_sign_bsl b = {
        .ns = t.bsl->ns,
        .name = t.bsl->name,
        .provider = t.bslp->provider,
        .bucket = t.bslp->bucket,
        .prefix = t.bslp->prefix,
        .config = t.bslp->config,
        .secret_name = t.bslp->cred_name,
        .secret_ini = t.secret ? t.secret->value : NULL,
        .secret_ini_len = t.secret ? t.secret->len : 0,
    };
    r->sign_ms = vr_clock_now_ms(c->clock);
    if (vr_signer_sign(c->signer, &b, t.key, c->opts.ttl_s, &r->sreq, on_signed) < 0)
        run_end(r, VR_WQ_ERROR, 0);
}

/* ---- delete ---- */

static void on_delete(int status, const struct vr_kube_result *res, void *arg)
{
    struct run *r = arg;
    (void)res;
    if (status == 0 || status == VR_ENOTFOUND || status == VR_ECONFLICT) {
        /* 409: the uid precondition failed, a newer object has this name. */
        r->c->stats.deleted++;
        VR_LOGC(&r->log, VR_LOG_INFO, "expired request deleted");
        run_end(r, VR_WQ_OK, 0);
    } else if (status == VR_ECANCELED || status == VR_ESHUTDOWN) {
        run_end(r, VR_WQ_ERROR, 0);
    } else {
        run_transient(r, "delete failed: %s", vr_strerror(status));
    }
}

/* ---- the queue's callback ---- */

static void reconcile(struct vr_workqueue *wq, const char *key, void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    char ns[256];
    const char *slash = strchr(key, '/');
    snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - key) : 0, key);
    const struct vr_kobj *o =
        vr_kcache_get(vr_informer_cache(c->inf[INF_DLR]), ns, slash ? slash + 1 : key);
    uint64_t start_ms = vr_clock_now_ms(c->clock);
    VR_UNUSED(wq);
    c->stats.reconciles++;
    if (!o || !c->leading) {
        /* Gone, or a follower: a new leader enqueues every cached request. */
        memo_forget(c, key);
        key_done(c, key, VR_WQ_OK, 0, start_ms);
        return;
    }
    const struct vr_dlr_obj *p = o->payload;
    struct memo *m = *memo_find(c, key);
    struct vr_dlr_plan plan;
    vr_dlr_decide(p, m ? m->err : NULL, vr_clock_wall_ms(c->clock), c->opts.ttl_s, &plan);
    switch (plan.action) {
    case VR_DLR_NOTHING:
        key_done(c, key, VR_WQ_OK, 0, start_ms);
        return;
    case VR_DLR_WAIT:
        /* More than two resyncs away: one of them comes back while it is one to two away
         * (however the timers jitter), so no timer-heap record is kept meanwhile. */
        if (c->opts.resync_ms && plan.after_ms > 2 * c->opts.resync_ms)
            key_done(c, key, VR_WQ_OK, 0, start_ms);
        else
            key_done(c, key, VR_WQ_REQUEUE_AFTER, plan.after_ms, start_ms);
        return;
    case VR_DLR_DELETE: {
        struct run *r = run_new(c, key, o);
        vr_kube_delete(c->kc, &vr_kube_res_downloadrequests, r->ns, r->name, r->uid, NULL,
                       on_delete, r);
        return;
    }
    case VR_DLR_FAIL:
        write_failure(run_new(c, key, o), plan.message);
        return;
    case VR_DLR_PROCESS:
        process(run_new(c, key, o), &plan, p->target);
        return;
    }
}

/* ---- informer handlers ---- */

static void enqueue(struct vr_dlr_ctrl *c, const struct vr_kobj *o)
{
    char key[VR_WQ_KEY_MAX];
    if (!c->ready || c->closing || !c->leading)
        return; /* becoming ready or leader enqueues every cached request */
    snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
    (void)vr_wq_add(c->wq, key);
}

static void dlr_add(const struct vr_kobj *o, void *arg)
{
    enqueue(arg, o);
}

static void dlr_update(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg)
{
    (void)old;
    enqueue(arg, cur);
}

static void dlr_delete(const struct vr_kobj *o, void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    /* Step 1: the reconcile finds it gone and drops its timer (a waiting key is moved to
     * the ready queue, leaving the timer heap). */
    enqueue(c, o);
}

/* Whether an update leaves what signing reads unchanged: Velero rewrites every BSL's status
 * (lastValidationTime) each validation period, and that must not cost a region lookup. */
static bool same_for_signing(const struct vr_kobj *old, const struct vr_kobj *cur)
{
    return !strcmp(old->uid, cur->uid) && old->proj && old->proj->equal &&
           old->proj->equal(old->payload, cur->payload);
}

static void bsl_changed(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg)
{
    if (same_for_signing(old, cur))
        return;
    vr_signer_invalidate_bsl(((struct vr_dlr_ctrl *)arg)->signer, old->ns, old->name);
}

static void bsl_deleted(const struct vr_kobj *o, void *arg)
{
    vr_signer_invalidate_bsl(((struct vr_dlr_ctrl *)arg)->signer, o->ns, o->name);
}

static void secret_changed(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg)
{
    if (same_for_signing(old, cur))
        return;
    vr_signer_invalidate_secret(((struct vr_dlr_ctrl *)arg)->signer, old->ns, old->name);
}

static void secret_deleted(const struct vr_kobj *o, void *arg)
{
    vr_signer_invalidate_secret(((struct vr_dlr_ctrl *)arg)->signer, o->ns, o->name);
}

static void maybe_ready(struct vr_dlr_ctrl *c)
{
    if (c->ready || c->closing || c->synced < INF_N || !c->crd_done)
        return;
    c->ready = true;
    VR_LOG(VR_LOG_INFO, "dlr", "caches synced, reconciling namespace=%s status-subresource=%s "
           "failed-phase=%s", c->ns ? c->ns : "*", tri_names[c->status_sub],
           tri_names[c->failed_ok]);
    vr_dlr_ctrl_resync(c);
}

static void on_synced(void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    c->synced++;
    maybe_ready(c);
}

void vr_dlr_ctrl_resync(struct vr_dlr_ctrl *c)
{
    struct vr_kcache_iter it;
    const struct vr_kobj *o;
    if (!c->ready || c->closing)
        return;
    for (vr_kcache_iter_init(&it, vr_informer_cache(c->inf[INF_DLR]));
         (o = vr_kcache_iter_next(&it)) != NULL;)
        enqueue(c, o);
}

static void on_resync(uv_timer_t *t)
{
    vr_dlr_ctrl_resync(t->data);
}

/* ---- CRD probe ---- */

static const cJSON *crd_version(const cJSON *crd)
{
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(crd, "spec"), "versions");
    const cJSON *v;
    if (!cJSON_IsArray(vs))
        return NULL;
    cJSON_ArrayForEach(v, vs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (cJSON_IsString(name) && !strcmp(name->valuestring, "v1"))
            return v;
    }
    return NULL;
}

static enum tri enum_has_failed(const cJSON *version)
{
    const char *path[] = {"schema", "openAPIV3Schema", "properties", "status", "properties",
                          "phase",  "enum"};
    const cJSON *n = version;
    for (size_t i = 0; n && i < VR_ARRAY_SIZE(path); i++)
        n = cJSON_GetObjectItemCaseSensitive(n, path[i]);
    if (!cJSON_IsArray(n))
        return TRI_YES; /* no enum: any phase is accepted */
    const cJSON *e;
    cJSON_ArrayForEach(e, n)
    {
        if (cJSON_IsString(e) && !strcmp(e->valuestring, "Failed"))
            return TRI_YES;
    }
    return TRI_NO;
}

static void on_crd(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    c->crd_call = NULL;
    const cJSON *v = status == 0 ? crd_version(res->obj) : NULL;
    if (v) {
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(v, "subresources");
        c->status_sub = cJSON_GetObjectItemCaseSensitive(sub, "status") ? TRI_YES : TRI_NO;
        c->failed_ok = enum_has_failed(v);
    } else if (status != VR_ECANCELED) {
        VR_LOG(VR_LOG_INFO, "dlr", "cannot read the DownloadRequest CRD (%s): learning from "
               "the first status write", status < 0 ? vr_strerror(status) : "no v1 version");
    }
    c->crd_done = true;
    maybe_ready(c);
}

/* ---- life cycle ---- */

static const struct vr_kcache_projector *const projs[INF_N] = {
    &vr_proj_dlr, &vr_proj_backup, &vr_proj_restore, &vr_proj_bsl, &vr_proj_secret};

static const struct vr_kube_resource *const resources[INF_N] = {
    &vr_kube_res_downloadrequests, &vr_kube_res_backups, &vr_kube_res_restores,
    &vr_kube_res_backupstoragelocations, &vr_kube_res_secrets};

static int new_informers(struct vr_dlr_ctrl *c)
{
    for (int i = 0; i < INF_N; i++) {
        struct vr_informer_opts o;
        vr_informer_opts_default(&o);
        o.res = resources[i];
        o.ns = c->ns;
        o.proj = projs[i];
        struct vr_informer_handlers h = {.on_synced = on_synced, .arg = c};
        if (i == INF_DLR) {
            h.on_add = dlr_add;
            h.on_update = dlr_update;
            h.on_delete = dlr_delete;
        } else if (i == INF_BSL) {
            h.on_update = bsl_changed;
            h.on_delete = bsl_deleted;
        } else if (i == INF_SECRET) {
            h.on_update = secret_changed;
            h.on_delete = secret_deleted;
        }
        int rc = vr_informer_new(c->loop, c->clock, c->kc, &o, &h, &c->inf[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vr_dlr_ctrl_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_curl_uv *cu,
                    struct vr_kube_client *kc, const struct vr_dlr_opts *opts,
                    struct vr_dlr_ctrl **out)
{
    struct vr_dlr_ctrl *c = vr_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->clock = clock;
    c->cu = cu;
    c->kc = kc;
    c->opts = *opts;
    c->ns = opts->ns ? vr_xstrdup(opts->ns) : NULL;
    c->leading = !opts->standby;
    if (c->opts.ttl_s <= 0)
        c->opts.ttl_s = 600;
    struct vr_wq_opts wo;
    vr_wq_opts_default(&wo);
    wo.name = "downloadrequests";
    wo.max_in_flight = c->opts.max_in_flight ? c->opts.max_in_flight : VR_DLR_MAX_IN_FLIGHT;
    int rc = vr_wq_new(loop, clock, &wo, reconcile, c, &c->wq);
    if (rc == 0)
        rc = new_informers(c);
    if (rc < 0)
        vr_panic("download-request controller: cannot create: %s", vr_strerror(rc));
    vr_signer_new(loop, cu, clock, &c->opts.signer, &c->signer);
    c->resync = vr_xcalloc(1, sizeof(*c->resync));
    uv_timer_init(loop, c->resync);
    c->resync->data = c;
    *out = c;
    return 0;
}

void vr_dlr_ctrl_start(struct vr_dlr_ctrl *c)
{
    for (int i = 0; i < INF_N; i++)
        vr_informer_start(c->inf[i]);
    c->crd_call = vr_kube_get(c->kc, &vr_kube_res_crds, NULL, "downloadrequests.velero.io",
                              on_crd, c);
    if (c->opts.resync_ms)
        uv_timer_start(c->resync, on_resync, c->opts.resync_ms, c->opts.resync_ms);
}

void vr_dlr_ctrl_stop_informers(struct vr_dlr_ctrl *c)
{
    for (int i = 0; i < INF_N; i++)
        vr_informer_stop(c->inf[i]);
    uv_timer_stop(c->resync);
}

static void close_step(void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    if (--c->pending_close > 0)
        return;
    while (c->memos)
        memo_forget(c, c->memos->key);
    void (*cb)(void *) = c->closed_cb;
    void *cb_arg = c->closed_arg;
    vr_free(c->ns);
    vr_free(c);
    if (cb)
        cb(cb_arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct vr_dlr_ctrl *c = h->data;
    vr_free(h);
    close_step(c);
}

/* The queue has drained: nothing reads the caches or the signer any more. */
static void on_wq_closed(void *arg)
{
    struct vr_dlr_ctrl *c = arg;
    c->wq = NULL;
    c->pending_close += INF_N + 1;
    for (int i = 0; i < INF_N; i++)
        vr_informer_close(c->inf[i], close_step, c);
    uv_close((uv_handle_t *)c->resync, on_timer_closed);
    close_step(c); /* the queue's own step */
}

void vr_dlr_ctrl_close(struct vr_dlr_ctrl *c, void (*cb)(void *arg), void *arg)
{
    c->closing = true;
    c->closed_cb = cb;
    c->closed_arg = arg;
    vr_dlr_ctrl_stop_informers(c);
    if (c->crd_call)
        vr_kube_call_cancel(c->crd_call);
    /* The queue, the signer (failing what waits on it with VR_ESHUTDOWN) and then the
     * informers and the timer; close_step frees c after the last. */
    c->pending_close = 2; /* the signer and the queue; on_wq_closed adds the rest */
    vr_signer_close(c->signer, close_step, c);
    vr_wq_close(c->wq, on_wq_closed, c);
}

bool vr_dlr_ctrl_is_ready(const struct vr_dlr_ctrl *c)
{
    return c->ready;
}

void vr_dlr_ctrl_set_leading(struct vr_dlr_ctrl *c, bool leading)
{
    if (c->closing || c->leading == leading)
        return;
    c->leading = leading;
    if (leading)
        vr_dlr_ctrl_resync(c);
}

const struct vr_workqueue *vr_dlr_ctrl_queue(const struct vr_dlr_ctrl *c)
{
    return c->wq;
}

const struct vr_informer *vr_dlr_ctrl_informer(const struct vr_dlr_ctrl *c, size_t i,
                                               const struct vr_kube_resource **res)
{
    if (i >= INF_N)
        return NULL;
    if (res)
        *res = resources[i];
    return c->inf[i];
}

void vr_dlr_ctrl_stats(const struct vr_dlr_ctrl *c, struct vr_dlr_stats *out)
{
    *out = c->stats;
}

struct vr_signer *vr_dlr_ctrl_signer(struct vr_dlr_ctrl *c)
{
    return c->signer;
}
