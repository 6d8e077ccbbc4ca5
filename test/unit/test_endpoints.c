/*
 * /healthz, /readyz and /metrics on a real httpd at 127.0.0.1:0, talked to by raw uv_tcp
 * clients on the same loop (driven by vr_test_run_until, no sleeps): answers and content
 * types, readiness before and after the predicate turns true, 404/405, and the scrape-port
 * limits: a malformed request gets 400, an oversized header 431, and a slowloris client 408
 * while another client keeps being served. Every test ends with the loop-close check.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "server/endpoints.h"
#include "server/metrics.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"

#define WAIT_MS 5000

/* ---- responses ---- */

static struct vr_test_resp R;

struct want {
    struct vr_test_client *cl;
    size_t off;
    bool no_body;
};

static int has_resp(void *arg)
{
    struct want *w = arg;
    size_t off = w->off;
    return vr_test_parse_resp(&w->cl->in, &off, w->no_body, &R);
}

/* Sends one request on a fresh connection and waits for its whole answer into R. */
static void request(uv_loop_t *loop, int port, const char *raw, bool no_body)
{
    struct vr_test_client cl;
    vr_test_client_open(loop, port, &cl);
    vr_test_client_send(&cl, raw);
    struct want w = {&cl, 0, no_body};
    assert_true(vr_test_run_until(loop, has_resp, &w, WAIT_MS));
    vr_test_client_close(&cl);
}

static void get(uv_loop_t *loop, int port, const char *path)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    request(loop, port, raw, false);
}

/* ---- fixture ---- */

struct fx {
    uv_loop_t loop;
    struct vr_metrics *reg;
    struct vr_metric *scrapes;
    struct vr_endpoints *ep;
    int port;
    bool ready, healthy, leading, closed;
    int collects;
};

static bool fx_ready(void *arg)
{
    return ((struct fx *)arg)->ready;
}

static bool fx_healthy(void *arg, char *reason, size_t cap)
{
    struct fx *fx = arg;
    if (!fx->healthy)
        snprintf(reason, cap, "lease not renewed");
    return fx->healthy;
}

static const char *fx_role(void *arg)
{
    return ((struct fx *)arg)->leading ? "leader" : "follower";
}

static void fx_collect(struct vr_metrics *r, void *arg)
{
    struct fx *fx = arg;
    (void)r;
    fx->collects++;
    vr_metric_set(fx->scrapes, fx->collects);
}

static void fx_start(struct fx *fx, unsigned request_timeout_ms)
{
    memset(fx, 0, sizeof(*fx));
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->healthy = true;
    fx->reg = vr_metrics_new();
    struct vr_metric_family *f;
    assert_int_equal(vr_metrics_add_family(fx->reg, VR_METRIC_GAUGE, "t_scrapes", "Scrapes.",
                                           NULL, 0, NULL, 0, &f),
                     0);
    assert_int_equal(vr_metrics_series(f, NULL, &fx->scrapes), 0);
    vr_metrics_add_collector(fx->reg, fx_collect, fx);
    struct vr_endpoints_opts o;
    vr_endpoints_opts_default(&o);
    o.metrics = fx->reg;
    o.is_ready = fx_ready;
    o.is_healthy = fx_healthy;
    o.role = fx_role;
    o.arg = fx;
    if (request_timeout_ms)
        o.http.request_timeout_ms = request_timeout_ms;
    assert_int_equal(vr_endpoints_start(&fx->loop, "127.0.0.1:0", &o, &fx->ep), 0);
    fx->port = vr_endpoints_port(fx->ep);
    assert_true(fx->port > 0);
}

static void on_ep_closed(void *arg)
{
    ((struct fx *)arg)->closed = true;
}

static int fx_is_closed(void *arg)
{
    return ((struct fx *)arg)->closed;
}

static void fx_stop(struct fx *fx)
{
    vr_endpoints_close(fx->ep, on_ep_closed, fx);
    assert_false(fx->closed); /* never inside the call */
    assert_true(vr_test_run_until(&fx->loop, fx_is_closed, fx, WAIT_MS));
    vr_metrics_free(fx->reg);
    vr_test_loop_close(&fx->loop);
}

static bool body_is(const char *s)
{
    return R.body_len == strlen(s) && memcmp(R.body, s, R.body_len) == 0;
}

/* ---- tests ---- */

static void test_healthz(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 0);
    get(&fx.loop, fx.port, "/healthz");
    assert_int_equal(R.status, 200);
    assert_true(body_is("ok\n"));
    request(&fx.loop, fx.port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", true);
    assert_int_equal(R.status, 200);
    assert_non_null(strstr(R.head, "Content-Length: 3\r\n"));
    fx.healthy = false;
    get(&fx.loop, fx.port, "/healthz");
    assert_int_equal(R.status, 500);
    assert_true(body_is("unhealthy: lease not renewed\n"));
    fx_stop(&fx);
}

static void test_readyz(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 0);
    get(&fx.loop, fx.port, "/readyz");
    assert_int_equal(R.status, 503);
    assert_true(body_is("not ready role=follower\n"));
    fx.ready = true;
    get(&fx.loop, fx.port, "/readyz");
    assert_int_equal(R.status, 200);
    assert_true(body_is("ok role=follower\n"));
    fx.leading = true;
    get(&fx.loop, fx.port, "/readyz");
    assert_int_equal(R.status, 200);
    assert_true(body_is("ok role=leader\n"));
    fx_stop(&fx);
}

static void test_metrics(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 0);
    get(&fx.loop, fx.port, "/metrics");
    assert_int_equal(R.status, 200);
    assert_non_null(
        strstr(R.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert_true(body_is("# HELP t_scrapes Scrapes.\n# TYPE t_scrapes gauge\nt_scrapes 1\n"));
    get(&fx.loop, fx.port, "/metrics");
    assert_true(body_is("# HELP t_scrapes Scrapes.\n# TYPE t_scrapes gauge\nt_scrapes 2\n"));
    /* A query string does not change the route. */
    get(&fx.loop, fx.port, "/metrics?x=1");
    assert_int_equal(R.status, 200);
    assert_int_equal(fx.collects, 3);
    fx_stop(&fx);
}

static void test_not_found_and_method(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 0);
    get(&fx.loop, fx.port, "/");
    assert_int_equal(R.status, 404);
    get(&fx.loop, fx.port, "/metricsx");
    assert_int_equal(R.status, 404);
    request(&fx.loop, fx.port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_int_equal(R.status, 405);
    assert_non_null(strstr(R.head, "Allow: GET, HEAD\r\n"));
    request(&fx.loop, fx.port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            false);
    assert_int_equal(R.status, 405);
    /* The scrape port takes no body: a POST with one is refused before routing. */
    request(&fx.loop, fx.port,
            "POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false);
    assert_int_equal(R.status, 413);
    assert_int_equal(fx.collects, 0);
    fx_stop(&fx);
}

static void test_malformed_and_oversized(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 0);
    request(&fx.loop, fx.port, "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", false);
    assert_int_equal(R.status, 400);
    request(&fx.loop, fx.port, "\x01\x02garbage\r\n\r\n", false);
    assert_int_equal(R.status, 400);

    struct vr_buf big;
    vr_buf_init(&big, 64 * 1024);
    assert_int_equal(vr_buf_append_str(&big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "), 0);
    for (int i = 0; i < 16 * 1024; i++)
        assert_int_equal(vr_buf_putc(&big, 'a'), 0);
    assert_int_equal(vr_buf_append_str(&big, "\r\n\r\n"), 0);
    request(&fx.loop, fx.port, big.p, false);
    assert_int_equal(R.status, 431);
    vr_buf_cleanup(&big);

    get(&fx.loop, fx.port, "/healthz"); /* still serving */
    assert_int_equal(R.status, 200);
    fx_stop(&fx);
}

static void test_slowloris(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 400);
    uint64_t t0 = uv_now(&fx.loop);
    struct vr_test_client slow;
    vr_test_client_open(&fx.loop, fx.port, &slow);
    vr_test_client_send(&slow, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "); /* never finished */
    /* Meanwhile other clients are served at once, several times over. */
    for (int i = 0; i < 3; i++) {
        get(&fx.loop, fx.port, "/healthz");
        assert_int_equal(R.status, 200);
    }
    assert_false(slow.in.len > 0);
    struct want w = {&slow, 0, false};
    assert_true(vr_test_run_until(&fx.loop, has_resp, &w, WAIT_MS));
    assert_int_equal(R.status, 408);
    assert_true(uv_now(&fx.loop) - t0 >= 400);
    assert_true(vr_test_run_until(&fx.loop, vr_test_client_got_eof, &slow, WAIT_MS));
    vr_test_client_close(&slow);
    get(&fx.loop, fx.port, "/readyz");
    assert_int_equal(R.status, 503);
    fx_stop(&fx);
}

static void test_bad_address(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct vr_endpoints_opts o;
    vr_endpoints_opts_default(&o);
    struct vr_endpoints *ep = NULL;
    assert_int_equal(vr_endpoints_start(&loop, "not an address", &o, &ep), VR_EINVAL);
    assert_null(ep);
    /* Closing a server that never listened is deferred; let it finish. */
    uv_run(&loop, UV_RUN_DEFAULT);
    vr_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_malformed_and_oversized),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
