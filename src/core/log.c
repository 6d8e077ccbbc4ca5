#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "core/common.h"

#define LOG_LINE_MAX (16 * 1024)

static struct {
    enum vr_log_level level;
    enum vr_log_format format;
    vr_log_sink_cb sink;
    void *sink_arg;
    char trace[256]; /* ",watch,curl," or ",all," */
} g_log = {.level = VR_LOG_INFO, .format = VR_LOG_FORMAT_TEXT};

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

void vr_log_set_level(enum vr_log_level level)
{
    g_log.level = level;
}

enum vr_log_level vr_log_get_level(void)
{
    return g_log.level;
}

void vr_log_set_format(enum vr_log_format format)
{
    g_log.format = format;
}

void vr_log_init_from_env(void)
{
    const char *t = getenv("VR_TRACE");
    g_log.trace[0] = '\0';
    if (t && *t)
        snprintf(g_log.trace, sizeof(g_log.trace), ",%s,", t);
}

void vr_log_set_sink(vr_log_sink_cb cb, void *arg)
{
    g_log.sink = cb;
    g_log.sink_arg = arg;
}

int vr_log_parse_level(const char *s, enum vr_log_level *out)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum vr_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = VR_LOG_WARN;
        return 0;
    }
    return VR_EINVAL;
}

const char *vr_log_level_name(enum vr_log_level level)
{
    return (unsigned)level < VR_ARRAY_SIZE(level_names) ? level_names[level] : "?";
}

static bool trace_on(const char *subsys)
{
    if (!g_log.trace[0])
        return false;
    if (strstr(g_log.trace, ",all,"))
        return true;
    char key[64];
    snprintf(key, sizeof(key), ",%s,", subsys ? subsys : "");
    return strstr(g_log.trace, key) != NULL;
}

bool vr_log_enabled(enum vr_log_level level, const char *subsys)
{
    if (level == VR_LOG_OFF)
        return false;
    if (level == VR_LOG_TRACE)
        return g_log.level == VR_LOG_TRACE || trace_on(subsys);
    return level >= g_log.level;
}

void vr_log_ctx_set(struct vr_log_ctx *ctx, const char *k, const char *v)
{
    for (int i = 0; i < ctx->n; i++) {
        if (strcmp(ctx->kv[i].k, k) == 0) {
            ctx->kv[i].v = v;
            return;
        }
    }
    if (ctx->n < VR_LOG_CTX_MAX)
        ctx->kv[ctx->n++] = (struct vr_log_kv){k, v};
}

/* "2026-01-02T03:04:05.678Z". The seconds part is formatted once per second. */
static void put_ts(struct vr_buf *b)
{
    static time_t last_sec = (time_t)-1;
    static char sec_text[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != last_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(sec_text, sizeof(sec_text), "%Y-%m-%dT%H:%M:%S", &tm);
        last_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z', '\0'};
    (void)vr_buf_append_str(b, sec_text);
    (void)vr_buf_append(b, frac, 5);
}

/* The JSON escape of c, or NULL when c goes out as it is. */
static const char *json_escape(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        (void)snprintf(tmp, 8, "\\u%04x", c);
        return tmp;
    }
}

/* Appends s quoted and escaped, copying runs of plain characters in one go. */
static void put_json_string(struct vr_buf *b, const char *s)
{
    char tmp[8];
    (void)vr_buf_putc(b, '"');
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *esc = json_escape((unsigned char)*p, tmp);
        if (!esc)
            continue;
        (void)vr_buf_append(b, run, (size_t)(p - run));
        (void)vr_buf_append_str(b, esc);
        run = p + 1;
    }
    (void)vr_buf_append_str(b, run);
    (void)vr_buf_putc(b, '"');
}

static bool needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (const char *p = v; *p; p++) {
        if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
            return true;
    }
    return false;
}

static void put_text_value(struct vr_buf *b, const char *v)
{
    if (needs_quotes(v))
        put_json_string(b, v);
    else
        (void)vr_buf_append_str(b, v);
}

static void format_text(struct vr_buf *b, enum vr_log_level level, const char *subsys,
                        const struct vr_log_ctx *ctx, const char *msg)
{
    put_ts(b);
    (void)vr_buf_putc(b, ' ');
    (void)vr_buf_append_str(b, vr_log_level_name(level));
    (void)vr_buf_putc(b, ' ');
    (void)vr_buf_append_str(b, subsys ? subsys : "-");
    (void)vr_buf_putc(b, ' ');
    /* The message is free text; newlines would break one-line-per-event. */
    for (const char *p = msg; *p;) {
        size_t n = strcspn(p, "\r\n");
        (void)vr_buf_append(b, p, n);
        p += n;
        if (*p) {
            (void)vr_buf_putc(b, ' ');
            p++;
        }
    }
    for (int i = 0; ctx && i < ctx->n; i++) {
        (void)vr_buf_putc(b, ' ');
        (void)vr_buf_append_str(b, ctx->kv[i].k);
        (void)vr_buf_putc(b, '=');
        put_text_value(b, ctx->kv[i].v ? ctx->kv[i].v : "");
    }
}

static void format_json(struct vr_buf *b, enum vr_log_level level, const char *subsys,
                        const struct vr_log_ctx *ctx, const char *msg)
{
    (void)vr_buf_append_str(b, "{\"ts\":\"");
    put_ts(b);
    (void)vr_buf_printf(b, "\",\"level\":\"%s\",\"subsys\":", vr_log_level_name(level));
    put_json_string(b, subsys ? subsys : "");
    (void)vr_buf_append_str(b, ",\"msg\":");
    put_json_string(b, msg);
    for (int i = 0; ctx && i < ctx->n; i++) {
        (void)vr_buf_putc(b, ',');
        put_json_string(b, ctx->kv[i].k);
        (void)vr_buf_putc(b, ':');
        put_json_string(b, ctx->kv[i].v ? ctx->kv[i].v : "");
    }
    (void)vr_buf_putc(b, '}');
}

void vr_log_write(enum vr_log_level level, const char *subsys, const struct vr_log_ctx *ctx,
                  const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct vr_buf b;
    vr_buf_init(&b, LOG_LINE_MAX);
    if (g_log.format == VR_LOG_FORMAT_JSON)
        format_json(&b, level, subsys, ctx, msg);
    else
        format_text(&b, level, subsys, ctx, msg);
    if (b.len == 0) /* over the cap: say so rather than print half a line */
        (void)vr_buf_printf(&b, "log line over %d bytes dropped", LOG_LINE_MAX);
    if (g_log.sink) {
        g_log.sink(level, b.p, b.len, g_log.sink_arg);
    } else {
        (void)vr_buf_putc(&b, '\n');
        fwrite(b.p, 1, b.len, stderr);
    }
    vr_buf_cleanup(&b);
}
