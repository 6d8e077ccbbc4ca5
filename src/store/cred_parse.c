/* Pure helpers of the credential fetches: times, the STS form body and XML, credential JSON,
 * container URL policy (see cred_parse.h). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/timefmt.h"
#include "store/cred_parse.h"
#include "vreq/err.h"
#include "vreq/mem.h"

int vr__cred_parse_time(struct vr_str s, int64_t *out)
{
    s = vr_str_trim(s);
    return vr_time_parse_rfc3339(s.p, s.n, VR_RFC3339_EMPTY_FRAC, out, NULL);
}

static int form_value(struct vr_buf *b, struct vr_str v)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; i < v.n && rc == 0; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rc = vr_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = vr_buf_append(b, e, 3);
        }
    }
    return rc;
}

int vr__cred_sts_body(struct vr_buf *b, const char *role_arn, const char *session_name,
                      struct vr_str token)
{
    int rc = vr_buf_append_str(b, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
    if (rc == 0)
        rc = form_value(b, vr_str_c(role_arn));
    if (rc == 0)
        rc = vr_buf_append_str(b, "&RoleSessionName=");
    if (rc == 0)
        rc = form_value(b, vr_str_c(session_name));
    if (rc == 0)
        rc = vr_buf_append_str(b, "&WebIdentityToken=");
    if (rc == 0)
        rc = form_value(b, token);
    return rc;
}

/* The content of the first <tag>...</tag> in in (attributes allowed, no nesting of the same
 * tag). false when absent. */
static bool xml_elem(struct vr_str in, const char *tag, struct vr_str *out)
{
    size_t tl = strlen(tag);
    for (size_t i = 0; i + tl + 2 <= in.n; i++) {
        if (in.p[i] != '<' || memcmp(in.p + i + 1, tag, tl) != 0)
            continue;
        char c = in.p[i + 1 + tl];
        if (c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/')
            continue;
        const char *gt = memchr(in.p + i, '>', in.n - i);
        if (!gt)
            return false;
        if (gt[-1] == '/') {
            *out = vr_str_make(gt, 0);
            return true;
        }
        const char *start = gt + 1;
        for (const char *q = start; q + tl + 3 <= in.p + in.n; q++) {
            if (q[0] == '<' && q[1] == '/' && memcmp(q + 2, tag, tl) == 0 && q[2 + tl] == '>') {
                *out = vr_str_make(start, (size_t)(q - start));
                return true;
            }
        }
        return false;
    }
    return false;
}

/* One entity at s (after '&'); appends its character. Returns the bytes used or -1. */
static int xml_entity(struct vr_str s, struct vr_buf *b)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t n = strlen(ents[i].name);
        if (s.n >= n && memcmp(s.p, ents[i].name, n) == 0)
            return vr_buf_putc(b, ents[i].c) == 0 ? (int)n : -1;
    }
    const char *semi = memchr(s.p, ';', s.n < 12 ? s.n : 12);
    if (!semi || s.n < 3 || s.p[0] != '#')
        return -1;
    bool hex = s.p[1] == 'x' || s.p[1] == 'X';
    unsigned v = 0;
    for (const char *q = s.p + (hex ? 2 : 1); q < semi; q++) {
        int d = *q >= '0' && *q <= '9' ? *q - '0'
                : hex && *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                : hex && *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
                                                : -1;
        if (d < 0)
            return -1;
        v = v * (hex ? 16u : 10u) + (unsigned)d;
        if (v > 0x7f)
            return -1; /* credentials are ASCII */
    }
    if (v == 0 || vr_buf_putc(b, (char)v) != 0)
        return -1;
    return (int)(semi - s.p) + 1;
}

/* Unescaped, trimmed copy of an element's text; NULL when malformed or empty. */
static char *xml_text(struct vr_str s)
{
    struct vr_buf b;
    vr_buf_init(&b, 64 * 1024);
    s = vr_str_trim(s);
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '&') {
            if (vr_buf_putc(&b, s.p[i]) != 0)
                goto out_fail;
            continue;
        }
        int used = xml_entity(vr_str_make(s.p + i + 1, s.n - i - 1), &b);
        if (used < 0)
            goto out_fail;
        i += (size_t)used;
    }
    if (b.len == 0)
        goto out_fail;
    return vr_buf_take(&b, NULL);
out_fail:
    vr_buf_cleanup_secret(&b);
    return NULL;
}

static int sts_error(int http_status, struct vr_str body, char *err, size_t errcap)
{
    struct vr_str e = body, code = VR_STR_LIT(""), msg = VR_STR_LIT("");
    (void)xml_elem(body, "Error", &e);
    (void)xml_elem(e, "Code", &code);
    (void)xml_elem(e, "Message", &msg);
    code = vr_str_trim(code);
    msg = vr_str_trim(msg);
    (void)snprintf(err, errcap, "STS AssumeRoleWithWebIdentity: HTTP %d %.*s: %.*s", http_status,
                   (int)(code.n > 64 ? 64 : code.n), code.p, (int)(msg.n > 200 ? 200 : msg.n),
                   msg.p);
    if (http_status >= 500 || http_status == 429 || vr_str_eq_c(code, "Throttling") ||
        vr_str_eq_c(code, "IDPCommunicationError") || vr_str_eq_c(code, "ExpiredTokenException"))
        return VR_ESERVER;
    return VR_EFORBIDDEN;
}

int vr__cred_parse_sts(int http_status, struct vr_str body, int64_t now_s,
                       struct vr_aws_creds *out, char *err, size_t errcap)
{
    if (http_status != 200)
        return sts_error(http_status, body, err, errcap);
    struct vr_str c, akid = {0}, secret = {0}, token = {0}, exp = {0};
    if (!xml_elem(body, "Credentials", &c) || !xml_elem(c, "AccessKeyId", &akid) ||
        !xml_elem(c, "SecretAccessKey", &secret) || !xml_elem(c, "SessionToken", &token)) {
        (void)snprintf(err, errcap, "STS AssumeRoleWithWebIdentity: no Credentials in the answer");
        return VR_EPARSE;
    }
    struct vr_aws_creds r = {.source = "web-identity"};
    r.access_key_id = xml_text(akid);
    r.secret_access_key = xml_text(secret);
    r.session_token = xml_text(token);
    if (!r.access_key_id || !r.secret_access_key || !r.session_token) {
        vr_aws_creds_cleanup(&r);
        (void)snprintf(err, errcap, "STS AssumeRoleWithWebIdentity: malformed Credentials");
        return VR_EPARSE;
    }
    if (!xml_elem(c, "Expiration", &exp) || vr__cred_parse_time(exp, &r.expiration_s) < 0)
        r.expiration_s = now_s + 900;
    *out = r;
    return 0;
}

static const char *json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static bool only_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    return true;
}

static int json_fill(const cJSON *o, const char *source, int64_t now_s, struct vr_aws_creds *out,
                     char *err, size_t errcap)
{
    const char *code = json_str(o, "Code");
    if (code && strcmp(code, "Success") != 0) {
        (void)snprintf(err, errcap, "%s credentials: Code is \"%.64s\"", source, code);
        return VR_EPARSE;
    }
    const char *akid = json_str(o, "AccessKeyId"), *secret = json_str(o, "SecretAccessKey");
    const char *token = json_str(o, "Token"), *exp = json_str(o, "Expiration");
    if (!akid || !secret) {
        (void)snprintf(err, errcap, "%s credentials: no AccessKeyId or SecretAccessKey", source);
        return VR_EPARSE;
    }
    struct vr_aws_creds r = {.source = source};
    if (!exp || vr__cred_parse_time(vr_str_c(exp), &r.expiration_s) < 0)
        r.expiration_s = now_s + 900;
    r.access_key_id = vr_xstrdup(akid);
    r.secret_access_key = vr_xstrdup(secret);
    r.session_token = token ? vr_xstrdup(token) : NULL;
    *out = r;
    return 0;
}

/* cJSON keeps the parsed strings: wipe them before freeing the tree. */
static void wipe_json(cJSON *o)
{
    for (cJSON *c = o ? o->child : NULL; c; c = c->next)
        if (cJSON_IsString(c) && c->valuestring)
            memset(c->valuestring, 0, strlen(c->valuestring));
    cJSON_Delete(o);
}

int vr__cred_parse_json(struct vr_str body, const char *source, int64_t now_s,
                        struct vr_aws_creds *out, char *err, size_t errcap)
{
    const char *end = NULL;
    cJSON *o = body.n ? cJSON_ParseWithLengthOpts(body.p, body.n, &end, 0) : NULL;
    if (!o || !cJSON_IsObject(o) || !only_space(end, body.p + body.n)) {
        wipe_json(o);
        (void)snprintf(err, errcap, "%s credentials: the answer is not a JSON object", source);
        return VR_EPARSE;
    }
    int rc = json_fill(o, source, now_s, out, err, errcap);
    wipe_json(o);
    return rc;
}

static bool host_allowed(struct vr_str h)
{
    static const char *const ok[] = {"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
                                      "[fd00:ec2::23]"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (vr_str_caseeq_c(h, ok[i]))
            return true;
    /* 127.0.0.0/8, dotted quad only. */
    if (!vr_str_starts_with(h, "127."))
        return false;
    int dots = 0;
    for (size_t i = 0; i < h.n; i++) {
        if (h.p[i] == '.')
            dots++;
        else if (h.p[i] < '0' || h.p[i] > '9')
            return false;
    }
    return dots == 3;
}

bool vr__cred_container_url_ok(const char *url)
{
    struct vr_str u = vr_str_c(url);
    bool https = vr_str_starts_with(u, "https://");
    if (!https && !vr_str_starts_with(u, "http://"))
        return false;
    size_t skip = https ? 8 : 7;
    struct vr_str auth = vr_str_make(u.p + skip, strcspn(u.p + skip, "/?#"));
    if (auth.n == 0 || memchr(auth.p, '@', auth.n))
        return false;
    if (https)
        return true;
    struct vr_str host = auth;
    if (auth.p[0] == '[') {
        const char *rb = memchr(auth.p, ']', auth.n);
        if (!rb)
            return false;
        host.n = (size_t)(rb - auth.p) + 1;
    } else {
        const char *colon = memchr(auth.p, ':', auth.n);
        if (colon)
            host.n = (size_t)(colon - auth.p);
    }
    return host_allowed(host);
}
