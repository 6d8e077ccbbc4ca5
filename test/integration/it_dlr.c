/* The DownloadRequest controller against an in-process kubesim, with the real signer
 * (static credentials from the BSL's Secret): Processed with URL and expiration for backup
 * and restore kinds, Failed + message (or expiration only with an older CRD) for missing
 * Restore/Backup/BSL/Secret, an unknown kind and a backup in FailedValidation, the status
 * subresource on and off, deletion at expiration, no no-op writes, namespace scope.
 * Everything runs on the loop with timers; no sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "controller/downloadrequest.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "queue/workqueue.h"
#include "loop/clock.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#include "sim.h"
#include "store.h"

#define NS "velero"

/* [default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = SECRETSECRETSECRET\n */
#define CREDS "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJREVYQU1QTEUKYXdzX3NlY3JldF9hY2Nlc3Nf" \
              "a2V5ID0gU0VDUkVUU0VDUkVUU0VDUkVUCg=="

static const char objects[] =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: velero}\n"
    "data: {cloud: " CREDS "}\n---\n"
    "apiVersion: velero.io/v1\nkind: BackupStorageLocation\nmetadata: {name: default, namespace: "
    "velero}\nspec:\n  provider: velero.io/aws\n  objectStorage: {bucket: bkt, prefix: /pfx/}\n"
    "  credential: {name: creds, key: cloud}\n  config: {region: minio, s3Url: "
    "'http://127.0.0.1:9000', s3ForcePathStyle: 'true'}\n---\n"
    "apiVersion: velero.io/v1\nkind: BackupStorageLocation\nmetadata: {name: nocred, namespace: "
    "velero}\nspec:\n  provider: aws\n  objectStorage: {bucket: bkt}\n"
    "  credential: {name: missing, key: cloud}\n  config: {region: minio}\n---\n"
    "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: b1, namespace: velero}\n"
    "spec: {storageLocation: default}\nstatus: {phase: Completed}\n---\n"
    "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: bfv, namespace: velero}\n"
    "spec: {storageLocation: default}\nstatus: {phase: FailedValidation}\n---\n"
    "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: bnobsl, namespace: velero}\n"
    "spec: {storageLocation: ghost}\nstatus: {phase: Completed}\n---\n"
    "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: bnosecret, namespace: velero}\n"
    "spec: {storageLocation: nocred}\nstatus: {phase: Completed}\n---\n"
    "apiVersion: velero.io/v1\nkind: Restore\nmetadata: {name: r1, namespace: velero}\n"
    "spec: {backupName: b1}\nstatus: {phase: Completed}\n";

struct dr {
    const char *ns, *name, *kind, *target;
    const char *url_part; /* Processed: part of the URL; NULL: a failure */
    const char *msg_part; /* failure: part of the message */
};

static const struct dr drs[] = {
    {NS, "ok-log", "BackupLog", "b1", "http://127.0.0.1:9000/bkt/pfx/backups/b1/b1-logs.gz?", NULL},
    {NS, "ok-rvi", "RestoreVolumeInfo", "r1", "/bkt/pfx/restores/r1/r1-volumeinfo.json.gz?", NULL},
    {NS, "ok-rlog", "RestoreLog", "r1", "/bkt/pfx/restores/r1/restore-r1-logs.gz?", NULL},
    {NS, "no-restore", "RestoreLog", "nope", NULL, "restore \"nope\" not found"},
    {NS, "no-backup", "BackupContents", "nope", NULL, "backup \"nope\" not found"},
    {NS, "no-bsl", "BackupLog", "bnobsl", NULL, "backup storage location \"ghost\" not found"},
    {NS, "no-secret", "BackupLog", "bnosecret", NULL, "credential secret \"missing\""},
    {NS, "bad-kind", "BackupItemSnapshots", "b1", NULL, "unsupported download target kind"},
    {NS, "fv", "BackupLog", "bfv", NULL, "phase \"FailedValidation\""},
};
#define NDRS (sizeof(drs) / sizeof(drs[0]))

struct env {
    uv_loop_t loop;
    struct vr_clock clock;
    struct ks_sim *sim;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    struct vr_dlr_ctrl *ctrl;
    bool failed_phase, status_sub, all_ns;
    uint64_t resync_ms;
    uint64_t reconciles_until; /* settled(): stats.reconciles to reach */
    int stats_patch;
    bool stats_done;
};

static struct ks_store *store(struct env *e)
{
    return ks_sim_store(e->sim);
}

static const struct ks_resource *res(struct env *e, const char *plural)
{
    return ks_store_find(store(e), "velero.io", "v1", plural);
}

static const cJSON *status_of(struct env *e, const char *ns, const char *name)
{
    const cJSON *o;
    struct ks_status st;
    if (ks_store_get(store(e), res(e, "downloadrequests"), ns, name, &o, &st) < 0)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(o, "status");
}

static const char *field(const cJSON *st, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void create_dr(struct env *e, const struct dr *d)
{
    char y[512];
    struct ks_status st;
    snprintf(y, sizeof(y),
             "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata: {name: %s, namespace: "
             "%s}\nspec: {target: {kind: %s, name: %s}}\n",
             d->name, d->ns, d->kind, d->target);
    assert_int_equal(ks_store_load(store(e), y, strlen(y), vr_clock_now_s(&e->clock), &st), 0);
}

/* With the status subresource on, create drops status: set the phases through /status. */
static void set_phase(struct env *e, const char *plural, const char *name, const char *phase)
{
    char body[128];
    struct ks_status st;
    const cJSON *out;
    snprintf(body, sizeof(body), "{\"status\":{\"phase\":\"%s\"}}", phase);
    assert_int_equal(ks_store_patch(store(e), res(e, plural), NS, name, KS_PATCH_MERGE,
                                    vr_str_c(body), true, &out, &st),
                     0);
}

static int all_done(void *arg)
{
    struct env *e = arg;
    for (size_t i = 0; i < NDRS; i++) {
        const char *exp = field(status_of(e, drs[i].ns, drs[i].name), "expiration");
        if (!exp)
            return 0;
    }
    return 1;
}

static int all_gone(void *arg)
{
    struct env *e = arg;
    for (size_t i = 0; i < NDRS; i++) {
        const cJSON *o;
        struct ks_status st;
        if (ks_store_get(store(e), res(e, "downloadrequests"), drs[i].ns, drs[i].name, &o,
                         &st) == 0)
            return 0;
    }
    return 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- /kubesim/stats ---- */

static void on_stats(struct vr_req *req, int status, void *arg)
{
    struct env *e = arg;
    e->stats_done = true;
    assert_int_equal(status, 0);
    struct vr_str b = vr_req_body(req);
    cJSON *j = cJSON_ParseWithLength(b.p, b.n);
    assert_non_null(j);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "requests"), "PATCH");
    e->stats_patch = p ? (int)p->valuedouble : -1;
    cJSON_Delete(j);
}

static int stats_done(void *arg)
{
    return ((struct env *)arg)->stats_done;
}

static int patches(struct env *e)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/kubesim/stats", ks_sim_port(e->sim));
    e->stats_done = false;
    assert_int_equal(vr_req_start(vr_req_new(e->cu, "GET", url), on_stats, e), 0);
    assert_true(vr_test_run_until(&e->loop, stats_done, e, 5000));
    return e->stats_patch;
}

/* ---- setup / teardown ---- */

static void env_setup(struct env *e, int64_t ttl_s)
{
    struct ks_sim_opts so;
    struct ks_status st;
    assert_int_equal(uv_loop_init(&e->loop), 0);
    vr_clock_init_system(&e->clock, &e->loop);
    ks_sim_opts_default(&so);
    so.status_subresource = e->status_sub;
    so.failed_phase = e->failed_phase;
    assert_int_equal(ks_sim_new(&e->loop, &so, &e->sim), 0);
    assert_int_equal(ks_store_load(store(e), objects, strlen(objects), vr_clock_now_s(&e->clock),
                                   &st),
                     0);
    if (e->status_sub) {
        set_phase(e, "backups", "b1", "Completed");
        set_phase(e, "backups", "bfv", "FailedValidation");
        set_phase(e, "backups", "bnobsl", "Completed");
        set_phase(e, "backups", "bnosecret", "Completed");
        set_phase(e, "restores", "r1", "Completed");
    }
    assert_int_equal(ks_sim_listen(e->sim, "127.0.0.1:0"), 0);
    for (size_t i = 0; i < NDRS; i++)
        create_dr(e, &drs[i]);
    create_dr(e, &(struct dr){"default", "other-ns", "BackupLog", "b1", NULL, NULL});
    assert_int_equal(vr_curl_uv_new(&e->loop, &e->cu), 0);
    struct vr_kube_config cfg = {0};
    cfg.server = vr_xasprintf("http://127.0.0.1:%d", ks_sim_port(e->sim));
    cfg.namespace = vr_xstrdup(NS);
    assert_int_equal(vr_kube_client_new(e->cu, &e->clock, &cfg, NULL, &e->kc), 0);
    vr_kube_config_cleanup(&cfg);
    struct vr_dlr_opts o = {.ns = e->all_ns ? NULL : NS, .ttl_s = ttl_s,
                            .resync_ms = e->resync_ms};
    assert_int_equal(vr_dlr_ctrl_new(&e->loop, &e->clock, e->cu, e->kc, &o, &e->ctrl), 0);
    vr_dlr_ctrl_start(e->ctrl);
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static void env_teardown(struct env *e)
{
    bool ctrl = false, kc = false, sim = false, cu = false;
    vr_dlr_ctrl_close(e->ctrl, on_closed, &ctrl);
    assert_false(ctrl);
    assert_true(vr_test_run_until(&e->loop, is_true, &ctrl, 10000));
    vr_kube_client_close(e->kc, on_closed, &kc);
    ks_sim_close(e->sim, on_closed, &sim);
    vr_curl_uv_close(e->cu, on_closed, &cu);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_true(kc && sim && cu);
    vr_test_loop_close(&e->loop);
}

/* ---- checks ---- */

static void check_results(struct env *e)
{
    for (size_t i = 0; i < NDRS; i++) {
        const struct dr *d = &drs[i];
        const cJSON *st = status_of(e, d->ns, d->name);
        const char *phase = field(st, "phase"), *url = field(st, "downloadURL");
        const char *msg = field(st, "message"), *exp = field(st, "expiration");
        assert_non_null(exp);
        assert_int_equal(strlen(exp), 20); /* YYYY-MM-DDTHH:MM:SSZ */
        assert_int_equal(exp[19], 'Z');
        if (d->url_part) {
            assert_string_equal(phase, "Processed");
            if (!strstr(url, d->url_part))
                fail_msg("%s: url %s lacks %s", d->name, url, d->url_part);
            assert_non_null(strstr(url, "X-Amz-Credential=AKIDEXAMPLE%2F"));
            assert_non_null(strstr(url, "%2Fminio%2Fs3%2Faws4_request"));
            assert_non_null(strstr(url, "X-Amz-Signature="));
        } else if (e->failed_phase) {
            assert_string_equal(phase, "Failed");
            if (!msg || !strstr(msg, d->msg_part))
                fail_msg("%s: message \"%s\" lacks \"%s\"", d->name, msg ? msg : "", d->msg_part);
            assert_null(url);
        } else {
            assert_null(phase);
            assert_null(msg);
            assert_null(url);
        }
    }
}

static void run_scenario(struct env *e)
{
    env_setup(e, 600);
    assert_true(vr_test_run_until(&e->loop, all_done, e, 10000));
    check_results(e);
    const cJSON *other = status_of(e, "default", "other-ns");
    if (e->all_ns) {
        assert_non_null(field(other, "expiration")); /* served: no backup b1 in default */
    } else {
        vr_test_run_until(&e->loop, never, NULL, 300);
        assert_null(other);
    }
    /* One write per request, and none after: a resync and more time change nothing. */
    int n = patches(e);
    assert_int_equal(n, (int)NDRS + (e->all_ns ? 1 : 0));
    vr_dlr_ctrl_resync(e->ctrl);
    vr_test_run_until(&e->loop, never, NULL, 500);
    assert_int_equal(patches(e), n);
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e->ctrl, &s);
    assert_int_equal(s.processed, 3);
    assert_int_equal(s.deleted, 0);
    assert_int_equal(vr_signer_region_lookups(vr_dlr_ctrl_signer(e->ctrl)), 0);
    env_teardown(e);
}

static void test_default_crd(void **state)
{
    (void)state;
    struct env e = {.failed_phase = true};
    run_scenario(&e);
}

static void test_status_subresource_expiration_only(void **state)
{
    (void)state;
    struct env e = {.failed_phase = false, .status_sub = true};
    run_scenario(&e);
}

static void test_status_subresource_failed(void **state)
{
    (void)state;
    struct env e = {.failed_phase = true, .status_sub = true};
    run_scenario(&e);
}

static void test_all_namespaces(void **state)
{
    (void)state;
    struct env e = {.failed_phase = true, .all_ns = true};
    run_scenario(&e);
}

/* The controller's own cache shows every request with its expiration. */
static int cached_done(void *arg)
{
    struct env *e = arg;
    const struct vr_kube_resource *r;
    const struct vr_informer *inf = vr_dlr_ctrl_informer(e->ctrl, 0, &r);
    assert_string_equal(r->plural, "downloadrequests");
    for (size_t i = 0; i < NDRS; i++) {
        const struct vr_kobj *o = vr_kcache_get(vr_informer_cache(inf), drs[i].ns, drs[i].name);
        if (!o || !((const struct vr_dlr_obj *)o->payload)->has_expiration)
            return 0;
    }
    return 1;
}

static int settled(void *arg)
{
    struct env *e = arg;
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e->ctrl, &s);
    const struct vr_workqueue *q = vr_dlr_ctrl_queue(e->ctrl);
    return s.reconciles >= e->reconciles_until && vr_wq_len(q) == 0 && vr_wq_in_flight(q) == 0;
}

/* Served requests wait for their expiration in the queue's timer heap, unless a resync comes
 * first: with one every second, a request expiring in a minute keeps no queue record. */
static void run_waiting(uint64_t resync_ms, size_t want_waiting)
{
    struct env e = {.failed_phase = true, .resync_ms = resync_ms};
    env_setup(&e, 60);
    assert_true(vr_test_run_until(&e.loop, cached_done, &e, 10000));
    /* Every request reconciled once more, from the complete cache. */
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e.ctrl, &s);
    e.reconciles_until = s.reconciles + NDRS;
    vr_dlr_ctrl_resync(e.ctrl);
    assert_true(vr_test_run_until(&e.loop, settled, &e, 10000));
    assert_int_equal(vr_wq_num_waiting(vr_dlr_ctrl_queue(e.ctrl)), want_waiting);
    env_teardown(&e);
}

static void test_waiting_without_resync(void **state)
{
    (void)state;
    run_waiting(0, NDRS);
}

static void test_waiting_with_resync(void **state)
{
    (void)state;
    run_waiting(1000, 0);
}

static void test_deleted_at_expiration(void **state)
{
    (void)state;
    struct env e = {.failed_phase = true};
    env_setup(&e, 2);
    assert_true(vr_test_run_until(&e.loop, all_done, &e, 10000));
    uint64_t t0 = uv_now(&e.loop);
    int64_t exp_s = 0;
    assert_int_equal(vr_rfc3339_parse(field(status_of(&e, NS, "ok-log"), "expiration"), &exp_s),
                     0);
    assert_true(vr_test_run_until(&e.loop, all_gone, &e, 8000));
    /* Not before the expiration instant (whole seconds: at least 1 s after processing). */
    assert_true(uv_now(&e.loop) - t0 >= 1000);
    assert_true(vr_clock_now_s(&e.clock) >= exp_s);
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e.ctrl, &s);
    assert_int_equal(s.deleted, NDRS);
    env_teardown(&e);
}

/* The same with a resync every second: the requests are dropped from the queue while their
 * expiration is more than two resyncs away, then wait in the heap, and go at expiration. */
static void test_deleted_at_expiration_with_resync(void **state)
{
    (void)state;
    struct env e = {.failed_phase = true, .resync_ms = 1000};
    env_setup(&e, 3);
    assert_true(vr_test_run_until(&e.loop, all_done, &e, 10000));
    int64_t exp_s = 0;
    assert_int_equal(vr_rfc3339_parse(field(status_of(&e, NS, "ok-log"), "expiration"), &exp_s),
                     0);
    assert_true(vr_test_run_until(&e.loop, all_gone, &e, 10000));
    assert_true(vr_clock_now_s(&e.clock) >= exp_s);
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e.ctrl, &s);
    assert_int_equal(s.deleted, NDRS);
    env_teardown(&e);
}

int main(void)
{
    vr_mem_init_cjson();
    vr_log_set_level(getenv("VR_IT_DEBUG") ? VR_LOG_DEBUG : VR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_crd),
        cmocka_unit_test(test_status_subresource_expiration_only),
        cmocka_unit_test(test_status_subresource_failed),
        cmocka_unit_test(test_all_namespaces),
        cmocka_unit_test(test_waiting_without_resync),
        cmocka_unit_test(test_waiting_with_resync),
        cmocka_unit_test(test_deleted_at_expiration),
        cmocka_unit_test(test_deleted_at_expiration_with_resync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
