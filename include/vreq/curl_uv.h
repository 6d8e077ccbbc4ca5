/*
 * The libcurl multi <-> libuv bridge, and one asynchronous HTTP request on it.
 *
 * A struct vr_curl_uv owns one CURLM on one uv_loop_t (after curl's docs/examples/multi-uv.c):
 * every request started on it shares its connection cache, so requests to the same host reuse
 * kept-alive connections (and multiplex over HTTP/2 when TLS offers it). Nothing here blocks:
 * no curl_easy_perform, no synchronous resolve on the loop thread.
 *
 * Life of a request:
 *
 *   req = vr_req_new(cu, "GET", url);          state NEW, owned by the caller
 *   vr_req_add_header(req, "Accept: ...");      setters: only while NEW
 *   vr_req_start(req, on_done, arg);            0: owned by the bridge from now on
 *   ... later, on the loop ...
 *   on_done(req, status, arg);                  exactly once; accessors valid here
 *                                               after it returns the bridge frees req
 *
 * Completion statuses: 0 (the transfer completed; any HTTP status, read it with
 * vr_req_http_status), VR_EHTTP (transport error: resolve, connect, TLS, protocol; curl's
 * message in vr_req_error_text), VR_ETIMEDOUT (vr_req_set_timeout_ms elapsed), VR_ETOOBIG
 * (response body or headers over their caps), VR_ECANCELED (vr_req_cancel or
 * vr_curl_uv_close), or the negative code a data callback returned to abort the transfer.
 *
 * Logging: subsystem "curl", trace level only; a URL is logged as scheme://host[:port]/path
 * (no userinfo, no query string). While "curl" is traced, libcurl's own debug output is
 * logged too, one line per message or header line, through the redactor of
 * src/http/curl_debug.h: credential-bearing header values become "<redacted>".
 */
#ifndef VREQ_CURL_UV_H
#define VREQ_CURL_UV_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "vreq/str.h"

struct vr_curl_uv;
struct vr_req;

/* Default cap on a buffered response body (vr_req_set_body_cap). */
#define VR_REQ_BODY_CAP_DEFAULT ((size_t)8 * 1024 * 1024)
/* Cap on the stored response headers of one request; more is VR_ETOOBIG. */
#define VR_REQ_HEADER_CAP ((size_t)64 * 1024)

/* Completion callback: runs exactly once per successfully started request, always from the
 * loop (never inside vr_req_start, vr_req_cancel or vr_curl_uv_close). status is described
 * above. req and its accessors are valid until the callback returns; the bridge frees req
 * afterwards, so the callback must not free it nor keep the pointer. */
typedef void (*vr_req_done_cb)(struct vr_req *req, int status, void *arg);

/* Streaming callback (vr_req_set_data_cb): receives each piece of the response body as curl
 * delivers it; the slice is borrowed, unterminated, valid only during the call, and never
 * empty. vr_req_http_status and vr_req_header already work here. Return 0 to continue, or a
 * negative VR_E* code to abort the transfer: done then runs with that code. Allowed here:
 * vr_req_cancel (of this or another request; this one then stops and gets VR_ECANCELED),
 * vr_req_start of new requests (added to curl on the next loop turn) and vr_curl_uv_close. */
typedef int (*vr_req_data_cb)(struct vr_req *req, struct vr_str chunk, void *arg);

/* Runs once the bridge is completely gone (vr_curl_uv_close). */
typedef void (*vr_curl_uv_closed_cb)(void *arg);

/* TLS settings of one request. Every member is optional (NULL / {NULL, 0} / false). Blobs are
 * PEM text and are copied by vr_req_set_tls, so they may be freed right after the call; no
 * temporary files are written. */
struct vr_tls_opts {
    const char *ca_file;       /* CA bundle path (replaces the system store) */
    struct vr_str ca_pem;      /* CA bundle as PEM text (replaces ca_file and the system store) */
    const char *cert_file;     /* client certificate (PEM) path */
    struct vr_str cert_pem;    /* client certificate as PEM text (wins over cert_file) */
    const char *key_file;      /* client private key (PEM) path */
    struct vr_str key_pem;     /* client private key as PEM text (wins over key_file) */
    bool insecure_skip_verify; /* no peer or host name verification (kubeconfig's flag) */
};

/* Creates a bridge on loop: one CURLM, one uv_timer_t and one uv_idle_t (for deferred
 * completions), plus one uv_poll_t per socket curl uses. Also takes a reference on
 * curl_global_init, released when the bridge is freed. Writes *out only on success.
 * 0, or VR_EHTTP when libcurl cannot be initialised. */
int vr_curl_uv_new(uv_loop_t *loop, struct vr_curl_uv **out);

/* Asynchronous teardown. Every started request not yet completed is cancelled: its done
 * callback runs (from the loop, not from this call) with VR_ECANCELED. Then the multi handle
 * is cleaned up (closing pooled connections), the timer, the idle handle and every poll are
 * closed, the bridge frees itself once the last close callback has run, and only then cb(arg)
 * runs (cb may be NULL). Done callbacks running during the close may not start requests:
 * vr_req_start returns VR_ESHUTDOWN. Call at most once; cu is invalid once cb runs. */
void vr_curl_uv_close(struct vr_curl_uv *cu, vr_curl_uv_closed_cb cb, void *arg);

/* Lets curl send the requests started since it last ran, now rather than on the next loop
 * turn: for a caller about to spend a while on the CPU (a list page to absorb) that wants
 * the server working on the next request meanwhile. Only curl's due work runs: transfers
 * that finish are collected on the next turn, so no done callback runs from here. No-op
 * when there is nothing to send, or when called from inside a curl callback. */
void vr_curl_uv_flush(struct vr_curl_uv *cu);

/* The number of requests started on cu whose done callback has not returned yet. */
size_t vr_curl_uv_active(const struct vr_curl_uv *cu);

/* Creates a request for method ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"; any token
 * is sent as is) and url (copied). The request is NEW and owned by the caller until a
 * successful vr_req_start; a request that is never started is released with vr_req_free.
 * Never returns NULL (aborts on OOM like vr_xmalloc); a malformed url is reported at
 * completion as VR_EHTTP. Defaults: no timeout, body cap VR_REQ_BODY_CAP_DEFAULT, system CA
 * store, HTTP/2 over TLS when libcurl offers it, no redirects followed, http and https only;
 * libcurl's usual *_proxy environment variables apply. */
struct vr_req *vr_req_new(struct vr_curl_uv *cu, const char *method, const char *url);

/* Releases a request that was never started (state NEW). Started requests are freed by the
 * bridge after their done callback; calling this on one is a programmer error (abort). */
void vr_req_free(struct vr_req *req);

/* Adds a request header, "Name: value" (copied). "Name:" removes a header curl would add
 * itself. 0, or VR_EINVAL when the line contains CR or LF or has no ':' (header injection). */
int vr_req_add_header(struct vr_req *req, const char *line);

/* Sets the request body (n bytes of p, copied; replaces an earlier body). A body is sent with
 * Content-Length for any method; "Expect: 100-continue" is never sent. */
void vr_req_set_body(struct vr_req *req, const void *p, size_t n);

/* Like vr_req_set_body, but takes ownership of p (allocated with vr_x*, freed by the
 * request with vr_free). */
void vr_req_set_body_take(struct vr_req *req, void *p, size_t n);

/* Caps the buffered response body at max bytes (> 0). A larger body ends the request with
 * VR_ETOOBIG, early when the server announces its Content-Length. Ignored with a data
 * callback, which sees every byte. */
void vr_req_set_body_cap(struct vr_req *req, size_t max);

/* Streams the response body to cb instead of buffering it (watches); vr_req_body is then
 * empty in the done callback. See vr_req_data_cb for the contract. */
void vr_req_set_data_cb(struct vr_req *req, vr_req_data_cb cb, void *arg);

/* Whole-transfer timeout, connect included (0 = none, the default). Elapsing ends the
 * request with VR_ETIMEDOUT. */
void vr_req_set_timeout_ms(struct vr_req *req, unsigned ms);

/* Applies TLS settings (see struct vr_tls_opts; copied). 0, or VR_EUNSUPPORTED when this
 * libcurl's TLS backend cannot take one of them (for example PEM blobs). */
int vr_req_set_tls(struct vr_req *req, const struct vr_tls_opts *tls);

/* Starts the transfer on its bridge. On 0 the bridge owns req and done(req, status, arg)
 * will run exactly once, later, from the loop. On failure req has already been freed (never
 * call vr_req_free after vr_req_start, whatever it returned) and done never runs:
 * VR_ESHUTDOWN (the bridge is closing) or VR_EHTTP (libcurl refused the handle). */
int vr_req_start(struct vr_req *req, vr_req_done_cb done, void *arg);

/* Cancels a started request: its done callback runs once with VR_ECANCELED, from the loop
 * and never inside this call. No-op when the request is already completing (its final status
 * is decided) or is inside its own done callback. req must not have been freed yet. */
void vr_req_cancel(struct vr_req *req);

/* HTTP status of the final response, 0 when none was received. Valid in data and done
 * callbacks. */
int vr_req_http_status(const struct vr_req *req);

/* The buffered response body: empty with a data callback; after an error, whatever arrived
 * before it (nothing after VR_ETOOBIG). Valid in the done callback; do not rely on a NUL. */
struct vr_str vr_req_body(const struct vr_req *req);

/* The value (trimmed) of the first response header called name, compared ASCII
 * case-insensitively, of the final response; {NULL, 0} when absent. Valid in data and done
 * callbacks. */
struct vr_str vr_req_header(const struct vr_req *req, const char *name);

/* Why the request failed, for logs: curl's message (CURLOPT_ERRORBUFFER) for VR_EHTTP and
 * VR_ETIMEDOUT, vr_strerror(status) for the other errors, "" on success. Never NULL; valid in
 * the done callback. */
const char *vr_req_error_text(const struct vr_req *req);

/* The method passed to vr_req_new. */
const char *vr_req_method(const struct vr_req *req);

#endif
