/* Go duration and time formatting (see gofmt.h). */
#include "cli/gofmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vreq/err.h"

struct unit {
    const char *name;
    int64_t ns;
};

static const struct unit units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", 60LL * 1000000000},
    {"h", 3600LL * 1000000000},
};

static const struct unit *match_unit(const char **p)
{
    const struct unit *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (n > best_len && strncmp(*p, units[i].name, n) == 0 &&
            !((*p)[n] >= 'a' && (*p)[n] <= 'z')) {
            best = &units[i];
            best_len = n;
        }
    }
    if (best)
        *p += best_len;
    return best;
}

/* One "<number><unit>" term, added to *total. */
static int parse_term(const char **p, uint64_t *total)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    for (; **p >= '0' && **p <= '9'; (*p)++, digits = true) {
        if (whole > (UINT64_MAX - 9) / 10)
            return VR_EPARSE;
        whole = whole * 10 + (uint64_t)(**p - '0');
    }
    if (**p == '.') {
        for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, digits = true) {
            if (scale < 1000000000000000000ULL) {
                frac = frac * 10 + (uint64_t)(**p - '0');
                scale *= 10;
            }
        }
    }
    const struct unit *u = digits ? match_unit(p) : NULL;
    if (!u)
        return VR_EPARSE;
    uint64_t un = (uint64_t)u->ns;
    if (whole > (uint64_t)INT64_MAX / un)
        return VR_EPARSE;
    uint64_t v = whole * un + (uint64_t)((long double)frac * (long double)un / scale);
    if (v > (uint64_t)INT64_MAX - *total)
        return VR_EPARSE;
    *total += v;
    return 0;
}

int vr_go_parse_duration(const char *s, int64_t *out_ns)
{
    bool neg = false;
    uint64_t total = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    if (*s == '\0')
        return VR_EPARSE;
    while (*s != '\0') {
        int rc = parse_term(&s, &total);
        if (rc < 0)
            return rc;
    }
    *out_ns = neg ? -(int64_t)total : (int64_t)total;
    return 0;
}

/* Writes v / 10^prec's fraction digits (trailing zeros dropped, with '.') at the end of
 * buf, moving *w left; returns v / 10^prec. */
static uint64_t put_frac(char *buf, size_t *w, uint64_t v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(v % 10);
        print = print || digit != 0;
        if (print)
            buf[--*w] = (char)('0' + digit);
        v /= 10;
    }
    if (print)
        buf[--*w] = '.';
    return v;
}

static void put_int(char *buf, size_t *w, uint64_t v)
{
    do {
        buf[--*w] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
}

static void put_str(char *buf, size_t *w, const char *s)
{
    size_t n = strlen(s);
    *w -= n;
    memcpy(buf + *w, s, n);
}

void vr_go_format_duration(int64_t ns, char *out, size_t outlen)
{
    char buf[40];
    size_t w = sizeof(buf);
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    buf[--w] = '\0';
    if (u < 1000000000ULL) {
        int prec = 0;
        if (u == 0) {
            snprintf(out, outlen, "0s");
            return;
        } else if (u < 1000ULL) {
            put_str(buf, &w, "ns");
        } else if (u < 1000000ULL) {
            prec = 3;
            put_str(buf, &w, "\xc2\xb5s");
        } else {
            prec = 6;
            put_str(buf, &w, "ms");
        }
        u = put_frac(buf, &w, u, prec);
        put_int(buf, &w, u);
    } else {
        buf[--w] = 's';
        u = put_frac(buf, &w, u, 9);
        put_int(buf, &w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            put_int(buf, &w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                put_int(buf, &w, u);
            }
        }
    }
    if (neg)
        buf[--w] = '-';
    snprintf(out, outlen, "%s", buf + w);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return VR_EPARSE;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c && !(c == 'T' && **p == 't'))
        return VR_EPARSE;
    (*p)++;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_offset(const char *p, int *off_s)
{
    int oh, om;
    if (*p == 'Z' || *p == 'z') {
        *off_s = 0;
        return p[1] == '\0' ? 0 : VR_EPARSE;
    }
    int sign = *p == '-' ? -1 : 1;
    if (*p != '+' && *p != '-')
        return VR_EPARSE;
    p++;
    if (digits(&p, 2, &oh) < 0 || expect(&p, ':') < 0 || digits(&p, 2, &om) < 0 || *p)
        return VR_EPARSE;
    *off_s = sign * (oh * 3600 + om * 60);
    return 0;
}

int vr_go_parse_rfc3339(const char *s, int64_t *out_s)
{
    int y, mo, d, h, mi, se, off;
    const char *p = s;
    if (digits(&p, 4, &y) < 0 || expect(&p, '-') < 0 || digits(&p, 2, &mo) < 0 ||
        expect(&p, '-') < 0 || digits(&p, 2, &d) < 0 || expect(&p, 'T') < 0 ||
        digits(&p, 2, &h) < 0 || expect(&p, ':') < 0 || digits(&p, 2, &mi) < 0 ||
        expect(&p, ':') < 0 || digits(&p, 2, &se) < 0)
        return VR_EPARSE;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
        parse_offset(p, &off) < 0)
        return VR_EPARSE;
    *out_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

void vr_go_format_time(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!localtime_r(&tt, &tm))
        return;
    if (strftime(out, outlen, "%Y-%m-%d %H:%M:%S %z %Z", &tm) == 0)
        out[0] = '\0';
}
