/* Civil dates, RFC 3339 and Go durations (see timefmt.h). */
#include "core/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "vreq/err.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---- civil dates ---- */

int64_t vr_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                       /* [0, 399] */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + (int64_t)doe - 719468;
}

void vr_time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                          /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                    /* [0, 11], March first */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ---- RFC 3339 ---- */

struct scan {
    const char *p, *end;
};

/* Exactly n decimal digits. */
static bool scan_digits(struct scan *sc, int n, int *out)
{
    if (sc->end - sc->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(sc->p[i]))
            return false;
        v = v * 10 + (sc->p[i] - '0');
    }
    sc->p += n;
    *out = v;
    return true;
}

/* One byte, a or b. */
static bool scan_char(struct scan *sc, char a, char b)
{
    if (sc->p == sc->end || (*sc->p != a && *sc->p != b))
        return false;
    sc->p++;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS", every field in range, as Unix seconds. */
static bool scan_date_time(struct scan *sc, int64_t *secs)
{
    int y, mo, d, h, mi, se;
    if (!scan_digits(sc, 4, &y) || !scan_char(sc, '-', '-') || !scan_digits(sc, 2, &mo) ||
        !scan_char(sc, '-', '-') || !scan_digits(sc, 2, &d) || !scan_char(sc, 'T', 't') ||
        !scan_digits(sc, 2, &h) || !scan_char(sc, ':', ':') || !scan_digits(sc, 2, &mi) ||
        !scan_char(sc, ':', ':') || !scan_digits(sc, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    int64_t sod = (int64_t)h * 3600 + (int64_t)mi * 60 + se;
    *secs = vr_time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + sod;
    return true;
}

/* An optional ".digits": the fraction in microseconds, further digits dropped. */
static bool scan_fraction(struct scan *sc, unsigned flags, int32_t *us)
{
    *us = 0;
    if (!scan_char(sc, '.', '.'))
        return true;
    int n = 0;
    for (; sc->p < sc->end && is_digit(*sc->p); sc->p++, n++) {
        if (n < 6)
            *us = *us * 10 + (*sc->p - '0');
    }
    for (int i = n; i < 6; i++)
        *us *= 10;
    return n > 0 || (flags & VR_RFC3339_EMPTY_FRAC);
}

/* "Z", or "+hh:mm" / "-hh:mm" as seconds east of UTC. */
static bool scan_zone(struct scan *sc, unsigned flags, int *off_s)
{
    *off_s = 0;
    if (scan_char(sc, 'Z', 'z'))
        return true;
    int sign = sc->p < sc->end && *sc->p == '-' ? -1 : 1;
    int hh, mm;
    if (!scan_char(sc, '+', '-') || !scan_digits(sc, 2, &hh) || !scan_char(sc, ':', ':') ||
        !scan_digits(sc, 2, &mm))
        return false;
    if (!(flags & VR_RFC3339_ANY_OFFSET) && (hh > 23 || mm > 59))
        return false;
    *off_s = sign * (hh * 3600 + mm * 60);
    return true;
}

int vr_time_parse_rfc3339(const char *s, size_t n, unsigned flags, int64_t *out_s, int32_t *out_us)
{
    if (!s)
        return VR_EPARSE;
    struct scan sc = {s, s + n};
    int64_t secs;
    int32_t us;
    int off;
    if (!scan_date_time(&sc, &secs) || !scan_fraction(&sc, flags, &us) ||
        !scan_zone(&sc, flags, &off) || sc.p != sc.end)
        return VR_EPARSE;
    *out_s = secs - off;
    if (out_us)
        *out_us = us;
    return 0;
}

/* Floor division and its non-negative remainder; safe for every v, unlike (v - d + 1) / d. */
static void floor_divmod(int64_t v, int64_t d, int64_t *q, int64_t *r)
{
    *q = v / d;
    *r = v % d;
    if (*r < 0) {
        *r += d;
        (*q)--;
    }
}

/* frac_us < 0: no fraction. */
static void format_utc(int64_t t, int64_t frac_us, char *out, size_t cap)
{
    int64_t days, sod, y;
    unsigned m, d;
    floor_divmod(t, 86400, &days, &sod);
    vr_time_civil_from_days(days, &y, &m, &d);
    unsigned hh = (unsigned)(sod / 3600), mm = (unsigned)(sod / 60 % 60), ss = (unsigned)(sod % 60);
    if (frac_us < 0)
        (void)snprintf(out, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d, hh, mm,
                       ss);
    else
        (void)snprintf(out, cap, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ", (long long)y, m, d, hh,
                       mm, ss, (unsigned)frac_us);
}

void vr_time_format_rfc3339(int64_t t, char *out, size_t cap)
{
    format_utc(t, -1, out, cap);
}

void vr_time_format_rfc3339_us(int64_t us, char *out, size_t cap)
{
    int64_t t, frac;
    floor_divmod(us, 1000000, &t, &frac);
    format_utc(t, frac, out, cap);
}

/* ---- Go durations ---- */

struct dur_unit {
    const char *name;
    size_t len;
    uint64_t ns;
};

static const struct dur_unit dur_units[] = {
    {"ns", 2, 1},
    {"us", 2, 1000},
    {"\xc2\xb5s", 3, 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 3, 1000}, /* U+03BC Greek mu */
    {"ms", 2, 1000000},
    {"s", 1, 1000000000ull},
    {"m", 1, 60ull * 1000000000ull},
    {"h", 1, 3600ull * 1000000000ull},
};

/* A number as Go reads one: whole part, fraction digits as an integer over scale. */
struct dur_num {
    uint64_t whole, frac;
    double scale;
    bool digits;
};

static int scan_whole(const char **p, struct dur_num *num)
{
    for (; is_digit(**p); (*p)++) {
        if (num->whole > (UINT64_MAX - 9) / 10)
            return VR_ETOOBIG;
        num->whole = num->whole * 10 + (uint64_t)(**p - '0');
        num->digits = true;
    }
    return 0;
}

/* Go's leadingFraction: digits that would take the fraction past 2^63 are read and
 * ignored (they cannot change a nanosecond). */
static void scan_frac(const char **p, struct dur_num *num)
{
    bool full = false;
    for (; is_digit(**p); (*p)++) {
        num->digits = true;
        if (full || num->frac > (uint64_t)INT64_MAX / 10) {
            full = true;
            continue;
        }
        uint64_t next = num->frac * 10 + (uint64_t)(**p - '0');
        if (next > (uint64_t)1 << 63) {
            full = true;
            continue;
        }
        num->frac = next;
        num->scale *= 10;
    }
}

/* Go's unit: the run of bytes up to the next digit or '.', which must name a unit. */
static const struct dur_unit *scan_unit(const char **p)
{
    size_t n = 0;
    while ((*p)[n] && !is_digit((*p)[n]) && (*p)[n] != '.')
        n++;
    for (size_t i = 0; i < VR_ARRAY_SIZE(dur_units); i++) {
        if (dur_units[i].len == n && memcmp(*p, dur_units[i].name, n) == 0) {
            *p += n;
            return &dur_units[i];
        }
    }
    return NULL;
}

/* One "<digits>[.<digits>]<unit>" term, added to *total (at most INT64_MAX). */
static int scan_term(const char **p, uint64_t *total)
{
    struct dur_num num = {.scale = 1};
    int rc = scan_whole(p, &num);
    if (rc < 0)
        return rc;
    if (**p == '.') {
        (*p)++;
        scan_frac(p, &num);
    }
    const struct dur_unit *u = num.digits ? scan_unit(p) : NULL;
    if (!u)
        return VR_EPARSE;
    if (num.whole > (uint64_t)INT64_MAX / u->ns)
        return VR_ETOOBIG;
    uint64_t v = num.whole * u->ns;
    /* Go's float64 expression exactly; frac < scale, so this is below u->ns. */
    if (num.frac > 0)
        v += (uint64_t)((double)num.frac * ((double)u->ns / num.scale));
    if (v > (uint64_t)INT64_MAX - *total)
        return VR_ETOOBIG;
    *total += v;
    return 0;
}

int vr_time_parse_duration(const char *s, int64_t *out_ns)
{
    if (!s)
        return VR_EPARSE;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    if (*s == '\0')
        return VR_EPARSE;
    uint64_t total = 0;
    while (*s != '\0') {
        int rc = scan_term(&s, &total);
        if (rc < 0)
            return rc;
    }
    *out_ns = neg ? -(int64_t)total : (int64_t)total;
    return 0;
}
