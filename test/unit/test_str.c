#include <stdint.h>

#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"
#include "vreq/str.h"

static void test_compare(void **state)
{
    (void)state;
    assert_true(vr_str_eq_c(VR_STR_LIT("abc"), "abc"));
    assert_false(vr_str_eq_c(VR_STR_LIT("abc"), "abcd"));
    assert_true(vr_str_eq_c(vr_str_make(NULL, 0), ""));
    assert_true(vr_str_caseeq_c(VR_STR_LIT("Content-Type"), "content-type"));
    assert_false(vr_str_caseeq_c(VR_STR_LIT("Content-Typ"), "content-type"));
    assert_true(vr_str_starts_with(VR_STR_LIT("/apis/velero.io"), "/apis/"));
    assert_false(vr_str_starts_with(VR_STR_LIT("/ap"), "/apis/"));
}

static void test_trim_split(void **state)
{
    (void)state;
    struct vr_str t = vr_str_trim(VR_STR_LIT(" \t a b \r\n"));
    assert_true(vr_str_eq_c(t, "a b"));
    assert_true(vr_str_eq_c(vr_str_trim(VR_STR_LIT("   ")), ""));

    struct vr_str h, tail;
    assert_true(vr_str_split(VR_STR_LIT("k=v=w"), '=', &h, &tail));
    assert_true(vr_str_eq_c(h, "k"));
    assert_true(vr_str_eq_c(tail, "v=w"));
    assert_false(vr_str_split(VR_STR_LIT("kv"), '=', &h, &tail));
    assert_true(vr_str_eq_c(h, "kv"));

    char *d = vr_str_dup(vr_str_make("hello world", 5));
    assert_string_equal(d, "hello");
    vr_free(d);
}

static void test_parse_int(void **state)
{
    (void)state;
    int64_t v = 7;
    uint64_t u = 7;
    assert_int_equal(vr_parse_int64(VR_STR_LIT("-42"), -100, 100, &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(vr_parse_int64(VR_STR_LIT("101"), -100, 100, &v), VR_ETOOBIG);
    assert_int_equal(v, -42); /* out-params are written only on success */
    assert_int_equal(vr_parse_int64(VR_STR_LIT("12a"), 0, 100, &v), VR_EPARSE);
    assert_int_equal(vr_parse_int64(VR_STR_LIT(""), 0, 100, &v), VR_EPARSE);
    assert_int_equal(vr_parse_int64(VR_STR_LIT("-"), -5, 100, &v), VR_EPARSE);
    assert_int_equal(vr_parse_int64(VR_STR_LIT("-9223372036854775808"), INT64_MIN, 0, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(vr_parse_int64(VR_STR_LIT("9223372036854775808"), 0, INT64_MAX, &v),
                     VR_ETOOBIG);
    assert_int_equal(vr_parse_uint64(VR_STR_LIT("18446744073709551615"), UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(vr_parse_uint64(VR_STR_LIT("18446744073709551616"), UINT64_MAX, &u),
                     VR_ETOOBIG);
    assert_int_equal(vr_parse_uint64(VR_STR_LIT("+1"), 10, &u), VR_EPARSE);
}

static void test_url_decode(void **state)
{
    (void)state;
    char out[16];
    size_t n = 0;
    assert_int_equal(vr_url_decode(VR_STR_LIT("a%20b+c%2Fd"), true, out, sizeof(out), &n), 0);
    assert_string_equal(out, "a b c/d");
    assert_int_equal(n, 7);
    assert_int_equal(vr_url_decode(VR_STR_LIT("a+b"), false, out, sizeof(out), &n), 0);
    assert_string_equal(out, "a+b");
    assert_int_equal(vr_url_decode(VR_STR_LIT("%"), false, out, sizeof(out), &n), VR_EPARSE);
    assert_int_equal(vr_url_decode(VR_STR_LIT("%4"), false, out, sizeof(out), &n), VR_EPARSE);
    assert_int_equal(vr_url_decode(VR_STR_LIT("%zz"), false, out, sizeof(out), &n), VR_EPARSE);
    assert_int_equal(vr_url_decode(VR_STR_LIT("0123456789abcdef"), false, out, sizeof(out), &n),
                     VR_ETOOBIG);
    assert_int_equal(vr_url_decode(VR_STR_LIT("0123456789abcde"), false, out, sizeof(out), &n),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_trim_split),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_url_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
