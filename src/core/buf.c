#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vreq/buf.h"
#include "vreq/err.h"

void vr_buf_init(struct vr_buf *b, size_t max)
{
    vr_assert(max > 0);
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void vr_buf_cleanup(struct vr_buf *b)
{
    vr_free(b->p);
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
}

void vr_buf_cleanup_secret(struct vr_buf *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->alloc);
    vr_buf_cleanup(b);
}

void vr_buf_reset(struct vr_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Makes room for n more bytes plus the NUL, growing geometrically up to max + 1. */
static int reserve(struct vr_buf *b, size_t n)
{
    if (n > b->max - b->len) {
        vr_buf_cleanup(b);
        return VR_ETOOBIG;
    }
    size_t need = b->len + n + 1;
    if (need <= b->alloc)
        return 0;
    size_t a = b->alloc ? b->alloc : 64;
    while (a < need)
        a = a > SIZE_MAX / 2 ? need : a * 2;
    if (a > b->max + 1)
        a = b->max + 1;
    b->p = vr_xrealloc(b->p, a);
    b->alloc = a;
    return 0;
}

int vr_buf_append(struct vr_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int vr_buf_append_str(struct vr_buf *b, const char *s)
{
    return vr_buf_append(b, s, strlen(s));
}

int vr_buf_putc(struct vr_buf *b, char c)
{
    return vr_buf_append(b, &c, 1);
}

int vr_buf_vprintf(struct vr_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return VR_EINVAL;
    int rc = reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int vr_buf_printf(struct vr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vr_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void vr_buf_consume(struct vr_buf *b, size_t n)
{
    vr_assert(n <= b->len);
    if (n == 0)
        return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

char *vr_buf_take(struct vr_buf *b, size_t *len)
{
    char *p = b->p ? b->p : vr_xstrdup("");
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

int vr_buf_read_file(struct vr_buf *b, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno > 0 ? -errno : -EIO;
    char chunk[16384];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? (errno > 0 ? -errno : -EIO) : 0;
            break;
        }
        rc = vr_buf_append(b, chunk, (size_t)n);
        if (rc < 0)
            break;
    }
    (void)close(fd);
    OPENSSL_cleanse(chunk, sizeof(chunk));
    return rc;
}

int vr_file_read(const char *path, size_t cap, char **out, size_t *outlen)
{
    struct vr_buf b;
    vr_buf_init(&b, cap);
    int rc = vr_buf_read_file(&b, path);
    if (rc < 0) {
        vr_buf_cleanup_secret(&b);
        return rc;
    }
    *out = vr_buf_take(&b, outlen);
    return 0;
}
