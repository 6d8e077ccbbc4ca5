#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "core/common.h"

#define LOG_LINE_MAX (16 * 1024)
#define REPEAT_WINDOW_MS 60000u
#define REPEAT_SLOTS 32

/*
 * One warn/error line seen in the last REPEAT_WINDOW_MS. The slot owns the buffer of the
 * line's first occurrence; the part after the timestamp ("body") is what identical lines
 * are compared against, and the summary is rebuilt from it.
 */
struct repeat {
    bool used;
    enum vr_log_level level;
    uint64_t seq; /* insertion order: the oldest slot has the lowest */
    uint64_t first_ms;
    uint64_t hash;
    unsigned long more; /* identical lines not written since first_ms */
    struct vr_buf line;
    size_t body_off, body_len;
    size_t msg_end; /* offset in line where the summary's suffix goes */
};

static struct {
    enum vr_log_level level;
    enum vr_log_format format;
    vr_log_sink_cb sink;
    void *sink_arg;
    char trace[256]; /* ",watch,curl," or ",all," */
    vr_log_clock_cb clock;
    struct repeat repeats[REPEAT_SLOTS];
    int n_repeats;
    uint64_t next_seq;
    uint64_t repeat_due; /* when the oldest window ends; UINT64_MAX with none */
} g_log = {.level = VR_LOG_INFO, .format = VR_LOG_FORMAT_TEXT, .repeat_due = UINT64_MAX};

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

void vr_log_set_level(enum vr_log_level level)
{
    g_log.level = level;
}

enum vr_log_level vr_log_get_level(void)
{
    return g_log.level;
}

/* A pending summary was formatted for the old format: write it before switching. */
void vr_log_set_format(enum vr_log_format format)
{
    vr_log_flush();
    g_log.format = format;
}

void vr_log_init_from_env(void)
{
    const char *t = getenv("VR_TRACE");
    g_log.trace[0] = '\0';
    if (t && *t)
        snprintf(g_log.trace, sizeof(g_log.trace), ",%s,", t);
}

/* Pending summaries belong to the old destination, which saw the lines they count. */
void vr_log_set_sink(vr_log_sink_cb cb, void *arg)
{
    vr_log_flush();
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

/*
 * A line is a head (the timestamp, and in JSON what precedes it) and a body (everything
 * after the timestamp). Identical lines are those with identical bodies. The format_*_body
 * functions return the offset just past the message text, where a summary's suffix goes.
 */
static void put_head(struct vr_buf *b)
{
    if (g_log.format == VR_LOG_FORMAT_JSON)
        (void)vr_buf_append_str(b, "{\"ts\":\"");
    put_ts(b);
}

static size_t format_text_body(struct vr_buf *b, enum vr_log_level level, const char *subsys,
                               const struct vr_log_ctx *ctx, const char *msg)
{
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
    size_t msg_end = b->len;
    for (int i = 0; ctx && i < ctx->n; i++) {
        (void)vr_buf_putc(b, ' ');
        (void)vr_buf_append_str(b, ctx->kv[i].k);
        (void)vr_buf_putc(b, '=');
        put_text_value(b, ctx->kv[i].v ? ctx->kv[i].v : "");
    }
    return msg_end;
}

static size_t format_json_body(struct vr_buf *b, enum vr_log_level level, const char *subsys,
                               const struct vr_log_ctx *ctx, const char *msg)
{
    (void)vr_buf_printf(b, "\",\"level\":\"%s\",\"subsys\":", vr_log_level_name(level));
    put_json_string(b, subsys ? subsys : "");
    (void)vr_buf_append_str(b, ",\"msg\":");
    put_json_string(b, msg);
    size_t msg_end = b->len - 1; /* inside the closing quote */
    for (int i = 0; ctx && i < ctx->n; i++) {
        (void)vr_buf_putc(b, ',');
        put_json_string(b, ctx->kv[i].k);
        (void)vr_buf_putc(b, ':');
        put_json_string(b, ctx->kv[i].v ? ctx->kv[i].v : "");
    }
    (void)vr_buf_putc(b, '}');
    return msg_end;
}

static size_t format_body(struct vr_buf *b, enum vr_log_level level, const char *subsys,
                          const struct vr_log_ctx *ctx, const char *msg)
{
    if (g_log.format == VR_LOG_FORMAT_JSON)
        return format_json_body(b, level, subsys, ctx, msg);
    return format_text_body(b, level, subsys, ctx, msg);
}

/* Hands a finished line to the sink, or writes it to stderr. */
static void emit(enum vr_log_level level, struct vr_buf *b)
{
    if (g_log.sink) {
        g_log.sink(level, b->p, b->len, g_log.sink_arg);
    } else {
        (void)vr_buf_putc(b, '\n');
        fwrite(b->p, 1, b->len, stderr);
    }
}

/* ---- collapsing repeated warn/error lines (STYLE.md §6) ---- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(void)
{
    return g_log.clock ? g_log.clock() : monotonic_ms();
}

/* FNV-1a: cheap, and a hit is confirmed by comparing the bytes. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211u;
    }
    return h;
}

static struct repeat *oldest_repeat(void)
{
    struct repeat *old = NULL;
    for (size_t i = 0; i < VR_ARRAY_SIZE(g_log.repeats); i++) {
        struct repeat *r = &g_log.repeats[i];
        if (r->used && (!old || r->seq < old->seq))
            old = r;
    }
    return old;
}

static void update_repeat_due(void)
{
    struct repeat *old = oldest_repeat();
    g_log.repeat_due = old ? old->first_ms + REPEAT_WINDOW_MS : UINT64_MAX;
}

/* "<head><body up to the message> (N more like this in the last 60 s)<rest of body>" */
static void write_summary(const struct repeat *r)
{
    struct vr_buf b;
    vr_buf_init(&b, LOG_LINE_MAX + 64);
    put_head(&b);
    const char *body = r->line.p + r->body_off;
    size_t head_len = r->msg_end - r->body_off;
    (void)vr_buf_append(&b, body, head_len);
    (void)vr_buf_printf(&b, " (%lu more like this in the last %u s)", r->more,
                        REPEAT_WINDOW_MS / 1000u);
    (void)vr_buf_append(&b, body + head_len, r->body_len - head_len);
    emit(r->level, &b);
    vr_buf_cleanup(&b);
}

/* Ends r's window: writes its summary if it held lines back, and frees the slot. */
static void retire_repeat(struct repeat *r)
{
    if (r->more > 0)
        write_summary(r);
    vr_buf_cleanup(&r->line);
    r->used = false;
    g_log.n_repeats--;
}

static void expire_repeats(uint64_t now)
{
    while (g_log.n_repeats > 0 && now >= g_log.repeat_due) {
        retire_repeat(oldest_repeat());
        update_repeat_due();
    }
}

static struct repeat *find_repeat(uint64_t hash, const char *body, size_t len)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(g_log.repeats); i++) {
        struct repeat *r = &g_log.repeats[i];
        if (r->used && r->hash == hash && r->body_len == len &&
            memcmp(r->line.p + r->body_off, body, len) == 0)
            return r;
    }
    return NULL;
}

/* A free slot, evicting the oldest entry (and writing its summary) when all are in use. */
static struct repeat *claim_repeat(void)
{
    if (g_log.n_repeats == REPEAT_SLOTS) {
        retire_repeat(oldest_repeat());
        update_repeat_due();
    }
    size_t i = 0;
    while (i < VR_ARRAY_SIZE(g_log.repeats) && g_log.repeats[i].used)
        i++;
    vr_assert(i < VR_ARRAY_SIZE(g_log.repeats));
    return &g_log.repeats[i];
}

/* Takes ownership of the buffer in *b (left empty): the first line of a new window. */
static void remember_take(struct repeat *r, enum vr_log_level level, uint64_t hash, uint64_t now,
                          struct vr_buf *b, size_t body_off, size_t body_len, size_t msg_end)
{
    *r = (struct repeat){.used = true,
                         .level = level,
                         .seq = g_log.next_seq++,
                         .first_ms = now,
                         .hash = hash,
                         .line = *b,
                         .body_off = body_off,
                         .body_len = body_len,
                         .msg_end = msg_end};
    vr_buf_init(b, LOG_LINE_MAX);
    g_log.n_repeats++;
    update_repeat_due();
}

void vr_log_flush(void)
{
    while (g_log.n_repeats > 0)
        retire_repeat(oldest_repeat());
    g_log.repeat_due = UINT64_MAX;
}

void vr_log_set_clock(vr_log_clock_cb now)
{
    vr_log_flush(); /* the windows were measured on the old clock */
    g_log.clock = now;
}

/* What vr_log_write does with a line. */
enum repeat_verdict {
    REPEAT_WRITE, /* not collapsible: write it */
    REPEAT_FIRST, /* first of a new window: write it and remember it */
    REPEAT_HELD,  /* identical to one written in this window: count it, write nothing */
};

/* Warn and error lines that formatted whole (a line over the cap is not) are collapsed. */
static bool is_collapsible(enum vr_log_level level, const struct vr_buf *b, size_t body_off,
                           size_t msg_end)
{
    if (level != VR_LOG_WARN && level != VR_LOG_ERROR)
        return false;
    return b->len > body_off && body_off <= msg_end && msg_end <= b->len;
}

static enum repeat_verdict judge_line(const struct vr_buf *b, size_t body_off, uint64_t *hash)
{
    *hash = hash_bytes(b->p + body_off, b->len - body_off);
    struct repeat *r = find_repeat(*hash, b->p + body_off, b->len - body_off);
    if (!r)
        return REPEAT_FIRST;
    r->more++;
    return REPEAT_HELD;
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
    put_head(&b);
    size_t body_off = b.len;
    size_t msg_end = format_body(&b, level, subsys, ctx, msg);
    bool collapsible = is_collapsible(level, &b, body_off, msg_end);
    if (b.len == 0) /* over the cap: say so rather than print half a line */
        (void)vr_buf_printf(&b, "log line over %d bytes dropped", LOG_LINE_MAX);

    enum repeat_verdict verdict = REPEAT_WRITE;
    uint64_t now = 0, hash = 0;
    if (collapsible || g_log.n_repeats > 0) {
        now = now_ms();
        expire_repeats(now);
    }
    if (collapsible)
        verdict = judge_line(&b, body_off, &hash);
    switch (verdict) {
    case REPEAT_WRITE:
        emit(level, &b);
        break;
    case REPEAT_FIRST: {
        struct repeat *slot = claim_repeat(); /* an evicted summary goes out first */
        size_t body_len = b.len - body_off;
        emit(level, &b);
        remember_take(slot, level, hash, now, &b, body_off, body_len, msg_end);
        break;
    }
    case REPEAT_HELD:
        break;
    }
    vr_buf_cleanup(&b);
}
