#include <string.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"

static void test_append_and_cap(void **state)
{
    (void)state;
    struct vr_buf b;
    vr_buf_init(&b, 8);
    assert_int_equal(vr_buf_append_str(&b, "abcd"), 0);
    assert_int_equal(vr_buf_append_str(&b, "efgh"), 0);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.p, "abcdefgh");
    /* One byte past the cap frees the contents. */
    assert_int_equal(vr_buf_putc(&b, 'x'), VR_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_null(b.p);
    /* Still usable afterwards. */
    assert_int_equal(vr_buf_printf(&b, "%d-%s", 42, "ok"), 0);
    assert_string_equal(b.p, "42-ok");
    assert_int_equal(vr_buf_printf(&b, "%s", "toolong"), VR_ETOOBIG);
    vr_buf_cleanup(&b);
}

static void test_consume_take(void **state)
{
    (void)state;
    struct vr_buf b;
    vr_buf_init(&b, 1024);
    for (int i = 0; i < 100; i++)
        assert_int_equal(vr_buf_printf(&b, "%02d", i), 0);
    assert_int_equal(b.len, 200);
    vr_buf_consume(&b, 190);
    assert_string_equal(b.p, "9596979899");
    size_t n;
    char *s = vr_buf_take(&b, &n);
    assert_int_equal(n, 10);
    assert_string_equal(s, "9596979899");
    assert_null(b.p);
    vr_free(s);
    s = vr_buf_take(&b, &n);
    assert_string_equal(s, "");
    vr_free(s);
}

static void test_err_table(void **state)
{
    (void)state;
    assert_string_equal(vr_err_name(VR_ETOOBIG), "ETOOBIG");
    assert_string_equal(vr_strerror(VR_EGONE), "resource version expired");
    assert_string_equal(vr_err_name(VR_EINVAL), "EINVAL"); /* libuv fallback */
    assert_string_equal(vr_err_name(0), "OK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_consume_take),
        cmocka_unit_test(test_err_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
