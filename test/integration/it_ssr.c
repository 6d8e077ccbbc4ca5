/*
 * The ServerStatusRequest driver against an in-process kubesim, with and without the
 * status subresource: a request created by a client is Processed with the configured
 * version and plugins in one patch, and is gone within about a second after
 * processedTimestamp + TTL (TTL 1 s); a follower writes nothing until it is made leader;
 * the reconcile counters move. Real clock, loop timers, no sleeps.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "controller/serverstatusrequest.h"
#include "core/common.h"
#include "kube/client.h"
#include "kube/config.h"
#include "loop/clock.h"
#include "server/metrics.h"
#include "testutil.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#include "sim.h"

#define NS "velero"

struct env {
    uv_loop_t loop;
    struct vr_clock clock;
    struct ks_sim *sim;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    struct vr_ssr_ctrl *ctrl;
    struct vr_metrics *reg;
    struct vr_vm vm;
    struct vr_vm_controller mc;
    char name[128];
    /* the last GET */
    bool got;
    int status;
    char phase[32], version[64], plugins[256];
    bool closed, kc_closed, sim_closed, cu_closed;
};

static void on_created(int status, const struct vr_kube_result *res, void *arg)
{
    struct env *env = arg;
    assert_int_equal(status, 0);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(res->obj, "metadata"), "name");
    snprintf(env->name, sizeof(env->name), "%s", n->valuestring);
}

static int created(void *arg)
{
    return ((struct env *)arg)->name[0] != '\0';
}

static void on_get(int status, const struct vr_kube_result *res, void *arg)
{
    struct env *env = arg;
    env->got = true;
    env->status = status;
    env->phase[0] = env->version[0] = env->plugins[0] = '\0';
    if (status < 0)
        return;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(res->obj, "status");
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "serverVersion");
    if (cJSON_IsString(ph))
        snprintf(env->phase, sizeof(env->phase), "%s", ph->valuestring);
    if (cJSON_IsString(v))
        snprintf(env->version, sizeof(env->version), "%s", v->valuestring);
    char *p = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(st, "plugins"));
    if (p)
        snprintf(env->plugins, sizeof(env->plugins), "%s", p);
    cJSON_free(p);
}

static int got(void *arg)
{
    return ((struct env *)arg)->got;
}

static void fetch(struct env *env)
{
    env->got = false;
    vr_kube_get(env->kc, &vr_kube_res_serverstatusrequests, NS, env->name, on_get, env);
    assert_true(vr_test_run_until(&env->loop, got, env, 5000));
}

/* Polling the server: a timer starts a GET every 50 ms while none is in flight; the
 * condition looks only at the last answer (it must not run the loop itself). */
enum want { WANT_PROCESSED, WANT_GONE };

struct poll {
    struct env *env;
    uv_timer_t timer;
    enum want want;
    bool inflight, match;
};

static void on_poll_get(int status, const struct vr_kube_result *res, void *arg)
{
    struct poll *p = arg;
    p->inflight = false;
    on_get(status, res, p->env);
    if (p->want == WANT_GONE)
        p->match = status == VR_ENOTFOUND;
    else
        p->match = status == 0 && strcmp(p->env->phase, "Processed") == 0;
}

static void on_poll_timer(uv_timer_t *t)
{
    struct poll *p = container_of(t, struct poll, timer);
    if (p->inflight || p->match)
        return;
    p->inflight = true;
    vr_kube_get(p->env->kc, &vr_kube_res_serverstatusrequests, NS, p->env->name, on_poll_get,
                p);
}

static int poll_done(void *arg)
{
    struct poll *p = arg;
    return p->match && !p->inflight;
}

static int poll_idle(void *arg)
{
    return !((struct poll *)arg)->inflight;
}

static bool wait_for(struct env *env, enum want want, unsigned timeout_ms)
{
    struct poll p = {.env = env, .want = want};
    assert_int_equal(uv_timer_init(&env->loop, &p.timer), 0);
    assert_int_equal(uv_timer_start(&p.timer, on_poll_timer, 0, 50), 0);
    bool ok = vr_test_run_until(&env->loop, poll_done, &p, timeout_ms);
    uv_timer_stop(&p.timer);
    assert_true(vr_test_run_until(&env->loop, poll_idle, &p, 5000));
    uv_close((uv_handle_t *)&p.timer, NULL);
    uv_run(&env->loop, UV_RUN_NOWAIT);
    return ok;
}

static int is_ready(void *arg)
{
    return vr_ssr_ctrl_is_ready(((struct env *)arg)->ctrl);
}

static void setup(struct env *env, bool status_subresource, bool leading)
{
    memset(env, 0, sizeof(*env));
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    assert_int_equal(uv_loop_init(&env->loop), 0);
    vr_clock_init_system(&env->clock, &env->loop);
    struct ks_sim_opts so;
    ks_sim_opts_default(&so);
    so.status_subresource = status_subresource;
    assert_int_equal(ks_sim_new(&env->loop, &so, &env->sim), 0);
    assert_int_equal(ks_sim_listen(env->sim, "127.0.0.1:0"), 0);
    assert_int_equal(vr_curl_uv_new(&env->loop, &env->cu), 0);
    struct vr_kube_config cfg = {0};
    cfg.server = vr_xasprintf("http://127.0.0.1:%d", ks_sim_port(env->sim));
    cfg.namespace = vr_xstrdup(NS);
    assert_int_equal(vr_kube_client_new(env->cu, &env->clock, &cfg, NULL, &env->kc), 0);
    vr_kube_config_cleanup(&cfg);
    env->reg = vr_metrics_new();
    assert_int_equal(vr_vm_init(&env->vm, env->reg, "test"), 0);
    assert_int_equal(vr_vm_controller(&env->vm, "serverstatusrequest", &env->mc), 0);
    struct vr_plugins pl;
    char err[128];
    static const char plugins[] = "[{name: velero.io/aws, kind: ObjectStore},"
                                  " {name: velero.io/aws, kind: VolumeSnapshotter}]";
    assert_int_equal(vr_plugins_parse(plugins, strlen(plugins), &pl, err, sizeof(err)), 0);
    struct vr_ssr_opts o;
    vr_ssr_opts_default(&o);
    o.ns = NS;
    o.ttl_s = 1;
    o.server_version = "v9.9.9-test";
    o.plugins = &pl;
    o.leading = leading;
    o.metrics = &env->mc;
    assert_int_equal(vr_ssr_ctrl_new(&env->loop, &env->clock, env->kc, &o, &env->ctrl), 0);
    vr_plugins_cleanup(&pl); /* copied */
    vr_ssr_ctrl_start(env->ctrl);
    assert_true(vr_test_run_until(&env->loop, is_ready, env, 5000));
}

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

static int all_closed(void *arg)
{
    struct env *env = arg;
    return env->closed && env->kc_closed && env->sim_closed;
}

static void teardown(struct env *env)
{
    vr_ssr_ctrl_close(env->ctrl, set_true, &env->closed);
    assert_false(env->closed);
    vr_kube_client_close(env->kc, set_true, &env->kc_closed);
    ks_sim_close(env->sim, set_true, &env->sim_closed);
    assert_true(vr_test_run_until(&env->loop, all_closed, env, 10000));
    vr_curl_uv_close(env->cu, set_true, &env->cu_closed);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    assert_true(env->cu_closed);
    vr_metrics_free(env->reg);
    vr_test_loop_close(&env->loop);
}

static void create_ssr(struct env *env)
{
    env->name[0] = '\0';
    vr_kube_create(env->kc, &vr_kube_res_serverstatusrequests, NS,
                   "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"ServerStatusRequest\","
                   "\"metadata\":{\"generateName\":\"velero-cli-\",\"namespace\":\"" NS "\"},"
                   "\"spec\":{}}",
                   on_created, env);
    assert_true(vr_test_run_until(&env->loop, created, env, 5000));
}

static void processed_then_deleted(bool status_subresource)
{
    struct env *env = vr_xcalloc(1, sizeof(*env));
    setup(env, status_subresource, true);
    create_ssr(env);
    assert_true(wait_for(env, WANT_PROCESSED, 5000));
    uint64_t t_processed = uv_now(&env->loop);
    assert_string_equal(env->version, "v9.9.9-test");
    assert_string_equal(env->plugins, "[{\"name\":\"velero.io/aws\",\"kind\":\"ObjectStore\"},"
                                      "{\"name\":\"velero.io/aws\",\"kind\":\"VolumeSnapshotter\"}]");
    /* processedTimestamp has whole seconds: deleted 0 to 2 s (+ slack) after processing. */
    assert_true(wait_for(env, WANT_GONE, 3500));
    uint64_t took = uv_now(&env->loop) - t_processed;
    fprintf(stderr, "deleted %llu ms after processing\n", (unsigned long long)took);
    struct vr_ssr_stats st;
    vr_ssr_ctrl_stats(env->ctrl, &st);
    assert_true(st.deletes >= 1);
    /* One patch, or two when the first went to a resource that dropped the status. */
    assert_true(st.patches >= 1 && st.patches <= 2);
    assert_int_equal(st.errors, 0);
    /* The processing run and the deletion run at least. Whether a requeue run happens
     * in between depends on where processing fell within its second: processedTimestamp
     * has whole seconds, so the deletion can already be due at the next reconcile. */
    assert_true(vr_metric_value(env->mc.reconciles[VR_VM_SUCCESS]) +
                    vr_metric_value(env->mc.reconciles[VR_VM_REQUEUE]) >=
                2);
    teardown(env);
    vr_free(env);
}

static void test_main_resource(void **state)
{
    (void)state;
    processed_then_deleted(false);
}

static void test_status_subresource(void **state)
{
    (void)state;
    processed_then_deleted(true);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void test_follower_does_not_write(void **state)
{
    (void)state;
    struct env *env = vr_xcalloc(1, sizeof(*env));
    setup(env, false, false);
    create_ssr(env);
    assert_false(vr_test_run_until(&env->loop, never, NULL, 800));
    fetch(env);
    assert_int_equal(env->status, 0);
    assert_string_equal(env->phase, "");
    struct vr_ssr_stats st;
    vr_ssr_ctrl_stats(env->ctrl, &st);
    assert_int_equal(st.patches + st.deletes, 0);
    vr_ssr_ctrl_set_leading(env->ctrl, true);
    assert_true(wait_for(env, WANT_PROCESSED, 3000));
    teardown(env);
    vr_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_resource),
        cmocka_unit_test(test_status_subresource),
        cmocka_unit_test(test_follower_does_not_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
