/*
 * A download progress bar on stderr: bytes so far, total when known, rate and ETA, redrawn
 * at most every 200 ms on one line ("\r... \033[K"). The caller decides whether to show it
 * at all (only when stderr is a terminal; see vr_progress_wanted).
 */
#ifndef VR_CLI_PROGRESS_H
#define VR_CLI_PROGRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vr_progress {
    bool on;          /* drawing enabled */
    bool drawn;       /* something is on the line (finish must end it) */
    int fd;           /* where to draw (2) */
    uint64_t total;   /* expected bytes, 0 = unknown */
    uint64_t done;    /* bytes so far */
    uint64_t start_ms;
    uint64_t last_ms; /* last redraw */
};

/* True when fd is a terminal (progress is shown only then). */
bool vr_progress_wanted(int fd);
/* Starts a bar on fd at now_ms (on = false makes every call a no-op). */
void vr_progress_start(struct vr_progress *p, bool on, int fd, uint64_t now_ms);
/* Sets the expected total (Content-Length), 0 = unknown. */
void vr_progress_set_total(struct vr_progress *p, uint64_t total);
/* Adds n bytes at now_ms; redraws when 200 ms passed since the last redraw. */
void vr_progress_add(struct vr_progress *p, uint64_t n, uint64_t now_ms);
/* Draws the final state and ends the line (ok: keep it; !ok: erase it). */
void vr_progress_finish(struct vr_progress *p, bool ok, uint64_t now_ms);
/* Formats one bar line (no "\r", no newline) into out (cap outlen, NUL-terminated):
 * "12.3 MiB / 40.0 MiB  30%  4.1 MiB/s  ETA 0:07", or without total
 * "12.3 MiB  4.1 MiB/s". Pure. Returns the length written. */
size_t vr_progress_format(char *out, size_t outlen, uint64_t done, uint64_t total,
                          uint64_t elapsed_ms);

#endif
