#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

static void count_open(uv_handle_t *h, void *arg)
{
    int *n = arg;
    if (!uv_is_closing(h)) {
        fprintf(stderr, "leaked libuv handle: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
        (*n)++;
    }
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void vr_test_loop_close(uv_loop_t *loop)
{
    /* Let pending close callbacks run first. */
    uv_run(loop, UV_RUN_NOWAIT);
    int open = 0;
    uv_walk(loop, count_open, &open);
    uv_walk(loop, close_any, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(open, 0);
}

struct run_until {
    int (*cond)(void *);
    void *arg;
    int met;
    uv_timer_t deadline;
    uv_idle_t idle;
};

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void on_idle(uv_idle_t *i)
{
    struct run_until *ru = i->data;
    if (ru->cond(ru->arg)) {
        ru->met = 1;
        uv_stop(i->loop);
    }
}

int vr_test_run_until(uv_loop_t *loop, int (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
    struct run_until ru = {.cond = cond, .arg = arg};
    if (cond(arg))
        return 1;
    uv_timer_init(loop, &ru.deadline);
    uv_idle_init(loop, &ru.idle);
    ru.idle.data = &ru;
    uv_timer_start(&ru.deadline, on_deadline, timeout_ms, 0);
    uv_idle_start(&ru.idle, on_idle);
    while (!ru.met && uv_is_active((uv_handle_t *)&ru.deadline))
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&ru.deadline, NULL);
    uv_close((uv_handle_t *)&ru.idle, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ru.met;
}

char *vr_test_read_fixture(const char *relpath, size_t *len)
{
    const char *dir = getenv("VR_FIXTURES");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "test/fixtures", relpath);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct vr_buf b;
    vr_buf_init(&b, 256 * 1024 * 1024);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vr_assert(vr_buf_append(&b, chunk, n) == 0);
    fclose(f);
    return vr_buf_take(&b, len);
}

/* ---- raw TCP client ---- */

#define CLIENT_WAIT_MS 5000
#define CLIENT_IN_CAP ((size_t)64 * 1024 * 1024)

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char rbuf[64 * 1024];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct vr_test_client *cl = container_of((uv_tcp_t *)s, struct vr_test_client, tcp);
    if (n < 0) {
        cl->eof = 1;
        uv_read_stop(s);
        return;
    }
    assert_int_equal(vr_buf_append(&cl->in, buf->base, (size_t)n), 0);
}

static void client_connected(uv_connect_t *req, int status)
{
    struct vr_test_client *cl = container_of(req, struct vr_test_client, creq);
    cl->connected = status == 0 ? 1 : status;
    if (status == 0)
        uv_read_start((uv_stream_t *)&cl->tcp, client_alloc, client_read);
}

static int client_is_connected(void *arg)
{
    return ((struct vr_test_client *)arg)->connected != 0;
}

void vr_test_client_open_ip(uv_loop_t *loop, const char *ip, int port, struct vr_test_client *cl)
{
    struct sockaddr_storage sa;
    memset(cl, 0, sizeof(*cl));
    vr_buf_init(&cl->in, CLIENT_IN_CAP);
    if (strchr(ip, ':'))
        assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&sa), 0);
    else
        assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&sa), 0);
    assert_int_equal(uv_tcp_init(loop, &cl->tcp), 0);
    assert_int_equal(uv_tcp_nodelay(&cl->tcp, 1), 0);
    assert_int_equal(
        uv_tcp_connect(&cl->creq, &cl->tcp, (const struct sockaddr *)&sa, client_connected), 0);
    assert_true(vr_test_run_until(loop, client_is_connected, cl, CLIENT_WAIT_MS));
    assert_int_equal(cl->connected, 1);
}

void vr_test_client_open(uv_loop_t *loop, int port, struct vr_test_client *cl)
{
    vr_test_client_open_ip(loop, "127.0.0.1", port, cl);
}

struct client_write {
    uv_write_t req;
    char data[];
};

static void client_written(uv_write_t *req, int status)
{
    (void)status; /* a write racing a server close may fail; the test checks what arrives */
    vr_free(container_of(req, struct client_write, req));
}

void vr_test_client_send_n(struct vr_test_client *cl, const char *p, size_t n)
{
    struct client_write *w = vr_xmalloc(sizeof(*w) + n);
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)&cl->tcp, &b, 1, client_written), 0);
}

void vr_test_client_send(struct vr_test_client *cl, const char *s)
{
    vr_test_client_send_n(cl, s, strlen(s));
}

static void client_on_closed(uv_handle_t *h)
{
    container_of((uv_tcp_t *)h, struct vr_test_client, tcp)->closed = 1;
}

static int client_is_closed(void *arg)
{
    return ((struct vr_test_client *)arg)->closed;
}

void vr_test_client_close(struct vr_test_client *cl)
{
    if (!uv_is_closing((uv_handle_t *)&cl->tcp))
        uv_close((uv_handle_t *)&cl->tcp, client_on_closed);
    assert_true(vr_test_run_until(cl->tcp.loop, client_is_closed, cl, CLIENT_WAIT_MS));
    vr_buf_cleanup(&cl->in);
}

int vr_test_client_got_eof(void *arg)
{
    return ((struct vr_test_client *)arg)->eof;
}

/* ---- hand-read HTTP responses ---- */

bool vr_test_resp_has(const struct vr_test_resp *r, const char *line)
{
    return strstr(r->head, line) != NULL;
}

static bool parse_chunks(const char *p, const char *end, struct vr_test_resp *r, size_t *used)
{
    const char *start = p;
    for (;;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol || eol >= end)
            return false;
        size_t n = strtoul(p, NULL, 16);
        p = eol + 2;
        if ((size_t)(end - p) < n + 2)
            return false;
        if (n == 0) {
            *used = (size_t)(p + 2 - start);
            return true;
        }
        assert_true(r->body_len + n < sizeof(r->body));
        memcpy(r->body + r->body_len, p, n);
        r->body_len += n;
        p += n + 2;
    }
}

bool vr_test_parse_resp(const struct vr_buf *b, size_t *off, bool no_body, struct vr_test_resp *r)
{
    memset(r, 0, sizeof(*r));
    const char *p = b->p ? b->p + *off : "";
    const char *end = b->p ? b->p + b->len : p;
    const char *hend = strstr(p, "\r\n\r\n");
    if (!hend)
        return false;
    size_t hlen = (size_t)(hend - p) + 2;
    assert_true(hlen < sizeof(r->head));
    memcpy(r->head, p, hlen);
    r->status = (int)strtol(p + 9, NULL, 10);
    const char *body = hend + 4;
    size_t used = 0;
    const char *cl = strstr(r->head, "Content-Length: ");
    r->chunked = vr_test_resp_has(r, "Transfer-Encoding: chunked\r\n");
    if (no_body || r->status < 200 || r->status == 204 || r->status == 304) {
        used = 0;
    } else if (r->chunked) {
        if (!parse_chunks(body, end, r, &used))
            return false;
    } else {
        assert_non_null(cl);
        size_t n = strtoul(cl + 16, NULL, 10);
        if ((size_t)(end - body) < n)
            return false;
        assert_true(n < sizeof(r->body));
        memcpy(r->body, body, n);
        r->body_len = n;
        used = n;
    }
    *off = (size_t)(body + used - b->p);
    return true;
}
