/*
 * The kube client's observer hook (vr_kube_client_set_observer), what vreqd's
 * vreqd_api_requests_total counts: one report per HTTP exchange with its verb and status,
 * before the call's callback; retries reported one by one; transport failures as code 0;
 * cancelled requests not at all; nothing once the observer is removed. Against kubesim
 * in-process on the test's loop; no sleeps (Retry-After and delays are real timers).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "kube/client.h"
#include "sim.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define RUN_MS 15000
#define MAX_EV 16
#define DR (&vr_kube_res_downloadrequests)

struct ev {
    char verb[16];
    int code;
    uint64_t ms;
};

struct fx {
    uv_loop_t loop;
    struct vr_clock clock;
    struct ks_sim *sim;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    char url[64];
    struct ev ev[MAX_EV];
    int nev;
    int done_calls, done_status, evs_at_done;
    bool flag;
};

static void on_flag(void *arg)
{
    *(bool *)arg = true;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static void observe(const char *verb, int code, uint64_t ms, void *arg)
{
    struct fx *f = arg;
    assert_true(f->nev < MAX_EV);
    (void)snprintf(f->ev[f->nev].verb, sizeof(f->ev[0].verb), "%s", verb);
    f->ev[f->nev].code = code;
    f->ev[f->nev].ms = ms;
    f->nev++;
}

static void on_done(int status, const struct vr_kube_result *res, void *arg)
{
    struct fx *f = arg;
    (void)res;
    f->done_calls++;
    f->done_status = status;
    f->evs_at_done = f->nev; /* the observer ran before the callback */
}

static int has_done(void *arg)
{
    return ((struct fx *)arg)->done_calls > 0;
}

static void wait_done(struct fx *f)
{
    assert_true(vr_test_run_until(&f->loop, has_done, f, RUN_MS));
    assert_int_equal(f->done_calls, 1);
    f->done_calls = 0;
}

static struct vr_kube_client *client_new(struct fx *f, const char *url)
{
    struct vr_kube_config cfg = {0};
    cfg.server = (char *)url;
    cfg.namespace = (char *)"velero";
    struct vr_kube_client *kc = NULL;
    assert_int_equal(vr_kube_client_new(f->cu, &f->clock, &cfg, NULL, &kc), 0);
    vr_kube_client_set_observer(kc, observe, f);
    return kc;
}

static void client_close(struct fx *f, struct vr_kube_client *kc)
{
    bool closed = false;
    vr_kube_client_close(kc, on_flag, &closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &closed, RUN_MS));
}

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    vr_clock_init_system(&f->clock, &f->loop);
    struct ks_sim_opts so;
    ks_sim_opts_default(&so);
    assert_int_equal(ks_sim_new(&f->loop, &so, &f->sim), 0);
    assert_int_equal(ks_sim_listen(f->sim, "127.0.0.1:0"), 0);
    (void)snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", ks_sim_port(f->sim));
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    f->kc = client_new(f, f->url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    bool cu_closed = false, sim_closed = false;
    client_close(f, f->kc);
    vr_curl_uv_close(f->cu, on_flag, &cu_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &cu_closed, RUN_MS));
    ks_sim_close(f->sim, on_flag, &sim_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &sim_closed, RUN_MS));
    vr_test_loop_close(&f->loop);
    vr_free(f);
    return 0;
}

static void on_admin(struct vr_req *req, int status, void *arg)
{
    struct fx *f = arg;
    assert_int_equal(status, 0);
    assert_int_equal(vr_req_http_status(req), 201);
    f->flag = true;
}

/* Adds a kubesim fault rule (not observed: it does not go through the kube client). */
static void fault(struct fx *f, const char *rule)
{
    char u[96];
    (void)snprintf(u, sizeof(u), "%s/kubesim/faults", f->url);
    struct vr_req *req = vr_req_new(f->cu, "POST", u);
    vr_req_set_body(req, rule, strlen(rule));
    f->flag = false;
    assert_int_equal(vr_req_start(req, on_admin, f), 0);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->flag, RUN_MS));
}

static void expect(struct fx *f, int i, const char *verb, int code)
{
    assert_true(i < f->nev);
    assert_string_equal(f->ev[i].verb, verb);
    assert_int_equal(f->ev[i].code, code);
}

static const char dr_body[] = "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\","
                              "\"metadata\":{\"name\":\"obs\",\"namespace\":\"velero\"},"
                              "\"spec\":{\"target\":{\"kind\":\"BackupLog\",\"name\":\"b\"}}}";

static void test_every_verb(void **state)
{
    struct fx *f = *state;
    vr_kube_create(f->kc, DR, "velero", dr_body, on_done, f);
    wait_done(f);
    assert_int_equal(f->evs_at_done, 1);
    vr_kube_get(f->kc, DR, "velero", "obs", on_done, f);
    wait_done(f);
    vr_kube_get(f->kc, DR, "velero", "missing", on_done, f);
    wait_done(f);
    assert_int_equal(f->done_status, VR_ENOTFOUND);
    vr_kube_list(f->kc, DR, "velero", NULL, on_done, f);
    wait_done(f);
    vr_kube_patch(f->kc, DR, "velero", "obs", NULL, VR_KUBE_PATCH_MERGE,
                  "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", on_done, f);
    wait_done(f);
    vr_kube_delete(f->kc, DR, "velero", "obs", NULL, NULL, on_done, f);
    wait_done(f);
    assert_int_equal(f->nev, 6);
    expect(f, 0, "POST", 201);
    expect(f, 1, "GET", 200);
    expect(f, 2, "GET", 404);
    expect(f, 3, "LIST", 200);
    expect(f, 4, "PATCH", 200);
    expect(f, 5, "DELETE", 200);
}

static void test_retries_and_duration(void **state)
{
    struct fx *f = *state;
    fault(f, "{\"method\":\"LIST\",\"code\":500,\"retry_after\":1}");
    vr_kube_list(f->kc, DR, "velero", NULL, on_done, f);
    wait_done(f);
    assert_int_equal(f->done_status, 0);
    assert_int_equal(f->nev, 2); /* the 500, then the retry's 200 */
    expect(f, 0, "LIST", 500);
    expect(f, 1, "LIST", 200);
    fault(f, "{\"method\":\"LIST\",\"delay_ms\":300}");
    vr_kube_list(f->kc, DR, "velero", NULL, on_done, f);
    wait_done(f);
    expect(f, 2, "LIST", 200);
    assert_true(f->ev[2].ms >= 290); /* measured from sending, on the loop's clock */
    assert_true(f->ev[1].ms < 1000); /* the retry's own exchange, not the 1 s wait */
}

static void test_transport_error_and_cancel(void **state)
{
    struct fx *f = *state;
    /* A port nobody listens on: bind one, then close it. */
    uv_tcp_t tcp;
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    assert_int_equal(uv_tcp_init(&f->loop, &tcp), 0);
    assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&bound, &len), 0);
    uv_close((uv_handle_t *)&tcp, NULL);
    char url[64];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d",
                   ntohs(((struct sockaddr_in *)&bound)->sin_port));
    struct vr_kube_client *dead = client_new(f, url);
    vr_kube_get(dead, DR, "velero", "x", on_done, f);
    wait_done(f);
    assert_int_equal(f->done_status, VR_EHTTP);
    assert_int_equal(f->nev, 1);
    expect(f, 0, "GET", 0);
    client_close(f, dead);

    fault(f, "{\"method\":\"GET\",\"delay_ms\":2000}");
    struct vr_kube_call *call = vr_kube_get(f->kc, DR, "velero", "x", on_done, f);
    /* Let the request reach kubesim, which holds it. */
    assert_false(vr_test_run_until(&f->loop, has_done, f, 200));
    vr_kube_call_cancel(call);
    wait_done(f);
    assert_int_equal(f->done_status, VR_ECANCELED);
    assert_int_equal(f->nev, 1); /* not reported */
}

static void test_removed_observer(void **state)
{
    struct fx *f = *state;
    vr_kube_client_set_observer(f->kc, NULL, NULL);
    vr_kube_list(f->kc, DR, "velero", NULL, on_done, f);
    wait_done(f);
    assert_int_equal(f->nev, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_verb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_and_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_error_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_observer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
