#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A file of 40,000 bytes (more than one read chunk), read whole, over the cap, and absent. */
static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/vr-test-buf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char block[1000];
    for (int i = 0; i < 40; i++) {
        memset(block, 'a' + i % 26, sizeof(block));
        assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    }
    close(fd);
    struct vr_buf b;
    vr_buf_init(&b, 40000);
    assert_int_equal(vr_buf_read_file(&b, path), 0);
    assert_int_equal(b.len, 40000);
    assert_int_equal(b.p[0], 'a');
    assert_int_equal(b.p[39999], 'a' + 39 % 26);
    vr_buf_cleanup(&b);
    vr_buf_init(&b, 39999);
    assert_int_equal(vr_buf_read_file(&b, path), VR_ETOOBIG);
    assert_int_equal(b.len, 0);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(vr_file_read(path, 40000, &out, &n), 0);
    assert_int_equal(n, 40000);
    assert_int_equal(strlen(out), 40000);
    vr_free(out);
    out = NULL;
    assert_int_equal(vr_file_read(path, 100, &out, &n), VR_ETOOBIG);
    assert_null(out);
    unlink(path);
    assert_int_equal(vr_file_read(path, 100, &out, &n), -ENOENT);
    assert_int_equal(vr_buf_read_file(&b, path), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_consume_take),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
