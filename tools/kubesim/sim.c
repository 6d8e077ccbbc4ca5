/* kubesim server core: lifecycle, request entry (auth, faults, delays), responses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"
#include "core/common.h"

#include "sim_int.h"

#define SUBSYS "kubesim"

/* A request waiting out a delay fault on its own timer. */
struct ks_delay {
    struct ks_delay *prev, *next;
    struct ks_sim *sim;
    struct vr_http_req *req;
    uv_timer_t *timer; /* separately allocated: freed in its close callback */
    struct ks_fault fault;
};

void ks_sim_opts_default(struct ks_sim_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->failed_phase = true;
    opts->compaction_window = 1000;
    opts->bookmark_interval_ms = 60000;
    opts->watch_max_s = 1800;
    opts->watch_backlog_max = 16u << 20;
    opts->max_body_bytes = 3u << 20;
}

int64_t ks__now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- responses ---- */

static void log_response(struct vr_http_req *req, int code)
{
    struct vr_str path = vr_http_req_path(req);
    VR_LOG(VR_LOG_DEBUG, SUBSYS, "request method=%s path=%.*s code=%d", vr_http_req_method(req),
           (int)path.n, path.p, code);
}

void ks__respond(struct vr_http_req *req, int code, const char *content_type, const char *body,
                 size_t len)
{
    log_response(req, code);
    vr_http_respond(req, code, content_type, body, len);
}

void ks__respond_json(struct vr_http_req *req, int code, const char *body, size_t len)
{
    ks__respond(req, code, "application/json", body, len);
}

void ks__respond_obj(struct vr_http_req *req, int code, const cJSON *obj)
{
    char *body = cJSON_PrintUnformatted(obj);
    vr_assert(body != NULL);
    ks__respond_json(req, code, body, strlen(body));
    cJSON_free(body);
}

void ks__status_set(struct ks_status *st, int code, const char *reason, const char *fmt, ...)
{
    va_list ap;
    memset(st, 0, sizeof(*st));
    st->code = code;
    snprintf(st->reason, sizeof(st->reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
}

char *ks__status_body(const struct ks_status *st, const struct ks_resource *res, int retry_after)
{
    struct ks_status copy = *st;
    if (retry_after > 0)
        copy.retry_after_s = retry_after;
    return ks_status_json(&copy, res);
}

void ks__respond_status(struct vr_http_req *req, const struct ks_status *st,
                        const struct ks_resource *res, int retry_after)
{
    if (retry_after <= 0)
        retry_after = st->retry_after_s;
    char *body = ks__status_body(st, res, retry_after);
    if (retry_after > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_after);
        vr_http_add_header(req, "Retry-After", v);
    }
    ks__respond_json(req, st->code, body, strlen(body));
    vr_free(body);
}

/* ---- entry: auth, faults, delays ---- */

static bool is_open_path(struct vr_str path)
{
    return vr_str_eq_c(path, "/healthz") || vr_str_eq_c(path, "/livez") ||
           vr_str_eq_c(path, "/readyz");
}

static bool auth_ok(const struct ks_sim *sim, struct vr_http_req *req)
{
    if (!sim->token)
        return true;
    struct vr_str h = vr_str_trim(vr_http_req_header(req, "Authorization"));
    size_t tlen = strlen(sim->token);
    if (h.n != 7 + tlen || !vr_str_caseeq_c(vr_str_make(h.p, 7), "Bearer "))
        return false;
    return CRYPTO_memcmp(h.p + 7, sim->token, tlen) == 0;
}

static void respond_fault(struct vr_http_req *req, const struct ks_fault *f)
{
    if (f->plain) {
        static const char msg[] = "Too many requests, please try again later.\n";
        char v[16];
        snprintf(v, sizeof(v), "%d", f->retry_after > 0 ? f->retry_after : 1);
        vr_http_add_header(req, "Retry-After", v);
        ks__respond(req, f->code, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
        return;
    }
    struct ks_status st;
    const char *reason = f->code == 429   ? "TooManyRequests"
                         : f->code == 503 ? "ServiceUnavailable"
                         : f->code == 504 ? "Timeout"
                         : f->code >= 500 ? "InternalError"
                                          : "BadRequest";
    ks__status_set(&st, f->code, reason, "kubesim injected fault: HTTP %d", f->code);
    ks__respond_status(req, &st, NULL, f->retry_after);
}

static void dispatch(struct ks_sim *sim, struct vr_http_req *req)
{
    struct ks_route r;
    if (ks__route_parse(sim, vr_http_req_path(req), &r) == 0)
        ks__api_handle(sim, req, &r);
    else
        ks__discovery_handle(sim, req);
}

static void delay_unlink(struct ks_delay *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        d->sim->delays = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

static void timer_free_cb(uv_handle_t *h)
{
    vr_free(h);
}

static void delay_free(struct ks_delay *d)
{
    delay_unlink(d);
    uv_close((uv_handle_t *)d->timer, timer_free_cb);
    vr_free(d);
}

static void delay_dropped_cb(struct vr_http_req *req, void *arg)
{
    struct ks_delay *d = arg;
    VR_UNUSED(req);
    delay_free(d);
}

static void delay_done_cb(uv_timer_t *t)
{
    struct ks_delay *d = t->data;
    struct ks_sim *sim = d->sim;
    struct vr_http_req *req = d->req;
    struct ks_fault f = d->fault;
    vr_http_req_on_close(req, NULL, NULL);
    delay_free(d);
    if (f.code)
        respond_fault(req, &f);
    else
        dispatch(sim, req);
}

static void delay_start(struct ks_sim *sim, struct vr_http_req *req, const struct ks_fault *f)
{
    struct ks_delay *d = vr_xcalloc(1, sizeof(*d));
    d->sim = sim;
    d->req = req;
    d->fault = *f;
    d->timer = vr_xmalloc(sizeof(*d->timer));
    vr_assert(uv_timer_init(sim->loop, d->timer) == 0);
    d->timer->data = d;
    d->next = sim->delays;
    if (d->next)
        d->next->prev = d;
    sim->delays = d;
    vr_http_req_on_close(req, delay_dropped_cb, d);
    uv_timer_start(d->timer, delay_done_cb, f->delay_ms, 0);
}

static void handle_api(struct ks_sim *sim, struct vr_http_req *req, struct vr_str path)
{
    const char *method = vr_http_req_method(req);
    if (!auth_ok(sim, req)) {
        struct ks_status st;
        ks__status_set(&st, 401, "Unauthorized", "Unauthorized");
        ks__respond_status(req, &st, NULL, 0);
        return;
    }
    struct ks_route r;
    enum ks_req_class cls = KS_REQ_OTHER;
    if (ks__route_parse(sim, path, &r) == 0)
        cls = ks__classify(method, &r, vr_http_req_query(req));
    if (cls != KS_REQ_OTHER)
        sim->counts[cls]++;
    struct ks_fault f;
    if (!ks__fault_take(sim, method, cls, path, &f)) {
        dispatch(sim, req);
        return;
    }
    if (f.delay_ms > 0)
        delay_start(sim, req, &f);
    else if (f.code)
        respond_fault(req, &f);
    else
        dispatch(sim, req);
}

static void on_request(struct vr_http_req *req, void *arg)
{
    struct ks_sim *sim = arg;
    struct vr_str path = vr_http_req_path(req);
    if (vr_str_starts_with(path, "/kubesim/")) {
        ks__admin_handle(sim, req);
        return;
    }
    if (is_open_path(path)) {
        ks__respond(req, 200, "text/plain; charset=utf-8", "ok", 2);
        return;
    }
    handle_api(sim, req, path);
}

/* ---- lifecycle ---- */

int ks_sim_new(uv_loop_t *loop, const struct ks_sim_opts *opts, struct ks_sim **out)
{
    struct ks_sim *sim = vr_xcalloc(1, sizeof(*sim));
    if (opts)
        sim->opts = *opts;
    else
        ks_sim_opts_default(&sim->opts);
    sim->loop = loop;
    if (sim->opts.token && sim->opts.token[0])
        sim->token = vr_xstrdup(sim->opts.token);
    sim->opts.token = NULL;
    struct ks_store_opts so = {
        .status_subresource = sim->opts.status_subresource,
        .failed_phase = sim->opts.failed_phase,
        .compaction_window = sim->opts.compaction_window,
    };
    sim->store = ks_store_new(&so);
    struct vr_httpd_opts ho;
    vr_httpd_opts_default(&ho);
    ho.max_body_bytes = sim->opts.max_body_bytes;
    int rc = vr_httpd_new(loop, &ho, on_request, sim, &sim->httpd);
    if (rc < 0)
        goto out_free;
    *out = sim;
    return 0;
out_free:
    ks_store_free(sim->store);
    vr_free(sim->token);
    vr_free(sim);
    return rc;
}

int ks_sim_listen(struct ks_sim *sim, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return VR_EINVAL;
    size_t n = (size_t)(colon - addr);
    if (n >= sizeof(sim->host))
        return VR_EINVAL;
    int rc = vr_httpd_listen(sim->httpd, addr);
    if (rc < 0)
        return rc;
    memcpy(sim->host, addr, n);
    sim->host[n] = '\0';
    return 0;
}

int ks_sim_port(const struct ks_sim *sim)
{
    return vr_httpd_port(sim->httpd);
}

struct ks_store *ks_sim_store(struct ks_sim *sim)
{
    return sim->store;
}

static void httpd_closed_cb(void *arg)
{
    struct ks_sim *sim = arg;
    /* httpd ran every open request's on_close before this, so no watch or delay is
     * left; drop anything that slipped through rather than leak it. */
    if (sim->watches || sim->delays)
        VR_LOG(VR_LOG_WARN, SUBSYS, "requests left at close watches=%u", sim->watches_open);
    while (sim->delays)
        delay_free(sim->delays);
    ks__faults_clear(sim);
    ks_store_free(sim->store);
    ks_sim_closed_cb cb = sim->closed_cb;
    void *cb_arg = sim->closed_arg;
    if (sim->token)
        vr_free_secret(sim->token, strlen(sim->token));
    vr_free(sim);
    if (cb)
        cb(cb_arg);
}

void ks_sim_close(struct ks_sim *sim, ks_sim_closed_cb cb, void *arg)
{
    vr_assert(!sim->closing);
    sim->closing = true;
    sim->closed_cb = cb;
    sim->closed_arg = arg;
    vr_httpd_close(sim->httpd, httpd_closed_cb, sim);
}
