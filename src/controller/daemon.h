/*
 * vreqd's daemon: puts the controllers, leader election, the metrics registry and the
 * /healthz, /readyz, /metrics endpoints on a struct vr_app (contract.md §5).
 *
 *   metrics    a registry (app->metrics) with process_* and vreqd_* families (app->vm);
 *              the kube client's observer counts every API request by verb and code
 *   controllers  each reconciler table entry is created on the app; with --leader-elect
 *              they start as followers (caches warm, no writes)
 *   lease      with --leader-elect, a Lease named --lease-name in --namespace
 *              (client-go's 15 s / 10 s / 2 s): becoming leader opens every controller's
 *              write gate (which enqueues everything cached), losing it closes them
 *   endpoints  on --metrics-addr unless "0": /healthz (200 while the loop serves; 500 when
 *              a leader's lease has not been renewed for lease duration + 20 s), /readyz
 *              (200 once every controller's initial lists synced, 503 before that and once
 *              shutdown began; the body names the role, "leader" or "follower"), /metrics
 *
 * Shutdown, through the app's phases: INFORMERS closes the leadership gate (the daemon
 * stops calling into controllers, whose own stoppers then stop their informers), QUEUES
 * drains the controllers (theirs), LEASE releases a held lease and closes the elector, and
 * SERVER closes the endpoints last.
 *
 * Logs under subsystem "app"; the endpoints' address as
 * "serving /healthz /readyz /metrics addr=A port=P".
 */
#ifndef VR_CONTROLLER_DAEMON_H
#define VR_CONTROLLER_DAEMON_H

#include <stddef.h>

#include "controller/reconciler.h"
#include "loop/app.h"

struct vr_daemon;

/* Creates the daemon on app (initialised, not yet running): the registry (app->metrics,
 * app->vm), the kube client's observer and the daemon's stoppers. Never fails. */
struct vr_daemon *vr_daemon_new(struct vr_app *app);

/* Builds, from app->cfg, n controllers from ops (borrowed, must outlive the daemon), the
 * elector (--leader-elect) and the endpoints (--metrics-addr), each with its stoppers.
 * 0, or a VR_E* code (logged here): then stop the app (what was made is closed by the
 * shutdown) and exit 1. */
int vr_daemon_setup(struct vr_daemon *d, const struct vr_reconciler_ops *const *ops, size_t n);

/* Starts the controllers' informers and the elector. */
void vr_daemon_start(struct vr_daemon *d);

/* Frees the registry and d. Only after vr_app_cleanup (nothing may observe or scrape any
 * more). */
void vr_daemon_free(struct vr_daemon *d);

#endif
