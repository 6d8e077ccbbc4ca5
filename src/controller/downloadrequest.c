/* The DownloadRequest controller's decision half: pure (see downloadrequest.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "controller/downloadrequest.h"
#include "core/common.h"
#include "store/presign.h"
#include "vreq/err.h"

static const char *const action_names[] = {"nothing", "delete", "wait", "process", "fail"};

const char *vr_dlr_action_name(enum vr_dlr_action a)
{
    return (unsigned)a < VR_ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

static void plan_msg(struct vr_dlr_plan *p, const char *fmt, ...) VR_PRINTF(2, 3);

static void plan_msg(struct vr_dlr_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    p->action = VR_DLR_FAIL;
}

static void plan_wait(struct vr_dlr_plan *p, const struct vr_dlr_obj *o, int64_t now_ms)
{
    if (!o->has_expiration) {
        p->action = VR_DLR_NOTHING;
        return;
    }
    p->action = VR_DLR_WAIT;
    p->after_ms = (uint64_t)(o->expiration_s * 1000 - now_ms);
}

static bool is_new(const char *phase)
{
    return !*phase || !strcmp(phase, "New");
}

void vr_dlr_decide(const struct vr_dlr_obj *o, const char *last_error, int64_t now_ms,
                   int64_t ttl_s, struct vr_dlr_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    int64_t now_s = now_ms / 1000;
    if (o->has_expiration && o->expiration_s * 1000 <= now_ms) {
        plan->action = VR_DLR_DELETE;
        return;
    }
    if (o->bad && !o->has_expiration) {
        plan_msg(plan, "invalid download request: %s", o->bad);
        return;
    }
    bool terminal = !strcmp(o->phase, "Processed") || !strcmp(o->phase, "Failed");
    if (terminal || (is_new(o->phase) && o->has_expiration) || o->bad) {
        plan_wait(plan, o, now_ms);
        return;
    }
    if (!is_new(o->phase)) {
        plan->action = VR_DLR_NOTHING;
        return;
    }
    if (vr_target_kind_parse(o->kind, &plan->kind) < 0) {
        plan_msg(plan, "unsupported download target kind \"%s\"", o->kind);
        return;
    }
    if (last_error && o->created_s > 0 && now_s >= o->created_s + ttl_s) {
        plan_msg(plan, "gave up after %llds: %s", (long long)(now_s - o->created_s), last_error);
        return;
    }
    plan->action = VR_DLR_PROCESS;
}

/* ---- resolve ---- */

static int fail(char *msg, size_t msglen, int rc, const char *fmt, ...) VR_PRINTF(4, 5);

static int fail(char *msg, size_t msglen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Phases in which Velero has written no file for a backup or restore yet. */
static bool no_artifacts(const char *phase)
{
    static const char *const phases[] = {"", "New", "Queued", "ReadyToStart", "FailedValidation"};
    for (size_t i = 0; i < VR_ARRAY_SIZE(phases); i++)
        if (!strcmp(phase, phases[i]))
            return true;
    return false;
}

static int check_phase(const char *what, const char *name, const char *phase, char *msg,
                       size_t msglen)
{
    if (!no_artifacts(phase))
        return 0;
    if (!*phase)
        return fail(msg, msglen, VR_ECONFIG,
                    "%s \"%s\" has not been processed yet and has not written any artifacts",
                    what, name);
    return fail(msg, msglen, VR_ECONFIG,
                "%s \"%s\" is in phase \"%s\" and has not written any artifacts", what, name,
                phase);
}

/* Restore kinds: the Backup's name from the Restore. */
static int find_backup_name(const struct vr_dlr_caches *c, const char *ns, const char *restore,
                            const char **backup, char *msg, size_t msglen)
{
    const struct vr_kobj *r = vr_kcache_get(c->restores, ns, restore);
    if (!r)
        return fail(msg, msglen, VR_ENOTFOUND, "restore \"%s\" not found", restore);
    const struct vr_bk_obj *rp = r->payload;
    if (!rp->ref || !*rp->ref)
        return fail(msg, msglen, VR_ECONFIG, "restore \"%s\" has no spec.backupName", restore);
    int rc = check_phase("restore", restore, rp->phase, msg, msglen);
    if (rc == 0)
        *backup = rp->ref;
    return rc;
}

static int check_bsl(const struct vr_kobj *o, char *msg, size_t msglen)
{
    const struct vr_bsl_obj *b = o->payload;
    if (b->bad)
        return fail(msg, msglen, VR_ECONFIG, "backup storage location \"%s\" is invalid: %s",
                    o->name, b->bad);
    if (!b->object_storage)
        return fail(msg, msglen, VR_ECONFIG,
                    "backup storage location \"%s\" does not use object storage", o->name);
    if (!b->provider || !*b->provider)
        return fail(msg, msglen, VR_ECONFIG,
                    "backup storage location \"%s\": object storage provider name must not be "
                    "empty",
                    o->name);
    if (!vr_presigner_find(b->provider))
        return fail(msg, msglen, VR_ECONFIG,
                    "backup storage location \"%s\" uses unsupported provider \"%s\"", o->name,
                    b->provider);
    if (!b->bucket || !*b->bucket)
        return fail(msg, msglen, VR_ECONFIG, "backup storage location \"%s\" has no bucket",
                    o->name);
    return 0;
}

static int find_secret(const struct vr_dlr_caches *c, const struct vr_kobj *bsl,
                       struct vr_dlr_target *out, char *msg, size_t msglen)
{
    const struct vr_bsl_obj *b = bsl->payload;
    out->secret = NULL;
    if (!b->cred_name)
        return 0;
    const struct vr_kobj *s = vr_kcache_get(c->secrets, bsl->ns, b->cred_name);
    if (!s)
        return fail(msg, msglen, VR_ENOTFOUND,
                    "credential secret \"%s\" of backup storage location \"%s\" not found",
                    b->cred_name, bsl->name);
    out->secret = vr_secret_find(s->payload, b->cred_key);
    if (!out->secret)
        return fail(msg, msglen, VR_ECONFIG, "credential secret \"%s\" has no key \"%s\"",
                    b->cred_name, b->cred_key);
    return 0;
}

static int find_bsl(const struct vr_dlr_caches *c, const struct vr_kobj *backup,
                    struct vr_dlr_target *out, char *msg, size_t msglen)
{
    const struct vr_bk_obj *bp = backup->payload;
    if (!bp->ref || !*bp->ref)
        return fail(msg, msglen, VR_ECONFIG, "backup \"%s\" has no spec.storageLocation",
                    backup->name);
    const struct vr_kobj *bsl = vr_kcache_get(c->bsls, backup->ns, bp->ref);
    if (!bsl)
        return fail(msg, msglen, VR_ENOTFOUND, "backup storage location \"%s\" not found",
                    bp->ref);
    int rc = check_bsl(bsl, msg, msglen);
    if (rc == 0)
        rc = find_secret(c, bsl, out, msg, msglen);
    if (rc == 0) {
        out->bsl = bsl;
        out->bslp = bsl->payload;
    }
    return rc;
}

int vr_dlr_resolve(const struct vr_dlr_caches *c, const char *ns, enum vr_target_kind kind,
                   const char *target, struct vr_dlr_target *out, char *msg, size_t msglen)
{
    const char *backup = target;
    bool restore = vr_target_kind_is_restore(kind);
    int rc = restore ? find_backup_name(c, ns, target, &backup, msg, msglen) : 0;
    if (rc < 0)
        return rc;
    const struct vr_kobj *b = vr_kcache_get(c->backups, ns, backup);
    if (!b)
        return fail(msg, msglen, VR_ENOTFOUND, "backup \"%s\" not found", backup);
    if (!restore) {
        const struct vr_bk_obj *bp = b->payload;
        rc = check_phase("backup", backup, bp->phase, msg, msglen);
        if (rc < 0)
            return rc;
    }
    struct vr_dlr_target t;
    rc = find_bsl(c, b, &t, msg, msglen);
    if (rc < 0)
        return rc;
    rc = vr_objkey_build(kind, t.bslp->prefix, target, t.key, sizeof(t.key));
    if (rc < 0)
        return fail(msg, msglen, VR_ECONFIG, "object key for %s \"%s\" is too long",
                    vr_target_kind_name(kind), target);
    *out = t;
    return 0;
}

/* Follows the chain as vr_dlr_resolve does, stopping at the first missing link. */
int vr_dlr_missing(const struct vr_dlr_caches *c, const char *ns, enum vr_target_kind kind,
                   const char *target, const struct vr_kube_resource **res, const char **name)
{
    const char *backup = target;
    if (vr_target_kind_is_restore(kind)) {
        const struct vr_kobj *r = vr_kcache_get(c->restores, ns, target);
        if (!r) {
            *res = &vr_kube_res_restores;
            *name = target;
            return 0;
        }
        backup = ((const struct vr_bk_obj *)r->payload)->ref;
    }
    const struct vr_kobj *b = backup ? vr_kcache_get(c->backups, ns, backup) : NULL;
    const char *bsl = b ? ((const struct vr_bk_obj *)b->payload)->ref : NULL;
    const struct vr_kobj *l = bsl ? vr_kcache_get(c->bsls, ns, bsl) : NULL;
    const char *secret = l ? ((const struct vr_bsl_obj *)l->payload)->cred_name : NULL;
    if (backup && !b) {
        *res = &vr_kube_res_backups;
        *name = backup;
    } else if (bsl && !l) {
        *res = &vr_kube_res_backupstoragelocations;
        *name = bsl;
    } else if (secret && !vr_kcache_get(c->secrets, ns, secret)) {
        *res = &vr_kube_res_secrets;
        *name = secret;
    } else {
        return VR_ENOTFOUND;
    }
    return 0;
}
