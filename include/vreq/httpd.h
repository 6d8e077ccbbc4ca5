/*
 * HTTP/1.1 server on libuv + http-parser (the only file that includes http_parser.h is
 * src/server/httpd.c). Used by kubesim and by vreqd's health/metrics endpoints.
 *
 * One handler receives every complete request. It must answer it exactly once, now or
 * later: vr_http_respond() for a whole response, or vr_http_stream_start() +
 * vr_http_stream_write()* + vr_http_stream_end() for a chunked one (watches), or
 * vr_http_abort() to cut the connection. Requests on one keep-alive connection are
 * answered in order; reading is paused while a response is pending.
 *
 * Limits: headers over max_header_bytes get 431, bodies over max_body_bytes 413,
 * malformed requests 400; each then closes the connection. A connection idle (no
 * request in progress, nothing being written) for idle_timeout_ms is closed, and a
 * request whose headers and body are not complete within request_timeout_ms gets 408
 * (slowloris). Streaming responses are exempt from both timeouts.
 */
#ifndef VREQ_HTTPD_H
#define VREQ_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "vreq/str.h"

struct vr_httpd;
struct vr_http_req;

struct vr_http_header {
    struct vr_str name; /* as received */
    struct vr_str value;
};

struct vr_httpd_opts {
    size_t max_header_bytes;     /* default 16 KiB */
    size_t max_body_bytes;       /* default 1 MiB; 0 means no body accepted */
    unsigned idle_timeout_ms;    /* default 60000 */
    unsigned request_timeout_ms; /* default 10000 */
    unsigned max_connections;    /* default 1024; further accepts are closed at once */
};

/* Fills opts with the defaults above. */
void vr_httpd_opts_default(struct vr_httpd_opts *opts);

/* Called once per complete request. req stays valid until the response is finished or
 * the on_close callback (vr_http_req_on_close) has run. */
typedef void (*vr_httpd_handler_cb)(struct vr_http_req *req, void *arg);

/* Called at most once when a request is dropped before its response finished (peer
 * closed, vr_http_abort(), server closing). After it returns, req is gone. */
typedef void (*vr_http_req_close_cb)(struct vr_http_req *req, void *arg);

typedef void (*vr_httpd_closed_cb)(void *arg);

/* Allocates a server; opts may be NULL for defaults. 0 or VR_EINVAL. */
int vr_httpd_new(uv_loop_t *loop, const struct vr_httpd_opts *opts, vr_httpd_handler_cb handler,
                 void *arg, struct vr_httpd **out);

/* Binds and listens on "HOST:PORT" (":PORT" = all IPv4 addresses, "[::1]:PORT" for
 * IPv6; port 0 picks a free one). 0, VR_EINVAL (bad address) or a libuv error. */
int vr_httpd_listen(struct vr_httpd *s, const char *addr);

/* The bound port, after a successful listen. */
int vr_httpd_port(const struct vr_httpd *s);

/* Stops accepting, drops every connection (open requests get their on_close callback)
 * and frees the server once all handles are closed; cb (may be NULL) runs then. */
void vr_httpd_close(struct vr_httpd *s, vr_httpd_closed_cb cb, void *arg);

/* Request accessors; slices are valid as long as req is. */
const char *vr_http_req_method(const struct vr_http_req *req); /* "GET", "PATCH", ... */
struct vr_str vr_http_req_path(const struct vr_http_req *req);  /* raw, without query */
struct vr_str vr_http_req_query(const struct vr_http_req *req); /* raw, after '?' */
struct vr_str vr_http_req_body(const struct vr_http_req *req);
/* First header with that name (ASCII case-insensitive); {NULL, 0} when absent. */
struct vr_str vr_http_req_header(const struct vr_http_req *req, const char *name);
size_t vr_http_req_headers(const struct vr_http_req *req, const struct vr_http_header **out);
/* "127.0.0.1:54321" of the peer. */
const char *vr_http_req_peer(const struct vr_http_req *req);

/* Looks up key in a raw query string. Returns true and the *decoded* value in out
 * (NUL-terminated, truncated to cap) when present; "k" alone gives "". */
bool vr_http_query_get(struct vr_str query, const char *key, char *out, size_t cap);

/* Adds a response header before responding ("Retry-After", "3"). Content-Length,
 * Transfer-Encoding, Connection and Date are managed by the server. */
void vr_http_add_header(struct vr_http_req *req, const char *name, const char *value);

/* Sends a whole response and finishes the request. The body is copied. */
void vr_http_respond(struct vr_http_req *req, int status, const char *content_type,
                     const char *body, size_t len);

/* Starts a chunked response: status line and headers go out now. */
void vr_http_stream_start(struct vr_http_req *req, int status, const char *content_type);
/* Sends one chunk (copied); n == 0 is a no-op. */
void vr_http_stream_write(struct vr_http_req *req, const char *p, size_t n);
/* Sends the terminating chunk and finishes the request (keep-alive continues). */
void vr_http_stream_end(struct vr_http_req *req);
/* Bytes queued for the peer but not yet written (for dropping slow watchers). */
size_t vr_http_stream_pending(const struct vr_http_req *req);

/* Closes the connection at once, without finishing the response (a dropped watch). The
 * request's on_close callback runs. */
void vr_http_abort(struct vr_http_req *req);

/* Registers the drop callback for a request answered later (async or streaming). */
void vr_http_req_on_close(struct vr_http_req *req, vr_http_req_close_cb cb, void *arg);

#endif
