/* kubesim in-process (sim.h): a raw libuv client opens a watch with bookmarks, then the
 * simulator is closed under it: the close callback runs once, after the call, the client
 * sees the connection end, and the loop closes with nothing left open. */
#include <string.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#include "sim.h"

struct client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    struct vr_buf in;
    char chunk[4096];
    bool eof;
    int closed_calls;
};

static const char watch_req[] =
    "GET /apis/velero.io/v1/namespaces/velero/downloadrequests?watch=1&allowWatchBookmarks=true "
    "HTTP/1.1\r\nHost: kubesim\r\n\r\n";

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct client *c = h->data;
    (void)size;
    *buf = uv_buf_init(c->chunk, sizeof(c->chunk));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (n < 0) {
        c->eof = true;
        uv_read_stop(s);
        return;
    }
    assert_int_equal(vr_buf_append(&c->in, buf->base, (size_t)n), 0);
}

static void on_write(uv_write_t *w, int status)
{
    (void)w;
    assert_int_equal(status, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    assert_int_equal(status, 0);
    uv_buf_t b = uv_buf_init((char *)watch_req, sizeof(watch_req) - 1);
    assert_int_equal(uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), 0);
}

static int has_bookmark(void *arg)
{
    struct client *c = arg;
    return c->in.p && strstr(c->in.p, "\"type\":\"BOOKMARK\"") != NULL;
}

static int closed_and_eof(void *arg)
{
    struct client *c = arg;
    return c->closed_calls == 1 && c->eof;
}

static void on_sim_closed(void *arg)
{
    struct client *c = arg;
    c->closed_calls++;
}

static void client_start(uv_loop_t *loop, struct client *c, int port)
{
    struct sockaddr_in addr;
    vr_buf_init(&c->in, 1 << 20);
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &addr), 0);
    assert_int_equal(uv_tcp_init(loop, &c->tcp), 0);
    c->tcp.data = c;
    c->connect.data = c;
    assert_int_equal(uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr,
                                    on_connect),
                     0);
}

static void test_close_with_open_watch(void **state)
{
    uv_loop_t loop;
    struct ks_sim *sim;
    struct ks_sim_opts opts;
    struct client c = {0};
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    ks_sim_opts_default(&opts);
    opts.bookmark_interval_ms = 50;
    assert_int_equal(ks_sim_new(&loop, &opts, &sim), 0);
    assert_int_equal(ks_sim_listen(sim, "127.0.0.1:0"), 0);
    assert_true(ks_sim_port(sim) > 0);
    client_start(&loop, &c, ks_sim_port(sim));

    assert_true(vr_test_run_until(&loop, has_bookmark, &c, 5000));
    assert_non_null(strstr(c.in.p, "HTTP/1.1 200"));
    assert_non_null(strstr(c.in.p, "Transfer-Encoding: chunked"));

    ks_sim_close(sim, on_sim_closed, &c);
    assert_int_equal(c.closed_calls, 0); /* never inside the call */
    assert_true(vr_test_run_until(&loop, closed_and_eof, &c, 5000));
    /* Cut, not ended: no terminating chunk. */
    assert_null(strstr(c.in.p, "\r\n0\r\n\r\n"));

    uv_close((uv_handle_t *)&c.tcp, NULL);
    vr_buf_cleanup(&c.in);
    vr_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_with_open_watch),
    };
    vr_mem_init_cjson();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
