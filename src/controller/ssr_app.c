/* Wiring of the ServerStatusRequest controller into vreqd's app (see ssr_app.h). */
#include "controller/ssr_app.h"
#include "controller/serverstatusrequest.h"
#include "core/common.h"
#include "loop/app.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

struct ssr_app {
    struct vr_ssr_ctrl *ctrl;
    struct vr_app *app;
    struct vr_app_stopper stop_inf, stop_q;
    struct vr_vm_controller mc; /* series in the registry, when app->vm is set */
    struct vr_vm_watch watch;
    bool collecting;
};

static void collect(struct vr_metrics *reg, void *arg)
{
    struct ssr_app *s = arg;
    const struct vr_informer *inf = vr_ssr_ctrl_informer(s->ctrl);
    struct vr_informer_stats st;
    VR_UNUSED(reg);
    vr_informer_stats(inf, &st);
    vr_vm_watch_sync(&s->watch, st.restarts, st.relists, vr_kcache_size(vr_informer_cache(inf)));
    vr_vm_queue_depth(&s->mc, vr_wq_len(vr_ssr_ctrl_queue(s->ctrl)));
}

static void stop_informers(struct vr_app_stopper *st)
{
    struct ssr_app *s = container_of(st, struct ssr_app, stop_inf);
    if (s->collecting)
        vr_metrics_remove_collector(s->app->metrics, collect, s);
    s->collecting = false;
    vr_ssr_ctrl_stop_informers(s->ctrl);
    vr_app_stopper_done(st);
}

static void on_closed(void *arg)
{
    struct ssr_app *s = arg;
    vr_app_stopper_done(&s->stop_q);
    vr_free(s);
}

static void stop_queue(struct vr_app_stopper *st)
{
    struct ssr_app *s = container_of(st, struct ssr_app, stop_q);
    vr_ssr_ctrl_close(s->ctrl, on_closed, s);
}

/* The --plugins-file list into *out (empty: the built-in list). */
static int load_plugins(const struct vr_config *cfg, struct vr_plugins *out)
{
    char err[512];
    out->v = NULL;
    out->n = 0;
    if (!cfg->plugins_file)
        return 0;
    int rc = vr_plugins_load(cfg->plugins_file, out, err, sizeof(err));
    if (rc < 0)
        VR_LOG(VR_LOG_ERROR, "ssr", "--plugins-file: %s", err);
    return rc;
}

static void fill_opts(struct ssr_app *s, const struct vr_plugins *plugins, struct vr_ssr_opts *o)
{
    const struct vr_config *cfg = s->app->cfg;
    vr_ssr_opts_default(o);
    o->ns = cfg->namespace; /* --all-namespaces widens only the DownloadRequests */
    o->ttl_s = (int64_t)(cfg->server_status_ttl_ms / 1000);
    o->server_version = cfg->server_version;
    o->plugins = cfg->plugins_file ? plugins : NULL;
    o->leading = !cfg->leader_elect;
    if (s->app->vm && vr_vm_controller(s->app->vm, "serverstatusrequest", &s->mc) == 0)
        o->metrics = &s->mc;
}

static void start_collecting(struct ssr_app *s)
{
    if (vr_vm_watch(s->app->vm, vr_kube_res_serverstatusrequests.plural, &s->watch) < 0)
        return;
    vr_metrics_add_collector(s->app->metrics, collect, s);
    s->collecting = true;
}

static int create(struct vr_app *app, void **out)
{
    struct vr_plugins plugins;
    int rc = load_plugins(app->cfg, &plugins);
    if (rc < 0)
        return rc;
    struct ssr_app *s = vr_xcalloc(1, sizeof(*s));
    struct vr_ssr_opts o;
    s->app = app;
    fill_opts(s, &plugins, &o);
    rc = vr_ssr_ctrl_new(&app->loop, app->clock, app->kc, &o, &s->ctrl);
    vr_plugins_cleanup(&plugins); /* the controller keeps a copy */
    if (rc < 0) {
        vr_free(s);
        return rc;
    }
    if (app->vm)
        start_collecting(s);
    s->stop_inf = (struct vr_app_stopper){.name = "server-status-request informer",
                                          .phase = VR_APP_PHASE_INFORMERS,
                                          .stop = stop_informers};
    s->stop_q = (struct vr_app_stopper){
        .name = "server-status-request queue", .phase = VR_APP_PHASE_QUEUES, .stop = stop_queue};
    vr_app_add_stopper(app, &s->stop_inf);
    vr_app_add_stopper(app, &s->stop_q);
    *out = s;
    return 0;
}

static void start(void *ctrl)
{
    vr_ssr_ctrl_start(((struct ssr_app *)ctrl)->ctrl);
}

static bool is_ready(void *ctrl)
{
    return vr_ssr_ctrl_is_ready(((struct ssr_app *)ctrl)->ctrl);
}

static void set_leading(void *ctrl, bool leading)
{
    vr_ssr_ctrl_set_leading(((struct ssr_app *)ctrl)->ctrl, leading);
}

const struct vr_reconciler_ops vr_ssr_reconciler = {
    .name = "server-status-request",
    .create = create,
    .start = start,
    .is_ready = is_ready,
    .set_leading = set_leading,
};
