/*
 * Leader election decisions (pure): acquire a missing or free lease, renew our own, wait
 * while another holder's lease is fresh on the LOCAL clock, take over only after a full
 * lease duration without change (whatever the server's renewTime says), transitions + 1
 * on a holder change, lost when leading and someone else holds it, the release record;
 * MicroTime formatting and parsing; the Lease spec to and from JSON; the identity.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "controller/lease.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define ME "host-a_11111111-1111-4111-8111-111111111111"
#define OTHER "host-b_22222222-2222-4222-8222-222222222222"
#define T0_US INT64_C(1767323045123456) /* 2026-01-02T03:04:05.123456Z */

static struct vr_lease_record rec_of(const char *holder, int64_t dur, int64_t renew_us,
                                     int64_t transitions)
{
    struct vr_lease_record r;
    memset(&r, 0, sizeof(r));
    snprintf(r.holder, sizeof(r.holder), "%s", holder);
    r.duration_s = dur;
    r.acquire_us = renew_us - 5000000;
    r.renew_us = renew_us;
    r.transitions = transitions;
    return r;
}

static void test_create_when_missing(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_plan p;
    vr_lease_decide(&obs, false, ME, false, 1000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_CREATE);
    assert_string_equal(p.rec.holder, ME);
    assert_int_equal(p.rec.duration_s, 15);
    assert_int_equal(p.rec.transitions, 0);
    assert_true(p.rec.acquire_us == T0_US && p.rec.renew_us == T0_US);
}

static void test_acquire_free(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of("", 1, T0_US, 4); /* released: holder "" */
    vr_lease_observe(&obs, &r, 5000);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, false, 5000, T0_US + 1, 15, &p);
    assert_int_equal(p.action, VR_LEASE_ACQUIRE);
    assert_string_equal(p.rec.holder, ME);
    assert_int_equal(p.rec.transitions, 5);
    assert_int_equal(p.rec.duration_s, 15);
    assert_true(p.rec.acquire_us == T0_US + 1 && p.rec.renew_us == T0_US + 1);
}

static void test_renew_own(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of(ME, 15, T0_US, 7);
    vr_lease_observe(&obs, &r, 1000);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, true, 3000, T0_US + 2000000, 15, &p);
    assert_int_equal(p.action, VR_LEASE_RENEW);
    assert_int_equal(p.rec.transitions, 7);           /* kept */
    assert_true(p.rec.acquire_us == r.acquire_us);    /* kept */
    assert_true(p.rec.renew_us == T0_US + 2000000);   /* new */
    /* Even if our own lease looks expired (a stalled process), it is still ours. */
    vr_lease_decide(&obs, true, ME, false, 90000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_RENEW);
}

static void test_wait_while_fresh_then_take_over(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of(OTHER, 15, T0_US, 2);
    vr_lease_observe(&obs, &r, 1000);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, false, 1000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_WAIT);
    assert_true(p.expires_ms == 16000);
    /* The same record read again does not move the observation time. */
    vr_lease_observe(&obs, &r, 15999);
    assert_true(obs.observed_ms == 1000);
    vr_lease_decide(&obs, true, ME, false, 15999, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_WAIT);
    vr_lease_decide(&obs, true, ME, false, 16000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_ACQUIRE);
    assert_string_equal(p.rec.holder, ME);
    assert_int_equal(p.rec.transitions, 3); /* holder changes: + 1 */
}

static void test_change_restarts_local_clock(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of(OTHER, 15, T0_US, 2);
    vr_lease_observe(&obs, &r, 1000);
    r.renew_us += 2000000; /* the holder renewed */
    vr_lease_observe(&obs, &r, 10000);
    assert_true(obs.observed_ms == 10000);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, false, 16000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_WAIT);
    assert_true(p.expires_ms == 25000);
    vr_lease_decide(&obs, true, ME, false, 25000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_ACQUIRE);
}

static void test_server_times_ignored(void **state)
{
    (void)state;
    /* renewTime years in the past (or a skewed server clock): a newcomer still waits a
     * full lease duration from when IT first saw the record. */
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of(OTHER, 15, T0_US - INT64_C(86400000000) * 365, 0);
    vr_lease_observe(&obs, &r, 500);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, false, 501, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_WAIT);
    /* renewTime in the future does not extend it either. */
    r = rec_of(OTHER, 15, T0_US + INT64_C(3600000000), 0);
    vr_lease_observe(&obs, &r, 1000);
    vr_lease_decide(&obs, true, ME, false, 16000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_ACQUIRE);
    /* The observed record's own duration counts, not ours. */
    r = rec_of(OTHER, 60, T0_US, 0);
    vr_lease_observe(&obs, &r, 2000);
    vr_lease_decide(&obs, true, ME, false, 30000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_WAIT);
    assert_true(p.expires_ms == 62000);
}

static void test_lost(void **state)
{
    (void)state;
    struct vr_lease_obs obs = {0};
    struct vr_lease_record r = rec_of(OTHER, 15, T0_US, 9);
    vr_lease_observe(&obs, &r, 1000);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, ME, true, 2000, T0_US, 15, &p);
    assert_int_equal(p.action, VR_LEASE_LOST);
    assert_true(p.expires_ms == 16000);
}

static void test_release_record(void **state)
{
    (void)state;
    struct vr_lease_record cur = rec_of(ME, 15, T0_US, 3), out;
    vr_lease_release_record(&cur, T0_US + 7, &out);
    assert_string_equal(out.holder, "");
    assert_int_equal(out.duration_s, 1);
    assert_int_equal(out.transitions, 3);
    assert_true(out.acquire_us == T0_US + 7 && out.renew_us == T0_US + 7);
    /* Another process reading the released record may take it at once. */
    struct vr_lease_obs obs = {0};
    vr_lease_observe(&obs, &out, 100);
    struct vr_lease_plan p;
    vr_lease_decide(&obs, true, OTHER, false, 100, T0_US + 8, 15, &p);
    assert_int_equal(p.action, VR_LEASE_ACQUIRE);
    assert_int_equal(p.rec.transitions, 4);
}

static void test_microtime(void **state)
{
    (void)state;
    char buf[40];
    vr_lease_format_time(T0_US, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-02T03:04:05.123456Z");
    vr_lease_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
    vr_lease_format_time(INT64_C(951782400000001), buf, sizeof(buf)); /* leap day 2000 */
    assert_string_equal(buf, "2000-02-29T00:00:00.000001Z");
    int64_t us;
    assert_int_equal(vr_lease_parse_time("2026-01-02T03:04:05.123456Z", &us), 0);
    assert_true(us == T0_US);
    assert_int_equal(vr_lease_parse_time("2026-01-02T03:04:05Z", &us), 0);
    assert_true(us == T0_US - 123456);
    assert_int_equal(vr_lease_parse_time("2026-01-02T03:04:05.1234567891Z", &us), 0);
    assert_true(us == T0_US);
    assert_int_equal(vr_lease_parse_time("2026-01-02T05:04:05.123456+02:00", &us), 0);
    assert_true(us == T0_US);
    assert_int_equal(vr_lease_parse_time("2026-01-02T02:34:05.12-00:30", &us), 0);
    assert_true(us == T0_US - 3456);
    static const char *const bad[] = {"",
                                      "2026-01-02",
                                      "2026-01-02T03:04:05",
                                      "2026-01-02T03:04:05.Z",
                                      "2026-13-02T03:04:05Z",
                                      "2026-01-02T24:04:05Z",
                                      "2026-01-02T03:04:05Zx",
                                      "2026-01-02 03:04:05Z",
                                      "2026-01-02T03:04:05+0200"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(vr_lease_parse_time(bad[i], &us), VR_EPARSE);
}

static cJSON *parse(const char *s)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, strlen(s), &end, 0);
    assert_non_null(j);
    return j;
}

static void test_json(void **state)
{
    (void)state;
    cJSON *lease = parse("{\"metadata\":{\"name\":\"vreqd\",\"resourceVersion\":\"12\"},"
                         "\"spec\":{\"holderIdentity\":\"" OTHER "\",\"leaseDurationSeconds\":15,"
                         "\"acquireTime\":\"2026-01-02T03:03:00.000000Z\","
                         "\"renewTime\":\"2026-01-02T03:04:05.123456Z\",\"leaseTransitions\":2}}");
    struct vr_lease_record r;
    assert_int_equal(vr_lease_record_from_json(lease, &r), 0);
    assert_string_equal(r.holder, OTHER);
    assert_int_equal(r.duration_s, 15);
    assert_int_equal(r.transitions, 2);
    assert_true(r.renew_us == T0_US);
    struct vr_lease_record w = rec_of(ME, 15, T0_US, 3);
    vr_lease_record_to_json(&w, lease);
    char *out = cJSON_PrintUnformatted(lease);
    assert_string_equal(out, "{\"metadata\":{\"name\":\"vreqd\",\"resourceVersion\":\"12\"},"
                             "\"spec\":{\"holderIdentity\":\"" ME "\",\"leaseDurationSeconds\":15,"
                             "\"acquireTime\":\"2026-01-02T03:04:00.123456Z\","
                             "\"renewTime\":\"2026-01-02T03:04:05.123456Z\","
                             "\"leaseTransitions\":3}}");
    cJSON_free(out);
    cJSON_Delete(lease);

    /* A Lease without spec, or with nulls, is an empty record. */
    lease = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"holderIdentity\":null,"
                  "\"renewTime\":null}}");
    assert_int_equal(vr_lease_record_from_json(lease, &r), 0);
    assert_string_equal(r.holder, "");
    assert_true(r.renew_us == 0 && r.duration_s == 0);
    cJSON_Delete(lease);
    lease = parse("{\"spec\":{\"renewTime\":\"yesterday\"}}");
    assert_int_equal(vr_lease_record_from_json(lease, &r), VR_EPARSE);
    cJSON_Delete(lease);
    lease = parse("{\"spec\":{\"leaseDurationSeconds\":\"15\"}}");
    assert_int_equal(vr_lease_record_from_json(lease, &r), VR_EPARSE);
    cJSON_Delete(lease);
}

static void test_identity(void **state)
{
    (void)state;
    char a[VR_LEASE_IDENTITY_MAX], b[VR_LEASE_IDENTITY_MAX];
    assert_int_equal(vr_lease_identity(a, sizeof(a)), 0);
    assert_int_equal(vr_lease_identity(b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    const char *u = strrchr(a, '_');
    assert_non_null(u);
    assert_int_equal(strlen(u + 1), 36);
    assert_int_equal(u[1 + 14], '4'); /* version 4 */
    assert_int_equal(u[1 + 8], '-');
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_when_missing),
        cmocka_unit_test(test_acquire_free),
        cmocka_unit_test(test_renew_own),
        cmocka_unit_test(test_wait_while_fresh_then_take_over),
        cmocka_unit_test(test_change_restarts_local_clock),
        cmocka_unit_test(test_server_times_ignored),
        cmocka_unit_test(test_lost),
        cmocka_unit_test(test_release_record),
        cmocka_unit_test(test_microtime),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
