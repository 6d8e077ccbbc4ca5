/* kubesim watch streams: one chunked response per watch, one JSON event per line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vreq/buf.h"
#include "vreq/log.h"
#include "vreq/mem.h"
#include "core/common.h"

#include "sim_int.h"

#define SUBSYS "kubesim"
#define FINAL_BOOKMARK_MS 2000 /* the real server bookmarks ~2 s before the deadline */
#define SELECTOR_MAX 1024

enum ks_watch_state {
    KS_WATCH_STREAMING,
    KS_WATCH_OVERFLOW, /* backlog over the cap: dropped from the timer, not from the store */
    KS_WATCH_DONE,     /* ended or aborted; waiting for release */
};

struct ks_watch {
    struct ks_watch *prev, *next;
    struct ks_sim *sim;
    struct vr_http_req *req;
    const struct ks_resource *res;
    struct ks_watcher *sw;
    uv_timer_t *timer; /* separately allocated: freed in its close callback */
    enum ks_watch_state state;
    bool linked;         /* in sim->watches */
    bool started;        /* headers sent; events before that go to pre */
    bool bookmarks;      /* allowWatchBookmarks */
    bool final_bookmark; /* the pre-deadline bookmark is sent (or not wanted) */
    struct vr_buf pre;   /* the replay ks_store_watch delivers before the stream starts,
                          * and events held while stalled */
    uint64_t deadline_ms, next_bookmark_ms;
    uint64_t stall_until_ms; /* POST /kubesim/stall-watches: nothing written before; 0 = not */
};

static void watch_timer_cb(uv_timer_t *t);

static const char *state_name(enum ks_watch_state s)
{
    switch (s) {
    case KS_WATCH_STREAMING:
        return "streaming";
    case KS_WATCH_OVERFLOW:
        return "overflow";
    case KS_WATCH_DONE:
        return "done";
    }
    return "?";
}

static void set_state(struct ks_watch *w, enum ks_watch_state s)
{
    VR_LOG(VR_LOG_TRACE, SUBSYS, "watch state %s -> %s", state_name(w->state), state_name(s));
    w->state = s;
}

static void timer_free_cb(uv_handle_t *h)
{
    vr_free(h);
}

/* Takes w out of the open-watch list and the stats. */
static void watch_unlink(struct ks_watch *w)
{
    struct ks_sim *sim = w->sim;
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        sim->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->linked = false;
    sim->watches_open--;
}

/* Stops delivery, unlinks and frees w. */
static void watch_release(struct ks_watch *w)
{
    if (w->sw)
        ks_store_unwatch(w->sim->store, w->sw);
    watch_unlink(w);
    uv_close((uv_handle_t *)w->timer, timer_free_cb);
    vr_buf_cleanup(&w->pre);
    vr_free(w);
}

/* No more events or timers; the stream is ending (on_close may still be coming). */
static void watch_quiesce(struct ks_watch *w)
{
    set_state(w, KS_WATCH_DONE);
    if (w->sw) {
        ks_store_unwatch(w->sim->store, w->sw);
        w->sw = NULL;
    }
    uv_timer_stop(w->timer);
    watch_unlink(w);
}

/* Clean end: the terminating chunk, then release. */
static void watch_end(struct ks_watch *w)
{
    watch_quiesce(w);
    vr_http_req_on_close(w->req, NULL, NULL);
    vr_http_stream_end(w->req);
    watch_release(w);
}

/* Abrupt end: the connection is cut; on_dropped (which httpd runs on a later loop turn)
 * releases w. */
static void watch_drop(struct ks_watch *w)
{
    watch_quiesce(w);
    vr_http_abort(w->req);
}

static void on_dropped(struct vr_http_req *req, void *arg)
{
    VR_UNUSED(req);
    watch_release(arg);
}

static void check_backlog(struct ks_watch *w)
{
    if (vr_http_stream_pending(w->req) <= w->sim->opts.watch_backlog_max)
        return;
    VR_LOG(VR_LOG_WARN, SUBSYS, "dropping slow watcher resource=%s backlog=%zu", w->res->plural,
           vr_http_stream_pending(w->req));
    set_state(w, KS_WATCH_OVERFLOW);
    uv_timer_start(w->timer, watch_timer_cb, 0, 0);
}

static void on_event(const struct ks_event *ev, void *arg)
{
    struct ks_watch *w = arg;
    if (w->state != KS_WATCH_STREAMING)
        return;
    if (!w->started || w->stall_until_ms) {
        if (vr_buf_append(&w->pre, ev->line, ev->line_len) < 0) {
            set_state(w, KS_WATCH_OVERFLOW);
            if (w->started)
                uv_timer_start(w->timer, watch_timer_cb, 0, 0);
        }
        return;
    }
    vr_http_stream_write(w->req, ev->line, ev->line_len);
    check_backlog(w);
}

static void send_bookmark(struct ks_watch *w)
{
    char line[512];
    const struct ks_resource *res = w->res;
    int n = snprintf(line, sizeof(line),
                     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s%s%s\","
                     "\"metadata\":{\"resourceVersion\":\"%" PRIu64 "\"}}}\n",
                     res->kind, res->group, res->group[0] ? "/" : "", res->version,
                     ks_store_rv(w->sim->store));
    vr_assert(n > 0 && (size_t)n < sizeof(line));
    vr_http_stream_write(w->req, line, (size_t)n);
    check_backlog(w);
}

static void watch_arm(struct ks_watch *w)
{
    uint64_t now = uv_now(w->sim->loop), next = w->deadline_ms;
    if (w->stall_until_ms) {
        /* Held: nothing is due before the stall ends, not even the deadline. */
        uint64_t wait = w->stall_until_ms > now ? w->stall_until_ms - now : 0;
        uv_timer_start(w->timer, watch_timer_cb, wait, 0);
        return;
    }
    if (w->bookmarks && w->next_bookmark_ms < next)
        next = w->next_bookmark_ms;
    if (w->bookmarks && !w->final_bookmark && w->deadline_ms - FINAL_BOOKMARK_MS < next)
        next = w->deadline_ms - FINAL_BOOKMARK_MS;
    uv_timer_start(w->timer, watch_timer_cb, next > now ? next - now : 0, 0);
}

/* Ends a due stall, writing what it held. false while it lasts, or when the held bytes
 * overflowed the backlog (the timer then drops the watch). */
static bool stall_end(struct ks_watch *w, uint64_t now)
{
    if (now < w->stall_until_ms) {
        watch_arm(w);
        return false;
    }
    w->stall_until_ms = 0;
    if (w->pre.len > 0)
        vr_http_stream_write(w->req, w->pre.p, w->pre.len);
    vr_buf_cleanup(&w->pre);
    check_backlog(w);
    return w->state == KS_WATCH_STREAMING;
}

static void watch_timer_cb(uv_timer_t *t)
{
    struct ks_watch *w = t->data;
    uint64_t now = uv_now(w->sim->loop);
    if (w->state == KS_WATCH_OVERFLOW) {
        watch_drop(w);
        return;
    }
    if (w->stall_until_ms && !stall_end(w, now))
        return;
    if (now >= w->deadline_ms) {
        watch_end(w);
        return;
    }
    if (w->bookmarks && now >= w->next_bookmark_ms) {
        send_bookmark(w);
        w->next_bookmark_ms = now + w->sim->opts.bookmark_interval_ms;
    }
    if (w->bookmarks && !w->final_bookmark && now >= w->deadline_ms - FINAL_BOOKMARK_MS) {
        send_bookmark(w);
        w->final_bookmark = true;
    }
    if (w->state == KS_WATCH_STREAMING)
        watch_arm(w);
}

struct watch_params {
    char rv[32];
    bool has_rv;
    int64_t timeout_s; /* 0: the server's cap */
    bool bookmarks;
    struct ks_selector sel;
};

static int reject(struct vr_http_req *req, const struct ks_route *r, int code, const char *reason,
                  const char *msg)
{
    struct ks_status st;
    ks__status_set(&st, code, reason, "%s", msg);
    ks__respond_status(req, &st, r->res, 0);
    return -1;
}

/* Watch-list (KEP-3157) is not implemented: answer like a server without it. */
static int check_watch_list(struct vr_http_req *req, const struct ks_route *r, struct vr_str q)
{
    char v[32];
    if (vr_http_query_get(q, "resourceVersionMatch", v, sizeof(v)) && v[0])
        return reject(req, r, 422, "Invalid",
                      "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                      "resourceVersionMatch is forbidden for watch");
    if (ks__query_bool(q, "sendInitialEvents"))
        return reject(req, r, 422, "Invalid",
                      "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: "
                      "sendInitialEvents is forbidden for watch unless the WatchList feature "
                      "gate is enabled");
    return 0;
}

static int parse_params(struct vr_http_req *req, const struct ks_route *r, struct watch_params *p)
{
    struct vr_str q = vr_http_req_query(req);
    char fs[SELECTOR_MAX] = "", ls[SELECTOR_MAX] = "", ts[32];
    struct ks_status st;
    memset(p, 0, sizeof(*p));
    if (check_watch_list(req, r, q) < 0)
        return -1;
    p->has_rv = vr_http_query_get(q, "resourceVersion", p->rv, sizeof(p->rv)) && p->rv[0];
    p->bookmarks = ks__query_bool(q, "allowWatchBookmarks");
    if (vr_http_query_get(q, "timeoutSeconds", ts, sizeof(ts)) && ts[0] &&
        vr_parse_int64(vr_str_c(ts), 0, INT32_MAX, &p->timeout_s) < 0)
        return reject(req, r, 400, "BadRequest", "invalid timeoutSeconds: not a whole number");
    snprintf(p->sel.ns, sizeof(p->sel.ns), "%s", r->ns);
    vr_http_query_get(q, "fieldSelector", fs, sizeof(fs));
    vr_http_query_get(q, "labelSelector", ls, sizeof(ls));
    if (ks_selector_parse(&p->sel, fs, ls, &st) < 0) {
        ks__respond_status(req, &st, r->res, 0);
        return -1;
    }
    if (r->target == KS_TARGET_OBJECT)
        snprintf(p->sel.field_name, sizeof(p->sel.field_name), "%s", r->name);
    return 0;
}

static struct ks_watch *watch_new(struct ks_sim *sim, struct vr_http_req *req,
                                  const struct ks_route *r, const struct watch_params *p)
{
    struct ks_watch *w = vr_xcalloc(1, sizeof(*w));
    w->sim = sim;
    w->req = req;
    w->res = r->res;
    w->bookmarks = p->bookmarks;
    vr_buf_init(&w->pre, sim->opts.watch_backlog_max);
    w->timer = vr_xmalloc(sizeof(*w->timer));
    vr_assert(uv_timer_init(sim->loop, w->timer) == 0);
    w->timer->data = w;
    return w;
}

/* Errors found once the watch is accepted arrive as HTTP 200 + one ERROR event. */
static void answer_error_event(struct vr_http_req *req, const struct ks_status *st,
                               const struct ks_resource *res)
{
    char *status = ks__status_body(st, res, 0);
    char *line = vr_xasprintf("{\"type\":\"ERROR\",\"object\":%s}\n", status);
    VR_LOG(VR_LOG_DEBUG, SUBSYS, "watch refused with an ERROR event code=%d", st->code);
    vr_http_stream_start(req, 200, "application/json");
    vr_http_stream_write(req, line, strlen(line));
    vr_http_stream_end(req);
    vr_free(line);
    vr_free(status);
}

static void compute_deadline(struct ks_watch *w, const struct watch_params *p)
{
    uint64_t now = uv_now(w->sim->loop), len_ms;
    if (p->timeout_s > 0) {
        len_ms = (uint64_t)p->timeout_s * 1000;
    } else {
        /* Like min-request-timeout x random[1,2): clients must expect any length. */
        uint64_t base = (uint64_t)w->sim->opts.watch_max_s * 1000;
        len_ms = base + base * (uv_hrtime() % 1000) / 1000;
    }
    w->deadline_ms = now + len_ms;
    w->next_bookmark_ms = now + w->sim->opts.bookmark_interval_ms;
    w->final_bookmark = len_ms <= FINAL_BOOKMARK_MS;
}

static void watch_link(struct ks_sim *sim, struct ks_watch *w)
{
    w->next = sim->watches;
    if (w->next)
        w->next->prev = w;
    sim->watches = w;
    w->linked = true;
    sim->watches_open++;
}

/* The store accepted the watch: headers, the replay, then live events. */
static void watch_begin(struct ks_watch *w, const struct watch_params *p)
{
    struct vr_http_req *req = w->req;
    watch_link(w->sim, w);
    vr_http_req_on_close(req, on_dropped, w);
    VR_LOG(VR_LOG_DEBUG, SUBSYS, "request method=GET resource=%s watch=true code=200 rv=%s",
           w->res->plural, p->has_rv ? p->rv : "");
    vr_http_stream_start(req, 200, "application/json");
    w->started = true;
    if (w->pre.len > 0)
        vr_http_stream_write(req, w->pre.p, w->pre.len);
    vr_buf_cleanup(&w->pre);
    compute_deadline(w, p);
    if (w->state == KS_WATCH_OVERFLOW) {
        uv_timer_start(w->timer, watch_timer_cb, 0, 0);
        return;
    }
    check_backlog(w);
    if (w->state == KS_WATCH_STREAMING)
        watch_arm(w);
}

void ks__watch_start(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r)
{
    struct watch_params p;
    struct ks_status st;
    if (parse_params(req, r, &p) < 0)
        return;
    struct ks_watch *w = watch_new(sim, req, r, &p);
    int rc = ks_store_watch(sim->store, r->res, &p.sel, p.has_rv ? p.rv : NULL, on_event, w,
                            &w->sw, &st);
    if (rc == 0) {
        watch_begin(w, &p);
        return;
    }
    w->sw = NULL;
    watch_release(w);
    if (st.code == 410)
        answer_error_event(req, &st, r->res);
    else
        ks__respond_status(req, &st, r->res, st.code == 504 ? 1 : 0);
}

unsigned ks__watch_drop_all(struct ks_sim *sim)
{
    unsigned n = 0;
    struct ks_watch *w = sim->watches, *next;
    for (; w; w = next) {
        next = w->next;
        if (w->state == KS_WATCH_DONE)
            continue;
        watch_drop(w);
        n++;
    }
    return n;
}

unsigned ks__watch_stall_all(struct ks_sim *sim, unsigned ms)
{
    unsigned n = 0;
    uint64_t until = uv_now(sim->loop) + ms;
    for (struct ks_watch *w = sim->watches; w; w = w->next) {
        if (w->state != KS_WATCH_STREAMING)
            continue;
        w->stall_until_ms = until;
        watch_arm(w);
        n++;
    }
    return n;
}
