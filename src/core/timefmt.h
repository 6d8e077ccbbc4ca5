/*
 * Time as text, in one place: civil dates <-> day counts, RFC 3339 timestamps (parse, and
 * format at second and microsecond precision) and Go durations (time.ParseDuration).
 *
 * Pure: no I/O, no clock, no allocation, no logging. Dates are proleptic Gregorian in UTC
 * and Unix time counts seconds since 1970-01-01T00:00:00Z without leap seconds. The day
 * arithmetic is H. Hinnant's ("chrono-Compatible Low-Level Date Algorithms"), exact for
 * every date whose day count fits in an int64_t.
 */
#ifndef VR_CORE_TIMEFMT_H
#define VR_CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 (negative before) of y-m-d, for m 1..12 and d 1..31; a day past
 * the end of its month counts on into the next one (2026-02-31 is 2026-03-03). */
int64_t vr_time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The date of the day `days` days after 1970-01-01 (any sign): *y, *m 1..12, *d 1..31.
 * Allocation- and branch-light: SigV4 calls it for every URL it signs. */
void vr_time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Flags of vr_time_parse_rfc3339: leniencies that some callers have always had, kept so
 * that no caller starts refusing what it accepted before. */
#define VR_RFC3339_EMPTY_FRAC 0x1u /* a '.' with no digits after it ("...:05.Z") */
#define VR_RFC3339_ANY_OFFSET 0x2u /* "+hh:mm" with any two digits each ("+99:99") */

/*
 * Parses the n bytes at s as "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" and nothing
 * else: 'T' and 'Z' in either case; month 1..12, day 1..31, hour 0..23, minute 0..59 and
 * second 0..60 (a leap second counts as the first second of the next minute); a fraction
 * of one or more digits, any number of them, truncated to microseconds; an offset of
 * 00:00..23:59 (flags relax the last two). *out_s gets Unix seconds and *out_us, when
 * out_us is not NULL, the fraction in microseconds (0..999999); neither is written on
 * failure. 0, or VR_EPARSE (also for s NULL).
 */
int vr_time_parse_rfc3339(const char *s, size_t n, unsigned flags, int64_t *out_s, int32_t *out_us);

/* Buffer sizes for the formats below, NUL included, for years 0000..9999. */
#define VR_RFC3339_SIZE 21    /* "2026-01-02T03:04:05Z" */
#define VR_RFC3339_US_SIZE 28 /* "2026-01-02T03:04:05.123456Z" */

/* Writes Unix seconds t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out, like snprintf: at most
 * cap bytes, NUL-terminated when cap > 0. Years past 9999 get more digits, years before 0
 * a '-'. */
void vr_time_format_rfc3339(int64_t t, char *out, size_t cap);

/* The same for Unix microseconds us, with exactly six fractional digits:
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (Kubernetes' MicroTime). */
void vr_time_format_rfc3339_us(int64_t us, char *out, size_t cap);

/*
 * Parses a Go duration as time.ParseDuration does: an optional sign, then "0" or one or
 * more terms <digits>[.<digits>]<unit> with at least one digit ("1h30m", "1.5s", ".5ms",
 * "2.s"), units ns us µs (U+00B5 or U+03BC) ms s m h. A fraction is converted with Go's
 * float64 arithmetic, so the result matches Go's to the nanosecond. 0 with *out_ns
 * written; VR_EPARSE (s NULL or empty, a term without digits or unit, an unknown unit) or
 * VR_ETOOBIG (a magnitude over INT64_MAX ns, about 292 years, or a number too long for 64
 * bits); the first problem from the left decides.
 */
int vr_time_parse_duration(const char *s, int64_t *out_ns);

#endif
