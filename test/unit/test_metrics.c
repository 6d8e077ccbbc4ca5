/*
 * The metrics registry and exposition: byte-exact output for small registries, label and
 * help escaping, histogram buckets (cumulative, le bounds, +Inf, _sum, _count), number
 * formatting, argument checks, the /proc parser and vreqd's families.
 *
 * `test_metrics --dump` prints the exposition of a populated vreqd registry (with process
 * metrics) on stdout instead, for metrics_promtool_test.sh.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static char *render(const struct vr_metrics *r)
{
    struct vr_buf b;
    vr_buf_init(&b, 1 << 20);
    assert_int_equal(vr_metrics_render(r, &b), 0);
    return vr_buf_take(&b, NULL);
}

static void assert_render(const struct vr_metrics *r, const char *want)
{
    char *got = render(r);
    assert_string_equal(got, want);
    vr_free(got);
}

static void test_counter_gauge_exact(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *c, *g;
    struct vr_metric *a, *b, *x;
    const char *labels[] = {"controller", "result"};
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_COUNTER, "t_total", "Things done.",
                                           labels, 2, NULL, 0, &c),
                     0);
    assert_int_equal(
        vr_metrics_add_family(r, VR_METRIC_GAUGE, "t_depth", "Depth.", NULL, 0, NULL, 0, &g), 0);
    const char *va[] = {"dlr", "success"}, *vb[] = {"dlr", "error"};
    assert_int_equal(vr_metrics_series(c, va, &a), 0);
    assert_int_equal(vr_metrics_series(c, vb, &b), 0);
    assert_int_equal(vr_metrics_series(g, NULL, &x), 0);
    vr_metric_inc(a);
    vr_metric_inc(a);
    vr_metric_add(b, 0.5);
    vr_metric_add(b, -3); /* counters never go down */
    vr_metric_set(x, 7);
    vr_metric_add(x, -2.25);
    struct vr_metric *again;
    assert_int_equal(vr_metrics_series(c, va, &again), 0);
    assert_ptr_equal(again, a);
    assert_render(r, "# HELP t_total Things done.\n"
                     "# TYPE t_total counter\n"
                     "t_total{controller=\"dlr\",result=\"success\"} 2\n"
                     "t_total{controller=\"dlr\",result=\"error\"} 0.5\n"
                     "# HELP t_depth Depth.\n"
                     "# TYPE t_depth gauge\n"
                     "t_depth 4.75\n");
    vr_metrics_free(r);
}

static void test_escaping(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *f;
    struct vr_metric *m;
    const char *labels[] = {"path"};
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "esc", "A \\ and a\nnewline \"q\"",
                                           labels, 1, NULL, 0, &f),
                     0);
    const char *v[] = {"C:\\dir \"x\"\nend"};
    assert_int_equal(vr_metrics_series(f, v, &m), 0);
    vr_metric_set(m, -1);
    /* HELP escapes \ and newline only; label values also escape ". */
    assert_render(r, "# HELP esc A \\\\ and a\\nnewline \"q\"\n"
                     "# TYPE esc gauge\n"
                     "esc{path=\"C:\\\\dir \\\"x\\\"\\nend\"} -1\n");
    vr_metrics_free(r);
}

static void test_histogram_exact(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *f, *g;
    struct vr_metric *m, *u;
    const double bounds[] = {0.005, 0.1, 1};
    const char *labels[] = {"controller"};
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "lat_seconds", "Latency.",
                                           labels, 1, bounds, 3, &f),
                     0);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "plain", "No labels.", NULL,
                                           0, bounds, 1, &g),
                     0);
    const char *v[] = {"ssr"};
    assert_int_equal(vr_metrics_series(f, v, &m), 0);
    assert_int_equal(vr_metrics_series(g, NULL, &u), 0);
    vr_metric_observe(m, 0.005); /* on a bound: counts in that bucket (le is <=) */
    vr_metric_observe(m, 0.05);
    vr_metric_observe(m, 0.0625);
    vr_metric_observe(m, 2.5); /* above every bound: only +Inf */
    vr_metric_inc(m);          /* wrong type: ignored */
    vr_metric_set(m, 100);
    assert_true(vr_metric_value(m) == 4);
    assert_render(r, "# HELP lat_seconds Latency.\n"
                     "# TYPE lat_seconds histogram\n"
                     "lat_seconds_bucket{controller=\"ssr\",le=\"0.005\"} 1\n"
                     "lat_seconds_bucket{controller=\"ssr\",le=\"0.1\"} 3\n"
                     "lat_seconds_bucket{controller=\"ssr\",le=\"1\"} 3\n"
                     "lat_seconds_bucket{controller=\"ssr\",le=\"+Inf\"} 4\n"
                     "lat_seconds_sum{controller=\"ssr\"} 2.6175\n"
                     "lat_seconds_count{controller=\"ssr\"} 4\n"
                     "# HELP plain No labels.\n"
                     "# TYPE plain histogram\n"
                     "plain_bucket{le=\"0.005\"} 0\n"
                     "plain_bucket{le=\"+Inf\"} 0\n"
                     "plain_sum 0\n"
                     "plain_count 0\n");
    vr_metrics_free(r);
}

static void test_format_value(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},           {1, "1"},         {100, "100"},           {0.005, "0.005"},
        {0.25, "0.25"},     {2.5, "2.5"},     {123456.7, "123456.7"}, {999999, "999999"},
        {1e6, "1e+06"},     {1.5e7, "1.5e+07"}, {0.0001, "0.0001"},   {0.00001, "1e-05"},
        {-2.25, "-2.25"},   {0.1, "0.1"},     {1.0 / 3, "0.3333333333333333"},
        {123456789012.0, "1.23456789012e+11"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(vr_metrics_format_value(cases[i].v, buf, sizeof(buf)), cases[i].want);
    assert_string_equal(vr_metrics_format_value(INFINITY, buf, sizeof(buf)), "+Inf");
    assert_string_equal(vr_metrics_format_value(-INFINITY, buf, sizeof(buf)), "-Inf");
    assert_string_equal(vr_metrics_format_value(NAN, buf, sizeof(buf)), "NaN");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *f;
    const char *le[] = {"le"}, *dup[] = {"a", "a"}, *res[] = {"__x"}, *colon[] = {"a:b"};
    const double up[] = {1, 2}, down[] = {2, 1}, inf[] = {1, INFINITY};
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "1bad", "h", NULL, 0, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "a-b", "h", NULL, 0, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "h", dup, 2, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "h", res, 1, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "h", colon, 1, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "h", "h", le, 1, up, 2, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "h", "h", NULL, 0, down, 2, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "h", "h", NULL, 0, inf, 2, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_HISTOGRAM, "h", "h", NULL, 0, NULL, 0, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "h", NULL, 0, up, 2, &f),
                     VR_EINVAL);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "ns:g", "h", le, 1, NULL, 0, &f),
                     0);
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_COUNTER, "ns:g", "h", NULL, 0, NULL, 0,
                                           &f),
                     VR_EEXIST);
    struct vr_metric *m;
    assert_int_equal(vr_metrics_series(f, NULL, &m), VR_EINVAL); /* one value needed */
    assert_non_null(vr_metrics_find(r, "ns:g"));
    assert_null(vr_metrics_find(r, "nope"));
    vr_metrics_free(r);
}

static void test_render_cap(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *f;
    assert_int_equal(
        vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "help text", NULL, 0, NULL, 0, &f), 0);
    struct vr_buf b;
    vr_buf_init(&b, 10);
    assert_int_equal(vr_metrics_render(r, &b), VR_ETOOBIG);
    assert_int_equal(b.len, 0);
    vr_buf_cleanup(&b);
    vr_metrics_free(r);
}

static int collected;

static void collect_cb(struct vr_metrics *r, void *arg)
{
    (void)r;
    collected++;
    vr_metric_set(arg, collected * 10);
}

static void test_collectors(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_metric_family *f;
    struct vr_metric *m;
    assert_int_equal(vr_metrics_add_family(r, VR_METRIC_GAUGE, "g", "h", NULL, 0, NULL, 0, &f), 0);
    assert_int_equal(vr_metrics_series(f, NULL, &m), 0);
    collected = 0;
    vr_metrics_add_collector(r, collect_cb, m);
    vr_metrics_collect(r);
    vr_metrics_collect(r);
    assert_int_equal(collected, 2);
    assert_render(r, "# HELP g h\n# TYPE g gauge\ng 20\n");
    vr_metrics_remove_collector(r, collect_cb, m);
    vr_metrics_collect(r);
    assert_int_equal(collected, 2);
    vr_metrics_free(r);
}

static void test_proc_parse(void **state)
{
    (void)state;
    /* comm with a space and a ')' inside; utime 250, stime 150, starttime 1000 ticks,
     * vsize 4096000, rss 300 pages. */
    static const char stat[] =
        "1234 (my (odd) d) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 1 0 1000 "
        "4096000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    struct vr_proc_stats st;
    assert_int_equal(vr_proc_parse_stat(stat, strlen(stat), 100, 4096, 1700000000, &st), 0);
    assert_true(st.cpu_seconds == 4.0);
    assert_true(st.start_time_seconds == 1700000010.0);
    assert_true(st.virtual_bytes == 4096000.0);
    assert_true(st.resident_bytes == 300.0 * 4096);
    assert_int_equal(vr_proc_parse_stat("1234 (x) S 1 2", 14, 100, 4096, 0, &st), VR_EPARSE);
    assert_int_equal(vr_proc_parse_stat("no paren", 8, 100, 4096, 0, &st), VR_EPARSE);

    assert_int_equal(vr_proc_read_self(&st), 0);
    assert_true(st.resident_bytes > 0);
    assert_true(st.open_fds >= 3);
    assert_true(st.start_time_seconds > 1e9);
}

static void test_process_families(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    assert_int_equal(vr_metrics_register_process(r), 0);
    assert_int_equal(vr_metrics_register_process(r), VR_EEXIST);
    vr_metrics_collect(r);
    char *out = render(r);
    assert_non_null(strstr(out, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(out, "# TYPE process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr(out, "\nprocess_open_fds "));
    assert_null(strstr(out, "\nprocess_resident_memory_bytes 0\n")); /* really collected */
    assert_null(strstr(out, "\nprocess_start_time_seconds 0\n"));
    vr_free(out);
    vr_metrics_free(r);
}

static void populate_vreqd(struct vr_metrics *r, struct vr_vm *vm)
{
    struct vr_vm_controller dlr, ssr;
    struct vr_vm_watch w;
    struct vr_metric *presign;
    assert_int_equal(vr_vm_init(vm, r, "0.1.0"), 0);
    assert_int_equal(vr_vm_controller(vm, "downloadrequest", &dlr), 0);
    assert_int_equal(vr_vm_controller(vm, "serverstatusrequest", &ssr), 0);
    assert_int_equal(vr_vm_watch(vm, "downloadrequests", &w), 0);
    assert_int_equal(vr_vm_presign(vm, "aws", &presign), 0);
    vr_vm_reconciled(&dlr, VR_VM_SUCCESS, 0.012);
    vr_vm_reconciled(&dlr, VR_VM_ERROR, 0.3);
    vr_vm_reconciled(&ssr, VR_VM_REQUEUE, 0.002);
    vr_vm_queue_depth(&dlr, 3);
    vr_vm_watch_sync(&w, 2, 1, 40);
    vr_vm_watch_sync(&w, 1, 1, 41); /* a counter never goes back */
    vr_vm_api_request(vm, "PATCH", 200);
    vr_vm_api_request(vm, "PATCH", 200);
    vr_vm_api_request(vm, "GET", 404);
    vr_vm_api_request(vm, "WATCH", 0);
    vr_vm_api_request(vm, "BREW", 418);
    vr_metric_observe(presign, 0.0003);
    vr_vm_set_leader(vm, true);
}

static void test_vreqd_families(void **state)
{
    (void)state;
    struct vr_metrics *r = vr_metrics_new();
    struct vr_vm *vm = vr_xcalloc(1, sizeof(*vm));
    populate_vreqd(r, vm);
    struct vr_vm vm2;
    assert_int_equal(vr_vm_init(&vm2, r, "x"), VR_EEXIST);
    char *out = render(r);
    static const char *const want[] = {
        "vreqd_build_info{version=\"0.1.0\"} 1\n",
        "vreqd_reconciles_total{controller=\"downloadrequest\",result=\"success\"} 1\n",
        "vreqd_reconciles_total{controller=\"downloadrequest\",result=\"requeue\"} 0\n",
        "vreqd_reconciles_total{controller=\"downloadrequest\",result=\"error\"} 1\n",
        "vreqd_reconciles_total{controller=\"serverstatusrequest\",result=\"requeue\"} 1\n",
        "vreqd_reconcile_duration_seconds_bucket{controller=\"downloadrequest\",le=\"0.025\"} 1\n",
        "vreqd_reconcile_duration_seconds_bucket{controller=\"downloadrequest\",le=\"0.5\"} 2\n",
        "vreqd_reconcile_duration_seconds_count{controller=\"serverstatusrequest\"} 1\n",
        "vreqd_workqueue_depth{controller=\"downloadrequest\"} 3\n",
        "vreqd_watch_restarts_total{resource=\"downloadrequests\"} 2\n",
        "vreqd_watch_relists_total{resource=\"downloadrequests\"} 1\n",
        "vreqd_cached_objects{resource=\"downloadrequests\"} 41\n",
        "vreqd_api_requests_total{verb=\"PATCH\",code=\"200\"} 2\n",
        "vreqd_api_requests_total{verb=\"GET\",code=\"404\"} 1\n",
        "vreqd_api_requests_total{verb=\"WATCH\",code=\"error\"} 1\n",
        "vreqd_api_requests_total{verb=\"OTHER\",code=\"418\"} 1\n",
        "vreqd_presign_duration_seconds_bucket{provider=\"aws\",le=\"0.0005\"} 1\n",
        "vreqd_presign_duration_seconds_bucket{provider=\"aws\",le=\"0.00025\"} 0\n",
        "\nvreqd_leader 1\n",
        "# TYPE vreqd_reconcile_duration_seconds histogram\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(out, want[i]))
            fail_msg("missing line: %s\nin:\n%s", want[i], out);
    }
    vr_vm_set_leader(vm, false);
    vr_free(out);
    out = render(r);
    assert_non_null(strstr(out, "\nvreqd_leader 0\n"));
    vr_free(out);
    vr_free(vm);
    vr_metrics_free(r);
}

static int dump(void)
{
    struct vr_metrics *r = vr_metrics_new();
    struct vr_vm *vm = vr_xcalloc(1, sizeof(*vm));
    populate_vreqd(r, vm);
    if (vr_metrics_register_process(r) < 0)
        return 1;
    vr_metrics_collect(r);
    char *out = render(r);
    fwrite(out, 1, strlen(out), stdout);
    vr_free(out);
    vr_free(vm);
    vr_metrics_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0)
        return dump();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_exact), cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram_exact),     cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_bad_arguments),       cmocka_unit_test(test_render_cap),
        cmocka_unit_test(test_collectors),          cmocka_unit_test(test_proc_parse),
        cmocka_unit_test(test_process_families),    cmocka_unit_test(test_vreqd_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
