#include <time.h>

#include "core/common.h"
#include "loop/clock.h"

static uint64_t system_now_ms(struct vr_clock *c)
{
    return uv_now(c->loop);
}

static int64_t system_now_s(struct vr_clock *c)
{
    VR_UNUSED(c);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t system_now_us(struct vr_clock *c)
{
    VR_UNUSED(c);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void vr_clock_init_system(struct vr_clock *c, uv_loop_t *loop)
{
    c->now_ms = system_now_ms;
    c->now_s = system_now_s;
    c->now_us = system_now_us;
    c->loop = loop;
}

static uint64_t fake_now_ms(struct vr_clock *c)
{
    return container_of(c, struct vr_fake_clock, clock)->ms;
}

static int64_t fake_now_s(struct vr_clock *c)
{
    return container_of(c, struct vr_fake_clock, clock)->s;
}

void vr_fake_clock_init(struct vr_fake_clock *fc, uint64_t ms, int64_t s)
{
    fc->clock.now_ms = fake_now_ms;
    fc->clock.now_s = fake_now_s;
    fc->clock.now_us = NULL;
    fc->clock.loop = NULL;
    fc->ms = ms;
    fc->s = s;
}

void vr_fake_clock_advance(struct vr_fake_clock *fc, uint64_t ms)
{
    uint64_t before = fc->ms / 1000;
    fc->ms += ms;
    fc->s += (int64_t)(fc->ms / 1000 - before);
}

int64_t vr_clock_now_us(struct vr_clock *c)
{
    if (c->now_us)
        return c->now_us(c);
    return c->now_s(c) * 1000000;
}
