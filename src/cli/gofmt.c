/* Go duration and time formatting (see gofmt.h). */
#include "cli/gofmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
