/* `backup describe`: the Backup Volumes section, from BackupVolumeInfos or, for backups
 * older than that file, from the legacy snapshot files. */
#include "cli/describe_int.h"

#include <stdio.h>
#include <string.h>

void vr__describe_backup_volumes(struct vr__dctx *c, const cJSON *b);

static const char *file_err(const struct vr_dfile *f)
{
    return f->state == VR_DFILE_NOT_FOUND ? "file not found" : f->err;
}

/* Reads one legacy file as an array; on failure writes Velero's wrapped message
 * ("error to download <what>: ..." / "error to decode <what>: ...") into err. */
static cJSON *legacy_array(struct vr__dctx *c, enum vr_dkind k, const char *what,
                           const char *gotype, char *err, size_t errlen)
{
    char perr[200];
    const struct vr_dfile *f = vr__dctx_file(c, k);
    if (f->state != VR_DFILE_OK) {
        snprintf(err, errlen, "error to download %s: %s", what, file_err(f));
        return NULL;
    }
    cJSON *arr = vr__dparse(f->data, cJSON_Array, gotype, perr, sizeof(perr));
    if (!arr) {
        snprintf(err, errlen, "error to decode %s: %s", what, perr);
    } else if (cJSON_IsNull(arr)) {
        cJSON_Delete(arr);
        arr = cJSON_CreateArray();
    }
    return arr;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    (void)cJSON_AddStringToObject(o, k, v ? v : "");
}

/* Native snapshots from BackupVolumeSnapshots, appended to out as BackupVolumeInfos. */
static int legacy_native(struct vr__dctx *c, const cJSON *b, cJSON *out, char *err, size_t n)
{
    const cJSON *s;
    char iops[32];
    if (vr__jint(b, "status.volumeSnapshotsAttempted") == 0)
        return 0;
    cJSON *snaps = legacy_array(c, VR_DK_BACKUP_VOLUME_SNAPSHOTS, "native snapshot info",
                                "[]*volume.Snapshot", err, n);
    if (!snaps)
        return -1;
    cJSON_ArrayForEach(s, snaps)
    {
        cJSON *vi = cJSON_CreateObject(), *ni = cJSON_AddObjectToObject(vi, "nativeSnapshotInfo");
        add_str(vi, "pvName", vr__jstr(s, "spec.persistentVolumeName", ""));
        add_str(vi, "backupMethod", "NativeSnapshot");
        add_str(ni, "snapshotHandle", vr__jstr(s, "status.providerSnapshotID", ""));
        add_str(ni, "volumeType", vr__jstr(s, "spec.volumeType", ""));
        add_str(ni, "volumeAZ", vr__jstr(s, "spec.volumeAZ", ""));
        iops[0] = '\0';
        if (cJSON_IsNumber(vr__j(s, "spec.volumeIOPS")))
            snprintf(iops, sizeof(iops), "%lld", (long long)vr__jint(s, "spec.volumeIOPS"));
        add_str(ni, "iops", iops);
        cJSON_AddItemToArray(out, vi);
    }
    cJSON_Delete(snaps);
    return 0;
}

/* The PVC bound to content vsc, from the VolumeSnapshot list. */
static void legacy_pvc(const cJSON *vs_list, const char *vsc, cJSON *vi)
{
    const cJSON *vs;
    const char *pvc = NULL, *ns = "";
    cJSON_ArrayForEach(vs, vs_list)
    {
        const char *bound = vr__jstr(vs, "status.boundVolumeSnapshotContentName", NULL);
        const char *claim = vr__jstr(vs, "spec.source.persistentVolumeClaimName", NULL);
        if (bound && claim && strcmp(bound, vsc) == 0) {
            pvc = claim;
            ns = vr__jstr(vs, "metadata.namespace", "");
        }
    }
    add_str(vi, "pvcName", pvc ? pvc : "<PVC name not found>");
    add_str(vi, "pvcNamespace", pvc ? ns : "");
}

/* CSI snapshots from the VolumeSnapshot and VolumeSnapshotContent lists. */
static int legacy_csi(struct vr__dctx *c, const cJSON *b, cJSON *out, char *err, size_t n)
{
    const cJSON *vsc;
    if (vr__jint(b, "status.csiVolumeSnapshotsAttempted") == 0)
        return 0;
    cJSON *vs = legacy_array(c, VR_DK_CSI_VOLUME_SNAPSHOTS, "vs list", "[]v1.VolumeSnapshot",
                             err, n);
    if (!vs)
        return -1;
    cJSON *vscs = legacy_array(c, VR_DK_CSI_VOLUME_SNAPSHOT_CONTENTS, "vsc list",
                               "[]v1.VolumeSnapshotContent", err, n);
    if (!vscs) {
        cJSON_Delete(vs);
        return -1;
    }
    cJSON_ArrayForEach(vsc, vscs)
    {
        cJSON *vi = cJSON_CreateObject(), *ci = cJSON_AddObjectToObject(vi, "csiSnapshotInfo");
        add_str(vi, "backupMethod", "CSISnapshot");
        cJSON_AddBoolToObject(vi, "preserveLocalSnapshot", 1);
        add_str(ci, "vscName", vr__jstr(vsc, "metadata.name", ""));
        add_str(ci, "driver", vr__jstr(vsc, "spec.driver", ""));
        add_str(ci, "snapshotHandle", vr__jstr(vsc, "status.snapshotHandle", ""));
        cJSON_AddNumberToObject(ci, "size", (double)vr__jint(vsc, "status.restoreSize"));
        legacy_pvc(vs, vr__jstr(vsc, "metadata.name", ""), vi);
        cJSON_AddItemToArray(out, vi);
    }
    cJSON_Delete(vscs);
    cJSON_Delete(vs);
    return 0;
}

static void describe_native(struct vr__dctx *c, const cJSON *infos)
{
    const cJSON *vi;
    bool any = false;
    cJSON_ArrayForEach(vi, infos)
    {
        if (strcmp(vr__jstr(vi, "backupMethod", ""), "NativeSnapshot") != 0)
            continue;
        if (!any)
            vr__p(c, "\tVelero-Native Snapshots:\n");
        any = true;
        const char *pv = vr__jstr(vi, "pvName", "");
        if (!c->details) {
            vr__p(c, "\t\t%s: specify --details for more information\n", pv);
            continue;
        }
        const cJSON *ni = vr__j(vi, "nativeSnapshotInfo");
        vr__p(c, "\t\t%s:\n\t\t\tSnapshot ID:\t%s\n\t\t\tType:\t%s\n", pv,
              vr__jstr(ni, "snapshotHandle", ""), vr__jstr(ni, "volumeType", ""));
        vr__p(c, "\t\t\tAvailability Zone:\t%s\n\t\t\tIOPS:\t%s\n\t\t\tResult:\t%s\n",
              vr__jstr(ni, "volumeAZ", ""), vr__jstr(ni, "iops", ""), vr__jstr(vi, "result", ""));
    }
    if (!any)
        vr__p(c, "\tVelero-Native Snapshots: <none included>\n");
}

static void describe_csi_one(struct vr__dctx *c, const cJSON *vi)
{
    const cJSON *ci = vr__j(vi, "csiSnapshotInfo"), *dm = vr__j(vi, "snapshotDataMovementInfo");
    bool moved = vr__jbool(vi, "snapshotDataMoved") == 1;
    vr__p(c, "\t\t%s/%s:\n", vr__jstr(vi, "pvcNamespace", ""), vr__jstr(vi, "pvcName", ""));
    if (vr__jbool(vi, "preserveLocalSnapshot") == 1 && !c->details) {
        vr__p(c, "\t\t\tSnapshot: included, specify --details for more information\n");
    } else if (vr__jbool(vi, "preserveLocalSnapshot") == 1) {
        vr__p(c, "\t\t\tSnapshot:\n");
        if (!moved && *vr__jstr(ci, "operationID", "") != '\0')
            vr__p(c, "\t\t\t\tOperation ID: %s\n", vr__jstr(ci, "operationID", ""));
        vr__p(c, "\t\t\t\tSnapshot Content Name: %s\n\t\t\t\tStorage Snapshot ID: %s\n",
              vr__jstr(ci, "vscName", ""), vr__jstr(ci, "snapshotHandle", ""));
        vr__p(c, "\t\t\t\tSnapshot Size (bytes): %lld\n\t\t\t\tCSI Driver: %s\n",
              (long long)vr__jint(ci, "size"), vr__jstr(ci, "driver", ""));
        vr__p(c, "\t\t\t\tResult: %s\n", vr__jstr(vi, "result", ""));
    }
    if (moved && !c->details) {
        vr__p(c, "\t\t\tData Movement: included, specify --details for more information\n");
    } else if (moved) {
        const char *mover = vr__jstr(dm, "dataMover", "");
        vr__p(c, "\t\t\tData Movement:\n\t\t\t\tOperation ID: %s\n\t\t\t\tData Mover: %s\n",
              vr__jstr(dm, "operationID", ""), *mover ? mover : "velero");
        vr__p(c, "\t\t\t\tUploader Type: %s\n\t\t\t\tMoved data Size (bytes): %lld\n",
              vr__jstr(dm, "uploaderType", ""), (long long)vr__jint(dm, "size"));
        vr__p(c, "\t\t\t\tResult: %s\n", vr__jstr(vi, "result", ""));
    }
}

static void describe_csi(struct vr__dctx *c, const cJSON *infos, bool legacy)
{
    const cJSON *vi;
    bool any = false;
    cJSON_ArrayForEach(vi, infos)
    {
        if (strcmp(vr__jstr(vi, "backupMethod", ""), "CSISnapshot") != 0)
            continue;
        if (!any)
            vr__p(c, "\tCSI Snapshots:\n");
        any = true;
        describe_csi_one(c, vi);
    }
    if (!any)
        vr__p(c, "\tCSI Snapshots: %s\n",
              legacy ? "<none included or not detectable>" : "<none included>");
}

/* The volume infos, from the file or the legacy files; NULL after printing an error. */
static cJSON *volume_infos(struct vr__dctx *c, const cJSON *b, bool *legacy)
{
    char err[256];
    const struct vr_dfile *f = vr__dctx_file(c, VR_DK_BACKUP_VOLUME_INFOS);
    *legacy = f->state == VR_DFILE_NOT_FOUND;
    if (*legacy) {
        cJSON *infos = cJSON_CreateArray();
        if (legacy_native(c, b, infos, err, sizeof(err)) < 0) {
            vr__p(c, "\t<error concluding native snapshot info: %s>\n", err);
        } else if (legacy_csi(c, b, infos, err, sizeof(err)) < 0) {
            vr__p(c, "\t<error concluding CSI snapshot info: %s>\n", err);
        } else {
            return infos;
        }
        cJSON_Delete(infos);
        return NULL;
    }
    if (f->state != VR_DFILE_OK) {
        vr__p(c, "\t<error getting backup volume info: %s>\n", f->err);
        return NULL;
    }
    cJSON *infos = vr__dparse(f->data, cJSON_Array, "[]volume.BackupVolumeInfo", err, sizeof(err));
    if (!infos)
        vr__p(c, "\t<error reading backup volume info: %s>\n", err);
    return infos;
}

void vr__describe_backup_volumes(struct vr__dctx *c, const cJSON *b)
{
    bool legacy;
    vr__p(c, "Backup Volumes:\n");
    cJSON *infos = volume_infos(c, b, &legacy);
    if (!infos)
        return;
    describe_native(c, infos);
    vr__ln(c);
    describe_csi(c, infos, legacy);
    vr__ln(c);
    /* PodVolumeBackups are API objects, not stored files: vreq does not read them. */
    vr__p(c, "\tPod Volume Backups: <none included>\n");
    cJSON_Delete(infos);
}
