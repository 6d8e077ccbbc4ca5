/* ks_store_load: objects from a YAML/JSON file (one object, a List, or documents). */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "yamlload.h"

/* Prefixes st->message with where the failing object came from. */
static void locate(struct ks_status *st, size_t doc, long item)
{
    char prefix[64];
    if (item >= 0)
        snprintf(prefix, sizeof(prefix), "document %zu item %ld: ", doc, item + 1);
    else
        snprintf(prefix, sizeof(prefix), "document %zu: ", doc);
    size_t pl = strlen(prefix), cap = sizeof(st->message);
    size_t ml = strnlen(st->message, cap - 1);
    if (ml + pl > cap - 1)
        ml = cap - 1 - pl;
    memmove(st->message + pl, st->message, ml);
    memcpy(st->message, prefix, pl);
    st->message[pl + ml] = '\0';
}

static int ensure_namespace(struct ks_store *s, const char *ns, int64_t now_s,
                            struct ks_status *st)
{
    const struct ks_resource *nsres = vr__ks_namespaces();
    if (vr__ks_lookup(vr__ks_rstate(s, nsres), "", ns))
        return 0;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "metadata"), "name", ns);
    return ks_store_create(s, nsres, "", obj, now_s, NULL, st);
}

static int load_object(struct ks_store *s, const cJSON *doc, int64_t now_s, struct ks_status *st)
{
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(doc, "apiVersion");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(av) || !cJSON_IsString(kind)) {
        vr__ks_status(st, 400, "BadRequest", "", "not an object with apiVersion and kind");
        return -1;
    }
    const struct ks_resource *res = vr__ks_find_kind(av->valuestring, kind->valuestring);
    if (!res) {
        vr__ks_status(st, 400, "BadRequest", "", "kubesim does not serve %.64s %.64s",
                      av->valuestring, kind->valuestring);
        return -1;
    }
    const char *ns = "";
    if (res->namespaced) {
        ns = vr__ks_meta_str(doc, "namespace");
        if (!ns || !ns[0])
            ns = "default";
        if (ensure_namespace(s, ns, now_s, st) < 0)
            return -1;
    }
    return ks_store_create(s, res, ns, cJSON_Duplicate(doc, true), now_s, NULL, st);
}

/* A `kind: ...List` document with items loads each item. */
static bool is_list(const cJSON *doc)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    size_t n = cJSON_IsString(kind) ? strlen(kind->valuestring) : 0;
    return n >= 4 && strcmp(kind->valuestring + n - 4, "List") == 0 &&
           cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "items"));
}

static int load_document(struct ks_store *s, const cJSON *doc, size_t index, int64_t now_s,
                         struct ks_status *st)
{
    if (cJSON_IsNull(doc))
        return 0; /* an empty document, e.g. after a trailing --- */
    if (!is_list(doc)) {
        if (load_object(s, doc, now_s, st) < 0) {
            locate(st, index, -1);
            return -1;
        }
        return 0;
    }
    long i = 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    for (const cJSON *it = items->child; it; it = it->next, i++) {
        if (load_object(s, it, now_s, st) < 0) {
            locate(st, index, i);
            return -1;
        }
    }
    return 0;
}

int ks_store_load(struct ks_store *s, const char *text, size_t len, int64_t now_s,
                  struct ks_status *st)
{
    cJSON *docs;
    char err[256];
    if (ks_yaml_load(text, len, &docs, err, sizeof(err)) < 0) {
        vr__ks_status(st, 400, "BadRequest", "", "%s", err);
        return -1;
    }
    size_t index = 1;
    int rc = 0;
    for (const cJSON *d = docs->child; d && rc == 0; d = d->next, index++)
        rc = load_document(s, d, index, now_s, st);
    cJSON_Delete(docs);
    return rc;
}
