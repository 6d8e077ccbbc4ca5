#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"

struct capture {
    int lines;
    enum vr_log_level last_level;
    struct vr_buf last;
    struct vr_buf all; /* every line, each followed by '\n' */
};

static void sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct capture *c = arg;
    c->lines++;
    c->last_level = level;
    vr_buf_reset(&c->last);
    assert_int_equal(vr_buf_append(&c->last, line, len), 0);
    assert_int_equal(vr_buf_append(&c->all, line, len), 0);
    assert_int_equal(vr_buf_putc(&c->all, '\n'), 0);
}

/* The collapse windows run on this clock; tests move it by hand. */
static uint64_t fake_now_ms;
static uint64_t fake_clock(void)
{
    return fake_now_ms;
}

static int setup(void **state)
{
    struct capture *c = vr_xcalloc(1, sizeof(*c));
    vr_buf_init(&c->last, 1 << 20);
    vr_buf_init(&c->all, 1 << 20);
    vr_log_set_sink(sink, c);
    fake_now_ms = 5000000;
    vr_log_set_clock(fake_clock);
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
    vr_log_set_clock(NULL);
    vr_log_set_sink(NULL, NULL);
    vr_log_set_format(VR_LOG_FORMAT_TEXT);
    vr_buf_cleanup(&c->last);
    vr_buf_cleanup(&c->all);
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

/* ---- collapsing repeated warn/error lines ---- */

static int count_of(const struct capture *c, const char *needle)
{
    int n = 0;
    for (const char *p = c->all.p ? c->all.p : ""; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The n-th captured line (0-based), copied into out. */
static void nth_line(const struct capture *c, int n, char *out, size_t cap)
{
    const char *p = c->all.p ? c->all.p : "";
    for (int i = 0; i < n; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    size_t len = strcspn(p, "\n");
    assert_true(len < cap);
    memcpy(out, p, len);
    out[len] = '\0';
}

static void test_repeat_collapsed_then_summarised(void **state)
{
    struct capture *c = *state;
    struct vr_log_ctx ctx = VR_LOG_CTX_INIT("dlr");
    vr_log_ctx_set(&ctx, "name", "r1");
    for (int i = 0; i < 5; i++) {
        VR_LOGC(&ctx, VR_LOG_ERROR, "backup %s not found", "b1");
        fake_now_ms += 1000;
    }
    assert_int_equal(c->lines, 1);
    assert_non_null(strstr(c->last.p, "Z error dlr backup b1 not found name=r1"));

    /* 59.999 s after the first: still inside the window. */
    fake_now_ms = 5000000 + 59999;
    VR_LOGC(&ctx, VR_LOG_ERROR, "backup %s not found", "b1");
    assert_int_equal(c->lines, 1);

    /* 60 s after the first, any line ends the window: summary first, then the line. */
    fake_now_ms = 5000000 + 60000;
    VR_LOG(VR_LOG_INFO, "app", "tick");
    assert_int_equal(c->lines, 3);
    char line[512];
    nth_line(c, 1, line, sizeof(line));
    assert_non_null(strstr(
        line, "Z error dlr backup b1 not found (5 more like this in the last 60 s) name=r1"));
    nth_line(c, 2, line, sizeof(line));
    assert_non_null(strstr(line, "Z info app tick"));

    /* The next occurrence starts a new window and is written again. */
    VR_LOGC(&ctx, VR_LOG_ERROR, "backup %s not found", "b1");
    assert_int_equal(c->lines, 4);
    assert_non_null(strstr(c->last.p, "Z error dlr backup b1 not found name=r1"));
    assert_int_equal(c->last_level, VR_LOG_ERROR);
}

static void test_summary_written_by_next_identical_line(void **state)
{
    struct capture *c = *state;
    for (int i = 0; i < 5; i++)
        VR_LOG(VR_LOG_WARN, "watch", "relisting");
    assert_int_equal(c->lines, 1);
    fake_now_ms += 60000;
    VR_LOG(VR_LOG_WARN, "watch", "relisting");
    assert_int_equal(c->lines, 3);
    assert_int_equal(count_of(c, " (4 more like this in the last 60 s)"), 1);
    char line[512];
    nth_line(c, 1, line, sizeof(line));
    assert_non_null(strstr(line, "Z warn watch relisting (4 more like this in the last 60 s)"));
    nth_line(c, 2, line, sizeof(line));
    assert_null(strstr(line, "more like this"));
    assert_non_null(strstr(line, "Z warn watch relisting"));
}

static void test_window_without_repeats_ends_silently(void **state)
{
    struct capture *c = *state;
    VR_LOG(VR_LOG_WARN, "kube", "once");
    fake_now_ms += 60000;
    VR_LOG(VR_LOG_WARN, "kube", "once");
    assert_int_equal(c->lines, 2);
    assert_int_equal(count_of(c, "more like this"), 0);
}

static void test_differences_not_collapsed(void **state)
{
    struct capture *c = *state;
    struct vr_log_ctx a = VR_LOG_CTX_INIT("dlr");
    vr_log_ctx_set(&a, "name", "r1");
    struct vr_log_ctx b = VR_LOG_CTX_INIT("dlr");
    vr_log_ctx_set(&b, "name", "r2");
    struct vr_log_ctx other_subsys = VR_LOG_CTX_INIT("ssr");
    vr_log_ctx_set(&other_subsys, "name", "r1");
    VR_LOGC(&a, VR_LOG_ERROR, "failed");
    VR_LOGC(&b, VR_LOG_ERROR, "failed");            /* context value differs */
    VR_LOGC(&other_subsys, VR_LOG_ERROR, "failed"); /* subsys differs */
    VR_LOGC(&a, VR_LOG_WARN, "failed");             /* level differs */
    VR_LOGC(&a, VR_LOG_ERROR, "failed again");      /* message differs */
    assert_int_equal(c->lines, 5);
    VR_LOGC(&b, VR_LOG_ERROR, "failed");
    VR_LOGC(&a, VR_LOG_WARN, "failed");
    assert_int_equal(c->lines, 5);
}

static void test_info_never_collapsed(void **state)
{
    struct capture *c = *state;
    vr_log_set_level(VR_LOG_TRACE);
    for (int i = 0; i < 3; i++) {
        VR_LOG(VR_LOG_INFO, "dlr", "processed");
        VR_LOG(VR_LOG_DEBUG, "dlr", "processed");
        VR_LOG(VR_LOG_TRACE, "dlr", "processed");
    }
    assert_int_equal(c->lines, 9);
    vr_log_flush();
    fake_now_ms += 60000;
    VR_LOG(VR_LOG_INFO, "dlr", "processed");
    assert_int_equal(c->lines, 10);
    assert_int_equal(count_of(c, "more like this"), 0);
}

static void test_flush_writes_pending(void **state)
{
    struct capture *c = *state;
    struct vr_log_ctx ctx = VR_LOG_CTX_INIT("lease");
    vr_log_ctx_set(&ctx, "lease", "velero/vreqd");
    VR_LOGC(&ctx, VR_LOG_WARN, "renew failed");
    VR_LOGC(&ctx, VR_LOG_WARN, "renew failed");
    VR_LOGC(&ctx, VR_LOG_WARN, "renew failed");
    VR_LOG(VR_LOG_ERROR, "app", "single");
    assert_int_equal(c->lines, 2);
    vr_log_flush();
    assert_int_equal(c->lines, 3); /* only the line with repeats gets a summary */
    assert_int_equal(c->last_level, VR_LOG_WARN);
    assert_non_null(strstr(c->last.p, "Z warn lease renew failed (2 more like this in the last "
                                      "60 s) lease=velero/vreqd"));
    /* Everything was forgotten: the same line is written again, nothing more to flush. */
    VR_LOGC(&ctx, VR_LOG_WARN, "renew failed");
    assert_int_equal(c->lines, 4);
    vr_log_flush();
    assert_int_equal(c->lines, 4);
}

static void test_eviction_writes_summary(void **state)
{
    struct capture *c = *state;
    VR_LOG(VR_LOG_ERROR, "t", "line 0");
    VR_LOG(VR_LOG_ERROR, "t", "line 0");
    VR_LOG(VR_LOG_ERROR, "t", "line 0");
    for (int i = 1; i < 32; i++) {
        fake_now_ms += 10;
        VR_LOG(VR_LOG_ERROR, "t", "line %d", i);
    }
    VR_LOG(VR_LOG_ERROR, "t", "line 1"); /* held: the table holds 32 */
    assert_int_equal(c->lines, 32);
    assert_int_equal(count_of(c, "more like this"), 0);

    /* A 33rd line evicts the oldest ("line 0"), whose summary goes out first. */
    VR_LOG(VR_LOG_ERROR, "t", "line 32");
    assert_int_equal(c->lines, 34);
    char line[512];
    nth_line(c, 32, line, sizeof(line));
    assert_non_null(strstr(line, "Z error t line 0 (2 more like this in the last 60 s)"));
    nth_line(c, 33, line, sizeof(line));
    assert_non_null(strstr(line, "Z error t line 32"));

    /* "line 0" was forgotten (written again, evicting "line 1" and its summary);
     * "line 2" is still tracked. */
    VR_LOG(VR_LOG_ERROR, "t", "line 0");
    assert_int_equal(c->lines, 36);
    assert_int_equal(count_of(c, "Z error t line 1 (1 more like this in the last 60 s)"), 1);
    VR_LOG(VR_LOG_ERROR, "t", "line 2");
    assert_int_equal(c->lines, 36);
}

static void test_json_summary(void **state)
{
    struct capture *c = *state;
    vr_log_set_format(VR_LOG_FORMAT_JSON);
    struct vr_log_ctx ctx = VR_LOG_CTX_INIT("kube");
    vr_log_ctx_set(&ctx, "req", "PATCH \"x\"");
    for (int i = 0; i < 4; i++)
        VR_LOGC(&ctx, VR_LOG_WARN, "server said \"%d\"", 503);
    assert_int_equal(c->lines, 1);
    vr_log_flush();
    assert_int_equal(c->lines, 2);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(c->last.p, c->last.len, &end, 0);
    assert_non_null(j);
    assert_ptr_equal(end, c->last.p + c->last.len);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "level")->valuestring, "warn");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "subsys")->valuestring, "kube");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "msg")->valuestring,
                        "server said \"503\" (3 more like this in the last 60 s)");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "req")->valuestring, "PATCH \"x\"");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "ts"));
    assert_int_equal(cJSON_GetArraySize(j), 5); /* ts level subsys msg req: nothing added */
    cJSON_Delete(j);
}

static void test_format_change_flushes(void **state)
{
    struct capture *c = *state;
    VR_LOG(VR_LOG_ERROR, "t", "boom");
    VR_LOG(VR_LOG_ERROR, "t", "boom");
    vr_log_set_format(VR_LOG_FORMAT_JSON);
    assert_int_equal(c->lines, 2);
    assert_non_null(strstr(c->last.p, "Z error t boom (1 more like this in the last 60 s)"));
    VR_LOG(VR_LOG_ERROR, "t", "boom");
    assert_int_equal(c->lines, 3);
    assert_non_null(strstr(c->last.p, "\"msg\":\"boom\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_level_checked_before_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_gating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_collapsed_then_summarised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_written_by_next_identical_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_without_repeats_ends_silently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_differences_not_collapsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_never_collapsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_writes_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_writes_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_change_flushes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
