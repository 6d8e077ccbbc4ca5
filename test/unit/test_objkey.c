/* Velero object keys for all 14 target kinds, under every prefix shape (velero.md §3). */
#include <string.h>

#include "testutil.h"
#include "controller/objkey.h"
#include "vreq/err.h"

struct row {
    enum vr_target_kind kind;
    const char *name;
    const char *file; /* under backups/<name>/ or restores/<name>/ */
};

static const struct row rows[] = {
    {VR_TK_BACKUP_LOG, "BackupLog", "backups/n/n-logs.gz"},
    {VR_TK_BACKUP_CONTENTS, "BackupContents", "backups/n/n.tar.gz"},
    {VR_TK_BACKUP_VOLUME_SNAPSHOTS, "BackupVolumeSnapshots", "backups/n/n-volumesnapshots.json.gz"},
    {VR_TK_BACKUP_ITEM_OPERATIONS, "BackupItemOperations", "backups/n/n-itemoperations.json.gz"},
    {VR_TK_BACKUP_RESOURCE_LIST, "BackupResourceList", "backups/n/n-resource-list.json.gz"},
    {VR_TK_BACKUP_RESULTS, "BackupResults", "backups/n/n-results.gz"},
    {VR_TK_RESTORE_LOG, "RestoreLog", "restores/n/restore-n-logs.gz"},
    {VR_TK_RESTORE_RESULTS, "RestoreResults", "restores/n/restore-n-results.gz"},
    {VR_TK_RESTORE_RESOURCE_LIST, "RestoreResourceList",
     "restores/n/restore-n-resource-list.json.gz"},
    {VR_TK_RESTORE_ITEM_OPERATIONS, "RestoreItemOperations",
     "restores/n/restore-n-itemoperations.json.gz"},
    {VR_TK_CSI_BACKUP_VOLUME_SNAPSHOTS, "CSIBackupVolumeSnapshots",
     "backups/n/n-csi-volumesnapshots.json.gz"},
    {VR_TK_CSI_BACKUP_VOLUME_SNAPSHOT_CONTENTS, "CSIBackupVolumeSnapshotContents",
     "backups/n/n-csi-volumesnapshotcontents.json.gz"},
    {VR_TK_BACKUP_VOLUME_INFOS, "BackupVolumeInfos", "backups/n/n-volumeinfo.json.gz"},
    {VR_TK_RESTORE_VOLUME_INFO, "RestoreVolumeInfo", "restores/n/n-volumeinfo.json.gz"},
};

static void test_all_kinds_all_prefixes(void **state)
{
    (void)state;
    const char *prefixes[][2] = {
        {"", ""}, {NULL, ""}, {"pfx", "pfx/"}, {"/pfx/", "pfx/"}, {"a/b/", "a/b/"},
        {"//a//b//", "a/b/"}, {"./a/./b", "a/b/"}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++) {
            char out[VR_OBJKEY_MAX], want[VR_OBJKEY_MAX];
            assert_int_equal(vr_objkey_build(rows[i].kind, prefixes[j][0], "n", out, sizeof(out)),
                             0);
            snprintf(want, sizeof(want), "%s%s", prefixes[j][1], rows[i].file);
            assert_string_equal(out, want);
        }
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_int_equal(sizeof(rows) / sizeof(rows[0]), VR_TARGET_KIND_COUNT);
    for (size_t i = 0; i < VR_TARGET_KIND_COUNT; i++) {
        enum vr_target_kind k;
        assert_int_equal(vr_target_kind_parse(rows[i].name, &k), 0);
        assert_int_equal(k, rows[i].kind);
        assert_string_equal(vr_target_kind_name(k), rows[i].name);
        assert_int_equal(vr_target_kind_is_restore(k), strncmp(rows[i].file, "restores", 8) == 0);
    }
    enum vr_target_kind k = VR_TK_BACKUP_LOG;
    assert_int_equal(vr_target_kind_parse("backuplog", &k), VR_EINVAL);
    assert_int_equal(vr_target_kind_parse("BackupItemSnapshots", &k), VR_EINVAL);
    assert_int_equal(vr_target_kind_parse(NULL, &k), VR_EINVAL);
}

static void test_example_and_errors(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(vr_objkey_build(VR_TK_RESTORE_VOLUME_INFO, "/pfx/", "r1", out, sizeof(out)), 0);
    assert_string_equal(out, "pfx/restores/r1/r1-volumeinfo.json.gz");
    assert_int_equal(vr_objkey_build(VR_TK_BACKUP_LOG, "a/../b", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "b/backups/x/x-logs.gz");
    assert_int_equal(vr_objkey_build(VR_TK_BACKUP_LOG, "", "", out, sizeof(out)), VR_EINVAL);
    char tiny[16];
    assert_int_equal(vr_objkey_build(VR_TK_BACKUP_LOG, "", "abcdefgh", tiny, sizeof(tiny)),
                     VR_ETOOBIG);
    assert_string_equal(tiny, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_kinds_all_prefixes),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_example_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
