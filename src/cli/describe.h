/*
 * Renderers for `vreq backup describe` and `vreq restore describe`: given the Backup or
 * Restore object and the files downloaded for it, produce the text Velero's
 * `velero backup describe [--details]` / `velero restore describe [--details]` prints
 * (Velero 1.17/1.18 layout, tabwriter alignment included), restricted to what the object
 * and the stored files provide: no DeleteBackupRequests, PodVolumeBackups or
 * PodVolumeRestores are read (pod volume sections show "<none included>" / nothing).
 * Colours are never used (Velero's are off whenever stdout is not a terminal).
 *
 * Which files are needed depends on the object and on the outcome of earlier downloads
 * (BackupVolumeInfos missing => the legacy snapshot files), so the caller asks
 * vr_describe_*_next for the next kind to fetch, records the outcome in the files table,
 * and asks again until it says none; then it renders. Pure: no I/O (times are printed in
 * the local zone, as Velero does).
 */
#ifndef VR_CLI_DESCRIBE_H
#define VR_CLI_DESCRIBE_H
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "vreq/buf.h"
#include "vreq/str.h"

/* The files a describe can use, in the order Velero requests them. */
enum vr_dkind {
    VR_DK_BACKUP_RESULTS,
    VR_DK_BACKUP_ITEM_OPERATIONS,
    VR_DK_BACKUP_RESOURCE_LIST,
    VR_DK_BACKUP_VOLUME_INFOS,
    VR_DK_BACKUP_VOLUME_SNAPSHOTS,
    VR_DK_CSI_VOLUME_SNAPSHOTS,
    VR_DK_CSI_VOLUME_SNAPSHOT_CONTENTS,
    VR_DK_RESTORE_RESULTS,
    VR_DK_RESTORE_VOLUME_INFO,
    VR_DK_RESTORE_ITEM_OPERATIONS,
    VR_DK_RESTORE_RESOURCE_LIST,
    VR_DK_COUNT
};

/* The DownloadRequest target kind of k ("BackupResults", ...). */
const char *vr_dkind_target(enum vr_dkind k);

enum vr_dfile_state {
    VR_DFILE_ABSENT,    /* not fetched (yet) */
    VR_DFILE_OK,        /* data holds the contents */
    VR_DFILE_NOT_FOUND, /* the object store answered 404 */
    VR_DFILE_ERROR,     /* err holds the one-line reason */
};

/* One file's outcome. data and err are borrowed. */
struct vr_dfile {
    enum vr_dfile_state state;
    struct vr_str data;
    const char *err;
};

struct vr_dfiles {
    struct vr_dfile f[VR_DK_COUNT];
};

/* The next file the backup describe needs that is still VR_DFILE_ABSENT in files: true
 * with *out written, or false when everything needed is there. */
bool vr_describe_backup_next(const cJSON *backup, bool details, const struct vr_dfiles *files,
                             enum vr_dkind *out);
/* Appends the describe text of backup to out. 0, or VR_ETOOBIG (out's cap). */
int vr_describe_backup(const cJSON *backup, bool details, const struct vr_dfiles *files,
                       struct vr_buf *out);
/* The same for a restore. */
bool vr_describe_restore_next(const cJSON *restore, bool details,
                              const struct vr_dfiles *files, enum vr_dkind *out);
int vr_describe_restore(const cJSON *restore, bool details, const struct vr_dfiles *files,
                        struct vr_buf *out);

#endif
