/* core/arena: alignment, contents kept across growth and large allocations, reset and
 * reuse, and cJSON trees parsed into an arena (hooks restored after, duplicates outlive the
 * arena). Leaks and use after release show under valgrind (memcheck) and ASan. */
#include "testutil.h"

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "vreq/mem.h"

#define NALLOC 3000

static void test_alignment_and_contents(void **state)
{
    (void)state;
    struct vr_arena a;
    vr_arena_init(&a, 256);
    unsigned char *p[NALLOC];
    size_t len[NALLOC];
    for (size_t i = 0; i < NALLOC; i++) {
        len[i] = 1 + (i * 37) % 300;
        if (i % 500 == 7)
            len[i] = 100000; /* larger than a block: gets one of its own */
        p[i] = vr_arena_alloc(&a, len[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    for (size_t i = 0; i < NALLOC; i++) {
        assert_int_equal(p[i][0], i & 0xff);
        assert_int_equal(p[i][len[i] - 1], i & 0xff);
        for (size_t j = 0; j < i && j < 50; j++) /* no two allocations overlap */
            assert_true(p[j] + len[j] <= p[i] || p[i] + len[i] <= p[j]);
    }
    vr_arena_cleanup(&a);
}

static void test_reset_and_reuse(void **state)
{
    (void)state;
    struct vr_arena a;
    vr_arena_init(&a, 0);
    for (int round = 0; round < 50; round++) {
        char *s = vr_arena_alloc(&a, 64);
        snprintf(s, 64, "round %d", round);
        char *big = vr_arena_alloc(&a, 1 << 20);
        big[0] = 'x';
        big[(1 << 20) - 1] = 'y';
        char want[64]; /* still intact after the large allocation */
        snprintf(want, sizeof(want), "round %d", round);
        assert_string_equal(s, want);
        assert_int_equal(big[0], 'x');
        vr_arena_reset(&a);
    }
    vr_arena_cleanup(&a);
    vr_arena_cleanup(&a); /* twice is harmless */
}

static void test_parse_json(void **state)
{
    (void)state;
    static const char doc[] = "{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"a\"}},"
                              "{\"metadata\":{\"name\":\"b\"}}],\"n\":3.5,\"t\":true} trailing";
    struct vr_arena a;
    vr_arena_init(&a, 64); /* small: the tree spans several blocks */
    const char *end = NULL;
    cJSON *root = vr_arena_parse_json(&a, doc, sizeof(doc) - 1, &end);
    assert_non_null(root);
    assert_string_equal(end, " trailing");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "metadata"), "name");
    assert_string_equal(name->valuestring, "b");
    /* A duplicate is on the heap and outlives the arena. */
    cJSON *dup = cJSON_Duplicate(items, 1);
    vr_arena_cleanup(&a);
    assert_int_equal(cJSON_GetArraySize(dup), 2);
    char *text = cJSON_PrintUnformatted(dup);
    assert_string_equal(text, "[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]");
    cJSON_free(text);
    cJSON_Delete(dup);
    /* The heap hooks are back: an ordinary tree is made and freed as usual. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "k", "v");
    cJSON_Delete(o);
}

static void test_parse_failure(void **state)
{
    (void)state;
    struct vr_arena a;
    vr_arena_init(&a, 0);
    static const char bad[] = "{\"a\":[1,2,{\"b\":";
    assert_null(vr_arena_parse_json(&a, bad, sizeof(bad) - 1, NULL));
    /* The partial tree stayed in the arena; the next parse works. */
    cJSON *ok = vr_arena_parse_json(&a, "[1,2]", 5, NULL);
    assert_non_null(ok);
    assert_int_equal(cJSON_GetArraySize(ok), 2);
    vr_arena_cleanup(&a);
    cJSON *o = cJSON_Parse("{\"heap\":1}");
    assert_non_null(o);
    cJSON_Delete(o);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_contents),
        cmocka_unit_test(test_reset_and_reuse),
        cmocka_unit_test(test_parse_json),
        cmocka_unit_test(test_parse_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
