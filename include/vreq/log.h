/*
 * Logging: one line per event on stderr (or a sink set by tests).
 *
 * Text form:  2026-01-02T03:04:05.678Z info subsys message key=value key="v w" ...
 * JSON form:  {"ts":"...","level":"info","subsys":"...","msg":"...","key":"value",...}
 *
 * VR_LOG/VR_LOGC check the level before any argument is evaluated. Trace output is
 * further gated per subsystem by VR_TRACE=watch,curl,httpd (or "all").
 * Context is explicit: an actor owns a struct vr_log_ctx whose key/value pointers are
 * borrowed and must outlive every log call that uses it.
 * Never log secrets: run URLs through vr_redact_url() first.
 *
 * Repeated warn and error lines are collapsed (STYLE.md §6). A line is identical to another
 * when everything but its timestamp is (level, subsys, message, context). The first one is
 * written; identical ones in the 60 s after it are only counted. When that window ends, one
 * line at the same level, subsys and context says "<message> (N more like this in the last
 * 60 s)" (in JSON the suffix is part of "msg"; no other key changes), and the next identical
 * line starts a new window. The log has no timer: an ended window is noticed by the next
 * vr_log_write of any line, or by vr_log_flush(). At most 32 lines are tracked; a new one
 * evicts the oldest, writing its summary first. Info, debug and trace lines are never
 * collapsed.
 */
#ifndef VREQ_LOG_H
#define VREQ_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "vreq/mem.h"

enum vr_log_level {
    VR_LOG_TRACE,
    VR_LOG_DEBUG,
    VR_LOG_INFO,
    VR_LOG_WARN,
    VR_LOG_ERROR,
    VR_LOG_OFF,
};

enum vr_log_format {
    VR_LOG_FORMAT_TEXT,
    VR_LOG_FORMAT_JSON,
};

#define VR_LOG_CTX_MAX 8

struct vr_log_kv {
    const char *k;
    const char *v;
};

struct vr_log_ctx {
    const char *subsys;
    int n;
    struct vr_log_kv kv[VR_LOG_CTX_MAX];
};

#define VR_LOG_CTX_INIT(subsys_)                                                                   \
    {                                                                                              \
        .subsys = (subsys_), .n = 0                                                                \
    }

/* Receives each finished line (without the trailing newline). */
typedef void (*vr_log_sink_cb)(enum vr_log_level level, const char *line, size_t len, void *arg);

void vr_log_set_level(enum vr_log_level level);
enum vr_log_level vr_log_get_level(void);
void vr_log_set_format(enum vr_log_format format);
/* Re-reads VR_TRACE from the environment. */
void vr_log_init_from_env(void);
/* NULL restores stderr. Pending summaries are written to the old sink first (they count
 * lines it saw), and so are they before vr_log_set_format() changes the format. */
void vr_log_set_sink(vr_log_sink_cb cb, void *arg);

/* Ends every collapse window now: writes the summary of each line that had repeats held
 * back and forgets all lines. Call it before exit. */
void vr_log_flush(void);

/* For tests only: the monotonic clock, in ms, that collapse windows are measured on; NULL
 * restores CLOCK_MONOTONIC. Flushes first, since windows do not carry over clocks. */
typedef uint64_t (*vr_log_clock_cb)(void);
void vr_log_set_clock(vr_log_clock_cb now_ms);

/* "trace", "debug", "info", "warn"/"warning", "error", "off". 0 or VR_EINVAL. */
int vr_log_parse_level(const char *s, enum vr_log_level *out);
const char *vr_log_level_name(enum vr_log_level level);

bool vr_log_enabled(enum vr_log_level level, const char *subsys);

/* Sets key k (borrowed) to v (borrowed); replaces an existing k. Extra keys past
 * VR_LOG_CTX_MAX are dropped. */
void vr_log_ctx_set(struct vr_log_ctx *ctx, const char *k, const char *v);

void vr_log_write(enum vr_log_level level, const char *subsys, const struct vr_log_ctx *ctx,
                  const char *fmt, ...) VR_PRINTF(4, 5);

#define VR_LOG(level, subsys, ...)                                                                 \
    do {                                                                                           \
        if (vr_log_enabled((level), (subsys)))                                                     \
            vr_log_write((level), (subsys), NULL, __VA_ARGS__);                                    \
    } while (0)

#define VR_LOGC(ctx, level, ...)                                                                   \
    do {                                                                                           \
        if (vr_log_enabled((level), (ctx)->subsys))                                                \
            vr_log_write((level), (ctx)->subsys, (ctx), __VA_ARGS__);                              \
    } while (0)

#endif
