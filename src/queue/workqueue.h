/*
 * The work queue: client-go's rate-limited delaying queue (util/workqueue/queue.go,
 * delaying_queue.go, rate_limiting_queue.go) on one libuv loop, with async reconciles.
 *
 * Keys are NUL-terminated strings ("namespace/name"), stored once in a hash table of per-key
 * records. Each record is in one state (enum vr_wq_key_state):
 *
 *   IDLE                 known only for its failure count (freed once that is 0)
 *   WAITING              in the timer heap until its due time
 *   QUEUED               in the ready FIFO
 *   PROCESSING           handed to process_cb, waiting for vr_wq_done
 *   PROCESSING_WAITING   processing, and also in the timer heap (an add_after meanwhile)
 *   PROCESSING_DIRTY     processing, and added again meanwhile: runs again after done
 *
 * Guarantees:
 *   - a key is never handed to process_cb while it is processing; an add during processing
 *     is not lost (the key runs again once, after vr_wq_done), and N adds collapse into one;
 *   - at most max_in_flight keys are processing at once; ready keys start in FIFO order;
 *   - a key that will run anyway (QUEUED, PROCESSING_DIRTY) ignores add_after: it runs
 *     sooner than asked. A heap entry therefore only exists for IDLE or PROCESSING keys, and
 *     vr_wq_add on a WAITING key drops its heap entry and queues it now;
 *   - add_after on a key already in the heap keeps the EARLIER due time.
 *
 * Dispatch never happens inside vr_wq_add*, vr_wq_done or vr_wq_run_due: those only move
 * keys to the ready FIFO and start a uv_idle_t. Its callback (vr_wq_dispatch) hands out
 * ready keys up to max_in_flight, then stops the idle handle. An active idle handle makes
 * the loop poll without blocking, so tests drive dispatch with uv_run(loop, UV_RUN_NOWAIT) or
 * by calling vr_wq_dispatch themselves. One dispatch hands out at most the keys that were
 * ready when it began, so a process_cb that completes and re-adds its key synchronously
 * cannot spin the loop.
 *
 * Time is read only through the struct vr_clock given to vr_wq_new. Delayed keys sit in a
 * timer heap behind one uv_timer_t, always armed for the heap's earliest due time (re-armed
 * whenever the heap's first entry changes); its callback is vr_wq_run_due(wq, clock now).
 * With a fake clock the uv_timer (which runs on loop time) is irrelevant: tests advance the
 * clock and call vr_wq_run_due directly.
 *
 * Memory: a record lives only while its key is queued, processing, waiting or failing. Once
 * 1024 or more were live at once (a start-up or resync burst), the table's emptying again
 * hands the freed memory back to the system (vr_mem_trim).
 *
 * Logging: every key state change at trace level, subsystem "wq" (VR_TRACE=wq), with the
 * queue's name and the key.
 */
#ifndef VR_QUEUE_WORKQUEUE_H
#define VR_QUEUE_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "loop/clock.h"
#include "queue/ratelimit.h"

/* Longest accepted key, in bytes without the NUL (a namespace is at most 63 bytes, a name at
 * most 253). */
#define VR_WQ_KEY_MAX 512

struct vr_workqueue;

enum vr_wq_key_state {
    VR_WQ_IDLE,
    VR_WQ_WAITING,
    VR_WQ_QUEUED,
    VR_WQ_PROCESSING,
    VR_WQ_PROCESSING_WAITING,
    VR_WQ_PROCESSING_DIRTY,
};

/* How a reconcile ended (controller-runtime's reconcileHandler, kube-api.md §5.5). */
enum vr_wq_result {
    VR_WQ_OK,            /* forget the key's failures */
    VR_WQ_REQUEUE_AFTER, /* forget, then add_after(after_ms) */
    VR_WQ_ERROR,         /* add_rate_limited: backoff grows with each consecutive error */
};

/* Hands one key to the reconciler. key is the record's own copy: valid until vr_wq_done for
 * this key returns. The callback starts the work and returns; the work ends with exactly one
 * vr_wq_done(wq, key, ...), from inside this callback or from any later loop turn. Runs only
 * from vr_wq_dispatch (the idle callback), never while shut down. */
typedef void (*vr_wq_process_cb)(struct vr_workqueue *wq, const char *key, void *arg);

/* Runs once when a vr_wq_close finishes, after the queue has been freed. */
typedef void (*vr_wq_closed_cb)(void *arg);

struct vr_wq_opts {
    const char *name;        /* for logs, e.g. "downloadrequests"; borrowed, must outlive wq */
    unsigned max_in_flight;  /* at least 1 (controller-runtime's MaxConcurrentReconciles) */
    struct vr_rl_opts limit; /* rate limiter settings */
};

/* Fills opts: name "wq", max_in_flight 1, the rate limiter defaults. */
void vr_wq_opts_default(struct vr_wq_opts *opts);

/* Creates a queue on loop with one uv_timer_t and one uv_idle_t. clock is borrowed and must
 * outlive the queue. process_cb(wq, key, arg) is called for each dispatched key. Writes *out
 * only on success. 0, or VR_EINVAL for max_in_flight 0 or bad limiter options, or a libuv
 * error from initialising the handles. */
int vr_wq_new(uv_loop_t *loop, struct vr_clock *clock, const struct vr_wq_opts *opts,
              vr_wq_process_cb process_cb, void *arg, struct vr_workqueue **out);

/* Makes key ready now (copies key). 0; VR_ESHUTDOWN once shut down (the key is dropped);
 * VR_EINVAL for an empty key; VR_ETOOBIG for a key over VR_WQ_KEY_MAX. */
int vr_wq_add(struct vr_workqueue *wq, const char *key);

/* Makes key ready after delay_ms (0: vr_wq_add). Keeps the earlier due time when the key is
 * already waiting; ignored when it will run anyway (see above). Returns as vr_wq_add. */
int vr_wq_add_after(struct vr_workqueue *wq, const char *key, uint64_t delay_ms);

/* vr_wq_add_after(key, When(key)): the larger of the key's exponential backoff and the
 * shared token bucket's wait, and counts one more failure for the key. Returns as vr_wq_add. */
int vr_wq_add_rate_limited(struct vr_workqueue *wq, const char *key);

/* Resets the key's failure count (its next backoff starts at base_ms again). Does not remove
 * a queued or waiting key. Unknown keys are ignored. */
void vr_wq_forget(struct vr_workqueue *wq, const char *key);

/* The key's failure count (consecutive rate-limited requeues since the last forget); 0 for
 * an unknown key. */
uint32_t vr_wq_num_requeues(const struct vr_workqueue *wq, const char *key);

/* Ends the processing of key with result: VR_WQ_OK forgets the key; VR_WQ_REQUEUE_AFTER
 * forgets it and adds it after after_ms (0: at once); VR_WQ_ERROR adds it rate-limited
 * (after_ms is ignored for both). If the key was added again while processing, it is queued
 * again (an add_after then makes no difference). After vr_wq_shutdown the result is ignored
 * and the key is dropped. Never dispatches. 0, or VR_EINVAL when key is not processing. */
int vr_wq_done(struct vr_workqueue *wq, const char *key, enum vr_wq_result result,
               uint64_t after_ms);

/* Moves every key due at or before now_ms from the timer heap to the ready FIFO (in due
 * order, FIFO among equal times), re-arms the timer and schedules a dispatch. This is what
 * the timer callback calls with the clock's now; tests call it with a fake time. Never
 * dispatches. Returns how many keys became ready. */
size_t vr_wq_run_due(struct vr_workqueue *wq, uint64_t now_ms);

/* Hands ready keys to process_cb in FIFO order while fewer than max_in_flight are
 * processing, at most as many as were ready on entry. What the idle callback runs; tests may
 * call it directly. Must not be called from inside process_cb (ignored: returns 0). Returns
 * how many keys were handed out. */
size_t vr_wq_dispatch(struct vr_workqueue *wq);

/* Keys ready to run (the FIFO): the queue depth for metrics. */
size_t vr_wq_len(const struct vr_workqueue *wq);

/* Keys in the timer heap. */
size_t vr_wq_num_waiting(const struct vr_workqueue *wq);

/* Keys handed to process_cb and not yet done. */
size_t vr_wq_in_flight(const struct vr_workqueue *wq);

/* The state of key (VR_WQ_IDLE for an unknown key). */
enum vr_wq_key_state vr_wq_key_state(const struct vr_workqueue *wq, const char *key);

/* Name of a key state for logs: "idle", "waiting", ... */
const char *vr_wq_key_state_name(enum vr_wq_key_state state);

/* The heap's earliest due time into *out; false (out untouched) when nothing waits. */
bool vr_wq_next_due(const struct vr_workqueue *wq, uint64_t *out);

/* Stops taking work: drops every queued, waiting and idle key, stops the timer and the
 * dispatcher. Keys in flight keep running and their vr_wq_done still works (results are
 * ignored). Later adds return VR_ESHUTDOWN. Safe to call twice. */
void vr_wq_shutdown(struct vr_workqueue *wq);

/* Whether vr_wq_shutdown (or vr_wq_close) has been called. */
bool vr_wq_is_shutting_down(const struct vr_workqueue *wq);

/* Shuts down (as above), waits for every in-flight key's vr_wq_done, then closes the timer
 * and idle handles and frees the queue; closed_cb(arg) (may be NULL) runs once after that,
 * always from a later loop turn, never inside this call or inside vr_wq_done. wq must not
 * be used after this call except for vr_wq_done of keys still in flight. Call once. */
void vr_wq_close(struct vr_workqueue *wq, vr_wq_closed_cb closed_cb, void *arg);

#endif
