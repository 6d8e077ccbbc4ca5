/* kube/informer, the pure parts: client-go's backoff (800 ms x2, cap 30 s, jitter
 * +[0,100%), reset after 2 min without a failure), defaults, argument checks and state
 * names. The informer's behaviour against a server is test/integration/it_informer.c. */
#include <string.h>

#include "testutil.h"
#include "kube/informer.h"
#include "vreq/err.h"

static void test_backoff_sequence(void **state)
{
    struct vr_informer_backoff b;
    static const uint64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000};
    (void)state;
    vr_informer_backoff_init(&b, 800, 30000, 120000);
    uint64_t now = 1000;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(vr_informer_backoff_next(&b, now, 0.0), want[i]);
        now += 1000; /* failures a second apart: no reset */
    }
}

static void test_backoff_jitter_bounds(void **state)
{
    struct vr_informer_backoff b;
    (void)state;
    vr_informer_backoff_init(&b, 800, 30000, 120000);
    uint64_t base = 800, now = 0;
    for (int i = 0; i < 12; i++) {
        double r = (double)((i * 7919) % 1000) / 1000.0;
        uint64_t d = vr_informer_backoff_next(&b, now, r);
        assert_true(d >= base && d < 2 * base);
        base = base * 2 > 30000 ? 30000 : base * 2;
        now += 10;
    }
    /* The top of the jitter range stays below 2d; nonsense randomness adds none. */
    vr_informer_backoff_init(&b, 800, 30000, 120000);
    assert_int_equal(vr_informer_backoff_next(&b, 0, 0.9999), 1599);
    assert_int_equal(vr_informer_backoff_next(&b, 1, 1.0), 1600);
    assert_int_equal(vr_informer_backoff_next(&b, 2, -0.5), 3200);
}

static void test_backoff_reset(void **state)
{
    struct vr_informer_backoff b;
    (void)state;
    vr_informer_backoff_init(&b, 800, 30000, 120000);
    assert_int_equal(vr_informer_backoff_next(&b, 0, 0), 800);
    assert_int_equal(vr_informer_backoff_next(&b, 100, 0), 1600);
    /* Exactly 2 min after the previous delay: not yet (client-go compares with >). */
    assert_int_equal(vr_informer_backoff_next(&b, 120100, 0), 3200);
    /* More than 2 min without a failure: back to the start. */
    assert_int_equal(vr_informer_backoff_next(&b, 240101, 0), 800);
    assert_int_equal(vr_informer_backoff_next(&b, 240102, 0), 1600);
}

static void test_defaults_and_checks(void **state)
{
    struct vr_informer_opts o;
    struct vr_informer *inf = (struct vr_informer *)0x1;
    uv_loop_t loop;
    struct vr_clock clock;
    (void)state;
    vr_informer_opts_default(&o);
    assert_int_equal(o.list_limit, 500);
    assert_int_equal(o.watch_timeout_min_s, 300);
    assert_int_equal(o.watch_timeout_max_s, 600);
    assert_int_equal(o.backoff_initial_ms, 800);
    assert_int_equal(o.backoff_max_ms, 30000);
    assert_int_equal(o.backoff_reset_ms, 120000);
    assert_null(o.res);
    assert_int_equal(uv_loop_init(&loop), 0);
    vr_clock_init_system(&clock, &loop);
    struct vr_kube_client *kc = (struct vr_kube_client *)0x2; /* never used: args fail first */
    assert_int_equal(vr_informer_new(&loop, &clock, kc, &o, NULL, &inf), VR_EINVAL);
    o.res = &vr_kube_res_downloadrequests;
    o.watch_timeout_min_s = 700;
    assert_int_equal(vr_informer_new(&loop, &clock, kc, &o, NULL, &inf), VR_EINVAL);
    o.watch_timeout_min_s = 300;
    o.backoff_initial_ms = 0;
    assert_int_equal(vr_informer_new(&loop, &clock, kc, &o, NULL, &inf), VR_EINVAL);
    assert_int_equal(vr_informer_new(&loop, &clock, NULL, &o, NULL, &inf), VR_EINVAL);
    assert_ptr_equal(inf, (struct vr_informer *)0x1);
    vr_test_loop_close(&loop);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(vr_informer_state_name(VR_INFORMER_STOPPED), "stopped");
    assert_string_equal(vr_informer_state_name(VR_INFORMER_LISTING), "listing");
    assert_string_equal(vr_informer_state_name(VR_INFORMER_WATCHING), "watching");
    assert_string_equal(vr_informer_state_name(VR_INFORMER_BACKOFF), "backoff");
    assert_string_equal(vr_informer_state_name(VR_INFORMER_RELISTING), "relisting");
    assert_string_equal(vr_informer_state_name((enum vr_informer_state)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_sequence), cmocka_unit_test(test_backoff_jitter_bounds),
        cmocka_unit_test(test_backoff_reset),    cmocka_unit_test(test_defaults_and_checks),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
