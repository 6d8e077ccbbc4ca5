/*
 * Reconcilers as small const vtables (STYLE.md §1, after redis's ConnectionType): each
 * controller module exports one, and vreqd's app drives them the same way.
 */
#ifndef VR_CONTROLLER_RECONCILER_H
#define VR_CONTROLLER_RECONCILER_H

#include <stdbool.h>

struct vr_app;

struct vr_reconciler_ops {
    const char *name; /* controller name for logs and metrics: "download-request" */
    /* Creates the controller on app (informers, queue, caches, metrics series when
     * app->vm is set) and registers its stoppers with the app's shutdown list. The write
     * gate starts open, or closed with app->cfg->leader_elect (until set_leading). 0 and
     * *out, or a VR_E* code (logged by the caller). */
    int (*create)(struct vr_app *app, void **out);
    /* Starts informers; reconciles begin once their caches have synced. */
    void (*start)(void *ctrl);
    /* Whether the initial lists have synced (for /readyz). */
    bool (*is_ready)(void *ctrl);
    /* Opens or closes the write gate: a follower keeps its caches warm and writes nothing;
     * opening it enqueues every cached object. */
    void (*set_leading)(void *ctrl, bool leading);
    /* ctrl is valid from create until its INFORMERS-phase stopper runs: after that the
     * app's shutdown owns it and none of these may be called. */
};

#endif
