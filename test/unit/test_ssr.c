/*
 * ServerStatusRequest decisions and patch bodies (pure): New/empty -> one patch; Processed
 * -> requeue until processedTimestamp + TTL, then delete; other phases -> flagged and
 * deleted one TTL after creation; the projection from JSON; the exact patch body.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "controller/serverstatusrequest.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define T0 INT64_C(1767227400) /* 2026-01-01T00:30:00Z */
#define MS(s) ((int64_t)(s) * 1000)

static cJSON *parse(const char *s)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, strlen(s), &end, 0);
    assert_non_null(j);
    return j;
}

static struct vr_ssr_obj obj_of(const char *json)
{
    struct vr_ssr_obj o;
    cJSON *j = parse(json);
    assert_int_equal(vr_ssr_obj_from_json(j, &o), 0);
    cJSON_Delete(j);
    return o;
}

static void test_new_is_processed(void **state)
{
    (void)state;
    struct vr_ssr_plan p;
    struct vr_ssr_obj o = obj_of("{\"metadata\":{\"name\":\"velero-cli-x\","
                                 "\"creationTimestamp\":\"2026-01-01T00:29:59Z\"},\"spec\":{}}");
    assert_string_equal(o.phase, "");
    assert_true(o.has_created && o.created_s == T0 - 1);
    vr_ssr_decide(&o, MS(T0), 60, &p);
    assert_int_equal(p.action, VR_SSR_PROCESS);
    assert_false(p.unknown_phase);
    o = obj_of("{\"metadata\":{},\"status\":{\"phase\":\"New\"}}");
    vr_ssr_decide(&o, MS(T0), 60, &p);
    assert_int_equal(p.action, VR_SSR_PROCESS);
    /* Even an old New request is processed (then deleted a TTL later). */
    vr_ssr_decide(&o, MS(T0 + 100000), 60, &p);
    assert_int_equal(p.action, VR_SSR_PROCESS);
}

static void test_processed_requeue_then_delete(void **state)
{
    (void)state;
    struct vr_ssr_plan p;
    struct vr_ssr_obj o = obj_of("{\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
                                 "\"status\":{\"phase\":\"Processed\","
                                 "\"processedTimestamp\":\"2026-01-01T00:30:00Z\"}}");
    assert_true(o.has_processed && o.processed_s == T0);
    vr_ssr_decide(&o, MS(T0), 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE);
    assert_true(p.after_ms == 60000);
    vr_ssr_decide(&o, MS(T0 + 59), 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE);
    assert_true(p.after_ms == 1000);
    /* The wait ends at the instant, not a whole second after a late reading. */
    vr_ssr_decide(&o, MS(T0 + 58) + 999, 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE);
    assert_true(p.after_ms == 1001);
    vr_ssr_decide(&o, MS(T0 + 60) - 1, 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE);
    assert_true(p.after_ms == 1);
    vr_ssr_decide(&o, MS(T0 + 60), 60, &p); /* at processedTimestamp + TTL exactly */
    assert_int_equal(p.action, VR_SSR_DELETE);
    vr_ssr_decide(&o, MS(T0 + 5000), 60, &p);
    assert_int_equal(p.action, VR_SSR_DELETE);
    vr_ssr_decide(&o, MS(T0), 0, &p); /* TTL 0: at once */
    assert_int_equal(p.action, VR_SSR_DELETE);
    /* Processed without processedTimestamp (Velero would crash): creation counts. */
    o = obj_of("{\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:30:00Z\"},"
               "\"status\":{\"phase\":\"Processed\"}}");
    vr_ssr_decide(&o, MS(T0 + 10), 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE);
    assert_true(p.after_ms == 50000);
    assert_false(p.unknown_phase);
}

static void test_other_phase(void **state)
{
    (void)state;
    struct vr_ssr_plan p;
    struct vr_ssr_obj o = obj_of("{\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:30:00Z\"},"
                                 "\"status\":{\"phase\":\"Bogus\","
                                 "\"processedTimestamp\":\"2026-01-01T00:00:00Z\"}}");
    vr_ssr_decide(&o, MS(T0 + 30), 60, &p);
    assert_int_equal(p.action, VR_SSR_REQUEUE); /* creation + TTL, not processedTimestamp */
    assert_true(p.after_ms == 30000);
    assert_true(p.unknown_phase);
    vr_ssr_decide(&o, MS(T0 + 60), 60, &p);
    assert_int_equal(p.action, VR_SSR_DELETE);
    assert_true(p.unknown_phase);
    /* No timestamps at all: nothing will ever change, delete. */
    o = obj_of("{\"status\":{\"phase\":\"Bogus\"}}");
    vr_ssr_decide(&o, MS(T0), 60, &p);
    assert_int_equal(p.action, VR_SSR_DELETE);
}

static void test_projection(void **state)
{
    (void)state;
    struct vr_ssr_obj o;
    cJSON *j = parse("{\"status\":{\"phase\":7}}");
    assert_int_equal(vr_ssr_obj_from_json(j, &o), VR_EPARSE);
    cJSON_Delete(j);
    j = parse("{\"status\":[]}");
    assert_int_equal(vr_ssr_obj_from_json(j, &o), VR_EPARSE);
    cJSON_Delete(j);
    j = parse("[]");
    assert_int_equal(vr_ssr_obj_from_json(j, &o), VR_EPARSE);
    cJSON_Delete(j);
    o = obj_of("{\"status\":{\"phase\":\"Processed\",\"processedTimestamp\":\"soon\"}}");
    assert_false(o.has_processed);
    o = obj_of("{\"status\":null,\"metadata\":{\"creationTimestamp\":\"2026-01-01T02:30:00+02:00\"}}");
    assert_true(o.created_s == T0);

    /* Through the projector, as the informer uses it. */
    j = parse("{\"metadata\":{\"name\":\"a\",\"namespace\":\"velero\",\"uid\":\"u1\","
              "\"resourceVersion\":\"5\"},\"status\":{\"phase\":\"Processed\"}}");
    struct vr_kobj *k;
    assert_int_equal(vr_kobj_new(j, &vr_ssr_proj, &k), 0);
    const struct vr_ssr_obj *p = k->payload;
    assert_string_equal(p->phase, "Processed");
    assert_true(vr_ssr_proj.equal(p, p));
    struct vr_ssr_obj q = *p;
    q.created_s = 1;
    q.has_created = true;
    assert_false(vr_ssr_proj.equal(p, &q));
    vr_kobj_free(k);
    cJSON_Delete(j);
}

static void test_patch_body(void **state)
{
    (void)state;
    struct vr_plugins pl;
    vr_plugins_default(&pl);
    char *body = vr_ssr_patch_body(T0, "v1.18.2", &pl);
    assert_string_equal(body, "{\"status\":{\"phase\":\"Processed\","
                              "\"processedTimestamp\":\"2026-01-01T00:30:00Z\","
                              "\"serverVersion\":\"v1.18.2\","
                              "\"plugins\":[{\"name\":\"velero.io/aws\",\"kind\":\"ObjectStore\"}]}}");
    cJSON_free(body);
    vr_plugins_cleanup(&pl);
    struct vr_plugins none = {0};
    body = vr_ssr_patch_body(T0 + 86399, "a\"b", &none);
    assert_string_equal(body, "{\"status\":{\"phase\":\"Processed\","
                              "\"processedTimestamp\":\"2026-01-02T00:29:59Z\","
                              "\"serverVersion\":\"a\\\"b\",\"plugins\":[]}}");
    cJSON_free(body);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_is_processed),
        cmocka_unit_test(test_processed_requeue_then_delete),
        cmocka_unit_test(test_other_phase),
        cmocka_unit_test(test_projection),
        cmocka_unit_test(test_patch_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
