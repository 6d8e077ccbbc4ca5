/* kube/cache: compact objects (metadata + projector payload, no cJSON kept), the hash
 * table keyed by namespace/name (put, replace, remove, lookup, iteration, growth). */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "kube/cache.h"
#include "vreq/err.h"
#include "vreq/mem.h"

/* A projector like a controller's: spec.target.name and status.phase. */
struct dr_payload {
    char target[64];
    char phase[16];
};

static int payloads_live;

static void copy_at(char *dst, size_t cap, const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
    snprintf(dst, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static int dr_extract(const cJSON *obj, void **out)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!cJSON_IsObject(spec))
        return VR_EPARSE;
    struct dr_payload *p = vr_xcalloc(1, sizeof(*p));
    copy_at(p->target, sizeof(p->target), spec, "target", "name");
    copy_at(p->phase, sizeof(p->phase), obj, "status", "phase");
    payloads_live++;
    *out = p;
    return 0;
}

static void dr_free(void *payload)
{
    payloads_live--;
    vr_free(payload);
}

static bool dr_equal(const void *a, const void *b)
{
    const struct dr_payload *x = a, *y = b;
    return strcmp(x->target, y->target) == 0 && strcmp(x->phase, y->phase) == 0;
}

static const struct vr_kcache_projector dr_proj = {
    .name = "downloadrequest", .extract = dr_extract, .release = dr_free, .equal = dr_equal};

static struct vr_kobj *make(const char *ns, const char *name, const char *rv, const char *phase)
{
    char json[512];
    struct vr_kobj *o = NULL;
    snprintf(json, sizeof(json),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"u-%s\","
             "\"resourceVersion\":\"%s\",\"labels\":{\"a\":\"b\"}},"
             "\"spec\":{\"target\":{\"kind\":\"BackupLog\",\"name\":\"t-%s\"}},"
             "\"status\":{\"phase\":\"%s\"}}",
             name, ns, name, rv, name, phase);
    cJSON *j = cJSON_ParseWithLengthOpts(json, strlen(json), NULL, 0);
    assert_non_null(j);
    assert_int_equal(vr_kobj_new(j, &dr_proj, &o), 0);
    cJSON_Delete(j);
    return o;
}

static int new_from(const char *json, const struct vr_kcache_projector *proj, struct vr_kobj **o)
{
    cJSON *j = cJSON_ParseWithLengthOpts(json, strlen(json), NULL, 0);
    assert_non_null(j);
    int rc = vr_kobj_new(j, proj, o);
    cJSON_Delete(j);
    return rc;
}

static void test_kobj_fields(void **state)
{
    (void)state;
    struct vr_kobj *o = make("velero", "dr-1", "42", "New");
    assert_string_equal(o->ns, "velero");
    assert_string_equal(o->name, "dr-1");
    assert_string_equal(o->uid, "u-dr-1");
    assert_string_equal(o->rv, "42");
    const struct dr_payload *p = o->payload;
    assert_string_equal(p->target, "t-dr-1");
    assert_string_equal(p->phase, "New");
    /* Compact: a fixed header of a few words plus the four strings. */
    assert_true(sizeof(struct vr_kobj) <= 64);
    vr_kobj_free(o);
    assert_int_equal(payloads_live, 0);

    /* Cluster-scoped, no uid, no projector. */
    o = NULL;
    assert_int_equal(new_from("{\"metadata\":{\"name\":\"velero\",\"resourceVersion\":\"9\"}}",
                              NULL, &o),
                     0);
    assert_string_equal(o->ns, "");
    assert_string_equal(o->uid, "");
    assert_null(o->payload);
    vr_kobj_free(o);
    vr_kobj_free(NULL);
}

static void test_kobj_rejects(void **state)
{
    struct vr_kobj *o = (struct vr_kobj *)0x1;
    (void)state;
    static const char *const bad[] = {
        "{}",
        "[]",
        "{\"metadata\":{\"resourceVersion\":\"9\"}}",
        "{\"metadata\":{\"name\":\"\",\"resourceVersion\":\"9\"}}",
        "{\"metadata\":{\"name\":\"a\"}}",
        "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":9}}",
        "{\"metadata\":{\"name\":7,\"resourceVersion\":\"9\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(new_from(bad[i], NULL, &o), VR_EPARSE);
    /* The projector's verdict counts, and nothing is built. */
    assert_int_equal(new_from("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}",
                              &dr_proj, &o),
                     VR_EPARSE);
    assert_ptr_equal(o, (struct vr_kobj *)0x1); /* out written only on success */
    assert_int_equal(payloads_live, 0);
}

static void test_equal(void **state)
{
    (void)state;
    struct vr_kobj *a = make("velero", "x", "5", "New"), *b = make("velero", "x", "5", "New");
    struct vr_kobj *c = make("velero", "x", "6", "New"), *d = make("velero", "x", "5", "Processed");
    struct vr_kobj *e = make("other", "x", "5", "New");
    assert_true(vr_kobj_equal(a, b));
    assert_false(vr_kobj_equal(a, c));
    assert_false(vr_kobj_equal(a, d));
    assert_false(vr_kobj_equal(a, e));
    vr_kobj_free(a);
    vr_kobj_free(b);
    vr_kobj_free(c);
    vr_kobj_free(d);
    vr_kobj_free(e);
    assert_int_equal(payloads_live, 0);
}

static void test_put_get_remove(void **state)
{
    (void)state;
    struct vr_kcache *c = vr_kcache_new();
    struct vr_kobj *old = (struct vr_kobj *)0x1;
    assert_int_equal(vr_kcache_size(c), 0);
    assert_null(vr_kcache_get(c, "velero", "a"));
    vr_kcache_put_take(c, make("velero", "a", "1", "New"), &old);
    assert_null(old);
    vr_kcache_put_take(c, make("other", "a", "2", "New"), NULL);
    assert_int_equal(vr_kcache_size(c), 2);
    assert_string_equal(vr_kcache_get(c, "velero", "a")->rv, "1");
    assert_string_equal(vr_kcache_get(c, "other", "a")->rv, "2");
    assert_null(vr_kcache_get(c, "velero", "b"));
    assert_null(vr_kcache_get(c, "", "a"));
    /* Replace hands the previous object back. */
    vr_kcache_put_take(c, make("velero", "a", "3", "Processed"), &old);
    assert_non_null(old);
    assert_string_equal(old->rv, "1");
    assert_int_equal(vr_kcache_size(c), 2);
    assert_string_equal(vr_kcache_get(c, "velero", "a")->rv, "3");
    vr_kobj_free(old);
    /* Replace without taking the old one frees it. */
    vr_kcache_put_take(c, make("velero", "a", "4", "Processed"), NULL);
    struct vr_kobj *gone = vr_kcache_remove(c, "velero", "a");
    assert_non_null(gone);
    assert_string_equal(gone->rv, "4");
    vr_kobj_free(gone);
    assert_null(vr_kcache_remove(c, "velero", "a"));
    assert_int_equal(vr_kcache_size(c), 1);
    vr_kcache_free(c);
    vr_kcache_free(NULL);
    assert_int_equal(payloads_live, 0);
}

enum { MANY = 5000 };

static void test_many_and_iterate(void **state)
{
    (void)state;
    struct vr_kcache *c = vr_kcache_new();
    char name[32], ns[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "dr-%d", i);
        snprintf(ns, sizeof(ns), "ns-%d", i % 7);
        vr_kcache_put_take(c, make(ns, name, "1", "New"), NULL);
    }
    assert_int_equal(vr_kcache_size(c), MANY);
    unsigned char *seen = vr_xcalloc(MANY, 1);
    struct vr_kcache_iter it;
    const struct vr_kobj *o;
    size_t n = 0;
    for (vr_kcache_iter_init(&it, c); (o = vr_kcache_iter_next(&it)) != NULL; n++) {
        int i = -1;
        assert_int_equal(sscanf(o->name, "dr-%d", &i), 1);
        assert_true(i >= 0 && i < MANY);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        snprintf(ns, sizeof(ns), "ns-%d", i % 7);
        assert_string_equal(o->ns, ns);
    }
    assert_int_equal(n, MANY);
    for (int i = 0; i < MANY; i += 2) {
        snprintf(name, sizeof(name), "dr-%d", i);
        snprintf(ns, sizeof(ns), "ns-%d", i % 7);
        vr_kobj_free(vr_kcache_remove(c, ns, name));
    }
    assert_int_equal(vr_kcache_size(c), MANY / 2);
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "dr-%d", i);
        snprintf(ns, sizeof(ns), "ns-%d", i % 7);
        assert_true((vr_kcache_get(c, ns, name) != NULL) == (i % 2 == 1));
    }
    vr_free(seen);
    vr_kcache_free(c);
    assert_int_equal(payloads_live, 0);
}

static void test_swap(void **state)
{
    (void)state;
    struct vr_kcache *a = vr_kcache_new(), *b = vr_kcache_new();
    char name[16];
    for (int i = 0; i < 40; i++) { /* a grows its table; b keeps the minimum */
        snprintf(name, sizeof(name), "a-%d", i);
        vr_kcache_put_take(a, make("velero", name, "1", "New"), NULL);
    }
    vr_kcache_put_take(b, make("velero", "b-0", "2", "New"), NULL);
    vr_kcache_swap(a, b);
    assert_int_equal(vr_kcache_size(a), 1);
    assert_int_equal(vr_kcache_size(b), 40);
    assert_non_null(vr_kcache_get(a, "velero", "b-0"));
    assert_null(vr_kcache_get(a, "velero", "a-0"));
    assert_non_null(vr_kcache_get(b, "velero", "a-39"));
    vr_kcache_put_take(a, make("velero", "b-1", "3", "New"), NULL);
    assert_int_equal(vr_kcache_size(a), 2);
    vr_kcache_free(a);
    vr_kcache_free(b);
    assert_int_equal(payloads_live, 0);
}

static void test_empty_iteration(void **state)
{
    (void)state;
    struct vr_kcache *c = vr_kcache_new();
    struct vr_kcache_iter it;
    vr_kcache_iter_init(&it, c);
    assert_null(vr_kcache_iter_next(&it));
    assert_null(vr_kcache_iter_next(&it));
    vr_kcache_free(c);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kobj_fields),     cmocka_unit_test(test_kobj_rejects),
        cmocka_unit_test(test_equal),           cmocka_unit_test(test_put_get_remove),
        cmocka_unit_test(test_many_and_iterate), cmocka_unit_test(test_empty_iteration),
        cmocka_unit_test(test_swap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
