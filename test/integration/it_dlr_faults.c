/* The DownloadRequest controller's failure paths, against an in-process kubesim and a
 * loopback fake of S3's bucket-region HEAD: one region lookup per BSL (status-only BSL
 * updates included), signing state invalidated by Secret and BSL changes and by deletion,
 * status writes retried through 500s, a persistent transient failure given up one TTL after
 * creation, the CRD unreadable (status path and Failed enum learned from the first write),
 * a Backup late in its informer cache, and bad input that fails alone. Loops are driven by
 * timers; the wall clock (now_s) is offset by hand to cross a TTL without waiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "controller/downloadrequest.h"
#include "core/common.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "loop/clock.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#include "sim.h"
#include "store.h"

#define NS "velero"
#define DLR_PATH "/apis/velero.io/v1/namespaces/velero/downloadrequests"
#define CRD_PATH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/downloadrequests.velero.io"

/* [default] aws_access_key_id = AKIDFIRST, aws_secret_access_key = SECRETAAAA */
#define CREDS_A "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJREZJUlNUCmF3c19zZWNyZXRfYWNjZXNz" \
                "X2tleSA9IFNFQ1JFVEFBQUEK"
/* [default] aws_access_key_id = AKIDSECOND, aws_secret_access_key = SECRETBBBB */
#define CREDS_B "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJRFNFQ09ORAphd3Nfc2VjcmV0X2FjY2Vz" \
                "c19rZXkgPSBTRUNSRVRCQkJCCg=="
/* "[default\naws_access_key_id = AKIDBROKEN\n": a section header without ']' */
#define CREDS_BROKEN "W2RlZmF1bHQKYXdzX2FjY2Vzc19rZXlfaWQgPSBBS0lEQlJPS0VOCg=="

#define SCOPE(region) "%2F" region "%2Fs3%2Faws4_request"

/* ---- a wall clock the test can move forward (timers keep the loop's time) ---- */

struct oclock {
    struct vr_clock clock;
    int64_t offset_s;
};

static uint64_t oclock_ms(struct vr_clock *c)
{
    return uv_now(c->loop);
}

static int64_t oclock_s(struct vr_clock *c)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec + container_of(c, struct oclock, clock)->offset_s;
}

/* ---- the fake bucket-region endpoint ---- */

#define FAKE_PENDING 64

struct fake_s3 {
    struct vr_httpd *httpd;
    uv_timer_t timer;
    unsigned delay_ms; /* hold answers this long, so requests pile up behind one lookup */
    int fail_code;     /* answer this without the header; 0 = answer the region */
    unsigned heads[2]; /* HEADs for bucket-one, bucket-two */
    unsigned heads_other;
    struct vr_http_req *pending[FAKE_PENDING];
};

static const char *region_of(struct vr_str path, unsigned **counter, struct fake_s3 *f)
{
    if (vr_str_eq(path, vr_str_c("/bucket-one"))) {
        *counter = &f->heads[0];
        return "eu-west-3";
    }
    if (vr_str_eq(path, vr_str_c("/bucket-two"))) {
        *counter = &f->heads[1];
        return "ap-south-1";
    }
    *counter = &f->heads_other;
    return "us-west-1";
}

static void fake_answer(struct fake_s3 *f, struct vr_http_req *req)
{
    unsigned *counter;
    const char *region = region_of(vr_http_req_path(req), &counter, f);
    if (f->fail_code) {
        vr_http_respond(req, f->fail_code, "application/xml", "", 0);
        return;
    }
    vr_http_add_header(req, "X-Amz-Bucket-Region", region);
    vr_http_respond(req, 200, "application/xml", "", 0);
}

static void fake_dropped(struct vr_http_req *req, void *arg)
{
    struct fake_s3 *f = arg;
    for (size_t i = 0; i < FAKE_PENDING; i++)
        if (f->pending[i] == req)
            f->pending[i] = NULL;
}

static void fake_flush(uv_timer_t *t)
{
    struct fake_s3 *f = container_of(t, struct fake_s3, timer);
    for (size_t i = 0; i < FAKE_PENDING; i++) {
        struct vr_http_req *req = f->pending[i];
        f->pending[i] = NULL;
        if (req)
            fake_answer(f, req);
    }
}

static void fake_handle(struct vr_http_req *req, void *arg)
{
    struct fake_s3 *f = arg;
    unsigned *counter;
    assert_string_equal(vr_http_req_method(req), "HEAD");
    (void)region_of(vr_http_req_path(req), &counter, f);
    (*counter)++;
    if (!f->delay_ms) {
        fake_answer(f, req);
        return;
    }
    for (size_t i = 0; i < FAKE_PENDING; i++) {
        if (!f->pending[i]) {
            f->pending[i] = req;
            vr_http_req_on_close(req, fake_dropped, f);
            uv_timer_start(&f->timer, fake_flush, f->delay_ms, 0);
            return;
        }
    }
    fail_msg("too many pending HEADs");
}

/* ---- environment ---- */

struct env {
    uv_loop_t loop;
    struct oclock oc;
    struct ks_sim *sim;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    struct vr_dlr_ctrl *ctrl;
    struct fake_s3 s3;
    bool status_sub, no_failed_phase;
    int64_t ttl_s;
    /* the last admin answer */
    bool admin_done;
    int admin_http;
    cJSON *admin_json;
};

static struct ks_store *store(struct env *e)
{
    return ks_sim_store(e->sim);
}

static const struct ks_resource *res(struct env *e, const char *group, const char *plural)
{
    return ks_store_find(store(e), group, "v1", plural);
}

static void load(struct env *e, const char *yaml)
{
    struct ks_status st;
    if (ks_store_load(store(e), yaml, strlen(yaml), vr_clock_now_s(&e->oc.clock), &st) < 0)
        fail_msg("load: %s", st.message);
}

static void patch(struct env *e, const char *group, const char *plural, const char *name,
                  const char *body, bool status)
{
    struct ks_status st;
    const cJSON *out;
    if (ks_store_patch(store(e), res(e, group, plural), NS, name, KS_PATCH_MERGE,
                       vr_str_c(body), status, &out, &st) < 0)
        fail_msg("patch %s/%s: %s", plural, name, st.message);
}

static void create_dr(struct env *e, const char *name, const char *kind, const char *target)
{
    char y[512];
    snprintf(y, sizeof(y),
             "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata: {name: %s, namespace: "
             NS "}\nspec: {target: {kind: %s, name: %s}}\n",
             name, kind, target);
    load(e, y);
}

static const cJSON *dr_status(struct env *e, const char *name)
{
    const cJSON *o;
    struct ks_status st;
    if (ks_store_get(store(e), res(e, "velero.io", "downloadrequests"), NS, name, &o, &st) < 0)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(o, "status");
}

static const char *field(const cJSON *st, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *dr_field(struct env *e, const char *name, const char *k)
{
    return field(dr_status(e, name), k);
}

struct wait_dr {
    struct env *e;
    const char *name;
};

static int dr_done(void *arg)
{
    struct wait_dr *w = arg;
    return dr_field(w->e, w->name, "expiration") != NULL;
}

/* Waits for name's terminal status; returns its URL (Processed) or NULL. */
static const char *wait_done(struct env *e, const char *name)
{
    struct wait_dr w = {e, name};
    if (!vr_test_run_until(&e->loop, dr_done, &w, 10000))
        fail_msg("%s: no terminal status", name);
    return dr_field(e, name, "downloadURL");
}

static void expect_processed(struct env *e, const char *name, const char *part1,
                             const char *part2)
{
    const char *url = wait_done(e, name);
    if (!url || !strstr(url, part1) || (part2 && !strstr(url, part2)))
        fail_msg("%s: url \"%s\" lacks \"%s\" / \"%s\" (phase %s, message %s)", name,
                 url ? url : "", part1, part2 ? part2 : "", dr_field(e, name, "phase"),
                 dr_field(e, name, "message"));
    assert_string_equal(dr_field(e, name, "phase"), "Processed");
}

static void expect_failed(struct env *e, const char *name, const char *msg_part)
{
    assert_null(wait_done(e, name));
    const char *msg = dr_field(e, name, "message");
    if (e->no_failed_phase) {
        assert_null(dr_field(e, name, "phase"));
        assert_null(msg);
        return;
    }
    assert_string_equal(dr_field(e, name, "phase"), "Failed");
    if (!msg || !strstr(msg, msg_part))
        fail_msg("%s: message \"%s\" lacks \"%s\"", name, msg ? msg : "", msg_part);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(struct env *e, unsigned ms)
{
    (void)vr_test_run_until(&e->loop, never, NULL, ms);
}

/* ---- kubesim's admin API ---- */

static void on_admin(struct vr_req *req, int status, void *arg)
{
    struct env *e = arg;
    struct vr_str b = vr_req_body(req);
    e->admin_done = true;
    e->admin_http = status == 0 ? vr_req_http_status(req) : status;
    cJSON_Delete(e->admin_json);
    e->admin_json = cJSON_ParseWithLength(b.p, b.n);
}

static int admin_done(void *arg)
{
    return ((struct env *)arg)->admin_done;
}

/* Sends method path (body may be NULL) and waits for the answer (parsed in admin_json). */
static int admin(struct env *e, const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ks_sim_port(e->sim), path);
    struct vr_req *req = vr_req_new(e->cu, method, url);
    if (body) {
        assert_int_equal(vr_req_add_header(req, "Content-Type: application/json"), 0);
        vr_req_set_body(req, body, strlen(body));
    }
    e->admin_done = false;
    assert_int_equal(vr_req_start(req, on_admin, e), 0);
    assert_true(vr_test_run_until(&e->loop, admin_done, e, 5000));
    return e->admin_http;
}

static void add_fault(struct env *e, const char *json)
{
    assert_int_equal(admin(e, "POST", "/kubesim/faults", json), 201);
}

/* kubesim's count of requests of class cls ("GET", "PATCH", ...) or of open watches. */
static int sim_stat(struct env *e, const char *cls)
{
    assert_int_equal(admin(e, "GET", "/kubesim/stats", NULL), 200);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->admin_json, cls);
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e->admin_json, "requests"), cls);
    assert_true(cJSON_IsNumber(v));
    return (int)v->valuedouble;
}

/* ---- the controller's view ---- */

/* The resourceVersion of ns/name in the controller's informer cache for r, or NULL. */
static const char *cached_rv(struct env *e, const struct vr_kube_resource *r, const char *name)
{
    const struct vr_kube_resource *ir;
    const struct vr_informer *inf;
    for (size_t i = 0; (inf = vr_dlr_ctrl_informer(e->ctrl, i, &ir)) != NULL; i++) {
        if (ir != r)
            continue;
        const struct vr_kobj *o = vr_kcache_get(vr_informer_cache(inf), NS, name);
        return o ? o->rv : NULL;
    }
    fail_msg("no informer for %s", name);
    return NULL;
}

struct wait_rv {
    struct env *e;
    const struct vr_kube_resource *r;
    const char *name;
    char rv[32]; /* "" = wait until gone */
};

static int rv_seen(void *arg)
{
    struct wait_rv *w = arg;
    const char *rv = cached_rv(w->e, w->r, w->name);
    return *w->rv ? rv && !strcmp(rv, w->rv) : rv == NULL;
}

/* Waits until the controller's cache holds the store's current version of plural/name
 * (or, when the store has none, until the cache has none either). */
static void wait_cached(struct env *e, const struct vr_kube_resource *r, const char *group,
                        const char *plural, const char *name)
{
    struct wait_rv w = {e, r, name, ""};
    const cJSON *o;
    struct ks_status st;
    if (ks_store_get(store(e), res(e, group, plural), NS, name, &o, &st) == 0) {
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "metadata"), "resourceVersion");
        snprintf(w.rv, sizeof(w.rv), "%s", rv->valuestring);
    }
    if (!vr_test_run_until(&e->loop, rv_seen, &w, 5000))
        fail_msg("%s %s: cache never caught up", plural, name);
}

static struct vr_dlr_stats stats(struct env *e)
{
    struct vr_dlr_stats s;
    vr_dlr_ctrl_stats(e->ctrl, &s);
    return s;
}

static struct vr_signer *signer(struct env *e)
{
    return vr_dlr_ctrl_signer(e->ctrl);
}

/* ---- setup / teardown ---- */

static void env_open(struct env *e, const char *objects)
{
    struct ks_sim_opts so;
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->oc.clock = (struct vr_clock){.now_ms = oclock_ms, .now_s = oclock_s, .loop = &e->loop};
    ks_sim_opts_default(&so);
    so.status_subresource = e->status_sub;
    so.failed_phase = !e->no_failed_phase;
    assert_int_equal(ks_sim_new(&e->loop, &so, &e->sim), 0);
    load(e, objects);
    assert_int_equal(ks_sim_listen(e->sim, "127.0.0.1:0"), 0);
    assert_int_equal(vr_httpd_new(&e->loop, NULL, fake_handle, &e->s3, &e->s3.httpd), 0);
    assert_int_equal(vr_httpd_listen(e->s3.httpd, "127.0.0.1:0"), 0);
    assert_int_equal(uv_timer_init(&e->loop, &e->s3.timer), 0);
    assert_int_equal(vr_curl_uv_new(&e->loop, &e->cu), 0);
    struct vr_kube_config cfg = {0};
    cfg.server = vr_xasprintf("http://127.0.0.1:%d", ks_sim_port(e->sim));
    cfg.namespace = vr_xstrdup(NS);
    assert_int_equal(vr_kube_client_new(e->cu, &e->oc.clock, &cfg, NULL, &e->kc), 0);
    vr_kube_config_cleanup(&cfg);
}

static void env_start(struct env *e)
{
    char base[64]; /* the signer keeps a copy */
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", vr_httpd_port(e->s3.httpd));
    struct vr_dlr_opts o = {.ns = NS, .ttl_s = e->ttl_s ? e->ttl_s : 600};
    o.signer.region_base_url = base;
    assert_int_equal(vr_dlr_ctrl_new(&e->loop, &e->oc.clock, e->cu, e->kc, &o, &e->ctrl), 0);
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

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

static void env_close(struct env *e)
{
    bool ctrl = false, kc = false, sim = false, cu = false, s3 = false;
    vr_dlr_ctrl_close(e->ctrl, on_closed, &ctrl);
    assert_true(vr_test_run_until(&e->loop, is_true, &ctrl, 10000));
    vr_kube_client_close(e->kc, on_closed, &kc);
    ks_sim_close(e->sim, on_closed, &sim);
    vr_curl_uv_close(e->cu, on_closed, &cu);
    vr_httpd_close(e->s3.httpd, on_closed, &s3);
    uv_close((uv_handle_t *)&e->s3.timer, on_timer_closed);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_true(kc && sim && cu && s3);
    cJSON_Delete(e->admin_json);
    vr_test_loop_close(&e->loop);
}

/* ---- objects ---- */

#define SECRET(name, data)                                                                    \
    "apiVersion: v1\nkind: Secret\nmetadata: {name: " name ", namespace: velero}\n"           \
    "data: {cloud: " data "}\n---\n"
#define BSL(name, bucket, secret, config)                                                     \
    "apiVersion: velero.io/v1\nkind: BackupStorageLocation\nmetadata: {name: " name           \
    ", namespace: velero}\nspec:\n  provider: aws\n  objectStorage: {bucket: " bucket "}\n"   \
    "  credential: {name: " secret ", key: cloud}\n  config: " config "\n---\n"
#define BACKUP(name, bsl)                                                                     \
    "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: " name ", namespace: velero}\n" \
    "spec: {storageLocation: " bsl "}\nstatus: {phase: Completed}\n---\n"
#define RESTORE(name, backup)                                                                 \
    "apiVersion: velero.io/v1\nkind: Restore\nmetadata: {name: " name ", namespace: velero}\n" \
    "spec: {backupName: " backup "}\nstatus: {phase: Completed}\n---\n"

/* With the status subresource on, create drops status: set the phases through /status. */
static void complete_phases(struct env *e, const char *const *backups, const char *restore)
{
    if (!e->status_sub)
        return;
    for (; *backups; backups++)
        patch(e, "velero.io", "backups", *backups, "{\"status\":{\"phase\":\"Completed\"}}",
              true);
    if (restore)
        patch(e, "velero.io", "restores", restore, "{\"status\":{\"phase\":\"Completed\"}}",
              true);
}

static void delete_bsl(struct env *e, const char *name)
{
    struct ks_status st;
    cJSON *out = NULL;
    if (ks_store_delete(store(e), res(e, "velero.io", "backupstoragelocations"), NS, name, NULL,
                        &out, &st) < 0)
        fail_msg("delete %s: %s", name, st.message);
    cJSON_Delete(out);
}

/* ---- 1. one region lookup per BSL ---- */

static const char region_objects[] =
    SECRET("creds", CREDS_A) BSL("one", "bucket-one", "creds", "{}")
    BSL("two", "bucket-two", "creds", "{s3ForcePathStyle: 'true'}")
    BACKUP("b1", "one") BACKUP("b2", "one") BACKUP("b3", "one") BACKUP("b4", "two")
    RESTORE("r1", "b2");

static void test_region_lookup_once_per_bsl(void **state)
{
    static const char *const kinds[][3] = {
        {"d1", "BackupLog", "b1"},          {"d2", "BackupContents", "b2"},
        {"d3", "BackupResults", "b3"},      {"d4", "BackupResourceList", "b1"},
        {"d5", "RestoreLog", "r1"},         {"d6", "RestoreResults", "r1"},
        {"d7", "BackupVolumeInfos", "b2"},  {"d8", "CSIBackupVolumeSnapshots", "b3"},
    };
    struct env e = {.s3.delay_ms = 100};
    (void)state;
    env_open(&e, region_objects);
    env_start(&e);
    /* All at once: every request waits behind the one lookup. */
    for (size_t i = 0; i < VR_ARRAY_SIZE(kinds); i++)
        create_dr(&e, kinds[i][0], kinds[i][1], kinds[i][2]);
    for (size_t i = 0; i < VR_ARRAY_SIZE(kinds); i++)
        expect_processed(&e, kinds[i][0], "https://bucket-one.s3.eu-west-3.amazonaws.com/",
                         SCOPE("eu-west-3"));
    assert_int_equal(e.s3.heads[0], 1);
    assert_int_equal(vr_signer_region_lookups(signer(&e)), 1);

    /* Velero rewrites each BSL's status every validation period: no new lookup. */
    patch(&e, "velero.io", "backupstoragelocations", "one",
          "{\"status\":{\"phase\":\"Available\",\"lastValidationTime\":\"2024-01-01T00:00:00Z\"}}",
          false);
    wait_cached(&e, &vr_kube_res_backupstoragelocations, "velero.io", "backupstoragelocations",
                "one");
    create_dr(&e, "d9", "BackupLog", "b3");
    create_dr(&e, "d10", "RestoreLog", "r1");
    expect_processed(&e, "d9", "/backups/b3/b3-logs.gz?", SCOPE("eu-west-3"));
    expect_processed(&e, "d10", "/restores/r1/restore-r1-logs.gz?", SCOPE("eu-west-3"));
    assert_int_equal(e.s3.heads[0], 1);

    /* A second BSL: one more lookup, and its own region. */
    create_dr(&e, "e1", "BackupLog", "b4");
    create_dr(&e, "e2", "BackupContents", "b4");
    expect_processed(&e, "e1", "https://s3.ap-south-1.amazonaws.com/bucket-two/backups/b4/",
                     SCOPE("ap-south-1"));
    expect_processed(&e, "e2", "/bucket-two/backups/b4/b4.tar.gz?", SCOPE("ap-south-1"));
    assert_int_equal(e.s3.heads[0], 1);
    assert_int_equal(e.s3.heads[1], 1);
    assert_int_equal(e.s3.heads_other, 0);
    assert_int_equal(vr_signer_region_lookups(signer(&e)), 2);
    assert_int_equal(vr_signer_size(signer(&e)), 2);
    assert_int_equal(stats(&e).processed, 12);
    env_close(&e);
}

static int lookup_started(void *arg)
{
    return ((struct env *)arg)->s3.heads[0] > 0;
}

/* Deleted while its requests wait for the region: the lookup is cancelled, and they fail
 * for good instead of waiting on a state nothing will complete. */
static void test_bsl_deleted_during_lookup(void **state)
{
    struct env e = {.s3.delay_ms = 400};
    (void)state;
    env_open(&e, region_objects);
    env_start(&e);
    create_dr(&e, "d1", "BackupLog", "b1");
    create_dr(&e, "d2", "RestoreLog", "r1");
    assert_true(vr_test_run_until(&e.loop, lookup_started, &e, 5000));
    delete_bsl(&e, "one");
    expect_failed(&e, "d1", "backup storage location \"one\" not found");
    expect_failed(&e, "d2", "backup storage location \"one\" not found");
    assert_int_equal(e.s3.heads[0], 1);
    assert_int_equal(vr_signer_size(signer(&e)), 0);
    assert_int_equal(stats(&e).processed, 0);
    env_close(&e);
}

/* ---- 2. invalidation ---- */

static const char inval_objects[] =
    SECRET("creds", CREDS_A)
    BSL("s3", "bkt", "creds", "{region: us-west-2, s3Url: 'http://127.0.0.1:9000', "
                              "s3ForcePathStyle: 'true'}")
    BACKUP("b1", "s3");

static void set_secret(struct env *e, const char *data)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"data\":{\"cloud\":\"%s\"}}", data);
    patch(e, "", "secrets", "creds", body, false);
    wait_cached(e, &vr_kube_res_secrets, "", "secrets", "creds");
}

static void test_invalidation(void **state)
{
    struct env e = {0};
    (void)state;
    env_open(&e, inval_objects);
    env_start(&e);
    create_dr(&e, "d1", "BackupLog", "b1");
    expect_processed(&e, "d1", "http://127.0.0.1:9000/bkt/backups/b1/b1-logs.gz?",
                     "X-Amz-Credential=AKIDFIRST%2F");
    assert_non_null(strstr(dr_field(&e, "d1", "downloadURL"), SCOPE("us-west-2")));
    assert_int_equal(vr_signer_size(signer(&e)), 1);

    /* New keys in the Secret: the next URL is signed with them. */
    set_secret(&e, CREDS_B);
    assert_int_equal(vr_signer_size(signer(&e)), 0);
    create_dr(&e, "d2", "BackupLog", "b1");
    expect_processed(&e, "d2", "X-Amz-Credential=AKIDSECOND%2F", SCOPE("us-west-2"));

    /* A new region and endpoint in the BSL's config. */
    patch(&e, "velero.io", "backupstoragelocations", "s3",
          "{\"spec\":{\"config\":{\"region\":\"eu-central-1\",\"s3Url\":\"http://127.0.0.1:9001\"}}}",
          false);
    wait_cached(&e, &vr_kube_res_backupstoragelocations, "velero.io", "backupstoragelocations",
                "s3");
    create_dr(&e, "d3", "BackupLog", "b1");
    expect_processed(&e, "d3", "http://127.0.0.1:9001/bkt/backups/b1/b1-logs.gz?",
                     SCOPE("eu-central-1"));
    assert_non_null(strstr(dr_field(&e, "d3", "downloadURL"), "AKIDSECOND"));

    /* A broken Secret fails its requests; mending it serves the next one. */
    set_secret(&e, CREDS_BROKEN);
    create_dr(&e, "d4", "BackupLog", "b1");
    expect_failed(&e, "d4", "credentials of backup storage location \"s3\": BSL credential: "
                            "line 1: section header without ']'");
    set_secret(&e, CREDS_A);
    create_dr(&e, "d5", "BackupContents", "b1");
    expect_processed(&e, "d5", "/bkt/backups/b1/b1.tar.gz?", "X-Amz-Credential=AKIDFIRST%2F");

    /* The BSL deleted: new requests fail for good. */
    delete_bsl(&e, "s3");
    wait_cached(&e, &vr_kube_res_backupstoragelocations, "velero.io", "backupstoragelocations",
                "s3");
    assert_int_equal(vr_signer_size(signer(&e)), 0);
    create_dr(&e, "d6", "BackupLog", "b1");
    expect_failed(&e, "d6", "backup storage location \"s3\" not found");
    struct vr_dlr_stats s = stats(&e);
    assert_int_equal(s.processed, 4);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.transient, 0);
    env_close(&e);
}

/* ---- 3. transient failures: retried, and given up one TTL after creation ---- */

static void test_status_write_retried(void **state)
{
    struct env e = {0};
    (void)state;
    env_open(&e, inval_objects);
    env_start(&e);
    create_dr(&e, "warm", "BackupLog", "b1");
    wait_done(&e, "warm");
    add_fault(&e, "{\"method\":\"PATCH\",\"path_prefix\":\"" DLR_PATH "\",\"code\":500,"
                  "\"count\":3}");
    create_dr(&e, "d1", "BackupResults", "b1");
    expect_processed(&e, "d1", "/bkt/backups/b1/b1-results.gz?", "AKIDFIRST");
    struct vr_dlr_stats s = stats(&e);
    assert_int_equal(s.transient, 3);
    assert_int_equal(s.patches, 5); /* warm, three 500s, the write that stuck */
    assert_int_equal(s.processed, 2);
    assert_int_equal(sim_stat(&e, "PATCH"), 5);
    env_close(&e);
}

static const char giveup_objects[] =
    SECRET("creds", CREDS_A) BSL("down", "bucket-one", "creds", "{}")
    BSL("s3", "bkt", "creds", "{region: us-west-2, s3Url: 'http://127.0.0.1:9000'}")
    BACKUP("b1", "down") BACKUP("b2", "s3");

static int four_retries(void *arg)
{
    return stats(arg).transient >= 4;
}

static void test_give_up_after_ttl(void **state)
{
    struct env e = {.ttl_s = 30, .s3.fail_code = 503};
    (void)state;
    env_open(&e, giveup_objects);
    env_start(&e);
    create_dr(&e, "d1", "BackupLog", "b1");
    /* The region endpoint keeps failing: retried with backoff, nothing written yet ... */
    assert_true(vr_test_run_until(&e.loop, four_retries, &e, 5000));
    assert_null(dr_status(&e, "d1"));
    assert_true(e.s3.heads[0] >= 4);
    /* ... while other requests are served. */
    create_dr(&e, "ok", "BackupLog", "b2");
    expect_processed(&e, "ok", "/bkt/backups/b2/b2-logs.gz?", SCOPE("us-west-2"));
    assert_null(dr_status(&e, "d1"));
    /* One TTL after creation: a permanent failure naming what kept failing. */
    e.oc.offset_s = e.ttl_s;
    expect_failed(&e, "d1", "gave up after 3");
    const char *msg = dr_field(&e, "d1", "message");
    if (!strstr(msg, "presigning failed: bucket region lookup for bucket-one: HTTP 503"))
        fail_msg("message \"%s\" does not say what kept failing", msg);
    unsigned heads = e.s3.heads[0];
    run_for(&e, 300);
    assert_int_equal(e.s3.heads[0], heads); /* not retried any more */
    assert_int_equal(stats(&e).failed, 1);
    env_close(&e);
}

/* ---- 4. the CRD cannot be read ---- */

static const char crd_objects[] =
    SECRET("creds", CREDS_A)
    BSL("s3", "bkt", "creds", "{region: us-west-2, s3Url: 'http://127.0.0.1:9000'}")
    BACKUP("b1", "s3") RESTORE("r1", "b1");

static void crd_unreadable(bool status_sub, bool failed_phase, int code)
{
    static const char *const backups[] = {"b1", NULL};
    struct env e = {.status_sub = status_sub, .no_failed_phase = !failed_phase};
    char fault[256];
    env_open(&e, crd_objects);
    complete_phases(&e, backups, "r1");
    snprintf(fault, sizeof(fault), "{\"method\":\"GET\",\"path_prefix\":\"" CRD_PATH
             "\",\"code\":%d,\"count\":1}", code);
    add_fault(&e, fault);
    env_start(&e);
    /* A failure first, so the Failed enum is learned before anything else is written. */
    create_dr(&e, "nob", "BackupLog", "nope");
    expect_failed(&e, "nob", "backup \"nope\" not found");
    create_dr(&e, "ok", "BackupLog", "b1");
    create_dr(&e, "okr", "RestoreLog", "r1");
    create_dr(&e, "nor", "RestoreLog", "nope");
    create_dr(&e, "kind", "BackupItemSnapshots", "b1");
    expect_processed(&e, "ok", "/bkt/backups/b1/b1-logs.gz?", "AKIDFIRST");
    expect_processed(&e, "okr", "/bkt/restores/r1/restore-r1-logs.gz?", "AKIDFIRST");
    expect_failed(&e, "nor", "restore \"nope\" not found");
    expect_failed(&e, "kind", "unsupported download target kind");
    /* The fault was consumed by the controller's CRD read. */
    assert_int_equal(admin(&e, "GET", "/kubesim/faults", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e.admin_json,
                                                                          "faults")),
                     0);
    /* Settled: a resync writes nothing. */
    int patches = sim_stat(&e, "PATCH");
    vr_dlr_ctrl_resync(e.ctrl);
    run_for(&e, 300);
    assert_int_equal(sim_stat(&e, "PATCH"), patches);
    struct vr_dlr_stats s = stats(&e);
    assert_int_equal(s.processed, 2);
    assert_int_equal(s.failed, 3);
    assert_int_equal(s.transient, 0);
    env_close(&e);
}

static void test_crd_403_subresource_off(void **state)
{
    (void)state;
    crd_unreadable(false, true, 403);
}

static void test_crd_404_subresource_on(void **state)
{
    (void)state;
    crd_unreadable(true, true, 404);
}

static void test_crd_403_subresource_off_no_failed(void **state)
{
    (void)state;
    crd_unreadable(false, false, 403);
}

static void test_crd_404_subresource_on_no_failed(void **state)
{
    (void)state;
    crd_unreadable(true, false, 404);
}

/* ---- 5. a Backup late in its informer cache ---- */

/* Polls kubesim (each poll runs the loop, so it cannot be a vr_test_run_until condition). */
static bool wait_watches_open(struct env *e, int n)
{
    for (int i = 0; i < 250; i++) {
        if (sim_stat(e, "watches_open") == n)
            return true;
        run_for(e, 20);
    }
    return false;
}

static void test_backup_late_in_cache(void **state)
{
    struct env e = {0};
    (void)state;
    env_open(&e, inval_objects);
    env_start(&e);
    create_dr(&e, "warm", "BackupLog", "b1");
    wait_done(&e, "warm");
    /* Cut the watches and hold the return of the Backup watch (and, same prefix, the BSL
     * watch) for a while: the DownloadRequest watch is back at once, so the new request is
     * seen before its Backup is. */
    add_fault(&e, "{\"method\":\"WATCH\",\"path_prefix\":\"/apis/velero.io/v1/namespaces/"
                  "velero/backups\",\"delay_ms\":800,\"count\":2}");
    assert_int_equal(admin(&e, "POST", "/kubesim/drop-watches", NULL), 200);
    assert_true(wait_watches_open(&e, 3));
    int gets = sim_stat(&e, "GET");
    load(&e, BACKUP("late", "s3"));
    create_dr(&e, "d1", "BackupLog", "late");
    expect_processed(&e, "d1", "/bkt/backups/late/late-logs.gz?", "AKIDFIRST");
    /* It was confirmed with a live read and retried, not failed. */
    assert_true(sim_stat(&e, "GET") > gets);
    assert_true(stats(&e).transient >= 1);
    /* A Backup that really is missing still fails (after one read). */
    create_dr(&e, "d2", "BackupLog", "ghost");
    expect_failed(&e, "d2", "backup \"ghost\" not found");
    assert_int_equal(stats(&e).failed, 1);
    env_close(&e);
}

/* ---- 6. bad input ---- */

static const char bad_objects[] =
    SECRET("creds", CREDS_A) SECRET("broken", CREDS_BROKEN)
    BSL("s3", "bkt", "creds", "{region: us-west-2, s3Url: 'http://127.0.0.1:9000'}")
    BSL("unknown", "bkt", "creds", "{region: us-west-2, bogusKey: x}")
    BSL("nonstring", "bkt", "creds", "{region: us-west-2, s3ForcePathStyle: true}")
    BSL("badini", "bkt", "broken", "{region: us-west-2}")
    BACKUP("b1", "s3") BACKUP("bu", "unknown") BACKUP("bn", "nonstring")
    BACKUP("bi", "badini")
    "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata: {name: notarget, namespace: "
    "velero}\nspec: {}\n---\n"
    "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata: {name: intkind, namespace: "
    "velero}\nspec: {target: {kind: 5, name: b1}}\n---\n"
    "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata: {name: strtarget, namespace: "
    "velero}\nspec: {target: BackupLog}\n";

static void test_bad_input(void **state)
{
    static const char *const bad[][2] = {
        {"notarget", "invalid download request: spec.target.kind and spec.target.name must be "
                     "non-empty strings"},
        {"intkind", "invalid download request: spec.target.kind"},
        {"strtarget", "invalid download request: spec.target.kind"},
        {"unk", "backup storage location \"unknown\" has an invalid config: config has invalid "
                "keys [bogusKey]"},
        {"nonstr", "backup storage location \"nonstring\" has an invalid config: config key "
                   "s3ForcePathStyle must be a string"},
        {"ini", "credentials of backup storage location \"badini\": BSL credential: line 1: "
                "section header without ']'"},
    };
    struct env e = {0};
    (void)state;
    env_open(&e, bad_objects);
    env_start(&e);
    create_dr(&e, "unk", "BackupLog", "bu");
    create_dr(&e, "nonstr", "BackupLog", "bn");
    create_dr(&e, "ini", "BackupLog", "bi");
    create_dr(&e, "good", "BackupLog", "b1");
    for (size_t i = 0; i < VR_ARRAY_SIZE(bad); i++)
        expect_failed(&e, bad[i][0], bad[i][1]);
    expect_processed(&e, "good", "/bkt/backups/b1/b1-logs.gz?", "AKIDFIRST");
    /* Still serving, and the bad ones are not retried or rewritten. */
    create_dr(&e, "good2", "BackupContents", "b1");
    expect_processed(&e, "good2", "/bkt/backups/b1/b1.tar.gz?", "AKIDFIRST");
    vr_dlr_ctrl_resync(e.ctrl);
    run_for(&e, 300);
    struct vr_dlr_stats s = stats(&e);
    assert_int_equal(s.failed, VR_ARRAY_SIZE(bad));
    assert_int_equal(s.processed, 2);
    assert_int_equal(s.transient, 0);
    assert_int_equal(s.patches, VR_ARRAY_SIZE(bad) + 2);
    env_close(&e);
}

int main(void)
{
    vr_mem_init_cjson();
    vr_log_set_level(getenv("VR_IT_DEBUG") ? VR_LOG_DEBUG : VR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_lookup_once_per_bsl),
        cmocka_unit_test(test_bsl_deleted_during_lookup),
        cmocka_unit_test(test_invalidation),
        cmocka_unit_test(test_status_write_retried),
        cmocka_unit_test(test_give_up_after_ttl),
        cmocka_unit_test(test_crd_403_subresource_off),
        cmocka_unit_test(test_crd_404_subresource_on),
        cmocka_unit_test(test_crd_403_subresource_off_no_failed),
        cmocka_unit_test(test_crd_404_subresource_on_no_failed),
        cmocka_unit_test(test_backup_late_in_cache),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
