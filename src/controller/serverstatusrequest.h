/*
 * The ServerStatusRequest controller (contract.md §4, velero.md §5).
 *
 * Decision (pure): vr_ssr_decide answers what one cached request needs:
 *   phase "" or New                       PROCESS: one merge patch {"status": {phase
 *                                         Processed, processedTimestamp now, serverVersion,
 *                                         plugins}}
 *   Processed                             DELETE (uid precondition) once now >=
 *                                         processedTimestamp + TTL, else REQUEUE until then
 *                                         (no processedTimestamp: creationTimestamp counts;
 *                                         Velero would crash on it)
 *   any other phase                       the same, one TTL after creationTimestamp, and
 *                                         unknown_phase set so the driver logs it once
 * Only PROCESS writes status, so a reconcile of a Processed request never writes.
 *
 * Driver (struct vr_ssr_ctrl): an informer on serverstatusrequests (compact payload: phase
 * and the two timestamps), a work queue (10 in flight, like Velero), and the writes. The
 * status subresource is handled both ways: a CRD probe picks PATCH .../status or the main
 * resource; a 404 from /status switches to the main resource, and a main-resource patch
 * whose answer lacks phase Processed (the subresource dropped it) switches to /status.
 * Writes happen only while "leading" (vr_ssr_ctrl_set_leading); followers keep the cache
 * warm and drop their keys, and all cached keys are enqueued on becoming leader.
 */
#ifndef VR_CONTROLLER_SERVERSTATUSREQUEST_H
#define VR_CONTROLLER_SERVERSTATUSREQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "controller/plugins.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "loop/clock.h"
#include "queue/workqueue.h"
#include "server/metrics.h"

/* ---- decision ---- */

/* The fields the controller reads (the informer payload). */
struct vr_ssr_obj {
    char phase[32];         /* status.phase ("" when unset; truncated) */
    bool has_processed;
    int64_t processed_s;    /* status.processedTimestamp */
    bool has_created;
    int64_t created_s;      /* metadata.creationTimestamp */
};

/* Reads o from a full object. Unparsable timestamps count as absent. 0 or VR_EPARSE (not
 * an object, or status/phase of the wrong type). Pure. */
int vr_ssr_obj_from_json(const cJSON *obj, struct vr_ssr_obj *out);

/* The informer projector (payload struct vr_ssr_obj). */
extern const struct vr_kcache_projector vr_ssr_proj;

enum vr_ssr_action {
    VR_SSR_PROCESS,
    VR_SSR_DELETE,
    VR_SSR_REQUEUE,
};

const char *vr_ssr_action_name(enum vr_ssr_action a);

struct vr_ssr_plan {
    enum vr_ssr_action action;
    uint64_t after_ms;  /* REQUEUE: until the deletion instant */
    bool unknown_phase; /* a phase other than "", New, Processed */
};

/* Decides for o at wall-clock now_ms (Unix milliseconds) with lifetime ttl_s (rules
 * above); a REQUEUE lasts until the deletion instant exactly. Writes all of *plan. Pure. */
void vr_ssr_decide(const struct vr_ssr_obj *o, int64_t now_ms, int64_t ttl_s,
                   struct vr_ssr_plan *plan);

/* The merge patch for PROCESS, as JSON text (free with cJSON_free):
 * {"status":{"phase":"Processed","processedTimestamp":"YYYY-MM-DDTHH:MM:SSZ",
 *  "serverVersion":V,"plugins":[{"name":N,"kind":K},...]}} */
char *vr_ssr_patch_body(int64_t now_s, const char *server_version,
                        const struct vr_plugins *plugins);

/* ---- driver ---- */

struct vr_ssr_opts {
    const char *ns;                   /* NULL: all namespaces (copied) */
    int64_t ttl_s;                    /* --server-status-ttl (60) */
    const char *server_version;       /* --server-version (copied; default VR_VERSION) */
    const struct vr_plugins *plugins; /* copied; NULL: vr_plugins_default */
    unsigned max_in_flight;           /* 10 */
    bool leading;                     /* initial write gate: true without leader election */
    struct vr_vm_controller *metrics; /* borrowed, may be NULL */
    struct vr_informer_opts informer; /* res, ns and proj are set by the controller */
};

/* Fills o with the defaults above (leading true, informer defaults). */
void vr_ssr_opts_default(struct vr_ssr_opts *o);

struct vr_ssr_stats {
    uint64_t reconciles;
    uint64_t patches;  /* PATCH requests sent */
    uint64_t deletes;  /* DELETE requests sent */
    uint64_t errors;   /* reconciles ended with a rate-limited retry */
};

struct vr_ssr_ctrl;

/* Creates a stopped controller. loop, clock and kc are borrowed and must outlive it. 0 and
 * *out, VR_EINVAL (ttl_s < 0, max_in_flight 0) or an informer / queue error. */
int vr_ssr_ctrl_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                    const struct vr_ssr_opts *opts, struct vr_ssr_ctrl **out);

/* Probes the CRD, then starts the informer. No-op after the first call. */
void vr_ssr_ctrl_start(struct vr_ssr_ctrl *c);

/* Opens or closes the write gate. Opening enqueues every cached request. */
void vr_ssr_ctrl_set_leading(struct vr_ssr_ctrl *c, bool leading);

/* Stops the informer (no new keys); safe to call twice. */
void vr_ssr_ctrl_stop_informers(struct vr_ssr_ctrl *c);

/* Asynchronous teardown: the informer stops, writes in flight are left to finish (the
 * queue's close waits for them; closing the kube client cancels them if the caller's
 * bound runs out), the queue and informer close, c is freed and cb(arg) runs, never
 * inside this call. Call once. */
void vr_ssr_ctrl_close(struct vr_ssr_ctrl *c, void (*cb)(void *arg), void *arg);

/* The initial list has synced (for /readyz). */
bool vr_ssr_ctrl_is_ready(const struct vr_ssr_ctrl *c);

void vr_ssr_ctrl_stats(const struct vr_ssr_ctrl *c, struct vr_ssr_stats *out);

/* Borrowed, for metrics (informer stats, cache size, queue depth). */
const struct vr_informer *vr_ssr_ctrl_informer(const struct vr_ssr_ctrl *c);
const struct vr_workqueue *vr_ssr_ctrl_queue(const struct vr_ssr_ctrl *c);

#endif
