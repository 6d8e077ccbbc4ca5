/*
 * The two kinds of time (STYLE.md §1). Loop modules read time only through a struct
 * vr_clock, so tests can install a fake one and drive run_due(now) functions directly.
 *
 *   now_ms: monotonic milliseconds (from uv_now) for timers, backoff and rate limits;
 *   now_s:  wall-clock Unix seconds for expirations, SigV4 dates and Lease times.
 */
#ifndef VR_LOOP_CLOCK_H
#define VR_LOOP_CLOCK_H

#include <stdint.h>

#include <uv.h>

struct vr_clock {
    uint64_t (*now_ms)(struct vr_clock *c);
    int64_t (*now_s)(struct vr_clock *c);
    /* Wall-clock microseconds, for Lease MicroTime; derived from now_s when NULL. */
    int64_t (*now_us)(struct vr_clock *c);
    uv_loop_t *loop; /* the system clock reads uv_now(loop) */
};

/* The real clock on loop: now_ms = uv_now(loop), now_s/now_us from CLOCK_REALTIME. */
void vr_clock_init_system(struct vr_clock *c, uv_loop_t *loop);

/* A clock tests set by hand. */
struct vr_fake_clock {
    struct vr_clock clock;
    uint64_t ms;
    int64_t s;
};

void vr_fake_clock_init(struct vr_fake_clock *fc, uint64_t ms, int64_t s);
/* Advances both readings by ms (now_s by whole seconds as ms accumulates). */
void vr_fake_clock_advance(struct vr_fake_clock *fc, uint64_t ms);

static inline uint64_t vr_clock_now_ms(struct vr_clock *c)
{
    return c->now_ms(c);
}

static inline int64_t vr_clock_now_s(struct vr_clock *c)
{
    return c->now_s(c);
}

int64_t vr_clock_now_us(struct vr_clock *c);

/* Wall-clock Unix milliseconds: for waits that end at a wall-clock instant (an
 * expiration), so the delay is not rounded to whole seconds. */
static inline int64_t vr_clock_wall_ms(struct vr_clock *c)
{
    return vr_clock_now_us(c) / 1000;
}

#endif
