#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "patch.h"
#include "vreq/err.h"
#include "vreq/mem.h"

/* ---- RFC 7386 merge patch ---- */

static void merge_object(cJSON *target, const cJSON *patch)
{
    for (const cJSON *p = patch->child; p; p = p->next) {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsObject(p)) {
            /* Depth is bounded by cJSON's parse nesting limit. */
            cJSON *sub = cur;
            if (!cJSON_IsObject(sub)) {
                sub = cJSON_CreateObject();
                merge_object(sub, p);
                if (cur)
                    cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, sub);
                else
                    cJSON_AddItemToObject(target, p->string, sub);
            } else {
                merge_object(sub, p);
            }
            continue;
        }
        cJSON *copy = cJSON_Duplicate(p, true);
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, copy);
        else
            cJSON_AddItemToObject(target, p->string, copy);
    }
}

int ks_patch_merge(cJSON **target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(*target);
        *target = cJSON_Duplicate(patch, true);
        return 0;
    }
    if (!cJSON_IsObject(*target)) {
        cJSON_Delete(*target);
        *target = cJSON_CreateObject();
    }
    merge_object(*target, patch);
    return 0;
}

/* ---- JSON pointer (RFC 6901) ---- */

/* Decodes the reference token starting at *p (just after a '/') into tok (which has
 * room for strlen(*p) + 1 bytes) and advances *p to the next '/' or the end. */
static int ptr_token(const char **p, char *tok)
{
    const char *s = *p;
    size_t n = 0;
    while (*s && *s != '/') {
        if (*s == '~') {
            if (s[1] == '0')
                tok[n++] = '~';
            else if (s[1] == '1')
                tok[n++] = '/';
            else
                return VR_EPARSE;
            s += 2;
            continue;
        }
        tok[n++] = *s++;
    }
    tok[n] = '\0';
    *p = s;
    return 0;
}

/* Array index: "0" or digits without a leading zero; -1 when not an index. */
static long array_index(const char *tok)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        v = v * 10 + (tok[i] - '0');
    }
    return v;
}

static cJSON *child_of(cJSON *node, const char *tok)
{
    if (cJSON_IsObject(node))
        return cJSON_GetObjectItemCaseSensitive(node, tok);
    if (cJSON_IsArray(node)) {
        long i = array_index(tok);
        return i < 0 ? NULL : cJSON_GetArrayItem(node, (int)i);
    }
    return NULL;
}

/* Walks every token of ptr except the last. *parent is the container the last token
 * names a member of, *last a heap copy of that token (caller frees). ptr must not be
 * "" (callers handle the root). VR_EPARSE: syntax; VR_EINVALID: a missing step. */
static int resolve_parent(cJSON *doc, const char *ptr, cJSON **parent, char **last)
{
    if (ptr[0] != '/')
        return VR_EPARSE;
    char *tok = vr_xmalloc(strlen(ptr) + 1);
    const char *p = ptr + 1;
    cJSON *node = doc;
    for (;;) {
        if (ptr_token(&p, tok) < 0) {
            vr_free(tok);
            return VR_EPARSE;
        }
        if (*p == '\0')
            break;
        p++;
        node = child_of(node, tok);
        if (!node) {
            vr_free(tok);
            return VR_EINVALID;
        }
    }
    *parent = node;
    *last = tok;
    return 0;
}

cJSON *ks_json_pointer_get(cJSON *doc, const char *ptr)
{
    if (ptr[0] == '\0')
        return doc;
    cJSON *parent;
    char *last;
    if (resolve_parent(doc, ptr, &parent, &last) < 0)
        return NULL;
    cJSON *node = child_of(parent, last);
    vr_free(last);
    return node;
}

/* ---- RFC 6902 operations ---- */

struct jp_ctx {
    cJSON *doc;
    char *err;
    size_t errcap;
    size_t index; /* operation number, for messages */
};

static int jp_fail(struct jp_ctx *c, int rc, const char *fmt, ...) VR_PRINTF(3, 4);

static int jp_fail(struct jp_ctx *c, int rc, const char *fmt, ...)
{
    if (c->errcap == 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errcap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Inserts item before position i (appends at the end). cJSON 1.7.15's
 * cJSON_InsertItemInArray refuses every position but 0, so the list is spliced here:
 * child->prev is the tail, the tail's next is NULL. */
static void array_insert(cJSON *array, int i, cJSON *item)
{
    cJSON *after = cJSON_GetArrayItem(array, i);
    if (!after) {
        cJSON_AddItemToArray(array, item);
        return;
    }
    item->next = after;
    item->prev = after->prev;
    if (after == array->child)
        array->child = item;
    else
        after->prev->next = item;
    after->prev = item;
}

/* Inserts value (owned) at path. */
static int jp_add_at(struct jp_ctx *c, const char *path, cJSON *value)
{
    if (path[0] == '\0') {
        cJSON_Delete(c->doc);
        c->doc = value;
        return 0;
    }
    cJSON *parent;
    char *key;
    int rc = resolve_parent(c->doc, path, &parent, &key);
    if (rc < 0) {
        cJSON_Delete(value);
        return jp_fail(c, rc, "add operation does not apply: doc is missing path: \"%s\"", path);
    }
    if (cJSON_IsObject(parent)) {
        if (cJSON_GetObjectItemCaseSensitive(parent, key))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, key, value);
        else
            cJSON_AddItemToObject(parent, key, value);
        vr_free(key);
        return 0;
    }
    long i = strcmp(key, "-") == 0 ? cJSON_GetArraySize(parent) : array_index(key);
    vr_free(key);
    if (!cJSON_IsArray(parent) || i < 0 || i > cJSON_GetArraySize(parent)) {
        cJSON_Delete(value);
        return jp_fail(c, VR_EINVALID, "add operation does not apply: doc is missing path: \"%s\"",
                       path);
    }
    if (value->string && !(value->type & cJSON_StringIsConst)) {
        vr_free(value->string);
        value->string = NULL;
    }
    array_insert(parent, (int)i, value);
    return 0;
}

/* Detaches the node at path; NULL (err set) when absent. */
static cJSON *jp_detach(struct jp_ctx *c, const char *path, const char *op, int *rc)
{
    cJSON *parent;
    char *key;
    *rc = path[0] == '\0' ? VR_EINVALID : resolve_parent(c->doc, path, &parent, &key);
    if (*rc < 0) {
        jp_fail(c, *rc, "%s operation does not apply: doc is missing path: \"%s\"", op, path);
        return NULL;
    }
    cJSON *node = NULL;
    if (cJSON_IsObject(parent)) {
        node = cJSON_DetachItemFromObjectCaseSensitive(parent, key);
    } else if (cJSON_IsArray(parent)) {
        long i = array_index(key);
        if (i >= 0 && i < cJSON_GetArraySize(parent))
            node = cJSON_DetachItemFromArray(parent, (int)i);
    }
    vr_free(key);
    if (!node) {
        *rc = VR_EINVALID;
        jp_fail(c, *rc, "%s operation does not apply: doc is missing path: \"%s\"", op, path);
    }
    return node;
}

static int jp_replace(struct jp_ctx *c, const char *path, const cJSON *value)
{
    if (path[0] != '\0') {
        int rc;
        cJSON *old = jp_detach(c, path, "replace", &rc);
        if (!old)
            return rc;
        cJSON_Delete(old);
    }
    return jp_add_at(c, path, cJSON_Duplicate(value, true));
}

static int jp_move(struct jp_ctx *c, const char *from, const char *path)
{
    size_t fl = strlen(from);
    if (strcmp(from, path) == 0)
        return ks_json_pointer_get(c->doc, from)
                   ? 0
                   : jp_fail(c, VR_EINVALID, "move operation does not apply: doc is missing from "
                                             "path: \"%s\"", from);
    if (strncmp(path, from, fl) == 0 && path[fl] == '/')
        return jp_fail(c, VR_EINVALID, "move operation: \"%s\" is a child of \"%s\"", path, from);
    int rc;
    cJSON *node = jp_detach(c, from, "move", &rc);
    if (!node)
        return rc;
    return jp_add_at(c, path, node);
}

static int jp_copy(struct jp_ctx *c, const char *from, const char *path)
{
    cJSON *src = ks_json_pointer_get(c->doc, from);
    if (!src)
        return jp_fail(c, VR_EINVALID,
                       "copy operation does not apply: doc is missing from path: \"%s\"", from);
    return jp_add_at(c, path, cJSON_Duplicate(src, true));
}

static int jp_test(struct jp_ctx *c, const char *path, const cJSON *value)
{
    cJSON *cur = ks_json_pointer_get(c->doc, path);
    if (!cur || !cJSON_Compare(cur, value, true))
        return jp_fail(c, VR_EINVALID, "testing value %s failed: test failed", path);
    return 0;
}

static const char *member_str(const cJSON *op, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jp_apply_one(struct jp_ctx *c, const cJSON *op)
{
    const char *kind = member_str(op, "op");
    const char *path = member_str(op, "path");
    const char *from = member_str(op, "from");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    if (!kind || !path)
        return jp_fail(c, VR_EPARSE, "operation %zu: missing \"op\" or \"path\"", c->index);
    if ((path[0] != '\0' && path[0] != '/') || (from && from[0] != '\0' && from[0] != '/'))
        return jp_fail(c, VR_EPARSE, "operation %zu: invalid JSON pointer", c->index);
    bool needs_value = !strcmp(kind, "add") || !strcmp(kind, "replace") || !strcmp(kind, "test");
    bool needs_from = !strcmp(kind, "move") || !strcmp(kind, "copy");
    if ((needs_value && !value) || (needs_from && !from))
        return jp_fail(c, VR_EPARSE, "operation %zu (%s): missing \"%s\"", c->index, kind,
                       needs_value ? "value" : "from");
    if (!strcmp(kind, "add"))
        return jp_add_at(c, path, cJSON_Duplicate(value, true));
    if (!strcmp(kind, "remove")) {
        int rc;
        cJSON *old = jp_detach(c, path, "remove", &rc);
        cJSON_Delete(old);
        return old ? 0 : rc;
    }
    if (!strcmp(kind, "replace"))
        return jp_replace(c, path, value);
    if (!strcmp(kind, "move"))
        return jp_move(c, from, path);
    if (!strcmp(kind, "copy"))
        return jp_copy(c, from, path);
    if (!strcmp(kind, "test"))
        return jp_test(c, path, value);
    return jp_fail(c, VR_EPARSE, "Unexpected kind: %s", kind);
}

int ks_patch_json(cJSON **target, const cJSON *ops, char *err, size_t errcap)
{
    struct jp_ctx c = {.doc = NULL, .err = err, .errcap = errcap, .index = 0};
    if (errcap > 0)
        err[0] = '\0';
    if (!cJSON_IsArray(ops))
        return jp_fail(&c, VR_EPARSE, "a JSON patch must be an array of operations");
    int n = cJSON_GetArraySize(ops);
    if (n > KS_PATCH_MAX_OPS)
        return jp_fail(&c, VR_ETOOBIG,
                       "The request is too large: the allowed maximum operations in a JSON patch "
                       "is %d but %d were found",
                       KS_PATCH_MAX_OPS, n);
    for (const cJSON *op = ops->child; op; op = op->next)
        if (!cJSON_IsObject(op))
            return jp_fail(&c, VR_EPARSE, "a JSON patch operation must be an object");
    c.doc = *target ? cJSON_Duplicate(*target, true) : cJSON_CreateNull();
    for (const cJSON *op = ops->child; op; op = op->next, c.index++) {
        int rc = jp_apply_one(&c, op);
        if (rc < 0) {
            cJSON_Delete(c.doc);
            return rc;
        }
    }
    cJSON_Delete(*target);
    *target = c.doc;
    return 0;
}
