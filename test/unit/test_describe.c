/* Describe renderers against fixture files (test/fixtures/describe/): expected text
 * byte-exact, the order of the files they ask for, tabwriter and Go formatting rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cli/describe.h"
#include "cli/gofmt.h"
#include "cli/tabw.h"
#include "core/timefmt.h"
#include "testutil.h"
#include "vreq/mem.h"

static cJSON *load_json(const char *path)
{
    size_t n;
    char *text = vr_test_read_fixture(path, &n);
    assert_non_null(text);
    cJSON *obj = cJSON_ParseWithLengthOpts(text, n, NULL, 0);
    assert_non_null(obj);
    vr_free(text);
    return obj;
}

static void expect_text(const struct vr_buf *out, const char *expected_path)
{
    size_t n;
    char *want = vr_test_read_fixture(expected_path, &n);
    assert_non_null(want);
    if (out->len != n || memcmp(out->p, want, n) != 0)
        print_error("got:\n%s\n--- want:\n%s\n", out->p ? out->p : "", want);
    assert_int_equal(out->len, n);
    assert_memory_equal(out->p, want, n);
    vr_free(want);
}

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* A real `velero restore describe --details` output (Velero 1.16/1.17). */
static void test_restore_certmgr(void **state)
{
    (void)state;
    struct vr_dfiles files = {0};
    struct vr_buf out;
    enum vr_dkind k;
    size_t nl, nv;
    char *list = vr_test_read_fixture("describe/restore-certmgr-resource-list.json", &nl);
    char *vol = vr_test_read_fixture("describe/restore-certmgr-volumeinfo.json", &nv);
    cJSON *r = load_json("describe/restore-certmgr.json");
    set_tz("Europe/Paris");
    assert_true(vr_describe_restore_next(r, true, &files, &k));
    assert_int_equal(k, VR_DK_RESTORE_VOLUME_INFO);
    files.f[k] = (struct vr_dfile){VR_DFILE_OK, {vol, nv}, NULL};
    assert_true(vr_describe_restore_next(r, true, &files, &k));
    assert_int_equal(k, VR_DK_RESTORE_RESOURCE_LIST);
    files.f[k] = (struct vr_dfile){VR_DFILE_OK, {list, nl}, NULL};
    assert_false(vr_describe_restore_next(r, true, &files, &k));
    vr_buf_init(&out, 1 << 20);
    assert_int_equal(vr_describe_restore(r, true, &files, &out), 0);
    expect_text(&out, "describe/restore-certmgr.expected");
    vr_buf_cleanup(&out);
    cJSON_Delete(r);
    vr_free(list);
    vr_free(vol);
}

/* Missing and failing files show Velero's inline messages; the legacy path is taken
 * when BackupVolumeInfos is missing. */
static void test_backup_missing_files(void **state)
{
    (void)state;
    struct vr_dfiles files = {0};
    struct vr_buf out;
    enum vr_dkind k;
    static const enum vr_dkind order[] = {VR_DK_BACKUP_RESULTS, VR_DK_BACKUP_ITEM_OPERATIONS,
                                          VR_DK_BACKUP_RESOURCE_LIST,
                                          VR_DK_BACKUP_VOLUME_INFOS};
    cJSON *b = load_json("describe/backup-missing.json");
    set_tz("UTC");
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        assert_true(vr_describe_backup_next(b, true, &files, &k));
        assert_int_equal(k, order[i]);
        if (k == VR_DK_BACKUP_ITEM_OPERATIONS)
            files.f[k] = (struct vr_dfile){VR_DFILE_ERROR, {"", 0}, "boom"};
        else
            files.f[k] = (struct vr_dfile){VR_DFILE_NOT_FOUND, {"", 0}, NULL};
    }
    assert_false(vr_describe_backup_next(b, true, &files, &k));
    vr_buf_init(&out, 1 << 20);
    assert_int_equal(vr_describe_backup(b, true, &files, &out), 0);
    expect_text(&out, "describe/backup-missing.expected");
    vr_buf_cleanup(&out);
    cJSON_Delete(b);
}

/* Without --details only the volume infos are fetched (results: none to show). */
static void test_backup_no_details_fetches(void **state)
{
    (void)state;
    struct vr_dfiles files = {0};
    enum vr_dkind k;
    cJSON *b = load_json("describe/backup-missing.json");
    assert_true(vr_describe_backup_next(b, false, &files, &k));
    assert_int_equal(k, VR_DK_BACKUP_RESULTS);
    files.f[k].state = VR_DFILE_NOT_FOUND;
    assert_true(vr_describe_backup_next(b, false, &files, &k));
    assert_int_equal(k, VR_DK_BACKUP_VOLUME_INFOS);
    cJSON_Delete(b);
}

/* Velero's own describeResult expectations (restore_describer_test.go). */
static void test_tabwriter_result_block(void **state)
{
    (void)state;
    struct vr_buf out;
    struct vr_tw tw;
    static const char in[] = "restore-2:\n\tVelero:\tvelero-msg-1\n\t\tvelero-msg-2\n"
                             "\tCluster:\tcluster-msg-1\n\t\tcluster-msg-2\n\tNamespaces:\n"
                             "\t\tns-1:\tns-1-warn-1\n\t\t\tns-1-warn-2\n";
    static const char want[] = "restore-2:\n  Velero:   velero-msg-1\n            velero-msg-2\n"
                               "  Cluster:  cluster-msg-1\n            cluster-msg-2\n"
                               "  Namespaces:\n    ns-1:  ns-1-warn-1\n           ns-1-warn-2\n";
    vr_buf_init(&out, 1 << 16);
    vr_tw_init(&tw, &out);
    vr_tw_write(&tw, in, sizeof(in) - 1);
    assert_int_equal(vr_tw_flush(&tw), 0);
    vr_tw_cleanup(&tw);
    assert_string_equal(out.p, want);
    vr_buf_cleanup(&out);
}

static void check_duration(const char *in, const char *want)
{
    int64_t ns;
    char out[40];
    assert_int_equal(vr_time_parse_duration(in, &ns), 0);
    vr_go_format_duration(ns, out, sizeof(out));
    assert_string_equal(out, want);
}

static void test_go_durations(void **state)
{
    (void)state;
    int64_t ns;
    check_duration("720h", "720h0m0s");
    check_duration("1.5h", "1h30m0s");
    check_duration("300ms", "300ms");
    check_duration("1500ms", "1.5s");
    check_duration("0", "0s");
    check_duration("2us", "2\xc2\xb5s");
    check_duration("-90s", "-1m30s");
    assert_int_not_equal(vr_time_parse_duration("10", &ns), 0);
    assert_int_not_equal(vr_time_parse_duration("5x", &ns), 0);
    assert_int_not_equal(vr_time_parse_duration("", &ns), 0);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_certmgr),
        cmocka_unit_test(test_backup_missing_files),
        cmocka_unit_test(test_backup_no_details_fetches),
        cmocka_unit_test(test_tabwriter_result_block),
        cmocka_unit_test(test_go_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
