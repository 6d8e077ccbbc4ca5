/*
 * httpd over real sockets: a raw uv_tcp client on 127.0.0.1 talks to the server on the
 * same loop, driven by vr_test_run_until (no sleeps). Every test ends with the loop-close
 * check.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/log.h"

#define WAIT_MS 5000

/* ---- response parsing ---- */

struct want {
    struct vr_test_client *cl;
    int n;
};

static int count_resps(struct vr_test_client *cl)
{
    static struct vr_test_resp r;
    size_t off = 0;
    int n = 0;
    while (off < cl->in.len && vr_test_parse_resp(&cl->in, &off, false, &r))
        n++;
    return n;
}

static int has_resps(void *arg)
{
    struct want *w = arg;
    return count_resps(w->cl) >= w->n;
}

static void wait_resps(uv_loop_t *loop, struct vr_test_client *cl, int n)
{
    struct want w = {cl, n};
    assert_true(vr_test_run_until(loop, has_resps, &w, WAIT_MS));
}

struct want_text {
    struct vr_test_client *cl;
    const char *text;
};

static int has_text(void *arg)
{
    struct want_text *w = arg;
    return w->cl->in.p && strstr(w->cl->in.p, w->text) != NULL;
}

static void wait_text(uv_loop_t *loop, struct vr_test_client *cl, const char *text)
{
    struct want_text w = {cl, text};
    assert_true(vr_test_run_until(loop, has_text, &w, WAIT_MS));
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

/* Lets the loop run for ms of loop time (timers, not sleep) to show nothing else happens. */
static void run_for(uv_loop_t *loop, unsigned ms)
{
    assert_false(vr_test_run_until(loop, never, NULL, ms));
}

/* ---- server side ---- */

struct fx {
    uv_loop_t loop;
    struct vr_httpd *srv;
    int port;
    int closed;
    int nreq;
    int on_close;
    int nreq_at_async_answer;
    struct vr_http_req *held;
    uv_timer_t timer;
    int step;
    char method[16];
    char path[256];
    char query[256];
    char xtest[64];
    char peer[64];
    char qname[64];
    char peers[4][64];
};

static void copy_str(char *dst, size_t cap, struct vr_str s)
{
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static void on_req_close(struct vr_http_req *req, void *arg)
{
    struct fx *fx = arg;
    assert_ptr_equal(req, fx->held);
    fx->on_close++;
    fx->held = NULL;
}

static void on_async_timer(uv_timer_t *t)
{
    struct fx *fx = container_of(t, struct fx, timer);
    fx->nreq_at_async_answer = fx->nreq;
    struct vr_http_req *req = fx->held;
    fx->held = NULL;
    vr_http_respond(req, 200, "text/plain", "async", 5);
}

static void on_stream_timer(uv_timer_t *t)
{
    struct fx *fx = container_of(t, struct fx, timer);
    static const char *const parts[] = {"two", "three"};
    if (fx->step < 2) {
        vr_http_stream_write(fx->held, parts[fx->step], strlen(parts[fx->step]));
        fx->step++;
        return;
    }
    uv_timer_stop(t);
    struct vr_http_req *req = fx->held;
    fx->held = NULL;
    vr_http_stream_end(req);
}

static void echo(struct vr_http_req *req)
{
    struct vr_str path = vr_http_req_path(req), body = vr_http_req_body(req);
    char out[1024];
    int n = snprintf(out, sizeof(out), "%s %.*s%s%.*s", vr_http_req_method(req), (int)path.n,
                     path.p, body.n ? " " : "", (int)body.n, body.p);
    vr_http_add_header(req, "X-Reply", "yes");
    vr_http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void record(struct fx *fx, struct vr_http_req *req)
{
    copy_str(fx->method, sizeof(fx->method), vr_str_c(vr_http_req_method(req)));
    copy_str(fx->path, sizeof(fx->path), vr_http_req_path(req));
    copy_str(fx->query, sizeof(fx->query), vr_http_req_query(req));
    copy_str(fx->xtest, sizeof(fx->xtest), vr_http_req_header(req, "x-test"));
    copy_str(fx->peer, sizeof(fx->peer), vr_str_c(vr_http_req_peer(req)));
    if (fx->nreq < 4)
        copy_str(fx->peers[fx->nreq], sizeof(fx->peers[0]), vr_str_c(vr_http_req_peer(req)));
    if (!vr_http_query_get(vr_http_req_query(req), "name", fx->qname, sizeof(fx->qname)))
        fx->qname[0] = '\0';
    fx->nreq++;
}

static void handler(struct vr_http_req *req, void *arg)
{
    struct fx *fx = arg;
    record(fx, req);
    struct vr_str path = vr_http_req_path(req);
    if (vr_str_eq_c(path, "/async")) {
        fx->held = req;
        uv_timer_start(&fx->timer, on_async_timer, 20, 0);
    } else if (vr_str_eq_c(path, "/stream")) {
        fx->held = req;
        vr_http_req_on_close(req, on_req_close, fx);
        vr_http_stream_start(req, 200, "application/json");
        vr_http_stream_write(req, "one", 3);
        fx->step = 0;
        uv_timer_start(&fx->timer, on_stream_timer, 5, 5);
    } else if (vr_str_eq_c(path, "/hold-stream")) {
        fx->held = req;
        vr_http_req_on_close(req, on_req_close, fx);
        vr_http_stream_start(req, 200, "application/json");
        vr_http_stream_write(req, "first", 5);
    } else if (vr_str_eq_c(path, "/hold")) {
        fx->held = req;
        vr_http_req_on_close(req, on_req_close, fx);
    } else if (vr_str_eq_c(path, "/nocontent")) {
        vr_http_respond(req, 204, NULL, NULL, 0);
    } else {
        echo(req);
    }
}

static void fx_setup(struct fx *fx, const struct vr_httpd_opts *opts)
{
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(uv_timer_init(&fx->loop, &fx->timer), 0);
    assert_int_equal(vr_httpd_new(&fx->loop, opts, handler, fx, &fx->srv), 0);
    assert_int_equal(vr_httpd_listen(fx->srv, "127.0.0.1:0"), 0);
    fx->port = vr_httpd_port(fx->srv);
    assert_true(fx->port > 0);
}

static void on_server_closed(void *arg)
{
    ((struct fx *)arg)->closed++;
}

static int server_closed(void *arg)
{
    return ((struct fx *)arg)->closed;
}

static void fx_teardown(struct fx *fx)
{
    if (!fx->closed) {
        vr_httpd_close(fx->srv, on_server_closed, fx);
        assert_true(vr_test_run_until(&fx->loop, server_closed, fx, WAIT_MS));
    }
    assert_int_equal(fx->closed, 1);
    uv_close((uv_handle_t *)&fx->timer, NULL);
    vr_test_loop_close(&fx->loop);
}

/* ---- tests ---- */

static void test_get_query_headers(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(
        &cl, "GET /api/things?name=a%20b%2Bc&x HTTP/1.1\r\nHost: t\r\nX-Test: Value-1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_true(vr_test_resp_has(&r, "\r\nContent-Type: text/plain\r\n"));
    assert_true(vr_test_resp_has(&r, "\r\nContent-Length: 15\r\n"));
    assert_true(vr_test_resp_has(&r, "\r\nDate: "));
    assert_true(vr_test_resp_has(&r, " GMT\r\n"));
    assert_true(vr_test_resp_has(&r, "\r\nX-Reply: yes\r\n"));
    assert_false(vr_test_resp_has(&r, "Connection: close"));
    assert_memory_equal(r.body, "GET /api/things", 15);
    assert_string_equal(fx.method, "GET");
    assert_string_equal(fx.path, "/api/things");
    assert_string_equal(fx.query, "name=a%20b%2Bc&x");
    assert_string_equal(fx.xtest, "Value-1");
    assert_string_equal(fx.qname, "a b+c");
    assert_true(strncmp(fx.peer, "127.0.0.1:", 10) == 0);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_post_bodies(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "POST /echo HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello=world");
    vr_test_client_send(&cl, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nchu\r\n4\r\nnked\r\n0\r\n\r\n");
    wait_resps(&fx.loop, &cl, 2);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "POST /echo hello=world");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "POST /echo chunked");
    assert_int_equal(off, cl.in.len);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

/* Every byte in its own write, with loop turns between: the request still arrives once. */
static void test_byte_by_byte(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    static const char req[] =
        "POST /split?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody";
    for (size_t i = 0; i < sizeof(req) - 1; i++) {
        vr_test_client_send_n(&cl, req + i, 1);
        uv_run(&fx.loop, UV_RUN_NOWAIT);
    }
    wait_resps(&fx.loop, &cl, 1);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "POST /split body");
    assert_int_equal(fx.nreq, 1);
    assert_string_equal(fx.query, "a=1");
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_keepalive_two_requests(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    vr_test_client_send(&cl, "GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_resps(&fx.loop, &cl, 2);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /one");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /two");
    assert_int_equal(fx.nreq, 2);
    assert_string_equal(fx.peers[0], fx.peers[1]); /* same connection */
    assert_false(cl.eof);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_async_response(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /async HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "async");
    assert_int_equal(fx.on_close, 0);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static int has_held(void *arg)
{
    return ((struct fx *)arg)->held != NULL;
}

/* The second request is not handed over before the first (async) one is answered, and
 * the answers come in request order. */
static void test_pipelined_in_order(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /async HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n"
                             "POST /third HTTP/1.1\r\nContent-Length: 1\r\n\r\nz");
    wait_resps(&fx.loop, &cl, 3);
    assert_int_equal(fx.nreq_at_async_answer, 1);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "async");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /second");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "POST /third z");
    assert_int_equal(fx.nreq, 3);
    /* Now the next requests arrive while the async one is pending: they wait. */
    vr_test_client_send(&cl, "GET /async HTTP/1.1\r\n\r\n");
    assert_true(vr_test_run_until(&fx.loop, has_held, &fx, WAIT_MS));
    vr_test_client_send(&cl, "GET /fifth HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 5);
    assert_int_equal(fx.nreq_at_async_answer, 4);
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "async");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /fifth");
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static int all_handled(void *arg)
{
    return ((struct fx *)arg)->nreq == 1500 + 2;
}

/* Far more pipelined input than the server buffers arrives while a request is pending:
 * reading pauses and resumes, and every request is answered in order. */
static void test_pipelined_flood(void **state)
{
    (void)state;
    enum { N = 1500 }; /* as in all_handled; N * 200 bytes is several INBUF_SOFTs */
    static const char one[] = "GET /p HTTP/1.1\r\nX-Pad: "
                              "0123456789012345678901234567890123456789012345678901234567890123"
                              "0123456789012345678901234567890123456789012345678901234567890123"
                              "01234567890123456789012345678901234567890123456\r\n\r\n";
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    struct vr_buf flood;
    vr_buf_init(&flood, (size_t)1024 * 1024);
    assert_int_equal(vr_buf_append_str(&flood, "GET /async HTTP/1.1\r\n\r\n"), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(vr_buf_append_str(&flood, one), 0);
    assert_int_equal(vr_buf_append_str(&flood, "GET /last HTTP/1.1\r\n\r\n"), 0);
    vr_test_client_send_n(&cl, flood.p, flood.len);
    vr_buf_cleanup(&flood);
    /* Cheap condition first: the text search below scans the whole input. */
    assert_true(vr_test_run_until(&fx.loop, all_handled, &fx, 4 * WAIT_MS));
    wait_text(&fx.loop, &cl, "GET /last");
    assert_int_equal(fx.nreq_at_async_answer, 1);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "async");
    for (int i = 0; i < N; i++) {
        assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
        assert_string_equal(r.body, "GET /p");
    }
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /last");
    assert_int_equal(off, cl.in.len);
    assert_int_equal(fx.nreq, N + 2);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_stream_then_request(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /stream HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    assert_non_null(strstr(cl.in.p, "\r\n\r\n3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n"));
    vr_test_client_send(&cl, "GET /after HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 2);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_true(r.chunked);
    assert_false(vr_test_resp_has(&r, "Content-Length"));
    assert_true(vr_test_resp_has(&r, "\r\nContent-Type: application/json\r\n"));
    assert_string_equal(r.body, "onetwothree");
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /after");
    /* A stream that ends the connection's life normally is not "dropped" either. */
    size_t before = cl.in.len;
    vr_test_client_send(&cl, "GET /stream HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 3);
    assert_true(cl.in.len > before);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
    assert_int_equal(fx.on_close, 0);
}

static void test_abort_stream(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /hold-stream HTTP/1.1\r\n\r\n");
    wait_text(&fx.loop, &cl, "5\r\nfirst\r\n");
    assert_non_null(fx.held);
    vr_http_abort(fx.held);
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    assert_null(strstr(cl.in.p, "0\r\n\r\n"));
    assert_int_equal(fx.on_close, 1);
    run_for(&fx.loop, 20);
    assert_int_equal(fx.on_close, 1);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
    assert_int_equal(fx.on_close, 1);
}

static int on_close_ran(void *arg)
{
    return ((struct fx *)arg)->on_close > 0;
}

static void test_peer_disconnect(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    fx_setup(&fx, NULL);
    /* While streaming. */
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /hold-stream HTTP/1.1\r\n\r\n");
    wait_text(&fx.loop, &cl, "5\r\nfirst\r\n");
    vr_test_client_close(&cl);
    assert_true(vr_test_run_until(&fx.loop, on_close_ran, &fx, WAIT_MS));
    assert_int_equal(fx.on_close, 1);
    /* While an async answer is pending. */
    fx.on_close = 0;
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /hold HTTP/1.1\r\n\r\n");
    assert_true(vr_test_run_until(&fx.loop, has_held, &fx, WAIT_MS));
    assert_int_equal(fx.on_close, 0);
    vr_test_client_close(&cl);
    assert_true(vr_test_run_until(&fx.loop, on_close_ran, &fx, WAIT_MS));
    run_for(&fx.loop, 20);
    assert_int_equal(fx.on_close, 1);
    fx_teardown(&fx);
}

/* A stream to a peer that does not read: pending bytes build up, then the watcher is
 * dropped. */
static void test_stream_pending_slow_reader(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /hold-stream HTTP/1.1\r\n\r\n");
    wait_text(&fx.loop, &cl, "5\r\nfirst\r\n");
    uv_read_stop((uv_stream_t *)&cl.tcp);
    assert_int_equal(vr_http_stream_pending(fx.held), 0);
    static char chunk[256 * 1024];
    memset(chunk, 'x', sizeof(chunk));
    int i;
    for (i = 0; i < 256 && vr_http_stream_pending(fx.held) < (size_t)1024 * 1024; i++) {
        vr_http_stream_write(fx.held, chunk, sizeof(chunk));
        uv_run(&fx.loop, UV_RUN_NOWAIT);
    }
    assert_true(i < 256);
    assert_true(vr_http_stream_pending(fx.held) >= (size_t)1024 * 1024);
    vr_http_abort(fx.held);
    assert_true(vr_test_run_until(&fx.loop, on_close_ran, &fx, WAIT_MS));
    vr_test_client_close(&cl);
    fx_teardown(&fx);
    assert_int_equal(fx.on_close, 1);
}

/* Sends raw bytes and expects one error response, then EOF; the handler never runs. */
static void expect_error(const struct vr_httpd_opts *opts, const char *req, int status)
{
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, opts);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, req);
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_int_equal(r.status, status);
    assert_true(vr_test_resp_has(&r, "\r\nConnection: close\r\n"));
    assert_true(r.body_len > 0);
    assert_int_equal(off, cl.in.len);
    assert_int_equal(fx.nreq, 0);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_400_garbage(void **state)
{
    (void)state;
    expect_error(NULL, "GARBAGE\x01 / HTTP/1.1\r\n\r\n", 400);
    expect_error(NULL, "GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400);
}

static void test_413(void **state)
{
    (void)state;
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.max_body_bytes = 16;
    expect_error(&o, "POST /big HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 413);
    expect_error(&o,
                 "POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
                 413);
}

static void test_431(void **state)
{
    (void)state;
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.max_header_bytes = 256;
    char req[2048];
    char big[1001];
    memset(big, 'a', 1000);
    big[1000] = '\0';
    (void)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
    expect_error(&o, req, 431);
}

struct trickle {
    uv_timer_t t;
    struct vr_test_client *cl;
    int sent;
};

static void on_trickle(uv_timer_t *t)
{
    struct trickle *tr = container_of(t, struct trickle, t);
    if (tr->cl->eof) {
        uv_timer_stop(t);
        return;
    }
    vr_test_client_send(tr->cl, "X: y\r\n");
    tr->sent++;
}

/* A header line every 20 ms does not extend a 100 ms request timeout. */
static void test_408_slowloris(void **state)
{
    (void)state;
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.request_timeout_ms = 100;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, &o);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /slow HTTP/1.1\r\n");
    struct trickle tr = {.cl = &cl};
    uv_timer_init(&fx.loop, &tr.t);
    uv_timer_start(&tr.t, on_trickle, 20, 20);
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    uv_close((uv_handle_t *)&tr.t, NULL);
    assert_true(tr.sent >= 2);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_int_equal(r.status, 408);
    assert_true(vr_test_resp_has(&r, "\r\nConnection: close\r\n"));
    assert_int_equal(fx.nreq, 0);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.idle_timeout_ms = 50;
    struct fx fx;
    struct vr_test_client cl, quiet;
    fx_setup(&fx, &o);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_open(&fx.loop, fx.port, &quiet);
    vr_test_client_send(&cl, "GET /x HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    size_t len = cl.in.len;
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    assert_int_equal(cl.in.len, len); /* closed without another byte */
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &quiet, WAIT_MS));
    assert_int_equal(quiet.in.len, 0);
    vr_test_client_close(&cl);
    vr_test_client_close(&quiet);
    fx_teardown(&fx);
}

static void test_max_connections(void **state)
{
    (void)state;
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.max_connections = 1;
    struct fx fx;
    struct vr_test_client a, b;
    fx_setup(&fx, &o);
    vr_test_client_open(&fx.loop, fx.port, &a);
    vr_test_client_send(&a, "GET /a1 HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &a, 1);
    vr_test_client_open(&fx.loop, fx.port, &b);
    vr_test_client_send(&b, "GET /b HTTP/1.1\r\n\r\n");
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &b, WAIT_MS));
    assert_int_equal(b.in.len, 0);
    vr_test_client_send(&a, "GET /a2 HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &a, 2);
    assert_int_equal(fx.nreq, 2);
    vr_test_client_close(&b);
    vr_test_client_close(&a);
    fx_teardown(&fx);
}

static void test_close_with_open_stream(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /hold-stream HTTP/1.1\r\n\r\n");
    wait_text(&fx.loop, &cl, "5\r\nfirst\r\n");
    vr_httpd_close(fx.srv, on_server_closed, &fx);
    assert_true(vr_test_run_until(&fx.loop, server_closed, &fx, WAIT_MS));
    assert_int_equal(fx.on_close, 1);
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_connection_close_and_http10(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    size_t off;
    fx_setup(&fx, NULL);
    static const char *const closing[] = {
        "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /c HTTP/1.0\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        vr_test_client_open(&fx.loop, fx.port, &cl);
        vr_test_client_send(&cl, closing[i]);
        assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
        off = 0;
        assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
        assert_int_equal(r.status, 200);
        assert_true(vr_test_resp_has(&r, "\r\nConnection: close\r\n"));
        vr_test_client_close(&cl);
    }
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    vr_test_client_send(&cl, "GET /k2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wait_resps(&fx.loop, &cl, 2);
    off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_true(vr_test_resp_has(&r, "\r\nConnection: keep-alive\r\n"));
    assert_false(cl.eof);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_head_and_204(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(
        &cl, "HEAD /h HTTP/1.1\r\n\r\nGET /nocontent HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
    wait_text(&fx.loop, &cl, "GET /g");
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, true, &r));
    assert_int_equal(r.status, 200);
    assert_true(vr_test_resp_has(&r, "\r\nContent-Length: 7\r\n")); /* "HEAD /h" not sent */
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_int_equal(r.status, 204);
    assert_false(vr_test_resp_has(&r, "Content-Length"));
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "GET /g");
    assert_int_equal(off, cl.in.len);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct fx fx;
    struct vr_test_client cl;
    struct vr_test_resp r;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(&cl,
                        "PUT /up HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    wait_text(&fx.loop, &cl, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(fx.nreq, 0);
    vr_test_client_send(&cl, "data");
    wait_resps(&fx.loop, &cl, 2);
    size_t off = 0;
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_int_equal(r.status, 100);
    assert_true(vr_test_parse_resp(&cl.in, &off, false, &r));
    assert_string_equal(r.body, "PUT /up data");
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

struct log_capture {
    int lines;
    int secret_seen;
};

static void capture_sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct log_capture *lc = arg;
    (void)level;
    (void)len;
    lc->lines++;
    if (strstr(line, "s3cr3t") || strstr(line, "Bearer"))
        lc->secret_seen++;
}

/* At trace level, neither the Authorization header nor a body reaches the log, even for a
 * request that is rejected. */
static void test_logs_no_secrets(void **state)
{
    (void)state;
    struct log_capture lc = {0};
    enum vr_log_level old = vr_log_get_level();
    setenv("VR_TRACE", "httpd", 1);
    vr_log_init_from_env();
    vr_log_set_level(VR_LOG_TRACE);
    vr_log_set_sink(capture_sink, &lc);
    struct fx fx;
    struct vr_test_client cl;
    fx_setup(&fx, NULL);
    vr_test_client_open(&fx.loop, fx.port, &cl);
    vr_test_client_send(
        &cl, "POST /p HTTP/1.1\r\nAuthorization: Bearer s3cr3t\r\nContent-Length: 6\r\n\r\n"
             "s3cr3t");
    wait_resps(&fx.loop, &cl, 1);
    vr_test_client_send(
        &cl, "POST /p HTTP/1.1\r\nAuthorization: Bearer s3cr3t\r\nContent-Length: x\r\n\r\n");
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &cl, WAIT_MS));
    vr_test_client_close(&cl);
    fx_teardown(&fx);
    vr_log_set_sink(NULL, NULL);
    vr_log_set_level(old);
    unsetenv("VR_TRACE");
    vr_log_init_from_env();
    assert_true(lc.lines > 3); /* state changes and the protocol error were logged */
    assert_int_equal(lc.secret_seen, 0);
}

static void test_query_get(void **state)
{
    (void)state;
    char out[16];
    struct vr_str q = VR_STR_LIT("a=1&k&e=&sp=x%20y+z&a=2&pct=%41%zz%4&long=0123456789abcdefXYZ"
                                 "&%6Bey=dec");
    assert_true(vr_http_query_get(q, "a", out, sizeof(out)));
    assert_string_equal(out, "1"); /* first wins */
    assert_true(vr_http_query_get(q, "k", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_true(vr_http_query_get(q, "e", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_true(vr_http_query_get(q, "sp", out, sizeof(out)));
    assert_string_equal(out, "x y z");
    assert_true(vr_http_query_get(q, "pct", out, sizeof(out)));
    assert_string_equal(out, "A%zz%4");
    assert_true(vr_http_query_get(q, "long", out, sizeof(out)));
    assert_string_equal(out, "0123456789abcde"); /* truncated to cap */
    assert_true(vr_http_query_get(q, "key", out, sizeof(out)));
    assert_string_equal(out, "dec");
    (void)snprintf(out, sizeof(out), "untouched");
    assert_false(vr_http_query_get(q, "missing", out, sizeof(out)));
    assert_false(vr_http_query_get(q, "", out, sizeof(out)));
    assert_false(vr_http_query_get(vr_str_make("", 0), "a", out, sizeof(out)));
    assert_string_equal(out, "untouched");
}

static void listen_and_get(const char *addr, const char *connect_ip)
{
    struct fx fx;
    memset(&fx, 0, sizeof(fx));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    assert_int_equal(uv_timer_init(&fx.loop, &fx.timer), 0);
    assert_int_equal(vr_httpd_new(&fx.loop, NULL, handler, &fx, &fx.srv), 0);
    int rc = vr_httpd_listen(fx.srv, addr);
    if (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT) {
        fx_teardown(&fx); /* no IPv6 here */
        return;
    }
    assert_int_equal(rc, 0);
    assert_true(vr_httpd_port(fx.srv) > 0);
    struct vr_test_client cl;
    vr_test_client_open_ip(&fx.loop, connect_ip, vr_httpd_port(fx.srv), &cl);
    vr_test_client_send(&cl, "GET /v HTTP/1.1\r\n\r\n");
    wait_resps(&fx.loop, &cl, 1);
    assert_true(strncmp(fx.peer, connect_ip[0] == ':' ? "[::1]:" : "127.0.0.1:", 6) == 0);
    vr_test_client_close(&cl);
    fx_teardown(&fx);
}

static void test_listen_forms(void **state)
{
    (void)state;
    listen_and_get(":0", "127.0.0.1");
    listen_and_get("localhost:0", "127.0.0.1");
    listen_and_get("[::1]:0", "::1");
}

static void unused_handler(struct vr_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
    fail();
}

static void test_bad_args(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct vr_httpd *s = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vr_httpd_opts o;
    vr_httpd_opts_default(&o);
    o.max_connections = 0;
    assert_int_equal(vr_httpd_new(&loop, &o, NULL, NULL, &s), VR_EINVAL);
    assert_int_equal(vr_httpd_new(&loop, &o, unused_handler, NULL, &s), VR_EINVAL);
    assert_null(s);
    assert_int_equal(vr_httpd_new(&loop, NULL, unused_handler, NULL, &s), 0);
    assert_int_equal(vr_httpd_listen(s, "nonsense"), VR_EINVAL);
    assert_int_equal(vr_httpd_listen(s, "127.0.0.1:99999"), VR_EINVAL);
    assert_int_equal(vr_httpd_listen(s, "300.1.1.1:80"), VR_EINVAL);
    assert_int_equal(vr_httpd_listen(s, "[::1:0"), VR_EINVAL);
    vr_httpd_close(s, NULL, NULL);
    vr_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_query_headers),
        cmocka_unit_test(test_post_bodies),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_keepalive_two_requests),
        cmocka_unit_test(test_async_response),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_pipelined_flood),
        cmocka_unit_test(test_stream_then_request),
        cmocka_unit_test(test_abort_stream),
        cmocka_unit_test(test_peer_disconnect),
        cmocka_unit_test(test_stream_pending_slow_reader),
        cmocka_unit_test(test_400_garbage),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_431),
        cmocka_unit_test(test_408_slowloris),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_close_with_open_stream),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_head_and_204),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_logs_no_secrets),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
