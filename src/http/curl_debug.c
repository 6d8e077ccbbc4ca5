/*
 * Redacting CURLOPT_DEBUGFUNCTION (see curl_debug.h for the rules). The redaction itself is
 * pure and works on one line at a time; the callback only splits curl's chunks into lines
 * and logs what comes out.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "core/redact.h"
#include "http/curl_debug.h"
#include "vreq/log.h"
#include "vreq/mem.h"
#include "vreq/str.h"

/* Longest URL redacted through vr_redact_url; a longer one is hidden whole. */
#define URL_MAX 2048
/* curl cuts its messages at these lengths (failf: CURL_ERROR_SIZE - 1; infof: its MAXINFO
 * buffer of 2048, minus the NUL). */
#define TEXT_CUT_FAILF (CURL_ERROR_SIZE - 1)
#define TEXT_CUT_INFOF 2047
#define TTL_HEADER "x-aws-ec2-metadata-token-ttl-seconds"
/* Kept after a redacted word: closing quotes and brackets, punctuation. */
#define TRAILING_DELIMS "'\"])>,;."

/* Header names (and "name:" / "name=" in text) whose value is hidden. */
static const char *const secret_name_parts[] = {
    "auth",   "token",    "secret", "key",       "credential",
    "cookie", "password", "passwd", "signature", "bearer",
};
/* A free word in a text line that hides the rest of the line ("key" and "auth" are left
 * out: "Server key exchange", "Server auth using Basic" are curl's own words). */
static const char *const secret_word_parts[] = {
    "token", "secret", "credential", "cookie", "password", "passwd", "signature", "bearer",
};

/* --- bounded output --- */

struct out {
    char *p;
    size_t cap;
    size_t len;
    bool cut;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->cut)
        return;
    if (o->len + n < o->cap) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
        o->p[o->len] = '\0';
        return;
    }
    memcpy(o->p + o->len, s, o->cap - 1 - o->len);
    memcpy(o->p + o->cap - 4, "...", 3);
    o->len = o->cap - 1;
    o->p[o->len] = '\0';
    o->cut = true;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* --- character classes and names --- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* RFC 9110 tchar: what a header name or a method is made of. */
static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t tchar_span(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar(p[i]))
        i++;
    return i;
}

static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return n > 0;
}

static bool contains_ci(struct vr_str s, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= s.n; i++)
        if (strncasecmp(s.p + i, needle, k) == 0)
            return true;
    return false;
}

static bool has_part(struct vr_str s, const char *const *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++)
        if (contains_ci(s, parts[i]))
            return true;
    return false;
}

/* Whether the value (trimmed) of a header or text "name:" must be hidden. */
static bool name_is_secret(struct vr_str name, struct vr_str value)
{
    if (vr_str_caseeq_c(name, TTL_HEADER) && all_digits(value.p, value.n))
        return false;
    return has_part(name, secret_name_parts, VR_ARRAY_SIZE(secret_name_parts));
}

static bool word_is_secret(struct vr_str word)
{
    if (vr_str_caseeq_c(word, TTL_HEADER))
        return false;
    return has_part(word, secret_word_parts, VR_ARRAY_SIZE(secret_word_parts));
}

static size_t trailing_delims(const char *p, size_t n)
{
    size_t d = 0;
    while (d < n && strchr(TRAILING_DELIMS, p[n - 1 - d]))
        d++;
    return d;
}

static const char *find(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

/* --- URLs and words --- */

/* Whether a redacted URL's authority is a host with at most a numeric port. vr_redact_url
 * drops "user:pass@", but a URL that curl cut before its '@' would still show "user:pass". */
static bool authority_is_host(const char *a, size_t n)
{
    size_t i = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return false;
        i = (size_t)(close - a) + 1;
    }
    const char *colon = memchr(a + i, ':', n - i);
    if (!colon)
        return true;
    size_t c = (size_t)(colon - a) + 1;
    return c == n || all_digits(a + c, n - c);
}

static void put_checked_url(struct out *o, const char *u)
{
    const char *sep = strstr(u, "://");
    if (!sep) {
        put_str(o, u);
        return;
    }
    const char *a = sep + 3;
    size_t an = strcspn(a, "/?#");
    if (authority_is_host(a, an)) {
        put_str(o, u);
        return;
    }
    put(o, u, (size_t)(a - u));
    put_str(o, VR_REDACTED);
    put_str(o, a + an);
}

/* A URL or a request target (absolute or origin form), n bytes at p. */
static void put_url(struct out *o, const char *p, size_t n)
{
    char in[URL_MAX];
    char red[URL_MAX + 32];
    if (n >= sizeof(in)) {
        put_str(o, VR_REDACTED);
        return;
    }
    memcpy(in, p, n);
    in[n] = '\0';
    put_checked_url(o, vr_redact_url(in, red, sizeof(red)));
}

static bool is_scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* A word holding "://" at sep: what precedes the scheme (a quote) and trailing delimiters
 * stay; the URL in between is redacted. */
static void put_url_word(struct out *o, const char *p, size_t n, size_t sep)
{
    size_t s = sep;
    while (s > 0 && is_scheme_char(p[s - 1]))
        s--;
    size_t d = trailing_delims(p + s, n - s);
    put(o, p, s);
    put_url(o, p + s, n - s - d);
    put(o, p + n - d, d);
}

/* A word with a '?' at q (a request target, "h2h3 [:path: /k?X-Amz-Signature=..]"). */
static void put_query_word(struct out *o, const char *p, size_t n, size_t q)
{
    size_t d = trailing_delims(p + q + 1, n - q - 1);
    put(o, p, q + 1);
    if (n - q - 1 > d)
        put_str(o, VR_REDACTED);
    put(o, p + n - d, d);
}

static void put_word(struct out *o, const char *p, size_t n)
{
    const char *q = memchr(p, '?', n);
    const char *sep = find(p, n, "://");
    if (sep && (!q || sep < q))
        put_url_word(o, p, n, (size_t)(sep - p));
    else if (q)
        put_query_word(o, p, n, (size_t)(q - p));
    else
        put(o, p, n);
}

/* Copies blanks, and each word through put_word; a last word that runs to the end of a
 * line curl may have cut is hidden whole. */
static void scrub_words(struct out *o, const char *p, size_t n, bool last_may_be_cut)
{
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && is_blank(p[i]))
            i++;
        put(o, p + s, i - s);
        s = i;
        while (i < n && !is_blank(p[i]))
            i++;
        if (i == s)
            continue;
        if (i == n && last_may_be_cut)
            put_str(o, VR_REDACTED);
        else
            put_word(o, p + s, i - s);
    }
}

/* --- text lines --- */

/* The value after "name:" in a text line: up to the end, without blanks and a closing ']'. */
static struct vr_str text_value(const char *p, size_t n)
{
    struct vr_str v = vr_str_trim(vr_str_make(p, n));
    if (v.n > 0 && v.p[v.n - 1] == ']')
        v.n--;
    return vr_str_trim(v);
}

/* Where the secret part of a (scrubbed) text line starts, or n when it has none. */
static size_t secret_start(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!is_word_char(p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && is_word_char(p[i]))
            i++;
        struct vr_str word = vr_str_make(p + s, i - s);
        if (i < n && (p[i] == ':' || p[i] == '=')) {
            if (name_is_secret(word, text_value(p + i + 1, n - i - 1)))
                return i + 1;
        } else if (word_is_secret(word)) {
            return i;
        }
    }
    return n;
}

static void redact_text(struct out *o, const char *p, size_t n, bool last_may_be_cut)
{
    char buf[VR_CURL_DEBUG_LINE_MAX];
    struct out t = {.p = buf, .cap = sizeof(buf)};
    buf[0] = '\0';
    scrub_words(&t, p, n, last_may_be_cut);
    size_t cut = secret_start(t.p, t.len);
    put(o, t.p, cut);
    if (cut == t.len)
        return;
    put_str(o, " " VR_REDACTED);
    struct vr_str rest = vr_str_trim(vr_str_make(t.p + cut, t.len - cut));
    if (rest.n > 0 && rest.p[rest.n - 1] == ']')
        put_str(o, "]");
}

/* --- header lines --- */

static void put_header(struct out *o, const char *p, size_t name_len, size_t n)
{
    struct vr_str name = vr_str_make(p, name_len);
    struct vr_str value = vr_str_trim(vr_str_make(p + name_len + 1, n - name_len - 1));
    put(o, p, name_len);
    put_str(o, ": ");
    if (name_is_secret(name, value))
        put_str(o, VR_REDACTED);
    else
        redact_text(o, value.p, value.n, false);
}

/* "METHOD SP target SP HTTP/x": writes it with the target redacted; false (nothing written)
 * when the line is not one. */
static bool put_request_line(struct out *o, const char *p, size_t n)
{
    size_t m = tchar_span(p, n);
    if (m == 0 || m >= n || p[m] != ' ')
        return false;
    size_t t0 = m + 1;
    size_t t1 = t0;
    while (t1 < n && !is_blank(p[t1]))
        t1++;
    if (t1 == t0 || t1 >= n || p[t1] != ' ')
        return false;
    struct vr_str version = vr_str_make(p + t1 + 1, n - t1 - 1);
    if (!vr_str_starts_with(version, "HTTP/") || memchr(version.p, ' ', version.n) ||
        memchr(version.p, '\t', version.n))
        return false;
    put(o, p, t0);
    put_url(o, p + t0, t1 - t0);
    put(o, p + t1, n - t1);
    return true;
}

static void redact_header(struct out *o, const char *p, size_t n)
{
    /* A folded continuation line belongs to a header this function cannot see. */
    if (n > 0 && is_blank(p[0])) {
        put_str(o, VR_REDACTED);
        return;
    }
    if (vr_str_starts_with(vr_str_make(p, n), "HTTP/")) {
        redact_text(o, p, n, false);
        return;
    }
    size_t name_len = tchar_span(p, n);
    if (name_len > 0 && name_len < n && p[name_len] == ':') {
        put_header(o, p, name_len, n);
        return;
    }
    if (!put_request_line(o, p, n))
        put_str(o, VR_REDACTED);
}

size_t vr_curl_debug_redact(enum vr_curl_debug_kind kind, const char *line, size_t n, char *out,
                            size_t cap)
{
    vr_assert(cap >= 32);
    struct out o = {.p = out, .cap = cap};
    out[0] = '\0';
    /* A NUL (a hostile server can send one in a header) ends the line: the log line is a
     * C string, and a rule must never judge text that is not what gets written. */
    const char *nul = memchr(line, '\0', n);
    if (nul)
        n = (size_t)(nul - line);
    switch (kind) {
    case VR_CURL_DEBUG_TEXT:
        redact_text(&o, line, n, n == TEXT_CUT_FAILF || n >= TEXT_CUT_INFOF);
        break;
    case VR_CURL_DEBUG_HEADER:
        redact_header(&o, line, n);
        break;
    }
    return o.len;
}

/* --- the curl callback --- */

static void log_line(const struct vr_log_ctx *ctx, char dir, enum vr_curl_debug_kind kind,
                     struct vr_str line)
{
    char out[VR_CURL_DEBUG_LINE_MAX];
    (void)vr_curl_debug_redact(kind, line.p, line.n, out, sizeof(out));
    vr_log_write(VR_LOG_TRACE, "curl", ctx, "%c %s", dir, out);
}

/* curl hands over a whole request header block at once, response headers one line at a
 * time and a text message with its newline: each line is logged on its own. */
static void log_lines(const struct vr_log_ctx *ctx, char dir, enum vr_curl_debug_kind kind,
                      const char *p, size_t n)
{
    struct vr_str rest = vr_str_make(p, n);
    while (rest.n > 0) {
        struct vr_str line;
        if (!vr_str_split(rest, '\n', &line, &rest))
            rest.n = 0;
        if (line.n > 0 && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n > 0)
            log_line(ctx, dir, kind, line);
    }
}

int vr_curl_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *clientp)
{
    const struct vr_log_ctx *ctx = clientp;
    (void)easy;
    if (!vr_log_enabled(VR_LOG_TRACE, "curl"))
        return 0;
    switch (type) {
    case CURLINFO_TEXT:
        log_lines(ctx, '*', VR_CURL_DEBUG_TEXT, data, size);
        break;
    case CURLINFO_HEADER_IN:
        log_lines(ctx, '<', VR_CURL_DEBUG_HEADER, data, size);
        break;
    case CURLINFO_HEADER_OUT:
        log_lines(ctx, '>', VR_CURL_DEBUG_HEADER, data, size);
        break;
    case CURLINFO_DATA_IN:
        vr_log_write(VR_LOG_TRACE, "curl", ctx, "< [%zu bytes data]", size);
        break;
    case CURLINFO_DATA_OUT:
        vr_log_write(VR_LOG_TRACE, "curl", ctx, "> [%zu bytes data]", size);
        break;
    case CURLINFO_SSL_DATA_IN:
    case CURLINFO_SSL_DATA_OUT:
    case CURLINFO_END:
        break;
    }
    return 0;
}
