/*
 * HTTP/1.1 server: the request reader (http-parser 2.9) and the libuv connection state
 * machine. This is the only file that includes http_parser.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "core/common.h"
#include "server/httpd_reader.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/log.h"
#include "vreq/mem.h"

/* ------------------------------------------------------------------------------------ */
/* Request reader                                                                        */
/* ------------------------------------------------------------------------------------ */

/* Header positions are kept as offsets while the head buffer may still move. */
struct hdr_off {
    size_t name_off, name_len, val_off, val_len;
};

enum hr_last { HR_NONE, HR_URL, HR_FIELD, HR_VALUE };

struct vr__hreader {
    http_parser parser;
    size_t max_header;
    size_t max_body;
    size_t head_bytes;  /* URL + names + values of this request, trailers included */
    struct vr_buf head; /* URL, then names and values, back to back */
    struct vr_buf body; /* decoded body */
    struct hdr_off *offs;
    size_t noffs, offs_cap;
    struct vr_http_header *hdrs;
    size_t url_len;
    enum hr_last last;
    bool started;      /* message_begin seen */
    bool headers_done; /* later field/value callbacks are trailers */
    bool complete;
    bool want_continue;
    bool failed;
    int status; /* verdict set by a callback (413/431) or at failure */
    const char *error;
    struct vr__hreq req;
};

static struct vr__hreader *reader_of(http_parser *p)
{
    return container_of(p, struct vr__hreader, parser);
}

/* Fails the callback with an HTTP status; http-parser then stops with HPE_CB_*. */
static int hr_reject(struct vr__hreader *r, int status, const char *why)
{
    r->status = status;
    r->error = why;
    return -1;
}

static int hr_count(struct vr__hreader *r, size_t n)
{
    if (n > r->max_header - r->head_bytes)
        return hr_reject(r, 431, "headers over cap");
    r->head_bytes += n;
    return 0;
}

static int hr_on_begin(http_parser *p)
{
    reader_of(p)->started = true;
    return 0;
}

static int hr_on_url(http_parser *p, const char *at, size_t n)
{
    struct vr__hreader *r = reader_of(p);
    if (hr_count(r, n) < 0)
        return -1;
    r->last = HR_URL;
    r->url_len += n;
    return vr_buf_append(&r->head, at, n) < 0 ? hr_reject(r, 431, "headers over cap") : 0;
}

static struct hdr_off *hr_new_header(struct vr__hreader *r)
{
    if (r->noffs == r->offs_cap) {
        r->offs_cap = r->offs_cap ? r->offs_cap * 2 : 16;
        r->offs = vr_xrealloc(r->offs, r->offs_cap * sizeof(*r->offs));
    }
    struct hdr_off *h = &r->offs[r->noffs++];
    h->name_off = r->head.len;
    h->name_len = 0;
    h->val_off = r->head.len;
    h->val_len = 0;
    return h;
}

static int hr_on_field(http_parser *p, const char *at, size_t n)
{
    struct vr__hreader *r = reader_of(p);
    if (hr_count(r, n) < 0)
        return -1;
    if (r->headers_done)
        return 0; /* trailers are counted, not kept */
    struct hdr_off *h = r->last == HR_FIELD ? &r->offs[r->noffs - 1] : hr_new_header(r);
    r->last = HR_FIELD;
    h->name_len += n;
    h->val_off = h->name_off + h->name_len;
    return vr_buf_append(&r->head, at, n) < 0 ? hr_reject(r, 431, "headers over cap") : 0;
}

static int hr_on_value(http_parser *p, const char *at, size_t n)
{
    struct vr__hreader *r = reader_of(p);
    if (hr_count(r, n) < 0)
        return -1;
    if (r->headers_done || r->noffs == 0)
        return 0;
    struct hdr_off *h = &r->offs[r->noffs - 1];
    r->last = HR_VALUE;
    h->val_len += n;
    return vr_buf_append(&r->head, at, n) < 0 ? hr_reject(r, 431, "headers over cap") : 0;
}

static struct vr_str hr_header(const struct vr__hreader *r, const char *name)
{
    for (size_t i = 0; i < r->req.nheaders; i++) {
        if (vr_str_caseeq_c(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    }
    return vr_str_make(NULL, 0);
}

/* The head buffer no longer moves once the headers are complete: build the slices. */
static void hr_build_req(struct vr__hreader *r)
{
    const char *base = r->head.p ? r->head.p : "";
    r->hdrs = vr_xrealloc(r->hdrs, (r->noffs ? r->noffs : 1) * sizeof(*r->hdrs));
    for (size_t i = 0; i < r->noffs; i++) {
        r->hdrs[i].name = vr_str_make(base + r->offs[i].name_off, r->offs[i].name_len);
        r->hdrs[i].value = vr_str_make(base + r->offs[i].val_off, r->offs[i].val_len);
    }
    struct vr__hreq *q = &r->req;
    q->method = http_method_str((enum http_method)r->parser.method);
    q->url = vr_str_make(base, r->url_len);
    if (!vr_str_split(q->url, '?', &q->path, &q->query))
        q->query = vr_str_make("", 0);
    q->headers = r->hdrs;
    q->nheaders = r->noffs;
    q->http_major = r->parser.http_major;
    q->http_minor = r->parser.http_minor;
}

static int hr_on_headers_complete(http_parser *p)
{
    struct vr__hreader *r = reader_of(p);
    r->headers_done = true;
    hr_build_req(r);
    bool chunked = (p->flags & F_CHUNKED) != 0;
    bool has_len = (p->flags & F_CONTENTLENGTH) != 0 && !chunked;
    if (has_len && p->content_length > r->max_body)
        return hr_reject(r, 413, "Content-Length over cap");
    bool has_body = chunked || (has_len && p->content_length > 0);
    struct vr_str expect = hr_header(r, "Expect");
    if (has_body && vr_str_caseeq_c(vr_str_trim(expect), "100-continue") && p->http_major == 1 &&
        p->http_minor >= 1)
        r->want_continue = true;
    return 0;
}

static int hr_on_body(http_parser *p, const char *at, size_t n)
{
    struct vr__hreader *r = reader_of(p);
    if (r->max_body == 0 || vr_buf_append(&r->body, at, n) < 0)
        return hr_reject(r, 413, "body over cap");
    return 0;
}

static int hr_on_message_complete(http_parser *p)
{
    struct vr__hreader *r = reader_of(p);
    r->complete = true;
    r->req.body = vr_buf_str(&r->body);
    r->req.keep_alive = http_should_keep_alive(p) != 0;
    /* Stop right after this request: pipelined bytes wait until it is answered. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings hr_settings = {
    .on_message_begin = hr_on_begin,
    .on_url = hr_on_url,
    .on_header_field = hr_on_field,
    .on_header_value = hr_on_value,
    .on_headers_complete = hr_on_headers_complete,
    .on_body = hr_on_body,
    .on_message_complete = hr_on_message_complete,
};

struct vr__hreader *vr__hreader_new(size_t max_header_bytes, size_t max_body_bytes)
{
    struct vr__hreader *r = vr_xcalloc(1, sizeof(*r));
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->max_header = max_header_bytes;
    r->max_body = max_body_bytes;
    vr_buf_init(&r->head, max_header_bytes ? max_header_bytes : 1);
    vr_buf_init(&r->body, max_body_bytes ? max_body_bytes : 1);
    r->error = "";
    return r;
}

void vr__hreader_free(struct vr__hreader *r)
{
    if (!r)
        return;
    vr_buf_cleanup(&r->head);
    vr_buf_cleanup(&r->body);
    vr_free(r->offs);
    vr_free(r->hdrs);
    vr_free(r);
}

static int hr_fail(struct vr__hreader *r, int *status)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    r->failed = true;
    if (r->status == 0) {
        r->status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
        r->error = http_errno_name(e);
    }
    *status = r->status;
    return r->status == 400 ? VR_EPARSE : VR_ETOOBIG;
}

int vr__hreader_feed(struct vr__hreader *r, const char *p, size_t n, size_t *consumed, int *status)
{
    vr_assert(!r->complete);
    if (r->failed) {
        *status = r->status;
        return r->status == 400 ? VR_EPARSE : VR_ETOOBIG;
    }
    if (n == 0)
        return VR__HREADER_MORE; /* http-parser would take a zero length as EOF */
    size_t used = http_parser_execute(&r->parser, &hr_settings, p, n);
    if (r->complete) {
        *consumed = used;
        return VR__HREADER_DONE;
    }
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK || used != n)
        return hr_fail(r, status);
    return VR__HREADER_MORE;
}

const struct vr__hreq *vr__hreader_req(const struct vr__hreader *r)
{
    return r->complete ? &r->req : NULL;
}

void vr__hreader_next(struct vr__hreader *r)
{
    vr_assert(r->complete);
    r->complete = false;
    r->started = false;
    r->headers_done = false;
    r->want_continue = false;
    r->last = HR_NONE;
    r->head_bytes = 0;
    r->url_len = 0;
    r->noffs = 0;
    vr_buf_reset(&r->head);
    /* A big body is not kept around for the next, usually small, request. */
    if (r->body.alloc > (size_t)64 * 1024)
        vr_buf_cleanup(&r->body);
    vr_buf_reset(&r->body);
    memset(&r->req, 0, sizeof(r->req));
    http_parser_pause(&r->parser, 0);
}

bool vr__hreader_in_progress(const struct vr__hreader *r)
{
    return r->started && !r->complete;
}

bool vr__hreader_take_continue(struct vr__hreader *r)
{
    bool want = r->want_continue;
    r->want_continue = false;
    return want;
}

const char *vr__hreader_error(const struct vr__hreader *r)
{
    return r->error;
}

/* ------------------------------------------------------------------------------------ */
/* Server and connections                                                                */
/* ------------------------------------------------------------------------------------ */

#define READ_CHUNK ((size_t)64 * 1024)
/* While a response is pending, pipelined input is buffered up to here, then reading
 * stops until the response is finished. */
#define INBUF_SOFT ((size_t)64 * 1024)
/* How long a closing connection keeps reading (and discarding) after its last response,
 * so that unread input does not turn the close into a reset that loses the response. */
#define LINGER_MS 2000
#define EXTRA_HEADERS_MAX ((size_t)8 * 1024)

enum conn_state {
    CONN_READING,   /* waiting for or parsing a request */
    CONN_HANDLING,  /* the handler has the request; no response yet */
    CONN_STREAMING, /* a chunked response is in progress */
    CONN_WRITING,   /* the last bytes of a response are queued */
    CONN_LINGERING, /* response done, FIN sent, discarding input until EOF or timeout */
    CONN_CLOSING,   /* handles are closing; freed in the last close callback */
};

struct vr_http_req {
    const struct vr__hreq *r;
    struct vr_buf extra; /* "Name: value\r\n" lines from vr_http_add_header */
    vr_http_req_close_cb on_close;
    void *on_close_arg;
    bool active;  /* handed to the handler and not finished */
    bool head;    /* HEAD: no body bytes */
    bool chunked; /* streaming with chunked framing (HTTP/1.1) */
};

struct conn {
    struct vr_httpd *srv;
    struct conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    int open_handles;
    unsigned nwrites; /* uv_write requests not yet called back */
    enum conn_state state;
    struct vr__hreader *reader;
    struct vr_buf inbuf; /* read but not parsed yet */
    bool req_timer;      /* the timer in READING is the request timeout, not idle */
    bool read_stopped;
    bool keep_alive; /* another request may follow the current response */
    struct vr_http_req req;
    struct vr_log_ctx log;
    char peer[64];
    char id[24];
};

struct vr_httpd {
    uv_loop_t *loop;
    struct vr_httpd_opts opts;
    vr_httpd_handler_cb handler;
    void *arg;
    uv_tcp_t listener;
    bool listener_closed;
    bool closing;
    struct conn *conns;
    unsigned nconns;
    unsigned nrejects; /* over-limit sockets whose close callback is pending */
    int port;
    unsigned long long next_id;
    vr_httpd_closed_cb closed_cb;
    void *closed_arg;
    char rbuf[READ_CHUNK]; /* one read at a time on this loop, consumed before the next */
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    char data[];
};

static void conn_close(struct conn *c);
static void conn_drain(struct conn *c);
static void conn_after_response(struct conn *c);

static const char *conn_state_name(enum conn_state s)
{
    switch (s) {
    case CONN_READING:
        return "READING";
    case CONN_HANDLING:
        return "HANDLING";
    case CONN_STREAMING:
        return "STREAMING";
    case CONN_WRITING:
        return "WRITING";
    case CONN_LINGERING:
        return "LINGERING";
    case CONN_CLOSING:
        return "CLOSING";
    }
    return "?";
}

static void on_timer(uv_timer_t *t);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void arm(struct conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Enter hook for READING: idle timeout when between requests, request timeout once a
 * request has begun (buffered pipelined bytes count as begun). */
static void enter_reading(struct conn *c)
{
    c->req_timer = c->inbuf.len > 0 || vr__hreader_in_progress(c->reader);
    arm(c, c->req_timer ? c->srv->opts.request_timeout_ms : c->srv->opts.idle_timeout_ms);
}

/* Flow control for pipelined input. Reading goes on while a response is pending, so that
 * a peer that goes away is noticed, but only while less than INBUF_SOFT is buffered: a
 * read (at most READ_CHUNK) then always fits in inbuf. In READING the buffer is always
 * drained before the next read. Called after every change of state or of inbuf. */
static void conn_flow(struct conn *c)
{
    bool want =
        c->state == CONN_READING || c->state == CONN_LINGERING ||
        ((c->state == CONN_HANDLING || c->state == CONN_STREAMING || c->state == CONN_WRITING) &&
         c->inbuf.len < INBUF_SOFT);
    if (want && c->read_stopped) {
        c->read_stopped = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else if (!want && !c->read_stopped && c->state != CONN_CLOSING) {
        c->read_stopped = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static void set_state(struct conn *c, enum conn_state next)
{
    VR_LOGC(&c->log, VR_LOG_TRACE, "state %s -> %s", conn_state_name(c->state),
            conn_state_name(next));
    c->state = next;
    switch (next) {
    case CONN_READING:
        enter_reading(c);
        break;
    case CONN_HANDLING:
    case CONN_STREAMING:
        uv_timer_stop(&c->timer);
        break;
    case CONN_WRITING:
        /* A peer that does not read is dropped after the idle timeout. */
        arm(c, c->srv->opts.idle_timeout_ms);
        break;
    case CONN_LINGERING:
        arm(c, LINGER_MS);
        break;
    case CONN_CLOSING:
        break;
    }
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status)
{
    struct wreq *wr = container_of(w, struct wreq, req);
    struct conn *c = wr->c;
    vr_free(wr);
    c->nwrites--;
    if (status < 0) {
        if (c->state != CONN_CLOSING) {
            VR_LOGC(&c->log, VR_LOG_DEBUG, "write failed: %s", uv_strerror(status));
            conn_close(c);
        }
        return;
    }
    if (c->state == CONN_WRITING && c->nwrites == 0)
        conn_after_response(c);
}

/* Copies the parts into one owned buffer, freed in on_write. On failure the connection
 * is closed. */
static void conn_write(struct conn *c, const struct vr_str *parts, size_t nparts)
{
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    vr_assert(total <= UINT32_MAX);
    struct wreq *wr = vr_xmalloc(sizeof(*wr) + total);
    wr->c = c;
    size_t off = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].n)
            memcpy(wr->data + off, parts[i].p, parts[i].n);
        off += parts[i].n;
    }
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)total);
    int rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        vr_free(wr);
        VR_LOGC(&c->log, VR_LOG_DEBUG, "write failed: %s", uv_strerror(rc));
        conn_close(c);
        return;
    }
    c->nwrites++;
}

static const char *reason_phrase(int status)
{
    const char *s = http_status_str((enum http_status)status);
    return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

/* 1xx, 204 and 304 responses carry neither a body nor a Content-Length. */
static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

enum body_framing { FRAME_NONE, FRAME_LENGTH, FRAME_CHUNKED };

static void put(struct vr_buf *b, const char *fmt, ...) VR_PRINTF(2, 3);

/* The buffer is sized for everything it gets, so a failure is a bug. */
static void put(struct vr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vr_buf_vprintf(b, fmt, ap);
    va_end(ap);
    vr_assert(rc == 0);
}

static void build_head(struct conn *c, struct vr_buf *b, int status, const char *ctype,
                       enum body_framing framing, size_t len)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        date[0] = '\0';
    struct vr_str extra = vr_buf_str(&c->req.extra);
    vr_buf_init(b, 512 + extra.n + (ctype ? strlen(ctype) : 0));
    put(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, reason_phrase(status), date);
    if (ctype)
        put(b, "Content-Type: %s\r\n", ctype);
    if (framing == FRAME_LENGTH)
        put(b, "Content-Length: %zu\r\n", len);
    else if (framing == FRAME_CHUNKED)
        put(b, "Transfer-Encoding: chunked\r\n");
    if (extra.n)
        vr_assert(vr_buf_append(b, extra.p, extra.n) == 0);
    if (!c->keep_alive)
        put(b, "Connection: close\r\n");
    else if (c->req.r && c->req.r->http_major == 1 && c->req.r->http_minor == 0)
        put(b, "Connection: keep-alive\r\n");
    put(b, "\r\n");
}

/* A 400/408/413/431 answer: short text body, then the connection closes. */
static void conn_send_error(struct conn *c, int status)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason_phrase(status));
    vr_assert(n > 0 && (size_t)n < sizeof(body));
    c->keep_alive = false;
    c->req.r = NULL;
    vr_buf_reset(&c->req.extra);
    struct vr_buf head;
    build_head(c, &head, status, "text/plain; charset=utf-8", FRAME_LENGTH, (size_t)n);
    set_state(c, CONN_WRITING);
    struct vr_str parts[2] = {vr_buf_str(&head), vr_str_make(body, (size_t)n)};
    conn_write(c, parts, 2);
    vr_buf_cleanup(&head);
}

/* ---- reading ---- */

static void conn_dispatch(struct conn *c)
{
    struct vr_http_req *req = &c->req;
    req->r = vr__hreader_req(c->reader);
    req->active = true;
    req->on_close = NULL;
    req->on_close_arg = NULL;
    req->head = strcmp(req->r->method, "HEAD") == 0;
    req->chunked = req->r->http_major > 1 || (req->r->http_major == 1 && req->r->http_minor >= 1);
    vr_buf_reset(&req->extra);
    c->keep_alive = req->r->keep_alive && !c->srv->closing;
    set_state(c, CONN_HANDLING);
    c->srv->handler(req, c->srv->arg);
}

/* After input was consumed without completing a request: the request timeout starts at
 * its first byte (and is not restarted by later bytes), and 100-continue is answered. */
static void conn_note_progress(struct conn *c)
{
    if (!c->req_timer && vr__hreader_in_progress(c->reader)) {
        c->req_timer = true;
        arm(c, c->srv->opts.request_timeout_ms);
    }
    if (vr__hreader_take_continue(c->reader)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        struct vr_str part = VR_STR_LIT(cont);
        conn_write(c, &part, 1);
    }
}

/* Parses buffered input while the connection is READING; each complete request goes to
 * the handler, which moves the connection out of READING until the response is done. */
static void conn_drain(struct conn *c)
{
    while (c->state == CONN_READING && c->inbuf.len > 0) {
        size_t used = 0;
        int status = 0;
        int rc = vr__hreader_feed(c->reader, c->inbuf.p, c->inbuf.len, &used, &status);
        if (rc < 0) {
            VR_LOGC(&c->log, VR_LOG_DEBUG, "bad request: %s status=%d",
                    vr__hreader_error(c->reader), status);
            conn_send_error(c, status);
            return;
        }
        if (rc == VR__HREADER_MORE) {
            vr_buf_reset(&c->inbuf);
            conn_note_progress(c);
            return;
        }
        vr_buf_consume(&c->inbuf, used);
        conn_dispatch(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = container_of((uv_tcp_t *)h, struct conn, tcp);
    VR_UNUSED(hint);
    *buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

/* conn_flow guarantees the room: at most INBUF_SOFT buffered before a read. */
static void conn_buffer(struct conn *c, const char *p, size_t n)
{
    vr_assert(vr_buf_append(&c->inbuf, p, n) == 0);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = container_of((uv_tcp_t *)stream, struct conn, tcp);
    if (nread < 0) {
        if (nread != UV_EOF || vr__hreader_in_progress(c->reader))
            VR_LOGC(&c->log, VR_LOG_DEBUG, "peer closed in %s: %s", conn_state_name(c->state),
                    uv_err_name((int)nread));
        conn_close(c);
        return;
    }
    switch (c->state) {
    case CONN_READING:
        conn_buffer(c, buf->base, (size_t)nread);
        conn_drain(c);
        break;
    case CONN_HANDLING:
    case CONN_STREAMING:
    case CONN_WRITING:
        /* Pipelined input waits; after a closing response it is only discarded. */
        if (c->keep_alive)
            conn_buffer(c, buf->base, (size_t)nread);
        break;
    case CONN_LINGERING:
    case CONN_CLOSING:
        break;
    }
    conn_flow(c);
}

/* ---- closing ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = container_of(req, struct conn, shutdown);
    if (status < 0 && c->state != CONN_CLOSING)
        conn_close(c);
}

static void conn_linger(struct conn *c)
{
    set_state(c, CONN_LINGERING);
    int rc = uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    conn_flow(c); /* keep reading to discard input and see the peer's EOF */
}

static void conn_after_response(struct conn *c)
{
    if (!c->keep_alive || c->srv->closing) {
        conn_linger(c);
        return;
    }
    vr__hreader_next(c->reader);
    set_state(c, CONN_READING);
    conn_drain(c);
    conn_flow(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = container_of(t, struct conn, timer);
    switch (c->state) {
    case CONN_READING:
        if (c->req_timer) {
            VR_LOGC(&c->log, VR_LOG_DEBUG, "request timeout");
            conn_send_error(c, 408);
        } else {
            VR_LOGC(&c->log, VR_LOG_TRACE, "idle timeout");
            conn_close(c);
        }
        break;
    case CONN_WRITING:
        if (c->nwrites == 0) {
            conn_after_response(c); /* a stream end with nothing left to write */
        } else {
            VR_LOGC(&c->log, VR_LOG_DEBUG, "write timeout");
            conn_close(c);
        }
        break;
    case CONN_LINGERING:
        conn_close(c);
        break;
    case CONN_HANDLING:
    case CONN_STREAMING:
    case CONN_CLOSING:
        break;
    }
}

static void server_maybe_done(struct vr_httpd *s)
{
    if (!s->closing || !s->listener_closed || s->nconns > 0 || s->nrejects > 0)
        return;
    vr_httpd_closed_cb cb = s->closed_cb;
    void *arg = s->closed_arg;
    vr_free(s);
    if (cb)
        cb(arg);
}

/* Runs once both handles are closed: a request dropped before its response finished
 * gets its on_close callback, then the connection is freed. */
static void conn_finalize(struct conn *c)
{
    struct vr_httpd *s = c->srv;
    if (c->req.active) {
        c->req.active = false;
        if (c->req.on_close)
            c->req.on_close(&c->req, c->req.on_close_arg);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    vr__hreader_free(c->reader);
    vr_buf_cleanup(&c->inbuf);
    vr_buf_cleanup(&c->req.extra);
    vr_free(c);
    server_maybe_done(s);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct conn *c = container_of((uv_tcp_t *)h, struct conn, tcp);
    if (--c->open_handles == 0)
        conn_finalize(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct conn *c = container_of((uv_timer_t *)h, struct conn, timer);
    if (--c->open_handles == 0)
        conn_finalize(c);
}

static void conn_close(struct conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    set_state(c, CONN_CLOSING);
    c->open_handles = 2;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* ---- accepting ---- */

struct reject {
    uv_tcp_t tcp;
    struct vr_httpd *srv;
};

static void on_reject_closed(uv_handle_t *h)
{
    struct reject *r = container_of((uv_tcp_t *)h, struct reject, tcp);
    struct vr_httpd *s = r->srv;
    vr_free(r);
    s->nrejects--;
    server_maybe_done(s);
}

/* Over max_connections: accept and close at once, so the peer sees EOF, not a hang. */
static void server_reject(struct vr_httpd *s)
{
    struct reject *r = vr_xmalloc(sizeof(*r));
    r->srv = s;
    uv_tcp_init(s->loop, &r->tcp);
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&r->tcp) == 0)
        VR_LOG(VR_LOG_DEBUG, "httpd", "connection limit %u reached, closing new connection",
               s->opts.max_connections);
    s->nrejects++;
    uv_close((uv_handle_t *)&r->tcp, on_reject_closed);
}

static void conn_set_peer(struct conn *c)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    char ip[64] = "?";
    int port = 0;
    memset(&ss, 0, sizeof(ss));
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
        } else if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            uv_ip4_name(a, ip, sizeof(ip));
            port = ntohs(a->sin_port);
        }
    }
    (void)snprintf(c->peer, sizeof(c->peer), ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                   port);
}

static struct conn *conn_new(struct vr_httpd *s)
{
    struct conn *c = vr_xcalloc(1, sizeof(*c));
    c->srv = s;
    c->reader = vr__hreader_new(s->opts.max_header_bytes, s->opts.max_body_bytes);
    vr_buf_init(&c->inbuf, INBUF_SOFT + READ_CHUNK);
    vr_buf_init(&c->req.extra, EXTRA_HEADERS_MAX);
    c->state = CONN_READING;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    (void)snprintf(c->id, sizeof(c->id), "%llu", ++s->next_id);
    c->log = (struct vr_log_ctx)VR_LOG_CTX_INIT("httpd");
    vr_log_ctx_set(&c->log, "conn", c->id);
    vr_log_ctx_set(&c->log, "peer", c->peer);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    return c;
}

static void on_connection(uv_stream_t *l, int status)
{
    struct vr_httpd *s = container_of((uv_tcp_t *)l, struct vr_httpd, listener);
    if (status < 0) {
        VR_LOG(VR_LOG_WARN, "httpd", "accept failed: %s", uv_strerror(status));
        return;
    }
    if (s->nconns >= s->opts.max_connections) {
        server_reject(s);
        return;
    }
    struct conn *c = conn_new(s);
    int rc = uv_accept(l, (uv_stream_t *)&c->tcp);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        VR_LOG(VR_LOG_DEBUG, "httpd", "accept failed: %s", uv_strerror(rc));
        conn_close(c);
        return;
    }
    /* Small writes (watch events, pipelined answers) must not wait for delayed ACKs. */
    uv_tcp_nodelay(&c->tcp, 1);
    conn_set_peer(c);
    VR_LOGC(&c->log, VR_LOG_TRACE, "connection accepted");
    set_state(c, CONN_READING);
}

/* ---- public API: server ---- */

void vr_httpd_opts_default(struct vr_httpd_opts *opts)
{
    opts->max_header_bytes = (size_t)16 * 1024;
    opts->max_body_bytes = (size_t)1024 * 1024;
    opts->idle_timeout_ms = 60000;
    opts->request_timeout_ms = 10000;
    opts->max_connections = 1024;
}

int vr_httpd_new(uv_loop_t *loop, const struct vr_httpd_opts *opts, vr_httpd_handler_cb handler,
                 void *arg, struct vr_httpd **out)
{
    struct vr_httpd_opts o;
    if (opts)
        o = *opts;
    else
        vr_httpd_opts_default(&o);
    if (!loop || !handler || o.max_header_bytes == 0 || o.idle_timeout_ms == 0 ||
        o.request_timeout_ms == 0 || o.max_connections == 0)
        return VR_EINVAL;
    struct vr_httpd *s = vr_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->opts = o;
    s->handler = handler;
    s->arg = arg;
    uv_tcp_init(loop, &s->listener);
    *out = s;
    return 0;
}

/* "HOST:PORT", ":PORT", "[V6]:PORT" -> a socket address. 0 or VR_EINVAL. */
static int parse_listen_addr(const char *addr, struct sockaddr_storage *ss)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon)
        return VR_EINVAL;
    int64_t port;
    if (vr_parse_int64(vr_str_c(colon + 1), 0, 65535, &port) < 0)
        return VR_EINVAL;
    struct vr_str host = vr_str_make(addr, (size_t)(colon - addr));
    char h[64];
    bool v6 = host.n >= 2 && host.p[0] == '[' && host.p[host.n - 1] == ']';
    if (v6)
        host = vr_str_make(host.p + 1, host.n - 2);
    if (host.n >= sizeof(h))
        return VR_EINVAL;
    memcpy(h, host.p, host.n);
    h[host.n] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (v6)
        return uv_ip6_addr(h, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0 : VR_EINVAL;
    const char *ip = host.n == 0 ? "0.0.0.0" : strcmp(h, "localhost") == 0 ? "127.0.0.1" : h;
    return uv_ip4_addr(ip, (int)port, (struct sockaddr_in *)ss) == 0 ? 0 : VR_EINVAL;
}

int vr_httpd_listen(struct vr_httpd *s, const char *addr)
{
    struct sockaddr_storage ss;
    int rc = parse_listen_addr(addr, &ss);
    if (rc < 0)
        return rc;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc < 0)
        return rc;
    struct sockaddr_storage bound;
    int len = (int)sizeof(bound);
    rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    if (rc < 0)
        return rc;
    if (bound.ss_family == AF_INET6)
        s->port = ntohs(((const struct sockaddr_in6 *)&bound)->sin6_port);
    else
        s->port = ntohs(((const struct sockaddr_in *)&bound)->sin_port);
    VR_LOG(VR_LOG_DEBUG, "httpd", "listening on %s port=%d", addr, s->port);
    return 0;
}

int vr_httpd_port(const struct vr_httpd *s)
{
    return s->port;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct vr_httpd *s = container_of((uv_tcp_t *)h, struct vr_httpd, listener);
    s->listener_closed = true;
    server_maybe_done(s);
}

void vr_httpd_close(struct vr_httpd *s, vr_httpd_closed_cb cb, void *arg)
{
    if (s->closing)
        return;
    s->closing = true;
    s->closed_cb = cb;
    s->closed_arg = arg;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    for (struct conn *c = s->conns; c; c = c->next)
        conn_close(c);
}

/* ---- public API: requests ---- */

static struct conn *conn_of(const struct vr_http_req *req)
{
    return container_of(req, struct conn, req);
}

const char *vr_http_req_method(const struct vr_http_req *req)
{
    return req->r->method;
}

struct vr_str vr_http_req_path(const struct vr_http_req *req)
{
    return req->r->path;
}

struct vr_str vr_http_req_query(const struct vr_http_req *req)
{
    return req->r->query;
}

struct vr_str vr_http_req_body(const struct vr_http_req *req)
{
    return req->r->body;
}

struct vr_str vr_http_req_header(const struct vr_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->r->nheaders; i++) {
        if (vr_str_caseeq_c(req->r->headers[i].name, name))
            return req->r->headers[i].value;
    }
    return vr_str_make(NULL, 0);
}

size_t vr_http_req_headers(const struct vr_http_req *req, const struct vr_http_header **out)
{
    *out = req->r->headers;
    return req->r->nheaders;
}

const char *vr_http_req_peer(const struct vr_http_req *req)
{
    return conn_of(req)->peer;
}

/* Form decoding ('+' is a space, as Go's url.ParseQuery does); a '%' not followed by two
 * hex digits is kept as it is. Writes at most cap - 1 bytes and a NUL. */
static void query_decode(struct vr_str s, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < s.n && o + 1 < cap; i++) {
        char c = s.p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < s.n && vr_hex_digit(s.p[i + 1]) >= 0 &&
                   vr_hex_digit(s.p[i + 2]) >= 0) {
            c = (char)(vr_hex_digit(s.p[i + 1]) * 16 + vr_hex_digit(s.p[i + 2]));
            i += 2;
        }
        out[o++] = c;
    }
    if (cap)
        out[o] = '\0';
}

bool vr_http_query_get(struct vr_str query, const char *key, char *out, size_t cap)
{
    struct vr_str rest = query;
    bool more = rest.n > 0;
    while (more) {
        struct vr_str pair, k, v = vr_str_make("", 0);
        more = vr_str_split(rest, '&', &pair, &rest);
        if (!vr_str_split(pair, '=', &k, &v))
            v = vr_str_make("", 0);
        char kbuf[256];
        if (pair.n == 0 || k.n >= sizeof(kbuf))
            continue;
        query_decode(k, kbuf, sizeof(kbuf));
        if (strcmp(kbuf, key) == 0) {
            query_decode(v, out, cap);
            return true;
        }
    }
    return false;
}

/* Managed by the server; vr_http_add_header refuses them. */
static bool is_managed_header(const char *name)
{
    static const char *const managed[] = {"Content-Length", "Transfer-Encoding", "Connection",
                                          "Date"};
    for (size_t i = 0; i < VR_ARRAY_SIZE(managed); i++) {
        if (vr_str_caseeq_c(vr_str_c(name), managed[i]))
            return true;
    }
    return false;
}

static bool header_text_ok(const char *s, bool is_name)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (is_name && (*s == ':' || *s == ' ')))
            return false;
    }
    return true;
}

void vr_http_add_header(struct vr_http_req *req, const char *name, const char *value)
{
    struct conn *c = conn_of(req);
    if (!req->active || (c->state != CONN_HANDLING)) {
        VR_LOGC(&c->log, VR_LOG_WARN, "response header %s added outside a pending request", name);
        return;
    }
    if (!*name || !header_text_ok(name, true) || !header_text_ok(value, false) ||
        is_managed_header(name)) {
        VR_LOGC(&c->log, VR_LOG_WARN, "response header refused: %s", name);
        return;
    }
    size_t need = strlen(name) + strlen(value) + 4;
    if (need > req->extra.max - req->extra.len) {
        VR_LOGC(&c->log, VR_LOG_WARN, "response headers over cap, dropped %s", name);
        return;
    }
    put(&req->extra, "%s: %s\r\n", name, value);
}

/* A request dropped by the peer or the server is answered silently into the void (its
 * on_close callback is coming); answering twice is a bug worth a warning. */
static bool req_can_answer(struct conn *c, enum conn_state want, const char *what)
{
    if (c->state == CONN_CLOSING)
        return false;
    if (!c->req.active || c->state != want) {
        VR_LOGC(&c->log, VR_LOG_WARN, "%s in state %s ignored", what, conn_state_name(c->state));
        return false;
    }
    return true;
}

static void req_finish(struct conn *c)
{
    c->req.active = false;
    c->req.on_close = NULL;
    vr_buf_reset(&c->req.extra);
}

void vr_http_respond(struct vr_http_req *req, int status, const char *content_type,
                     const char *body, size_t len)
{
    struct conn *c = conn_of(req);
    if (!req_can_answer(c, CONN_HANDLING, "vr_http_respond"))
        return;
    bool has_body = status_has_body(status);
    struct vr_buf head;
    build_head(c, &head, status, content_type, has_body ? FRAME_LENGTH : FRAME_NONE, len);
    size_t blen = (req->head || !has_body || !body) ? 0 : len;
    req_finish(c);
    set_state(c, CONN_WRITING);
    struct vr_str parts[2] = {vr_buf_str(&head), vr_str_make(body, blen)};
    conn_write(c, parts, 2);
    vr_buf_cleanup(&head);
}

void vr_http_stream_start(struct vr_http_req *req, int status, const char *content_type)
{
    struct conn *c = conn_of(req);
    if (!req_can_answer(c, CONN_HANDLING, "vr_http_stream_start"))
        return;
    /* Without chunked framing (HTTP/1.0) the end of the body is the end of the connection. */
    if (!req->chunked)
        c->keep_alive = false;
    struct vr_buf head;
    build_head(c, &head, status, content_type, req->chunked ? FRAME_CHUNKED : FRAME_NONE, 0);
    set_state(c, CONN_STREAMING);
    struct vr_str part = vr_buf_str(&head);
    conn_write(c, &part, 1);
    vr_buf_cleanup(&head);
}

void vr_http_stream_write(struct vr_http_req *req, const char *p, size_t n)
{
    struct conn *c = conn_of(req);
    if (!req_can_answer(c, CONN_STREAMING, "vr_http_stream_write") || n == 0 || req->head)
        return;
    if (!req->chunked) {
        struct vr_str part = vr_str_make(p, n);
        conn_write(c, &part, 1);
        return;
    }
    char size[32];
    int k = snprintf(size, sizeof(size), "%zx\r\n", n);
    struct vr_str parts[3] = {vr_str_make(size, (size_t)k), vr_str_make(p, n), VR_STR_LIT("\r\n")};
    conn_write(c, parts, 3);
}

void vr_http_stream_end(struct vr_http_req *req)
{
    struct conn *c = conn_of(req);
    if (!req_can_answer(c, CONN_STREAMING, "vr_http_stream_end"))
        return;
    req_finish(c);
    set_state(c, CONN_WRITING);
    if (req->chunked && !req->head) {
        struct vr_str part = VR_STR_LIT("0\r\n\r\n");
        conn_write(c, &part, 1);
    } else if (c->nwrites == 0) {
        arm(c, 0); /* nothing left to write: finish on the next loop turn */
    }
}

size_t vr_http_stream_pending(const struct vr_http_req *req)
{
    struct conn *c = conn_of(req);
    if (c->state == CONN_CLOSING)
        return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void vr_http_abort(struct vr_http_req *req)
{
    struct conn *c = conn_of(req);
    if (c->state == CONN_CLOSING)
        return;
    if (!req->active) {
        VR_LOGC(&c->log, VR_LOG_WARN, "vr_http_abort on a finished request ignored");
        return;
    }
    VR_LOGC(&c->log, VR_LOG_DEBUG, "request aborted in %s", conn_state_name(c->state));
    conn_close(c);
}

void vr_http_req_on_close(struct vr_http_req *req, vr_http_req_close_cb cb, void *arg)
{
    req->on_close = cb;
    req->on_close_arg = arg;
}
