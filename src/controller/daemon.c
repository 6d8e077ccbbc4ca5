/* vreqd's daemon: controllers, lease, metrics and endpoints on the app (see daemon.h). */
#include <stdio.h>
#include <string.h>

#include "controller/daemon.h"
#include "controller/lease.h"
#include "core/common.h"
#include "server/endpoints.h"
#include "server/metrics.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define DAEMON_CTRL_MAX 8
/* /healthz fails when a leader has not renewed for lease duration + this (client-go's
 * HealthzAdaptor timeout). */
#define LEASE_HEALTH_TOLERANCE_MS 20000

struct vr_daemon {
    struct vr_app *app;
    struct vr_metrics *reg;
    struct vr_vm vm;
    const struct vr_reconciler_ops *ops[DAEMON_CTRL_MAX];
    void *ctrl[DAEMON_CTRL_MAX];
    size_t nctrl;
    struct vr_lease *lease;
    struct vr_endpoints *ep;
    bool stopping; /* controllers belong to the shutdown: no more calls into them */
    bool leading;
    struct vr_app_stopper stop_gate, stop_lease, stop_server;
};

/* ---- leadership ---- */

static void set_leading(struct vr_daemon *d, bool leading)
{
    d->leading = leading;
    vr_vm_set_leader(&d->vm, leading);
    if (d->stopping)
        return;
    for (size_t i = 0; i < d->nctrl; i++)
        d->ops[i]->set_leading(d->ctrl[i], leading);
}

static void on_started_leading(void *arg)
{
    VR_LOG(VR_LOG_INFO, "app", "became the leader: controllers write");
    set_leading(arg, true);
}

static void on_stopped_leading(void *arg)
{
    struct vr_daemon *d = arg;
    VR_LOG(VR_LOG_INFO, "app", "no longer the leader: controllers stop writing");
    set_leading(d, false);
}

/* ---- endpoint predicates ---- */

static bool is_ready(void *arg)
{
    struct vr_daemon *d = arg;
    if (d->stopping)
        return false;
    for (size_t i = 0; i < d->nctrl; i++)
        if (!d->ops[i]->is_ready(d->ctrl[i]))
            return false;
    return true;
}

static bool is_healthy(void *arg, char *reason, size_t cap)
{
    struct vr_daemon *d = arg;
    if (!d->lease ||
        vr_lease_is_healthy(d->lease, vr_clock_now_ms(d->app->clock), LEASE_HEALTH_TOLERANCE_MS))
        return true;
    snprintf(reason, cap, "the leader lease has not been renewed");
    return false;
}

static const char *role(void *arg)
{
    struct vr_daemon *d = arg;
    return d->leading ? "leader" : "follower";
}

static void observe_api(const char *verb, int http_code, uint64_t duration_ms, void *arg)
{
    struct vr_daemon *d = arg;
    VR_UNUSED(duration_ms);
    vr_vm_api_request(&d->vm, verb, http_code);
}

/* ---- stoppers ---- */

static void stop_gate(struct vr_app_stopper *st)
{
    struct vr_daemon *d = container_of(st, struct vr_daemon, stop_gate);
    d->stopping = true;
    vr_app_stopper_done(st);
}

static void on_lease_closed(void *arg)
{
    struct vr_daemon *d = arg;
    d->lease = NULL;
    vr_app_stopper_done(&d->stop_lease);
}

static void on_released(int status, void *arg)
{
    struct vr_daemon *d = arg;
    if (status < 0)
        VR_LOG(VR_LOG_WARN, "app", "lease not released: %s", vr_strerror(status));
    vr_lease_close(d->lease, on_lease_closed, d);
}

static void stop_lease(struct vr_app_stopper *st)
{
    struct vr_daemon *d = container_of(st, struct vr_daemon, stop_lease);
    if (!d->lease) {
        vr_app_stopper_done(st);
        return;
    }
    vr_lease_release(d->lease, on_released, d);
}

static void on_endpoints_closed(void *arg)
{
    struct vr_daemon *d = arg;
    d->app->httpd = NULL;
    vr_app_stopper_done(&d->stop_server);
}

static void stop_server(struct vr_app_stopper *st)
{
    struct vr_daemon *d = container_of(st, struct vr_daemon, stop_server);
    struct vr_endpoints *ep = d->ep;
    d->ep = NULL;
    if (!ep) {
        vr_app_stopper_done(st);
        return;
    }
    vr_endpoints_close(ep, on_endpoints_closed, d);
}

static void add_stoppers(struct vr_daemon *d)
{
    d->stop_gate = (struct vr_app_stopper){
        .name = "leadership gate", .phase = VR_APP_PHASE_INFORMERS, .stop = stop_gate};
    d->stop_lease =
        (struct vr_app_stopper){.name = "lease", .phase = VR_APP_PHASE_LEASE, .stop = stop_lease};
    d->stop_server = (struct vr_app_stopper){
        .name = "endpoints", .phase = VR_APP_PHASE_SERVER, .stop = stop_server};
    vr_app_add_stopper(d->app, &d->stop_gate);
    vr_app_add_stopper(d->app, &d->stop_lease);
    vr_app_add_stopper(d->app, &d->stop_server);
}

/* ---- construction ---- */

static void make_metrics(struct vr_daemon *d)
{
    d->reg = vr_metrics_new();
    /* Both fail only with VR_EEXIST, impossible on a new registry. */
    vr_assert(vr_metrics_register_process(d->reg) == 0);
    vr_assert(vr_vm_init(&d->vm, d->reg, VR_VERSION) == 0);
    d->app->metrics = d->reg;
    d->app->vm = &d->vm;
    vr_kube_client_set_observer(d->app->kc, observe_api, d);
}

static int make_controllers(struct vr_daemon *d, const struct vr_reconciler_ops *const *ops,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *ctrl;
        int rc = ops[i]->create(d->app, &ctrl);
        if (rc < 0) {
            VR_LOG(VR_LOG_ERROR, "app", "cannot create controller=%s: %s", ops[i]->name,
                   vr_strerror(rc));
            return rc;
        }
        d->ops[d->nctrl] = ops[i];
        d->ctrl[d->nctrl++] = ctrl;
    }
    return 0;
}

static int make_lease(struct vr_daemon *d)
{
    const struct vr_config *cfg = d->app->cfg;
    struct vr_lease_opts lo;
    vr_lease_opts_default(&lo);
    lo.ns = cfg->namespace;
    lo.name = cfg->lease_name;
    lo.on_started_leading = on_started_leading;
    lo.on_stopped_leading = on_stopped_leading;
    lo.arg = d;
    int rc = vr_lease_new(&d->app->loop, d->app->clock, d->app->kc, &lo, &d->lease);
    if (rc < 0) {
        VR_LOG(VR_LOG_ERROR, "app", "cannot set up leader election: %s", vr_strerror(rc));
        return rc;
    }
    VR_LOG(VR_LOG_INFO, "app", "leader election lease=%s/%s identity=%s", cfg->namespace,
           cfg->lease_name, vr_lease_identity_of(d->lease));
    return 0;
}

static int make_endpoints(struct vr_daemon *d)
{
    const char *addr = d->app->cfg->metrics_addr;
    struct vr_endpoints_opts o;
    if (!addr || strcmp(addr, "0") == 0)
        return 0;
    vr_endpoints_opts_default(&o);
    o.metrics = d->reg;
    o.is_ready = is_ready;
    o.is_healthy = is_healthy;
    o.role = role;
    o.arg = d;
    int rc = vr_endpoints_start(&d->app->loop, addr, &o, &d->ep);
    if (rc < 0) {
        VR_LOG(VR_LOG_ERROR, "app", "cannot serve --metrics-addr %s: %s", addr, vr_strerror(rc));
        return rc;
    }
    d->app->httpd = d->ep;
    VR_LOG(VR_LOG_INFO, "app", "serving /healthz /readyz /metrics addr=%s port=%d", addr,
           vr_endpoints_port(d->ep));
    return 0;
}

struct vr_daemon *vr_daemon_new(struct vr_app *app)
{
    struct vr_daemon *d = vr_xcalloc(1, sizeof(*d));
    d->app = app;
    d->leading = !app->cfg->leader_elect;
    make_metrics(d);
    vr_vm_set_leader(&d->vm, d->leading);
    add_stoppers(d);
    return d;
}

int vr_daemon_setup(struct vr_daemon *d, const struct vr_reconciler_ops *const *ops, size_t n)
{
    if (n > DAEMON_CTRL_MAX)
        return VR_EINVAL;
    int rc = make_controllers(d, ops, n);
    if (rc == 0 && d->app->cfg->leader_elect)
        rc = make_lease(d);
    if (rc == 0)
        rc = make_endpoints(d);
    return rc;
}

void vr_daemon_start(struct vr_daemon *d)
{
    for (size_t i = 0; i < d->nctrl; i++)
        d->ops[i]->start(d->ctrl[i]);
    if (d->lease)
        vr_lease_start(d->lease);
}

void vr_daemon_free(struct vr_daemon *d)
{
    vr_metrics_free(d->reg);
    vr_free(d);
}
