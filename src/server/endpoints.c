/* /healthz, /readyz and /metrics on the project's httpd (see endpoints.h). */
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "server/endpoints.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"

struct vr_endpoints {
    struct vr_endpoints_opts o;
    struct vr_httpd *srv;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

void vr_endpoints_opts_default(struct vr_endpoints_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_metrics_bytes = (size_t)8 * 1024 * 1024;
    vr_httpd_opts_default(&o->http);
    o->http.max_header_bytes = 8 * 1024;
    o->http.max_body_bytes = 0;
    o->http.request_timeout_ms = 5000;
    o->http.idle_timeout_ms = 30000;
    o->http.max_connections = 64;
}

static void text(struct vr_http_req *req, int status, const char *body)
{
    vr_http_respond(req, status, "text/plain; charset=utf-8", body, strlen(body));
}

static const char *role_of(const struct vr_endpoints *e)
{
    const char *r = e->o.role ? e->o.role(e->o.arg) : NULL;
    return r ? r : "none";
}

static void serve_healthz(struct vr_endpoints *e, struct vr_http_req *req)
{
    char reason[128] = "";
    if (e->o.is_healthy && !e->o.is_healthy(e->o.arg, reason, sizeof(reason))) {
        char body[192];
        snprintf(body, sizeof(body), "unhealthy: %s\n", reason[0] ? reason : "check failed");
        text(req, 500, body);
        return;
    }
    text(req, 200, "ok\n");
}

static void serve_readyz(struct vr_endpoints *e, struct vr_http_req *req)
{
    bool ready = !e->o.is_ready || e->o.is_ready(e->o.arg);
    char body[128];
    snprintf(body, sizeof(body), "%s role=%s\n", ready ? "ok" : "not ready", role_of(e));
    text(req, ready ? 200 : 503, body);
}

static void serve_metrics(struct vr_endpoints *e, struct vr_http_req *req)
{
    struct vr_buf b;
    vr_buf_init(&b, e->o.max_metrics_bytes);
    vr_metrics_collect(e->o.metrics);
    int rc = vr_metrics_render(e->o.metrics, &b);
    if (rc < 0) {
        VR_LOG(VR_LOG_ERROR, "httpd", "metrics exposition failed: %s", vr_strerror(rc));
        text(req, 500, "metrics exposition over its cap\n");
        return;
    }
    vr_http_respond(req, 200, VR_ENDPOINTS_CONTENT_TYPE, b.p ? b.p : "", b.len);
    vr_buf_cleanup(&b);
}

static void handle(struct vr_http_req *req, void *arg)
{
    struct vr_endpoints *e = arg;
    struct vr_str path = vr_http_req_path(req);
    const char *method = vr_http_req_method(req);
    int route = vr_str_eq_c(path, "/healthz")   ? 1
                : vr_str_eq_c(path, "/readyz")  ? 2
                : vr_str_eq_c(path, "/metrics") ? 3
                                                : 0;
    if (route == 0 || (route == 3 && !e->o.metrics)) {
        text(req, 404, "not found\n");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        vr_http_add_header(req, "Allow", "GET, HEAD");
        text(req, 405, "method not allowed\n");
        return;
    }
    if (route == 1)
        serve_healthz(e, req);
    else if (route == 2)
        serve_readyz(e, req);
    else
        serve_metrics(e, req);
}

int vr_endpoints_start(uv_loop_t *loop, const char *addr, const struct vr_endpoints_opts *o,
                       struct vr_endpoints **out)
{
    if (!loop || !addr || !o || o->max_metrics_bytes == 0)
        return VR_EINVAL;
    struct vr_endpoints *e = vr_xcalloc(1, sizeof(*e));
    e->o = *o;
    int rc = vr_httpd_new(loop, &e->o.http, handle, e, &e->srv);
    if (rc < 0)
        goto out_free;
    rc = vr_httpd_listen(e->srv, addr);
    if (rc < 0)
        goto out_close;
    *out = e;
    return 0;
out_close:
    /* The httpd frees itself in a later loop turn; e has nothing it still needs. */
    vr_httpd_close(e->srv, NULL, NULL);
out_free:
    vr_free(e);
    return rc;
}

int vr_endpoints_port(const struct vr_endpoints *e)
{
    return vr_httpd_port(e->srv);
}

static void on_httpd_closed(void *arg)
{
    struct vr_endpoints *e = arg;
    void (*cb)(void *) = e->closed_cb;
    void *cb_arg = e->closed_arg;
    vr_free(e);
    if (cb)
        cb(cb_arg);
}

void vr_endpoints_close(struct vr_endpoints *e, void (*cb)(void *arg), void *arg)
{
    e->closed_cb = cb;
    e->closed_arg = arg;
    vr_httpd_close(e->srv, on_httpd_closed, e);
}
