/* The resource table, the velero CRD objects and the schema checks they imply. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define VELERO(plural, singular, kind, shorts)                                                     \
    {"velero.io", "v1", plural, singular, kind, kind "List", shorts, true, true,                   \
     plural ".velero.io"}

static const struct ks_resource table[] = {
    VELERO("downloadrequests", "downloadrequest", "DownloadRequest", ""),
    VELERO("serverstatusrequests", "serverstatusrequest", "ServerStatusRequest", "ssr"),
    VELERO("backups", "backup", "Backup", ""),
    VELERO("restores", "restore", "Restore", ""),
    VELERO("backupstoragelocations", "backupstoragelocation", "BackupStorageLocation", "bsl"),
    {"", "v1", "namespaces", "namespace", "Namespace", "NamespaceList", "ns", false, false, NULL},
    {"", "v1", "secrets", "secret", "Secret", "SecretList", "", true, false, NULL},
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", "LeaseList", "", true, false, NULL},
    {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
     "CustomResourceDefinition", "CustomResourceDefinitionList", "crd,crds", false, false, NULL},
};

static const struct ks_resource *const table_ptrs[] = {
    &table[0], &table[1], &table[2], &table[3], &table[4],
    &table[5], &table[6], &table[7], &table[8],
};

_Static_assert(sizeof(table) / sizeof(table[0]) == sizeof(table_ptrs) / sizeof(table_ptrs[0]),
               "table_ptrs must list every resource");

const struct ks_resource *const *vr__ks_table(size_t *n)
{
    *n = sizeof(table_ptrs) / sizeof(table_ptrs[0]);
    return table_ptrs;
}

const struct ks_resource *vr__ks_namespaces(void)
{
    return &table[5];
}

const struct ks_resource *vr__ks_crds(void)
{
    return &table[8];
}

const char *vr__ks_api_version(const struct ks_resource *res, char *buf, size_t cap)
{
    if (res->group[0])
        snprintf(buf, cap, "%s/%s", res->group, res->version);
    else
        snprintf(buf, cap, "%s", res->version);
    return buf;
}

const struct ks_resource *vr__ks_find_kind(const char *api_version, const char *kind)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        char av[96];
        if (!strcmp(vr__ks_api_version(&table[i], av, sizeof(av)), api_version) &&
            !strcmp(table[i].kind, kind))
            return &table[i];
    }
    return NULL;
}

bool vr__ks_has_generation(const struct ks_resource *res)
{
    return res->velero || res == vr__ks_crds();
}

/* ---- phase enums ---- */

static bool is_kind(const struct ks_resource *res, const char *kind)
{
    return res->velero && strcmp(res->kind, kind) == 0;
}

/* The enum of status.phase for res, NULL when unconstrained. */
static const char *const *phase_enum(const struct ks_resource *res, const struct ks_store_opts *o)
{
    static const char *const dr_failed[] = {"New", "Processed", "Failed", NULL};
    static const char *const plain[] = {"New", "Processed", NULL};
    if (is_kind(res, "DownloadRequest"))
        return o->failed_phase ? dr_failed : plain;
    if (is_kind(res, "ServerStatusRequest"))
        return plain;
    return NULL;
}

static cJSON *string_array(const char *const *v)
{
    cJSON *a = cJSON_CreateArray();
    for (; *v; v++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*v));
    return a;
}

static cJSON *typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static cJSON *status_schema(const struct ks_resource *res, const struct ks_store_opts *o)
{
    cJSON *st = typed("object");
    cJSON *props = cJSON_AddObjectToObject(st, "properties");
    const char *const *phases = phase_enum(res, o);
    if (phases) {
        cJSON *phase = typed("string");
        cJSON_AddItemToObject(phase, "enum", string_array(phases));
        cJSON_AddItemToObject(props, "phase", phase);
    }
    if (is_kind(res, "DownloadRequest")) {
        cJSON_AddItemToObject(props, "downloadURL", typed("string"));
        cJSON *exp = typed("string");
        cJSON_AddStringToObject(exp, "format", "date-time");
        cJSON_AddItemToObject(props, "expiration", exp);
        if (o->failed_phase)
            cJSON_AddItemToObject(props, "message", typed("string"));
    } else {
        cJSON_AddBoolToObject(st, "x-kubernetes-preserve-unknown-fields", true);
    }
    return st;
}

static cJSON *version_object(const struct ks_resource *res, const struct ks_store_opts *o)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", res->version);
    cJSON_AddBoolToObject(v, "served", true);
    cJSON_AddBoolToObject(v, "storage", true);
    cJSON *schema = typed("object");
    cJSON *props = cJSON_AddObjectToObject(schema, "properties");
    cJSON_AddItemToObject(props, "apiVersion", typed("string"));
    cJSON_AddItemToObject(props, "kind", typed("string"));
    cJSON_AddItemToObject(props, "metadata", typed("object"));
    cJSON *spec = typed("object");
    cJSON_AddBoolToObject(spec, "x-kubernetes-preserve-unknown-fields", true);
    cJSON_AddItemToObject(props, "spec", spec);
    cJSON_AddItemToObject(props, "status", status_schema(res, o));
    cJSON_AddItemToObject(cJSON_AddObjectToObject(v, "schema"), "openAPIV3Schema", schema);
    if (o->status_subresource)
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(v, "subresources"), "status");
    return v;
}

static cJSON *names_object(const struct ks_resource *res)
{
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "plural", res->plural);
    cJSON_AddStringToObject(n, "singular", res->singular);
    cJSON_AddStringToObject(n, "kind", res->kind);
    cJSON_AddStringToObject(n, "listKind", res->list_kind);
    if (res->short_names[0]) {
        const char *shorts[] = {res->short_names, NULL};
        cJSON_AddItemToObject(n, "shortNames", string_array(shorts));
    }
    const char *cats[] = {"velero", NULL};
    cJSON_AddItemToObject(n, "categories", string_array(cats));
    return n;
}

static cJSON *condition(const char *type, const char *reason)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddStringToObject(c, "lastTransitionTime", "1970-01-01T00:00:00Z");
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", "");
    return c;
}

cJSON *vr__ks_crd_object(const struct ks_resource *res, const struct ks_store_opts *opts)
{
    cJSON *crd = cJSON_CreateObject();
    cJSON_AddStringToObject(crd, "apiVersion", "apiextensions.k8s.io/v1");
    cJSON_AddStringToObject(crd, "kind", "CustomResourceDefinition");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(crd, "metadata"), "name", res->crd_name);
    cJSON *spec = cJSON_AddObjectToObject(crd, "spec");
    cJSON_AddStringToObject(spec, "group", res->group);
    cJSON_AddItemToObject(spec, "names", names_object(res));
    cJSON_AddStringToObject(spec, "scope", res->namespaced ? "Namespaced" : "Cluster");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "versions"), version_object(res, opts));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "conversion"), "strategy", "None");
    cJSON *status = cJSON_AddObjectToObject(crd, "status");
    cJSON *conds = cJSON_AddArrayToObject(status, "conditions");
    cJSON_AddItemToArray(conds, condition("NamesAccepted", "NoConflicts"));
    cJSON_AddItemToArray(conds, condition("Established", "InitialNamesAccepted"));
    cJSON_AddItemToObject(status, "acceptedNames", names_object(res));
    const char *stored[] = {res->version, NULL};
    cJSON_AddItemToObject(status, "storedVersions", string_array(stored));
    return crd;
}

static void list_enum(char *buf, size_t cap, const char *const *v)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; v[i] && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s\"%s\"", i ? ", " : "", v[i]);
        if (w < 0)
            return;
        n += (size_t)w;
    }
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return v->valuedouble == (double)(long long)v->valuedouble ? "integer" : "number";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

int vr__ks_validate(const struct ks_store *s, const struct ks_resource *res, cJSON *obj,
                    const char *name, struct ks_status *st)
{
    cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    /* Older CRDs have no status.message: real servers prune unknown fields silently. */
    if (is_kind(res, "DownloadRequest") && !s->opts.failed_phase && cJSON_IsObject(status))
        cJSON_DeleteItemFromObjectCaseSensitive(status, "message");
    const char *const *phases = phase_enum(res, &s->opts);
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(status, "phase");
    if (!phases || !phase || cJSON_IsNull(phase))
        return 0;
    if (!cJSON_IsString(phase)) {
        const char *t = json_type_name(phase);
        vr__ks_invalid(st, res, name, "status.phase", "FieldValueTypeInvalid",
                       "Invalid value: \"%s\": status.phase in body must be of type string: \"%s\"",
                       t, t);
        return -1;
    }
    if (phase->valuestring[0] == '\0')
        return 0;
    for (const char *const *p = phases; *p; p++)
        if (strcmp(*p, phase->valuestring) == 0)
            return 0;
    char supported[128];
    list_enum(supported, sizeof(supported), phases);
    vr__ks_invalid(st, res, name, "status.phase", "FieldValueNotSupported",
                   "Unsupported value: \"%.64s\": supported values: %s", phase->valuestring,
                   supported);
    return -1;
}
