/*
 * hclient: the benchmarks' bare HTTP/1.1 client over libuv (raw requests written by the
 * caller, responses parsed with http-parser), shared by bench_kubesim and bench_controller.
 * It is meant to cost as little as possible: no curl, no JSON, one request at a time per
 * keep-alive connection.
 *
 * Ownership: hc_open allocates a connection; its owner ends it with hc_release, which closes
 * it if needed and frees it once libuv's close has finished. A connection that fails closes
 * itself (c->failed, c->closed) but stays valid until released. No callback fires after
 * hc_release. struct hc_ctx counts the connections not yet through their close callback, so
 * a caller can run the loop until they are all gone (hc_wait_closed).
 */
#ifndef VR_BENCH_HCLIENT_H
#define VR_BENCH_HCLIENT_H
#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>
#include <uv.h>

#include "vreq/buf.h"

struct hc_ctx {
    uv_loop_t *loop;
    const char *name; /* prefix of the few messages written to stderr */
    int open_conns;   /* opened and not yet through their close callback */
};

struct hc_conn;
/* connect_cb: 0 or a negative libuv code; head_cb/done_cb: the HTTP status. */
typedef void (*hc_status_cb)(struct hc_conn *c, int status);
/* Body bytes (data_cb), or one complete line without its '\n' (line_cb). */
typedef void (*hc_data_cb)(struct hc_conn *c, const char *p, size_t n);

struct hc_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    http_parser parser;
    struct hc_ctx *ctx;
    /* Set by the owner, never touched here. */
    void *user;
    void *arg;
    unsigned long idx;
    /* Optional callbacks, set by the owner before they can fire. */
    hc_status_cb connect_cb; /* the connection is up, or failed (then it is closed) */
    hc_status_cb head_cb;    /* a response's headers are complete (watches) */
    hc_status_cb done_cb;    /* a response is complete */
    hc_data_cb data_cb;      /* body bytes as they come */
    hc_data_cb line_cb;      /* without data_cb: the body split into lines */
    struct vr_buf body;      /* without data_cb and line_cb: the response body */
    struct vr_buf lines;     /* line_cb: the unfinished line */
    bool connected, failed, closed, busy;
    bool close_done, released; /* freed once both */
    int code;                  /* HTTP status of the last response headers */
};

/* Starts connecting to 127.0.0.1:port (TCP_NODELAY); never NULL (a failure to start shows
 * as c->failed). */
struct hc_conn *hc_open(struct hc_ctx *ctx, int port);

/* Sends one request, raw bytes, taking data (vr_x*-allocated, NUL-terminated); the response
 * ends in done_cb. On a write error the connection fails and closes. */
void hc_send_take(struct hc_conn *c, char *data);

/* Closes c (its owner is done, or it failed); c stays valid until hc_release. Idempotent. */
void hc_close(struct hc_conn *c);

/* The owner is done with c: closes it if needed and frees it once the close has finished. */
void hc_release(struct hc_conn *c);

/* Runs the loop until every connection of ctx has finished closing. */
void hc_wait_closed(struct hc_ctx *ctx);

/* Predicates for run-until loops (arg is a struct hc_conn *): connected or failed; no
 * request in flight or failed; response headers seen or failed. */
bool hc_is_settled(void *arg);
bool hc_is_idle(void *arg);
bool hc_has_head(void *arg);

#endif
