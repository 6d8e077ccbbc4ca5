/* The Status-body parser and the HTTP status -> VR_E* table (the only such conversion). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/common.h"
#include "kube/status.h"
#include "vreq/err.h"

#define RETRY_AFTER_MAX 86400

int vr_kube_code_from_http(int http_code, const char *reason)
{
    if (http_code >= 200 && http_code < 300)
        return 0;
    switch (http_code) {
    case 400:
        return VR_EBADREQ;
    case 401:
        return VR_EUNAUTH;
    case 403:
        return VR_EFORBIDDEN;
    case 404:
        return VR_ENOTFOUND;
    case 405:
    case 415:
        return VR_EUNSUPPORTED;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? VR_EEXIST : VR_ECONFLICT;
    case 410:
        return VR_EGONE;
    case 422:
        return VR_EINVALID;
    case 429:
        return VR_ETHROTTLED;
    default:
        break;
    }
    if (http_code >= 500 && http_code < 600)
        return VR_ESERVER;
    if (http_code >= 400 && http_code < 500)
        return VR_EBADREQ;
    return VR_EHTTP;
}

/* The reason client-go gives a response without a usable Status body. */
static const char *generic_reason(int code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return "Unknown";
    }
}

static void copy_field(char *out, size_t cap, const char *s)
{
    (void)snprintf(out, cap, "%s", s);
}

/* The first line of a text body, trimmed, control bytes replaced by '?'. false when
 * there is none (empty, or it looks binary). */
static bool text_message(struct vr_str body, char *out, size_t cap)
{
    struct vr_str line, rest;
    vr_str_split(body, '\n', &line, &rest);
    line = vr_str_trim(line);
    if (line.n == 0 || memchr(line.p, '\0', line.n))
        return false;
    size_t n = line.n < cap - 1 ? line.n : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)line.p[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    out[n] = '\0';
    return true;
}

int vr_kube_retry_after_header(struct vr_str v)
{
    if (!v.p)
        return -1;
    int64_t n;
    v = vr_str_trim(v);
    if (v.n == 0 || vr_parse_int64(v, 0, RETRY_AFTER_MAX, &n) < 0)
        return -1;
    return (int)n;
}

static int retry_from_details(const cJSON *doc)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "details");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "retryAfterSeconds");
    if (!cJSON_IsNumber(r) || r->valuedouble < 0 || r->valuedouble > RETRY_AFTER_MAX)
        return -1;
    return (int)r->valuedouble;
}

/* Parses body as one JSON object (trailing whitespace allowed); NULL otherwise. */
static cJSON *parse_object(struct vr_str body)
{
    const char *end = NULL;
    if (body.n == 0 || body.n > VR_KUBE_STATUS_BODY_MAX)
        return NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(body.p, body.n, &end, 0);
    if (!doc)
        return NULL;
    struct vr_str tail = vr_str_make(end, body.n - (size_t)(end - body.p));
    if (!cJSON_IsObject(doc) || vr_str_trim(tail).n != 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* Takes reason and message from a Status-like object, when they are strings. */
static void from_json(const cJSON *doc, struct vr_kube_status *st, bool *has_msg)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "reason");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
    if (cJSON_IsString(reason) && reason->valuestring[0])
        copy_field(st->reason, sizeof(st->reason), reason->valuestring);
    if (cJSON_IsString(msg) && msg->valuestring[0]) {
        copy_field(st->message, sizeof(st->message), msg->valuestring);
        *has_msg = true;
    }
}

int vr_kube_status_parse(int http_code, struct vr_str body, struct vr_str retry_after,
                         struct vr_kube_status *st)
{
    bool has_msg = false;
    memset(st, 0, sizeof(*st));
    st->code = http_code;
    st->retry_after_s = 0;
    copy_field(st->reason, sizeof(st->reason), generic_reason(http_code));
    if (!body.p)
        body = vr_str_make("", 0);
    cJSON *doc = parse_object(body);
    int ra = vr_kube_retry_after_header(retry_after);
    if (doc) {
        from_json(doc, st, &has_msg);
        if (ra < 0)
            ra = retry_from_details(doc);
        cJSON_Delete(doc);
    } else if (body.n <= VR_KUBE_STATUS_BODY_MAX) {
        has_msg = text_message(body, st->message, sizeof(st->message));
    }
    if (!has_msg)
        (void)snprintf(st->message, sizeof(st->message), "HTTP %d", http_code);
    st->retry_after_s = ra > 0 ? ra : 0;
    return vr_kube_code_from_http(http_code, st->reason);
}

void vr_kube_status_local(struct vr_kube_status *st, const char *message)
{
    memset(st, 0, sizeof(*st));
    copy_field(st->message, sizeof(st->message), message ? message : "");
}
