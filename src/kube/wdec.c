/* The watch stream decoder (wdec.h): resumable, only new bytes scanned, capped tail. */
#include <string.h>

#include "kube/wdec.h"
#include "vreq/err.h"

/* A tail buffer that grew past this is released rather than kept for reuse, so one big
 * event does not pin its size for the life of the watch. */
#define TAIL_KEEP_BYTES ((size_t)64 * 1024)
/* The first block of the per-event parse arena: a typical event's tree (a few KiB) fits. */
#define EVENT_ARENA_BYTES ((size_t)8 * 1024)

static const char *const type_names[] = {
    [VR_WDEC_ADDED] = "ADDED",       [VR_WDEC_MODIFIED] = "MODIFIED",
    [VR_WDEC_DELETED] = "DELETED",   [VR_WDEC_BOOKMARK] = "BOOKMARK",
    [VR_WDEC_ERROR] = "ERROR",
};

const char *vr_wdec_type_name(enum vr_wdec_type t)
{
    if ((size_t)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
        return type_names[t];
    return "?";
}

void vr_wdec_init(struct vr_wdec *d, size_t max_line)
{
    memset(d, 0, sizeof(*d));
    d->max_line = max_line ? max_line : VR_WDEC_MAX_LINE_DEFAULT;
    vr_buf_init(&d->tail, d->max_line);
    vr_arena_init(&d->arena, EVENT_ARENA_BYTES);
}

void vr_wdec_cleanup(struct vr_wdec *d)
{
    vr_buf_cleanup(&d->tail);
    vr_arena_cleanup(&d->arena);
}

static void tail_clear(struct vr_wdec *d)
{
    if (d->tail.alloc > TAIL_KEEP_BYTES)
        vr_buf_cleanup(&d->tail);
    else
        vr_buf_reset(&d->tail);
}

void vr_wdec_reset(struct vr_wdec *d)
{
    tail_clear(d);
    d->err = 0;
}

bool vr_wdec_has_partial(const struct vr_wdec *d)
{
    return d->tail.len > 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool all_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(p[i]))
            return false;
    return true;
}

const char *vr_wdec_object_rv(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    if (!cJSON_IsString(rv) || !rv->valuestring[0])
        return NULL;
    return rv->valuestring;
}

static bool has_name(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    return cJSON_IsString(name) && name->valuestring[0];
}

static int type_parse(const cJSON *t, enum vr_wdec_type *out)
{
    if (!cJSON_IsString(t))
        return VR_EPARSE;
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (strcmp(t->valuestring, type_names[i]) == 0) {
            *out = (enum vr_wdec_type)i;
            return 0;
        }
    }
    return VR_EPARSE;
}

/* Checks what the emit callback's contract promises for each type. */
static int event_check(enum vr_wdec_type type, const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return VR_EPARSE;
    switch (type) {
    case VR_WDEC_ADDED:
    case VR_WDEC_MODIFIED:
    case VR_WDEC_DELETED:
        return has_name(obj) && vr_wdec_object_rv(obj) ? 0 : VR_EPARSE;
    case VR_WDEC_BOOKMARK:
        return vr_wdec_object_rv(obj) ? 0 : VR_EPARSE;
    case VR_WDEC_ERROR:
        return 0;
    }
    return VR_EPARSE;
}

/* Parses one complete line (without its '\n') and emits its event. */
static int line_parse(struct vr_wdec *d, const char *p, size_t n, vr_wdec_emit_cb emit_cb,
                      void *arg)
{
    const char *end = NULL;
    enum vr_wdec_type type;
    if (all_space(p, n))
        return 0;
    d->lines++;
    /* require_null_terminated = 0: the line is not NUL-terminated inside n (see the
     * pitfall in the project notes); trailing garbage is checked by hand instead. */
    cJSON *root = vr_arena_parse_json(&d->arena, p, n, &end);
    if (!root) {
        vr_arena_reset(&d->arena);
        return VR_EPARSE;
    }
    int rc = VR_EPARSE;
    if (!end || end < p || end > p + n || !all_space(end, (size_t)(p + n - end)))
        goto out;
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (!cJSON_IsObject(root) || type_parse(cJSON_GetObjectItemCaseSensitive(root, "type"),
                                            &type) < 0)
        goto out;
    rc = event_check(type, obj);
    if (rc < 0)
        goto out;
    d->events++;
    rc = emit_cb(type, obj, arg);
    if (rc > 0)
        rc = VR_EINVAL; /* a callback contract violation must still stop the stream */
out:
    vr_arena_reset(&d->arena); /* the event's tree; the first block stays for the next */
    return rc;
}

static int fail(struct vr_wdec *d, int rc)
{
    d->err = rc;
    tail_clear(d);
    return rc;
}

/* Appends a piece of the current line to the tail, enforcing the cap. */
static int tail_add(struct vr_wdec *d, const char *p, size_t n)
{
    if (n > d->max_line - d->tail.len)
        return VR_ETOOBIG;
    return vr_buf_append(&d->tail, p, n);
}

int vr_wdec_feed(struct vr_wdec *d, const void *p, size_t n, vr_wdec_emit_cb emit_cb, void *arg)
{
    const char *s = p, *end = s + n;
    int rc;
    if (d->err)
        return d->err;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            rc = tail_add(d, s, (size_t)(end - s));
            return rc < 0 ? fail(d, rc) : 0;
        }
        size_t len = (size_t)(nl - s);
        if (d->tail.len > 0) {
            /* Only the tail is ever copied; a line wholly inside p is parsed in place. */
            rc = tail_add(d, s, len);
            if (rc == 0)
                rc = line_parse(d, d->tail.p, d->tail.len, emit_cb, arg);
            if (rc == 0)
                tail_clear(d);
        } else {
            rc = len > d->max_line ? VR_ETOOBIG : line_parse(d, s, len, emit_cb, arg);
        }
        if (rc < 0)
            return fail(d, rc);
        s = nl + 1;
    }
    return 0;
}

static void copy_str(char *dst, size_t cap, const cJSON *v)
{
    dst[0] = '\0';
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        if (n >= cap)
            n = cap - 1;
        memcpy(dst, v->valuestring, n);
        dst[n] = '\0';
    }
}

static int int_field(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return 0;
    return (int)v->valuedouble;
}

static int code_to_err(int code, const char *reason)
{
    if (code == 410 || strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)
        return VR_EGONE;
    switch (code) {
    case 400:
        return VR_EBADREQ;
    case 401:
        return VR_EUNAUTH;
    case 403:
        return VR_EFORBIDDEN;
    case 404:
        return VR_ENOTFOUND;
    case 422:
        return VR_EINVALID;
    case 429:
        return VR_ETHROTTLED;
    default:
        return VR_ESERVER;
    }
}

int vr_wdec_status(const cJSON *object, struct vr_kube_status *st)
{
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(object, "details");
    memset(st, 0, sizeof(*st));
    st->code = int_field(cJSON_GetObjectItemCaseSensitive(object, "code"));
    copy_str(st->reason, sizeof(st->reason), cJSON_GetObjectItemCaseSensitive(object, "reason"));
    copy_str(st->message, sizeof(st->message),
             cJSON_GetObjectItemCaseSensitive(object, "message"));
    st->retry_after_s = int_field(cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds"));
    return code_to_err(st->code, st->reason);
}
