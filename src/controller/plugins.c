/* The ServerStatusRequest plugin list: parsing, default, JSON (see plugins.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "controller/plugins.h"
#include "core/common.h"
#include "vreq/buf.h"
#include "vreq/err.h"

static const char *const kinds[] = {
    "ObjectStore",       "VolumeSnapshotter",  "BackupItemAction",    "RestoreItemAction",
    "DeleteItemAction",  "BackupItemActionV2", "RestoreItemActionV2", "ItemBlockAction",
};

static int fail(char *err, size_t errlen, const char *fmt, ...) VR_PRINTF(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return VR_ECONFIG;
}

void vr_plugins_cleanup(struct vr_plugins *p)
{
    for (size_t i = 0; i < p->n; i++) {
        vr_free(p->v[i].name);
        vr_free(p->v[i].kind);
    }
    vr_free(p->v);
    p->v = NULL;
    p->n = 0;
}

static void push(struct vr_plugins *p, const char *name, const char *kind)
{
    p->v = vr_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->v[p->n].name = vr_xstrdup(name);
    p->v[p->n].kind = vr_xstrdup(kind);
    p->n++;
}

void vr_plugins_default(struct vr_plugins *out)
{
    memset(out, 0, sizeof(*out));
    push(out, "velero.io/aws", "ObjectStore");
}

void vr_plugins_copy(const struct vr_plugins *src, struct vr_plugins *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < src->n; i++)
        push(out, src->v[i].name, src->v[i].kind);
}

cJSON *vr_plugins_to_json(const struct vr_plugins *p)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < p->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->v[i].name);
        cJSON_AddStringToObject(o, "kind", p->v[i].kind);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static bool known_kind(const char *k)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(kinds); i++)
        if (strcmp(kinds[i], k) == 0)
            return true;
    return false;
}

/* The scalar value of key in mapping m, or NULL; *bad when present but not a scalar. */
static const char *map_get(yaml_document_t *doc, yaml_node_t *m, const char *key, bool *bad)
{
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        if (!k || k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, key))
            continue;
        yaml_node_t *v = yaml_document_get_node(doc, pr->value);
        if (!v || v->type != YAML_SCALAR_NODE) {
            *bad = true;
            return NULL;
        }
        return (const char *)v->data.scalar.value;
    }
    return NULL;
}

static int entry(yaml_document_t *doc, yaml_node_t *item, size_t idx, struct vr_plugins *out,
                 char *err, size_t errlen)
{
    if (!item || item->type != YAML_MAPPING_NODE)
        return fail(err, errlen, "entry %zu: not a mapping with name and kind", idx);
    bool bad = false;
    const char *name = map_get(doc, item, "name", &bad);
    const char *kind = map_get(doc, item, "kind", &bad);
    if (bad)
        return fail(err, errlen, "entry %zu: name and kind must be strings", idx);
    if (!name || !name[0])
        return fail(err, errlen, "entry %zu: name is missing or empty", idx);
    if (!kind || !kind[0])
        return fail(err, errlen, "entry %zu (%.128s): kind is missing or empty", idx, name);
    if (!known_kind(kind))
        return fail(err, errlen, "entry %zu (%.128s): kind \"%.64s\" is not a Velero plugin kind",
                    idx, name, kind);
    push(out, name, kind);
    return 0;
}

static int walk(yaml_document_t *doc, struct vr_plugins *out, char *err, size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root)
        return fail(err, errlen, "empty file: expected a list of {name, kind}");
    if (root->type != YAML_SEQUENCE_NODE)
        return fail(err, errlen, "expected a list of {name, kind} at the top level");
    size_t n = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
    if (n > VR_PLUGINS_MAX)
        return fail(err, errlen, "more than %d entries", (int)VR_PLUGINS_MAX);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, root->data.sequence.items.start[i]);
        int rc = entry(doc, item, i + 1, out, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vr_plugins_parse(const char *text, size_t len, struct vr_plugins *out, char *err,
                     size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct vr_plugins p = {0};
    if (!yaml_parser_initialize(&parser))
        return fail(err, errlen, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = fail(err, errlen, "line %zu, column %zu: %s", parser.problem_mark.line + 1,
                  parser.problem_mark.column + 1,
                  parser.problem ? parser.problem : "malformed YAML");
        goto out_parser;
    }
    rc = walk(&doc, &p, err, errlen);
    yaml_document_delete(&doc);
    if (rc < 0) {
        vr_plugins_cleanup(&p);
        goto out_parser;
    }
    *out = p;
out_parser:
    yaml_parser_delete(&parser);
    return rc;
}

int vr_plugins_load(const char *path, struct vr_plugins *out, char *err, size_t errlen)
{
    struct vr_buf b;
    vr_buf_init(&b, VR_PLUGINS_FILE_MAX);
    int rc = vr_buf_read_file(&b, path);
    if (rc == VR_ETOOBIG) {
        fail(err, errlen, "%s: larger than %zu bytes", path, VR_PLUGINS_FILE_MAX);
        return rc;
    }
    if (rc < 0)
        return fail(err, errlen, "%s: cannot read: %s", path, vr_strerror(rc));
    char msg[256] = "";
    rc = vr_plugins_parse(b.p ? b.p : "", b.len, out, msg, sizeof(msg));
    vr_buf_cleanup(&b);
    if (rc < 0)
        fail(err, errlen, "%s: %s", path, msg);
    return rc;
}
