#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "kube/kubeconfig.h"
#include "loop/app.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define DRAIN_MS_DEFAULT 10000

static const char *const state_names[] = {"running", "stopping", "closing", "stopped"};
static const char *const phase_names[] = {"informers", "queues", "lease", "server"};

const char *vr_app_state_name(enum vr_app_state s)
{
    return (unsigned)s < VR_ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

const char *vr_app_phase_name(enum vr_app_phase p)
{
    return (unsigned)p < VR_ARRAY_SIZE(phase_names) ? phase_names[p] : "?";
}

static void set_state(struct vr_app *app, enum vr_app_state s)
{
    VR_LOG(VR_LOG_DEBUG, "app", "state %s -> %s", vr_app_state_name(app->state),
           vr_app_state_name(s));
    app->state = s;
}

/* ---- deferred frees ---- */

static void on_check(uv_check_t *h)
{
    struct vr_app *app = container_of(h, struct vr_app, check);
    while (app->deferred) {
        struct vr_app_deferred *d = app->deferred;
        app->deferred = d->next;
        d->fn(d);
    }
    uv_check_stop(h);
}

void vr_app_defer_free(struct vr_app *app, struct vr_app_deferred *d,
                       void (*fn)(struct vr_app_deferred *d))
{
    d->fn = fn;
    d->next = app->deferred;
    app->deferred = d;
    uv_check_start(&app->check, on_check);
}

/* ---- shutdown ---- */

static void close_own(struct vr_app *app);

static void on_cu_closed(void *arg)
{
    struct vr_app *app = arg;
    app->cu = NULL;
    close_own(app);
}

static void on_kc_closed(void *arg)
{
    struct vr_app *app = arg;
    app->kc = NULL;
    if (app->state == VR_APP_CLOSING && !app->cu_closed) {
        app->cu_closed = true;
        vr_curl_uv_close(app->cu, on_cu_closed, app);
    }
}

static void close_client(struct vr_app *app)
{
    if (app->kc_closed)
        return;
    app->kc_closed = true;
    vr_kube_client_close(app->kc, on_kc_closed, app);
}

static void close_own(struct vr_app *app)
{
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
    /* Runs the last deferred frees before the check handle goes. */
    on_check(&app->check);
    uv_close((uv_handle_t *)&app->check, NULL);
    set_state(app, VR_APP_STOPPED);
}

static void finish(struct vr_app *app)
{
    set_state(app, VR_APP_CLOSING);
    uv_timer_stop(&app->drain_timer);
    if (!app->kc_closed) {
        close_client(app);
    } else if (!app->kc && !app->cu_closed) {
        app->cu_closed = true;
        vr_curl_uv_close(app->cu, on_cu_closed, app);
    }
}

/* The list holds only stoppers that have not reported done (a done stopper is unlinked at
 * once, because its module may free it right after). */
static bool phase_done(struct vr_app *app)
{
    for (struct vr_app_stopper *st = app->stoppers; st; st = st->next)
        if ((int)st->phase == app->phase)
            return false;
    return true;
}

/* The next stopper of the current phase not yet started, or NULL. */
static struct vr_app_stopper *next_to_start(struct vr_app *app)
{
    for (struct vr_app_stopper *st = app->stoppers; st; st = st->next)
        if ((int)st->phase == app->phase && !st->started)
            return st;
    return NULL;
}

/* Starts the current phase's stoppers, moving on while phases complete at once. */
static void run_phases(struct vr_app *app)
{
    struct vr_app_stopper *st;
    app->in_phases = true;
    while (app->phase < VR_APP_PHASE_COUNT) {
        /* A stop call may unlink stoppers (its own, or others'), so search again after
         * each one instead of walking a list that may change under us. */
        while ((st = next_to_start(app)) != NULL) {
            st->started = true;
            VR_LOG(VR_LOG_DEBUG, "app", "stopping %s phase=%s", st->name,
                   vr_app_phase_name(st->phase));
            st->stop(st);
        }
        if (!phase_done(app)) {
            app->in_phases = false;
            return;
        }
        app->phase++;
    }
    app->in_phases = false;
    finish(app);
}

void vr_app_stopper_done(struct vr_app_stopper *st)
{
    struct vr_app *app = st->app;
    vr_assert(st->started && !st->done);
    st->done = true;
    struct vr_app_stopper **pp = &app->stoppers;
    while (*pp != st)
        pp = &(*pp)->next;
    *pp = st->next;
    st->next = NULL;
    /* A stopper finishing inside its own stop call is picked up by run_phases' loop. */
    if (!app->in_phases && (int)st->phase == app->phase && phase_done(app) &&
        app->state == VR_APP_STOPPING)
        run_phases(app);
}

static void cut_short(struct vr_app *app)
{
    VR_LOG(VR_LOG_WARN, "app", "shutdown bound reached: cancelling calls in flight phase=%s",
           app->phase < VR_APP_PHASE_COUNT ? vr_app_phase_name((enum vr_app_phase)app->phase)
                                           : "done");
    close_client(app);
}

static void on_drain_timer(uv_timer_t *t)
{
    cut_short(container_of(t, struct vr_app, drain_timer));
}

void vr_app_stop(struct vr_app *app)
{
    if (app->state != VR_APP_RUNNING) {
        if (app->state == VR_APP_STOPPING)
            cut_short(app);
        return;
    }
    set_state(app, VR_APP_STOPPING);
    VR_LOG(VR_LOG_INFO, "app", "shutting down");
    uv_timer_start(&app->drain_timer, on_drain_timer, app->drain_ms, 0);
    app->phase = 0;
    run_phases(app);
}

void vr_app_add_stopper(struct vr_app *app, struct vr_app_stopper *st)
{
    vr_assert(st->stop && st->name);
    st->app = app;
    st->started = st->done = false;
    struct vr_app_stopper **pp = &app->stoppers;
    while (*pp)
        pp = &(*pp)->next;
    st->next = NULL;
    *pp = st;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct vr_app *app = h->data;
    VR_LOG(VR_LOG_INFO, "app", "signal received signal=%s",
           signum == SIGTERM ? "SIGTERM" : "SIGINT");
    vr_app_stop(app);
}

/* ---- init / run / cleanup ---- */

static int load_kube(struct vr_app *app, char *err, size_t errlen)
{
    struct vr_kube_config_opts o = {.kubeconfig = app->cfg->kubeconfig, .allow_in_cluster = true};
    vr_kube_config_opts_from_env(&o);
    int rc = vr_kube_config_load(&o, &app->kcfg, err, errlen);
    if (rc < 0)
        return rc;
    struct vr_kube_client_opts ko;
    vr_kube_client_opts_default(&ko);
    ko.user_agent = "vreqd/" VR_VERSION;
    rc = vr_kube_client_new(app->cu, app->clock, &app->kcfg, &ko, &app->kc);
    if (rc < 0) {
        snprintf(err, errlen, "cannot use %s: %s", app->kcfg.source, vr_strerror(rc));
        vr_kube_config_cleanup(&app->kcfg);
    }
    return rc;
}

static void init_handles(struct vr_app *app)
{
    uv_signal_init(&app->loop, &app->sig_term);
    uv_signal_init(&app->loop, &app->sig_int);
    app->sig_term.data = app->sig_int.data = app;
    uv_signal_start(&app->sig_term, on_signal, SIGTERM);
    uv_signal_start(&app->sig_int, on_signal, SIGINT);
    uv_check_init(&app->loop, &app->check);
    uv_timer_init(&app->loop, &app->drain_timer);
    /* Neither the signals nor the idle check may keep the loop alive on their own. */
    uv_unref((uv_handle_t *)&app->sig_term);
    uv_unref((uv_handle_t *)&app->sig_int);
    uv_unref((uv_handle_t *)&app->check);
}

int vr_app_init(struct vr_app *app, const struct vr_config *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    app->drain_ms = DRAIN_MS_DEFAULT;
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    int rc = uv_loop_init(&app->loop);
    if (rc < 0) {
        snprintf(err, errlen, "uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    vr_clock_init_system(&app->sysclock, &app->loop);
    app->clock = &app->sysclock;
    rc = vr_curl_uv_new(&app->loop, &app->cu);
    if (rc == 0)
        rc = load_kube(app, err, errlen);
    else
        snprintf(err, errlen, "cannot initialise libcurl");
    if (rc < 0) {
        if (app->cu)
            vr_curl_uv_close(app->cu, NULL, NULL);
        uv_run(&app->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&app->loop);
        return rc;
    }
    init_handles(app);
    return 0;
}

int vr_app_run(struct vr_app *app)
{
    /* The signal handles are unreferenced; the controllers' handles keep the loop alive
     * until the shutdown closes them. */
    while (app->state != VR_APP_STOPPED) {
        if (uv_run(&app->loop, UV_RUN_DEFAULT) == 0 && app->state == VR_APP_RUNNING) {
            VR_LOG(VR_LOG_ERROR, "app", "event loop ran out of work");
            app->exit_code = 1;
            vr_app_stop(app);
        }
    }
    return app->exit_code;
}

static void close_leak(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    VR_LOG(VR_LOG_DEBUG, "app", "closing leaked handle type=%s",
           uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
}

int vr_app_cleanup(struct vr_app *app)
{
    uv_walk(&app->loop, close_leak, NULL);
    uv_run(&app->loop, UV_RUN_DEFAULT);
    vr_kube_config_cleanup(&app->kcfg);
    int rc = uv_loop_close(&app->loop);
    if (rc != 0) {
        VR_LOG(VR_LOG_ERROR, "app", "event loop did not close: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}
