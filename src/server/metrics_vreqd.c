/* vreqd's metric families (see metrics.h, "vreqd's families"). */
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "server/metrics.h"
#include "vreq/err.h"

/* Prometheus' default buckets: reconciles span a cache read to a few API round trips. */
static const double reconcile_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,    2.5,   5,    10};
/* Signing is local and fast; the top buckets catch a region lookup or credential fetch. */
static const double presign_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                         0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

static const char *const verbs[VR_VM_NVERBS] = {"GET", "LIST",  "WATCH",  "POST",
                                                "PUT", "PATCH", "DELETE", "OTHER"};

const char *vr_vm_result_name(enum vr_vm_result r)
{
    switch (r) {
    case VR_VM_SUCCESS:
        return "success";
    case VR_VM_REQUEUE:
        return "requeue";
    case VR_VM_ERROR:
        return "error";
    }
    return "unknown";
}

struct fam_def {
    enum vr_metric_type type;
    const char *name;
    const char *help;
    const char *labels[2];
    size_t nlabels;
    const double *buckets;
    size_t nbuckets;
    size_t slot; /* offset of the struct vr_vm member */
};

#define FAM(t, n, h, l0, l1, nl, b, nb, member)                                                    \
    {t, n, h, {l0, l1}, nl, b, nb, offsetof(struct vr_vm, member)}

static const struct fam_def fams[] = {
    FAM(VR_METRIC_COUNTER, "vreqd_reconciles_total", "Reconciles by controller and result.",
        "controller", "result", 2, NULL, 0, reconciles),
    FAM(VR_METRIC_HISTOGRAM, "vreqd_reconcile_duration_seconds",
        "Time from a key's dispatch to the end of its reconcile.", "controller", NULL, 1,
        reconcile_buckets, VR_ARRAY_SIZE(reconcile_buckets), duration),
    FAM(VR_METRIC_GAUGE, "vreqd_workqueue_depth", "Keys ready in the work queue.", "controller",
        NULL, 1, NULL, 0, depth),
    FAM(VR_METRIC_COUNTER, "vreqd_watch_restarts_total",
        "Watches that ended other than cleanly.", "resource", NULL, 1, NULL, 0, restarts),
    FAM(VR_METRIC_COUNTER, "vreqd_watch_relists_total", "Full lists after the initial sync.",
        "resource", NULL, 1, NULL, 0, relists),
    FAM(VR_METRIC_GAUGE, "vreqd_cached_objects", "Objects in the informer cache.", "resource",
        NULL, 1, NULL, 0, cached),
    FAM(VR_METRIC_COUNTER, "vreqd_api_requests_total",
        "Kubernetes API requests by verb and HTTP status code.", "verb", "code", 2, NULL, 0, api),
    FAM(VR_METRIC_HISTOGRAM, "vreqd_presign_duration_seconds",
        "Time to produce one presigned URL.", "provider", NULL, 1, presign_buckets,
        VR_ARRAY_SIZE(presign_buckets), presign),
    FAM(VR_METRIC_GAUGE, "vreqd_leader", "1 while this process holds the leader lease.", NULL,
        NULL, 0, NULL, 0, leader_family),
};

static int add_build_info(struct vr_vm *vm, const char *version)
{
    static const char *const names[] = {"version"};
    struct vr_metric_family *f;
    struct vr_metric *m;
    const char *values[] = {version ? version : ""};
    int rc = vr_metrics_add_family(vm->reg, VR_METRIC_GAUGE, "vreqd_build_info",
                                   "Always 1; the version label names the build.", names, 1,
                                   NULL, 0, &f);
    if (rc < 0)
        return rc;
    rc = vr_metrics_series(f, values, &m);
    if (rc < 0)
        return rc;
    vr_metric_set(m, 1);
    return 0;
}

int vr_vm_init(struct vr_vm *vm, struct vr_metrics *reg, const char *version)
{
    memset(vm, 0, sizeof(*vm));
    vm->reg = reg;
    int rc = add_build_info(vm, version);
    for (size_t i = 0; rc == 0 && i < VR_ARRAY_SIZE(fams); i++) {
        const struct fam_def *d = &fams[i];
        struct vr_metric_family **slot = (void *)((char *)vm + d->slot);
        rc = vr_metrics_add_family(reg, d->type, d->name, d->help, d->labels, d->nlabels,
                                   d->buckets, d->nbuckets, slot);
    }
    if (rc == 0)
        rc = vr_metrics_series(vm->leader_family, NULL, &vm->leader);
    return rc;
}

static int series1(struct vr_metric_family *f, const char *v, struct vr_metric **out)
{
    const char *values[] = {v};
    return vr_metrics_series(f, values, out);
}

int vr_vm_controller(struct vr_vm *vm, const char *controller, struct vr_vm_controller *out)
{
    struct vr_vm_controller c;
    if (!controller)
        return VR_EINVAL;
    for (int r = 0; r < VR_VM_NRESULTS; r++) {
        const char *values[] = {controller, vr_vm_result_name((enum vr_vm_result)r)};
        if (vr_metrics_series(vm->reconciles, values, &c.reconciles[r]) < 0)
            return VR_EINVAL;
    }
    if (series1(vm->duration, controller, &c.duration) < 0 ||
        series1(vm->depth, controller, &c.depth) < 0)
        return VR_EINVAL;
    *out = c;
    return 0;
}

void vr_vm_reconciled(struct vr_vm_controller *c, enum vr_vm_result result, double seconds)
{
    vr_metric_inc(c->reconciles[result]);
    vr_metric_observe(c->duration, seconds);
}

void vr_vm_queue_depth(struct vr_vm_controller *c, size_t depth)
{
    vr_metric_set(c->depth, (double)depth);
}

int vr_vm_watch(struct vr_vm *vm, const char *resource, struct vr_vm_watch *out)
{
    struct vr_vm_watch w;
    if (!resource || series1(vm->restarts, resource, &w.restarts) < 0 ||
        series1(vm->relists, resource, &w.relists) < 0 ||
        series1(vm->cached, resource, &w.cached) < 0)
        return VR_EINVAL;
    *out = w;
    return 0;
}

void vr_vm_watch_sync(struct vr_vm_watch *w, uint64_t restarts, uint64_t relists,
                      size_t cached)
{
    vr_metric_set(w->restarts, (double)restarts);
    vr_metric_set(w->relists, (double)relists);
    vr_metric_set(w->cached, (double)cached);
}

static size_t verb_index(const char *verb)
{
    for (size_t i = 0; verb && i + 1 < VR_VM_NVERBS; i++)
        if (strcmp(verbs[i], verb) == 0)
            return i;
    return VR_VM_NVERBS - 1;
}

void vr_vm_api_request(struct vr_vm *vm, const char *verb, int code)
{
    size_t v = verb_index(verb);
    size_t c = code >= 100 && code <= VR_VM_CODE_MAX ? (size_t)code : 0;
    struct vr_metric **slot = &vm->api_series[v][c];
    if (!*slot) {
        char num[16];
        snprintf(num, sizeof(num), "%d", code >= 100 && code <= VR_VM_CODE_MAX ? code : 0);
        const char *values[] = {verbs[v], c ? num : "error"};
        if (vr_metrics_series(vm->api, values, slot) < 0)
            return;
    }
    vr_metric_inc(*slot);
}

int vr_vm_presign(struct vr_vm *vm, const char *provider, struct vr_metric **out)
{
    return provider ? series1(vm->presign, provider, out) : VR_EINVAL;
}

void vr_vm_set_leader(struct vr_vm *vm, bool leading)
{
    vr_metric_set(vm->leader, leading ? 1 : 0);
}
