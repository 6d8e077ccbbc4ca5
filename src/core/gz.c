/* gz: resumable, capped gzip decoding. See core/gz.h. */
#include "core/gz.h"

#include <stdio.h>
#include <string.h>

#include "vreq/err.h"
#include "vreq/mem.h"

/* Output is produced through a stack window of this size: emits are at most this long. */
#define GZ_WINDOW 16384

static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return vr_xcalloc(items, size);
}

static void gz_release(voidpf opaque, voidpf p)
{
    (void)opaque;
    vr_free(p);
}

void vr_gz_init(struct vr_gz *g, uint64_t cap)
{
    memset(g, 0, sizeof(*g));
    g->cap = cap;
}

void vr_gz_cleanup(struct vr_gz *g)
{
    uint64_t cap = g->cap;
    if (g->zs_live)
        inflateEnd(&g->zs);
    vr_gz_init(g, cap);
}

static int gz_fail(struct vr_gz *g, int err, const char *what)
{
    g->err = err;
    (void)snprintf(g->msg, sizeof(g->msg), "%s", what);
    return err;
}

static int gz_start(struct vr_gz *g)
{
    g->zs.zalloc = gz_alloc;
    g->zs.zfree = gz_release;
    g->zs.opaque = Z_NULL;
    /* 16 + MAX_WBITS: gzip framing only (no raw deflate, no zlib wrapper). */
    if (inflateInit2(&g->zs, 16 + MAX_WBITS) != Z_OK)
        return gz_fail(g, VR_EPARSE, "gzip: cannot initialise zlib");
    g->zs_live = true;
    return 0;
}

/* Passes have bytes of out on, unless they would cross the cap. */
static int gz_emit(struct vr_gz *g, const unsigned char *out, size_t have, vr_gz_emit_cb emit,
                   void *arg)
{
    if (have == 0)
        return 0;
    bool over = have > g->cap - g->out_total;
    if (over)
        have = (size_t)(g->cap - g->out_total); /* exactly the first cap bytes, whatever
                                                 * the input's chunking */
    int rc = 0;
    if (have > 0) {
        g->out_total += have;
        rc = emit(vr_str_make((const char *)out, have), arg);
    }
    if (rc == 0 && over)
        return gz_fail(g, VR_ETOOBIG, "decompressed data exceeds the limit");
    if (rc < 0) {
        g->err = rc;
        g->msg[0] = '\0';
    }
    return rc;
}

/* One inflate step over the current input. Returns 1 to go on, 0 when the input is used up
 * and no output is pending, or an error. */
static int gz_step(struct vr_gz *g, vr_gz_emit_cb emit, void *arg)
{
    unsigned char out[GZ_WINDOW];
    g->zs.next_out = out;
    g->zs.avail_out = sizeof(out);
    if (g->zs.avail_in > 0)
        g->in_member = true;
    int zrc = inflate(&g->zs, Z_NO_FLUSH);
    size_t have = sizeof(out) - g->zs.avail_out;
    /* Output decoded before an error is passed on too, so what the caller sees does not
     * depend on how the input was split. */
    int rc = gz_emit(g, out, have, emit, arg);
    if (rc < 0)
        return rc;
    if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
        char what[96];
        (void)snprintf(what, sizeof(what), "gzip: %s", g->zs.msg ? g->zs.msg : "corrupt data");
        return gz_fail(g, VR_EPARSE, what);
    }
    if (zrc == Z_STREAM_END) {
        /* A member ended; whatever follows must be another member. */
        g->members++;
        g->in_member = false;
        if (inflateReset(&g->zs) != Z_OK)
            return gz_fail(g, VR_EPARSE, "gzip: cannot reset zlib");
        return g->zs.avail_in > 0 ? 1 : 0;
    }
    if (zrc == Z_BUF_ERROR && have == 0)
        return 0; /* no progress possible: zlib needs more input */
    return (g->zs.avail_in > 0 || g->zs.avail_out == 0) ? 1 : 0;
}

int vr_gz_feed(struct vr_gz *g, const void *p, size_t n, vr_gz_emit_cb emit, void *arg)
{
    if (g->err)
        return g->err;
    if (n == 0)
        return 0;
    if (!g->zs_live) {
        int rc = gz_start(g);
        if (rc < 0)
            return rc;
    }
    const unsigned char *in = p;
    while (n > 0) {
        /* avail_in is a uInt: feed very large inputs in slices. */
        uInt take = n > (size_t)UINT32_MAX ? (uInt)UINT32_MAX : (uInt)n;
        g->zs.next_in = (Bytef *)(uintptr_t)in;
        g->zs.avail_in = take;
        int rc;
        while ((rc = gz_step(g, emit, arg)) == 1) {
        }
        if (rc < 0)
            return rc;
        in += take;
        n -= take;
    }
    g->zs.next_in = Z_NULL;
    g->zs.avail_in = 0;
    return 0;
}

int vr_gz_finish(struct vr_gz *g)
{
    if (g->err)
        return g->err;
    if (g->in_member)
        return gz_fail(g, VR_EPARSE, "gzip: unexpected end of data (truncated file)");
    if (g->members == 0)
        return gz_fail(g, VR_EPARSE, "gzip: empty input");
    return 0;
}

const char *vr_gz_error(const struct vr_gz *g)
{
    return g->msg;
}
