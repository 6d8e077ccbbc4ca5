/*
 * The informer ("watch" in STYLE.md §1): list-then-watch of one resource in one namespace
 * (or all), feeding a compact cache (kube/cache.h) and add/update/delete handlers, after
 * client-go's reflector (kube-api.md §5.1, §5.2, §10).
 *
 *   LISTING     first LIST, RV "0", paged by limit/continue; the cache is replaced
 *   WATCHING    WATCH from the last RV with allowWatchBookmarks and a timeoutSeconds
 *               uniform in [min, max); each event updates cache, handlers and RV
 *   BACKOFF     waiting after a failure (800 ms x2 capped at 30 s, jitter +[0,100%),
 *               reset after 2 min without a failure; at least any Retry-After)
 *   RELISTING   a later LIST (after 410, or an HTTP error refusing a watch), RV = last RV,
 *               or "" once a list with it was refused as expired / too large
 *   STOPPED     not started, vr_informer_stop, or closing
 *
 * What ends a watch, and what follows:
 *   clean end (server's final chunk)               re-watch at once, no relist
 *   a cut after a healthy stream (bytes received,  re-watch at once, no relist
 *     lasted >= short_watch_ms)                    (client-go: a probable EOF is a close)
 *   ERROR 410 Expired/Gone, HTTP 410               backoff, then relist
 *   HTTP error refusing the watch (5xx, 504 RV     backoff, then relist
 *     too large, 4xx) or a non-410 ERROR event
 *   a malformed or over-cap line                   backoff, then relist (a re-watch from
 *                                                  the same RV would meet it again)
 *   429, transport error (refused, reset), a       backoff, then re-watch from the last RV
 *     stalled stream (watchdog), a stream ending
 *     inside an event, a very short empty watch
 * Lists that fail back off and list again; a list refused as expired (410) is retried at
 * once with RV "" (client-go's pager fallback), and a 504 "too large RV" the same way.
 *
 * Loop module: every wait is the informer's one uv_timer_t, whose callback only calls
 * vr_informer_run_due(now). Time comes from the struct vr_clock. Logs under subsystem
 * "watch" (state changes at trace, failures at warn).
 */
#ifndef VR_KUBE_INFORMER_H
#define VR_KUBE_INFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "kube/cache.h"
#include "kube/client.h"
#include "loop/clock.h"

enum vr_informer_state {
    VR_INFORMER_STOPPED,
    VR_INFORMER_LISTING,
    VR_INFORMER_WATCHING,
    VR_INFORMER_BACKOFF,
    VR_INFORMER_RELISTING,
};

/* "stopped", "listing", ...; never NULL. */
const char *vr_informer_state_name(enum vr_informer_state s);

/* Handlers get compact objects, borrowed for the call. The cache already holds the new
 * state when they run. They should only enqueue keys; they may call vr_informer_stop or
 * vr_informer_close (then no further handler runs). Any member may be NULL.
 *   on_add     an object appeared (ADDED, a MODIFIED of an unknown key, or in a list)
 *   on_update  MODIFIED (always, even if the payload is equal), ADDED of a known key, or a
 *              relist finding it changed (uid, RV or payload; an unchanged object is not
 *              reported)
 *   on_delete  DELETED (the cached state, or the event's when the key was unknown), or a
 *              key missing from a relist (the last cached state)
 *   on_synced  once, after the first full list has been applied */
struct vr_informer_handlers {
    void (*on_add)(const struct vr_kobj *obj, void *arg);
    void (*on_update)(const struct vr_kobj *old, const struct vr_kobj *cur, void *arg);
    void (*on_delete)(const struct vr_kobj *obj, void *arg);
    void (*on_synced)(void *arg);
    void *arg;
};

struct vr_informer_opts {
    const struct vr_kube_resource *res;       /* required, borrowed (usually static) */
    const char *ns;                           /* NULL: all namespaces (copied) */
    const char *label_selector;               /* NULL: none (copied) */
    const char *field_selector;               /* NULL: none (copied) */
    const struct vr_kcache_projector *proj;   /* NULL: metadata only; borrowed */
    unsigned list_limit;                      /* page size (500) */
    unsigned watch_timeout_min_s;             /* timeoutSeconds in [min, max) (300, 600) */
    unsigned watch_timeout_max_s;
    unsigned watchdog_grace_ms;               /* watch killed at timeout + this (30000) */
    unsigned idle_timeout_ms;                 /* no byte for this long: stalled (0 = off) */
    unsigned short_watch_ms;                  /* shorter and empty: a failure (1000) */
    uint64_t backoff_initial_ms;              /* 800 */
    uint64_t backoff_max_ms;                  /* 30000 */
    uint64_t backoff_reset_ms;                /* 120000 */
    size_t max_line;                          /* cap on one event line (wdec's default) */
    uint64_t seed;                            /* jitter PRNG seed; 0 = from uv_hrtime */
};

/* Fills o with the defaults above (res = NULL). */
void vr_informer_opts_default(struct vr_informer_opts *o);

/* Counters for metrics. */
struct vr_informer_stats {
    uint64_t lists;    /* LIST requests sent (each page counts) */
    uint64_t relists;  /* full lists started after the cache had synced */
    uint64_t watches;  /* WATCH requests started */
    uint64_t restarts; /* watches that ended other than cleanly (errors, watchdog, cuts) */
    uint64_t events;   /* watch events applied (bookmarks included) */
};

struct vr_informer;

/* Creates a stopped informer. kc, clock and loop are borrowed and must outlive it; opts
 * and handlers are copied. 0 with *out written, or VR_EINVAL (no res, bad timeouts). */
int vr_informer_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                    const struct vr_informer_opts *opts,
                    const struct vr_informer_handlers *handlers, struct vr_informer **out);

/* Starts listing (STOPPED -> LISTING, or RELISTING when it had synced before). A no-op
 * unless STOPPED, and after close. */
void vr_informer_start(struct vr_informer *inf);

/* Stops: cancels the call in flight (its completion is ignored), stops the timer; the
 * cache is kept. Safe to call twice, and from a handler. */
void vr_informer_stop(struct vr_informer *inf);

/* Stops and frees the informer asynchronously: cb(arg) (may be NULL) runs, never inside
 * this call, once its call has completed and its timer is closed; inf is invalid then.
 * Call once. */
void vr_informer_close(struct vr_informer *inf, void (*cb)(void *arg), void *arg);

/* The timer's work, for tests on a fake clock: ends a backoff that is due, or fires the
 * watchdog of a watch that outlived timeoutSeconds + grace or was idle too long. */
void vr_informer_run_due(struct vr_informer *inf, uint64_t now_ms);

bool vr_informer_has_synced(const struct vr_informer *inf);
enum vr_informer_state vr_informer_state(const struct vr_informer *inf);
/* The cache, borrowed; valid until the informer is freed (never replaced under a
 * handler's feet: lookups from handlers see the new state). */
const struct vr_kcache *vr_informer_cache(const struct vr_informer *inf);
/* The last resourceVersion seen ("" before the first list), borrowed. */
const char *vr_informer_last_rv(const struct vr_informer *inf);
void vr_informer_stats(const struct vr_informer *inf, struct vr_informer_stats *out);

/* client-go's backoff (apimachinery wait.Backoff + the reflector's backoff manager),
 * pure, exposed for tests. */
struct vr_informer_backoff {
    uint64_t initial_ms, max_ms, reset_ms;
    uint64_t cur_ms;  /* the next base delay */
    uint64_t last_ms; /* when the last delay was handed out */
    bool used;
};

void vr_informer_backoff_init(struct vr_informer_backoff *b, uint64_t initial_ms,
                              uint64_t max_ms, uint64_t reset_ms);
/* The next delay at now_ms: base d (initial, doubling, capped at max; back to initial
 * when more than reset_ms passed since the previous delay) plus jitter d * rand01
 * (rand01 in [0, 1)), so in [d, 2d). */
uint64_t vr_informer_backoff_next(struct vr_informer_backoff *b, uint64_t now_ms, double rand01);

#endif
