/*
 * The rate limiter (pure; time passed in): per-key exponential backoff with its cap and
 * reset, the token bucket's burst and reserve semantics, and When = max of both.
 */
#include <stdint.h>

#include "queue/ratelimit.h"
#include "testutil.h"
#include "vreq/err.h"

static void init_rl(struct vr_rl *rl, uint64_t base, uint64_t max, uint32_t qps, uint32_t burst,
                    uint64_t now)
{
    struct vr_rl_opts o = {.base_ms = base, .max_ms = max, .qps = qps, .burst = burst};
    assert_int_equal(vr_rl_init(rl, &o, now), 0);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vr_rl_opts o;
    vr_rl_opts_default(&o);
    assert_int_equal(o.base_ms, 5);
    assert_int_equal(o.max_ms, 1000 * 1000);
    assert_int_equal(o.qps, 10);
    assert_int_equal(o.burst, 100);

    struct vr_rl rl = {0};
    o.max_ms = 4; /* below base */
    assert_int_equal(vr_rl_init(&rl, &o, 0), VR_EINVAL);
    vr_rl_opts_default(&o);
    o.burst = 0;
    assert_int_equal(vr_rl_init(&rl, &o, 0), VR_EINVAL);
    o.qps = 0; /* no bucket: burst does not matter */
    assert_int_equal(vr_rl_init(&rl, &o, 0), 0);
}

static void test_backoff_growth_and_cap(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 0, 0, 0);
    uint64_t want = 5;
    for (uint32_t f = 0; f < 18; f++, want *= 2)
        assert_int_equal(vr_rl_backoff_ms(&rl, f), want);
    /* 5 * 2^17 = 655360; 5 * 2^18 would be 1310720: capped. */
    assert_int_equal(vr_rl_backoff_ms(&rl, 17), 655360);
    assert_int_equal(vr_rl_backoff_ms(&rl, 18), 1000000);
    assert_int_equal(vr_rl_backoff_ms(&rl, 62), 1000000);
    assert_int_equal(vr_rl_backoff_ms(&rl, 63), 1000000);
    assert_int_equal(vr_rl_backoff_ms(&rl, 64), 1000000);
    assert_int_equal(vr_rl_backoff_ms(&rl, UINT32_MAX), 1000000);

    /* A cap that is not base times a power of two. */
    init_rl(&rl, 3, 100, 0, 0, 0);
    assert_int_equal(vr_rl_backoff_ms(&rl, 5), 96);
    assert_int_equal(vr_rl_backoff_ms(&rl, 6), 100);

    init_rl(&rl, 0, 0, 0, 0, 0); /* backoff off */
    assert_int_equal(vr_rl_backoff_ms(&rl, 7), 0);
}

static void test_when_counts_and_forget_resets(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 0, 0, 0); /* bucket off: backoff only */
    uint32_t failures = 0;
    uint64_t want = 5;
    for (int i = 0; i < 10; i++, want *= 2) {
        assert_int_equal(vr_rl_when(&rl, &failures, 0), want);
        assert_int_equal(failures, (uint32_t)i + 1);
    }
    failures = 0; /* Forget */
    assert_int_equal(vr_rl_when(&rl, &failures, 0), 5);
    assert_int_equal(vr_rl_when(&rl, &failures, 0), 10);

    failures = UINT32_MAX; /* saturates */
    assert_int_equal(vr_rl_when(&rl, &failures, 0), 1000000);
    assert_int_equal(failures, UINT32_MAX);
}

static void test_bucket_burst_then_spacing(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 10, 100, 1000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(vr_rl_reserve(&rl, 1000), 0);
    /* Burst used up: each reservation waits one more token period (100 ms at 10 qps). */
    for (uint64_t i = 1; i <= 10; i++)
        assert_int_equal(vr_rl_reserve(&rl, 1000), i * 100);

    /* 10 s later the debt of 10 tokens is repaid and 90 are banked (not the full 100). */
    for (int i = 0; i < 90; i++)
        assert_int_equal(vr_rl_reserve(&rl, 11000), 0);
    assert_int_equal(vr_rl_reserve(&rl, 11000), 100);
}

static void test_bucket_paced(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 10, 100, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(vr_rl_reserve(&rl, 0), 0);
    /* Calls exactly at the refill rate never wait. */
    for (uint64_t t = 100; t <= 2000; t += 100)
        assert_int_equal(vr_rl_reserve(&rl, t), 0);
    /* Half a period late for the next token: wait the other half. */
    assert_int_equal(vr_rl_reserve(&rl, 2050), 50);
    /* 10 ms later: that token is still owed, so this one is due at 2200. */
    assert_int_equal(vr_rl_reserve(&rl, 2060), 140);
    /* Time going backwards counts as no time passing. */
    assert_int_equal(vr_rl_reserve(&rl, 10), 240);
}

static void test_bucket_rounding_and_overflow(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 3, 1, 0);
    assert_int_equal(vr_rl_reserve(&rl, 0), 0);
    /* One token per 333.3 ms: rounded up, never early. */
    assert_int_equal(vr_rl_reserve(&rl, 0), 334);
    assert_int_equal(vr_rl_reserve(&rl, 0), 667);

    /* A gap long enough to overflow a naive elapsed * qps refills to burst exactly. */
    init_rl(&rl, 5, 1000000, 1000000, 5, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(vr_rl_reserve(&rl, 0), 0);
    assert_int_equal(vr_rl_reserve(&rl, 0), 1); /* 1000 units owed at 1e6 units per ms */
    for (int i = 0; i < 5; i++)
        assert_int_equal(vr_rl_reserve(&rl, UINT64_MAX - 1), 0);
    assert_int_equal(vr_rl_reserve(&rl, UINT64_MAX - 1), 1);

    init_rl(&rl, 5, 1000000, 0, 0, 0); /* bucket off */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(vr_rl_reserve(&rl, 0), 0);
}

static void test_when_is_max_of_both(void **state)
{
    (void)state;
    struct vr_rl rl;
    init_rl(&rl, 5, 1000000, 10, 100, 0);
    uint32_t a = 0, b = 0;
    /* Tokens banked: the backoff decides. Each call still takes a token. */
    assert_int_equal(vr_rl_when(&rl, &a, 0), 5);
    assert_int_equal(vr_rl_when(&rl, &a, 0), 10);
    for (int i = 0; i < 98; i++)
        assert_int_equal(vr_rl_reserve(&rl, 0), 0);
    /* Bucket empty: a new key's 5 ms loses to the bucket's 100 ms... */
    assert_int_equal(vr_rl_when(&rl, &b, 0), 100);
    assert_int_equal(b, 1);
    /* ...and a key with a long backoff wins over the bucket's 200 ms. */
    a = 10;
    assert_int_equal(vr_rl_when(&rl, &a, 0), 5 * 1024);
    assert_int_equal(a, 11);
    /* That call took a token too: the next new key waits 300 ms. */
    uint32_t c = 0;
    assert_int_equal(vr_rl_when(&rl, &c, 0), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_backoff_growth_and_cap),
        cmocka_unit_test(test_when_counts_and_forget_resets),
        cmocka_unit_test(test_bucket_burst_then_spacing),
        cmocka_unit_test(test_bucket_paced),
        cmocka_unit_test(test_bucket_rounding_and_overflow),
        cmocka_unit_test(test_when_is_max_of_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
