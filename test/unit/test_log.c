#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"

struct capture {
    int lines;
    struct vr_buf last;
};

static void sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    (void)level;
    struct capture *c = arg;
    c->lines++;
    vr_buf_reset(&c->last);
    assert_int_equal(vr_buf_append(&c->last, line, len), 0);
}

static int setup(void **state)
{
    struct capture *c = vr_xcalloc(1, sizeof(*c));
    vr_buf_init(&c->last, 1 << 20);
    vr_log_set_sink(sink, c);
    vr_log_set_level(VR_LOG_INFO);
    vr_log_set_format(VR_LOG_FORMAT_TEXT);
    unsetenv("VR_TRACE");
    vr_log_init_from_env();
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct capture *c = *state;
    vr_log_set_sink(NULL, NULL);
    vr_buf_cleanup(&c->last);
    vr_free(c);
    return 0;
}

static int evaluated;
static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void test_level_checked_before_args(void **state)
{
    struct capture *c = *state;
    evaluated = 0;
    VR_LOG(VR_LOG_DEBUG, "t", "value %d", side_effect());
    assert_int_equal(evaluated, 0);
    assert_int_equal(c->lines, 0);
    VR_LOG(VR_LOG_WARN, "t", "value %d", side_effect());
    assert_int_equal(evaluated, 1);
    assert_int_equal(c->lines, 1);
}

static void test_text_format(void **state)
{
    struct capture *c = *state;
    struct vr_log_ctx ctx = VR_LOG_CTX_INIT("watch");
    vr_log_ctx_set(&ctx, "namespace", "velero");
    vr_log_ctx_set(&ctx, "name", "a b");
    vr_log_ctx_set(&ctx, "kind", "x=y");
    vr_log_ctx_set(&ctx, "name", "c d"); /* replaces */
    VR_LOGC(&ctx, VR_LOG_INFO, "relisting after %s\nnow", "410");
    const char *line = c->last.p;
    /* ts level subsys msg key=value... */
    assert_non_null(strstr(line, "Z info watch relisting after 410 now namespace=velero "));
    assert_non_null(strstr(line, " name=\"c d\" kind=\"x=y\""));
    assert_null(strchr(line, '\n'));
}

static void test_json_format(void **state)
{
    struct capture *c = *state;
    vr_log_set_format(VR_LOG_FORMAT_JSON);
    struct vr_log_ctx ctx = VR_LOG_CTX_INIT("httpd");
    vr_log_ctx_set(&ctx, "peer", "127.0.0.1:1\"\x01");
    VR_LOGC(&ctx, VR_LOG_ERROR, "bad \"request\"\n");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(c->last.p, c->last.len, &end, 0);
    assert_non_null(j);
    assert_ptr_equal(end, c->last.p + c->last.len); /* one object, nothing after */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "level")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "subsys")->valuestring, "httpd");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "msg")->valuestring,
                        "bad \"request\"\n");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "peer")->valuestring,
                        "127.0.0.1:1\"\x01");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "ts"));
    cJSON_Delete(j);
}

static void test_trace_gating(void **state)
{
    struct capture *c = *state;
    VR_LOG(VR_LOG_TRACE, "watch", "hidden");
    assert_int_equal(c->lines, 0);
    setenv("VR_TRACE", "curl,watch", 1);
    vr_log_init_from_env();
    VR_LOG(VR_LOG_TRACE, "watch", "shown");
    VR_LOG(VR_LOG_TRACE, "wat", "hidden");
    VR_LOG(VR_LOG_TRACE, "httpd", "hidden");
    assert_int_equal(c->lines, 1);
    setenv("VR_TRACE", "all", 1);
    vr_log_init_from_env();
    VR_LOG(VR_LOG_TRACE, "httpd", "shown");
    assert_int_equal(c->lines, 2);
    unsetenv("VR_TRACE");
    vr_log_init_from_env();
}

static void test_parse_level(void **state)
{
    (void)state;
    enum vr_log_level l = VR_LOG_INFO;
    assert_int_equal(vr_log_parse_level("debug", &l), 0);
    assert_int_equal(l, VR_LOG_DEBUG);
    assert_int_equal(vr_log_parse_level("warning", &l), 0);
    assert_int_equal(l, VR_LOG_WARN);
    assert_int_equal(vr_log_parse_level("loud", &l), VR_EINVAL);
    assert_int_equal(l, VR_LOG_WARN);
    assert_string_equal(vr_log_level_name(VR_LOG_ERROR), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_level_checked_before_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_gating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_level, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
