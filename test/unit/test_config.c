/* vreqd's flag table: every flag of contract §9, Go durations, env, errors. */
#include <string.h>

#include "testutil.h"
#include "config/config.h"
#include "vreq/err.h"

static const char *fake_env(const char *name, void *arg)
{
    const char *const *kv = arg;
    for (; kv && kv[0]; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static int parse(struct vr_config *c, const char *const *env, char *err, int argc, ...)
{
    static char prog[] = "vreqd";
    char *argv[32] = {prog};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i <= argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    vr_config_default(c);
    return vr_config_parse(c, argc + 1, argv, fake_env, (void *)env, err, 256);
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *s;
        uint64_t ms;
    } ok[] = {{"0", 0},         {"10m", 600000}, {"1m30s", 90000}, {"500ms", 500},
              {"1.5h", 5400000}, {"2s", 2000},    {"1h2m3s4ms", 3723004},
              {"1500us", 1},     {"999ns", 0},    {".5s", 500}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t ms = 12345;
        assert_int_equal(vr_config_parse_duration(ok[i].s, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    const char *bad[] = {"", "10", "m", "1x", "-1s", "1.s.", "1m 2s", "s1", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t ms = 7;
        assert_int_not_equal(vr_config_parse_duration(bad[i], &ms), 0);
        assert_int_equal(ms, 7);
    }
    uint64_t ms;
    assert_int_equal(vr_config_parse_duration("3000000h", &ms), VR_ETOOBIG);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vr_config c;
    char err[256];
    assert_int_equal(parse(&c, NULL, err, 0), 0);
    assert_int_equal(c.download_url_ttl_ms, 600000);
    assert_int_equal(c.server_status_ttl_ms, 60000);
    assert_int_equal(c.resync_period_ms, 60000);
    assert_string_equal(c.metrics_addr, ":8085");
    assert_string_equal(c.lease_name, "vreqd");
    assert_false(c.all_namespaces || c.leader_elect || c.help || c.version);
    assert_null(c.namespace);
    vr_config_finish(&c, NULL);
    assert_string_equal(c.namespace, "velero");
    char file[] = "  my-ns\n";
    vr_config_default(&c);
    vr_config_finish(&c, file);
    assert_string_equal(c.namespace, "my-ns");
}

static void test_every_flag(void **state)
{
    (void)state;
    struct vr_config c;
    char err[256];
    assert_int_equal(parse(&c, NULL, err, 20, "--kubeconfig", "/k", "--namespace=ns1",
                           "--all-namespaces", "--download-url-ttl", "2s",
                           "--server-status-ttl=1m30s", "--resync-period", "0",
                           "--server-version", "v9", "--plugins-file=/p.yaml",
                           "--metrics-addr", "127.0.0.1:0", "--leader-elect=true",
                           "--lease-name", "lease-x", "--log-format=json", "--log-level",
                           "debug"),
                     0);
    assert_string_equal(c.kubeconfig, "/k");
    assert_string_equal(c.namespace, "ns1");
    assert_true(c.all_namespaces && c.leader_elect);
    assert_int_equal(c.download_url_ttl_ms, 2000);
    assert_int_equal(c.server_status_ttl_ms, 90000);
    assert_int_equal(c.resync_period_ms, 0);
    assert_string_equal(c.server_version, "v9");
    assert_string_equal(c.plugins_file, "/p.yaml");
    assert_string_equal(c.metrics_addr, "127.0.0.1:0");
    assert_string_equal(c.lease_name, "lease-x");
    assert_int_equal(c.log_format, VR_LOG_FORMAT_JSON);
    assert_int_equal(c.log_level, VR_LOG_DEBUG);
    assert_int_equal(parse(&c, NULL, err, 1, "--help"), 0);
    assert_true(c.help);
    assert_int_equal(parse(&c, NULL, err, 1, "-h"), 0);
    assert_true(c.help);
    assert_int_equal(parse(&c, NULL, err, 1, "--version"), 0);
    assert_true(c.version);
    assert_int_equal(parse(&c, NULL, err, 2, "--metrics-addr", "0"), 0);
    assert_int_equal(parse(&c, NULL, err, 2, "--metrics-addr", "[::1]:8085"), 0);
}

static void test_env(void **state)
{
    (void)state;
    struct vr_config c;
    char err[256];
    const char *env[] = {"VELERO_NAMESPACE", "from-env", "VREQD_LOG_LEVEL", "warn", NULL};
    assert_int_equal(parse(&c, env, err, 0), 0);
    assert_string_equal(c.namespace, "from-env");
    assert_int_equal(c.log_level, VR_LOG_WARN);
    assert_int_equal(parse(&c, env, err, 2, "--namespace", "flag-wins"), 0);
    assert_string_equal(c.namespace, "flag-wins");
    const char *bad_env[] = {"VREQD_LOG_LEVEL", "loud", NULL};
    assert_int_equal(parse(&c, bad_env, err, 0), VR_ECONFIG);
    assert_non_null(strstr(err, "VREQD_LOG_LEVEL"));
}

static void test_errors(void **state)
{
    (void)state;
    struct vr_config c;
    char err[256];
    struct {
        const char *a, *b, *needle;
    } cases[] = {
        {"--bogus", NULL, "unknown flag --bogus"},
        {"--download-url-ttl", "10", "invalid duration"},
        {"--download-url-ttl", "1500ms", "whole number"},
        {"--download-url-ttl", "0", "out of range"},
        {"--download-url-ttl", "200h", "out of range"},
        {"--log-format", "xml", "text or json"},
        {"--log-level", "loud", "expected trace"},
        {"--metrics-addr", "8085", "HOST:PORT"},
        {"--metrics-addr", ":99999", "HOST:PORT"},
        {"--namespace", "Bad_NS", "not a valid"},
        {"--leader-elect=maybe", NULL, "true or false"},
        {"positional", NULL, "unexpected argument"},
        {"--namespace", NULL, "needs a value"},
        {"--server-version=", NULL, "must not be empty"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = cases[i].b ? parse(&c, NULL, err, 2, cases[i].a, cases[i].b)
                            : parse(&c, NULL, err, 1, cases[i].a);
        assert_int_equal(rc, VR_ECONFIG);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s: got \"%s\"", cases[i].a, err);
        assert_null(strchr(err, '\n'));
    }
    assert_non_null(strstr(vr_config_usage(), "--download-url-ttl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_flag), cmocka_unit_test(test_env),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
