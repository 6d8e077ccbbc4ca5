/* `backup describe` renderer (see describe.h). */
#include "cli/describe_int.h"

#include <stdio.h>
#include <string.h>

#include "vreq/err.h"

static void describe_phase(struct vr__dctx *c, const cJSON *b)
{
    const char *phase = vr__jstr(b, "status.phase", "");
    const char *shown = *phase ? phase : "New";
    const cJSON *e;
    if (strcmp(phase, "Failed") == 0 || strcmp(phase, "PartiallyFailed") == 0)
        vr__p(c, "Phase:\t%s (run `velero backup logs %s` for more information)\n", shown,
              vr__jstr(b, "metadata.name", ""));
    else
        vr__p(c, "Phase:\t%s\n", shown);
    const cJSON *rp = vr__j(b, "spec.resourcePolicy");
    if (cJSON_IsObject(rp)) {
        vr__p(c, "\nResource policies:\n\tType:\t%s\n\tName:\t%s\n", vr__jstr(rp, "kind", ""),
              vr__jstr(rp, "name", ""));
    }
    int64_t pfu = vr__jint(b, "spec.uploaderConfig.parallelFilesUpload");
    if (pfu > 0)
        vr__p(c, "\nUploader config:\n\tParallel files upload:\t%lld\n", (long long)pfu);
    if (vr__jlen(b, "status.validationErrors") > 0) {
        vr__p(c, "\nValidation errors:");
        cJSON_ArrayForEach(e, vr__j(b, "status.validationErrors"))
            vr__p(c, "\t%s\n", cJSON_IsString(e) ? e->valuestring : "");
    }
}

/* "\tIncluded:\t..." style line from an array (dflt when empty). */
static void list_line(struct vr__dctx *c, const char *label, const cJSON *o, const char *path,
                      const char *dflt)
{
    struct vr_buf s;
    vr_buf_init(&s, (size_t)1 << 24);
    vr__jjoin(o, path, ", ", dflt, &s);
    vr__p(c, "%s\t%s\n", label, s.p ? s.p : "");
    vr_buf_cleanup(&s);
}

static bool use_old_resource_filters(const cJSON *spec)
{
    static const char *const newer[] = {
        "includedClusterScopedResources", "excludedClusterScopedResources",
        "includedNamespaceScopedResources", "excludedNamespaceScopedResources"};
    if (vr__jbool(spec, "includeClusterResources") >= 0 ||
        vr__jlen(spec, "includedResources") > 0 || vr__jlen(spec, "excludedResources") > 0)
        return true;
    for (size_t i = 0; i < sizeof(newer) / sizeof(newer[0]); i++)
        if (vr__jlen(spec, newer[i]) > 0)
            return false;
    return true;
}

static void describe_resources(struct vr__dctx *c, const cJSON *spec)
{
    vr__p(c, "Resources:\n");
    if (use_old_resource_filters(spec)) {
        list_line(c, "\tIncluded:", spec, "includedResources", "*");
        list_line(c, "\tExcluded:", spec, "excludedResources", VR__NONE);
        vr__p(c, "\tCluster-scoped:\t%s\n",
              vr__jboolstr(spec, "includeClusterResources", "excluded", "included", "auto"));
        return;
    }
    list_line(c, "\tIncluded cluster-scoped:", spec, "includedClusterScopedResources", VR__NONE);
    list_line(c, "\tExcluded cluster-scoped:", spec, "excludedClusterScopedResources", VR__NONE);
    list_line(c, "\tIncluded namespace-scoped:", spec, "includedNamespaceScopedResources", "*");
    list_line(c, "\tExcluded namespace-scoped:", spec, "excludedNamespaceScopedResources",
              VR__NONE);
}

static void describe_selectors(struct vr__dctx *c, const cJSON *spec, const char *pre)
{
    struct vr_buf s, one;
    const cJSON *sel = vr__j(spec, "labelSelector"), *e;
    vr_buf_init(&s, (size_t)1 << 24);
    vr_buf_init(&one, (size_t)1 << 24);
    if (cJSON_IsObject(sel))
        vr__label_selector(sel, &s);
    vr__p(c, "%sLabel selector:\t%s\n", pre, cJSON_IsObject(sel) && s.p ? s.p : VR__NONE);
    if (*pre == '\0') {
        vr_buf_reset(&s);
        cJSON_ArrayForEach(e, vr__j(spec, "orLabelSelectors"))
        {
            vr__label_selector(e, &one);
            (void)vr_buf_printf(&s, "%s%s", s.len ? " or " : "", one.p ? one.p : "");
        }
        vr__p(c, "\nOr label selector:\t%s\n", s.len ? s.p : VR__NONE);
    }
    vr_buf_cleanup(&one);
    vr_buf_cleanup(&s);
}

static void describe_exec_hooks(struct vr__dctx *c, const cJSON *hooks, const char *what)
{
    const cJSON *h;
    char d[32];
    struct vr_buf cmd;
    vr_buf_init(&cmd, (size_t)1 << 24);
    cJSON_ArrayForEach(h, (cJSON_IsArray(hooks) ? hooks : NULL))
    {
        const cJSON *ex = vr__j(h, "exec");
        if (!cJSON_IsObject(ex))
            continue;
        vr__jjoin(ex, "command", " ", "", &cmd);
        vr__jduration(ex, "timeout", d, sizeof(d));
        vr__p(c, "\n\t\t\t%s Exec Hook:\n\t\t\t\tContainer:\t%s\n\t\t\t\tCommand:\t%s\n", what,
              vr__jstr(ex, "container", ""), cmd.p ? cmd.p : "");
        vr__p(c, "\t\t\t\tOn Error:\t%s\n\t\t\t\tTimeout:\t%s\n", vr__jstr(ex, "onError", ""), d);
    }
    vr_buf_cleanup(&cmd);
}

static void describe_hooks(struct vr__dctx *c, const cJSON *spec)
{
    const cJSON *res = vr__j(spec, "hooks.resources"), *h;
    if (vr__jlen(spec, "hooks.resources") == 0) {
        vr__p(c, "Hooks:\t%s\n", VR__NONE);
        return;
    }
    vr__p(c, "Hooks:\n\tResources:\n");
    cJSON_ArrayForEach(h, res)
    {
        vr__p(c, "\t\t%s:\n\t\t\tNamespaces:\n", vr__jstr(h, "name", ""));
        list_line(c, "\t\t\t\tIncluded:", h, "includedNamespaces", "*");
        list_line(c, "\t\t\t\tExcluded:", h, "excludedNamespaces", VR__NONE);
        vr__p(c, "\n\t\t\tResources:\n");
        list_line(c, "\t\t\t\tIncluded:", h, "includedResources", "*");
        list_line(c, "\t\t\t\tExcluded:", h, "excludedResources", VR__NONE);
        vr__ln(c);
        describe_selectors(c, h, "\t\t\t");
        describe_exec_hooks(c, vr__j(h, "pre"), "Pre");
        describe_exec_hooks(c, vr__j(h, "post"), "Post");
    }
}

static void describe_spec(struct vr__dctx *c, const cJSON *spec)
{
    char d[32];
    const cJSON *ordered = vr__j(spec, "orderedResources");
    vr__p(c, "Namespaces:\n");
    list_line(c, "\tIncluded:", spec, "includedNamespaces", "*");
    list_line(c, "\tExcluded:", spec, "excludedNamespaces", VR__NONE);
    vr__ln(c);
    describe_resources(c, spec);
    vr__ln(c);
    describe_selectors(c, spec, "");
    vr__p(c, "\nStorage Location:\t%s\n", vr__jstr(spec, "storageLocation", ""));
    vr__p(c, "\nVelero-Native Snapshot PVs:\t%s\n",
          vr__jboolstr(spec, "snapshotVolumes", "false", "true", "auto"));
    vr__p(c, "Snapshot Move Data:\t%s\n",
          vr__jboolstr(spec, "snapshotMoveData", "false", "true", "auto"));
    const char *dm = vr__jstr(spec, "datamover", "");
    vr__p(c, "Data Mover:\t%s\n", *dm ? dm : "velero");
    vr__jduration(spec, "ttl", d, sizeof(d));
    vr__p(c, "\nTTL:\t%s\n", d);
    vr__jduration(spec, "csiSnapshotTimeout", d, sizeof(d));
    vr__p(c, "\nCSISnapshotTimeout:\t%s\n", d);
    vr__jduration(spec, "itemOperationTimeout", d, sizeof(d));
    vr__p(c, "ItemOperationTimeout:\t%s\n\n", d);
    describe_hooks(c, spec);
    if (cJSON_IsObject(ordered)) {
        size_t n;
        const char **keys = vr__sorted_keys(ordered, &n);
        vr__p(c, "\nOrderedResources:\n");
        for (size_t i = 0; i < n; i++)
            vr__p(c, "\t%s: %s\n", keys[i], vr__jstr(ordered, keys[i], ""));
        vr_free(keys);
    }
}

/* Implemented in describe_volumes.c. */
void vr__describe_backup_volumes(struct vr__dctx *c, const cJSON *b);

static void describe_status(struct vr__dctx *c, const cJSON *b)
{
    char t[64];
    const cJSON *prog = vr__j(b, "status.progress");
    vr__p(c, "Backup Format Version:\t%s\n\n", vr__jstr(b, "status.formatVersion", ""));
    vr__p(c, "Started:\t%s\n", vr__jtime(b, "status.startTimestamp", t, sizeof(t)) ? t : "<n/a>");
    vr__p(c, "Completed:\t%s\n",
          vr__jtime(b, "status.completionTimestamp", t, sizeof(t)) ? t : "<n/a>");
    if (!vr__jtime(b, "status.expiration", t, sizeof(t)) && t[0] == '\0')
        snprintf(t, sizeof(t), "<nil>");
    vr__p(c, "\nExpiration:\t%s\n\n", t);
    if (cJSON_IsObject(prog)) {
        bool running = strcmp(vr__jstr(b, "status.phase", ""), "InProgress") == 0;
        vr__p(c, running ? "Estimated total items to be backed up:\t%lld\n"
                         : "Total items to be backed up:\t%lld\n",
              (long long)vr__jint(prog, "totalItems"));
        vr__p(c, running ? "Items backed up so far:\t%lld\n\n" : "Items backed up:\t%lld\n\n",
              (long long)vr__jint(prog, "itemsBackedUp"));
    }
    vr__describe_item_operations(c, b, VR_DK_BACKUP_ITEM_OPERATIONS, true);
    if (c->details) {
        vr__describe_resource_list(c, VR_DK_BACKUP_RESOURCE_LIST, "backup");
        vr__ln(c);
    }
    vr__describe_backup_volumes(c, b);
    if (cJSON_IsObject(vr__j(b, "status.hookStatus")))
        vr__p(c, "\nHooksAttempted:\t%lld\nHooksFailed:\t%lld\n",
              (long long)vr__jint(b, "status.hookStatus.hooksAttempted"),
              (long long)vr__jint(b, "status.hookStatus.hooksFailed"));
}

static int render(struct vr__dctx *c, const cJSON *b)
{
    vr__describe_metadata(c, b);
    vr__ln(c);
    describe_phase(c, b);
    vr__ln(c);
    vr__describe_results_file(c, b, VR_DK_BACKUP_RESULTS, true);
    vr__ln(c);
    describe_spec(c, vr__j(b, "spec"));
    vr__ln(c);
    describe_status(c, b);
    int rc = vr_tw_flush(&c->tw);
    vr_tw_cleanup(&c->tw);
    return rc;
}

bool vr_describe_backup_next(const cJSON *backup, bool details, const struct vr_dfiles *files,
                             enum vr_dkind *out)
{
    return vr__describe_probe(render, backup, details, files, out);
}

int vr_describe_backup(const cJSON *backup, bool details, const struct vr_dfiles *files,
                       struct vr_buf *out)
{
    return vr__describe_run(render, backup, details, files, out);
}
