/*
 * The plugin list a ServerStatusRequest reports (contract.md §4, velero.md §5): vreqd has
 * no plugin registry, so the list comes from --plugins-file or the built-in default, the
 * object-store providers vreqd implements ({velero.io/aws, ObjectStore}).
 *
 * The file is a JSON or YAML list of {name, kind} mappings (JSON is YAML, so libyaml reads
 * both):
 *
 *   - {name: velero.io/aws, kind: ObjectStore}
 *   - {name: velero.io/aws, kind: VolumeSnapshotter}
 *
 * name and kind are required non-empty strings; kind is one of Velero's plugin kinds
 * (ObjectStore, VolumeSnapshotter, BackupItemAction, RestoreItemAction, DeleteItemAction,
 * BackupItemActionV2, RestoreItemActionV2, ItemBlockAction); other keys are ignored. An
 * empty list is valid (no plugins). The parser is pure; vr_plugins_load reads the file
 * with blocking calls, once at start-up.
 */
#ifndef VR_CONTROLLER_PLUGINS_H
#define VR_CONTROLLER_PLUGINS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define VR_PLUGINS_FILE_MAX ((size_t)1024 * 1024)
#define VR_PLUGINS_MAX 1024

struct vr_plugin {
    char *name;
    char *kind;
};

struct vr_plugins {
    struct vr_plugin *v;
    size_t n;
};

/* Parses a plugins file's text. 0 with *out written (free with vr_plugins_cleanup), or
 * VR_ECONFIG with one line in err naming the entry ("entry 2: kind \"Foo\" is not a
 * Velero plugin kind") or the YAML position ("line 3, column 5: ..."). */
int vr_plugins_parse(const char *text, size_t len, struct vr_plugins *out, char *err,
                     size_t errlen);

/* Reads and parses path. 0, VR_ECONFIG (unreadable, or as above; err prefixed with the
 * path) or VR_ETOOBIG (over VR_PLUGINS_FILE_MAX). */
int vr_plugins_load(const char *path, struct vr_plugins *out, char *err, size_t errlen);

/* The built-in list: {velero.io/aws, ObjectStore}. */
void vr_plugins_default(struct vr_plugins *out);

/* A deep copy of src into out. */
void vr_plugins_copy(const struct vr_plugins *src, struct vr_plugins *out);

/* Frees the entries; p is left empty. */
void vr_plugins_cleanup(struct vr_plugins *p);

/* status.plugins: a new JSON array of {"name": ..., "kind": ...} in list order. */
cJSON *vr_plugins_to_json(const struct vr_plugins *p);

#endif
