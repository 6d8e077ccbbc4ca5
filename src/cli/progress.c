/* Download progress bar. See cli/progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define REDRAW_MS 200

bool vr_progress_wanted(int fd)
{
    return isatty(fd) == 1;
}

void vr_progress_start(struct vr_progress *p, bool on, int fd, uint64_t now_ms)
{
    memset(p, 0, sizeof(*p));
    p->on = on;
    p->fd = fd;
    p->start_ms = now_ms;
}

void vr_progress_set_total(struct vr_progress *p, uint64_t total)
{
    p->total = total;
}

static size_t fmt_bytes(char *out, size_t len, uint64_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    int w = u == 0 ? snprintf(out, len, "%llu B", (unsigned long long)n)
                   : snprintf(out, len, "%.1f %s", v, units[u]);
    return w < 0 ? 0 : ((size_t)w < len ? (size_t)w : len - 1);
}

size_t vr_progress_format(char *out, size_t outlen, uint64_t done, uint64_t total,
                          uint64_t elapsed_ms)
{
    char d[32], t[32], r[32];
    uint64_t rate = elapsed_ms ? done * 1000 / elapsed_ms : 0;
    fmt_bytes(d, sizeof(d), done);
    fmt_bytes(r, sizeof(r), rate);
    int w;
    if (total > 0 && done <= total) {
        fmt_bytes(t, sizeof(t), total);
        unsigned pct = (unsigned)(done * 100 / total);
        if (rate > 0) {
            uint64_t eta = (total - done + rate - 1) / rate;
            w = snprintf(out, outlen, "%s / %s  %3u%%  %s/s  ETA %llu:%02llu", d, t, pct, r,
                         (unsigned long long)(eta / 60), (unsigned long long)(eta % 60));
        } else {
            w = snprintf(out, outlen, "%s / %s  %3u%%  %s/s  ETA --:--", d, t, pct, r);
        }
    } else {
        w = snprintf(out, outlen, "%s  %s/s", d, r);
    }
    if (w < 0 || outlen == 0)
        return 0;
    return (size_t)w < outlen ? (size_t)w : outlen - 1;
}

static void draw(struct vr_progress *p, uint64_t now_ms)
{
    char line[160];
    line[0] = '\r';
    size_t n = 1 + vr_progress_format(line + 1, sizeof(line) - 8, p->done, p->total,
                                      now_ms - p->start_ms);
    memcpy(line + n, "\033[K", 3); /* erase the rest of a longer earlier line */
    n += 3;
    (void)vr_cli_write_all(p->fd, vr_str_make(line, n));
    p->drawn = true;
    p->last_ms = now_ms;
}

void vr_progress_add(struct vr_progress *p, uint64_t n, uint64_t now_ms)
{
    p->done += n;
    if (p->on && (!p->drawn || now_ms - p->last_ms >= REDRAW_MS))
        draw(p, now_ms);
}

void vr_progress_finish(struct vr_progress *p, bool ok, uint64_t now_ms)
{
    if (!p->on)
        return;
    if (ok) {
        draw(p, now_ms);
        (void)vr_cli_write_all(p->fd, VR_STR_LIT("\n"));
    } else if (p->drawn) {
        (void)vr_cli_write_all(p->fd, VR_STR_LIT("\r\033[K"));
    }
    p->on = false;
}
