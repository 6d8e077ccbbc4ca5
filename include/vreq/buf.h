/*
 * Capped growable byte buffers (after curl's dynbuf). Input-sized data always goes
 * into one: an append past the cap frees the contents and returns VR_ETOOBIG, so a
 * hostile peer meets the cap instead of exhausting memory.
 *
 * The contents are always NUL-terminated (the NUL is not counted in len and does not
 * count against the cap), so a buffer can be handed to APIs that want a C string.
 */
#ifndef VREQ_BUF_H
#define VREQ_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "vreq/mem.h"
#include "vreq/str.h"

struct vr_buf {
    char *p;      /* NULL until the first append */
    size_t len;   /* bytes in use */
    size_t alloc; /* bytes allocated */
    size_t max;   /* cap on len */
};

/* Initialises caller-owned storage; allocates nothing. max must be > 0. */
void vr_buf_init(struct vr_buf *b, size_t max);
/* Frees the contents; the buffer stays usable (empty) with the same cap. */
void vr_buf_cleanup(struct vr_buf *b);
/* Like cleanup, but wipes the bytes first (tokens, keys). */
void vr_buf_cleanup_secret(struct vr_buf *b);
/* Empties without freeing. */
void vr_buf_reset(struct vr_buf *b);

/* Append n bytes. 0, or VR_ETOOBIG (contents freed, buffer empty). */
int vr_buf_append(struct vr_buf *b, const void *p, size_t n);
int vr_buf_append_str(struct vr_buf *b, const char *s);
int vr_buf_putc(struct vr_buf *b, char c);
/* printf-append. 0, VR_ETOOBIG or VR_EINVAL (bad format). */
int vr_buf_printf(struct vr_buf *b, const char *fmt, ...) VR_PRINTF(2, 3);
int vr_buf_vprintf(struct vr_buf *b, const char *fmt, va_list ap) VR_PRINTF(2, 0);

/* Appends the whole file at path, read synchronously: for start-up, the CLI and /proc
 * files, never for a file that may be slow to read while the loop serves. 0, VR_ETOOBIG past the cap (contents freed), or -errno from open/read.
 * The stack chunk it reads through is wiped, since files hold keys and tokens. */
int vr_buf_read_file(struct vr_buf *b, const char *path);
/* The whole file at path (at most cap bytes) as a new NUL-terminated string (free with
 * vr_free) and its length. 0, or what vr_buf_read_file returns; nothing read survives a
 * failure (wiped). */
int vr_file_read(const char *path, size_t cap, char **out, size_t *outlen);

/* Drops the first n bytes (n <= len), keeping the rest. */
void vr_buf_consume(struct vr_buf *b, size_t n);

/* Hands the contents to the caller (NUL-terminated, "" when empty); the buffer is left
 * empty. The caller frees the result with vr_free. */
char *vr_buf_take(struct vr_buf *b, size_t *len);

/* A view of the current contents, valid until the next change. */
static inline struct vr_str vr_buf_str(const struct vr_buf *b)
{
    struct vr_str s = {b->p ? b->p : "", b->len};
    return s;
}

#endif
