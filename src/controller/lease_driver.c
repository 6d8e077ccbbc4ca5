/* Leader election, the driver on the loop (see lease.h). */
#include <stdio.h>
#include <string.h>

#include "controller/lease.h"
#include "core/common.h"
#include "vreq/err.h"
#include "vreq/log.h"

#define NEVER UINT64_MAX

enum op {
    OP_NONE,
    OP_RENEW_FAST,  /* PUT of the cached Lease while leading */
    OP_GET,         /* the full path: GET, then decide */
    OP_WRITE,       /* POST or PUT the decision */
    OP_RELEASE_PUT,
    OP_RELEASE_GET, /* after a 409 on release */
};

struct vr_lease {
    uv_timer_t timer;
    struct vr_clock *clock;
    struct vr_kube_client *kc;
    struct vr_lease_opts o;
    char *ns, *name;
    char identity[VR_LEASE_IDENTITY_MAX];
    struct vr_log_ctx log;
    enum vr_lease_state state;

    struct vr_kube_call *call; /* in flight, or NULL */
    enum op op;
    bool stale;                /* the call in flight was cancelled: ignore its answer */
    cJSON *cached;             /* the Lease as last read or written */
    struct vr_lease_obs obs;
    uint64_t next_attempt_ms;
    uint64_t last_renew_ms;    /* last successful write while leading */
    uint64_t release_deadline_ms;
    uint64_t rng;

    vr_lease_released_cb release_cb;
    void *release_arg;
    bool release_deferred;     /* release_cb due from the timer with release_status */
    int release_status;

    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static void arm(struct vr_lease *l);
static void step(struct vr_lease *l);

const char *vr_lease_state_name(enum vr_lease_state s)
{
    switch (s) {
    case VR_LEASE_STOPPED:
        return "stopped";
    case VR_LEASE_STANDBY:
        return "standby";
    case VR_LEASE_LEADING:
        return "leading";
    case VR_LEASE_RELEASING:
        return "releasing";
    }
    return "unknown";
}

void vr_lease_opts_default(struct vr_lease_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->lease_ms = 15000;
    o->renew_deadline_ms = 10000;
    o->retry_ms = 2000;
    o->jitter = 1.2;
}

static uint64_t now_ms(struct vr_lease *l)
{
    return vr_clock_now_ms(l->clock);
}

/* splitmix64: jitter needs no more than a cheap, seedable sequence. */
static double rand01(struct vr_lease *l)
{
    uint64_t z = (l->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* wait.Jitter(retry, jitter): retry + rand * jitter * retry. */
static uint64_t jittered_retry(struct vr_lease *l)
{
    return l->o.retry_ms + (uint64_t)(rand01(l) * l->o.jitter * (double)l->o.retry_ms);
}

static void set_state(struct vr_lease *l, enum vr_lease_state s)
{
    enum vr_lease_state old = l->state;
    if (old == s)
        return;
    VR_LOGC(&l->log, VR_LOG_TRACE, "state %s -> %s", vr_lease_state_name(old),
            vr_lease_state_name(s));
    l->state = s;
    if (old == VR_LEASE_LEADING) {
        VR_LOGC(&l->log, VR_LOG_INFO, "stopped leading");
        if (l->o.on_stopped_leading)
            l->o.on_stopped_leading(l->o.arg);
    }
    if (s == VR_LEASE_LEADING) {
        VR_LOGC(&l->log, VR_LOG_INFO, "started leading");
        if (l->o.on_started_leading)
            l->o.on_started_leading(l->o.arg);
    }
}

int vr_lease_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                 const struct vr_lease_opts *opts, struct vr_lease **out)
{
    if (!opts->name || !opts->name[0] || opts->lease_ms < 1000 || opts->jitter < 0 ||
        opts->lease_ms <= opts->renew_deadline_ms ||
        (double)opts->renew_deadline_ms <= opts->jitter * (double)opts->retry_ms ||
        opts->retry_ms == 0)
        return VR_EINVAL;
    struct vr_lease *l = vr_xcalloc(1, sizeof(*l));
    if (opts->identity) {
        snprintf(l->identity, sizeof(l->identity), "%s", opts->identity);
    } else {
        int rc = vr_lease_identity(l->identity, sizeof(l->identity));
        if (rc < 0) {
            vr_free(l);
            return rc;
        }
    }
    int rc = uv_timer_init(loop, &l->timer);
    if (rc < 0) {
        vr_free(l);
        return rc;
    }
    l->clock = clock;
    l->kc = kc;
    l->o = *opts;
    l->ns = vr_xstrdup(opts->ns ? opts->ns : vr_kube_client_namespace(kc));
    l->name = vr_xstrdup(opts->name);
    l->o.ns = l->ns;
    l->o.name = l->name;
    l->o.identity = l->identity;
    l->rng = opts->seed ? opts->seed : uv_hrtime();
    l->next_attempt_ms = NEVER;
    l->log = (struct vr_log_ctx)VR_LOG_CTX_INIT("lease");
    vr_log_ctx_set(&l->log, "lease", l->name);
    vr_log_ctx_set(&l->log, "identity", l->identity);
    *out = l;
    return 0;
}

/* ---- calls ---- */

static void on_call_done(int status, const struct vr_kube_result *res, void *arg);

static char *lease_body(struct vr_lease *l, const struct vr_lease_record *rec, bool create)
{
    cJSON *obj;
    if (create || !l->cached) {
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(obj, "kind", "Lease");
        cJSON *meta = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(meta, "name", l->name);
        cJSON_AddStringToObject(meta, "namespace", l->ns);
    } else {
        obj = cJSON_Duplicate(l->cached, 1);
    }
    vr_lease_record_to_json(rec, obj);
    char *body = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return body;
}

/* POST (create) or PUT (update with the cached resourceVersion) of rec. */
static void write_record(struct vr_lease *l, enum op op, const struct vr_lease_record *rec,
                         bool create)
{
    char *body = lease_body(l, rec, create);
    l->op = op;
    if (create)
        l->call = vr_kube_create(l->kc, &vr_kube_res_leases, l->ns, body, on_call_done, l);
    else
        l->call = vr_kube_update(l->kc, &vr_kube_res_leases, l->ns, l->name, NULL, body,
                                 on_call_done, l);
    cJSON_free(body);
}

static void start_get(struct vr_lease *l, enum op op)
{
    l->op = op;
    l->call = vr_kube_get(l->kc, &vr_kube_res_leases, l->ns, l->name, on_call_done, l);
}

static bool own_lease_valid(const struct vr_lease *l, uint64_t now)
{
    const struct vr_lease_obs *o = &l->obs;
    return o->have && strcmp(o->rec.holder, l->identity) == 0 &&
           o->observed_ms + (uint64_t)(o->rec.duration_s > 0 ? o->rec.duration_s : 0) * 1000 >
               now;
}

static int64_t lease_duration_s(const struct vr_lease *l)
{
    return (int64_t)(l->o.lease_ms / 1000);
}

/* One tryAcquireOrRenew: the fast renewal of a valid own lease, else GET and decide. */
static void attempt(struct vr_lease *l)
{
    uint64_t now = now_ms(l);
    l->next_attempt_ms = NEVER;
    if (l->state == VR_LEASE_LEADING && l->cached && own_lease_valid(l, now)) {
        struct vr_lease_record rec = l->obs.rec;
        rec.renew_us = vr_clock_now_us(l->clock);
        rec.duration_s = lease_duration_s(l);
        write_record(l, OP_RENEW_FAST, &rec, false);
        return;
    }
    start_get(l, OP_GET);
}

static void release_write(struct vr_lease *l)
{
    struct vr_lease_record rec;
    vr_lease_release_record(&l->obs.rec, vr_clock_now_us(l->clock), &rec);
    write_record(l, OP_RELEASE_PUT, &rec, false);
}

/* Starts what is due when no call is in flight. */
static void step(struct vr_lease *l)
{
    if (l->closing)
        return;
    if (!l->call) {
        switch (l->state) {
        case VR_LEASE_STANDBY:
        case VR_LEASE_LEADING:
            if (now_ms(l) >= l->next_attempt_ms)
                attempt(l);
            break;
        case VR_LEASE_RELEASING:
            release_write(l);
            break;
        case VR_LEASE_STOPPED:
            break;
        }
    }
    arm(l); /* deadlines run while a call is in flight too */
}

static uint64_t due_of(const struct vr_lease *l)
{
    uint64_t due = NEVER;
    if (l->release_deferred)
        return 0;
    if ((l->state == VR_LEASE_STANDBY || l->state == VR_LEASE_LEADING) && !l->call)
        due = l->next_attempt_ms;
    if (l->state == VR_LEASE_LEADING && l->last_renew_ms + l->o.renew_deadline_ms < due)
        due = l->last_renew_ms + l->o.renew_deadline_ms;
    if (l->state == VR_LEASE_RELEASING && l->release_deadline_ms < due)
        due = l->release_deadline_ms;
    return due;
}

static void on_timer(uv_timer_t *t)
{
    struct vr_lease *l = container_of(t, struct vr_lease, timer);
    vr_lease_run_due(l, now_ms(l));
}

static void arm(struct vr_lease *l)
{
    if (l->closing)
        return;
    uint64_t due = due_of(l);
    if (due == NEVER) {
        uv_timer_stop(&l->timer);
        return;
    }
    uint64_t now = now_ms(l);
    uv_timer_start(&l->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- outcomes ---- */

static void cancel_call(struct vr_lease *l)
{
    if (l->call && !l->stale) {
        l->stale = true;
        vr_kube_call_cancel(l->call);
    }
}

static void attempt_done(struct vr_lease *l, bool ok)
{
    uint64_t now = now_ms(l);
    if (ok) {
        l->last_renew_ms = now;
        set_state(l, VR_LEASE_LEADING);
    }
    if (l->state == VR_LEASE_LEADING)
        l->next_attempt_ms = now + l->o.retry_ms;
    else if (l->state == VR_LEASE_STANDBY)
        l->next_attempt_ms = now + jittered_retry(l);
}

static void lose(struct vr_lease *l, const char *why)
{
    VR_LOGC(&l->log, VR_LOG_WARN, "leadership lost: %s", why);
    cancel_call(l);
    set_state(l, VR_LEASE_STANDBY);
    l->next_attempt_ms = now_ms(l) + jittered_retry(l);
}

static void finish_release(struct vr_lease *l, int status)
{
    if (status < 0)
        VR_LOGC(&l->log, VR_LOG_WARN, "release failed: %s", vr_strerror(status));
    else
        VR_LOGC(&l->log, VR_LOG_INFO, "lease released");
    cancel_call(l);
    set_state(l, VR_LEASE_STOPPED);
    vr_lease_released_cb cb = l->release_cb;
    l->release_cb = NULL;
    if (cb)
        cb(status, l->release_arg);
}

/* Caches a Lease the server returned; 0 or VR_EPARSE. */
static int take_lease(struct vr_lease *l, const cJSON *obj)
{
    struct vr_lease_record rec;
    int rc = vr_lease_record_from_json(obj, &rec);
    if (rc < 0)
        return rc;
    cJSON_Delete(l->cached);
    l->cached = cJSON_Duplicate(obj, 1);
    vr_lease_observe(&l->obs, &rec, now_ms(l));
    return 0;
}

static void after_get(struct vr_lease *l, int status, const struct vr_kube_result *res)
{
    if (status < 0 && status != VR_ENOTFOUND) {
        VR_LOGC(&l->log, VR_LOG_DEBUG, "get failed: %s", vr_strerror(status));
        attempt_done(l, false);
        return;
    }
    if (status == 0 && take_lease(l, res->obj) < 0) {
        VR_LOGC(&l->log, VR_LOG_WARN, "unreadable Lease; retrying");
        attempt_done(l, false);
        return;
    }
    struct vr_lease_plan plan;
    vr_lease_decide(&l->obs, status == 0, l->identity, l->state == VR_LEASE_LEADING,
                    now_ms(l), vr_clock_now_us(l->clock), lease_duration_s(l), &plan);
    VR_LOGC(&l->log, VR_LOG_TRACE, "decision %s holder=%s", vr_lease_action_name(plan.action),
            l->obs.rec.holder);
    switch (plan.action) {
    case VR_LEASE_CREATE:
    case VR_LEASE_ACQUIRE:
    case VR_LEASE_RENEW:
        write_record(l, OP_WRITE, &plan.rec, plan.action == VR_LEASE_CREATE);
        return;
    case VR_LEASE_WAIT:
        attempt_done(l, false);
        return;
    case VR_LEASE_LOST:
        lose(l, "another holder renews the lease");
        return;
    }
}

static void after_write(struct vr_lease *l, int status, const struct vr_kube_result *res)
{
    if (status == 0 && take_lease(l, res->obj) == 0) {
        attempt_done(l, true);
        return;
    }
    VR_LOGC(&l->log, VR_LOG_DEBUG, "write failed: %s", vr_strerror(status));
    if (l->op == OP_RENEW_FAST) {
        start_get(l, OP_GET); /* client-go falls through to the GET path at once */
        return;
    }
    attempt_done(l, false);
}

static void after_release(struct vr_lease *l, int status, const struct vr_kube_result *res)
{
    if (l->op == OP_RELEASE_PUT && status == VR_ECONFLICT) {
        start_get(l, OP_RELEASE_GET);
        return;
    }
    if (l->op == OP_RELEASE_PUT || status < 0) {
        finish_release(l, status);
        return;
    }
    if (take_lease(l, res->obj) < 0 || strcmp(l->obs.rec.holder, l->identity) != 0) {
        finish_release(l, 0); /* no longer ours: nothing to give up */
        return;
    }
    release_write(l);
}

static void finish_close(struct vr_lease *l);

static void on_call_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_lease *l = arg;
    bool stale = l->stale;
    l->call = NULL;
    l->stale = false;
    if (l->closing) {
        finish_close(l);
        return;
    }
    if (!stale) {
        switch (l->op) {
        case OP_GET:
            after_get(l, status, res);
            break;
        case OP_RENEW_FAST:
        case OP_WRITE:
            after_write(l, status, res);
            break;
        case OP_RELEASE_PUT:
        case OP_RELEASE_GET:
            after_release(l, status, res);
            break;
        case OP_NONE:
            break;
        }
    }
    step(l);
}

/* ---- public ---- */

void vr_lease_run_due(struct vr_lease *l, uint64_t now)
{
    if (l->closing)
        return;
    if (l->release_deferred) {
        l->release_deferred = false;
        finish_release(l, l->release_status);
    }
    if (l->state == VR_LEASE_LEADING && now >= l->last_renew_ms + l->o.renew_deadline_ms)
        lose(l, "no renewal within the renew deadline");
    if (l->state == VR_LEASE_RELEASING && now >= l->release_deadline_ms)
        finish_release(l, VR_ETIMEDOUT);
    step(l);
}

void vr_lease_start(struct vr_lease *l)
{
    if (l->state != VR_LEASE_STOPPED || l->closing || l->release_deferred)
        return;
    set_state(l, VR_LEASE_STANDBY);
    l->next_attempt_ms = now_ms(l);
    arm(l); /* the first attempt runs from the timer, not inside this call */
}

void vr_lease_stop(struct vr_lease *l)
{
    cancel_call(l);
    l->next_attempt_ms = NEVER;
    if (l->release_cb) {
        l->release_deferred = false;
        finish_release(l, l->state == VR_LEASE_RELEASING ? VR_ECANCELED : l->release_status);
    }
    set_state(l, VR_LEASE_STOPPED);
    arm(l);
}

void vr_lease_release(struct vr_lease *l, vr_lease_released_cb cb, void *arg)
{
    vr_assert(!l->release_cb && !l->closing);
    l->release_cb = cb;
    l->release_arg = arg;
    if (l->state != VR_LEASE_LEADING) {
        cancel_call(l);
        set_state(l, VR_LEASE_STOPPED);
        l->release_status = 0;
        l->release_deferred = true;
        arm(l);
        return;
    }
    cancel_call(l);
    set_state(l, VR_LEASE_RELEASING);
    l->release_deadline_ms = now_ms(l) + l->o.renew_deadline_ms;
    l->next_attempt_ms = NEVER;
    /* A cancelled call still owes its callback; step starts the release write after it,
     * from the callback. Starting it here is fine: it is not the release's completion. */
    step(l);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct vr_lease *l = container_of((uv_timer_t *)h, struct vr_lease, timer);
    void (*cb)(void *) = l->closed_cb;
    void *arg = l->closed_arg;
    cJSON_Delete(l->cached);
    vr_free(l->ns);
    vr_free(l->name);
    vr_free(l);
    if (cb)
        cb(arg);
}

static void finish_close(struct vr_lease *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->timer))
        uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}

void vr_lease_close(struct vr_lease *l, void (*cb)(void *arg), void *arg)
{
    vr_lease_stop(l);
    l->closing = true;
    l->closed_cb = cb;
    l->closed_arg = arg;
    uv_timer_stop(&l->timer);
    if (!l->call)
        finish_close(l);
}

enum vr_lease_state vr_lease_get_state(const struct vr_lease *l)
{
    return l->state;
}

bool vr_lease_is_held(const struct vr_lease *l)
{
    return l->state == VR_LEASE_LEADING;
}

const char *vr_lease_identity_of(const struct vr_lease *l)
{
    return l->identity;
}

const struct vr_lease_obs *vr_lease_observed(const struct vr_lease *l)
{
    return &l->obs;
}

bool vr_lease_is_healthy(const struct vr_lease *l, uint64_t now, uint64_t tolerance_ms)
{
    if (l->state != VR_LEASE_LEADING)
        return true;
    return now <= l->last_renew_ms + l->o.lease_ms + tolerance_ms;
}
