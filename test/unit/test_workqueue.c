/*
 * The work queue on a real loop with a fake clock: dedup, dirty while processing, in-flight
 * bound, FIFO order, add_after ordering, rate-limited requeues, REQUEUE_AFTER, the timer
 * always armed for the earliest due time, shutdown with work in flight, and a randomized run
 * checking that no key runs twice at once and no add is lost. No sleeps: the fake clock is
 * advanced by hand and vr_wq_run_due / uv_run(UV_RUN_NOWAIT) drive the queue; one test uses
 * the real clock and runs the loop until the uv_timer fires.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "loop/clock.h"
#include "queue/workqueue.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/log.h"

#define MAX_INFLIGHT_TRACKED 64

enum cb_mode {
    CB_RECORD,      /* only record the key */
    CB_DONE_OK,     /* complete synchronously inside process_cb */
    CB_DONE_READD,  /* complete, then add the same key again, inside process_cb */
};

struct fx {
    uv_loop_t loop;
    struct vr_fake_clock fc;
    struct vr_workqueue *wq;
    enum cb_mode mode;
    char log[8192]; /* keys handed out since the last take(), comma-separated */
    size_t loglen;
    int calls;
    const char *inflight[MAX_INFLIGHT_TRACKED];
    int ninflight;
    int closed;
};

static void on_process(struct vr_workqueue *wq, const char *key, void *arg)
{
    struct fx *fx = arg;
    assert_ptr_equal(wq, fx->wq);
    int n = snprintf(fx->log + fx->loglen, sizeof(fx->log) - fx->loglen, "%s%s",
                     fx->loglen ? "," : "", key);
    assert_true(n > 0 && (size_t)n < sizeof(fx->log) - fx->loglen);
    fx->loglen += (size_t)n;
    fx->calls++;
    switch (fx->mode) {
    case CB_RECORD:
        for (int i = 0; i < fx->ninflight; i++)
            assert_string_not_equal(fx->inflight[i], key); /* never twice at once */
        assert_true(fx->ninflight < MAX_INFLIGHT_TRACKED);
        fx->inflight[fx->ninflight++] = key;
        break;
    case CB_DONE_OK:
        assert_int_equal(vr_wq_done(wq, key, VR_WQ_OK, 0), 0);
        break;
    case CB_DONE_READD: {
        char copy[64];
        (void)snprintf(copy, sizeof(copy), "%s", key);
        assert_int_equal(vr_wq_done(wq, key, VR_WQ_OK, 0), 0);
        assert_int_equal(vr_wq_add(wq, copy), 0);
        break;
    }
    }
}

static void fx_start(struct fx *fx, unsigned max_in_flight, uint32_t qps)
{
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    vr_fake_clock_init(&fx->fc, 1000, 1700000000);
    struct vr_wq_opts o;
    vr_wq_opts_default(&o);
    o.name = "test";
    o.max_in_flight = max_in_flight;
    o.limit.qps = qps;
    assert_int_equal(vr_wq_new(&fx->loop, &fx->fc.clock, &o, on_process, fx, &fx->wq), 0);
}

/* Returns the keys handed out since the last call ("a,b") and clears the record. */
static const char *take(struct fx *fx)
{
    static char out[8192];
    (void)snprintf(out, sizeof(out), "%s", fx->log);
    fx->log[0] = '\0';
    fx->loglen = 0;
    return out;
}

/* One loop turn: the idle handle dispatches. Never blocks (NOWAIT). */
static void pump(struct fx *fx)
{
    (void)uv_run(&fx->loop, UV_RUN_NOWAIT);
}

static void done(struct fx *fx, const char *key, enum vr_wq_result r, uint64_t after)
{
    char copy[VR_WQ_KEY_MAX + 1];
    (void)snprintf(copy, sizeof(copy), "%s", key);
    for (int i = 0; i < fx->ninflight; i++) {
        if (strcmp(fx->inflight[i], copy) == 0) {
            fx->inflight[i] = fx->inflight[--fx->ninflight];
            break;
        }
    }
    assert_int_equal(vr_wq_done(fx->wq, copy, r, after), 0);
}

static void advance(struct fx *fx, uint64_t ms)
{
    vr_fake_clock_advance(&fx->fc, ms);
}

static size_t run_due(struct fx *fx)
{
    return vr_wq_run_due(fx->wq, fx->fc.ms);
}

static void on_closed(void *arg)
{
    ((struct fx *)arg)->closed++;
}

/* Completes whatever is in flight, closes the queue and checks the loop closes clean. */
static void fx_finish(struct fx *fx)
{
    vr_wq_close(fx->wq, on_closed, fx);
    assert_int_equal(fx->closed, 0);
    while (fx->ninflight > 0)
        done(fx, fx->inflight[0], VR_WQ_OK, 0);
    pump(fx);
    assert_int_equal(fx->closed, 1);
    vr_test_loop_close(&fx->loop);
}

static void test_dedup(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    assert_int_equal(vr_wq_add(fx.wq, "ns/a"), 0);
    assert_int_equal(vr_wq_add(fx.wq, "ns/a"), 0);
    assert_int_equal(vr_wq_add(fx.wq, "ns/b"), 0);
    assert_int_equal(vr_wq_add(fx.wq, "ns/a"), 0);
    assert_int_equal(vr_wq_len(fx.wq), 2);
    assert_string_equal(take(&fx), ""); /* never inside add */
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a,ns/b");
    assert_int_equal(vr_wq_len(fx.wq), 0);
    assert_int_equal(vr_wq_in_flight(fx.wq), 2);
    done(&fx, "ns/a", VR_WQ_OK, 0);
    done(&fx, "ns/b", VR_WQ_OK, 0);
    pump(&fx);
    assert_string_equal(take(&fx), "");
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_IDLE);
    fx_finish(&fx);
}

static void test_dirty_while_processing(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    vr_wq_add(fx.wq, "ns/a");
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    for (int i = 0; i < 3; i++)
        assert_int_equal(vr_wq_add(fx.wq, "ns/a"), 0);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_PROCESSING_DIRTY);
    assert_int_equal(vr_wq_len(fx.wq), 0);
    pump(&fx);
    assert_string_equal(take(&fx), ""); /* not handed out twice at once */
    done(&fx, "ns/a", VR_WQ_OK, 0);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_QUEUED);
    assert_string_equal(take(&fx), ""); /* never inside done */
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a"); /* again, exactly once */
    done(&fx, "ns/a", VR_WQ_OK, 0);
    pump(&fx);
    pump(&fx);
    assert_string_equal(take(&fx), "");
    fx_finish(&fx);
}

static void test_max_in_flight_and_fifo(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 2, 10);
    static const char *keys[] = {"ns/e", "ns/d", "ns/c", "ns/b", "ns/a"};
    for (int i = 0; i < 5; i++)
        vr_wq_add(fx.wq, keys[i]);
    pump(&fx);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/e,ns/d");
    assert_int_equal(vr_wq_in_flight(fx.wq), 2);
    assert_int_equal(vr_wq_len(fx.wq), 3);
    done(&fx, "ns/d", VR_WQ_OK, 0);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/c");
    done(&fx, "ns/e", VR_WQ_OK, 0);
    done(&fx, "ns/c", VR_WQ_OK, 0);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/b,ns/a");
    fx_finish(&fx);
}

static void test_add_after_ordering(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    uint64_t due;
    assert_false(vr_wq_next_due(fx.wq, &due));
    vr_wq_add_after(fx.wq, "ns/a", 300);
    vr_wq_add_after(fx.wq, "ns/b", 100);
    vr_wq_add_after(fx.wq, "ns/c", 200);
    assert_int_equal(vr_wq_num_waiting(fx.wq), 3);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_WAITING);
    assert_true(vr_wq_next_due(fx.wq, &due));
    assert_int_equal(due, 1100);
    advance(&fx, 99);
    assert_int_equal(run_due(&fx), 0);
    pump(&fx);
    assert_string_equal(take(&fx), "");
    advance(&fx, 1);
    assert_int_equal(run_due(&fx), 1);
    assert_string_equal(take(&fx), ""); /* never inside run_due */
    pump(&fx);
    assert_string_equal(take(&fx), "ns/b");
    advance(&fx, 500);
    assert_int_equal(run_due(&fx), 2);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/c,ns/a"); /* due order */
    assert_int_equal(vr_wq_num_waiting(fx.wq), 0);

    /* The earlier due time wins; a later one is ignored. */
    vr_wq_add_after(fx.wq, "ns/x", 500);
    vr_wq_add_after(fx.wq, "ns/x", 100);
    vr_wq_add_after(fx.wq, "ns/y", 150);
    vr_wq_add_after(fx.wq, "ns/y", 900);
    assert_int_equal(vr_wq_num_waiting(fx.wq), 2);
    advance(&fx, 150);
    assert_int_equal(run_due(&fx), 2);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/x,ns/y");
    advance(&fx, 10000);
    assert_int_equal(run_due(&fx), 0);

    /* Equal due times run in the order they were added. */
    static const char *ties[] = {"ns/t3", "ns/t1", "ns/t4", "ns/t2"};
    for (int i = 0; i < 4; i++)
        vr_wq_add_after(fx.wq, ties[i], 50);
    advance(&fx, 50);
    assert_int_equal(run_due(&fx), 4);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/t3,ns/t1,ns/t4,ns/t2");
    fx_finish(&fx);
}

static void test_add_after_then_add(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    uint64_t due;
    vr_wq_add_after(fx.wq, "ns/a", 1000);
    vr_wq_add(fx.wq, "ns/a");
    assert_int_equal(vr_wq_num_waiting(fx.wq), 0);
    assert_false(vr_wq_next_due(fx.wq, &due));
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_QUEUED);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    done(&fx, "ns/a", VR_WQ_OK, 0);
    advance(&fx, 1000);
    assert_int_equal(run_due(&fx), 0);
    pump(&fx);
    assert_string_equal(take(&fx), "");

    /* A queued key ignores add_after: it runs sooner than asked. */
    vr_wq_add(fx.wq, "ns/b");
    vr_wq_add_after(fx.wq, "ns/b", 10);
    assert_int_equal(vr_wq_num_waiting(fx.wq), 0);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/b");

    /* add_after while processing waits in the heap; due while still processing: dirty. */
    vr_wq_add_after(fx.wq, "ns/b", 10);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/b"), VR_WQ_PROCESSING_WAITING);
    advance(&fx, 10);
    assert_int_equal(run_due(&fx), 1);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/b"), VR_WQ_PROCESSING_DIRTY);
    pump(&fx);
    assert_string_equal(take(&fx), "");
    done(&fx, "ns/b", VR_WQ_OK, 0);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/b");

    /* ...and when done comes first, the key goes on waiting for its due time. */
    vr_wq_add_after(fx.wq, "ns/b", 10);
    done(&fx, "ns/b", VR_WQ_OK, 0);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/b"), VR_WQ_WAITING);
    advance(&fx, 9);
    assert_int_equal(run_due(&fx), 0);
    advance(&fx, 1);
    assert_int_equal(run_due(&fx), 1);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/b");
    fx_finish(&fx);
}

/* Runs key until its next error requeue and returns the delay the queue chose. */
static uint64_t fail_once(struct fx *fx, const char *key)
{
    uint64_t due;
    done(fx, key, VR_WQ_ERROR, 0);
    assert_int_equal(vr_wq_key_state(fx->wq, key), VR_WQ_WAITING);
    assert_true(vr_wq_next_due(fx->wq, &due));
    uint64_t delay = due - fx->fc.ms;
    advance(fx, delay - 1);
    assert_int_equal(run_due(fx), 0);
    advance(fx, 1);
    assert_int_equal(run_due(fx), 1);
    pump(fx);
    assert_string_equal(take(fx), key);
    return delay;
}

static void test_rate_limited_requeue(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 1, 10);
    vr_wq_add(fx.wq, "ns/a");
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    uint64_t want = 5;
    for (uint32_t i = 1; i <= 8; i++, want *= 2) {
        assert_int_equal(fail_once(&fx, "ns/a"), want);
        assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/a"), i);
    }
    /* Success resets the backoff and frees the record. */
    done(&fx, "ns/a", VR_WQ_OK, 0);
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/a"), 0);
    vr_wq_add(fx.wq, "ns/a");
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    assert_int_equal(fail_once(&fx, "ns/a"), 5);
    assert_int_equal(fail_once(&fx, "ns/a"), 10);

    /* vr_wq_forget resets too, without touching the key's state. */
    vr_wq_forget(fx.wq, "ns/a");
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/a"), 0);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_PROCESSING);
    assert_int_equal(fail_once(&fx, "ns/a"), 5);

    /* The public add_rate_limited: counts a failure and waits in the heap. */
    assert_int_equal(vr_wq_add_rate_limited(fx.wq, "ns/z"), 0);
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/z"), 1);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/z"), VR_WQ_WAITING);
    fx_finish(&fx);
}

static void test_bucket_limits_all_keys(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 1, 10);
    /* 100 tokens banked; the 101st and 102nd requeues wait for the bucket. */
    char key[32];
    for (int i = 0; i < 100; i++) {
        (void)snprintf(key, sizeof(key), "ns/k%d", i);
        vr_wq_add_rate_limited(fx.wq, key);
    }
    uint64_t due;
    assert_true(vr_wq_next_due(fx.wq, &due));
    assert_int_equal(due, 1005);
    vr_wq_add_rate_limited(fx.wq, "ns/late1");
    vr_wq_add_rate_limited(fx.wq, "ns/late2");
    advance(&fx, 5);
    assert_int_equal(run_due(&fx), 100);
    advance(&fx, 94);
    assert_int_equal(run_due(&fx), 0);
    advance(&fx, 1);
    assert_int_equal(run_due(&fx), 1);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/late1"), VR_WQ_QUEUED);
    advance(&fx, 100);
    assert_int_equal(run_due(&fx), 1);
    fx_finish(&fx);
}

static void test_requeue_after(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 1, 10);
    vr_wq_add(fx.wq, "ns/a");
    pump(&fx);
    take(&fx);
    fail_once(&fx, "ns/a");
    fail_once(&fx, "ns/a");
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/a"), 2);
    done(&fx, "ns/a", VR_WQ_REQUEUE_AFTER, 3000);
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/a"), 0);
    uint64_t due;
    assert_true(vr_wq_next_due(fx.wq, &due));
    assert_int_equal(due, fx.fc.ms + 3000);
    advance(&fx, 2999);
    assert_int_equal(run_due(&fx), 0);
    advance(&fx, 1);
    assert_int_equal(run_due(&fx), 1);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    /* after 0: queued again at once (but still not inside done). */
    done(&fx, "ns/a", VR_WQ_REQUEUE_AFTER, 0);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_QUEUED);
    assert_string_equal(take(&fx), "");
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    /* Dirty wins over requeue-after: the key runs again at once. */
    vr_wq_add(fx.wq, "ns/a");
    done(&fx, "ns/a", VR_WQ_REQUEUE_AFTER, 5000);
    assert_int_equal(vr_wq_num_waiting(fx.wq), 0);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a");
    fx_finish(&fx);
}

static void find_timer(uv_handle_t *h, void *arg)
{
    if (uv_handle_get_type(h) == UV_TIMER)
        *(uv_timer_t **)arg = (uv_timer_t *)h;
}

/* How far ahead the queue's uv_timer is armed, or -1 when it is stopped. */
static long timer_due_in(struct fx *fx)
{
    uv_timer_t *t = NULL;
    uv_walk(&fx->loop, find_timer, &t);
    assert_non_null(t);
    return uv_is_active((uv_handle_t *)t) ? (long)uv_timer_get_due_in(t) : -1;
}

static void test_timer_tracks_earliest(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    assert_int_equal(timer_due_in(&fx), -1);
    vr_wq_add_after(fx.wq, "ns/a", 300);
    assert_int_equal(timer_due_in(&fx), 300);
    vr_wq_add_after(fx.wq, "ns/b", 100);
    assert_int_equal(timer_due_in(&fx), 100);
    vr_wq_add_after(fx.wq, "ns/c", 200);
    assert_int_equal(timer_due_in(&fx), 100);
    vr_wq_add(fx.wq, "ns/b"); /* the earliest leaves the heap */
    assert_int_equal(timer_due_in(&fx), 200);
    vr_wq_add_after(fx.wq, "ns/a", 50); /* an earlier time for a waiting key */
    assert_int_equal(timer_due_in(&fx), 50);
    vr_wq_add(fx.wq, "ns/a");
    vr_wq_add(fx.wq, "ns/c");
    assert_int_equal(timer_due_in(&fx), -1);
    fx_finish(&fx);
}

static void test_sync_done_in_process_cb(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 1, 10);
    fx.mode = CB_DONE_OK;
    vr_wq_add(fx.wq, "ns/a");
    vr_wq_add(fx.wq, "ns/b");
    vr_wq_add(fx.wq, "ns/c");
    assert_int_equal(vr_wq_dispatch(fx.wq), 3); /* each completion frees the one slot */
    assert_string_equal(take(&fx), "ns/a,ns/b,ns/c");
    assert_int_equal(vr_wq_in_flight(fx.wq), 0);

    /* A callback that re-adds its own key gets it once per dispatch, not in a loop. */
    fx.mode = CB_DONE_READD;
    vr_wq_add(fx.wq, "ns/a");
    assert_int_equal(vr_wq_dispatch(fx.wq), 1);
    assert_int_equal(vr_wq_dispatch(fx.wq), 1);
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a,ns/a,ns/a");
    assert_int_equal(vr_wq_len(fx.wq), 1);
    fx.mode = CB_RECORD;
    fx_finish(&fx);
}

static void test_errors(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 16, 10);
    char big[VR_WQ_KEY_MAX + 2];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(vr_wq_add(fx.wq, ""), VR_EINVAL);
    assert_int_equal(vr_wq_add(fx.wq, big), VR_ETOOBIG);
    assert_int_equal(vr_wq_add_after(fx.wq, big, 5), VR_ETOOBIG);
    big[VR_WQ_KEY_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(vr_wq_add(fx.wq, big), 0);
    assert_int_equal(vr_wq_done(fx.wq, "ns/none", VR_WQ_OK, 0), VR_EINVAL);
    vr_wq_add(fx.wq, "ns/q");
    assert_int_equal(vr_wq_done(fx.wq, "ns/q", VR_WQ_OK, 0), VR_EINVAL); /* queued */
    vr_wq_forget(fx.wq, "ns/unknown");
    assert_int_equal(vr_wq_num_requeues(fx.wq, "ns/unknown"), 0);

    struct vr_workqueue *wq2 = NULL;
    struct vr_wq_opts o;
    vr_wq_opts_default(&o);
    o.max_in_flight = 0;
    assert_int_equal(vr_wq_new(&fx.loop, &fx.fc.clock, &o, on_process, &fx, &wq2), VR_EINVAL);
    vr_wq_opts_default(&o);
    o.limit.max_ms = 1;
    assert_int_equal(vr_wq_new(&fx.loop, &fx.fc.clock, &o, on_process, &fx, &wq2), VR_EINVAL);
    assert_null(wq2);
    pump(&fx);
    fx_finish(&fx);
}

static void test_shutdown_with_in_flight(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 2, 10);
    vr_wq_add(fx.wq, "ns/a");
    vr_wq_add(fx.wq, "ns/b");
    vr_wq_add(fx.wq, "ns/c");
    vr_wq_add_after(fx.wq, "ns/d", 100);
    vr_wq_add_rate_limited(fx.wq, "ns/e");
    vr_wq_forget(fx.wq, "ns/e"); /* still waiting */
    pump(&fx);
    assert_string_equal(take(&fx), "ns/a,ns/b");
    vr_wq_add_after(fx.wq, "ns/a", 10); /* processing+waiting */
    vr_wq_add(fx.wq, "ns/b");           /* processing+dirty */

    assert_false(vr_wq_is_shutting_down(fx.wq));
    vr_wq_shutdown(fx.wq);
    assert_true(vr_wq_is_shutting_down(fx.wq));
    assert_int_equal(vr_wq_add(fx.wq, "ns/f"), VR_ESHUTDOWN);
    assert_int_equal(vr_wq_add_after(fx.wq, "ns/f", 5), VR_ESHUTDOWN);
    assert_int_equal(vr_wq_add_rate_limited(fx.wq, "ns/f"), VR_ESHUTDOWN);
    assert_int_equal(vr_wq_len(fx.wq), 0);
    assert_int_equal(vr_wq_num_waiting(fx.wq), 0);
    assert_int_equal(vr_wq_in_flight(fx.wq), 2);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/a"), VR_WQ_PROCESSING);
    assert_int_equal(vr_wq_key_state(fx.wq, "ns/b"), VR_WQ_PROCESSING);
    assert_int_equal(timer_due_in(&fx), -1);
    advance(&fx, 1000);
    assert_int_equal(run_due(&fx), 0);
    pump(&fx);
    assert_string_equal(take(&fx), "");

    vr_wq_close(fx.wq, on_closed, &fx);
    pump(&fx);
    assert_int_equal(fx.closed, 0); /* two still in flight */
    done(&fx, "ns/a", VR_WQ_ERROR, 0); /* result ignored: nothing is requeued */
    pump(&fx);
    assert_int_equal(fx.closed, 0);
    done(&fx, "ns/b", VR_WQ_OK, 0);
    assert_int_equal(fx.closed, 0); /* never inside done */
    pump(&fx);
    assert_int_equal(fx.closed, 1);
    assert_string_equal(take(&fx), "");
    vr_test_loop_close(&fx.loop);
}

static void test_close_idle_queue(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, 2, 10);
    vr_wq_add(fx.wq, "ns/a");
    vr_wq_add_after(fx.wq, "ns/b", 100);
    vr_wq_shutdown(fx.wq);
    vr_wq_shutdown(fx.wq); /* twice is fine */
    vr_wq_close(fx.wq, on_closed, &fx);
    assert_int_equal(fx.closed, 0); /* never inside close */
    pump(&fx);
    assert_int_equal(fx.closed, 1);
    assert_string_equal(take(&fx), "");
    vr_test_loop_close(&fx.loop);
}

static int got_one(void *arg)
{
    return ((struct fx *)arg)->calls >= 1;
}

/* The real clock: the uv_timer fires and the key is dispatched no earlier than its due time. */
static void test_real_timer(void **state)
{
    (void)state;
    struct fx fx;
    memset(&fx, 0, sizeof(fx));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    struct vr_clock clock;
    vr_clock_init_system(&clock, &fx.loop);
    struct vr_wq_opts o;
    vr_wq_opts_default(&o);
    assert_int_equal(vr_wq_new(&fx.loop, &clock, &o, on_process, &fx, &fx.wq), 0);
    uv_update_time(&fx.loop);
    uint64_t start = uv_now(&fx.loop);
    vr_wq_add_after(fx.wq, "ns/slow", 5000);
    vr_wq_add_after(fx.wq, "ns/a", 30);
    assert_true(vr_test_run_until(&fx.loop, got_one, &fx, 5000));
    assert_true(uv_now(&fx.loop) - start >= 30);
    assert_string_equal(take(&fx), "ns/a");
    assert_int_equal(vr_wq_num_waiting(fx.wq), 1);
    done(&fx, "ns/a", VR_WQ_OK, 0);
    vr_wq_close(fx.wq, on_closed, &fx);
    pump(&fx);
    assert_int_equal(fx.closed, 1);
    vr_test_loop_close(&fx.loop);
}

struct logcap {
    char text[4096];
    size_t len;
};

static void capture(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct logcap *c = arg;
    assert_int_equal(level, VR_LOG_TRACE);
    int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%.*s\n", (int)len, line);
    if (n > 0 && (size_t)n < sizeof(c->text) - c->len)
        c->len += (size_t)n;
}

/* State changes are logged at trace level under subsystem "wq", with queue name and key. */
static void test_trace_log(void **state)
{
    (void)state;
    struct fx fx;
    struct logcap cap = {.len = 0};
    enum vr_log_level saved = vr_log_get_level();
    fx_start(&fx, 16, 10);
    vr_log_set_sink(capture, &cap);
    vr_log_set_level(VR_LOG_TRACE);
    vr_wq_add(fx.wq, "ns/a");
    pump(&fx);
    vr_log_set_level(saved);
    vr_log_set_sink(NULL, NULL);
    assert_non_null(strstr(cap.text, " wq key state idle -> queued wq=test key=ns/a"));
    assert_non_null(strstr(cap.text, "queued -> processing wq=test key=ns/a"));
    fx_finish(&fx);
}

/* --- randomized: never twice at once, no add lost --- */

#define RKEYS 200

struct rstate {
    bool processing[RKEYS];
    bool pending[RKEYS]; /* added since its last dispatch began */
    uint64_t runs;
};

static struct rstate rs;

static int key_index(const char *key)
{
    int idx = -1;
    assert_int_equal(sscanf(key, "ns/k%d", &idx), 1);
    assert_true(idx >= 0 && idx < RKEYS);
    return idx;
}

static void on_process_random(struct vr_workqueue *wq, const char *key, void *arg)
{
    (void)wq;
    (void)arg;
    int i = key_index(key);
    assert_false(rs.processing[i]);
    rs.processing[i] = true;
    rs.pending[i] = false;
    rs.runs++;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void random_op(struct vr_workqueue *wq, struct vr_fake_clock *fc, uint64_t *s)
{
    int i = (int)(rnd(s) % RKEYS);
    char key[32];
    (void)snprintf(key, sizeof(key), "ns/k%d", i);
    static const enum vr_wq_result results[] = {VR_WQ_OK, VR_WQ_ERROR, VR_WQ_REQUEUE_AFTER};
    switch (rnd(s) % 6) {
    case 0:
    case 1:
        assert_int_equal(vr_wq_add(wq, key), 0);
        rs.pending[i] = true;
        break;
    case 2:
        assert_int_equal(vr_wq_add_after(wq, key, rnd(s) % 50), 0);
        break;
    case 3:
        if (rs.processing[i]) {
            rs.processing[i] = false;
            assert_int_equal(vr_wq_done(wq, key, results[rnd(s) % 3], rnd(s) % 40), 0);
        }
        break;
    case 4:
        vr_fake_clock_advance(fc, rnd(s) % 10);
        vr_wq_run_due(wq, fc->ms);
        break;
    default:
        vr_wq_dispatch(wq);
        break;
    }
}

static void test_random_no_overlap_no_loss(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct vr_fake_clock fc;
    struct vr_workqueue *wq;
    struct vr_wq_opts o;
    uint64_t s = 0x243f6a8885a308d3ULL;
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(uv_loop_init(&loop), 0);
    vr_fake_clock_init(&fc, 0, 0);
    vr_wq_opts_default(&o);
    o.max_in_flight = 8;
    assert_int_equal(vr_wq_new(&loop, &fc.clock, &o, on_process_random, NULL, &wq), 0);
    for (int step = 0; step < 200000; step++) {
        random_op(wq, &fc, &s);
        assert_true(vr_wq_in_flight(wq) <= 8);
    }
    /* Drain: finish every run OK, let every timer come due; each pending add must run. */
    for (int round = 0; round < 100000; round++) {
        char key[32];
        for (int i = 0; i < RKEYS; i++) {
            if (rs.processing[i]) {
                rs.processing[i] = false;
                (void)snprintf(key, sizeof(key), "ns/k%d", i);
                assert_int_equal(vr_wq_done(wq, key, VR_WQ_OK, 0), 0);
            }
        }
        vr_fake_clock_advance(&fc, 2000000); /* past any backoff */
        vr_wq_run_due(wq, fc.ms);
        if (vr_wq_dispatch(wq) == 0 && vr_wq_in_flight(wq) == 0 && vr_wq_num_waiting(wq) == 0)
            break;
    }
    for (int i = 0; i < RKEYS; i++)
        assert_false(rs.pending[i]);
    assert_int_equal(vr_wq_len(wq), 0);
    assert_true(rs.runs > 1000);
    vr_wq_close(wq, NULL, NULL);
    vr_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_dirty_while_processing),
        cmocka_unit_test(test_max_in_flight_and_fifo),
        cmocka_unit_test(test_add_after_ordering),
        cmocka_unit_test(test_add_after_then_add),
        cmocka_unit_test(test_rate_limited_requeue),
        cmocka_unit_test(test_bucket_limits_all_keys),
        cmocka_unit_test(test_requeue_after),
        cmocka_unit_test(test_timer_tracks_earliest),
        cmocka_unit_test(test_sync_done_in_process_cb),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shutdown_with_in_flight),
        cmocka_unit_test(test_close_idle_queue),
        cmocka_unit_test(test_real_timer),
        cmocka_unit_test(test_trace_log),
        cmocka_unit_test(test_random_no_overlap_no_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
