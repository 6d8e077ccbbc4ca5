/*
 * Internal to src/kube: the bearer-token source of a kube client (kube-api.md §6.2).
 *
 * A static token and/or a token file. The file is read asynchronously (uv_fs_*, never a
 * blocking read on the loop), cached, and read again when the cached copy is older than
 * VR__KTOKEN_MAX_AGE_MS (client-go's cached file token source: one minute minus a 10 s
 * leeway) or after vr__ktoken_invalidate (a 401). The file's token, once read, wins over
 * the static one, which remains the fallback while the file cannot be read (client-go's
 * bearer round tripper). Tokens are wiped with OPENSSL_cleanse when replaced or released.
 */
#ifndef VR_KUBE_TOKEN_H
#define VR_KUBE_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "loop/clock.h"
#include "vreq/buf.h"

#define VR__KTOKEN_MAX_AGE_MS 50000
#define VR__KTOKEN_FILE_MAX ((size_t)64 * 1024)

/* Runs once per vr__ktoken_read_start, from the loop: status 0 (a token was read), or a
 * libuv error / VR_ETOOBIG / VR_EPARSE (empty file); the previous token stays in use. */
typedef void (*vr__ktoken_done_cb)(int status, void *arg);

struct vr__ktoken {
    uv_loop_t *loop;
    struct vr_clock *clock;
    char *static_token; /* secret, may be NULL */
    char *file;         /* NULL: no file */
    char *file_token;   /* secret: the last good read, NULL before */
    uint64_t read_at_ms;
    bool have_read; /* a read has finished (well or not) */
    bool stale;     /* invalidated: read again before the next use */
    bool reading;
    uv_fs_t fs;
    uv_file fd;
    struct vr_buf buf; /* the file being read (secret) */
    char chunk[4096];
    vr__ktoken_done_cb done;
    void *arg;
};

/* Copies static_token and file (both may be NULL). done(status, arg) ends every read. */
void vr__ktoken_init(struct vr__ktoken *t, uv_loop_t *loop, struct vr_clock *clock,
                     const char *static_token, const char *file, vr__ktoken_done_cb done,
                     void *arg);

/* Wipes and frees everything; no read may be in flight. */
void vr__ktoken_cleanup(struct vr__ktoken *t);

/* Whether the file must be (re-)read before the next request. */
bool vr__ktoken_needs_read(const struct vr__ktoken *t);

/* Whether a token file is configured (so a 401 is worth a re-read). */
bool vr__ktoken_has_file(const struct vr__ktoken *t);

/* Whether a read is in flight. */
bool vr__ktoken_is_reading(const struct vr__ktoken *t);

/* Starts reading the file. 0: done runs later, from the loop, never inside this call (also
 * when a read was already in flight: that one's done serves). A libuv error: the read
 * could not start (done does not run; the current token stays in use until the next
 * maximum age). */
int vr__ktoken_read_start(struct vr__ktoken *t);

/* Drops the cache: the next request re-reads the file first. */
void vr__ktoken_invalidate(struct vr__ktoken *t);

/* The token to send (borrowed, valid until the next read completes), or NULL. */
const char *vr__ktoken_get(const struct vr__ktoken *t);

#endif
