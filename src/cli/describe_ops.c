/* Describe renderers: backup and restore item operations. */
#include "cli/describe_int.h"

#include <stdio.h>
#include <string.h>

/* A ResourceIdentifier as Go prints it: "<resource>[.<group>] <namespace>/<name>". */
static void print_resource_id(struct vr__dctx *c, const char *pre, const cJSON *id,
                              const char *post)
{
    const char *group = vr__jstr(id, "Group", "");
    vr__p(c, "%s%s%s%s %s/%s%s", pre, vr__jstr(id, "Resource", ""), *group ? "." : "", group,
          vr__jstr(id, "Namespace", ""), vr__jstr(id, "Name", ""), post);
}

static void print_op_times(struct vr__dctx *c, const cJSON *st)
{
    static const char *const names[][2] = {
        {"created", "Created"}, {"started", "Started"}, {"updated", "Updated"}};
    char t[64];
    for (size_t i = 0; i < 3; i++) {
        if (!vr__j(st, names[i][0]) || cJSON_IsNull(vr__j(st, names[i][0])))
            continue;
        vr__jtime(st, names[i][0], t, sizeof(t));
        vr__p(c, "\t\t%s:\t%s\n", names[i][1], t);
    }
}

static void describe_op(struct vr__dctx *c, const cJSON *op, bool backup)
{
    const cJSON *spec = vr__j(op, "spec"), *st = vr__j(op, "status"), *e;
    print_resource_id(c, "\tOperation for ", vr__j(spec, "resourceIdentifier"), ":\n");
    if (backup)
        vr__p(c, "\t\tBackup Item Action Plugin:\t%s\n", vr__jstr(spec, "backupItemAction", ""));
    else
        vr__p(c, "\t\tRestore Item Action Plugin:\t%s\n", vr__jstr(spec, "restoreItemAction", ""));
    vr__p(c, "\t\tOperation ID:\t%s\n", vr__jstr(spec, "operationID", ""));
    if (backup && vr__jlen(spec, "postOperationItems") > 0)
        vr__p(c, "\t\tItems to Update:\n");
    cJSON_ArrayForEach(e, (backup ? vr__j(spec, "postOperationItems") : NULL))
        print_resource_id(c, "\t\t\t", e, "\n");
    vr__p(c, "\t\tPhase:\t%s\n", vr__jstr(st, "phase", ""));
    if (*vr__jstr(st, "error", "") != '\0')
        vr__p(c, "\t\tOperation Error:\t%s\n", vr__jstr(st, "error", ""));
    int64_t total = vr__jint(st, "nTotal"), done = vr__jint(st, "nCompleted");
    if (total > 0 || done > 0)
        vr__p(c, "\t\tProgress:\t%lld of %lld complete (%s)\n", (long long)done,
              (long long)total, vr__jstr(st, "operationUnits", ""));
    if (*vr__jstr(st, "description", "") != '\0')
        vr__p(c, "\t\tProgress description:\t%s\n", vr__jstr(st, "description", ""));
    print_op_times(c, st);
}

void vr__describe_item_operations(struct vr__dctx *c, const cJSON *obj, enum vr_dkind kind,
                                  bool backup)
{
    const char *title = backup ? "Backup Item Operations" : "Restore Item Operations";
    const char *pfx = backup ? "status.backupItemOperations" : "status.restoreItemOperations";
    char path[64], err[256];
    snprintf(path, sizeof(path), "%sAttempted", pfx);
    int64_t attempted = vr__jint(obj, path);
    if (attempted <= 0)
        return;
    if (!c->details) {
        snprintf(path, sizeof(path), "%sCompleted", pfx);
        int64_t completed = vr__jint(obj, path);
        snprintf(path, sizeof(path), "%sFailed", pfx);
        vr__p(c, "%s:\t%lld of %lld completed successfully, %lld failed (specify --details for "
                 "more information)\n",
              title, (long long)completed, (long long)attempted, (long long)vr__jint(obj, path));
        return;
    }
    const struct vr_dfile *f = vr__dctx_file(c, kind);
    if (f->state != VR_DFILE_OK) {
        vr__p(c, "%s:\t<error getting operation info: %s>\n", title,
              f->state == VR_DFILE_NOT_FOUND ? "file not found" : f->err);
        return;
    }
    cJSON *ops = vr__dparse(f->data, cJSON_Array, backup ? "[]*itemoperation.BackupOperation"
                                                         : "[]*itemoperation.RestoreOperation",
                            err, sizeof(err));
    if (!ops) {
        vr__p(c, "%s:\t<error reading operation info: %s>\n", title, err);
        return;
    }
    vr__p(c, "%s:\n", title);
    const cJSON *op;
    cJSON_ArrayForEach(op, (cJSON_IsArray(ops) ? ops : NULL)) describe_op(c, op, backup);
    cJSON_Delete(ops);
}
