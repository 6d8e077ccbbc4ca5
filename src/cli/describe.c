/* Describe renderers: shared helpers and sections (see describe.h). */
#include "cli/describe_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/gofmt.h"
#include "core/timefmt.h"
#include "vreq/err.h"

static const char *const dkind_targets[VR_DK_COUNT] = {
    [VR_DK_BACKUP_RESULTS] = "BackupResults",
    [VR_DK_BACKUP_ITEM_OPERATIONS] = "BackupItemOperations",
    [VR_DK_BACKUP_RESOURCE_LIST] = "BackupResourceList",
    [VR_DK_BACKUP_VOLUME_INFOS] = "BackupVolumeInfos",
    [VR_DK_BACKUP_VOLUME_SNAPSHOTS] = "BackupVolumeSnapshots",
    [VR_DK_CSI_VOLUME_SNAPSHOTS] = "CSIBackupVolumeSnapshots",
    [VR_DK_CSI_VOLUME_SNAPSHOT_CONTENTS] = "CSIBackupVolumeSnapshotContents",
    [VR_DK_RESTORE_RESULTS] = "RestoreResults",
    [VR_DK_RESTORE_VOLUME_INFO] = "RestoreVolumeInfo",
    [VR_DK_RESTORE_ITEM_OPERATIONS] = "RestoreItemOperations",
    [VR_DK_RESTORE_RESOURCE_LIST] = "RestoreResourceList",
};

const char *vr_dkind_target(enum vr_dkind k)
{
    return (unsigned)k < VR_DK_COUNT ? dkind_targets[k] : "";
}

void vr__dctx_init(struct vr__dctx *c, const struct vr_dfiles *files, bool details,
                   struct vr_buf *out)
{
    memset(c, 0, sizeof(*c));
    vr_tw_init(&c->tw, out);
    c->files = files;
    c->details = details;
    /* Timestamps are printed in the local zone, like Go's time.Local. */
    tzset();
}

int vr__describe_run(vr__describe_render_fn render, const cJSON *obj, bool details,
                     const struct vr_dfiles *files, struct vr_buf *out)
{
    struct vr__dctx c;
    vr__dctx_init(&c, files, details, out);
    return render(&c, obj);
}

bool vr__describe_probe(vr__describe_render_fn render, const cJSON *obj, bool details,
                        const struct vr_dfiles *files, enum vr_dkind *out)
{
    struct vr_buf scratch;
    struct vr__dctx c;
    vr_buf_init(&scratch, (size_t)1 << 30);
    vr__dctx_init(&c, files, details, &scratch);
    (void)render(&c, obj);
    vr_buf_cleanup(&scratch);
    if (c.have_missing)
        *out = c.missing;
    return c.have_missing;
}

const struct vr_dfile *vr__dctx_file(struct vr__dctx *c, enum vr_dkind k)
{
    static const struct vr_dfile absent = {VR_DFILE_ERROR, {"", 0}, "file not fetched"};
    const struct vr_dfile *f = &c->files->f[k];
    if (f->state != VR_DFILE_ABSENT)
        return f;
    if (!c->have_missing) {
        c->have_missing = true;
        c->missing = k;
    }
    return &absent;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    return "bool";
}

cJSON *vr__dparse(struct vr_str data, int want, const char *gotype, char *err, size_t errlen)
{
    const char *end = NULL;
    size_t i = 0;
    while (i < data.n && strchr(" \t\r\n", data.p[i]) != NULL)
        i++;
    if (i == data.n) {
        snprintf(err, errlen, "EOF");
        return NULL;
    }
    cJSON *v = cJSON_ParseWithLengthOpts(data.p, data.n, &end, 0);
    if (!v) {
        size_t at = end && end >= data.p ? (size_t)(end - data.p) : 0;
        snprintf(err, errlen, "invalid JSON at offset %zu", at);
        return NULL;
    }
    if (!cJSON_IsNull(v) && ((want == cJSON_Object && !cJSON_IsObject(v)) ||
                             (want == cJSON_Array && !cJSON_IsArray(v)))) {
        snprintf(err, errlen, "json: cannot unmarshal %s into Go value of type %s",
                 json_type_name(v), gotype);
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

const cJSON *vr__j(const cJSON *o, const char *path)
{
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key) || !cJSON_IsObject(o))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

const char *vr__jstr(const cJSON *o, const char *path, const char *dflt)
{
    const cJSON *v = vr__j(o, path);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

int64_t vr__jint(const cJSON *o, const char *path)
{
    const cJSON *v = vr__j(o, path);
    if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
        return 0;
    if (v->valuedouble >= 9.2e18 || v->valuedouble <= -9.2e18)
        return 0;
    return (int64_t)v->valuedouble;
}

int vr__jbool(const cJSON *o, const char *path)
{
    const cJSON *v = vr__j(o, path);
    if (!cJSON_IsBool(v))
        return -1;
    return cJSON_IsTrue(v) ? 1 : 0;
}

const char *vr__jboolstr(const cJSON *o, const char *path, const char *f, const char *t,
                         const char *unset)
{
    int b = vr__jbool(o, path);
    return b < 0 ? unset : b ? t : f;
}

int vr__jlen(const cJSON *o, const char *path)
{
    const cJSON *v = vr__j(o, path);
    return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
}

void vr__jjoin(const cJSON *o, const char *path, const char *sep, const char *dflt,
               struct vr_buf *out)
{
    const cJSON *arr = vr__j(o, path), *e;
    bool first = true;
    vr_buf_reset(out);
    cJSON_ArrayForEach(e, (cJSON_IsArray(arr) ? arr : NULL))
    {
        if (!first)
            (void)vr_buf_append_str(out, sep);
        (void)vr_buf_append_str(out, cJSON_IsString(e) ? e->valuestring : "");
        first = false;
    }
    if (first)
        (void)vr_buf_append_str(out, dflt);
}

bool vr__jtime(const cJSON *o, const char *path, char *out, size_t outlen)
{
    const char *s = vr__jstr(o, path, NULL);
    int64_t t;
    out[0] = '\0';
    if (!s || *s == '\0')
        return false;
    if (vr_time_parse_rfc3339(s, strlen(s), VR_RFC3339_EMPTY_FRAC | VR_RFC3339_ANY_OFFSET, &t,
                              NULL) < 0) {
        snprintf(out, outlen, "%s", s);
        return false;
    }
    vr_go_format_time(t, out, outlen);
    return true;
}

void vr__jduration(const cJSON *o, const char *path, char *out, size_t outlen)
{
    const char *s = vr__jstr(o, path, NULL);
    int64_t ns = 0;
    if (s && vr_time_parse_duration(s, &ns) < 0) {
        snprintf(out, outlen, "%s", s);
        return;
    }
    vr_go_format_duration(ns, out, outlen);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **vr__sorted_keys(const cJSON *o, size_t *n)
{
    size_t count = 0, i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, (cJSON_IsObject(o) ? o : NULL)) count++;
    const char **keys = vr_xcalloc(count + 1, sizeof(*keys));
    cJSON_ArrayForEach(e, (cJSON_IsObject(o) ? o : NULL)) keys[i++] = e->string ? e->string : "";
    qsort(keys, count, sizeof(*keys), cmp_str);
    *n = count;
    return keys;
}
