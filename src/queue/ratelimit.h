/*
 * The work queue's rate limiter: client-go's DefaultControllerRateLimiter
 * (util/workqueue/default_rate_limiters.go), the larger of
 *
 *   - per-key exponential backoff: base_ms * 2^failures, capped at max_ms (5 ms and 1000 s by
 *     default). The failure counter lives in the caller's per-key record; When increments it
 *     and Forget is the caller setting it back to 0;
 *   - one token bucket shared by all keys: qps tokens per second, at most burst banked (10 and
 *     100 by default), with golang.org/x/time/rate's reserve semantics: every When takes a
 *     token even when none is left, and answers how long to wait until that token exists. So
 *     after a full burst, successive calls at one instant answer 100, 200, 300 ... ms at
 *     10 qps.
 *
 * Pure (STYLE.md §1): no clock, no logging; the time is passed in (monotonic ms). The bucket
 * is kept in integer fixed point (1 token = 1000 units, refilled at qps units per ms), so the
 * answers are exact and repeatable.
 */
#ifndef VR_QUEUE_RATELIMIT_H
#define VR_QUEUE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define VR_RL_BASE_MS_DEFAULT 5u
#define VR_RL_MAX_MS_DEFAULT 1000000u
#define VR_RL_QPS_DEFAULT 10u
#define VR_RL_BURST_DEFAULT 100u

struct vr_rl_opts {
    uint64_t base_ms; /* first backoff; 0 turns the per-key backoff off */
    uint64_t max_ms;  /* backoff cap; must be >= base_ms */
    uint32_t qps;     /* whole tokens per second; 0 turns the bucket off (controller-runtime
                         >= 0.23 behaviour: backoff only) */
    uint32_t burst;   /* bucket size; must be >= 1 when qps > 0 */
};

struct vr_rl {
    struct vr_rl_opts opts;
    int64_t units;    /* tokens * 1000; negative while reservations are outstanding */
    uint64_t last_ms; /* time units was last brought up to date */
};

/* Fills opts with the defaults above. */
void vr_rl_opts_default(struct vr_rl_opts *opts);

/* Initialises rl from opts (copied) with a full bucket at now_ms. 0, or VR_EINVAL when
 * max_ms < base_ms or qps > 0 with burst == 0 (rl is then untouched). */
int vr_rl_init(struct vr_rl *rl, const struct vr_rl_opts *opts, uint64_t now_ms);

/* The per-key backoff for a key that has failed `failures` times before:
 * min(base_ms * 2^failures, max_ms), without overflow for any failures. Reads nothing else. */
uint64_t vr_rl_backoff_ms(const struct vr_rl *rl, uint32_t failures);

/* Takes one token from the bucket at now_ms and returns how long (ms, rounded up) to wait
 * until it is really available: 0 while tokens are banked. Always 0 with qps == 0. A now_ms
 * earlier than a previous call's is treated as that earlier call's time. */
uint64_t vr_rl_reserve(struct vr_rl *rl, uint64_t now_ms);

/* client-go's When(key): max(vr_rl_backoff_ms(rl, *failures), vr_rl_reserve(rl, now_ms)),
 * then increments *failures (saturating). Both halves always run, as in MaxOfRateLimiter. */
uint64_t vr_rl_when(struct vr_rl *rl, uint32_t *failures, uint64_t now_ms);

#endif
