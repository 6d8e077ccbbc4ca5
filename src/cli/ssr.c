/* ServerStatusRequest client flow (see ssr.h). */
#include "cli/ssr.h"

#include <stdio.h>
#include <string.h>

#include "kube/wdec.h"
#include "vreq/err.h"

#define SSR_CREATE_ATTEMPTS 5
#define SSR_POLL_MS 250u

enum ssr_state { SSR_CREATING, SSR_WATCHING, SSR_POLLING, SSR_DONE };

struct ssr_run {
    struct vr_cli *cli;
    enum ssr_state state;
    uv_timer_t deadline; /* the overall timeout */
    uv_timer_t poll;     /* polling fallback */
    struct vr_kube_call *call;
    struct vr_wdec dec;
    char name[254];
    char rv[64];
    unsigned attempts;
    unsigned timeout_ms;
    int closing;
    vr_cli_ssr_done_cb done;
    void *arg;
};

static void start_watch(struct ssr_run *r);

/* Drops one of the references finish() counted (two timers, one call in flight). */
static void unref(struct ssr_run *r)
{
    if (--r->closing == 0) {
        vr_wdec_cleanup(&r->dec);
        vr_free(r);
    }
}

static void run_closed(uv_handle_t *h)
{
    unref(h->data);
}

/* Every kube callback starts here: true when the run is over (the reference the call
 * held is dropped and the callback must return at once). */
static bool call_ended(struct ssr_run *r)
{
    r->call = NULL;
    if (r->state != SSR_DONE)
        return false;
    unref(r);
    return true;
}

/* Reports once and tears down; the run is freed when both timers have closed. */
static void finish(struct ssr_run *r, int status, const cJSON *obj, const char *msg)
{
    if (r->state == SSR_DONE)
        return;
    r->state = SSR_DONE;
    r->closing = 2 + (r->call != NULL);
    if (r->call)
        vr_kube_call_cancel(r->call);
    r->done(status, obj, msg ? msg : "", r->arg);
    uv_close((uv_handle_t *)&r->deadline, run_closed);
    uv_close((uv_handle_t *)&r->poll, run_closed);
}

static bool is_processed(const cJSON *obj)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
    return cJSON_IsString(ph) && strcmp(ph->valuestring, "Processed") == 0;
}

static void on_deadline(uv_timer_t *t)
{
    struct ssr_run *r = t->data;
    char msg[400];
    snprintf(msg, sizeof(msg),
             "timed out after %u ms waiting for server status request %s to be processed",
             r->timeout_ms, r->name);
    finish(r, VR_ETIMEDOUT, NULL, msg);
}

static void on_poll_timer(uv_timer_t *t);

static void on_poll_get(int status, const struct vr_kube_result *res, void *arg)
{
    struct ssr_run *r = arg;
    if (call_ended(r))
        return;
    /* Like Velero, GET errors while polling are ignored until the deadline. */
    if (status == 0 && is_processed(res->obj)) {
        finish(r, 0, res->obj, NULL);
        return;
    }
    uv_timer_start(&r->poll, on_poll_timer, SSR_POLL_MS, 0);
}

static void on_poll_timer(uv_timer_t *t)
{
    struct ssr_run *r = t->data;
    if (r->state == SSR_POLLING)
        r->call = vr_kube_get(r->cli->kube, &vr_kube_res_serverstatusrequests,
                              r->cli->namespace, r->name, on_poll_get, r);
}

static int on_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    struct ssr_run *r = arg;
    const char *rv = vr_wdec_object_rv(obj);
    switch (type) {
    case VR_WDEC_ADDED:
    case VR_WDEC_MODIFIED:
        if (is_processed(obj)) {
            finish(r, 0, obj, NULL);
            return VR_ECANCELED;
        }
        break;
    case VR_WDEC_BOOKMARK:
        break;
    case VR_WDEC_DELETED:
        finish(r, VR_ENOTFOUND, NULL, "the server status request was deleted before it was "
                                      "processed");
        return VR_ECANCELED;
    case VR_WDEC_ERROR:
        /* 410 and friends: list again from now by a plain GET-then-watch. */
        r->rv[0] = '\0';
        return VR_EGONE;
    }
    if (rv && strlen(rv) < sizeof(r->rv))
        memcpy(r->rv, rv, strlen(rv) + 1);
    return 0;
}

static int on_watch_data(struct vr_str chunk, void *arg)
{
    struct ssr_run *r = arg;
    return vr_wdec_feed(&r->dec, chunk.p, chunk.n, on_event, r);
}

static void on_resync_get(int status, const struct vr_kube_result *res, void *arg)
{
    struct ssr_run *r = arg;
    if (call_ended(r))
        return;
    if (status == 0 && is_processed(res->obj)) {
        finish(r, 0, res->obj, NULL);
        return;
    }
    const char *rv = status == 0 ? vr_wdec_object_rv(res->obj) : NULL;
    if (rv && strlen(rv) < sizeof(r->rv))
        memcpy(r->rv, rv, strlen(rv) + 1);
    start_watch(r);
}

static void on_watch_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct ssr_run *r = arg;
    (void)res;
    if (call_ended(r))
        return;
    if (status == VR_EFORBIDDEN) {
        r->state = SSR_POLLING;
        on_poll_timer(&r->poll);
        return;
    }
    if (status == VR_ECANCELED && r->cli->interrupted) {
        finish(r, VR_ECANCELED, NULL, "interrupted");
        return;
    }
    /* The stream ended (server timeout, dropped connection, expired version): read the
     * object again and watch on from its version, until the deadline. */
    vr_wdec_reset(&r->dec);
    r->call = vr_kube_get(r->cli->kube, &vr_kube_res_serverstatusrequests, r->cli->namespace,
                          r->name, on_resync_get, r);
}

static void start_watch(struct ssr_run *r)
{
    char fs[300];
    struct vr_kube_watch_opts o = {0};
    snprintf(fs, sizeof(fs), "metadata.name=%s", r->name);
    o.field_selector = fs;
    o.resource_version = r->rv[0] ? r->rv : NULL;
    o.timeout_s = 60;
    o.allow_bookmarks = true;
    r->state = SSR_WATCHING;
    r->call = vr_kube_watch(r->cli->kube, &vr_kube_res_serverstatusrequests, r->cli->namespace,
                            &o, on_watch_data, on_watch_done, r);
}

static void create(struct ssr_run *r);

static void on_created(int status, const struct vr_kube_result *res, void *arg)
{
    struct ssr_run *r = arg;
    char msg[400];
    if (call_ended(r))
        return;
    if (status == VR_EEXIST && ++r->attempts < SSR_CREATE_ATTEMPTS) {
        create(r);
        return;
    }
    const char *name = status == 0 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                         cJSON_GetObjectItemCaseSensitive(res->obj, "metadata"),
                                         "name"))
                                   : NULL;
    if (status == 0 && (!name || strlen(name) >= sizeof(r->name)))
        status = VR_EPARSE;
    if (status < 0) {
        snprintf(msg, sizeof(msg), "creating server status request: %s",
                 res->status->message[0] ? res->status->message : vr_strerror(status));
        finish(r, status, NULL, msg);
        return;
    }
    memcpy(r->name, name, strlen(name) + 1);
    const char *rv = vr_wdec_object_rv(res->obj);
    if (rv && strlen(rv) < sizeof(r->rv))
        memcpy(r->rv, rv, strlen(rv) + 1);
    start_watch(r);
}

static void create(struct ssr_run *r)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"ServerStatusRequest\",\"metadata\":"
             "{\"namespace\":\"%s\",\"generateName\":\"velero-cli-\"},\"spec\":{}}",
             r->cli->namespace);
    r->call = vr_kube_create(r->cli->kube, &vr_kube_res_serverstatusrequests,
                             r->cli->namespace, body, on_created, r);
}

int vr_cli_ssr_get(struct vr_cli *cli, unsigned timeout_ms, vr_cli_ssr_done_cb done, void *arg)
{
    if (!cli->kube || !done || strlen(cli->namespace) > 63)
        return VR_EINVAL;
    struct ssr_run *r = vr_xcalloc(1, sizeof(*r));
    r->cli = cli;
    r->done = done;
    r->arg = arg;
    r->timeout_ms = timeout_ms;
    r->state = SSR_CREATING;
    vr_wdec_init(&r->dec, 0);
    uv_timer_init(&cli->loop, &r->deadline);
    uv_timer_init(&cli->loop, &r->poll);
    r->deadline.data = r;
    r->poll.data = r;
    uv_timer_start(&r->deadline, on_deadline, timeout_ms, 0);
    create(r);
    return 0;
}
