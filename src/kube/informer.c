/* The informer (informer.h): list-then-watch into a compact cache, client-go's way. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "kube/informer.h"
#include "kube/wdec.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define SUBSYS "watch"
#define RV_MAX 64

/* What follows a backoff. */
enum next_step {
    NEXT_WATCH,
    NEXT_LIST,
};

/* One request in flight; its generation tells a stale completion (after stop) from a
 * current one. Freed by its done callback. */
struct op {
    struct vr_informer *inf;
    unsigned gen;
};

struct vr_informer {
    uv_loop_t *loop;
    struct vr_clock *clock;
    struct vr_kube_client *kc;
    struct vr_informer_opts opts; /* strings point at the copies below */
    char *ns, *label_selector, *field_selector;
    struct vr_informer_handlers h;
    struct vr_log_ctx log;

    enum vr_informer_state state;
    enum next_step next;  /* in BACKOFF */
    bool synced;
    bool rv_unavailable;  /* list with RV "" next */
    char last_rv[RV_MAX];
    char list_rv[RV_MAX]; /* RV of the list being read */
    char *continue_token;
    struct vr_kcache *cache;
    struct vr_kcache *staging; /* pages read so far */

    struct vr_kube_call *call; /* the current request, NULL if none */
    unsigned gen;
    unsigned pending; /* ops whose callback has not run */

    struct vr_wdec dec;
    uint64_t watch_start_ms, watch_deadline_ms, last_byte_ms, watch_events;
    bool watch_got_bytes, watchdog_fired;
    int watch_err; /* code of an ERROR event, else 0 */
    struct vr_kube_status err_status;

    uv_timer_t timer;
    uint64_t due_ms; /* backoff end */
    struct vr_informer_backoff backoff;
    uint64_t rng;
    struct vr_informer_stats stats;

    bool closing, timer_closed;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static void list_start(struct vr_informer *inf);
static void watch_start(struct vr_informer *inf);
static void timer_cb(uv_timer_t *t);

/* ---- backoff ---- */

void vr_informer_backoff_init(struct vr_informer_backoff *b, uint64_t initial_ms,
                              uint64_t max_ms, uint64_t reset_ms)
{
    memset(b, 0, sizeof(*b));
    b->initial_ms = initial_ms;
    b->max_ms = max_ms;
    b->reset_ms = reset_ms;
    b->cur_ms = initial_ms;
}

uint64_t vr_informer_backoff_next(struct vr_informer_backoff *b, uint64_t now_ms, double rand01)
{
    if (!b->used || now_ms - b->last_ms > b->reset_ms)
        b->cur_ms = b->initial_ms;
    b->used = true;
    b->last_ms = now_ms;
    uint64_t d = b->cur_ms < b->max_ms ? b->cur_ms : b->max_ms;
    b->cur_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
    if (rand01 < 0 || rand01 >= 1)
        rand01 = 0;
    return d + (uint64_t)((double)d * rand01);
}

/* xorshift64*: jitter only, nothing secret. */
static double rand01(struct vr_informer *inf)
{
    uint64_t x = inf->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    inf->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- states ---- */

static const char *const state_names[] = {
    [VR_INFORMER_STOPPED] = "stopped",   [VR_INFORMER_LISTING] = "listing",
    [VR_INFORMER_WATCHING] = "watching", [VR_INFORMER_BACKOFF] = "backoff",
    [VR_INFORMER_RELISTING] = "relisting",
};

const char *vr_informer_state_name(enum vr_informer_state s)
{
    if ((size_t)s < VR_ARRAY_SIZE(state_names) && state_names[s])
        return state_names[s];
    return "?";
}

static void set_state(struct vr_informer *inf, enum vr_informer_state s)
{
    VR_LOGC(&inf->log, VR_LOG_TRACE, "informer %s -> %s rv=%s", vr_informer_state_name(inf->state),
            vr_informer_state_name(s), inf->last_rv);
    inf->state = s;
}

static void timer_arm(struct vr_informer *inf, uint64_t due_ms)
{
    uint64_t now = vr_clock_now_ms(inf->clock);
    uv_timer_start(&inf->timer, timer_cb, due_ms > now ? due_ms - now : 0, 0);
}

static void backoff_enter(struct vr_informer *inf, enum next_step next, int retry_after_s)
{
    uint64_t now = vr_clock_now_ms(inf->clock);
    uint64_t d = vr_informer_backoff_next(&inf->backoff, now, rand01(inf));
    if (retry_after_s > 0 && d < (uint64_t)retry_after_s * 1000)
        d = (uint64_t)retry_after_s * 1000;
    set_state(inf, VR_INFORMER_BACKOFF);
    inf->next = next;
    inf->due_ms = now + d;
    VR_LOGC(&inf->log, VR_LOG_DEBUG, "backing off delay_ms=%" PRIu64 " then=%s", d,
            next == NEXT_LIST ? "list" : "watch");
    timer_arm(inf, inf->due_ms);
}

static void backoff_leave(struct vr_informer *inf)
{
    if (inf->next == NEXT_WATCH) {
        watch_start(inf);
        return;
    }
    list_start(inf);
}

static uint64_t watchdog_due(const struct vr_informer *inf)
{
    uint64_t due = inf->watch_deadline_ms;
    if (inf->opts.idle_timeout_ms && inf->last_byte_ms + inf->opts.idle_timeout_ms < due)
        due = inf->last_byte_ms + inf->opts.idle_timeout_ms;
    return due;
}

void vr_informer_run_due(struct vr_informer *inf, uint64_t now_ms)
{
    switch (inf->state) {
    case VR_INFORMER_BACKOFF:
        if (now_ms >= inf->due_ms)
            backoff_leave(inf);
        else
            timer_arm(inf, inf->due_ms);
        return;
    case VR_INFORMER_WATCHING:
        if (now_ms < watchdog_due(inf)) {
            timer_arm(inf, watchdog_due(inf)); /* bytes arrived since it was armed */
            return;
        }
        if (inf->call && !inf->watchdog_fired) {
            VR_LOGC(&inf->log, VR_LOG_INFO, "watchdog: restarting a stalled watch idle_ms=%" PRIu64,
                    now_ms - inf->last_byte_ms);
            inf->watchdog_fired = true;
            vr_kube_call_cancel(inf->call);
        }
        return;
    case VR_INFORMER_STOPPED:
    case VR_INFORMER_LISTING:
    case VR_INFORMER_RELISTING:
        return;
    }
}

static void timer_cb(uv_timer_t *t)
{
    struct vr_informer *inf = container_of(t, struct vr_informer, timer);
    vr_informer_run_due(inf, vr_clock_now_ms(inf->clock));
}

/* ---- requests ---- */

static struct op *op_new(struct vr_informer *inf)
{
    struct op *op = vr_xmalloc(sizeof(*op));
    op->inf = inf;
    op->gen = inf->gen;
    inf->pending++;
    return op;
}

static void finish_close(struct vr_informer *inf)
{
    void (*cb)(void *) = inf->closed_cb;
    void *arg = inf->closed_arg;
    vr_kcache_free(inf->cache);
    vr_kcache_free(inf->staging);
    vr_wdec_cleanup(&inf->dec);
    vr_free(inf->continue_token);
    vr_free(inf->ns);
    vr_free(inf->label_selector);
    vr_free(inf->field_selector);
    vr_free(inf);
    if (cb)
        cb(arg);
}

static void maybe_finish_close(struct vr_informer *inf)
{
    if (inf->closing && inf->timer_closed && inf->pending == 0)
        finish_close(inf);
}

/* Takes the op's completion: returns the informer when the op is current, else NULL
 * (and the informer may be gone). */
static struct vr_informer *op_done(struct op *op)
{
    struct vr_informer *inf = op->inf;
    bool current = op->gen == inf->gen && inf->state != VR_INFORMER_STOPPED;
    vr_free(op);
    inf->pending--;
    if (current) {
        inf->call = NULL;
        return inf;
    }
    maybe_finish_close(inf);
    return NULL;
}

static bool rv_copy(char dst[RV_MAX], const char *rv)
{
    size_t n = strlen(rv);
    if (n == 0 || n >= RV_MAX)
        return false;
    memcpy(dst, rv, n + 1);
    return true;
}

/* The namespace and name of an object the decoder or a list vouched for. */
static void meta_key(const cJSON *obj, const char **ns, const char **name)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(md, "namespace");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(md, "name");
    *ns = cJSON_IsString(n) ? n->valuestring : "";
    *name = cJSON_IsString(m) ? m->valuestring : "";
}

/* ---- handlers ---- */

static void emit_add(struct vr_informer *inf, const struct vr_kobj *o)
{
    if (inf->h.on_add)
        inf->h.on_add(o, inf->h.arg);
}

static void emit_update(struct vr_informer *inf, const struct vr_kobj *old,
                        const struct vr_kobj *cur)
{
    if (inf->h.on_update)
        inf->h.on_update(old, cur, inf->h.arg);
}

static void emit_delete(struct vr_informer *inf, const struct vr_kobj *o)
{
    if (inf->h.on_delete)
        inf->h.on_delete(o, inf->h.arg);
}

/* ---- list ---- */

static void on_list_done(int status, const struct vr_kube_result *res, void *arg);

/* client-go's relistResourceVersion(): "0" before the first list, then the last RV,
 * and "" (a quorum read) once a list with it was refused as expired or too large. */
static const char *list_rv_param(const struct vr_informer *inf)
{
    if (inf->rv_unavailable)
        return "";
    return inf->last_rv[0] ? inf->last_rv : "0";
}

static void list_page(struct vr_informer *inf)
{
    struct vr_kube_list_opts lo;
    memset(&lo, 0, sizeof(lo));
    lo.label_selector = inf->label_selector;
    lo.field_selector = inf->field_selector;
    if (inf->continue_token) {
        lo.continue_token = inf->continue_token; /* the RV comes from the token */
        lo.limit = inf->opts.list_limit;
    } else {
        const char *rv = list_rv_param(inf);
        lo.resource_version = rv[0] ? rv : NULL;
        /* A list at a specific RV with a limit would be an Exact read (410 once
         * compacted): like client-go, page only from "0" and "". */
        if (!rv[0] || strcmp(rv, "0") == 0)
            lo.limit = inf->opts.list_limit;
    }
    inf->stats.lists++;
    inf->call = vr_kube_list(inf->kc, inf->opts.res, inf->ns, &lo, on_list_done, op_new(inf));
}

static void list_reset(struct vr_informer *inf)
{
    vr_kcache_free(inf->staging);
    inf->staging = NULL;
    vr_free(inf->continue_token);
    inf->continue_token = NULL;
    inf->list_rv[0] = '\0';
}

static void list_start(struct vr_informer *inf)
{
    set_state(inf, inf->synced ? VR_INFORMER_RELISTING : VR_INFORMER_LISTING);
    if (inf->synced)
        inf->stats.relists++;
    list_reset(inf);
    inf->staging = vr_kcache_new();
    list_page(inf);
}

/* Checks a page and takes its list RV and continue token. */
static int list_header(struct vr_informer *inf, const cJSON *list)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(md, "continue");
    if (!cJSON_IsObject(list) || (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)))
        return VR_EPARSE;
    const char *rv = vr_wdec_object_rv(list); /* the List's metadata.resourceVersion */
    if (!inf->list_rv[0] && (!rv || !rv_copy(inf->list_rv, rv)))
        return VR_EPARSE;
    vr_free(inf->continue_token);
    inf->continue_token = NULL;
    if (cJSON_IsString(cont) && cont->valuestring[0])
        inf->continue_token = vr_xstrdup(cont->valuestring);
    return 0;
}

/* Moves one page's items into the staging cache. Objects the projector rejects are
 * skipped: the controller cannot use them. */
static void list_absorb(struct vr_informer *inf, const cJSON *list)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    const cJSON *item, *arr = cJSON_IsArray(items) ? items : NULL;
    cJSON_ArrayForEach(item, arr)
    {
        struct vr_kobj *o;
        int rc = vr_kobj_new(item, inf->opts.proj, &o);
        if (rc < 0) {
            VR_LOGC(&inf->log, VR_LOG_WARN, "skipping a listed object err=%s", vr_err_name(rc));
            continue;
        }
        vr_kcache_put_take(inf->staging, o, NULL);
    }
}

/* Reports the difference between the old cache and the new one (inf->cache). Stops early
 * when a handler stopped the informer. */
static void diff_emit(struct vr_informer *inf, const struct vr_kcache *old, unsigned gen)
{
    struct vr_kcache_iter it;
    const struct vr_kobj *o;
    for (vr_kcache_iter_init(&it, inf->cache); (o = vr_kcache_iter_next(&it)) && inf->gen == gen;) {
        const struct vr_kobj *prev = old ? vr_kcache_get(old, o->ns, o->name) : NULL;
        if (!prev)
            emit_add(inf, o);
        else if (!vr_kobj_equal(prev, o))
            emit_update(inf, prev, o);
    }
    if (!old)
        return;
    for (vr_kcache_iter_init(&it, old); (o = vr_kcache_iter_next(&it)) && inf->gen == gen;)
        if (!vr_kcache_get(inf->cache, o->ns, o->name))
            emit_delete(inf, o);
}

static void list_apply(struct vr_informer *inf)
{
    /* Swapped rather than replaced, so the pointer vr_informer_cache lent stays valid. */
    struct vr_kcache *old = inf->staging;
    unsigned gen = inf->gen;
    bool first = !inf->synced;
    vr_kcache_swap(inf->cache, old);
    inf->staging = NULL;
    memcpy(inf->last_rv, inf->list_rv, sizeof(inf->last_rv));
    list_reset(inf);
    inf->rv_unavailable = false;
    inf->synced = true;
    VR_LOGC(&inf->log, VR_LOG_DEBUG, "listed objects=%zu rv=%s", vr_kcache_size(inf->cache),
            inf->last_rv);
    diff_emit(inf, old, gen);
    vr_kcache_free(old);
    if (first && inf->gen == gen && inf->h.on_synced)
        inf->h.on_synced(inf->h.arg);
    if (inf->gen == gen)
        watch_start(inf);
}

static void list_failed(struct vr_informer *inf, int status, const struct vr_kube_result *res)
{
    const struct vr_kube_status *st = res ? res->status : NULL;
    bool too_large = res && res->http_code == 504;
    VR_LOGC(&inf->log, VR_LOG_WARN, "list failed err=%s code=%d msg=\"%s\"", vr_err_name(status),
            st ? st->code : 0, st ? st->message : "");
    if ((status == VR_EGONE || too_large) && !inf->rv_unavailable) {
        /* The RV (or the continue token) is gone: list again at once from "". */
        inf->rv_unavailable = true;
        list_reset(inf);
        inf->staging = vr_kcache_new();
        list_page(inf);
        return;
    }
    list_reset(inf);
    backoff_enter(inf, NEXT_LIST, st ? st->retry_after_s : 0);
}

static void on_list_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_informer *inf = op_done(arg);
    if (!inf)
        return;
    if (status == 0)
        status = list_header(inf, res->obj);
    if (status < 0) {
        list_failed(inf, status, res);
        return;
    }
    if (!inf->continue_token) {
        list_absorb(inf, res->obj);
        list_apply(inf);
        return;
    }
    /* The next page is on the wire before this one is absorbed (and freed), so the server
     * builds it meanwhile. */
    list_page(inf);
    vr_kube_client_flush(inf->kc);
    list_absorb(inf, res->obj);
}

/* ---- watch ---- */

static int on_watch_data(struct vr_str chunk, void *arg);
static void on_watch_done(int status, const struct vr_kube_result *res, void *arg);

static unsigned watch_timeout_s(struct vr_informer *inf)
{
    unsigned lo = inf->opts.watch_timeout_min_s, hi = inf->opts.watch_timeout_max_s;
    return lo + (unsigned)(rand01(inf) * (double)(hi - lo));
}

static void watch_start(struct vr_informer *inf)
{
    struct vr_kube_watch_opts wo;
    uint64_t now = vr_clock_now_ms(inf->clock);
    unsigned timeout_s = watch_timeout_s(inf);
    set_state(inf, VR_INFORMER_WATCHING);
    vr_wdec_reset(&inf->dec);
    inf->watch_start_ms = now;
    inf->last_byte_ms = now;
    inf->watch_deadline_ms = now + (uint64_t)timeout_s * 1000 + inf->opts.watchdog_grace_ms;
    inf->watch_events = 0;
    inf->watch_got_bytes = false;
    inf->watchdog_fired = false;
    inf->watch_err = 0;
    memset(&wo, 0, sizeof(wo));
    wo.resource_version = inf->last_rv;
    wo.label_selector = inf->label_selector;
    wo.field_selector = inf->field_selector;
    wo.timeout_s = timeout_s;
    wo.allow_bookmarks = true;
    inf->stats.watches++;
    inf->call = vr_kube_watch(inf->kc, inf->opts.res, inf->ns, &wo, on_watch_data, on_watch_done,
                              op_new(inf));
    timer_arm(inf, watchdog_due(inf));
}

/* An ADDED or MODIFIED event. An object the projector rejects counts as gone. */
static void apply_upsert(struct vr_informer *inf, const cJSON *obj)
{
    struct vr_kobj *o, *old = NULL;
    int rc = vr_kobj_new(obj, inf->opts.proj, &o);
    if (rc < 0) {
        const char *ns, *name;
        meta_key(obj, &ns, &name);
        VR_LOGC(&inf->log, VR_LOG_WARN, "ignoring an object err=%s namespace=%s name=%s",
                vr_err_name(rc), ns, name);
        old = vr_kcache_remove(inf->cache, ns, name);
        if (old)
            emit_delete(inf, old);
        vr_kobj_free(old);
        return;
    }
    vr_kcache_put_take(inf->cache, o, &old);
    if (old)
        emit_update(inf, old, o);
    else
        emit_add(inf, o);
    vr_kobj_free(old);
}

static void apply_delete(struct vr_informer *inf, const cJSON *obj)
{
    const char *ns, *name;
    meta_key(obj, &ns, &name);
    struct vr_kobj *old = vr_kcache_remove(inf->cache, ns, name);
    /* Unknown key: report the event's own state, as client-go does. */
    if (!old && vr_kobj_new(obj, inf->opts.proj, &old) < 0 && vr_kobj_new(obj, NULL, &old) < 0)
        return;
    emit_delete(inf, old);
    vr_kobj_free(old);
}

static int on_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    struct vr_informer *inf = arg;
    if (inf->state != VR_INFORMER_WATCHING)
        return VR_ECANCELED; /* a handler stopped us */
    if (type == VR_WDEC_ERROR) {
        inf->watch_err = vr_wdec_status(obj, &inf->err_status);
        return inf->watch_err;
    }
    if (!rv_copy(inf->last_rv, vr_wdec_object_rv(obj)))
        return VR_EPARSE;
    inf->watch_events++;
    inf->stats.events++;
    switch (type) {
    case VR_WDEC_ADDED:
    case VR_WDEC_MODIFIED:
        apply_upsert(inf, obj);
        break;
    case VR_WDEC_DELETED:
        apply_delete(inf, obj);
        break;
    case VR_WDEC_BOOKMARK:
    case VR_WDEC_ERROR:
        break;
    }
    return inf->state == VR_INFORMER_WATCHING ? 0 : VR_ECANCELED;
}

static int on_watch_data(struct vr_str chunk, void *arg)
{
    struct op *op = arg;
    struct vr_informer *inf = op->inf;
    if (op->gen != inf->gen || inf->state != VR_INFORMER_WATCHING)
        return VR_ECANCELED;
    inf->last_byte_ms = vr_clock_now_ms(inf->clock);
    inf->watch_got_bytes = true;
    return vr_wdec_feed(&inf->dec, chunk.p, chunk.n, on_event, inf);
}

/* Whether the watch cannot simply resume from the last RV: client-go relists after
 * anything but 429 and connection errors. A malformed or over-cap line would come back
 * on every re-watch from the same RV; a list (under its own cap) gets past it. */
static bool needs_relist(int status)
{
    return status == VR_EGONE || status == VR_EPARSE || status == VR_ETOOBIG ||
           status == VR_ESERVER || status == VR_EUNAUTH ||
           status == VR_EFORBIDDEN || status == VR_ENOTFOUND || status == VR_EBADREQ ||
           status == VR_EINVALID || status == VR_EUNSUPPORTED;
}

static void watch_failed(struct vr_informer *inf, int status, const struct vr_kube_result *res,
                         uint64_t lasted_ms)
{
    const struct vr_kube_status *st = inf->watch_err ? &inf->err_status : res ? res->status : NULL;
    /* A cut after a healthy stream is a probable EOF for client-go: resume at once. */
    bool cut = status == VR_EHTTP && inf->watch_got_bytes && !vr_wdec_has_partial(&inf->dec) &&
               lasted_ms >= inf->opts.short_watch_ms;
    inf->stats.restarts++;
    VR_LOGC(&inf->log, cut ? VR_LOG_DEBUG : VR_LOG_WARN,
            "watch ended err=%s code=%d msg=\"%s\" lasted_ms=%" PRIu64 " events=%" PRIu64,
            vr_err_name(status), st ? st->code : 0, st ? st->message : "", lasted_ms,
            inf->watch_events);
    if (cut) {
        watch_start(inf);
        return;
    }
    backoff_enter(inf, needs_relist(status) ? NEXT_LIST : NEXT_WATCH, st ? st->retry_after_s : 0);
}

static void on_watch_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct vr_informer *inf = op_done(arg);
    if (!inf)
        return;
    uint64_t lasted = vr_clock_now_ms(inf->clock) - inf->watch_start_ms;
    if (inf->watchdog_fired && (status == VR_ECANCELED || status == 0))
        status = VR_ETIMEDOUT;
    if (status == 0 && vr_wdec_has_partial(&inf->dec))
        status = VR_EHTTP; /* ended inside an event: a truncated body, re-watch */
    if (status == 0 && (lasted >= inf->opts.short_watch_ms || inf->watch_events > 0)) {
        VR_LOGC(&inf->log, VR_LOG_DEBUG, "watch ended cleanly events=%" PRIu64 " rv=%s",
                inf->watch_events, inf->last_rv);
        watch_start(inf);
        return;
    }
    watch_failed(inf, status, res, lasted);
}

/* ---- lifecycle ---- */

void vr_informer_opts_default(struct vr_informer_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->list_limit = 500;
    o->watch_timeout_min_s = 300;
    o->watch_timeout_max_s = 600;
    o->watchdog_grace_ms = 30000;
    o->short_watch_ms = 1000;
    o->backoff_initial_ms = 800;
    o->backoff_max_ms = 30000;
    o->backoff_reset_ms = 120000;
    o->max_line = VR_WDEC_MAX_LINE_DEFAULT;
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? vr_xstrdup(s) : NULL;
}

int vr_informer_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                    const struct vr_informer_opts *opts,
                    const struct vr_informer_handlers *handlers, struct vr_informer **out)
{
    if (!loop || !clock || !kc || !opts || !opts->res || opts->watch_timeout_min_s == 0 ||
        opts->watch_timeout_min_s > opts->watch_timeout_max_s || opts->backoff_initial_ms == 0 ||
        opts->backoff_max_ms < opts->backoff_initial_ms)
        return VR_EINVAL;
    struct vr_informer *inf = vr_xcalloc(1, sizeof(*inf));
    inf->loop = loop;
    inf->clock = clock;
    inf->kc = kc;
    inf->opts = *opts;
    inf->ns = dup_or_null(opts->ns);
    inf->label_selector = dup_or_null(opts->label_selector);
    inf->field_selector = dup_or_null(opts->field_selector);
    inf->opts.ns = inf->ns;
    inf->opts.label_selector = inf->label_selector;
    inf->opts.field_selector = inf->field_selector;
    if (handlers)
        inf->h = *handlers;
    inf->log = (struct vr_log_ctx)VR_LOG_CTX_INIT(SUBSYS);
    vr_log_ctx_set(&inf->log, "resource", opts->res->plural);
    vr_log_ctx_set(&inf->log, "namespace", inf->ns ? inf->ns : "*");
    inf->cache = vr_kcache_new();
    vr_wdec_init(&inf->dec, opts->max_line);
    vr_informer_backoff_init(&inf->backoff, opts->backoff_initial_ms, opts->backoff_max_ms,
                             opts->backoff_reset_ms);
    inf->rng = opts->seed ? opts->seed : uv_hrtime() | 1;
    vr_assert(uv_timer_init(loop, &inf->timer) == 0);
    *out = inf;
    return 0;
}

void vr_informer_start(struct vr_informer *inf)
{
    if (inf->closing || inf->state != VR_INFORMER_STOPPED)
        return;
    list_start(inf);
}

void vr_informer_stop(struct vr_informer *inf)
{
    if (inf->state == VR_INFORMER_STOPPED)
        return;
    inf->gen++;
    if (inf->call)
        vr_kube_call_cancel(inf->call); /* its completion is now stale */
    inf->call = NULL;
    uv_timer_stop(&inf->timer);
    list_reset(inf);
    set_state(inf, VR_INFORMER_STOPPED);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct vr_informer *inf = container_of((uv_timer_t *)h, struct vr_informer, timer);
    inf->timer_closed = true;
    maybe_finish_close(inf);
}

void vr_informer_close(struct vr_informer *inf, void (*cb)(void *arg), void *arg)
{
    vr_assert(!inf->closing);
    vr_informer_stop(inf);
    inf->closing = true;
    inf->closed_cb = cb;
    inf->closed_arg = arg;
    uv_close((uv_handle_t *)&inf->timer, on_timer_closed);
}

bool vr_informer_has_synced(const struct vr_informer *inf)
{
    return inf->synced;
}

enum vr_informer_state vr_informer_state(const struct vr_informer *inf)
{
    return inf->state;
}

const struct vr_kcache *vr_informer_cache(const struct vr_informer *inf)
{
    return inf->cache;
}

const char *vr_informer_last_rv(const struct vr_informer *inf)
{
    return inf->last_rv;
}

void vr_informer_stats(const struct vr_informer *inf, struct vr_informer_stats *out)
{
    *out = inf->stats;
}
