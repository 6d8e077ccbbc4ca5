/* kubesim patch.c: RFC 7386 merge patch and RFC 6902 JSON patch. */
#include <stdbool.h>
#include <string.h>

#include "patch.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static cJSON *J(const char *s)
{
    cJSON *j = cJSON_ParseWithLengthOpts(s, strlen(s) + 1, NULL, true);
    assert_non_null(j);
    return j;
}

/* Asserts doc equals the JSON text want (key order ignored). */
static void assert_json(const cJSON *doc, const char *want)
{
    cJSON *w = J(want);
    if (!cJSON_Compare(doc, w, true)) {
        char *got = cJSON_PrintUnformatted(doc);
        print_error("got  %s\nwant %s\n", got, want);
        vr_free(got);
        cJSON_Delete(w);
        fail();
    }
    cJSON_Delete(w);
}

static void merge(const char *target, const char *patch, const char *want)
{
    cJSON *t = J(target), *p = J(patch);
    assert_int_equal(ks_patch_merge(&t, p), 0);
    assert_json(t, want);
    cJSON_Delete(t);
    cJSON_Delete(p);
}

static void test_merge_rfc7386_examples(void **state)
{
    (void)state;
    /* RFC 7386 appendix A. */
    merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void test_merge_null_deletes_nested_and_arrays_replace(void **state)
{
    (void)state;
    merge("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\"},"
          "\"finalizers\":[\"f1\",\"f2\"]}}",
          "{\"metadata\":{\"labels\":{\"a\":null},\"finalizers\":[\"f3\"]}}",
          "{\"metadata\":{\"name\":\"x\",\"labels\":{\"b\":\"2\"},\"finalizers\":[\"f3\"]}}");
    /* A scalar replaced by an object builds the object, dropping nulls inside. */
    merge("{\"s\":1}", "{\"s\":{\"x\":null,\"y\":2}}", "{\"s\":{\"y\":2}}");
}

static void test_merge_non_object_patch_replaces(void **state)
{
    (void)state;
    merge("{\"a\":1}", "[1,2]", "[1,2]");
    cJSON *t = NULL, *p = J("{\"a\":1}");
    assert_int_equal(ks_patch_merge(&t, p), 0);
    assert_json(t, "{\"a\":1}");
    cJSON_Delete(t);
    cJSON_Delete(p);
}

/* Applies ops to target: returns the code and, on success, checks want. */
static int jpatch(const char *target, const char *ops, const char *want, char *err, size_t cap)
{
    cJSON *t = J(target), *o = J(ops);
    char *before = cJSON_PrintUnformatted(t);
    int rc = ks_patch_json(&t, o, err, cap);
    if (rc == 0 && want) {
        assert_json(t, want);
    } else if (rc != 0) {
        /* All or nothing: a failed patch leaves the target as it was. */
        char *after = cJSON_PrintUnformatted(t);
        assert_string_equal(before, after);
        vr_free(after);
    }
    vr_free(before);
    cJSON_Delete(t);
    cJSON_Delete(o);
    return rc;
}

static void test_json_add(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":[1]}]",
                            "{\"a\":1,\"b\":[1]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":[1,3]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]",
                            "{\"a\":[1,2,3]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":2}]",
                            "{\"a\":[1,2]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]",
                            "{\"a\":[1,2]}", err, sizeof(err)),
                     0);
    /* Replaces an existing member; "" replaces the whole document. */
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]",
                            "{\"a\":2}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"z\":0}}]",
                            "{\"z\":0}", err, sizeof(err)),
                     0);
    /* Index past the end, missing parent, leading zero. */
    assert_int_equal(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":2}]",
                            NULL, err, sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{}", "[{\"op\":\"add\",\"path\":\"/x/y\",\"value\":2}]", NULL, err,
                            sizeof(err)),
                     VR_EINVALID);
    assert_non_null(strstr(err, "/x/y"));
    assert_int_equal(jpatch("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
                            NULL, err, sizeof(err)),
                     VR_EINVALID);
}

static void test_json_pointer_escapes(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(
        jpatch("{\"metadata\":{\"annotations\":{\"a/b\":\"1\",\"m~n\":\"2\"}}}",
               "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b\",\"value\":\"x\"},"
               "{\"op\":\"remove\",\"path\":\"/metadata/annotations/m~0n\"}]",
               "{\"metadata\":{\"annotations\":{\"a/b\":\"x\"}}}", err, sizeof(err)),
        0);
    cJSON *d = J("{\"a\":{\"\":[0,{\"~\":5}]}}");
    const cJSON *v = ks_json_pointer_get(d, "/a//1/~0");
    assert_non_null(v);
    assert_int_equal(v->valueint, 5);
    assert_ptr_equal(ks_json_pointer_get(d, ""), d);
    assert_null(ks_json_pointer_get(d, "/a/~2"));
    assert_null(ks_json_pointer_get(d, "a"));
    cJSON_Delete(d);
    /* A bad escape is a malformed patch (400), not a failed operation. */
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/~9\"}]", NULL, err,
                            sizeof(err)),
                     VR_EPARSE);
}

static void test_json_remove_replace(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(jpatch("{\"a\":[1,2,3],\"b\":1}",
                            "[{\"op\":\"remove\",\"path\":\"/a/1\"},{\"op\":\"remove\",\"path\":"
                            "\"/b\"}]",
                            "{\"a\":[1,3]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/zz\"}]", NULL, err,
                            sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", NULL, err,
                            sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{\"a\":[1,2]}",
                            "[{\"op\":\"replace\",\"path\":\"/a/0\",\"value\":{\"k\":null}}]",
                            "{\"a\":[{\"k\":null},2]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
                            NULL, err, sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[]}]",
                            "[]", err, sizeof(err)),
                     0);
}

static void test_json_move_copy(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(jpatch("{\"a\":{\"b\":1},\"c\":[]}",
                            "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c/0\"}]",
                            "{\"a\":{},\"c\":[1]}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{\"a\":[1,2,3]}",
                            "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/-\"}]",
                            "{\"a\":[2,3,1]}", err, sizeof(err)),
                     0);
    /* Moving into one's own child is refused. */
    assert_int_equal(jpatch("{\"a\":{\"b\":{}}}",
                            "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", NULL, err,
                            sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/y\"}]",
                            NULL, err, sizeof(err)),
                     VR_EINVALID);
    assert_int_equal(jpatch("{\"a\":{\"k\":[1]}}",
                            "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
                            "{\"op\":\"add\",\"path\":\"/b/k/-\",\"value\":2}]",
                            "{\"a\":{\"k\":[1]},\"b\":{\"k\":[1,2]}}", err, sizeof(err)),
                     0);
    assert_int_equal(jpatch("{}", "[{\"op\":\"copy\",\"from\":\"/nope\",\"path\":\"/b\"}]", NULL,
                            err, sizeof(err)),
                     VR_EINVALID);
}

static void test_json_test_op(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(jpatch("{\"metadata\":{\"resourceVersion\":\"7\"},\"a\":{\"x\":1,\"y\":[1]}}",
                            "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":"
                            "\"7\"},{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":[1],\"x\":"
                            "1.0}},{\"op\":\"replace\",\"path\":\"/a/x\",\"value\":2}]",
                            "{\"metadata\":{\"resourceVersion\":\"7\"},\"a\":{\"x\":2,\"y\":[1]}}",
                            err, sizeof(err)),
                     0);
    /* A failing test after a successful op: nothing applied, 422-class error. */
    assert_int_equal(jpatch("{\"metadata\":{\"resourceVersion\":\"7\"}}",
                            "[{\"op\":\"add\",\"path\":\"/z\",\"value\":1},{\"op\":\"test\","
                            "\"path\":\"/metadata/resourceVersion\",\"value\":\"6\"}]",
                            NULL, err, sizeof(err)),
                     VR_EINVALID);
    assert_string_equal(err, "testing value /metadata/resourceVersion failed: test failed");
    assert_int_equal(jpatch("{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", NULL, err,
                            sizeof(err)),
                     VR_EINVALID);
}

static void test_json_malformed(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(jpatch("{}", "{\"op\":\"add\"}", NULL, err, sizeof(err)), VR_EPARSE);
    assert_int_equal(jpatch("{}", "[1]", NULL, err, sizeof(err)), VR_EPARSE);
    assert_int_equal(jpatch("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL, err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(jpatch("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL, err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(jpatch("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", NULL, err, sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(jpatch("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL, err,
                            sizeof(err)),
                     VR_EPARSE);
    assert_int_equal(jpatch("{}", "[{\"path\":\"/a\",\"value\":1}]", NULL, err, sizeof(err)),
                     VR_EPARSE);
    /* An empty patch is valid and changes nothing. */
    assert_int_equal(jpatch("{\"a\":1}", "[]", "{\"a\":1}", err, sizeof(err)), 0);
}

static void test_json_op_limit(void **state)
{
    (void)state;
    cJSON *ops = cJSON_CreateArray();
    for (int i = 0; i < KS_PATCH_MAX_OPS; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "add");
        cJSON_AddStringToObject(op, "path", "/a/-");
        cJSON_AddNumberToObject(op, "value", i);
        cJSON_AddItemToArray(ops, op);
    }
    cJSON *t = J("{\"a\":[]}");
    char err[256];
    assert_int_equal(ks_patch_json(&t, ops, err, sizeof(err)), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "a")),
                     KS_PATCH_MAX_OPS);
    cJSON_AddItemToArray(ops, cJSON_Duplicate(ops->child, true));
    assert_int_equal(ks_patch_json(&t, ops, err, sizeof(err)), VR_ETOOBIG);
    assert_non_null(strstr(err, "10000"));
    cJSON_Delete(t);
    cJSON_Delete(ops);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rfc7386_examples),
        cmocka_unit_test(test_merge_null_deletes_nested_and_arrays_replace),
        cmocka_unit_test(test_merge_non_object_patch_replaces),
        cmocka_unit_test(test_json_add),
        cmocka_unit_test(test_json_pointer_escapes),
        cmocka_unit_test(test_json_remove_replace),
        cmocka_unit_test(test_json_move_copy),
        cmocka_unit_test(test_json_test_op),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_json_op_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
