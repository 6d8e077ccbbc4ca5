#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "vreq/err.h"
#include "vreq/mem.h"
#include "vreq/str.h"

bool vr_str_eq(struct vr_str a, struct vr_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool vr_str_eq_c(struct vr_str a, const char *b)
{
    return vr_str_eq(a, vr_str_c(b));
}

bool vr_str_caseeq_c(struct vr_str a, const char *b)
{
    size_t n = strlen(b);
    return a.n == n && (n == 0 || strncasecmp(a.p, b, n) == 0);
}

bool vr_str_starts_with(struct vr_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct vr_str vr_str_trim(struct vr_str s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

bool vr_str_split(struct vr_str s, char c, struct vr_str *head, struct vr_str *tail)
{
    const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
    if (!q) {
        *head = s;
        return false;
    }
    *head = vr_str_make(s.p, (size_t)(q - s.p));
    *tail = vr_str_make(q + 1, s.n - (size_t)(q - s.p) - 1);
    return true;
}

char *vr_str_dup(struct vr_str s)
{
    return vr_xstrndup(s.p ? s.p : "", s.n);
}

int vr_parse_uint64(struct vr_str s, uint64_t max, uint64_t *out)
{
    if (s.n == 0)
        return VR_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return VR_EPARSE;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return VR_ETOOBIG;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int vr_parse_int64(struct vr_str s, int64_t min, int64_t max, int64_t *out)
{
    bool neg = s.n > 0 && s.p[0] == '-';
    struct vr_str digits = neg ? vr_str_make(s.p + 1, s.n - 1) : s;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t u;
    int rc = vr_parse_uint64(digits, lim, &u);
    if (rc < 0)
        return rc;
    int64_t v = neg ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u) : (int64_t)u;
    if (v < min || v > max)
        return VR_ETOOBIG;
    *out = v;
    return 0;
}

int vr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vr_url_decode(struct vr_str s, bool plus_space, char *out, size_t outcap, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '%') {
            if (i + 2 >= s.n)
                return VR_EPARSE;
            int hi = vr_hex_digit(s.p[i + 1]), lo = vr_hex_digit(s.p[i + 2]);
            if (hi < 0 || lo < 0)
                return VR_EPARSE;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (o + 1 >= outcap)
            return VR_ETOOBIG;
        out[o++] = c;
    }
    if (outcap == 0)
        return VR_ETOOBIG;
    out[o] = '\0';
    *outlen = o;
    return 0;
}
