/* vr_redact_url, and no log line of a reconcile path carries a planted secret. */
#include <string.h>

#include "testutil.h"
#include "core/redact.h"
#include "vreq/buf.h"
#include "vreq/log.h"

static void test_redact_shapes(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(vr_redact_url("https://b.s3.amazonaws.com/k/x.gz?X-Amz-Signature=abc&"
                                      "X-Amz-Credential=AK%2F",
                                      out, sizeof(out)),
                        "https://b.s3.amazonaws.com/k/x.gz?<redacted>");
    assert_string_equal(vr_redact_url("http://u:p@w@h:9000/a?sig=1#frag", out, sizeof(out)),
                        "http://h:9000/a?<redacted>");
    assert_string_equal(vr_redact_url("http://h/a#frag", out, sizeof(out)), "http://h/a");
    assert_string_equal(vr_redact_url("http://h/a", out, sizeof(out)), "http://h/a");
    assert_string_equal(vr_redact_url(NULL, out, sizeof(out)), "");
    char small[20];
    vr_redact_url("https://very-long-host.example.com/path?X-Amz-Signature=s", small,
                  sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_null(strstr(small, "X-Amz"));
    assert_string_equal(small + sizeof(small) - 4, "...");
}

struct cap {
    struct vr_buf all;
};

static void sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    (void)level;
    struct cap *c = arg;
    assert_int_equal(vr_buf_append(&c->all, line, len), 0);
    assert_int_equal(vr_buf_putc(&c->all, '\n'), 0);
}

static void test_no_secret_in_logs(void **state)
{
    (void)state;
    static const char secret_sig[] = "deadbeefcafe0123456789SIGNATURE";
    static const char token[] = "SESSIONTOKENSECRET";
    struct cap c;
    vr_buf_init(&c.all, 1 << 16);
    vr_log_set_sink(sink, &c);
    char url[512], red[256];
    snprintf(url, sizeof(url),
             "https://h/b/k?X-Amz-Security-Token=%s&X-Amz-Signature=%s&X-Goog-Signature=%s",
             token, secret_sig, secret_sig);
    VR_LOG(VR_LOG_ERROR, "dlr", "processed url=%s", vr_redact_url(url, red, sizeof(red)));
    vr_log_set_sink(NULL, NULL);
    assert_non_null(strstr(c.all.p, "https://h/b/k?<redacted>"));
    assert_null(strstr(c.all.p, secret_sig));
    assert_null(strstr(c.all.p, token));
    vr_buf_cleanup(&c.all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_shapes),
        cmocka_unit_test(test_no_secret_in_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
