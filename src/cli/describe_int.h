/* Internals shared by the describe renderers (describe.c, describe_backup.c,
 * describe_restore.c). */
#ifndef VR_CLI_DESCRIBE_INT_H
#define VR_CLI_DESCRIBE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "cli/describe.h"
#include "cli/tabw.h"

/* "<none>", Velero's emptyDisplay. */
#define VR__NONE "<none>"

/* One render (or one probe for the next needed file). */
struct vr__dctx {
    struct vr_tw tw;
    const struct vr_dfiles *files;
    bool details;
    bool have_missing;      /* a needed file was ABSENT */
    enum vr_dkind missing;  /* the first such file */
};

void vr__dctx_init(struct vr__dctx *c, const struct vr_dfiles *files, bool details,
                   struct vr_buf *out);

/* Renders obj (a Backup or a Restore) with render into a context. vr__describe_run writes
 * the text to out and returns render's result; vr__describe_probe renders into scratch only
 * to learn the first needed file that is ABSENT (true and *out), else false. */
typedef int (*vr__describe_render_fn)(struct vr__dctx *c, const cJSON *obj);
int vr__describe_run(vr__describe_render_fn render, const cJSON *obj, bool details,
                     const struct vr_dfiles *files, struct vr_buf *out);
bool vr__describe_probe(vr__describe_render_fn render, const cJSON *obj, bool details,
                        const struct vr_dfiles *files, enum vr_dkind *out);
/* The file of kind k; an ABSENT one is recorded as missing and reads as "not fetched". */
const struct vr_dfile *vr__dctx_file(struct vr__dctx *c, enum vr_dkind k);
/* Parses a file's JSON (Go's json.Decoder reads the first value: trailing bytes are
 * ignored); want is cJSON_Object or cJSON_Array (null is accepted as empty). NULL with a
 * Go-like reason in err on failure. The caller frees the result with cJSON_Delete. */
cJSON *vr__dparse(struct vr_str data, int want, const char *gotype, char *err, size_t errlen);

#define vr__p(c, ...) vr_tw_printf(&(c)->tw, __VA_ARGS__)
#define vr__ln(c) vr_tw_write(&(c)->tw, "\n", 1)

/* JSON access by dotted path ("status.progress.totalItems"). */
const cJSON *vr__j(const cJSON *o, const char *path);
const char *vr__jstr(const cJSON *o, const char *path, const char *dflt);
int64_t vr__jint(const cJSON *o, const char *path);
/* -1 when missing or null, else 0/1. */
int vr__jbool(const cJSON *o, const char *path);
/* BoolPointerString: the string for false, true, or unset. */
const char *vr__jboolstr(const cJSON *o, const char *path, const char *f, const char *t,
                         const char *unset);
/* Number of elements of an array at path (0 when not an array). */
int vr__jlen(const cJSON *o, const char *path);
/* Joins the strings of the array at path with sep into out (capped); dflt when empty. */
void vr__jjoin(const cJSON *o, const char *path, const char *sep, const char *dflt,
               struct vr_buf *out);
/* A timestamp at path in Go's Time.String() form (local zone); false when missing or
 * unparsable (out then holds the raw string, or is empty). */
bool vr__jtime(const cJSON *o, const char *path, char *out, size_t outlen);
/* A metav1.Duration at path in Go's form; "0s" when missing. */
void vr__jduration(const cJSON *o, const char *path, char *out, size_t outlen);
/* metav1.FormatLabelSelector of sel ("<none>" when empty). */
void vr__label_selector(const cJSON *sel, struct vr_buf *out);
/* The keys of object o, sorted bytewise; *n receives the count. Free with vr_free. */
const char **vr__sorted_keys(const cJSON *o, size_t *n);

/* Shared sections. */
void vr__describe_metadata(struct vr__dctx *c, const cJSON *obj);
void vr__describe_map(struct vr__dctx *c, const char *name, const cJSON *m);
void vr__describe_result(struct vr__dctx *c, const char *name, const cJSON *result);
/* The Warnings/Errors blocks from a results file; kind is the results file. */
void vr__describe_results_file(struct vr__dctx *c, const cJSON *obj, enum vr_dkind kind,
                               bool counts_on_not_found);
/* "Resource List:" from a resource-list file; what is "backup" or "restore". */
void vr__describe_resource_list(struct vr__dctx *c, enum vr_dkind kind, const char *what);
/* Item operations ("Backup"/"Restore" flavour). */
void vr__describe_item_operations(struct vr__dctx *c, const cJSON *obj, enum vr_dkind kind,
                                  bool backup);

#endif
