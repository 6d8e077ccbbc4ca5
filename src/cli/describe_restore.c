/* `restore describe` renderer (see describe.h). */
#include "cli/describe_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void list_line(struct vr__dctx *c, const char *label, const cJSON *o, const char *path,
                      const char *dflt)
{
    struct vr_buf s;
    vr_buf_init(&s, (size_t)1 << 24);
    vr__jjoin(o, path, ", ", dflt, &s);
    vr__p(c, "%s\t%s\n", label, s.p ? s.p : "");
    vr_buf_cleanup(&s);
}

static void describe_head(struct vr__dctx *c, const cJSON *r)
{
    const char *phase = vr__jstr(r, "status.phase", "");
    const char *del = vr__j(r, "metadata.deletionTimestamp") ? " (Deleting)" : "";
    const cJSON *prog = vr__j(r, "status.progress"), *e;
    char t[64];
    if (strcmp(phase, "Failed") == 0 || strcmp(phase, "PartiallyFailed") == 0)
        vr__p(c, "Phase:\t%s%s (run 'velero restore logs %s' for more information)\n", phase, del,
              vr__jstr(r, "metadata.name", ""));
    else
        vr__p(c, "Phase:\t%s%s\n", *phase ? phase : "New", del);
    if (cJSON_IsObject(prog)) {
        bool running = strcmp(phase, "InProgress") == 0;
        vr__p(c, running ? "Estimated total items to be restored:\t%lld\n"
                         : "Total items to be restored:\t%lld\n",
              (long long)vr__jint(prog, "totalItems"));
        vr__p(c, running ? "Items restored so far:\t%lld\n" : "Items restored:\t%lld\n",
              (long long)vr__jint(prog, "itemsRestored"));
    }
    vr__p(c, "\nStarted:\t%s\n", vr__jtime(r, "status.startTimestamp", t, sizeof(t)) ? t : "<n/a>");
    vr__p(c, "Completed:\t%s\n",
          vr__jtime(r, "status.completionTimestamp", t, sizeof(t)) ? t : "<n/a>");
    if (vr__jlen(r, "status.validationErrors") > 0) {
        vr__p(c, "\nValidation errors:");
        cJSON_ArrayForEach(e, vr__j(r, "status.validationErrors"))
            vr__p(c, "\t%s\n", cJSON_IsString(e) ? e->valuestring : "");
    }
}

static void describe_filters(struct vr__dctx *c, const cJSON *spec)
{
    struct vr_buf s, one;
    const cJSON *inc = vr__j(spec, "includedNamespaces"), *e;
    const cJSON *first = cJSON_IsArray(inc) ? cJSON_GetArrayItem(inc, 0) : NULL;
    vr__p(c, "\nBackup:\t%s\n\nNamespaces:\n", vr__jstr(spec, "backupName", ""));
    if (vr__jlen(spec, "includedNamespaces") == 0 ||
        (vr__jlen(spec, "includedNamespaces") == 1 && cJSON_IsString(first) &&
         strcmp(first->valuestring, "*") == 0))
        vr__p(c, "\tIncluded:\tall namespaces found in the backup\n");
    else
        list_line(c, "\tIncluded:", spec, "includedNamespaces", "");
    list_line(c, "\tExcluded:", spec, "excludedNamespaces", VR__NONE);
    vr__p(c, "\nResources:\n");
    list_line(c, "\tIncluded:", spec, "includedResources", "*");
    list_line(c, "\tExcluded:", spec, "excludedResources", VR__NONE);
    vr__p(c, "\tCluster-scoped:\t%s\n\n",
          vr__jboolstr(spec, "includeClusterResources", "excluded", "included", "auto"));
    vr__describe_map(c, "Namespace mappings", vr__j(spec, "namespaceMapping"));
    vr_buf_init(&s, (size_t)1 << 24);
    vr_buf_init(&one, (size_t)1 << 24);
    if (cJSON_IsObject(vr__j(spec, "labelSelector")))
        vr__label_selector(vr__j(spec, "labelSelector"), &s);
    vr__p(c, "\nLabel selector:\t%s\n", s.len ? s.p : VR__NONE);
    vr_buf_reset(&s);
    cJSON_ArrayForEach(e, vr__j(spec, "orLabelSelectors"))
    {
        vr__label_selector(e, &one);
        (void)vr_buf_printf(&s, "%s%s", s.len ? " or " : "", one.p ? one.p : "");
    }
    vr__p(c, "\nOr label selector:\t%s\n", s.len ? s.p : VR__NONE);
    vr_buf_cleanup(&one);
    vr_buf_cleanup(&s);
    vr__p(c, "\nRestore PVs:\t%s\n", vr__jboolstr(spec, "restorePVs", "false", "true", "auto"));
}

static int cmp_vol(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int r = strcmp(vr__jstr(x, "pvcNamespace", ""), vr__jstr(y, "pvcNamespace", ""));
    if (r == 0)
        r = strcmp(vr__jstr(x, "pvcName", ""), vr__jstr(y, "pvcName", ""));
    return r;
}

static void describe_csi_restore(struct vr__dctx *c, const cJSON *vi)
{
    const cJSON *ci = vr__j(vi, "csiSnapshotInfo"), *dm = vr__j(vi, "snapshotDataMovementInfo");
    vr__p(c, "\t%s/%s:\n", vr__jstr(vi, "pvcNamespace", ""), vr__jstr(vi, "pvcName", ""));
    if (vr__jbool(vi, "snapshotDataMoved") == 1) {
        const char *mover = vr__jstr(dm, "dataMover", "");
        if (!c->details) {
            vr__p(c, "\t\tData Movement: specify --details for more information\n");
            return;
        }
        vr__p(c, "\t\tData Movement:\n\t\t\tOperation ID: %s\n\t\t\tData Mover: %s\n",
              vr__jstr(dm, "operationID", ""), *mover ? mover : "velero");
        vr__p(c, "\t\t\tUploader Type: %s\n", vr__jstr(dm, "uploaderType", ""));
    } else if (cJSON_IsObject(ci)) {
        if (!c->details) {
            vr__p(c, "\t\tSnapshot: specify --details for more information\n");
            return;
        }
        vr__p(c, "\t\tSnapshot:\n\t\t\tSnapshot Content Name: %s\n", vr__jstr(ci, "vscName", ""));
        vr__p(c, "\t\t\tStorage Snapshot ID: %s\n\t\t\tCSI Driver: %s\n",
              vr__jstr(ci, "snapshotHandle", ""), vr__jstr(ci, "driver", ""));
    }
}

/* "CSI Snapshot Restores" from RestoreVolumeInfo, sorted by PVC namespace/name. */
static void describe_volume_info(struct vr__dctx *c)
{
    char err[256];
    const struct vr_dfile *f = vr__dctx_file(c, VR_DK_RESTORE_VOLUME_INFO);
    const cJSON *vi;
    if (f->state == VR_DFILE_ERROR) {
        vr__p(c, "\nCSI Snapshot Restores:\t<error getting restore volume info: %s>\n", f->err);
        return;
    }
    cJSON *infos = f->state == VR_DFILE_OK ? vr__dparse(f->data, cJSON_Array,
                                                        "[]volume.RestoreVolumeInfo", err,
                                                        sizeof(err))
                                           : cJSON_CreateArray();
    if (!infos) {
        vr__p(c, "\nCSI Snapshot Restores:\t<error reading restore volume info: %s>\n", err);
        return;
    }
    size_t n = 0, total = (size_t)(cJSON_IsArray(infos) ? cJSON_GetArraySize(infos) : 0);
    const cJSON **csi = vr_xcalloc(total + 1, sizeof(*csi));
    cJSON_ArrayForEach(vi, (cJSON_IsArray(infos) ? infos : NULL))
        if (strcmp(vr__jstr(vi, "restoreMethod", ""), "CSISnapshot") == 0)
            csi[n++] = vi;
    qsort(csi, n, sizeof(*csi), cmp_vol);
    vr__p(c, n ? "\nCSI Snapshot Restores:\n" : "\nCSI Snapshot Restores: <none included>\n");
    for (size_t i = 0; i < n; i++)
        describe_csi_restore(c, csi[i]);
    vr_free(csi);
    cJSON_Delete(infos);
}

static void describe_tail(struct vr__dctx *c, const cJSON *r)
{
    char d[32];
    const cJSON *spec = vr__j(r, "spec"), *uc = vr__j(spec, "uploaderConfig");
    const char *erp = vr__jstr(spec, "existingResourcePolicy", "");
    vr__jduration(spec, "itemOperationTimeout", d, sizeof(d));
    vr__p(c, "\nExisting Resource Policy: \t%s\nItemOperationTimeout:\t%s\n", *erp ? erp : VR__NONE,
          d);
    vr__p(c, "\nPreserve Service NodePorts:\t%s\n",
          vr__jboolstr(spec, "preserveNodePorts", "false", "true", "auto"));
    if (cJSON_IsObject(uc)) {
        vr__p(c, "\nUploader config:\n");
        if (vr__jbool(uc, "writeSparseFiles") == 1)
            vr__p(c, "\tWrite Sparse Files:\ttrue\n");
        if (vr__jint(uc, "parallelFilesDownload") > 0)
            vr__p(c, "\tParallel Restore:\t%lld\n", (long long)vr__jint(uc, "parallelFilesDownload"));
    }
    vr__ln(c);
    vr__describe_item_operations(c, r, VR_DK_RESTORE_ITEM_OPERATIONS, false);
    if (cJSON_IsObject(vr__j(r, "status.hookStatus")))
        vr__p(c, "\nHooksAttempted: \t%lld\nHooksFailed: \t%lld\n",
              (long long)vr__jint(r, "status.hookStatus.hooksAttempted"),
              (long long)vr__jint(r, "status.hookStatus.hooksFailed"));
    if (c->details) {
        vr__ln(c);
        vr__describe_resource_list(c, VR_DK_RESTORE_RESOURCE_LIST, "restore");
    }
}

static int render(struct vr__dctx *c, const cJSON *r)
{
    vr__describe_metadata(c, r);
    vr__ln(c);
    describe_head(c, r);
    vr__describe_results_file(c, r, VR_DK_RESTORE_RESULTS, false);
    describe_filters(c, vr__j(r, "spec"));
    describe_volume_info(c);
    describe_tail(c, r);
    int rc = vr_tw_flush(&c->tw);
    vr_tw_cleanup(&c->tw);
    return rc;
}

bool vr_describe_restore_next(const cJSON *restore, bool details, const struct vr_dfiles *files,
                              enum vr_dkind *out)
{
    return vr__describe_probe(render, restore, details, files, out);
}

int vr_describe_restore(const cJSON *restore, bool details, const struct vr_dfiles *files,
                        struct vr_buf *out)
{
    return vr__describe_run(render, restore, details, files, out);
}
