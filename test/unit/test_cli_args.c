/* cli: argument parsing (global flags anywhere, command words, per-command flags, usage
 * errors), durations, sizes, request names (UUID v4), kinds, progress formatting. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "vreq/err.h"

static void noop(struct vr_cli *cli, const struct vr_cli_args *a)
{
    (void)cli;
    (void)a;
}

static const struct vr_cli_cmd cmds[] = {
    {"backup logs", "NAME", "s", NULL, 1, 1, 0, 0, true, noop},
    {"backup download", "NAME", "s", NULL, 1, 1, VR_CLI_F_OUTPUT | VR_CLI_F_FORCE, 0, true,
     noop},
    {"get", "KIND NAME", "s", NULL, 2, 2, VR_CLI_F_OUTPUT, 0, true, noop},
    {"version", "", "s", NULL, 0, 0, VR_CLI_F_CLIENT_ONLY, 5000, false, noop},
};

static const char *fake_env_ns;
static const char *fake_getenv(const char *name)
{
    return strcmp(name, "VELERO_NAMESPACE") == 0 ? fake_env_ns : NULL;
}

struct parsed {
    int rc;
    struct vr_cli_opts o;
    struct vr_cli_args a;
    const struct vr_cli_cmd *cmd;
    char err[256];
};

/* Parses a NULL-terminated list of words after "vreq". */
static struct parsed parse(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)(uintptr_t) "vreq";
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        argv[argc++] = (char *)(uintptr_t)s;
    va_end(ap);
    argv[argc] = NULL;
    struct parsed p;
    memset(&p, 0, sizeof(p));
    p.rc = vr_cli_parse_args(argc, argv, cmds, sizeof(cmds) / sizeof(cmds[0]), fake_getenv,
                             &p.o, &p.a, &p.cmd, p.err, sizeof(p.err));
    return p;
}

static void test_defaults_and_env(void **state)
{
    (void)state;
    fake_env_ns = NULL;
    struct parsed p = parse("backup", "logs", "b1", NULL);
    assert_int_equal(p.rc, 0);
    assert_ptr_equal(p.cmd, &cmds[0]);
    assert_string_equal(p.o.namespace, "velero");
    assert_false(p.o.timeout_set);
    assert_true(p.o.max_decompressed == ((uint64_t)1 << 30));
    assert_int_equal(p.a.npos, 1);
    assert_string_equal(p.a.pos[0], "b1");
    fake_env_ns = "env-ns";
    p = parse("backup", "logs", "b1", NULL);
    assert_string_equal(p.o.namespace, "env-ns");
    p = parse("-n", "flag-ns", "backup", "logs", "b1", NULL);
    assert_string_equal(p.o.namespace, "flag-ns");
    fake_env_ns = "";
    p = parse("backup", "logs", "b1", NULL);
    assert_string_equal(p.o.namespace, "velero");
    fake_env_ns = NULL;
}

static void test_global_flags_anywhere(void **state)
{
    (void)state;
    struct parsed p = parse("--kubeconfig", "/k", "backup", "download", "--timeout=90s", "b1",
                            "-oout.tgz", "--force", "--namespace=ns2", "--cacert", "/ca.pem",
                            "--insecure-skip-tls-verify", "--max-decompressed-size", "2Mi",
                            NULL);
    assert_int_equal(p.rc, 0);
    assert_ptr_equal(p.cmd, &cmds[1]);
    assert_string_equal(p.o.kubeconfig, "/k");
    assert_true(p.o.timeout_set);
    assert_int_equal(p.o.timeout_ms, 90000);
    assert_string_equal(p.o.namespace, "ns2");
    assert_string_equal(p.o.cacert, "/ca.pem");
    assert_true(p.o.insecure_skip_tls_verify);
    assert_true(p.o.max_decompressed == 2u << 20);
    assert_string_equal(p.a.output, "out.tgz");
    assert_true(p.a.force);
    assert_string_equal(p.a.pos[0], "b1");
    p = parse("get", "BackupLog", "b", "-o", "-", "-nx", NULL);
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.a.output, "-");
    assert_string_equal(p.o.namespace, "x");
    /* "--" ends the flags: a name that starts with '-'. */
    p = parse("backup", "logs", "--", "-odd", NULL);
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.a.pos[0], "-odd");
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct parsed p = parse(NULL, NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "no command"));
    p = parse("frobnicate", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "unknown command \"frobnicate\""));
    p = parse("backup", "logs", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_ptr_equal(p.cmd, &cmds[0]);
    assert_non_null(strstr(p.err, "requires exactly 1 argument"));
    p = parse("backup", "logs", "a", "b", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    p = parse("backup", "logs", "a", "--force", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "unknown flag: --force"));
    p = parse("backup", "logs", "a", "--bogus", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "unknown flag: --bogus"));
    p = parse("backup", "logs", "a", "-z", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    p = parse("backup", "logs", "a", "--timeout", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "needs an argument"));
    p = parse("backup", "logs", "a", "--timeout", "soon", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    assert_non_null(strstr(p.err, "invalid duration"));
    p = parse("backup", "logs", "a", "--timeout", "0", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    p = parse("backup", "logs", "a", "--max-decompressed-size", "12Q", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    p = parse("backup", "logs", "a", "-n", "", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
    p = parse("backup", "logs", "a", "--force=maybe", NULL);
    assert_int_equal(p.rc, VR_EINVAL);
}

static void test_help(void **state)
{
    (void)state;
    struct parsed p = parse("--help", NULL);
    assert_int_equal(p.rc, 0);
    assert_true(p.o.help);
    assert_null(p.cmd);
    p = parse("backup", "download", "-h", NULL); /* no NAME needed with --help */
    assert_int_equal(p.rc, 0);
    assert_true(p.o.help);
    assert_ptr_equal(p.cmd, &cmds[1]);
    p = parse("version", "--client-only", NULL);
    assert_int_equal(p.rc, 0);
    assert_true(p.a.client_only);
}

static void test_durations(void **state)
{
    (void)state;
    unsigned ms = 7;
    assert_int_equal(vr_cli_parse_duration_ms("1m", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(vr_cli_parse_duration_ms("1h30m", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(vr_cli_parse_duration_ms("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(vr_cli_parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(vr_cli_parse_duration_ms("0", &ms), 0);
    assert_int_equal(ms, 0);
    ms = 7;
    assert_int_equal(vr_cli_parse_duration_ms("10", &ms), VR_EPARSE);
    assert_int_equal(vr_cli_parse_duration_ms("", &ms), VR_EPARSE);
    assert_int_equal(vr_cli_parse_duration_ms("s", &ms), VR_EPARSE);
    assert_int_equal(vr_cli_parse_duration_ms("5x", &ms), VR_EPARSE);
    assert_int_equal(vr_cli_parse_duration_ms("-5s", &ms), VR_EPARSE);
    assert_int_equal(vr_cli_parse_duration_ms("99999999h", &ms), VR_ETOOBIG);
    assert_int_equal(ms, 7);
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t v = 3;
    assert_int_equal(vr_cli_parse_size("1073741824", &v), 0);
    assert_true(v == 1073741824u);
    assert_int_equal(vr_cli_parse_size("1Gi", &v), 0);
    assert_true(v == 1073741824u);
    assert_int_equal(vr_cli_parse_size("1GiB", &v), 0);
    assert_true(v == 1073741824u);
    assert_int_equal(vr_cli_parse_size("64k", &v), 0);
    assert_true(v == 65536);
    assert_int_equal(vr_cli_parse_size("512M", &v), 0);
    assert_true(v == 512u << 20);
    assert_int_equal(vr_cli_parse_size("100B", &v), 0);
    assert_true(v == 100);
    v = 3;
    assert_int_equal(vr_cli_parse_size("", &v), VR_EPARSE);
    assert_int_equal(vr_cli_parse_size("M", &v), VR_EPARSE);
    assert_int_equal(vr_cli_parse_size("5X", &v), VR_EPARSE);
    assert_int_equal(vr_cli_parse_size("5Mx", &v), VR_EPARSE);
    assert_int_equal(vr_cli_parse_size("99999999999999999999", &v), VR_ETOOBIG);
    assert_int_equal(vr_cli_parse_size("99999999999T", &v), VR_ETOOBIG);
    assert_true(v == 3);
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_uuid_and_names(void **state)
{
    (void)state;
    unsigned char ones[16];
    memset(ones, 0xff, sizeof(ones));
    char u[37];
    vr_cli_uuid_format(ones, u);
    assert_string_equal(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    unsigned char zeros[16] = {0};
    vr_cli_uuid_format(zeros, u);
    assert_string_equal(u, "00000000-0000-4000-8000-000000000000");

    char a[128], b[128];
    assert_int_equal(vr_cli_request_name("nightly-1", a, sizeof(a)), 0);
    assert_int_equal(vr_cli_request_name("nightly-1", b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), strlen("nightly-1-") + 36);
    assert_memory_equal(a, "nightly-1-", 10);
    const char *id = a + 10;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_true(is_hex(id[i]));
    }
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    char small[20];
    assert_int_equal(vr_cli_request_name("nightly-1", small, sizeof(small)), VR_ETOOBIG);
}

static void test_kinds(void **state)
{
    (void)state;
    size_t n;
    const char *const *k = vr_cli_kinds(&n);
    assert_int_equal(n, 14);
    for (size_t i = 0; i < n; i++)
        assert_true(vr_cli_kind_is_valid(k[i]));
    assert_false(vr_cli_kind_is_valid("backuplog"));
    assert_false(vr_cli_kind_is_valid("BackupTarball"));
    assert_string_equal(vr_cli_kind_canonical("backuplog"), "BackupLog");
    assert_string_equal(vr_cli_kind_canonical("RESTOREVOLUMEINFO"), "RestoreVolumeInfo");
    assert_null(vr_cli_kind_canonical("BackupTarball"));
}

static void test_progress_format(void **state)
{
    (void)state;
    char line[128];
    vr_progress_format(line, sizeof(line), 10u << 20, 40u << 20, 2000);
    assert_string_equal(line, "10.0 MiB / 40.0 MiB   25%  5.0 MiB/s  ETA 0:06");
    vr_progress_format(line, sizeof(line), 512, 0, 1000);
    assert_string_equal(line, "512 B  512 B/s");
    vr_progress_format(line, sizeof(line), 0, 1000, 0);
    assert_string_equal(line, "0 B / 1000 B    0%  0 B/s  ETA --:--");
    char tiny[8];
    assert_int_equal(vr_progress_format(tiny, sizeof(tiny), 1u << 30, 2u << 30, 10), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_env),
        cmocka_unit_test(test_global_flags_anywhere),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_uuid_and_names),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_progress_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
