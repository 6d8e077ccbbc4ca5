/*
 * bench_workqueue: work-queue operations per second with 100k delayed keys.
 *
 * One cycle on a fake clock (no real waiting), each phase timed with uv_hrtime:
 *   add_after   N new keys "ns/k<i>", delays spread over [1, N] ms (hash insert + heap push)
 *   earlier     add_after again on every waiting key with an earlier time (heap decrease-key)
 *   run_due     clock past the last due time; vr_wq_run_due moves all N to the ready FIFO
 *   dispatch    vr_wq_dispatch hands out all N; process_cb completes each at once (done OK)
 *   add_drop    N add_after, then vr_wq_add on each waiting key (heap remove, FIFO push)
 *   close       shutdown with N keys queued, close, loop run until the queue is freed
 * The reference, measured in the same run, is libuv's own timer heap: N uv_timer_start with
 * the same spread, then N uv_timer_stop (start+stop per second), against the queue's
 * add_after+add_drop cost per key. Each phase runs several times; the median is printed with
 * min and max. No assertion is made on any figure; --smoke runs tiny sizes once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/common.h"
#include "loop/clock.h"
#include "queue/workqueue.h"
#include "vreq/mem.h"

#define MAX_RUNS 9

enum phase {
    PH_ADD_AFTER,
    PH_EARLIER,
    PH_RUN_DUE,
    PH_DISPATCH,
    PH_ADD_DROP,
    PH_CLOSE,
    PH_REF_UV,
    PH_COUNT,
};

static const char *const phase_names[PH_COUNT] = {
    "add_after (new keys)", "add_after (earlier)", "run_due (all due)", "dispatch + done",
    "add_after + add (pairs)", "shutdown + close", "ref: uv_timer start+stop",
};

struct bench {
    uv_loop_t loop;
    struct vr_fake_clock fc;
    struct vr_workqueue *wq;
    unsigned n;
    char (*keys)[24];
    unsigned long processed;
    bool closed;
};

static void on_process(struct vr_workqueue *wq, const char *key, void *arg)
{
    struct bench *b = arg;
    b->processed++;
    if (vr_wq_done(wq, key, VR_WQ_OK, 0) != 0)
        vr_panic("bench: vr_wq_done failed for %s", key);
}

static void on_closed(void *arg)
{
    ((struct bench *)arg)->closed = true;
}

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Delay of key i: a permutation-like spread over [1, n] so the heap sees no sorted input. */
static uint64_t delay_of(const struct bench *b, unsigned i)
{
    return (uint64_t)((i * 7919ULL) % b->n) + 1;
}

static void new_queue(struct bench *b)
{
    struct vr_wq_opts o;
    vr_wq_opts_default(&o);
    o.name = "bench";
    o.max_in_flight = 1;
    if (vr_wq_new(&b->loop, &b->fc.clock, &o, on_process, b, &b->wq) != 0)
        vr_panic("bench: vr_wq_new failed");
}

/* One add_after/earlier/run_due/dispatch cycle; writes ops/s per phase into v[phase]. */
static void cycle(struct bench *b, double *v)
{
    new_queue(b);
    double t0 = now_s();
    for (unsigned i = 0; i < b->n; i++)
        (void)vr_wq_add_after(b->wq, b->keys[i], delay_of(b, i));
    double t1 = now_s();
    for (unsigned i = 0; i < b->n; i++)
        (void)vr_wq_add_after(b->wq, b->keys[i], delay_of(b, i) / 2 + 1);
    double t2 = now_s();
    vr_fake_clock_advance(&b->fc, b->n + 1);
    size_t due = vr_wq_run_due(b->wq, b->fc.ms);
    double t3 = now_s();
    b->processed = 0;
    while (vr_wq_dispatch(b->wq) > 0)
        ;
    double t4 = now_s();
    if (due != b->n || b->processed != b->n)
        vr_panic("bench: %zu due, %lu processed, want %u", due, b->processed, b->n);
    v[PH_ADD_AFTER] = b->n / (t1 - t0);
    v[PH_EARLIER] = b->n / (t2 - t1);
    v[PH_RUN_DUE] = b->n / (t3 - t2);
    v[PH_DISPATCH] = b->n / (t4 - t3);
}

/* add_after then add on every key (drops each heap entry), then close with N queued. */
static void cycle_drop_close(struct bench *b, double *v)
{
    double t0 = now_s();
    for (unsigned i = 0; i < b->n; i++)
        (void)vr_wq_add_after(b->wq, b->keys[i], delay_of(b, i));
    for (unsigned i = 0; i < b->n; i++)
        (void)vr_wq_add(b->wq, b->keys[i]);
    double t1 = now_s();
    if (vr_wq_len(b->wq) != b->n || vr_wq_num_waiting(b->wq) != 0)
        vr_panic("bench: add did not drop the heap entries");
    b->closed = false;
    vr_wq_close(b->wq, on_closed, b);
    while (!b->closed)
        (void)uv_run(&b->loop, UV_RUN_ONCE);
    double t2 = now_s();
    b->wq = NULL;
    v[PH_ADD_DROP] = b->n / (t1 - t0);
    v[PH_CLOSE] = b->n / (t2 - t1);
}

static void noop_timer(uv_timer_t *t)
{
    VR_UNUSED(t);
}

/* The reference: libuv's timer heap, start N timers with the same spread, then stop them. */
static double ref_uv_timers(struct bench *b)
{
    uv_timer_t *timers = vr_xcalloc(b->n, sizeof(*timers));
    for (unsigned i = 0; i < b->n; i++)
        uv_timer_init(&b->loop, &timers[i]);
    double t0 = now_s();
    for (unsigned i = 0; i < b->n; i++)
        uv_timer_start(&timers[i], noop_timer, delay_of(b, i), 0);
    for (unsigned i = 0; i < b->n; i++)
        uv_timer_stop(&timers[i]);
    double t1 = now_s();
    for (unsigned i = 0; i < b->n; i++)
        uv_close((uv_handle_t *)&timers[i], NULL);
    (void)uv_run(&b->loop, UV_RUN_DEFAULT);
    vr_free(timers);
    return b->n / (t1 - t0);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return (a > c) - (a < c);
}

/* Sorts v and prints median, min and max of runs values. Returns the median. */
static double report(const char *what, double *v, int runs)
{
    qsort(v, (size_t)runs, sizeof(*v), cmp_double);
    double med = v[runs / 2];
    printf("%-26s %12.0f ops/s  (min %.0f, max %.0f)\n", what, med, v[0], v[runs - 1]);
    return med;
}

int main(int argc, char **argv)
{
    bool smoke = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = true;
        } else {
            fprintf(stderr, "usage: bench_workqueue [--smoke]\n");
            return 2;
        }
    }
    struct bench b = {.n = smoke ? 1000 : 100000};
    int runs = smoke ? 1 : 7;
    uv_loop_init(&b.loop);
    vr_fake_clock_init(&b.fc, 1000, 0);
    b.keys = vr_xcalloc(b.n, sizeof(*b.keys));
    for (unsigned i = 0; i < b.n; i++)
        (void)snprintf(b.keys[i], sizeof(b.keys[i]), "ns/k%u", i);

    double v[PH_COUNT][MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        double one[PH_COUNT];
        cycle(&b, one);
        cycle_drop_close(&b, one);
        one[PH_REF_UV] = ref_uv_timers(&b);
        for (int p = 0; p < PH_COUNT; p++)
            v[p][r] = one[p];
    }
    printf("work queue: %u delayed keys, median of %d runs\n", b.n, runs);
    double med[PH_COUNT];
    for (int p = 0; p < PH_COUNT; p++)
        med[p] = report(phase_names[p], v[p], runs);
    /* Queue add_after+add per key against libuv's start+stop per timer. */
    printf("ratio add_after+add / uv_timer start+stop: %.2f\n", med[PH_ADD_DROP] / med[PH_REF_UV]);
    vr_free(b.keys);
    int rc = uv_loop_close(&b.loop);
    return rc == 0 ? 0 : 1;
}
