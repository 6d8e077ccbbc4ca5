#include <stdio.h>
#include <string.h>

#include "controller/objkey.h"
#include "core/common.h"
#include "vreq/err.h"

struct kind_row {
    const char *name;
    bool restore;
    const char *pre; /* file name = pre + target name + post */
    const char *post;
};

/* Indexed by enum vr_target_kind. */
static const struct kind_row kinds[VR_TARGET_KIND_COUNT] = {
    [VR_TK_BACKUP_LOG] = {"BackupLog", false, "", "-logs.gz"},
    [VR_TK_BACKUP_CONTENTS] = {"BackupContents", false, "", ".tar.gz"},
    [VR_TK_BACKUP_VOLUME_SNAPSHOTS] = {"BackupVolumeSnapshots", false, "", "-volumesnapshots.json.gz"},
    [VR_TK_BACKUP_ITEM_OPERATIONS] = {"BackupItemOperations", false, "", "-itemoperations.json.gz"},
    [VR_TK_BACKUP_RESOURCE_LIST] = {"BackupResourceList", false, "", "-resource-list.json.gz"},
    [VR_TK_BACKUP_RESULTS] = {"BackupResults", false, "", "-results.gz"},
    [VR_TK_RESTORE_LOG] = {"RestoreLog", true, "restore-", "-logs.gz"},
    [VR_TK_RESTORE_RESULTS] = {"RestoreResults", true, "restore-", "-results.gz"},
    [VR_TK_RESTORE_RESOURCE_LIST] = {"RestoreResourceList", true, "restore-", "-resource-list.json.gz"},
    [VR_TK_RESTORE_ITEM_OPERATIONS] = {"RestoreItemOperations", true,
                                       "restore-", "-itemoperations.json.gz"},
    [VR_TK_CSI_BACKUP_VOLUME_SNAPSHOTS] = {"CSIBackupVolumeSnapshots", false,
                                           "", "-csi-volumesnapshots.json.gz"},
    [VR_TK_CSI_BACKUP_VOLUME_SNAPSHOT_CONTENTS] = {"CSIBackupVolumeSnapshotContents", false,
                                                   "", "-csi-volumesnapshotcontents.json.gz"},
    [VR_TK_BACKUP_VOLUME_INFOS] = {"BackupVolumeInfos", false, "", "-volumeinfo.json.gz"},
    /* The one restore file without the "restore-" prefix (velero.md §3). */
    [VR_TK_RESTORE_VOLUME_INFO] = {"RestoreVolumeInfo", true, "", "-volumeinfo.json.gz"},
};

const char *vr_target_kind_name(enum vr_target_kind k)
{
    return (unsigned)k < VR_TARGET_KIND_COUNT ? kinds[k].name : "?";
}

int vr_target_kind_parse(const char *s, enum vr_target_kind *out)
{
    for (unsigned i = 0; s && i < VR_TARGET_KIND_COUNT; i++) {
        if (!strcmp(s, kinds[i].name)) {
            *out = (enum vr_target_kind)i;
            return 0;
        }
    }
    return VR_EINVAL;
}

bool vr_target_kind_is_restore(enum vr_target_kind k)
{
    return (unsigned)k < VR_TARGET_KIND_COUNT && kinds[k].restore;
}

/* Go's path.Clean for a relative path, in place: drops empty and "." segments and resolves
 * ".." against the previous segment. */
static void clean_path(char *p)
{
    size_t w = 0;
    const char *r = p;
    while (*r) {
        size_t n = strcspn(r, "/");
        if ((n == 1 && r[0] == '.') || n == 0) {
            /* skip */
        } else if (n == 2 && r[0] == '.' && r[1] == '.' && w > 0 &&
                   !(w >= 2 && p[w - 1] == '.' && p[w - 2] == '.' &&
                     (w == 2 || p[w - 3] == '/'))) {
            while (w > 0 && p[w - 1] != '/')
                w--;
            w = w > 0 ? w - 1 : 0;
        } else {
            if (w > 0)
                p[w++] = '/';
            memmove(p + w, r, n);
            w += n;
        }
        r += n;
        if (*r == '/')
            r++;
    }
    p[w] = '\0';
}

int vr_objkey_build(enum vr_target_kind kind, const char *prefix, const char *name, char *out,
                    size_t cap)
{
    if ((unsigned)kind >= VR_TARGET_KIND_COUNT || !name || !*name || cap == 0)
        return VR_EINVAL;
    out[0] = '\0';
    const struct kind_row *k = &kinds[kind];
    const char *dir = k->restore ? "restores" : "backups";
    int n = snprintf(out, cap, "%s/%s/%s/%s%s%s", prefix ? prefix : "", dir, name, k->pre, name,
                     k->post);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return VR_ETOOBIG;
    }
    clean_path(out);
    return 0;
}
