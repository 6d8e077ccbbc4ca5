#include "queue/ratelimit.h"

#include "vreq/err.h"

/* Fixed-point scale: units per token. A refill of qps tokens per second is qps units per ms. */
#define UNITS_PER_TOKEN 1000

void vr_rl_opts_default(struct vr_rl_opts *opts)
{
    opts->base_ms = VR_RL_BASE_MS_DEFAULT;
    opts->max_ms = VR_RL_MAX_MS_DEFAULT;
    opts->qps = VR_RL_QPS_DEFAULT;
    opts->burst = VR_RL_BURST_DEFAULT;
}

int vr_rl_init(struct vr_rl *rl, const struct vr_rl_opts *opts, uint64_t now_ms)
{
    if (opts->max_ms < opts->base_ms || (opts->qps > 0 && opts->burst == 0))
        return VR_EINVAL;
    rl->opts = *opts;
    rl->units = (int64_t)opts->burst * UNITS_PER_TOKEN;
    rl->last_ms = now_ms;
    return 0;
}

uint64_t vr_rl_backoff_ms(const struct vr_rl *rl, uint32_t failures)
{
    uint64_t base = rl->opts.base_ms;
    if (base == 0)
        return 0;
    if (failures >= 64 || base > (rl->opts.max_ms >> failures))
        return rl->opts.max_ms;
    return base << failures;
}

/* Brings the bucket up to now_ms: refills at qps units per ms, never above burst. */
static void refill(struct vr_rl *rl, uint64_t now_ms)
{
    if (now_ms <= rl->last_ms)
        return;
    int64_t full = (int64_t)rl->opts.burst * UNITS_PER_TOKEN;
    uint64_t elapsed = now_ms - rl->last_ms;
    uint64_t missing = (uint64_t)(full - rl->units);
    rl->last_ms = now_ms;
    /* Compare in time rather than multiplying, so a long idle gap cannot overflow. */
    if (elapsed >= (missing + rl->opts.qps - 1) / rl->opts.qps)
        rl->units = full;
    else
        rl->units += (int64_t)(elapsed * rl->opts.qps);
}

uint64_t vr_rl_reserve(struct vr_rl *rl, uint64_t now_ms)
{
    if (rl->opts.qps == 0)
        return 0;
    refill(rl, now_ms);
    rl->units -= UNITS_PER_TOKEN;
    if (rl->units >= 0)
        return 0;
    uint64_t deficit = (uint64_t)(-rl->units);
    return (deficit + rl->opts.qps - 1) / rl->opts.qps;
}

uint64_t vr_rl_when(struct vr_rl *rl, uint32_t *failures, uint64_t now_ms)
{
    uint64_t backoff = vr_rl_backoff_ms(rl, *failures);
    uint64_t wait = vr_rl_reserve(rl, now_ms);
    if (*failures < UINT32_MAX)
        (*failures)++;
    return backoff > wait ? backoff : wait;
}
