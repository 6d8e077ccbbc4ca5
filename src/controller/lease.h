/*
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm
 * (kube-api.md §7; tools/leaderelection/leaderelection.go tryAcquireOrRenew).
 *
 * Two halves. The decision (vr_lease_observe, vr_lease_decide) is pure: it gets the record
 * read from the server, when this process last saw it change (LOCAL monotonic time), the
 * identity and now, and answers create / acquire / renew / wait / lost. A lease is judged
 * expired only when its record has not changed for leaseDurationSeconds on the local clock,
 * never by comparing the server's renewTime with the local wall clock (skew-safe: a
 * newcomer always waits a full lease duration).
 *
 * The driver (struct vr_lease) runs attempts on the loop through the kube client:
 *
 *   STOPPED    not started, vr_lease_stop, or released; no timer, no call
 *   STANDBY    an attempt every retry period x [1, 1 + jitter) (2 to 4.4 s by default)
 *   LEADING    a renewal every retry period (a PUT of the cached Lease with its
 *              resourceVersion; on failure a GET and the full decision); a renewal that
 *              has not succeeded for renew_deadline loses leadership (back to STANDBY)
 *   RELEASING  vr_lease_release: PUT holderIdentity "", leaseDurationSeconds 1, retried
 *              after a 409 within renew_deadline, then STOPPED
 *
 * Every change goes through one set_state (logged at trace, subsystem "lease"). Leaving
 * LEADING (lost, released, stopped) calls on_stopped_leading first, so the controllers
 * stop writing before anyone else can lead. Followers write nothing but their acquisition
 * attempts (POST when the Lease is missing, PUT when the holder's lease expired or was
 * released).
 *
 * Times in the Lease are MicroTime: RFC 3339 UTC with exactly 6 fractional digits.
 */
#ifndef VR_CONTROLLER_LEASE_H
#define VR_CONTROLLER_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "kube/client.h"
#include "loop/clock.h"

#define VR_LEASE_IDENTITY_MAX 256

/* spec of a Lease (the leader election record). Times are Unix microseconds, 0 = absent. */
struct vr_lease_record {
    char holder[VR_LEASE_IDENTITY_MAX]; /* "" = nobody (released) */
    int64_t duration_s;                 /* leaseDurationSeconds */
    int64_t acquire_us;
    int64_t renew_us;
    int64_t transitions;                /* leaseTransitions */
};

/* What the elector remembers: the last record seen and when it last CHANGED. */
struct vr_lease_obs {
    bool have;
    struct vr_lease_record rec;
    uint64_t observed_ms; /* local monotonic time of the last change */
};

enum vr_lease_action {
    VR_LEASE_CREATE,  /* no Lease: POST one naming us (transitions 0) */
    VR_LEASE_ACQUIRE, /* free, released or expired: PUT us as holder, transitions + 1 */
    VR_LEASE_RENEW,   /* ours: PUT a new renewTime, acquireTime and transitions kept */
    VR_LEASE_WAIT,    /* someone else holds a lease still valid on our clock */
    VR_LEASE_LOST,    /* we lead, but the record names another holder still valid */
};

/* "create", "acquire", "renew", "wait", "lost". */
const char *vr_lease_action_name(enum vr_lease_action a);

struct vr_lease_plan {
    enum vr_lease_action action;
    struct vr_lease_record rec; /* CREATE/ACQUIRE/RENEW: the spec to write */
    uint64_t expires_ms;        /* WAIT/LOST: local time the observed lease runs out */
};

/* Records rec (read at now_ms) in obs: when it differs from the last record seen (any of
 * holder, duration, acquire, renew, transitions), observed_ms becomes now_ms. Pure. */
void vr_lease_observe(struct vr_lease_obs *obs, const struct vr_lease_record *rec,
                      uint64_t now_ms);

/* One tryAcquireOrRenew decision, after the GET (and vr_lease_observe). found false means
 * the GET answered 404. leading is the caller's state; now_us is wall time for the new
 * record's times; duration_s our leaseDurationSeconds. Pure; fills *plan. */
void vr_lease_decide(const struct vr_lease_obs *obs, bool found, const char *identity,
                     bool leading, uint64_t now_ms, int64_t now_us, int64_t duration_s,
                     struct vr_lease_plan *plan);

/* The record a release writes: holder "", duration 1 s, acquire = renew = now,
 * transitions kept. Pure. */
void vr_lease_release_record(const struct vr_lease_record *cur, int64_t now_us,
                             struct vr_lease_record *out);

/* MicroTime: formats us as "2026-01-02T03:04:05.123456Z" (out needs 28 bytes), and parses
 * RFC 3339 ("Z" or a +hh:mm offset, no fraction or one of 1 or more digits, truncated to
 * microseconds): vr_time_format_rfc3339_us and vr_time_parse_rfc3339 without flags
 * (core/timefmt.h). Parse: 0 with *out written, or VR_EPARSE (also for s NULL). */
void vr_lease_format_time(int64_t us, char *out, size_t cap);
int vr_lease_parse_time(const char *s, int64_t *out);

/* Reads spec from a Lease object (absent fields are zero / ""). 0 or VR_EPARSE (not an
 * object, a field of the wrong type, a bad time, a holder over VR_LEASE_IDENTITY_MAX). */
int vr_lease_record_from_json(const cJSON *lease, struct vr_lease_record *out);

/* Replaces lease's spec fields with rec (times as MicroTime, holderIdentity always
 * written). */
void vr_lease_record_to_json(const struct vr_lease_record *rec, cJSON *lease);

/* hostname + "_" + a random UUID (controller-runtime's identity). 0 or a libuv error. */
int vr_lease_identity(char *out, size_t cap);

/* ---- the driver ---- */

enum vr_lease_state {
    VR_LEASE_STOPPED,
    VR_LEASE_STANDBY,
    VR_LEASE_LEADING,
    VR_LEASE_RELEASING,
};

/* "stopped", "standby", "leading", "releasing". */
const char *vr_lease_state_name(enum vr_lease_state s);

struct vr_lease_opts {
    const char *ns;           /* Lease namespace (NULL: the client's); copied */
    const char *name;         /* Lease name, required; copied */
    const char *identity;     /* NULL: vr_lease_identity(); copied */
    uint64_t lease_ms;        /* 15000; written as whole seconds (at least 1) */
    uint64_t renew_deadline_ms; /* 10000 */
    uint64_t retry_ms;        /* 2000 */
    double jitter;            /* 1.2: standby attempts wait retry x [1, 1 + jitter) */
    uint64_t seed;            /* jitter PRNG seed; 0 = from uv_hrtime */
    /* Callbacks (may be NULL), from the loop: on_started when STANDBY -> LEADING;
     * on_stopped when leaving LEADING for any reason. */
    void (*on_started_leading)(void *arg);
    void (*on_stopped_leading)(void *arg);
    void *arg;
};

/* Fills o with the defaults above (name NULL). */
void vr_lease_opts_default(struct vr_lease_opts *o);

struct vr_lease;

/* Creates a STOPPED elector with one uv_timer_t on loop. kc and clock are borrowed and must
 * outlive it. 0 with *out written, or VR_EINVAL (no name; lease <= renew deadline <=
 * jitter-stretched retry, client-go's invariant; lease under 1 s). */
int vr_lease_new(uv_loop_t *loop, struct vr_clock *clock, struct vr_kube_client *kc,
                 const struct vr_lease_opts *opts, struct vr_lease **out);

/* STOPPED -> STANDBY, first attempt at once (on the next loop turn). No-op otherwise. */
void vr_lease_start(struct vr_lease *l);

/* Stops without releasing (the lease then expires on the others' clocks): cancels the
 * call in flight, leaves LEADING (on_stopped_leading) and goes STOPPED. Safe to call
 * twice. A pending release completes with VR_ECANCELED. */
void vr_lease_stop(struct vr_lease *l);

typedef void (*vr_lease_released_cb)(int status, void *arg);

/* Gives the lease up: when LEADING, on_stopped_leading runs, then RELEASING writes the
 * release record (retrying after a conflict within renew_deadline) and goes STOPPED; cb
 * runs once with 0, the write's error, or VR_ETIMEDOUT. When not leading: STOPPED, and cb
 * runs with 0. cb never runs inside this call. One release at a time (VR_EINVAL through
 * cb otherwise). */
void vr_lease_release(struct vr_lease *l, vr_lease_released_cb cb, void *arg);

/* Stops (as vr_lease_stop) and frees the elector once its call and timer are gone;
 * cb(arg) (may be NULL) runs then, never inside this call. Call once. */
void vr_lease_close(struct vr_lease *l, void (*cb)(void *arg), void *arg);

/* The timer's work, for tests on a fake clock: starts a due attempt, or ends a leadership
 * whose renewals have failed for renew_deadline. */
void vr_lease_run_due(struct vr_lease *l, uint64_t now_ms);

enum vr_lease_state vr_lease_get_state(const struct vr_lease *l);
bool vr_lease_is_held(const struct vr_lease *l);
/* The identity in use (borrowed). */
const char *vr_lease_identity_of(const struct vr_lease *l);
/* The last observed record (borrowed; .have false before the first read). */
const struct vr_lease_obs *vr_lease_observed(const struct vr_lease *l);

/* client-go's HealthzAdaptor: false while leading when the lease was last renewed more
 * than lease_ms + tolerance_ms ago (a stuck elector); true otherwise. */
bool vr_lease_is_healthy(const struct vr_lease *l, uint64_t now_ms, uint64_t tolerance_ms);

#endif
