/* The informer against an in-process kubesim: after each fault (watch dropped while the
 * store changes, 410 Expired, 429 with Retry-After on WATCH and LIST, a burst of 500s,
 * over-cap lines, a stalled stream and a watch held by a delay, kubesim closed and
 * restarted on the same port with the same objects) the cache must end equal to the
 * server's full list (names, uids, RVs from a vr_kube_list), the handler calls must add
 * up to the same set, and the counters must show relists only where client-go relists.
 * Everything runs on the loop with timers; no sleeps. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "loop/clock.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#include "sim.h"
#include "store.h"

#define NS "velero"
#define MAX_OBJS 256
#define CONVERGE_MS 20000

struct ent {
    char ns[64], name[64], uid[64], rv[32];
};

struct set {
    struct ent e[MAX_OBJS];
    int n;
};

struct env {
    uv_loop_t loop;
    struct vr_clock clock;
    struct ks_sim_opts sim_opts;
    struct ks_sim *sim;
    int port;
    bool sim_closed;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    struct vr_informer *inf;
    const char *inf_ns;  /* NULL: all namespaces */
    struct set mirror;   /* what the handler calls add up to */
    int synced_calls, adds, updates, deletes;
    struct set snap;     /* the server's list */
    bool list_done;
    int list_status;
    int my_lists;        /* LISTs this test sent itself */
    int seq;             /* object names */
    bool closed;
};

/* ---- sets ---- */

static struct ent *set_find(struct set *s, const char *ns, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].ns, ns) == 0 && strcmp(s->e[i].name, name) == 0)
            return &s->e[i];
    return NULL;
}

static void ent_set(struct ent *e, const char *ns, const char *name, const char *uid,
                    const char *rv)
{
    snprintf(e->ns, sizeof(e->ns), "%s", ns);
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->uid, sizeof(e->uid), "%s", uid);
    snprintf(e->rv, sizeof(e->rv), "%s", rv);
}

static void set_put(struct set *s, const struct vr_kobj *o)
{
    struct ent *e = set_find(s, o->ns, o->name);
    if (!e) {
        assert_true(s->n < MAX_OBJS);
        e = &s->e[s->n++];
    }
    ent_set(e, o->ns, o->name, o->uid, o->rv);
}

static bool ent_is(const struct ent *e, const struct vr_kobj *o)
{
    return e && strcmp(e->uid, o->uid) == 0 && strcmp(e->rv, o->rv) == 0;
}

/* ---- handlers: keep the mirror, check old states ---- */

static void on_add(const struct vr_kobj *o, void *arg)
{
    struct env *env = arg;
    assert_null(set_find(&env->mirror, o->ns, o->name));
    set_put(&env->mirror, o);
    env->adds++;
}

static void on_update(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg)
{
    struct env *env = arg;
    assert_string_equal(old->ns, cur->ns);
    assert_string_equal(old->name, cur->name);
    assert_true(ent_is(set_find(&env->mirror, old->ns, old->name), old));
    set_put(&env->mirror, cur);
    env->updates++;
}

static void on_delete(const struct vr_kobj *o, void *arg)
{
    struct env *env = arg;
    struct ent *e = set_find(&env->mirror, o->ns, o->name);
    assert_non_null(e);
    *e = env->mirror.e[--env->mirror.n];
    env->deletes++;
}

static void on_synced(void *arg)
{
    struct env *env = arg;
    env->synced_calls++;
}

/* ---- the server's view ---- */

static void on_list(int status, const struct vr_kube_result *res, void *arg)
{
    struct env *env = arg;
    const cJSON *item;
    env->list_done = true;
    env->list_status = status;
    env->snap.n = 0;
    if (status < 0)
        return;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(res->obj, "items"))
    {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        assert_true(env->snap.n < MAX_OBJS);
        ent_set(&env->snap.e[env->snap.n++],
                cJSON_GetObjectItemCaseSensitive(md, "namespace")->valuestring,
                cJSON_GetObjectItemCaseSensitive(md, "name")->valuestring,
                cJSON_GetObjectItemCaseSensitive(md, "uid")->valuestring,
                cJSON_GetObjectItemCaseSensitive(md, "resourceVersion")->valuestring);
    }
}

static int is_list_done(void *arg)
{
    return ((struct env *)arg)->list_done;
}

static void snapshot(struct env *env)
{
    env->list_done = false;
    env->my_lists++;
    vr_kube_list(env->kc, &vr_kube_res_downloadrequests, env->inf_ns, NULL, on_list, env);
    assert_true(vr_test_run_until(&env->loop, is_list_done, env, 10000));
    assert_int_equal(env->list_status, 0);
}

/* The cache and the mirror both hold exactly the snapshot. */
static bool matches(struct env *env)
{
    const struct vr_kcache *c = vr_informer_cache(env->inf);
    if ((int)vr_kcache_size(c) != env->snap.n || env->mirror.n != env->snap.n)
        return false;
    for (int i = 0; i < env->snap.n; i++) {
        const struct ent *e = &env->snap.e[i];
        const struct vr_kobj *o = vr_kcache_get(c, e->ns, e->name);
        if (!o || !ent_is(e, o) || !ent_is(set_find(&env->mirror, e->ns, e->name), o))
            return false;
    }
    return true;
}

static int converged(void *arg)
{
    struct env *env = arg;
    return vr_informer_state(env->inf) == VR_INFORMER_WATCHING && matches(env);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(struct env *env, unsigned ms)
{
    vr_test_run_until(&env->loop, never, NULL, ms);
}

/* ---- admin API over HTTP ---- */

struct admin_call {
    bool done;
    int code;
    char body[1024];
};

static void on_admin(struct vr_req *req, int status, void *arg)
{
    struct admin_call *a = arg;
    struct vr_str b = vr_req_body(req);
    assert_int_equal(status, 0);
    a->code = vr_req_http_status(req);
    snprintf(a->body, sizeof(a->body), "%.*s", (int)b.n, b.p ? b.p : "");
    a->done = true;
}

static int admin_done(void *arg)
{
    return ((struct admin_call *)arg)->done;
}

static int admin(struct env *env, const char *method, const char *path, const char *body,
                 char *out, size_t outcap)
{
    char url[256];
    struct admin_call a = {0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", env->port, path);
    struct vr_req *req = vr_req_new(env->cu, method, url);
    if (body) {
        assert_int_equal(vr_req_add_header(req, "Content-Type: application/json"), 0);
        vr_req_set_body(req, body, strlen(body));
    }
    assert_int_equal(vr_req_start(req, on_admin, &a), 0);
    assert_true(vr_test_run_until(&env->loop, admin_done, &a, 10000));
    if (out)
        snprintf(out, outcap, "%s", a.body);
    return a.code;
}

static void fault(struct env *env, const char *rule)
{
    assert_int_equal(admin(env, "POST", "/kubesim/faults", rule, NULL, 0), 201);
}

/* Runs the loop until every injected fault has been consumed. */
static void faults_consumed(struct env *env)
{
    char body[1024];
    for (int i = 0; i < 400; i++) {
        assert_int_equal(admin(env, "GET", "/kubesim/faults", NULL, body, sizeof(body)), 200);
        if (strstr(body, "\"faults\":[]"))
            return;
        run_for(env, 50);
    }
    fail_msg("faults never consumed: %s", body);
}

static void drop_watches(struct env *env)
{
    assert_int_equal(admin(env, "POST", "/kubesim/drop-watches", "{}", NULL, 0), 200);
}

static int stat_of(struct env *env, const char *key)
{
    char body[1024];
    assert_int_equal(admin(env, "GET", "/kubesim/stats", NULL, body, sizeof(body)), 200);
    cJSON *doc = cJSON_ParseWithLengthOpts(body, strlen(body), NULL, 0);
    assert_non_null(doc);
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(doc, "requests");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(reqs, key);
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(doc, key);
    assert_true(cJSON_IsNumber(v));
    int n = (int)v->valuedouble;
    cJSON_Delete(doc);
    return n;
}

/* ---- writes, straight into the store (they reach watches like HTTP writes) ---- */

static const struct ks_resource *dr_res(struct env *env)
{
    const struct ks_resource *r =
        ks_store_find(ks_sim_store(env->sim), "velero.io", "v1", "downloadrequests");
    assert_non_null(r);
    return r;
}

static void w_create(struct env *env, const char *ns, const char *name, size_t pad)
{
    struct ks_status st;
    const cJSON *out;
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(o, "apiVersion", "velero.io/v1");
    cJSON_AddStringToObject(o, "kind", "DownloadRequest");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    if (pad) {
        char *big = vr_xmalloc(pad + 1);
        memset(big, 'p', pad);
        big[pad] = '\0';
        cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "annotations"), "pad", big);
        vr_free(big);
    }
    cJSON *target = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "target");
    cJSON_AddStringToObject(target, "kind", "BackupLog");
    cJSON_AddStringToObject(target, "name", "backup-1");
    if (ks_store_create(ks_sim_store(env->sim), dr_res(env), ns, o, vr_clock_now_s(&env->clock),
                        &out, &st) != 0)
        fail_msg("create %s/%s: %s", ns, name, st.message);
}

static void w_patch(struct env *env, const char *ns, const char *name)
{
    char body[128];
    struct ks_status st;
    const cJSON *out;
    snprintf(body, sizeof(body), "{\"metadata\":{\"labels\":{\"seq\":\"%d\"}}}", ++env->seq);
    if (ks_store_patch(ks_sim_store(env->sim), dr_res(env), ns, name, KS_PATCH_MERGE,
                       vr_str_c(body), false, &out, &st) != 0)
        fail_msg("patch %s/%s: %s", ns, name, st.message);
}

static void w_delete(struct env *env, const char *ns, const char *name)
{
    struct ks_status st;
    cJSON *out = NULL;
    if (ks_store_delete(ks_sim_store(env->sim), dr_res(env), ns, name, NULL, &out, &st) != 0)
        fail_msg("delete %s/%s: %s", ns, name, st.message);
    cJSON_Delete(out);
}

/* A mix of every kind of change: two creates, patches of two live objects, a delete. */
static void churn(struct env *env, const char *ns)
{
    char a[32], b[32];
    int n = ++env->seq;
    snprintf(a, sizeof(a), "c%d-a", n);
    snprintf(b, sizeof(b), "c%d-b", n);
    w_create(env, ns, a, 0);
    w_create(env, ns, b, 0);
    w_patch(env, ns, a);
    w_patch(env, ns, "dr-3");
    w_delete(env, ns, b);
}

/* ---- setup ---- */

static void sim_start(struct env *env, const char *objects)
{
    char addr[64];
    struct ks_status st;
    assert_int_equal(ks_sim_new(&env->loop, &env->sim_opts, &env->sim), 0);
    if (objects)
        assert_int_equal(ks_store_load(ks_sim_store(env->sim), objects, strlen(objects),
                                       vr_clock_now_s(&env->clock), &st),
                         0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", env->port);
    assert_int_equal(ks_sim_listen(env->sim, addr), 0);
    env->port = ks_sim_port(env->sim);
}

static void informer_opts(struct vr_informer_opts *o, const char *ns)
{
    vr_informer_opts_default(o);
    o->res = &vr_kube_res_downloadrequests;
    o->ns = ns;
    o->watch_timeout_min_s = 2; /* clean ends and re-watches happen during the test too */
    o->watch_timeout_max_s = 4;
    o->watchdog_grace_ms = 1000;
    o->idle_timeout_ms = 1000; /* kubesim bookmarks every 250 ms */
    o->short_watch_ms = 200;
    o->backoff_initial_ms = 50;
    o->backoff_max_ms = 400;
    o->backoff_reset_ms = 2000;
    o->max_line = 16 * 1024;
    o->list_limit = 5; /* kubesim pages: several continue tokens per list */
}

static void env_setup(struct env *env, const char *ns)
{
    struct vr_kube_config cfg = {0};
    struct vr_informer_opts o;
    struct vr_informer_handlers h = {on_add, on_update, on_delete, on_synced, env};
    memset(env, 0, sizeof(*env));
    assert_int_equal(uv_loop_init(&env->loop), 0);
    vr_clock_init_system(&env->clock, &env->loop);
    ks_sim_opts_default(&env->sim_opts);
    env->sim_opts.bookmark_interval_ms = 250;
    sim_start(env, NULL);
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof(name), "dr-%d", i);
        w_create(env, NS, name, 0);
        w_create(env, "default", name, 0);
    }
    assert_int_equal(vr_curl_uv_new(&env->loop, &env->cu), 0);
    cfg.server = vr_xasprintf("http://127.0.0.1:%d", env->port);
    cfg.namespace = vr_xstrdup(NS);
    assert_int_equal(vr_kube_client_new(env->cu, &env->clock, &cfg, NULL, &env->kc), 0);
    vr_kube_config_cleanup(&cfg);
    env->inf_ns = ns;
    informer_opts(&o, ns);
    assert_int_equal(vr_informer_new(&env->loop, &env->clock, env->kc, &o, &h, &env->inf), 0);
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static int all_closed(void *arg)
{
    struct env *env = arg;
    return env->closed && env->sim_closed;
}

static void env_teardown(struct env *env)
{
    bool kc_closed = false, cu_closed = false;
    vr_informer_close(env->inf, on_closed, &env->closed);
    assert_false(env->closed); /* never inside the call */
    vr_kube_client_close(env->kc, on_closed, &kc_closed);
    ks_sim_close(env->sim, on_closed, &env->sim_closed);
    assert_true(vr_test_run_until(&env->loop, all_closed, env, 10000));
    assert_true(kc_closed);
    vr_curl_uv_close(env->cu, on_closed, &cu_closed);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    assert_true(cu_closed);
    vr_test_loop_close(&env->loop);
}

/* Clears the faults, snapshots the server and waits for the informer to match it, then
 * checks it stays matched a little longer. */
static void converge(struct env *env, const char *what)
{
    assert_int_equal(admin(env, "DELETE", "/kubesim/faults", NULL, NULL, 0), 200);
    snapshot(env);
    if (!vr_test_run_until(&env->loop, converged, env, CONVERGE_MS))
        fail_msg("%s: cache (%zu objects, state %s) never matched the server (%d objects)",
                 what, vr_kcache_size(vr_informer_cache(env->inf)),
                 vr_informer_state_name(vr_informer_state(env->inf)), env->snap.n);
    run_for(env, 300);
    assert_true(matches(env));
}

static void stats(struct env *env, struct vr_informer_stats *s)
{
    vr_informer_stats(env->inf, s);
}

static int is_synced(void *arg)
{
    return vr_informer_has_synced(((struct env *)arg)->inf);
}

static void initial_sync(struct env *env)
{
    struct vr_informer_stats s;
    assert_false(vr_informer_has_synced(env->inf));
    assert_int_equal(vr_informer_state(env->inf), VR_INFORMER_STOPPED);
    vr_informer_start(env->inf);
    vr_informer_start(env->inf); /* safe twice */
    assert_int_equal(vr_informer_state(env->inf), VR_INFORMER_LISTING);
    assert_true(vr_test_run_until(&env->loop, is_synced, env, 10000));
    assert_int_equal(env->synced_calls, 1);
    converge(env, "initial list");
    stats(env, &s);
    /* The first list (RV "0") is paged by list_limit: one LIST per page. */
    assert_int_equal(s.lists, env->snap.n > 5 ? (env->snap.n + 4) / 5 : 1);
    assert_int_equal(stat_of(env, "LIST") - env->my_lists, (int)s.lists);
    assert_int_equal(s.relists, 0);
    assert_true(s.watches >= 1);
    assert_int_equal(env->deletes, 0);
}

/* ---- scenarios ---- */

struct counts {
    struct vr_informer_stats s;
    int server_lists, my_lists;
};

static void counts_take(struct env *env, struct counts *c)
{
    stats(env, &c->s);
    c->server_lists = stat_of(env, "LIST");
    c->my_lists = env->my_lists;
}

/* LISTs the server saw since c, other than this test's own. */
static int informer_lists_since(struct env *env, const struct counts *c)
{
    return stat_of(env, "LIST") - c->server_lists - (env->my_lists - c->my_lists);
}

static void watches_open_wait(struct env *env)
{
    for (int i = 0; i < 100 && stat_of(env, "watches_open") < 1; i++)
        run_for(env, 50);
    assert_true(stat_of(env, "watches_open") >= 1);
}

/* The store changes while the watch is being cut: the re-watch from the last RV must
 * deliver what the cut lost, without a relist. */
static void scenario_drop(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    for (int round = 0; round < 3; round++) {
        churn(env, NS);
        drop_watches(env);
        churn(env, NS);
        run_for(env, 400);
    }
    converge(env, "drop");
    counts_take(env, &after);
    assert_true(after.s.watches >= before.s.watches + 3);
    assert_int_equal(after.s.relists, before.s.relists);
    assert_int_equal(after.s.lists, before.s.lists);
    assert_int_equal(informer_lists_since(env, &before), 0); /* kubesim agrees: no LIST */
}

/* Writes land while the re-watch is held by a delay fault, then history is compacted:
 * the watch from the old RV gets ERROR 410 Expired and the informer relists. */
static void scenario_expired(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    fault(env, "{\"method\":\"WATCH\",\"delay_ms\":800,\"count\":1}");
    drop_watches(env);
    churn(env, NS);
    w_delete(env, NS, "dr-1");
    char body[256];
    assert_int_equal(admin(env, "POST", "/kubesim/compact", "{}", body, sizeof(body)), 200);
    faults_consumed(env);
    converge(env, "410");
    counts_take(env, &after);
    assert_int_equal(after.s.relists, before.s.relists + 1);
    assert_true(informer_lists_since(env, &before) >= 1);
    assert_null(vr_kcache_get(vr_informer_cache(env->inf), NS, "dr-1"));
}

struct watch_wait {
    struct env *env;
    uint64_t watches;
};

static int more_watches(void *arg)
{
    struct watch_wait *w = arg;
    struct vr_informer_stats s;
    stats(w->env, &s);
    return s.watches >= w->watches && vr_informer_state(w->env->inf) == VR_INFORMER_WATCHING;
}

/* 429 with Retry-After: 1 on two re-watches: each waits at least a second (far above
 * the 50 ms backoff), and nothing is relisted. */
static void scenario_throttled_watch(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    fault(env, "{\"method\":\"WATCH\",\"code\":429,\"retry_after\":1,\"count\":2}");
    uint64_t t0 = uv_now(&env->loop);
    drop_watches(env);
    churn(env, NS);
    struct watch_wait w = {env, before.s.watches + 3};
    assert_true(vr_test_run_until(&env->loop, more_watches, &w, 10000));
    assert_true(uv_now(&env->loop) - t0 >= 1900);
    faults_consumed(env);
    converge(env, "429 watch");
    counts_take(env, &after);
    assert_int_equal(after.s.relists, before.s.relists);
    assert_int_equal(informer_lists_since(env, &before), 0);
    assert_true(after.s.restarts >= before.s.restarts + 2);
}

/* 429 with Retry-After on LIST during a relist (stop + start): the list is retried after
 * the server's delay and the cache still ends right. */
static void scenario_throttled_list(struct env *env)
{
    struct counts before, after;
    counts_take(env, &before);
    fault(env, "{\"method\":\"LIST\",\"code\":429,\"retry_after\":1,\"count\":2}");
    vr_informer_stop(env->inf);
    vr_informer_stop(env->inf); /* safe twice */
    assert_int_equal(vr_informer_state(env->inf), VR_INFORMER_STOPPED);
    churn(env, NS);
    w_delete(env, NS, "dr-2");
    uint64_t t0 = uv_now(&env->loop);
    vr_informer_start(env->inf);
    assert_int_equal(vr_informer_state(env->inf), VR_INFORMER_RELISTING);
    struct watch_wait w = {env, before.s.watches + 1};
    assert_true(vr_test_run_until(&env->loop, more_watches, &w, 10000));
    assert_true(uv_now(&env->loop) - t0 >= 1900);
    faults_consumed(env);
    converge(env, "429 list");
    counts_take(env, &after);
    assert_int_equal(after.s.relists, before.s.relists + 1);
    assert_true(informer_lists_since(env, &before) >= 3); /* two refused, one served */
}

/* A burst of 500s on WATCH and LIST while the store changes. */
static void scenario_500s(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    fault(env, "{\"method\":\"WATCH\",\"code\":500,\"count\":3}");
    fault(env, "{\"method\":\"LIST\",\"code\":500,\"count\":3}");
    drop_watches(env);
    churn(env, NS);
    run_for(env, 300);
    churn(env, NS);
    faults_consumed(env);
    converge(env, "500s");
    counts_take(env, &after);
    assert_true(after.s.restarts >= before.s.restarts + 3);
    assert_true(after.s.relists > before.s.relists);
}

/* An event line over the informer's 16 KiB cap: the watch is restarted through a relist
 * (a re-watch from the same RV would meet the same line), which gets past it. */
static void scenario_over_cap(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    w_create(env, NS, "big", 20000);
    churn(env, NS);
    converge(env, "over-cap create");
    assert_non_null(vr_kcache_get(vr_informer_cache(env->inf), NS, "big"));
    w_delete(env, NS, "big"); /* the DELETED event carries the big object again */
    churn(env, NS);
    converge(env, "over-cap delete");
    counts_take(env, &after);
    assert_true(after.s.restarts >= before.s.restarts + 2);
    assert_true(after.s.relists >= before.s.relists + 2);
}

/* kubesim holds the open stream for 2 s (POST /kubesim/stall-watches): the idle
 * watchdog (1 s) gives up on it and re-watches from the last RV, without a relist. */
static void scenario_stall(struct env *env)
{
    struct counts before, after;
    char body[128];
    watches_open_wait(env);
    counts_take(env, &before);
    assert_int_equal(admin(env, "POST", "/kubesim/stall-watches", "{\"ms\":2000}", body,
                           sizeof(body)),
                     200);
    assert_null(strstr(body, "\"stalled\":0"));
    churn(env, NS);
    converge(env, "stalled stream");
    counts_take(env, &after);
    assert_true(after.s.restarts >= before.s.restarts + 1);
    assert_int_equal(after.s.relists, before.s.relists);
    assert_int_equal(informer_lists_since(env, &before), 0);
}

/* A watch request held 2 s by a delay fault (no headers, no bytes): the same watchdog. */
static void scenario_delayed_watch(struct env *env)
{
    struct counts before, after;
    watches_open_wait(env);
    counts_take(env, &before);
    fault(env, "{\"method\":\"WATCH\",\"delay_ms\":2000,\"count\":1}");
    drop_watches(env);
    churn(env, NS);
    faults_consumed(env);
    converge(env, "delayed watch");
    counts_take(env, &after);
    assert_true(after.s.restarts >= before.s.restarts + 1);
    assert_int_equal(after.s.relists, before.s.relists);
    assert_int_equal(informer_lists_since(env, &before), 0);
}

/* The current objects, without server-set metadata, as a List kubesim can load. */
static char *saved_objects(struct env *env)
{
    struct ks_selector sel;
    struct ks_status st;
    cJSON *list = NULL, *item;
    memset(&sel, 0, sizeof(sel));
    assert_int_equal(ks_store_list(ks_sim_store(env->sim), dr_res(env), &sel, &list, &st), 0);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        static const char *const drop[] = {"uid", "resourceVersion", "creationTimestamp",
                                           "generation", "managedFields"};
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            cJSON_DeleteItemFromObjectCaseSensitive(md, drop[i]);
    }
    char *text = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    return text;
}

static int sim_is_closed(void *arg)
{
    return ((struct env *)arg)->sim_closed;
}

/* kubesim goes away (connections refused for a while) and comes back on the same port
 * with the same objects but a fresh store: new uids, an RV counter behind the
 * informer's. The re-watch is refused (504, RV too large), the informer relists and ends
 * with the new uids. */
static void scenario_restart(struct env *env)
{
    struct vr_informer_stats before, after;
    char uid_before[64];
    stats(env, &before);
    snprintf(uid_before, sizeof(uid_before), "%s",
             vr_kcache_get(vr_informer_cache(env->inf), NS, "dr-0")->uid);
    char *objects = saved_objects(env);
    env->sim_closed = false;
    ks_sim_close(env->sim, on_closed, &env->sim_closed);
    env->sim = NULL;
    assert_true(vr_test_run_until(&env->loop, sim_is_closed, env, 10000));
    env->sim_closed = false;
    run_for(env, 1000); /* the informer meets refused connections meanwhile */
    sim_start(env, objects);
    cJSON_free(objects);
    converge(env, "restart");
    stats(env, &after);
    assert_true(after.relists >= before.relists + 1);
    assert_true(after.restarts >= before.restarts + 1);
    assert_string_not_equal(vr_kcache_get(vr_informer_cache(env->inf), NS, "dr-0")->uid,
                            uid_before);
}

static void test_informer_faults(void **state)
{
    struct env *env = vr_xcalloc(1, sizeof(*env));
    (void)state;
    env_setup(env, NS);
    initial_sync(env);
    scenario_drop(env);
    scenario_expired(env);
    scenario_throttled_watch(env);
    scenario_throttled_list(env);
    scenario_500s(env);
    scenario_over_cap(env);
    scenario_stall(env);
    scenario_delayed_watch(env);
    scenario_restart(env);
    churn(env, NS);
    converge(env, "after restart");
    assert_int_equal(env->synced_calls, 1);
    assert_true(env->adds > 0 && env->updates > 0 && env->deletes > 0);
    env_teardown(env);
    vr_free(env);
}

/* All namespaces: two namespaces' objects, changes in both, a cut, and clean watch ends
 * (timeoutSeconds 2-4 s) resumed without relisting. */
static void test_informer_all_namespaces(void **state)
{
    struct env *env = vr_xcalloc(1, sizeof(*env));
    struct counts before, after;
    (void)state;
    env_setup(env, NULL);
    initial_sync(env);
    assert_int_equal(vr_kcache_size(vr_informer_cache(env->inf)), 16);
    counts_take(env, &before);
    churn(env, NS);
    churn(env, "default");
    drop_watches(env);
    churn(env, "default");
    run_for(env, 5000); /* at least one clean end of a 2-4 s watch */
    converge(env, "all namespaces");
    counts_take(env, &after);
    assert_true(after.s.watches >= before.s.watches + 2);
    assert_int_equal(after.s.relists, before.s.relists);
    assert_int_equal(informer_lists_since(env, &before), 0);
    env_teardown(env);
    vr_free(env);
}

/* The continue token of a paged first list expires between pages (history compacted
 * while page 2 is held by a delay fault): 410 Expired, and the informer lists again from
 * RV "" at once, all pages, without a backoff. */
static void test_expired_continue(void **state)
{
    struct env *env = vr_xcalloc(1, sizeof(*env));
    struct vr_informer_stats s;
    (void)state;
    env_setup(env, NULL);
    fault(env, "{\"method\":\"LIST\",\"delay_ms\":1,\"count\":1}");
    fault(env, "{\"method\":\"LIST\",\"delay_ms\":700,\"count\":1}");
    vr_informer_start(env->inf);
    run_for(env, 300); /* page 1 served, page 2 held */
    stats(env, &s);
    assert_int_equal(s.lists, 2);
    w_delete(env, "default", "dr-5");
    assert_int_equal(admin(env, "POST", "/kubesim/compact", "{}", NULL, 0), 200);
    assert_true(vr_test_run_until(&env->loop, is_synced, env, 10000));
    converge(env, "expired continue");
    stats(env, &s);
    assert_int_equal(s.lists, 2 + 3); /* the refused page 2, then 15 objects in 3 pages */
    assert_int_equal(s.relists, 0);
    assert_int_equal(env->synced_calls, 1);
    env_teardown(env);
    vr_free(env);
}

/* Stopping and closing from inside a handler: no further handler runs, and the loop
 * closes clean. */
static void on_add_close(const struct vr_kobj *o, void *arg)
{
    struct env *env = arg;
    (void)o;
    env->adds++;
    if (env->adds == 1)
        vr_informer_close(env->inf, on_closed, &env->closed);
}

static int is_closed(void *arg)
{
    return ((struct env *)arg)->closed;
}

static void test_close_from_handler(void **state)
{
    struct env *env = vr_xcalloc(1, sizeof(*env));
    bool kc_closed = false, cu_closed = false;
    (void)state;
    env_setup(env, NS);
    vr_informer_close(env->inf, NULL, NULL); /* replace it with one that closes itself */
    struct vr_informer_opts o;
    struct vr_informer_handlers h = {.on_add = on_add_close, .arg = env};
    informer_opts(&o, NS);
    assert_int_equal(vr_informer_new(&env->loop, &env->clock, env->kc, &o, &h, &env->inf), 0);
    vr_informer_start(env->inf);
    assert_true(vr_test_run_until(&env->loop, is_closed, env, 10000));
    assert_int_equal(env->adds, 1);
    vr_kube_client_close(env->kc, on_closed, &kc_closed);
    ks_sim_close(env->sim, on_closed, &env->sim_closed);
    assert_true(vr_test_run_until(&env->loop, all_closed, env, 10000));
    vr_curl_uv_close(env->cu, on_closed, &cu_closed);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    assert_true(kc_closed && cu_closed);
    vr_test_loop_close(&env->loop);
    vr_free(env);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    vr_log_init_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_informer_faults),
        cmocka_unit_test(test_informer_all_namespaces),
        cmocka_unit_test(test_expired_continue),
        cmocka_unit_test(test_close_from_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
