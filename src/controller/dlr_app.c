/* Wiring of the DownloadRequest controller into vreqd's app (reconciler table entry). */
#include "controller/downloadrequest.h"
#include "core/common.h"
#include "kube/informer.h"
#include "loop/app.h"
#include "queue/workqueue.h"
#include "server/metrics.h"
#include "vreq/mem.h"

/* One informer per watched resource (downloadrequests, backups, restores, BSLs, secrets). */
#define DLR_APP_WATCHES 8

struct dlr_app {
    struct vr_dlr_ctrl *ctrl;
    struct vr_app *app;
    struct vr_app_stopper stop_inf, stop_q;
    /* Metrics series (when app->vm is set); they live in the registry. */
    struct vr_vm_controller mc;
    struct vr_vm_watch watches[DLR_APP_WATCHES];
    size_t nwatches;
    struct vr_metric *presign;
    bool collecting;
};

/* Refreshes the gauges and the informers' totals before a scrape. */
static void collect(struct vr_metrics *reg, void *arg)
{
    struct dlr_app *d = arg;
    struct vr_informer_stats st;
    VR_UNUSED(reg);
    for (size_t i = 0; i < d->nwatches; i++) {
        const struct vr_informer *inf = vr_dlr_ctrl_informer(d->ctrl, i, NULL);
        vr_informer_stats(inf, &st);
        vr_vm_watch_sync(&d->watches[i], st.restarts, st.relists,
                         vr_kcache_size(vr_informer_cache(inf)));
    }
    vr_vm_queue_depth(&d->mc, vr_wq_len(vr_dlr_ctrl_queue(d->ctrl)));
}

static void stop_informers(struct vr_app_stopper *st)
{
    struct dlr_app *d = container_of(st, struct dlr_app, stop_inf);
    if (d->collecting)
        vr_metrics_remove_collector(d->app->metrics, collect, d);
    d->collecting = false;
    vr_dlr_ctrl_stop_informers(d->ctrl);
    vr_app_stopper_done(st);
}

static void on_closed(void *arg)
{
    struct dlr_app *d = arg;
    vr_app_stopper_done(&d->stop_q);
    vr_free(d);
}

static void stop_queue(struct vr_app_stopper *st)
{
    struct dlr_app *d = container_of(st, struct dlr_app, stop_q);
    vr_dlr_ctrl_close(d->ctrl, on_closed, d);
}

/* The series the controller updates itself (its options copy the pointers). */
static void make_series(struct dlr_app *d, struct vr_dlr_opts *o)
{
    struct vr_vm *vm = d->app->vm;
    if (vr_vm_controller(vm, "downloadrequest", &d->mc) == 0)
        o->metrics = &d->mc;
    if (vr_vm_presign(vm, "aws", &d->presign) == 0)
        o->presign = d->presign;
}

/* One watch series per informer, refreshed by the collector. */
static void start_collecting(struct dlr_app *d)
{
    const struct vr_kube_resource *res;
    for (size_t i = 0; i < DLR_APP_WATCHES && vr_dlr_ctrl_informer(d->ctrl, i, &res); i++) {
        if (vr_vm_watch(d->app->vm, res->plural, &d->watches[i]) < 0)
            break;
        d->nwatches = i + 1;
    }
    vr_metrics_add_collector(d->app->metrics, collect, d);
    d->collecting = true;
}

static int create(struct vr_app *app, void **out)
{
    const struct vr_config *cfg = app->cfg;
    struct vr_dlr_opts o = {
        .ns = cfg->all_namespaces ? NULL : cfg->namespace,
        .ttl_s = (int64_t)(cfg->download_url_ttl_ms / 1000),
        .resync_ms = cfg->resync_period_ms,
        .standby = cfg->leader_elect,
    };
    struct dlr_app *d = vr_xcalloc(1, sizeof(*d));
    d->app = app;
    if (app->vm)
        make_series(d, &o);
    int rc = vr_dlr_ctrl_new(&app->loop, app->clock, app->cu, app->kc, &o, &d->ctrl);
    if (rc < 0) {
        vr_free(d);
        return rc;
    }
    if (app->vm)
        start_collecting(d);
    d->stop_inf = (struct vr_app_stopper){.name = "download-request informers",
                                          .phase = VR_APP_PHASE_INFORMERS,
                                          .stop = stop_informers};
    d->stop_q = (struct vr_app_stopper){
        .name = "download-request queue", .phase = VR_APP_PHASE_QUEUES, .stop = stop_queue};
    vr_app_add_stopper(app, &d->stop_inf);
    vr_app_add_stopper(app, &d->stop_q);
    *out = d;
    return 0;
}

static void start(void *ctrl)
{
    vr_dlr_ctrl_start(((struct dlr_app *)ctrl)->ctrl);
}

static bool is_ready(void *ctrl)
{
    return vr_dlr_ctrl_is_ready(((struct dlr_app *)ctrl)->ctrl);
}

static void set_leading(void *ctrl, bool leading)
{
    vr_dlr_ctrl_set_leading(((struct dlr_app *)ctrl)->ctrl, leading);
}

const struct vr_reconciler_ops vr_dlr_reconciler = {
    .name = "download-request",
    .create = create,
    .start = start,
    .is_ready = is_ready,
    .set_leading = set_leading,
};
