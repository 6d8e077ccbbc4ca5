/*
 * vreqd's health and metrics endpoints on the project's httpd (vreq/httpd.h):
 *
 *   GET /healthz   200 "ok\n" while the loop serves requests; 500 "unhealthy: ...\n" when the
 *                  optional is_healthy predicate says so (a leader whose lease has not been
 *                  renewed, say)
 *   GET /readyz    200 "ok role=<role>\n" once is_ready says the initial lists synced, else
 *                  503 "not ready role=<role>\n"; role comes from the role callback
 *                  ("leader", "follower"), "none" without one
 *   GET /metrics   runs the registry's collectors, then 200 with the exposition,
 *                  Content-Type "text/plain; version=0.0.4; charset=utf-8"
 *
 * HEAD works like GET without a body; any other method on these paths gets 405 with
 * "Allow: GET, HEAD"; other paths 404. Malformed, oversized and slow requests get the
 * httpd's 400 / 431 / 408 answers (see vr_endpoints_httpd_opts).
 */
#ifndef VR_SERVER_ENDPOINTS_H
#define VR_SERVER_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "server/metrics.h"
#include "vreq/httpd.h"

#define VR_ENDPOINTS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct vr_endpoints_opts {
    struct vr_metrics *metrics; /* borrowed; NULL: /metrics answers 404 */
    /* Predicates; each may be NULL. is_ready NULL means always ready; is_healthy NULL
     * means always healthy. reason (cap bytes) may be filled for an unhealthy answer. */
    bool (*is_ready)(void *arg);
    bool (*is_healthy)(void *arg, char *reason, size_t cap);
    const char *(*role)(void *arg);
    void *arg;
    size_t max_metrics_bytes;    /* cap on one exposition (default 8 MiB) */
    struct vr_httpd_opts http;   /* vr_endpoints_opts_default fills the metrics-port limits */
};

/* Fills o: no metrics, no predicates, max_metrics_bytes 8 MiB, and httpd limits for a
 * scrape port: 8 KiB of headers, no body, 5 s to send a request (slowloris), 30 s idle,
 * 64 connections. */
void vr_endpoints_opts_default(struct vr_endpoints_opts *o);

struct vr_endpoints;

/* Creates the server and listens on addr ("HOST:PORT", ":PORT", port 0 for a free one;
 * the caller skips the call when --metrics-addr is "0"). o is copied; what it points to is
 * borrowed and must outlive the endpoints. 0 with *out written, VR_EINVAL (bad address or
 * options) or a libuv error (address in use). */
int vr_endpoints_start(uv_loop_t *loop, const char *addr, const struct vr_endpoints_opts *o,
                       struct vr_endpoints **out);

/* The bound port. */
int vr_endpoints_port(const struct vr_endpoints *e);

/* Stops listening, drops open connections and frees e; cb(arg) (may be NULL) runs once
 * everything is closed, never inside this call. Call once. */
void vr_endpoints_close(struct vr_endpoints *e, void (*cb)(void *arg), void *arg);

#endif
