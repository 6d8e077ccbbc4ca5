/*
 * DownloadRequest target kinds and Velero's object keys (velero.md §3, after Velero's
 * pkg/persistence/object_store_layout.go). Pure: no I/O, no logging.
 */
#ifndef VR_CONTROLLER_OBJKEY_H
#define VR_CONTROLLER_OBJKEY_H

#include <stdbool.h>
#include <stddef.h>

/* The 14 target kinds of the newest Velero. */
enum vr_target_kind {
    VR_TK_BACKUP_LOG,
    VR_TK_BACKUP_CONTENTS,
    VR_TK_BACKUP_VOLUME_SNAPSHOTS,
    VR_TK_BACKUP_ITEM_OPERATIONS,
    VR_TK_BACKUP_RESOURCE_LIST,
    VR_TK_BACKUP_RESULTS,
    VR_TK_RESTORE_LOG,
    VR_TK_RESTORE_RESULTS,
    VR_TK_RESTORE_RESOURCE_LIST,
    VR_TK_RESTORE_ITEM_OPERATIONS,
    VR_TK_CSI_BACKUP_VOLUME_SNAPSHOTS,
    VR_TK_CSI_BACKUP_VOLUME_SNAPSHOT_CONTENTS,
    VR_TK_BACKUP_VOLUME_INFOS,
    VR_TK_RESTORE_VOLUME_INFO,
};

#define VR_TARGET_KIND_COUNT 14

/* Longest object key produced (a prefix beyond this is VR_ETOOBIG). */
#define VR_OBJKEY_MAX 1024

/* The CRD spelling ("BackupLog", ...); never NULL. */
const char *vr_target_kind_name(enum vr_target_kind k);

/* Parses the exact CRD spelling (case-sensitive, as the CRD enum). 0 or VR_EINVAL. */
int vr_target_kind_parse(const char *s, enum vr_target_kind *out);

/* Whether the target names a Restore (whose spec.backupName leads to the Backup). */
bool vr_target_kind_is_restore(enum vr_target_kind k);

/*
 * Writes the object key of kind for the backup or restore called name under the BSL's
 * prefix into out (cap bytes, NUL-terminated). The prefix loses leading and trailing '/';
 * a non-empty one gets one '/' appended; the key is then cleaned like Go's path.Join (no
 * "//", no "." segments, ".." resolved). Restore kinds use the restore's name.
 * 0, VR_EINVAL (empty name) or VR_ETOOBIG (out is left empty).
 */
int vr_objkey_build(enum vr_target_kind kind, const char *prefix, const char *name, char *out,
                    size_t cap);

#endif
