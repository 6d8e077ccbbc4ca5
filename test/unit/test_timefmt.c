/*
 * core/timefmt (pure): civil dates <-> day counts, checked against known dates, against
 * gmtime_r over two centuries and for every day of years -200..10000; RFC 3339 parsing
 * (1970, leap days, year 9999, leap seconds, fractions, offsets of both signs, the two
 * leniency flags, junk, the byte count n) and formatting at second and microsecond
 * precision (negative times, truncation, the extremes of int64_t); Go durations (every
 * unit, fractions to the nanosecond as Go computes them, signs, junk, and each way past
 * INT64_MAX ns).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"
#include "testutil.h"
#include "vreq/err.h"

#define SENTINEL INT64_C(0x5a5a5a5a)

/* ---- civil dates ---- */

static void test_days_known(void **state)
{
    (void)state;
    static const struct {
        int64_t y;
        unsigned m, d;
        int64_t days;
    } known[] = {
        {1970, 1, 1, 0},       {1969, 12, 31, -1},      {2000, 2, 29, 11016}, {2000, 3, 1, 11017},
        {2024, 2, 29, 19782},  {2026, 1, 1, 20454},     {1900, 3, 1, -25508}, {1900, 2, 28, -25509},
        {2100, 3, 1, 47541},   {9999, 12, 31, 2932896}, {0, 1, 1, -719528},   {0, 3, 1, -719468},
        {-1, 12, 31, -719529}, {1600, 2, 29, -135081},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_int_equal(vr_time_days_from_civil(known[i].y, known[i].m, known[i].d),
                         known[i].days);
        int64_t y;
        unsigned m, d;
        vr_time_civil_from_days(known[i].days, &y, &m, &d);
        assert_int_equal(y, known[i].y);
        assert_int_equal(m, known[i].m);
        assert_int_equal(d, known[i].d);
    }
    /* 1900 and 2100 are not leap years, 2000 and year 0 are. */
    assert_int_equal(vr_time_days_from_civil(1900, 3, 1) - vr_time_days_from_civil(1900, 2, 28), 1);
    assert_int_equal(vr_time_days_from_civil(2100, 3, 1) - vr_time_days_from_civil(2100, 2, 28), 1);
    assert_int_equal(vr_time_days_from_civil(2000, 3, 1) - vr_time_days_from_civil(2000, 2, 28), 2);
    assert_int_equal(vr_time_days_from_civil(0, 3, 1) - vr_time_days_from_civil(0, 2, 28), 2);
    /* A day past the month's end runs on into the next month. */
    assert_int_equal(vr_time_days_from_civil(2026, 2, 31), vr_time_days_from_civil(2026, 3, 3));
}

/* Every day of years -200..10000: the date round-trips and follows the previous one. */
static void test_days_every_day(void **state)
{
    (void)state;
    int64_t first = vr_time_days_from_civil(-200, 1, 1),
            last = vr_time_days_from_civil(10000, 12, 31);
    int64_t py = -201;
    unsigned pm = 12, pd = 31;
    for (int64_t z = first; z <= last; z++) {
        int64_t y;
        unsigned m, d;
        vr_time_civil_from_days(z, &y, &m, &d);
        if (vr_time_days_from_civil(y, m, d) != z)
            fail_msg("day %" PRId64 " -> %" PRId64 "-%u-%u does not round-trip", z, y, m, d);
        bool next_day = y == py && m == pm && d == pd + 1;
        bool next_month = y == py && m == pm + 1 && d == 1 && pd >= 28;
        bool next_year = y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31;
        if (!next_day && !next_month && !next_year)
            fail_msg("%" PRId64 "-%u-%u after %" PRId64 "-%u-%u", y, m, d, py, pm, pd);
        py = y;
        pm = m;
        pd = d;
    }
    assert_int_equal(py, 10000);
}

/* The C library's gmtime_r, an independent implementation, agrees over 1901..2099. */
static void test_format_vs_gmtime(void **state)
{
    (void)state;
    char want[64], got[64];
    for (int64_t t = -2145916800; t < INT64_C(4102444800); t += 86400 * 7 + 3599) {
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        assert_true(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
        vr_time_format_rfc3339(t, got, sizeof(got));
        if (strcmp(want, got) != 0)
            fail_msg("t=%" PRId64 ": %s, gmtime_r says %s", t, got, want);
        int64_t back;
        assert_int_equal(vr_time_parse_rfc3339(got, strlen(got), 0, &back, NULL), 0);
        assert_int_equal(back, t);
    }
}

/* ---- RFC 3339 parsing ---- */

static int parse(const char *s, unsigned flags, int64_t *t, int32_t *us)
{
    return vr_time_parse_rfc3339(s, strlen(s), flags, t, us);
}

static void expect_time(const char *s, unsigned flags, int64_t want_s, int32_t want_us)
{
    int64_t t = SENTINEL;
    int32_t us = -1;
    if (parse(s, flags, &t, &us) != 0)
        fail_msg("\"%s\" (flags %u) does not parse", s, flags);
    if (t != want_s || us != want_us)
        fail_msg("\"%s\": %" PRId64 ".%06d, want %" PRId64 ".%06d", s, t, (int)us, want_s,
                 (int)want_us);
}

static void expect_bad(const char *s, unsigned flags)
{
    int64_t t = SENTINEL;
    int32_t us = -1;
    if (parse(s, flags, &t, &us) != VR_EPARSE)
        fail_msg("\"%s\" (flags %u) parses", s, flags);
    assert_true(t == SENTINEL && us == -1); /* nothing written on failure */
}

static void test_parse_dates(void **state)
{
    (void)state;
    expect_time("1970-01-01T00:00:00Z", 0, 0, 0);
    expect_time("1969-12-31T23:59:59Z", 0, -1, 0);
    expect_time("1969-12-31T23:59:59.5Z", 0, -1, 500000);
    expect_time("2000-02-29T12:00:00Z", 0, 951825600, 0);
    expect_time("2024-02-29T00:00:00Z", 0, 1709164800, 0);
    expect_time("2026-01-02T03:04:05Z", 0, 1767323045, 0);
    expect_time("2026-01-02t03:04:05z", 0, 1767323045, 0);
    expect_time("9999-12-31T23:59:59Z", 0, INT64_C(253402300799), 0);
    expect_time("9999-12-31T23:59:59.999999999Z", 0, INT64_C(253402300799), 999999);
    expect_time("0000-01-01T00:00:00Z", 0, INT64_C(-62167219200), 0);
    /* A leap second is the first second of the next minute. */
    expect_time("2016-12-31T23:59:60Z", 0, 1483228800, 0);
    /* No day-of-month check, as before: the 31st of February is 3 March. */
    expect_time("2026-02-31T00:00:00Z", 0, 1772496000, 0);
}

static void test_parse_fraction_and_offset(void **state)
{
    (void)state;
    const int64_t t0 = 1767323045; /* 2026-01-02T03:04:05Z */
    expect_time("2026-01-02T03:04:05.1Z", 0, t0, 100000);
    expect_time("2026-01-02T03:04:05.000001Z", 0, t0, 1);
    expect_time("2026-01-02T03:04:05.123456Z", 0, t0, 123456);
    expect_time("2026-01-02T03:04:05.1234567890123456789Z", 0, t0, 123456);
    expect_time("2026-01-02T05:04:05+02:00", 0, t0, 0);
    expect_time("2026-01-01T21:34:05.25-05:30", 0, t0, 250000);
    expect_time("2026-01-02T03:04:05-00:00", 0, t0, 0);
    expect_time("2026-01-03T03:03:05+23:59", 0, t0, 0);
    expect_time("2026-01-01T03:05:05-23:59", 0, t0, 0);
    /* Across the epoch and into the previous day. */
    expect_time("1970-01-01T00:30:00+01:00", 0, -1800, 0);
    /* The flags. */
    expect_bad("2026-01-02T03:04:05.Z", 0);
    expect_time("2026-01-02T03:04:05.Z", VR_RFC3339_EMPTY_FRAC, t0, 0);
    expect_bad("2026-01-02T03:04:05+24:00", 0);
    expect_bad("2026-01-02T03:04:05+00:60", 0);
    expect_time("2026-01-03T03:04:05+24:00", VR_RFC3339_ANY_OFFSET, t0, 0);
    expect_time("2026-01-02T03:04:05+99:99", VR_RFC3339_ANY_OFFSET, t0 - 99 * 3600 - 99 * 60, 0);
    expect_bad("2026-01-02T03:04:05.Z", VR_RFC3339_ANY_OFFSET);
    expect_bad("2026-01-02T03:04:05+24:00", VR_RFC3339_EMPTY_FRAC);
    /* out_us may be NULL. */
    int64_t t;
    assert_int_equal(vr_time_parse_rfc3339("2026-01-02T03:04:05.9Z", 22, 0, &t, NULL), 0);
    assert_int_equal(t, t0);
}

static void test_parse_junk(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-01-02",
        "2026-01-02T03:04:05",
        "2026-01-02 03:04:05Z",
        "2026-1-02T03:04:05Z",
        "26-01-02T03:04:05Z",
        "+2026-01-02T03:04:05Z",
        "2026-01-02T03:04:5Z",
        "2026-01-02T03:04:05ZZ",
        "2026-01-02T03:04:05Z ",
        " 2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Zx",
        "2026-01-02T03:04:05+0200",
        "2026-01-02T03:04:05+02",
        "2026-01-02T03:04:05+2:00",
        "2026-01-02T03:04:05+02:00Z",
        "2026-01-02T03:04:05 +02:00",
        "2026-01-02T03:04:05,5Z",
        "2026-01-02T03:04:05..5Z",
        "2026-01-02T03:04:05.-1Z",
        "2026-01-02T03:04:05.5",
        "2026-00-02T03:04:05Z",
        "2026-13-02T03:04:05Z",
        "2026-01-00T03:04:05Z",
        "2026-01-32T03:04:05Z",
        "2026-01-02T24:00:00Z",
        "2026-01-02T03:60:05Z",
        "2026-01-02T03:04:61Z",
        "2026-01-02T-3:04:05Z",
        "2026-01-02X03:04:05Z",
        "2026/01/02T03:04:05Z",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_bad(bad[i], 0);
        expect_bad(bad[i], VR_RFC3339_EMPTY_FRAC | VR_RFC3339_ANY_OFFSET);
    }
    int64_t t = SENTINEL;
    assert_int_equal(vr_time_parse_rfc3339(NULL, 0, 0, &t, NULL), VR_EPARSE);
    assert_true(t == SENTINEL);
}

/* Only the n bytes given are read: a slice of a longer text, and an embedded NUL. */
static void test_parse_length(void **state)
{
    (void)state;
    const char *s = "2026-01-02T03:04:05Zjunk";
    int64_t t;
    assert_int_equal(vr_time_parse_rfc3339(s, 20, 0, &t, NULL), 0);
    assert_int_equal(t, 1767323045);
    for (size_t n = 0; n < 20; n++)
        assert_int_equal(vr_time_parse_rfc3339(s, n, 0, &t, NULL), VR_EPARSE);
    assert_int_equal(vr_time_parse_rfc3339(s, 21, 0, &t, NULL), VR_EPARSE);
    static const char nul[] = "2026-01-02T03:04:05\0Z";
    assert_int_equal(vr_time_parse_rfc3339(nul, sizeof(nul) - 1, 0, &t, NULL), VR_EPARSE);
}

/* ---- RFC 3339 formatting ---- */

static void expect_format(int64_t t, const char *want)
{
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    vr_time_format_rfc3339(t, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void expect_format_us(int64_t us, const char *want)
{
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    vr_time_format_rfc3339_us(us, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void test_format(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01T00:00:00Z");
    expect_format(-1, "1969-12-31T23:59:59Z");
    expect_format(-86400, "1969-12-31T00:00:00Z");
    expect_format(951782400, "2000-02-29T00:00:00Z");
    expect_format(1767323045, "2026-01-02T03:04:05Z");
    expect_format(INT64_C(253402300799), "9999-12-31T23:59:59Z");
    expect_format(INT64_C(253402300800), "10000-01-01T00:00:00Z");
    expect_format(INT64_C(-62167219200), "0000-01-01T00:00:00Z");
    expect_format_us(0, "1970-01-01T00:00:00.000000Z");
    expect_format_us(-1, "1969-12-31T23:59:59.999999Z");
    expect_format_us(-1000000, "1969-12-31T23:59:59.000000Z");
    expect_format_us(INT64_C(1767323045123456), "2026-01-02T03:04:05.123456Z");
    expect_format_us(INT64_C(951782400000001), "2000-02-29T00:00:00.000001Z");
    expect_format_us(INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z");
    char buf[64];
    vr_time_format_rfc3339(INT64_C(253402300799), buf, sizeof(buf));
    assert_int_equal(strlen(buf), VR_RFC3339_SIZE - 1);
    vr_time_format_rfc3339_us(INT64_C(253402300799999999), buf, sizeof(buf));
    assert_int_equal(strlen(buf), VR_RFC3339_US_SIZE - 1);
}

static void test_format_edges(void **state)
{
    (void)state;
    char buf[VR_RFC3339_SIZE];
    /* Like snprintf: truncated and terminated; cap 0 writes nothing. */
    vr_time_format_rfc3339(0, buf, 5);
    assert_string_equal(buf, "1970");
    buf[0] = '#';
    vr_time_format_rfc3339(0, buf, 0);
    assert_int_equal(buf[0], '#');
    vr_time_format_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    /* The extremes of int64_t: no overflow (UBSan watches), a well-formed tail. */
    char big[64];
    const int64_t ext[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        vr_time_format_rfc3339(ext[i], big, sizeof(big));
        assert_true(strlen(big) > 20 && big[strlen(big) - 1] == 'Z');
        vr_time_format_rfc3339_us(ext[i], big, sizeof(big));
        assert_true(strlen(big) > 27 && big[strlen(big) - 1] == 'Z');
    }
    /* Microseconds round-trip through the parser. */
    for (int64_t us = INT64_C(-5000000000123457); us < INT64_C(253402300799999999);
         us += INT64_C(7777777777777)) {
        vr_time_format_rfc3339_us(us, big, sizeof(big));
        int64_t t;
        int32_t frac;
        assert_int_equal(vr_time_parse_rfc3339(big, strlen(big), 0, &t, &frac), 0);
        assert_true(t * 1000000 + frac == us);
    }
}

/* ---- Go durations ---- */

static void expect_dur(const char *s, int64_t want)
{
    int64_t ns = SENTINEL;
    int rc = vr_time_parse_duration(s, &ns);
    if (rc != 0 || ns != want)
        fail_msg("\"%s\": rc %d, %" PRId64 " ns, want %" PRId64, s, rc, ns, want);
}

static void expect_dur_err(const char *s, int want_rc)
{
    int64_t ns = SENTINEL;
    int rc = vr_time_parse_duration(s, &ns);
    if (rc != want_rc || ns != SENTINEL)
        fail_msg("\"%s\": rc %d (%" PRId64 " ns), want rc %d", s ? s : "(null)", rc, ns, want_rc);
}

static void test_duration_ok(void **state)
{
    (void)state;
    const int64_t s = 1000000000, h = 3600 * s;
    expect_dur("0", 0);
    expect_dur("+0", 0);
    expect_dur("-0", 0);
    expect_dur("0s", 0);
    expect_dur("1ns", 1);
    expect_dur("1us", 1000);
    expect_dur("1\xc2\xb5s", 1000);
    expect_dur("1\xce\xbcs", 1000);
    expect_dur("1ms", 1000000);
    expect_dur("1s", s);
    expect_dur("1m", 60 * s);
    expect_dur("1h", h);
    expect_dur("720h0m0s", 720 * h);
    expect_dur("1h2m3s4ms5us6ns", h + 2 * 60 * s + 3 * s + 4000000 + 5000 + 6);
    expect_dur("1s1s", 2 * s);
    expect_dur("1.5h", h + h / 2);
    expect_dur(".5s", s / 2);
    expect_dur("5.s", 5 * s);
    expect_dur("-1.5h", -(h + h / 2));
    expect_dur("+3m", 180 * s);
    expect_dur("0.1s", 100000000);
    /* Go's float64 arithmetic: these came out 1 ns (1 ms) short with long double (double). */
    expect_dur("25.58h", INT64_C(92088000000000));
    expect_dur(".45609738173h", INT64_C(1641950574228));
    /* Fraction digits past 2^63 are read and ignored. */
    expect_dur("0.123456789123456789123456789s", 123456789);
    expect_dur("1.00000000000000000000000001s", s);
    expect_dur("9223372036854775807ns", INT64_MAX);
    expect_dur("-9223372036854775807ns", -INT64_MAX);
    expect_dur("2562047h47m16.854775807s", INT64_MAX);
}

static void test_duration_junk(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     "+",     "-",    "1",         "10",    "s",    ".",   ".s",    "+.s",  "1x",
        "1hx",  "1 s",   " 1s",  "1s ",       "1m 2s", "1S",   "1H",  "1..5s", "--1s", "+-1s",
        "1e3s", "0x10s", "1h30", "\xc2\xb5s", "1.s.",  "1sec", "1hr", "00",    "0.0",  "1m-1s",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_dur_err(bad[i], VR_EPARSE);
    expect_dur_err(NULL, VR_EPARSE);
    /* The first problem from the left decides. */
    expect_dur_err("1x99999999999999999999999s", VR_EPARSE);
}

static void test_duration_overflow(void **state)
{
    (void)state;
    static const char *const big[] = {
        "9223372036854775808ns",
        "-9223372036854775808ns", /* Go takes this one; vreq keeps |d| <= INT64_MAX */
        "2562048h",
        "2562047h47m16.854775808s",
        "153722867281m",
        "9223372036854775807ns1ns",
        "2562047h2562047h",
        "18446744073709551616ns",  /* over 64 bits while reading digits */
        "99999999999999999999999", /* ...before the missing unit is noticed */
        "1s99999999999999999999999x",
    };
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
        expect_dur_err(big[i], VR_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_known),
        cmocka_unit_test(test_days_every_day),
        cmocka_unit_test(test_format_vs_gmtime),
        cmocka_unit_test(test_parse_dates),
        cmocka_unit_test(test_parse_fraction_and_offset),
        cmocka_unit_test(test_parse_junk),
        cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_edges),
        cmocka_unit_test(test_duration_ok),
        cmocka_unit_test(test_duration_junk),
        cmocka_unit_test(test_duration_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
