/*
 * Two lease electors in one process, each with its own kube client, against an in-process
 * kubesim, with short durations (lease 2 s, renew deadline 1.5 s, retry 300 ms):
 *   - exactly one leads, and never both at once (checked every 10 ms by a timer);
 *   - the leader stops without releasing (as if SIGKILLed): the other takes over only once
 *     the lease has gone unrenewed for its duration on the follower's clock, and within
 *     that duration plus two jittered retries; leaseTransitions goes up by one;
 *   - the new leader releases: the other takes over within about one retry period.
 * The real clock drives everything through loop timers; no sleeps.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "controller/lease.h"
#include "core/common.h"
#include "kube/client.h"
#include "kube/config.h"
#include "loop/clock.h"
#include "testutil.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#include "sim.h"

#define NS "velero"
#define LEASE_NAME "vreqd-leader"
#define LEASE_MS 2000
#define RENEW_MS 1500
#define RETRY_MS 300
#define MAX_RETRY_MS (RETRY_MS * 22 / 10) /* retry x (1 + jitter 1.2) */
#define SLACK_MS 400                      /* loop turns and HTTP round trips */
/* After a stop: y first sees the last renewal up to one attempt period late, the lease
 * then runs LEASE_MS on y's clock, and y's next attempt comes up to one period after. */
#define TAKEOVER_MAX_MS (LEASE_MS + 2 * MAX_RETRY_MS + SLACK_MS)

struct elector {
    struct env *env;
    const char *id;
    struct vr_kube_client *kc;
    struct vr_lease *lease;
    int started, stopped;
    uint64_t started_at;
    bool closed, kc_closed;
};

struct env {
    uv_loop_t loop;
    struct vr_clock clock;
    struct ks_sim *sim;
    int port;
    struct vr_curl_uv *cu;
    struct elector e[2];
    uv_timer_t watch;
    int both_leading; /* samples where both claimed leadership */
    int released, release_status;
    bool sim_closed, cu_closed;
};

static void on_started(void *arg)
{
    struct elector *el = arg;
    el->started++;
    el->started_at = uv_now(&el->env->loop);
}

static void on_stopped(void *arg)
{
    ((struct elector *)arg)->stopped++;
}

static void on_watch(uv_timer_t *t)
{
    struct env *env = container_of(t, struct env, watch);
    if (vr_lease_is_held(env->e[0].lease) && vr_lease_is_held(env->e[1].lease))
        env->both_leading++;
}

static void elector_new(struct env *env, struct elector *el, const char *id, uint64_t seed)
{
    struct vr_kube_config cfg = {0};
    memset(el, 0, sizeof(*el));
    el->env = env;
    el->id = id;
    cfg.server = vr_xasprintf("http://127.0.0.1:%d", env->port);
    cfg.namespace = vr_xstrdup(NS);
    assert_int_equal(vr_kube_client_new(env->cu, &env->clock, &cfg, NULL, &el->kc), 0);
    vr_kube_config_cleanup(&cfg);
    struct vr_lease_opts o;
    vr_lease_opts_default(&o);
    o.name = LEASE_NAME;
    o.identity = id;
    o.lease_ms = LEASE_MS;
    o.renew_deadline_ms = RENEW_MS;
    o.retry_ms = RETRY_MS;
    o.seed = seed;
    o.on_started_leading = on_started;
    o.on_stopped_leading = on_stopped;
    o.arg = el;
    assert_int_equal(vr_lease_new(&env->loop, &env->clock, el->kc, &o, &el->lease), 0);
}

static void env_setup(struct env *env)
{
    memset(env, 0, sizeof(*env));
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    assert_int_equal(uv_loop_init(&env->loop), 0);
    vr_clock_init_system(&env->clock, &env->loop);
    assert_int_equal(ks_sim_new(&env->loop, NULL, &env->sim), 0);
    assert_int_equal(ks_sim_listen(env->sim, "127.0.0.1:0"), 0);
    env->port = ks_sim_port(env->sim);
    assert_int_equal(vr_curl_uv_new(&env->loop, &env->cu), 0);
    elector_new(env, &env->e[0], "host-a_0001", 1);
    elector_new(env, &env->e[1], "host-b_0002", 2);
    assert_int_equal(uv_timer_init(&env->loop, &env->watch), 0);
    assert_int_equal(uv_timer_start(&env->watch, on_watch, 10, 10), 0);
}

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

static int all_closed(void *arg)
{
    struct env *env = arg;
    return env->e[0].closed && env->e[1].closed && env->e[0].kc_closed &&
           env->e[1].kc_closed && env->sim_closed;
}

static void env_teardown(struct env *env)
{
    uv_close((uv_handle_t *)&env->watch, NULL);
    for (int i = 0; i < 2; i++) {
        vr_lease_close(env->e[i].lease, set_true, &env->e[i].closed);
        assert_false(env->e[i].closed); /* never inside the call */
        vr_kube_client_close(env->e[i].kc, set_true, &env->e[i].kc_closed);
    }
    ks_sim_close(env->sim, set_true, &env->sim_closed);
    assert_true(vr_test_run_until(&env->loop, all_closed, env, 10000));
    vr_curl_uv_close(env->cu, set_true, &env->cu_closed);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    assert_true(env->cu_closed);
    vr_test_loop_close(&env->loop);
}

static int leaders(const struct env *env)
{
    return (int)vr_lease_is_held(env->e[0].lease) + (int)vr_lease_is_held(env->e[1].lease);
}

static int one_leads(void *arg)
{
    return leaders(arg) == 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(struct env *env, unsigned ms)
{
    assert_false(vr_test_run_until(&env->loop, never, NULL, ms));
}

static int is_leading(void *arg)
{
    return vr_lease_is_held(((struct elector *)arg)->lease);
}

/* The Lease as the server has it. */
struct got {
    bool done;
    int status;
    struct vr_lease_record rec;
};

static void on_get(int status, const struct vr_kube_result *res, void *arg)
{
    struct got *g = arg;
    g->done = true;
    g->status = status;
    if (status == 0)
        assert_int_equal(vr_lease_record_from_json(res->obj, &g->rec), 0);
}

static int got_done(void *arg)
{
    return ((struct got *)arg)->done;
}

static struct vr_lease_record server_lease(struct env *env)
{
    struct got g = {0};
    vr_kube_get(env->e[0].kc, &vr_kube_res_leases, NS, LEASE_NAME, on_get, &g);
    assert_true(vr_test_run_until(&env->loop, got_done, &g, 5000));
    assert_int_equal(g.status, 0);
    return g.rec;
}

static void on_released(int status, void *arg)
{
    struct env *env = arg;
    env->released++;
    env->release_status = status;
}

static int is_released(void *arg)
{
    return ((struct env *)arg)->released > 0;
}

static void test_failover_and_release(void **state)
{
    (void)state;
    struct env *env = vr_xcalloc(1, sizeof(*env));
    env_setup(env);
    vr_lease_start(env->e[0].lease);
    vr_lease_start(env->e[1].lease);
    assert_int_equal(leaders(env), 0); /* nothing happens inside start */
    assert_true(vr_test_run_until(&env->loop, one_leads, env, 3000));
    run_for(env, 2500); /* several renewals; the follower keeps failing to acquire */
    assert_int_equal(leaders(env), 1);
    assert_int_equal(env->both_leading, 0);
    struct elector *x = vr_lease_is_held(env->e[0].lease) ? &env->e[0] : &env->e[1];
    struct elector *y = x == &env->e[0] ? &env->e[1] : &env->e[0];
    assert_int_equal(x->started, 1);
    assert_int_equal(y->started, 0);
    struct vr_lease_record r = server_lease(env);
    assert_string_equal(r.holder, x->id);
    assert_int_equal(r.duration_s, LEASE_MS / 1000);
    int64_t transitions = r.transitions;

    /* The leader dies without releasing. */
    uint64_t t_kill = uv_now(&env->loop);
    vr_lease_stop(x->lease);
    assert_int_equal(x->stopped, 1);
    assert_true(vr_test_run_until(&env->loop, is_leading, y, TAKEOVER_MAX_MS));
    uint64_t took = y->started_at - t_kill;
    fprintf(stderr, "takeover after a stop: %llu ms\n", (unsigned long long)took);
    /* Not before the lease could have expired on y's clock: y saw the last renewal at most
     * one of its attempt periods before the stop. */
    assert_true(took >= LEASE_MS - MAX_RETRY_MS);
    assert_true(took <= TAKEOVER_MAX_MS);
    r = server_lease(env);
    assert_string_equal(r.holder, y->id);
    assert_true(r.transitions == transitions + 1);
    assert_int_equal(env->both_leading, 0);

    /* The old leader comes back as a follower; the new one releases. */
    vr_lease_start(x->lease);
    run_for(env, 1000);
    assert_false(vr_lease_is_held(x->lease));
    uint64_t t_rel = uv_now(&env->loop);
    vr_lease_release(y->lease, on_released, env);
    assert_int_equal(env->released, 0);
    assert_int_equal(y->stopped, 1); /* controllers stop writing before the release */
    assert_true(vr_test_run_until(&env->loop, is_released, env, 3000));
    assert_int_equal(env->release_status, 0);
    assert_int_equal(vr_lease_get_state(y->lease), VR_LEASE_STOPPED);
    assert_true(vr_test_run_until(&env->loop, is_leading, x, MAX_RETRY_MS + SLACK_MS));
    took = x->started_at - t_rel;
    fprintf(stderr, "takeover after a release: %llu ms\n", (unsigned long long)took);
    assert_true(took < LEASE_MS - SLACK_MS); /* well inside one lease duration */
    r = server_lease(env);
    assert_string_equal(r.holder, x->id);
    assert_true(r.transitions == transitions + 2);
    assert_int_equal(env->both_leading, 0);

    /* A release by a process that does not lead completes at once with 0, later. */
    env->released = 0;
    vr_lease_release(y->lease, on_released, env);
    assert_int_equal(env->released, 0);
    assert_true(vr_test_run_until(&env->loop, is_released, env, 1000));
    assert_int_equal(env->release_status, 0);
    assert_true(vr_lease_is_held(x->lease));
    env_teardown(env);
    vr_free(env);
}

/* A Lease held by a foreign identity that keeps renewing is never taken. */
static void test_foreign_holder_renewing(void **state)
{
    (void)state;
    struct env *env = vr_xcalloc(1, sizeof(*env));
    env_setup(env);
    /* e[1] plays the foreign holder; e[0] must wait as long as it renews. */
    vr_lease_start(env->e[1].lease);
    assert_true(vr_test_run_until(&env->loop, is_leading, &env->e[1], 3000));
    vr_lease_start(env->e[0].lease);
    run_for(env, LEASE_MS * 2);
    assert_false(vr_lease_is_held(env->e[0].lease));
    assert_true(vr_lease_is_held(env->e[1].lease));
    assert_true(vr_lease_is_healthy(env->e[1].lease, uv_now(&env->loop), 0));
    const struct vr_lease_obs *obs = vr_lease_observed(env->e[0].lease);
    assert_true(obs->have);
    assert_string_equal(obs->rec.holder, env->e[1].id);
    env_teardown(env);
    vr_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_and_release),
        cmocka_unit_test(test_foreign_holder_renewing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
