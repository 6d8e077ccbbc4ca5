/* vr_dlr_decide for every branch (fixed now_s) and vr_dlr_resolve over built caches. */
#include <string.h>

#include "testutil.h"
#include "controller/downloadrequest.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define MS(s) ((int64_t)(s) * 1000)

static struct vr_dlr_obj obj(const char *kind, const char *phase, bool has_exp, int64_t exp)
{
    struct vr_dlr_obj o = {.kind = (char *)kind, .target = (char *)"b1", .phase = (char *)phase,
                           .message = (char *)"", .has_expiration = has_exp,
                           .expiration_s = exp, .created_s = NOW - 10};
    return o;
}

static void test_decide(void **state)
{
    (void)state;
    struct vr_dlr_plan p;
    struct vr_dlr_obj o = obj("BackupLog", "", false, 0);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_PROCESS);
    assert_int_equal(p.kind, VR_TK_BACKUP_LOG);
    o = obj("RestoreVolumeInfo", "New", false, 0);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_PROCESS);
    assert_int_equal(p.kind, VR_TK_RESTORE_VOLUME_INFO);
    /* Expired, any phase, boundary included. */
    const char *phases[] = {"", "New", "Processed", "Failed", "Other"};
    for (size_t i = 0; i < 5; i++) {
        o = obj("BackupLog", phases[i], true, NOW);
        vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
        assert_int_equal(p.action, VR_DLR_DELETE);
    }
    /* Terminal, not expired: wait for the instant. */
    o = obj("BackupLog", "Processed", true, NOW + 42);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_WAIT);
    assert_int_equal(p.after_ms, 42000);
    o = obj("BackupLog", "Failed", true, NOW + 1);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_WAIT);
    assert_int_equal(p.after_ms, 1000);
    vr_dlr_decide(&o, NULL, MS(NOW) + 250, 600, &p); /* to the millisecond */
    assert_int_equal(p.action, VR_DLR_WAIT);
    assert_int_equal(p.after_ms, 750);
    vr_dlr_decide(&o, NULL, MS(NOW + 1), 600, &p);
    assert_int_equal(p.action, VR_DLR_DELETE);
    /* Expiration-only failure marker. */
    o = obj("BackupLog", "", true, NOW + 5);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_WAIT);
    /* Terminal without expiration, other phases: nothing. */
    o = obj("BackupLog", "Processed", false, 0);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_NOTHING);
    o = obj("BackupLog", "Weird", false, 0);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_NOTHING);
    /* Unknown kind. */
    o = obj("BackupItemSnapshots", "", false, 0);
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_FAIL);
    assert_string_equal(p.message, "unsupported download target kind \"BackupItemSnapshots\"");
    /* Bad input. */
    o = obj(NULL, "", false, 0);
    o.bad = "spec.target.kind and spec.target.name must be non-empty strings";
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_FAIL);
    assert_non_null(strstr(p.message, "spec.target.kind"));
    o.has_expiration = true;
    o.expiration_s = NOW + 3;
    vr_dlr_decide(&o, NULL, MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_WAIT);
    /* Transient failures: retried within a TTL of creation, given up after. */
    o = obj("BackupLog", "", false, 0);
    vr_dlr_decide(&o, "region lookup: timed out", MS(NOW), 600, &p);
    assert_int_equal(p.action, VR_DLR_PROCESS);
    vr_dlr_decide(&o, "region lookup: timed out", MS(NOW + 590), 600, &p);
    assert_int_equal(p.action, VR_DLR_FAIL);
    assert_non_null(strstr(p.message, "gave up after 600s: region lookup: timed out"));
    vr_dlr_decide(&o, NULL, MS(NOW + 5000), 600, &p);
    assert_int_equal(p.action, VR_DLR_PROCESS); /* old but never failed: try */
    assert_string_equal(vr_dlr_action_name(VR_DLR_WAIT), "wait");
}

/* ---- resolve ---- */

static void put(struct vr_kcache *c, const struct vr_kcache_projector *proj, const char *json)
{
    cJSON *j = cJSON_ParseWithLength(json, strlen(json));
    assert_non_null(j);
    struct vr_kobj *o;
    assert_int_equal(vr_kobj_new(j, proj, &o), 0);
    vr_kcache_put_take(c, o, NULL);
    cJSON_Delete(j);
}

#define MD(name) "\"metadata\":{\"namespace\":\"velero\",\"name\":\"" name "\",\"resourceVersion\":\"1\"}"

static void test_resolve(void **state)
{
    (void)state;
    struct vr_kcache *bk = vr_kcache_new(), *rs = vr_kcache_new(), *bsl = vr_kcache_new(),
                     *sec = vr_kcache_new();
    put(bk, &vr_proj_backup, "{" MD("b1") ",\"spec\":{\"storageLocation\":\"d\"},\"status\":{\"phase\":\"Completed\"}}");
    put(bk, &vr_proj_backup, "{" MD("bq") ",\"spec\":{\"storageLocation\":\"d\"},\"status\":{\"phase\":\"Queued\"}}");
    put(bk, &vr_proj_backup, "{" MD("bg") ",\"spec\":{\"storageLocation\":\"g\"},\"status\":{\"phase\":\"Completed\"}}");
    put(bk, &vr_proj_backup, "{" MD("bn") ",\"spec\":{\"storageLocation\":\"n\"},\"status\":{\"phase\":\"Completed\"}}");
    put(rs, &vr_proj_restore, "{" MD("r1") ",\"spec\":{\"backupName\":\"b1\"},\"status\":{\"phase\":\"Completed\"}}");
    put(rs, &vr_proj_restore, "{" MD("rnew") ",\"spec\":{\"backupName\":\"b1\"},\"status\":{\"phase\":\"New\"}}");
    put(bsl, &vr_proj_bsl, "{" MD("d") ",\"spec\":{\"provider\":\"aws\",\"objectStorage\":{\"bucket\":\"bkt\",\"prefix\":\"/p/\"},\"credential\":{\"name\":\"s\",\"key\":\"cloud\"}}}");
    put(bsl, &vr_proj_bsl, "{" MD("g") ",\"spec\":{\"provider\":\"velero.io/gcp\",\"objectStorage\":{\"bucket\":\"bkt\"}}}");
    put(bsl, &vr_proj_bsl, "{" MD("n") ",\"spec\":{\"provider\":\"aws\"}}");
    put(sec, &vr_proj_secret, "{" MD("s") ",\"data\":{\"cloud\":\"W2RlZmF1bHRdCg==\"}}");
    struct vr_dlr_caches c = {bk, rs, bsl, sec};
    struct vr_dlr_target t;
    char msg[256];
    assert_int_equal(vr_dlr_resolve(&c, "velero", VR_TK_BACKUP_LOG, "b1", &t, msg, sizeof(msg)), 0);
    assert_string_equal(t.key, "p/backups/b1/b1-logs.gz");
    assert_string_equal(t.bsl->name, "d");
    assert_int_equal(t.secret->len, 10);
    assert_memory_equal(t.secret->value, "[default]\n", 10);
    assert_int_equal(vr_dlr_resolve(&c, "velero", VR_TK_RESTORE_LOG, "r1", &t, msg, sizeof(msg)), 0);
    assert_string_equal(t.key, "p/restores/r1/restore-r1-logs.gz");
    struct {
        enum vr_target_kind k;
        const char *name, *ns, *msg;
        int rc;
    } bad[] = {
        {VR_TK_RESTORE_LOG, "nope", "velero", "restore \"nope\" not found", VR_ENOTFOUND},
        {VR_TK_RESTORE_LOG, "rnew", "velero", "restore \"rnew\" is in phase \"New\"", VR_ECONFIG},
        {VR_TK_BACKUP_LOG, "nope", "velero", "backup \"nope\" not found", VR_ENOTFOUND},
        {VR_TK_BACKUP_LOG, "b1", "other", "backup \"b1\" not found", VR_ENOTFOUND},
        {VR_TK_BACKUP_LOG, "bq", "velero", "is in phase \"Queued\"", VR_ECONFIG},
        {VR_TK_BACKUP_LOG, "bg", "velero", "unsupported provider \"velero.io/gcp\"", VR_ECONFIG},
        {VR_TK_BACKUP_LOG, "bn", "velero", "does not use object storage", VR_ECONFIG},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg[0] = '\0';
        assert_int_equal(vr_dlr_resolve(&c, bad[i].ns, bad[i].k, bad[i].name, &t, msg, sizeof(msg)),
                         bad[i].rc);
        if (!strstr(msg, bad[i].msg))
            fail_msg("%s: \"%s\"", bad[i].name, msg);
    }
    /* The Secret goes, then loses its key. */
    vr_kobj_free(vr_kcache_remove(sec, "velero", "s"));
    assert_int_equal(vr_dlr_resolve(&c, "velero", VR_TK_BACKUP_LOG, "b1", &t, msg, sizeof(msg)),
                     VR_ENOTFOUND);
    assert_non_null(strstr(msg, "credential secret \"s\""));
    put(sec, &vr_proj_secret, "{" MD("s") ",\"data\":{\"other\":\"eA==\"}}");
    assert_int_equal(vr_dlr_resolve(&c, "velero", VR_TK_BACKUP_LOG, "b1", &t, msg, sizeof(msg)),
                     VR_ECONFIG);
    assert_non_null(strstr(msg, "has no key \"cloud\""));
    vr_kcache_free(bk);
    vr_kcache_free(rs);
    vr_kcache_free(bsl);
    vr_kcache_free(sec);
}

/* The first missing link of Restore -> Backup -> BSL -> Secret, for the live re-check. */
static void test_missing(void **state)
{
    (void)state;
    struct vr_kcache *bk = vr_kcache_new(), *rs = vr_kcache_new(), *bsl = vr_kcache_new(),
                     *sec = vr_kcache_new();
    put(rs, &vr_proj_restore, "{" MD("r1") ",\"spec\":{\"backupName\":\"b1\"}}");
    put(rs, &vr_proj_restore, "{" MD("r0") ",\"spec\":{}}");
    put(bk, &vr_proj_backup, "{" MD("b1") ",\"spec\":{\"storageLocation\":\"d\"}}");
    put(bk, &vr_proj_backup, "{" MD("b2") ",\"spec\":{\"storageLocation\":\"n\"}}");
    put(bsl, &vr_proj_bsl, "{" MD("n") ",\"spec\":{\"provider\":\"aws\"}}");
    struct vr_dlr_caches c = {bk, rs, bsl, sec};
    const struct vr_kube_resource *r = NULL;
    const char *name = NULL;
    struct {
        enum vr_target_kind k;
        const char *target;
        const struct vr_kube_resource *res;
        const char *name;
    } cases[] = {
        {VR_TK_RESTORE_LOG, "rx", &vr_kube_res_restores, "rx"},
        {VR_TK_BACKUP_LOG, "bx", &vr_kube_res_backups, "bx"},
        {VR_TK_BACKUP_LOG, "b1", &vr_kube_res_backupstoragelocations, "d"},
        {VR_TK_RESTORE_LOG, "r1", &vr_kube_res_backupstoragelocations, "d"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(vr_dlr_missing(&c, "velero", cases[i].k, cases[i].target, &r, &name), 0);
        assert_ptr_equal(r, cases[i].res);
        assert_string_equal(name, cases[i].name);
    }
    put(bsl, &vr_proj_bsl, "{" MD("d") ",\"spec\":{\"provider\":\"aws\",\"credential\":"
                           "{\"name\":\"s\",\"key\":\"cloud\"}}}");
    assert_int_equal(vr_dlr_missing(&c, "velero", VR_TK_BACKUP_LOG, "b1", &r, &name), 0);
    assert_ptr_equal(r, &vr_kube_res_secrets);
    assert_string_equal(name, "s");
    /* Nothing missing (the caches caught up, no credential, no backupName): not found, and
     * the out-params are left alone. */
    put(sec, &vr_proj_secret, "{" MD("s") ",\"data\":{}}");
    r = NULL;
    name = NULL;
    assert_int_equal(vr_dlr_missing(&c, "velero", VR_TK_BACKUP_LOG, "b1", &r, &name),
                     VR_ENOTFOUND);
    assert_int_equal(vr_dlr_missing(&c, "velero", VR_TK_BACKUP_LOG, "b2", &r, &name),
                     VR_ENOTFOUND);
    assert_int_equal(vr_dlr_missing(&c, "velero", VR_TK_RESTORE_LOG, "r0", &r, &name),
                     VR_ENOTFOUND);
    assert_null(r);
    assert_null(name);
    vr_kcache_free(bk);
    vr_kcache_free(rs);
    vr_kcache_free(bsl);
    vr_kcache_free(sec);
}

static void test_projection_bad_input(void **state)
{
    (void)state;
    const char *cases[] = {
        "{" MD("x") "}",
        "{" MD("x") ",\"spec\":{\"target\":{\"kind\":5,\"name\":\"b\"}}}",
        "{" MD("x") ",\"spec\":{\"target\":{\"kind\":\"BackupLog\",\"name\":\"b\"}},\"status\":{\"expiration\":\"yesterday\"}}",
        "{" MD("x") ",\"spec\":{\"target\":{\"kind\":\"BackupLog\",\"name\":\"b\"}},\"status\":7}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = cJSON_ParseWithLength(cases[i], strlen(cases[i]));
        struct vr_kobj *o;
        assert_int_equal(vr_kobj_new(j, &vr_proj_dlr, &o), 0);
        const struct vr_dlr_obj *p = o->payload;
        assert_non_null(p->bad);
        struct vr_dlr_plan plan;
        vr_dlr_decide(p, NULL, MS(NOW), 600, &plan);
        assert_int_equal(plan.action, VR_DLR_FAIL);
        vr_kobj_free(o);
        cJSON_Delete(j);
    }
    int64_t t;
    assert_int_equal(vr_rfc3339_parse("2026-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(vr_rfc3339_parse("2026-01-01T01:00:00.5+01:00", &t), 0);
    assert_int_equal(t, NOW);
    char buf[32];
    vr_rfc3339_format(NOW + 86399, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-01T23:59:59Z");
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_projection_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
