/*
 * The curl <-> libuv bridge and vr_req against a real vreq httpd running on the same loop
 * (127.0.0.1, port 0). No sleeps: the loop is driven with vr_test_run_until.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define RUN_MS 10000
#define MAX_HELD 16
#define MAX_PEERS 256
#define STREAM_CHUNKS 3

/* --- the test server --- */

struct srv {
    struct vr_httpd *httpd;
    char base[64]; /* http://127.0.0.1:PORT */
    int requests;
    char peers[MAX_PEERS][64];
    int npeers;
    struct vr_http_req *held[MAX_HELD]; /* /hang requests never answered */
    int nheld;
    struct vr_http_req *stream; /* the open /stream response */
    int stream_written;         /* chunks written so far */
    int stream_dropped;         /* /stream responses cut before their end */
};

struct fx {
    uv_loop_t loop;
    struct srv srv;
    struct vr_curl_uv *cu;
    bool cu_closed;
    bool srv_closed;
};

static void note_peer(struct srv *s, const char *peer)
{
    for (int i = 0; i < s->npeers; i++)
        if (strcmp(s->peers[i], peer) == 0)
            return;
    if (s->npeers < MAX_PEERS)
        (void)snprintf(s->peers[s->npeers++], sizeof(s->peers[0]), "%s", peer);
}

static void on_held_close(struct vr_http_req *req, void *arg)
{
    struct srv *s = arg;
    for (int i = 0; i < s->nheld; i++) {
        if (s->held[i] == req) {
            s->held[i] = s->held[--s->nheld];
            return;
        }
    }
}

static void on_stream_close(struct vr_http_req *req, void *arg)
{
    struct srv *s = arg;
    if (s->stream == req) {
        s->stream = NULL;
        s->stream_dropped++;
    }
}

static void stream_chunk(struct srv *s)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "chunk-%d\n", s->stream_written++);
    vr_http_stream_write(s->stream, line, (size_t)n);
}

/* Writes the next chunk (or the end) once the client has seen everything written so far:
 * the stream can only finish if the client receives pieces as they come. */
static void stream_advance(struct srv *s)
{
    if (!s->stream)
        return;
    if (s->stream_written < STREAM_CHUNKS) {
        stream_chunk(s);
        return;
    }
    struct vr_http_req *req = s->stream;
    s->stream = NULL;
    vr_http_stream_end(req);
}

static void respond_big(struct vr_http_req *req, bool chunked)
{
    char body[4096];
    memset(body, 'x', sizeof(body));
    if (!chunked) {
        vr_http_respond(req, 200, "text/plain", body, sizeof(body));
        return;
    }
    vr_http_stream_start(req, 200, "text/plain");
    for (size_t off = 0; off < sizeof(body); off += 512)
        vr_http_stream_write(req, body + off, 512);
    vr_http_stream_end(req);
}

static void respond_echo(struct vr_http_req *req)
{
    struct vr_str body = vr_http_req_body(req);
    struct vr_str ct = vr_http_req_header(req, "content-type");
    char ctype[128];
    (void)snprintf(ctype, sizeof(ctype), "%.*s", (int)ct.n, ct.p ? ct.p : "");
    vr_http_add_header(req, "X-Method", vr_http_req_method(req));
    vr_http_respond(req, 200, ctype[0] ? ctype : "application/octet-stream", body.p, body.n);
}

static void handler(struct vr_http_req *req, void *arg)
{
    struct srv *s = arg;
    s->requests++;
    note_peer(s, vr_http_req_peer(req));
    struct vr_str path = vr_http_req_path(req);
    if (vr_str_eq_c(path, "/hello")) {
        vr_http_add_header(req, "X-Test", "yes");
        vr_http_add_header(req, "Retry-After", "7");
        vr_http_respond(req, 200, "text/plain", "hello world", 11);
    } else if (vr_str_eq_c(path, "/echo")) {
        respond_echo(req);
    } else if (vr_str_eq_c(path, "/peer")) {
        const char *peer = vr_http_req_peer(req);
        vr_http_respond(req, 200, "text/plain", peer, strlen(peer));
    } else if (vr_str_eq_c(path, "/big")) {
        respond_big(req, false);
    } else if (vr_str_eq_c(path, "/big-chunked")) {
        respond_big(req, true);
    } else if (vr_str_eq_c(path, "/stream")) {
        vr_assert(!s->stream);
        s->stream = req;
        s->stream_written = 0;
        vr_http_req_on_close(req, on_stream_close, s);
        vr_http_stream_start(req, 200, "text/plain");
        stream_chunk(s);
    } else if (vr_str_eq_c(path, "/hang") && s->nheld < MAX_HELD) {
        s->held[s->nheld++] = req;
        vr_http_req_on_close(req, on_held_close, s);
    } else {
        vr_http_respond(req, 404, "text/plain", "not found", 9);
    }
}

/* --- fixture --- */

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(vr_httpd_new(&f->loop, NULL, handler, &f->srv, &f->srv.httpd), 0);
    assert_int_equal(vr_httpd_listen(f->srv.httpd, "127.0.0.1:0"), 0);
    (void)snprintf(f->srv.base, sizeof(f->srv.base), "http://127.0.0.1:%d",
                   vr_httpd_port(f->srv.httpd));
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    *state = f;
    return 0;
}

static void on_flag(void *arg)
{
    *(bool *)arg = true;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->cu) {
        vr_curl_uv_close(f->cu, on_flag, &f->cu_closed);
        assert_true(vr_test_run_until(&f->loop, is_true, &f->cu_closed, RUN_MS));
    }
    vr_httpd_close(f->srv.httpd, on_flag, &f->srv_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->srv_closed, RUN_MS));
    vr_test_loop_close(&f->loop);
    vr_free(f);
    return 0;
}

static char *url(struct fx *f, const char *path)
{
    return vr_xasprintf("%s%s", f->srv.base, path);
}

/* --- recording done callbacks --- */

static bool g_in_call; /* set around vr_req_start / cancel / close: done must not run there */

struct result {
    int calls;
    int status;
    int http;
    struct vr_buf body;
    char x_test[32];
    char retry_after[32];
    bool absent_is_null;
    char error[256];
    char method[16];
};

static void result_init(struct result *r)
{
    memset(r, 0, sizeof(*r));
    vr_buf_init(&r->body, 1 << 20);
}

/* For a result used again: frees the previous body first. */
static void result_reuse(struct result *r)
{
    vr_buf_cleanup(&r->body);
    result_init(r);
}

static void copy_str(char *out, size_t cap, struct vr_str s)
{
    (void)snprintf(out, cap, "%.*s", (int)s.n, s.p ? s.p : "");
}

static void on_done(struct vr_req *req, int status, void *arg)
{
    struct result *r = arg;
    assert_false(g_in_call);
    r->calls++;
    r->status = status;
    r->http = vr_req_http_status(req);
    struct vr_str b = vr_req_body(req);
    vr_buf_reset(&r->body);
    assert_int_equal(vr_buf_append(&r->body, b.p, b.n), 0);
    copy_str(r->x_test, sizeof(r->x_test), vr_req_header(req, "x-test"));
    copy_str(r->retry_after, sizeof(r->retry_after), vr_req_header(req, "RETRY-AFTER"));
    r->absent_is_null = vr_req_header(req, "x-absent").p == NULL;
    copy_str(r->method, sizeof(r->method), vr_req_header(req, "x-method"));
    (void)snprintf(r->error, sizeof(r->error), "%s", vr_req_error_text(req));
}

static int has_calls(void *arg)
{
    return ((struct result *)arg)->calls > 0;
}

/* Starts req with on_done(r), checking that done does not run inside the call. */
static void start(struct vr_req *req, struct result *r)
{
    g_in_call = true;
    assert_int_equal(vr_req_start(req, on_done, r), 0);
    g_in_call = false;
    assert_int_equal(r->calls, 0);
}

static void fetch(struct fx *f, struct vr_req *req, struct result *r)
{
    start(req, r);
    assert_true(vr_test_run_until(&f->loop, has_calls, r, RUN_MS));
    assert_int_equal(r->calls, 1);
}

static struct vr_req *new_req(struct fx *f, const char *method, const char *path)
{
    char *u = url(f, path);
    struct vr_req *req = vr_req_new(f->cu, method, u);
    vr_free(u);
    return req;
}

/* --- tests --- */

static void test_get_body_and_headers(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    fetch(f, new_req(f, "GET", "/hello"), &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    assert_true(vr_str_eq_c(vr_buf_str(&r.body), "hello world"));
    assert_string_equal(r.x_test, "yes");
    assert_string_equal(r.retry_after, "7");
    assert_true(r.absent_is_null);
    assert_string_equal(r.error, "");

    /* A host name goes through curl's resolver (and possibly ::1 first, refused). */
    result_reuse(&r);
    char *u = vr_xasprintf("http://localhost:%d/hello", vr_httpd_port(f->srv.httpd));
    fetch(f, vr_req_new(f->cu, "GET", u), &r);
    vr_free(u);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);

    /* Any HTTP status completes the transfer: status 0, the code is the caller's business. */
    result_reuse(&r);
    fetch(f, new_req(f, "GET", "/missing"), &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 404);
    assert_true(vr_str_eq_c(vr_buf_str(&r.body), "not found"));
    vr_buf_cleanup(&r.body);
    assert_int_equal(vr_curl_uv_active(f->cu), 0);
}

static void test_methods_and_bodies(void **state)
{
    struct fx *f = *state;
    static const char payload[] = {'{', '"', 'a', '"', ':', 0, 1, '}'};
    struct result r;
    result_init(&r);
    struct vr_req *req = new_req(f, "POST", "/echo");
    assert_int_equal(vr_req_add_header(req, "Content-Type: application/json"), 0);
    vr_req_set_body(req, payload, sizeof(payload));
    fetch(f, req, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    assert_string_equal(r.method, "POST");
    assert_true(vr_str_eq(vr_buf_str(&r.body), vr_str_make(payload, sizeof(payload))));

    result_reuse(&r);
    req = new_req(f, "PATCH", "/echo");
    assert_int_equal(vr_req_add_header(req, "Content-Type: application/merge-patch+json"), 0);
    vr_req_set_body_take(req, vr_xstrdup("{\"x\":1}"), 7);
    fetch(f, req, &r);
    assert_string_equal(r.method, "PATCH");
    assert_true(vr_str_eq_c(vr_buf_str(&r.body), "{\"x\":1}"));

    const char *bodyless[] = {"PUT", "DELETE", "GET"};
    for (size_t i = 0; i < 3; i++) {
        result_reuse(&r);
        fetch(f, new_req(f, bodyless[i], "/echo"), &r);
        assert_int_equal(r.http, 200);
        assert_string_equal(r.method, bodyless[i]);
        assert_int_equal(r.body.len, 0);
    }

    result_reuse(&r);
    fetch(f, new_req(f, "HEAD", "/hello"), &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    assert_string_equal(r.x_test, "yes");
    assert_int_equal(r.body.len, 0);
    vr_buf_cleanup(&r.body);
}

static void test_bad_headers_and_unstarted_free(void **state)
{
    struct fx *f = *state;
    struct vr_req *req = new_req(f, "GET", "/hello");
    assert_int_equal(vr_req_add_header(req, "X-A: 1\r\nX-Injected: 2"), VR_EINVAL);
    assert_int_equal(vr_req_add_header(req, "X-A: 1\n"), VR_EINVAL);
    assert_int_equal(vr_req_add_header(req, "no colon"), VR_EINVAL);
    assert_int_equal(vr_req_add_header(req, "X-Ok: fine"), 0);
    vr_req_set_body(req, "abc", 3);
    vr_req_free(req); /* never started: the caller's to free */
    vr_req_free(NULL);
    assert_int_equal(f->srv.requests, 0);
}

#define NCONC 100

static int all_done(void *arg)
{
    struct result *rs = arg;
    for (int i = 0; i < NCONC; i++)
        if (rs[i].calls == 0)
            return 0;
    return 1;
}

static void test_concurrent(void **state)
{
    struct fx *f = *state;
    struct result *rs = vr_xcalloc(NCONC, sizeof(*rs));
    for (int i = 0; i < NCONC; i++) {
        result_init(&rs[i]);
        start(new_req(f, "GET", "/hello"), &rs[i]);
    }
    assert_int_equal(vr_curl_uv_active(f->cu), NCONC);
    assert_true(vr_test_run_until(&f->loop, all_done, rs, RUN_MS));
    /* Let anything stray run, then check nobody was called twice. */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < NCONC; i++) {
        assert_int_equal(rs[i].calls, 1);
        assert_int_equal(rs[i].status, 0);
        assert_true(vr_str_eq_c(vr_buf_str(&rs[i].body), "hello world"));
        vr_buf_cleanup(&rs[i].body);
    }
    assert_int_equal(f->srv.requests, NCONC);
    assert_int_equal(vr_curl_uv_active(f->cu), 0);
    vr_free(rs);
}

static void test_connection_reuse(void **state)
{
    struct fx *f = *state;
    struct result a, b;
    result_init(&a);
    result_init(&b);
    fetch(f, new_req(f, "GET", "/peer"), &a);
    fetch(f, new_req(f, "GET", "/peer"), &b);
    struct result c;
    result_init(&c);
    fetch(f, new_req(f, "POST", "/peer"), &c);
    assert_int_equal(a.http, 200);
    /* The same client address and port: one kept-alive connection served all three. */
    assert_true(vr_str_eq(vr_buf_str(&a.body), vr_buf_str(&b.body)));
    assert_true(vr_str_eq(vr_buf_str(&a.body), vr_buf_str(&c.body)));
    assert_int_equal(f->srv.npeers, 1);
    vr_buf_cleanup(&a.body);
    vr_buf_cleanup(&b.body);
    vr_buf_cleanup(&c.body);
}

static void test_body_cap(void **state)
{
    struct fx *f = *state;
    const char *paths[] = {"/big", "/big-chunked"};
    for (size_t i = 0; i < 2; i++) {
        struct result r;
        result_init(&r);
        struct vr_req *req = new_req(f, "GET", paths[i]);
        vr_req_set_body_cap(req, 1000);
        fetch(f, req, &r);
        assert_int_equal(r.status, VR_ETOOBIG);
        assert_int_equal(r.body.len, 0);
        assert_string_equal(r.error, vr_strerror(VR_ETOOBIG));

        /* Exactly at the cap is fine. */
        result_reuse(&r);
        req = new_req(f, "GET", paths[i]);
        vr_req_set_body_cap(req, 4096);
        fetch(f, req, &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.body.len, 4096);
        vr_buf_cleanup(&r.body);
    }
}

struct streamer {
    struct fx *f;
    struct vr_buf got;
    int pieces;
    int abort_with;    /* < 0: return this from the first piece */
    bool cancel;       /* cancel the request from the first piece */
    bool close_bridge; /* close the whole bridge from the first piece */
    bool closed;
    bool start_other; /* start another request from inside the data callback */
    struct result other;
    int http_seen;
};

static int count_lines(struct vr_str s)
{
    int n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += s.p[i] == '\n';
    return n;
}

static int on_data(struct vr_req *req, struct vr_str chunk, void *arg)
{
    struct streamer *st = arg;
    assert_true(chunk.n > 0);
    st->pieces++;
    st->http_seen = vr_req_http_status(req);
    assert_int_equal(vr_buf_append(&st->got, chunk.p, chunk.n), 0);
    if (st->abort_with < 0)
        return st->abort_with;
    if (st->cancel) {
        g_in_call = true;
        vr_req_cancel(req);
        vr_req_cancel(req);
        g_in_call = false;
        return 0;
    }
    if (st->close_bridge) {
        g_in_call = true;
        vr_curl_uv_close(st->f->cu, on_flag, &st->closed);
        g_in_call = false;
        st->f->cu = NULL;
        return 0;
    }
    if (st->start_other && st->pieces == 1)
        start(new_req(st->f, "GET", "/hello"), &st->other);
    struct srv *s = &st->f->srv;
    if (count_lines(vr_buf_str(&st->got)) == s->stream_written)
        stream_advance(s);
    return 0;
}

static void streamer_init(struct streamer *st, struct fx *f)
{
    memset(st, 0, sizeof(*st));
    st->f = f;
    vr_buf_init(&st->got, 4096);
    result_init(&st->other);
}

static void test_stream(void **state)
{
    struct fx *f = *state;
    struct streamer st;
    streamer_init(&st, f);
    st.start_other = true;
    struct result r;
    result_init(&r);
    struct vr_req *req = new_req(f, "GET", "/stream");
    vr_req_set_data_cb(req, on_data, &st);
    vr_req_set_body_cap(req, 4); /* ignored with a data callback */
    fetch(f, req, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    assert_int_equal(st.http_seen, 200);
    assert_true(vr_str_eq_c(vr_buf_str(&st.got), "chunk-0\nchunk-1\nchunk-2\n"));
    /* One piece per chunk at least: the server wrote each only after the last arrived. */
    assert_true(st.pieces >= STREAM_CHUNKS);
    assert_int_equal(r.body.len, 0);
    /* The request started from inside the data callback ran too, once. */
    assert_true(vr_test_run_until(&f->loop, has_calls, &st.other, RUN_MS));
    assert_int_equal(st.other.calls, 1);
    assert_int_equal(st.other.status, 0);
    assert_true(vr_str_eq_c(vr_buf_str(&st.other.body), "hello world"));
    vr_buf_cleanup(&st.other.body);
    vr_buf_cleanup(&st.got);
    vr_buf_cleanup(&r.body);
}

static int stream_gone(void *arg)
{
    return ((struct srv *)arg)->stream == NULL;
}

static void run_stream_stopper(struct fx *f, struct streamer *st, int want)
{
    struct result r;
    result_init(&r);
    struct vr_req *req = new_req(f, "GET", "/stream");
    vr_req_set_data_cb(req, on_data, st);
    fetch(f, req, &r);
    assert_int_equal(r.status, want);
    assert_int_equal(st->pieces, 1);
    assert_true(vr_str_eq_c(vr_buf_str(&st->got), "chunk-0\n"));
    assert_string_equal(r.error, vr_strerror(want));
    /* The server sees the connection go away; done is not called again meanwhile. */
    assert_true(vr_test_run_until(&f->loop, stream_gone, &f->srv, RUN_MS));
    assert_int_equal(f->srv.stream_dropped, 1);
    assert_int_equal(r.calls, 1);
    vr_buf_cleanup(&st->got);
    vr_buf_cleanup(&r.body);
}

static void test_stream_abort(void **state)
{
    struct fx *f = *state;
    struct streamer st;
    streamer_init(&st, f);
    st.abort_with = VR_EPARSE;
    run_stream_stopper(f, &st, VR_EPARSE);
}

static void test_cancel_from_data_cb(void **state)
{
    struct fx *f = *state;
    struct streamer st;
    streamer_init(&st, f);
    st.cancel = true;
    run_stream_stopper(f, &st, VR_ECANCELED);
}

static void test_close_from_data_cb(void **state)
{
    struct fx *f = *state;
    struct streamer st;
    streamer_init(&st, f);
    st.close_bridge = true;
    run_stream_stopper(f, &st, VR_ECANCELED);
    assert_null(f->cu);
    assert_true(vr_test_run_until(&f->loop, is_true, &st.closed, RUN_MS));
}

static int held_n(void *arg)
{
    struct fx *f = arg;
    return f->srv.nheld > 0;
}

static int held_none(void *arg)
{
    struct fx *f = arg;
    return f->srv.nheld == 0;
}

static void test_cancel_inflight(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    struct vr_req *req = new_req(f, "GET", "/hang");
    start(req, &r);
    assert_true(vr_test_run_until(&f->loop, held_n, f, RUN_MS));
    g_in_call = true;
    vr_req_cancel(req);
    vr_req_cancel(req);
    g_in_call = false;
    assert_int_equal(r.calls, 0);
    assert_true(vr_test_run_until(&f->loop, has_calls, &r, RUN_MS));
    assert_int_equal(r.status, VR_ECANCELED);
    assert_string_equal(r.error, vr_strerror(VR_ECANCELED));
    /* The connection is dropped, the server notices, and done stays at one call. */
    assert_true(vr_test_run_until(&f->loop, held_none, f, RUN_MS));
    assert_int_equal(r.calls, 1);
    assert_int_equal(vr_curl_uv_active(f->cu), 0);

    /* Cancelled before the loop ever ran it. */
    result_reuse(&r);
    req = new_req(f, "GET", "/hello");
    start(req, &r);
    g_in_call = true;
    vr_req_cancel(req);
    g_in_call = false;
    assert_true(vr_test_run_until(&f->loop, has_calls, &r, RUN_MS));
    assert_int_equal(r.status, VR_ECANCELED);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(r.calls, 1);
    vr_buf_cleanup(&r.body);
}

/* vr_curl_uv_flush: with nothing started it does nothing; a request started outside curl
 * goes out on the parked keep-alive connection, no done callback runs from the flush (nor
 * from a second one with nothing left), and the request then completes as usual. */
static void test_flush(void **state)
{
    struct fx *f = *state;
    struct result a, b;
    result_init(&a);
    result_init(&b);
    vr_curl_uv_flush(f->cu);
    fetch(f, new_req(f, "GET", "/peer"), &a);
    int before = f->srv.requests;
    start(new_req(f, "GET", "/peer"), &b);
    g_in_call = true;
    vr_curl_uv_flush(f->cu);
    vr_curl_uv_flush(f->cu);
    g_in_call = false;
    assert_int_equal(b.calls, 0);
    assert_int_equal(vr_curl_uv_active(f->cu), 1);
    assert_true(vr_test_run_until(&f->loop, has_calls, &b, RUN_MS));
    assert_int_equal(b.status, 0);
    assert_int_equal(b.http, 200);
    assert_int_equal(f->srv.requests, before + 1);
    assert_true(vr_str_eq(vr_buf_str(&a.body), vr_buf_str(&b.body)));
    assert_int_equal(f->srv.npeers, 1);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(b.calls, 1);
    vr_buf_cleanup(&a.body);
    vr_buf_cleanup(&b.body);
}

/* A port that was free a moment ago: bind, read it, close. */
static int free_port(uv_loop_t *loop)
{
    uv_tcp_t tcp;
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    assert_int_equal(uv_tcp_init(loop, &tcp), 0);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&bound, &len), 0);
    int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return port;
}

static void test_connection_refused(void **state)
{
    struct fx *f = *state;
    int port = free_port(&f->loop);
    char *u = vr_xasprintf("http://127.0.0.1:%d/x", port);
    struct result r;
    result_init(&r);
    fetch(f, vr_req_new(f->cu, "GET", u), &r);
    vr_free(u);
    assert_int_equal(r.status, VR_EHTTP);
    assert_int_equal(r.http, 0);
    /* curl's own words, e.g. "Failed to connect to 127.0.0.1 port N ...: Connection refused" */
    assert_non_null(strstr(r.error, "onnect"));
    vr_buf_cleanup(&r.body);
}

static void test_bad_url(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    /* Fails at once inside curl, yet done still comes from the loop. */
    fetch(f, vr_req_new(f->cu, "GET", "http://[::1"), &r);
    assert_int_equal(r.status, VR_EHTTP);
    assert_true(strlen(r.error) > 0);
    result_reuse(&r);
    fetch(f, vr_req_new(f->cu, "GET", "gopher://127.0.0.1/"), &r);
    assert_int_equal(r.status, VR_EHTTP);
    vr_buf_cleanup(&r.body);
}

static void test_timeout(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    struct vr_req *req = new_req(f, "GET", "/hang");
    vr_req_set_timeout_ms(req, 200);
    uint64_t t0 = uv_now(&f->loop);
    fetch(f, req, &r);
    uv_update_time(&f->loop);
    assert_int_equal(r.status, VR_ETIMEDOUT);
    assert_true(uv_now(&f->loop) - t0 >= 190);
    assert_non_null(strstr(r.error, "imed out"));
    assert_int_equal(f->srv.requests, 1);
    vr_buf_cleanup(&r.body);
}

static void test_https_to_plain_server(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    char *u = vr_xasprintf("https://127.0.0.1:%d/hello", vr_httpd_port(f->srv.httpd));
    struct vr_req *req = vr_req_new(f->cu, "GET", u);
    vr_free(u);
    struct vr_tls_opts tls = {.ca_pem = VR_STR_LIT("-----BEGIN CERTIFICATE-----\nnot a cert\n"),
                              .insecure_skip_verify = true};
    assert_int_equal(vr_req_set_tls(req, &tls), 0);
    fetch(f, req, &r);
    /* The TLS handshake meets an HTTP server: a transport error with curl's text. */
    assert_int_equal(r.status, VR_EHTTP);
    assert_true(strlen(r.error) > 0);
    assert_int_equal(r.http, 0);
    vr_buf_cleanup(&r.body);
}

/* --- TLS against a real terminator: openssl s_server with the fixture certificate, a
 * self-signed EC key for IP 127.0.0.1 valid until 2126, made with
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *     -keyout key.pem -out cert.pem -days 36500 -subj /CN=127.0.0.1 \
 *     -addext subjectAltName=IP:127.0.0.1
 * Skipped when the openssl binary is missing. --- */

struct tls_server {
    uv_process_t proc;
    bool exited;
};

static void on_tls_exit(uv_process_t *proc, int64_t status, int sig)
{
    struct tls_server *t = proc->data;
    (void)status;
    (void)sig;
    t->exited = true;
    uv_close((uv_handle_t *)proc, NULL);
}

static int tls_spawn(struct fx *f, struct tls_server *t, int port, bool verify_client)
{
    const char *dir = getenv("VR_FIXTURES") ? getenv("VR_FIXTURES") : "test/fixtures";
    char *cert = vr_xasprintf("%s/curl_uv/cert.pem", dir);
    char *key = vr_xasprintf("%s/curl_uv/key.pem", dir);
    char *accept = vr_xasprintf("127.0.0.1:%d", port);
    /* uv_spawn wants char *, and string literals are const under -Wwrite-strings. */
    char a0[] = "openssl", a1[] = "s_server", a2[] = "-quiet", a3[] = "-www", a4[] = "-accept",
         a6[] = "-cert", a8[] = "-key", a10[] = "-CAfile", a12[] = "-Verify", a13[] = "1";
    char *args[] = {a0,   a1,  a2,  a3,  a4, accept, a6, cert, a8, key, verify_client ? a10 : NULL,
                    cert, a12, a13, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
    uv_process_options_t opts = {
        .file = a0, .args = args, .exit_cb = on_tls_exit, .stdio_count = 3, .stdio = stdio};
    memset(t, 0, sizeof(*t));
    t->proc.data = t;
    int rc = uv_spawn(&f->loop, &t->proc, &opts);
    if (rc < 0)
        uv_close((uv_handle_t *)&t->proc, NULL);
    vr_free(cert);
    vr_free(key);
    vr_free(accept);
    return rc;
}

static void tls_stop(struct fx *f, struct tls_server *t)
{
    if (!t->exited)
        (void)uv_process_kill(&t->proc, SIGTERM);
    assert_true(vr_test_run_until(&f->loop, is_true, &t->exited, RUN_MS));
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void tls_fetch(struct fx *f, int port, const struct vr_tls_opts *tls, struct result *r)
{
    char *u = vr_xasprintf("https://127.0.0.1:%d/", port);
    struct vr_req *req = vr_req_new(f->cu, "GET", u);
    vr_free(u);
    assert_int_equal(vr_req_set_tls(req, tls), 0);
    fetch(f, req, r);
}

/* Retries (on the loop's clock, 50 ms apart) until s_server listens. */
static void tls_fetch_first(struct fx *f, int port, const struct vr_tls_opts *tls, struct result *r)
{
    for (int i = 0; i < 200; i++) {
        result_reuse(r);
        tls_fetch(f, port, tls, r);
        if (r->status != VR_EHTTP || !strstr(r->error, "onnect"))
            return;
        (void)vr_test_run_until(&f->loop, never, NULL, 50);
    }
}

static void test_tls(void **state)
{
    struct fx *f = *state;
    size_t ca_n, key_n;
    char *ca = vr_test_read_fixture("curl_uv/cert.pem", &ca_n);
    char *key = vr_test_read_fixture("curl_uv/key.pem", &key_n);
    assert_non_null(ca);
    assert_non_null(key);
    struct tls_server t;
    int port = free_port(&f->loop);
    if (tls_spawn(f, &t, port, false) < 0) {
        vr_free(ca);
        vr_free(key);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        skip();
    }
    struct result r;
    result_init(&r);
    struct vr_tls_opts with_ca = {.ca_pem = vr_str_make(ca, ca_n)};
    tls_fetch_first(f, port, &with_ca, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    assert_true(r.body.len > 0);

    /* The system store does not know the self-signed certificate. */
    result_reuse(&r);
    struct vr_tls_opts none = {.ca_file = NULL};
    tls_fetch(f, port, &none, &r);
    assert_int_equal(r.status, VR_EHTTP);
    assert_non_null(strstr(r.error, "certificate"));

    result_reuse(&r);
    struct vr_tls_opts insecure = {.insecure_skip_verify = true};
    tls_fetch(f, port, &insecure, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    tls_stop(f, &t);

    /* Mutual TLS: the server demands a client certificate (the same one, as CA and leaf). */
    port = free_port(&f->loop);
    assert_int_equal(tls_spawn(f, &t, port, true), 0);
    struct vr_tls_opts mtls = {.ca_pem = vr_str_make(ca, ca_n),
                               .cert_pem = vr_str_make(ca, ca_n),
                               .key_pem = vr_str_make(key, key_n)};
    tls_fetch_first(f, port, &mtls, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    result_reuse(&r);
    tls_fetch(f, port, &with_ca, &r);
    assert_int_equal(r.status, VR_EHTTP);
    tls_stop(f, &t);
    vr_buf_cleanup(&r.body);
    vr_free(ca);
    vr_free(key);
}

struct closing {
    struct fx *f;
    struct vr_curl_uv *cu; /* f->cu is cleared once the close is requested */
    struct result r[3];
    int start_during_close;
    bool closed;
    int done_before_close;
};

static void on_done_closing(struct vr_req *req, int status, void *arg)
{
    struct closing *c = arg;
    for (int i = 0; i < 3; i++) {
        if (c->r[i].calls == 0) {
            on_done(req, status, &c->r[i]);
            break;
        }
    }
    char *u = url(c->f, "/hello");
    struct vr_req *late = vr_req_new(c->cu, "GET", u);
    vr_free(u);
    c->start_during_close = vr_req_start(late, on_done, NULL); /* freed by the failed start */
}

static void on_cu_closed(void *arg)
{
    struct closing *c = arg;
    c->closed = true;
    c->done_before_close = c->r[0].calls + c->r[1].calls + c->r[2].calls;
}

static int three_held(void *arg)
{
    return ((struct fx *)arg)->srv.nheld == 3;
}

static void test_close_with_requests_in_flight(void **state)
{
    struct fx *f = *state;
    struct closing c = {.f = f, .cu = f->cu};
    for (int i = 0; i < 3; i++) {
        result_init(&c.r[i]);
        g_in_call = true;
        assert_int_equal(vr_req_start(new_req(f, "GET", "/hang"), on_done_closing, &c), 0);
        g_in_call = false;
    }
    assert_true(vr_test_run_until(&f->loop, three_held, f, RUN_MS));
    g_in_call = true;
    vr_curl_uv_close(f->cu, on_cu_closed, &c);
    g_in_call = false;
    f->cu = NULL;
    assert_int_equal(c.r[0].calls + c.r[1].calls + c.r[2].calls, 0);
    assert_true(vr_test_run_until(&f->loop, is_true, &c.closed, RUN_MS));
    assert_int_equal(c.done_before_close, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.r[i].calls, 1);
        assert_int_equal(c.r[i].status, VR_ECANCELED);
        vr_buf_cleanup(&c.r[i].body);
    }
    assert_int_equal(c.start_during_close, VR_ESHUTDOWN);
    /* Pooled and in-flight connections were closed with the multi handle. */
    assert_true(vr_test_run_until(&f->loop, held_none, f, RUN_MS));
}

static void test_close_idle_bridge(void **state)
{
    struct fx *f = *state;
    struct result r;
    result_init(&r);
    fetch(f, new_req(f, "GET", "/hello"), &r); /* leaves a pooled connection behind */
    bool closed = false;
    vr_curl_uv_close(f->cu, on_flag, &closed);
    f->cu = NULL;
    assert_false(closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &closed, RUN_MS));
    vr_buf_cleanup(&r.body);
}

struct logcap {
    struct vr_buf all;
    int lines;
};

static void log_sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct logcap *lc = arg;
    (void)level;
    lc->lines++;
    (void)vr_buf_append(&lc->all, line, len);
    (void)vr_buf_putc(&lc->all, '\n');
}

static void test_log_redaction(void **state)
{
    struct fx *f = *state;
    struct logcap lc = {.lines = 0};
    vr_buf_init(&lc.all, 1 << 20);
    vr_log_set_sink(log_sink, &lc);
    vr_log_set_level(VR_LOG_TRACE);
    char *u = vr_xasprintf("http://user:PASSWORD1@127.0.0.1:%d/hello?token=QUERYSECRET",
                           vr_httpd_port(f->srv.httpd));
    struct vr_req *req = vr_req_new(f->cu, "GET", u);
    vr_free(u);
    assert_int_equal(vr_req_add_header(req, "Authorization: Bearer HEADERSECRET"), 0);
    struct result r;
    result_init(&r);
    fetch(f, req, &r);
    vr_log_set_level(VR_LOG_INFO);
    vr_log_set_sink(NULL, NULL);
    assert_int_equal(r.http, 200);
    const char *all = lc.all.p ? lc.all.p : "";
    assert_true(lc.lines >= 2);
    assert_non_null(strstr(all, "/hello"));
    assert_non_null(strstr(all, " curl "));
    assert_null(strstr(all, "PASSWORD1"));
    assert_null(strstr(all, "QUERYSECRET"));
    assert_null(strstr(all, "HEADERSECRET"));
    assert_null(strstr(all, "token"));
    vr_buf_cleanup(&lc.all);
    vr_buf_cleanup(&r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods_and_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_headers_and_unstarted_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_data_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_data_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_to_plain_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_idle_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_redaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
