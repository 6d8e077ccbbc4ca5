/*
 * The vreqd application: owns the loop, the clock, the curl bridge, the Kubernetes client,
 * signal handling, a deferred-free list drained in a uv_check, slots for the HTTP server and
 * metrics, and an ordered shutdown list (STYLE.md §1, §5).
 *
 * Wiring a module (issue 5's ServerStatusRequest controller, lease, httpd, metrics):
 *
 *   struct my_mod { struct vr_app_stopper stopper; ... };
 *   static void my_stop(struct vr_app_stopper *st) {
 *       struct my_mod *m = container_of(st, struct my_mod, stopper);
 *       ... begin stopping; later (or now) call vr_app_stopper_done(st) exactly once ...
 *   }
 *   m->stopper = (struct vr_app_stopper){.name = "ssr", .phase = VR_APP_PHASE_QUEUES,
 *                                        .stop = my_stop};
 *   vr_app_add_stopper(app, &m->stopper);
 *
 * Shutdown (SIGTERM, SIGINT or vr_app_stop) runs the phases in order, each phase's stoppers
 * together, the next phase once all of them called vr_app_stopper_done:
 *   INFORMERS  stop list+watch (no new keys)
 *   QUEUES     drain work queues: in-flight reconciles finish or end with VR_ESHUTDOWN
 *   LEASE      release a held lease
 *   SERVER     stop httpd (last, so /healthz answers while draining)
 * then the app closes the Kubernetes client and the curl bridge, and its own handles. The
 * whole drain is bounded (drain_ms): when the bound passes, the Kubernetes client is closed
 * early, which cancels every call still in flight (their callbacks run with VR_ECANCELED),
 * so the phases complete. A second signal cuts the bound short the same way.
 * vr_app_cleanup then closes any handle still open (logged as a leak) and checks that
 * uv_loop_close returns 0.
 *
 * Logs under subsystem "app".
 */
#ifndef VR_LOOP_APP_H
#define VR_LOOP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "kube/client.h"
#include "kube/config.h"
#include "loop/clock.h"
#include "vreq/curl_uv.h"

enum vr_app_phase {
    VR_APP_PHASE_INFORMERS,
    VR_APP_PHASE_QUEUES,
    VR_APP_PHASE_LEASE,
    VR_APP_PHASE_SERVER,
};
#define VR_APP_PHASE_COUNT 4

enum vr_app_state {
    VR_APP_RUNNING,
    VR_APP_STOPPING,
    VR_APP_CLOSING, /* phases done; closing the client, the bridge and own handles */
    VR_APP_STOPPED,
};

const char *vr_app_state_name(enum vr_app_state s);
const char *vr_app_phase_name(enum vr_app_phase p);

struct vr_app;
struct vr_vm;

/* One entry of the shutdown list, embedded in its module (container_of). */
struct vr_app_stopper {
    const char *name;         /* for logs */
    enum vr_app_phase phase;
    /* Begins stopping. Must lead to exactly one vr_app_stopper_done(st), inside this call or
     * later from the loop. */
    void (*stop)(struct vr_app_stopper *st);
    /* internal */
    struct vr_app *app;
    struct vr_app_stopper *next;
    bool started, done;
};

/* An object whose release must wait until no callback of it is on the stack: embed this,
 * push it with vr_app_defer_free, and fn(d) runs from the next uv_check. */
struct vr_app_deferred {
    struct vr_app_deferred *next;
    void (*fn)(struct vr_app_deferred *d);
};

struct vr_app {
    uv_loop_t loop;
    struct vr_clock sysclock;
    struct vr_clock *clock;       /* &sysclock unless a test replaces it */
    const struct vr_config *cfg;  /* borrowed */
    struct vr_kube_config kcfg;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    void *httpd;                  /* struct vr_endpoints * while serving, else NULL */
    void *metrics;                /* struct vr_metrics *, the registry (owned by main) */
    struct vr_vm *vm;             /* vreqd's metric families on it, or NULL (no metrics) */
    uint64_t drain_ms;            /* shutdown bound (default 10000) */
    enum vr_app_state state;
    int phase;                    /* current shutdown phase */
    int exit_code;                /* what vreqd's main returns (0 unless set) */
    /* internal */
    uv_signal_t sig_term, sig_int;
    uv_check_t check;
    uv_timer_t drain_timer;
    struct vr_app_deferred *deferred;
    struct vr_app_stopper *stoppers;
    bool kc_closed, cu_closed, in_phases;
};

/*
 * Initialises app: the loop, the system clock, SIGPIPE ignored, SIGTERM/SIGINT handlers,
 * the deferred-free check, the curl bridge and the Kubernetes client from cfg->kubeconfig,
 * $KUBECONFIG, ~/.kube/config or in-cluster (blocking file reads: call before running).
 * cfg is borrowed. 0, or a VR_E* code with one line in err (the caller exits 1); on error
 * everything started is torn down again.
 */
int vr_app_init(struct vr_app *app, const struct vr_config *cfg, char *err, size_t errlen);

/* Adds st to the shutdown list (st->name, phase and stop must be set). */
void vr_app_add_stopper(struct vr_app *app, struct vr_app_stopper *st);

/* A stopper reports that it has stopped. Exactly once per stop call. st leaves the app's
 * list here, so its owner may free it as soon as this returns. */
void vr_app_stopper_done(struct vr_app_stopper *st);

/* Begins the ordered shutdown (what the signal handlers call). A second call cuts the
 * drain bound short. */
void vr_app_stop(struct vr_app *app);

/* Queues d; d->fn(d) runs from the next loop iteration's check phase. */
void vr_app_defer_free(struct vr_app *app, struct vr_app_deferred *d,
                       void (*fn)(struct vr_app_deferred *d));

/* Runs the loop until the shutdown completes; returns app->exit_code. */
int vr_app_run(struct vr_app *app);

/* After vr_app_run: closes any handle still open (each logged as a leak), runs the loop
 * until empty, releases the configuration and closes the loop. 0, or -1 when uv_loop_close
 * fails (then the process should exit non-zero). */
int vr_app_cleanup(struct vr_app *app);

#endif
