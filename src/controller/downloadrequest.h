/*
 * The DownloadRequest controller (contract.md §2, velero.md §4, §10).
 *
 * Two halves (STYLE.md §1). The decision half is pure: vr_dlr_decide answers what one
 * cached request needs (delete it, wait for its expiration, process it, fail it, nothing)
 * and vr_dlr_resolve follows Restore -> Backup -> BackupStorageLocation -> Secret through
 * the informer caches and builds the object key; neither reads a clock nor logs. The driver
 * (struct vr_dlr_ctrl) owns the informers, the work queue, the signer and the status
 * writes, and carries the plans out on the loop.
 */
#ifndef VR_CONTROLLER_DOWNLOADREQUEST_H
#define VR_CONTROLLER_DOWNLOADREQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "controller/objkey.h"
#include "controller/proj.h"
#include "controller/reconciler.h"
#include "controller/signer.h"
#include "kube/cache.h"
#include "kube/client.h"
#include "loop/clock.h"
#include "server/metrics.h"
#include "vreq/curl_uv.h"

/* ---- decision ---- */

enum vr_dlr_action {
    VR_DLR_NOTHING, /* nothing to write, no timer (e.g. terminal without expiration) */
    VR_DLR_DELETE,  /* expired: DELETE with a uid precondition */
    VR_DLR_WAIT,    /* terminal and not expired: come back at the expiration instant */
    VR_DLR_PROCESS, /* New: resolve, presign, write Processed */
    VR_DLR_FAIL,    /* permanent failure: write Failed + message (or expiration only) */
};

const char *vr_dlr_action_name(enum vr_dlr_action a);

struct vr_dlr_plan {
    enum vr_dlr_action action;
    uint64_t after_ms;        /* WAIT: until the expiration instant */
    enum vr_target_kind kind; /* PROCESS */
    char message[256];        /* FAIL: one sentence for status.message */
};

/*
 * Decides for one cached request o at wall-clock now_ms (Unix milliseconds) with URL lifetime ttl_s.
 * last_error is the transient failure that ended the previous attempts (NULL: none); a
 * request still failing one TTL after its creationTimestamp is given up (FAIL naming it).
 * Rules, in order:
 *   expiration set and <= now                          DELETE (any phase)
 *   bad input (o->bad), no expiration                  FAIL with o->bad
 *   phase Processed or Failed, or phase ""/New with an
 *     expiration (an expiration-only failure marker)   WAIT until expiration (NOTHING if
 *                                                      there is none)
 *   phase "" or New: unknown kind                      FAIL "unsupported download target kind"
 *                    given up (see above)              FAIL
 *                    else                              PROCESS
 *   any other phase                                    NOTHING
 * Writes every member of *plan.
 */
void vr_dlr_decide(const struct vr_dlr_obj *o, const char *last_error, int64_t now_ms,
                   int64_t ttl_s, struct vr_dlr_plan *plan);

/* The informer caches resolve reads (borrowed). */
struct vr_dlr_caches {
    const struct vr_kcache *backups, *restores, *bsls, *secrets;
};

/* Where a request's file is. Pointers borrow the caches (valid until they change). */
struct vr_dlr_target {
    const struct vr_kobj *bsl;
    const struct vr_bsl_obj *bslp;
    const struct vr_secret_entry *secret; /* NULL when the BSL names no credential */
    char key[VR_OBJKEY_MAX];
};

/*
 * Resolves target name of kind in namespace ns: restore kinds through the Restore's
 * spec.backupName; the Backup's spec.storageLocation names the BSL in the Backup's
 * namespace; the BSL's spec.credential names the Secret and key. A Backup (or, for restore
 * kinds, a Restore) in phase "", New, Queued, ReadyToStart or FailedValidation has written
 * no files. 0 and *out, or a permanent VR_ENOTFOUND / VR_ECONFIG with one sentence in msg.
 */
int vr_dlr_resolve(const struct vr_dlr_caches *c, const char *ns, enum vr_target_kind kind,
                   const char *target, struct vr_dlr_target *out, char *msg, size_t msglen);

/*
 * After vr_dlr_resolve answered VR_ENOTFOUND: the first object of the chain Restore ->
 * Backup -> BSL -> Secret missing from the caches, as its resource and name (borrowed from
 * target or the caches) in namespace ns, so the driver can confirm with a live read that
 * it is really gone and not only late in an informer cache. 0 and *res, *name, or
 * VR_ENOTFOUND when nothing in the chain is missing (the caches changed meanwhile).
 */
int vr_dlr_missing(const struct vr_dlr_caches *c, const char *ns, enum vr_target_kind kind,
                   const char *target, const struct vr_kube_resource **res, const char **name);

/* ---- driver ---- */

struct vr_dlr_ctrl;
struct vr_informer;
struct vr_workqueue;

/* Reconciles of different requests at once (one key is never reconciled twice at once).
 * Velero runs one; each reconcile mostly waits for one API round trip, so a few in flight
 * keep the loop busy instead of idle (bench/README.md, bench_controller). */
#define VR_DLR_MAX_IN_FLIGHT 8

struct vr_dlr_opts {
    const char *ns;          /* NULL: all namespaces (copied) */
    unsigned max_in_flight;  /* 0: VR_DLR_MAX_IN_FLIGHT */
    int64_t ttl_s;           /* URL lifetime and expiration offset (600) */
    uint64_t resync_ms;      /* re-enqueue every cached request this often; 0 = off */
    struct vr_signer_opts signer;
    bool standby;            /* start with the write gate closed (leader election): see
                              * vr_dlr_ctrl_set_leading */
    struct vr_vm_controller *metrics; /* borrowed, may be NULL: reconciles, queue depth */
    struct vr_metric *presign;        /* borrowed, may be NULL: signing latency */
};

/* Counters (tests, metrics). */
struct vr_dlr_stats {
    uint64_t reconciles;
    uint64_t processed;     /* Processed written */
    uint64_t failed;        /* terminal failures written */
    uint64_t deleted;       /* expired requests deleted (404 included) */
    uint64_t patches;       /* PATCH requests sent */
    uint64_t transient;     /* reconciles that ended with a rate-limited retry */
    uint64_t skipped_writes; /* writes not sent because they changed nothing */
};

/* Creates a stopped controller (informers for DownloadRequests, Backups, Restores, BSLs and
 * Secrets in opts->ns, a work queue, a signer). loop, clock, cu and kc are borrowed and
 * must outlive it. 0 and *out, or a VR_E* code. */
int vr_dlr_ctrl_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_curl_uv *cu,
                    struct vr_kube_client *kc, const struct vr_dlr_opts *opts,
                    struct vr_dlr_ctrl **out);

/* Starts the informers, the CRD probe and the resync timer; reconciles begin once every
 * cache has synced and the probe has answered (or failed). */
void vr_dlr_ctrl_start(struct vr_dlr_ctrl *c);

/* Stops the informers (no new keys); safe to call twice. */
void vr_dlr_ctrl_stop_informers(struct vr_dlr_ctrl *c);

/* Asynchronous teardown: informers stop, the queue drains (in-flight reconciles finish or
 * end with VR_ESHUTDOWN/VR_ECANCELED), the signer and the informers close, then c is freed
 * and cb(arg) runs (never inside this call). Call once. */
void vr_dlr_ctrl_close(struct vr_dlr_ctrl *c, void (*cb)(void *arg), void *arg);

/* Re-enqueues every cached request (the resync timer's body). */
void vr_dlr_ctrl_resync(struct vr_dlr_ctrl *c);

bool vr_dlr_ctrl_is_ready(const struct vr_dlr_ctrl *c);

/* Opens or closes the write gate (leader election). While closed the informers keep the
 * caches warm and nothing is enqueued; a key already queued or waiting is dropped when it
 * runs, and writes already in flight finish. Opening it enqueues every cached request
 * (once the caches have synced). No-op while closing. */
void vr_dlr_ctrl_set_leading(struct vr_dlr_ctrl *c, bool leading);

/* Borrowed, for metrics: the work queue, and informer i (0..) with its resource, NULL
 * past the last. */
const struct vr_workqueue *vr_dlr_ctrl_queue(const struct vr_dlr_ctrl *c);
const struct vr_informer *vr_dlr_ctrl_informer(const struct vr_dlr_ctrl *c, size_t i,
                                               const struct vr_kube_resource **res);
void vr_dlr_ctrl_stats(const struct vr_dlr_ctrl *c, struct vr_dlr_stats *out);
struct vr_signer *vr_dlr_ctrl_signer(struct vr_dlr_ctrl *c);

/* The reconciler table entry vreqd wires through its app (controller "download-request"):
 * create builds the controller from app->cfg and registers its stoppers (informers in
 * the INFORMERS phase, queue drain and close in the QUEUES phase). */
extern const struct vr_reconciler_ops vr_dlr_reconciler;

#endif
