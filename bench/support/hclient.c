/*
 * hclient: the benchmarks' bare HTTP/1.1 client (see hclient.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "support/hclient.h"
#include "vreq/mem.h"

#define HC_BODY_CAP (64u << 20)
#define HC_LINE_CAP (16u << 20)

/* Splits body bytes into lines and hands each complete one to line_cb; the unfinished tail
 * is kept for the next call. */
static void feed_lines(struct hc_conn *c, const char *p, size_t n)
{
    if (vr_buf_append(&c->lines, p, n) < 0) {
        c->failed = true;
        return;
    }
    size_t start = 0;
    const char *nl;
    while ((nl = memchr(c->lines.p + start, '\n', c->lines.len - start)) != NULL) {
        size_t len = (size_t)(nl - (c->lines.p + start));
        c->line_cb(c, c->lines.p + start, len);
        start += len + 1;
    }
    vr_buf_consume(&c->lines, start);
}

static int hp_headers(http_parser *p)
{
    struct hc_conn *c = p->data;
    c->code = (int)p->status_code;
    if (c->head_cb)
        c->head_cb(c, c->code);
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
    struct hc_conn *c = p->data;
    if (c->data_cb)
        c->data_cb(c, at, n);
    else if (c->line_cb)
        feed_lines(c, at, n);
    else if (vr_buf_append(&c->body, at, n) < 0)
        c->failed = true;
    return 0;
}

static int hp_done(http_parser *p)
{
    struct hc_conn *c = p->data;
    c->busy = false;
    if (c->done_cb)
        c->done_cb(c, (int)p->status_code);
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_headers_complete = hp_headers, .on_body = hp_body, .on_message_complete = hp_done};

static void destroy(struct hc_conn *c)
{
    vr_buf_cleanup(&c->body);
    vr_buf_cleanup(&c->lines);
    vr_free(c);
}

static void on_closed(uv_handle_t *h)
{
    struct hc_conn *c = container_of((uv_tcp_t *)h, struct hc_conn, tcp);
    c->ctx->open_conns--;
    c->close_done = true;
    if (c->released)
        destroy(c);
}

void hc_close(struct hc_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    c->busy = false;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void hc_release(struct hc_conn *c)
{
    c->released = true;
    if (!c->closed)
        hc_close(c);
    else if (c->close_done)
        destroy(c);
}

/* One slab for every read: each read is parsed before the next one starts. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[256 * 1024];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct hc_conn *c = container_of((uv_tcp_t *)s, struct hc_conn, tcp);
    if (n < 0) {
        /* EOF may complete a response that had no length. */
        http_parser_execute(&c->parser, &hp_settings, NULL, 0);
        c->failed = c->failed || c->busy;
        hc_close(c);
        return;
    }
    size_t used = http_parser_execute(&c->parser, &hp_settings, buf->base, (size_t)n);
    if (used != (size_t)n && !c->closed) {
        fprintf(stderr, "%s: bad HTTP response: %s\n", c->ctx->name,
                http_errno_name(HTTP_PARSER_ERRNO(&c->parser)));
        c->failed = true;
        hc_close(c);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    struct hc_conn *c = container_of(req, struct hc_conn, creq);
    if (c->closed) /* released while connecting: no callback */
        return;
    if (status < 0) {
        c->failed = true;
        hc_close(c);
    } else {
        c->connected = true;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (c->connect_cb)
        c->connect_cb(c, status);
}

struct hc_conn *hc_open(struct hc_ctx *ctx, int port)
{
    struct hc_conn *c = vr_xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    vr_buf_init(&c->body, HC_BODY_CAP);
    vr_buf_init(&c->lines, HC_LINE_CAP);
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    uv_tcp_init(ctx->loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    ctx->open_conns++;
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&addr, on_connected) < 0) {
        c->failed = true;
        hc_close(c);
    }
    return c;
}

struct wreq {
    uv_write_t w;
    char *data;
};

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct wreq *wr = container_of(w, struct wreq, w);
    vr_free(wr->data);
    vr_free(wr);
}

void hc_send_take(struct hc_conn *c, char *data)
{
    struct wreq *wr = vr_xmalloc(sizeof(*wr));
    wr->data = data;
    c->busy = true;
    vr_buf_reset(&c->body);
    uv_buf_t buf = uv_buf_init(data, (unsigned)strlen(data));
    if (c->closed || uv_write(&wr->w, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        vr_free(data);
        vr_free(wr);
        c->failed = true;
        hc_close(c);
    }
}

void hc_wait_closed(struct hc_ctx *ctx)
{
    while (ctx->open_conns > 0)
        uv_run(ctx->loop, UV_RUN_ONCE);
}

bool hc_is_settled(void *arg)
{
    struct hc_conn *c = arg;
    return c->connected || c->failed;
}

bool hc_is_idle(void *arg)
{
    struct hc_conn *c = arg;
    return !c->busy || c->failed;
}

bool hc_has_head(void *arg)
{
    struct hc_conn *c = arg;
    return c->code != 0 || c->failed;
}
