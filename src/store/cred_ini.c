/* The AWS shared credentials / config INI parser (see cred_ini.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store/cred_ini.h"
#include "vreq/err.h"
#include "vreq/mem.h"
#include "vreq/str.h"

/* Which profile the current section feeds. */
enum sect_kind {
    SECT_NONE,  /* before the first header */
    SECT_OTHER, /* another profile */
    SECT_CONFIG, /* "[profile x]": the lower-priority copy */
    SECT_CREDS,  /* "[x]": the higher-priority copy */
};

struct ini_parse {
    const char *want; /* the profile name */
    enum sect_kind sect;
    bool in_key;      /* a key line was seen in this section: indented lines belong to it */
    bool found[2];    /* [0] "[profile x]", [1] "[x]" */
    struct vr_aws_profile prof[2];
    unsigned line;
    char *err;
    size_t errcap;
};

static const struct {
    const char *key;
    size_t off;
} keys[] = {
    {"aws_access_key_id", offsetof(struct vr_aws_profile, access_key_id)},
    {"aws_secret_access_key", offsetof(struct vr_aws_profile, secret_access_key)},
    {"aws_session_token", offsetof(struct vr_aws_profile, session_token)},
    {"region", offsetof(struct vr_aws_profile, region)},
    {"role_arn", offsetof(struct vr_aws_profile, role_arn)},
    {"web_identity_token_file", offsetof(struct vr_aws_profile, web_identity_token_file)},
    {"role_session_name", offsetof(struct vr_aws_profile, role_session_name)},
};

static char **field(struct vr_aws_profile *p, size_t i)
{
    return (char **)(void *)((char *)p + keys[i].off);
}

static void free_field(char *s)
{
    if (s)
        vr_free_secret(s, strlen(s));
}

void vr_aws_profile_cleanup(struct vr_aws_profile *p)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        free_field(*field(p, i));
    memset(p, 0, sizeof(*p));
}

static int fail(struct ini_parse *ps, const char *fmt, ...) VR_PRINTF(2, 3);

static int fail(struct ini_parse *ps, const char *fmt, ...)
{
    if (ps->errcap > 0) {
        int n = snprintf(ps->err, ps->errcap, "line %u: ", ps->line);
        if (n >= 0 && (size_t)n < ps->errcap) {
            va_list ap;
            va_start(ap, fmt);
            (void)vsnprintf(ps->err + n, ps->errcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return VR_ECONFIG;
}

static bool is_comment(struct vr_str t)
{
    return t.n > 0 && (t.p[0] == '#' || t.p[0] == ';');
}

/* Classifies a section name: "profile x" feeds x's config copy, "x" its credentials copy. */
static enum sect_kind classify(struct ini_parse *ps, struct vr_str name)
{
    if (vr_str_starts_with(name, "profile") && name.n > 7 && (name.p[7] == ' ' || name.p[7] == '\t')) {
        struct vr_str rest = vr_str_trim(vr_str_make(name.p + 7, name.n - 7));
        return vr_str_eq_c(rest, ps->want) ? SECT_CONFIG : SECT_OTHER;
    }
    return vr_str_eq_c(name, ps->want) ? SECT_CREDS : SECT_OTHER;
}

static int parse_header(struct ini_parse *ps, struct vr_str t)
{
    const char *close = memchr(t.p, ']', t.n);
    if (!close)
        return fail(ps, "section header without ']'");
    struct vr_str name = vr_str_trim(vr_str_make(t.p + 1, (size_t)(close - t.p - 1)));
    struct vr_str after = vr_str_trim(vr_str_make(close + 1, t.n - (size_t)(close - t.p) - 1));
    if (after.n > 0 && !is_comment(after))
        return fail(ps, "unexpected text after the section header");
    if (name.n == 0)
        return fail(ps, "empty section name");
    ps->sect = classify(ps, name);
    ps->in_key = false;
    if (ps->sect == SECT_CONFIG)
        ps->found[0] = true;
    else if (ps->sect == SECT_CREDS)
        ps->found[1] = true;
    return 0;
}

static void store_key(struct ini_parse *ps, struct vr_str key, struct vr_str val)
{
    if (ps->sect != SECT_CONFIG && ps->sect != SECT_CREDS)
        return;
    struct vr_aws_profile *p = &ps->prof[ps->sect == SECT_CREDS ? 1 : 0];
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!vr_str_caseeq_c(key, keys[i].key))
            continue;
        char **f = field(p, i);
        free_field(*f);
        /* An empty value (or the head of an "s3 =" block) leaves the key unset. */
        *f = val.n > 0 ? vr_str_dup(val) : NULL;
        return;
    }
}

static int parse_key(struct ini_parse *ps, struct vr_str t)
{
    struct vr_str key, val;
    if (!vr_str_split(t, '=', &key, &val))
        return fail(ps, "expected \"key = value\"");
    key = vr_str_trim(key);
    if (key.n == 0)
        return fail(ps, "empty key name");
    if (ps->sect == SECT_NONE)
        return fail(ps, "key outside of a section");
    ps->in_key = true;
    store_key(ps, key, vr_str_trim(val));
    return 0;
}

static int parse_line(struct ini_parse *ps, struct vr_str line)
{
    if (memchr(line.p, '\0', line.n))
        return fail(ps, "NUL byte");
    struct vr_str t = vr_str_trim(line);
    if (t.n == 0 || is_comment(t))
        return 0;
    bool indented = line.p[0] == ' ' || line.p[0] == '\t';
    /* Indented lines after a key are its sub-keys ("s3 =") or continuation: not ours. */
    if (indented && ps->in_key)
        return 0;
    if (t.p[0] == '[')
        return parse_header(ps, t);
    return parse_key(ps, t);
}

/* Merges the "[profile x]" copy under the "[x]" copy into out. */
static void merge(struct ini_parse *ps, struct vr_aws_profile *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char **hi = field(&ps->prof[1], i), **lo = field(&ps->prof[0], i);
        char **dst = field(out, i);
        if (*hi) {
            *dst = *hi;
            *hi = NULL;
        } else {
            *dst = *lo;
            *lo = NULL;
        }
    }
}

static int parse_all(struct ini_parse *ps, const char *text, size_t len)
{
    struct vr_str rest = vr_str_make(text, len);
    if (rest.n >= 3 && memcmp(rest.p, "\xEF\xBB\xBF", 3) == 0)
        rest = vr_str_make(rest.p + 3, rest.n - 3);
    while (rest.n > 0) {
        struct vr_str line;
        if (!vr_str_split(rest, '\n', &line, &rest))
            rest.n = 0;
        ps->line++;
        int rc = parse_line(ps, line);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vr_cred_ini_parse(const char *text, size_t len, const char *profile,
                      struct vr_aws_profile *out, char *err, size_t errcap)
{
    struct ini_parse ps = {.want = profile && profile[0] ? profile : "default",
                           .err = err,
                           .errcap = errcap};
    if (errcap > 0)
        err[0] = '\0';
    int rc = parse_all(&ps, text ? text : "", text ? len : 0);
    if (rc == 0 && !ps.found[0] && !ps.found[1]) {
        if (errcap > 0)
            (void)snprintf(err, errcap, "profile \"%s\" not found", ps.want);
        rc = VR_ECONFIG;
    }
    if (rc == 0)
        merge(&ps, out);
    vr_aws_profile_cleanup(&ps.prof[0]);
    vr_aws_profile_cleanup(&ps.prof[1]);
    return rc;
}
