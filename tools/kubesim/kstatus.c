/* Kubernetes Status construction (kube-api.md §3.1) for the store's errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void vr__ks_status(struct ks_status *st, int code, const char *reason, const char *name,
                   const char *fmt, ...)
{
    memset(st, 0, sizeof(*st));
    st->code = code;
    copy_str(st->reason, sizeof(st->reason), reason);
    copy_str(st->name, sizeof(st->name), name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
}

const char *vr__ks_qualified(const struct ks_resource *res, char *buf, size_t cap)
{
    if (res->group[0])
        snprintf(buf, cap, "%s.%s", res->plural, res->group);
    else
        snprintf(buf, cap, "%s", res->plural);
    return buf;
}

void vr__ks_not_found(struct ks_status *st, const struct ks_resource *res, const char *name)
{
    char q[128];
    vr__ks_status(st, 404, "NotFound", name, "%s \"%s\" not found",
                  vr__ks_qualified(res, q, sizeof(q)), name);
}

void vr__ks_invalid(struct ks_status *st, const struct ks_resource *res, const char *name,
                    const char *field, const char *cause, const char *fmt, ...)
{
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    char kind[128];
    if (res->group[0])
        snprintf(kind, sizeof(kind), "%s.%s", res->kind, res->group);
    else
        snprintf(kind, sizeof(kind), "%s", res->kind);
    vr__ks_status(st, 422, "Invalid", name, "%s \"%s\" is invalid: %s: %s", kind, name, field,
                  detail);
    copy_str(st->field, sizeof(st->field), field);
    copy_str(st->cause, sizeof(st->cause), cause);
}

/* The cause's type when the Status does not name one: from the field error's wording
 * (apimachinery field.ErrorType strings). */
static const char *derive_cause(const char *msg)
{
    if (strstr(msg, "Unsupported value"))
        return "FieldValueNotSupported";
    if (strstr(msg, "Required value"))
        return "FieldValueRequired";
    if (strstr(msg, "Forbidden"))
        return "FieldValueForbidden";
    if (strstr(msg, "Duplicate value"))
        return "FieldValueDuplicate";
    return "FieldValueInvalid";
}

static void add_causes(cJSON *details, const struct ks_status *st)
{
    if (!st->field[0] && !st->cause[0])
        return;
    cJSON *cause = cJSON_CreateObject();
    const char *msg = st->message;
    if (st->field[0]) {
        /* The cause carries the part after "<field>: ", as field.Error.ErrorBody. */
        char pat[140];
        snprintf(pat, sizeof(pat), "%s: ", st->field);
        const char *at = strstr(st->message, pat);
        if (at)
            msg = at + strlen(pat);
    }
    cJSON_AddStringToObject(cause, "reason", st->cause[0] ? st->cause : derive_cause(msg));
    cJSON_AddStringToObject(cause, "message", msg);
    if (st->field[0])
        cJSON_AddStringToObject(cause, "field", st->field);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(details, "causes"), cause);
}

static cJSON *details_of(const struct ks_status *st, const struct ks_resource *res)
{
    if (!st->name[0] && !st->field[0] && !st->cause[0] && st->retry_after_s <= 0)
        return NULL;
    cJSON *d = cJSON_CreateObject();
    if (st->name[0])
        cJSON_AddStringToObject(d, "name", st->name);
    if (res && st->name[0]) {
        cJSON_AddStringToObject(d, "group", res->group);
        /* Invalid names the kind (NewInvalid takes a GroupKind); the others the plural. */
        bool invalid = strcmp(st->reason, "Invalid") == 0 && st->code == 422;
        cJSON_AddStringToObject(d, "kind", invalid ? res->kind : res->plural);
    }
    add_causes(d, st);
    if (st->retry_after_s > 0)
        cJSON_AddNumberToObject(d, "retryAfterSeconds", st->retry_after_s);
    return d;
}

char *ks_status_json(const struct ks_status *st, const struct ks_resource *res)
{
    if (st->res)
        res = st->res;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "Status");
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(o, "status", "Failure");
    cJSON_AddStringToObject(o, "message", st->message);
    cJSON_AddStringToObject(o, "reason", st->reason);
    cJSON *d = details_of(st, res);
    if (d)
        cJSON_AddItemToObject(o, "details", d);
    cJSON_AddNumberToObject(o, "code", st->code);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out)
        vr_panic("cJSON_PrintUnformatted failed");
    return out;
}
