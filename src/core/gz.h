/*
 * gz: a resumable, capped gzip decoder (zlib inflate). Pure: no I/O, no clock, no logging
 * (STYLE.md §1, §5). Bytes go in as the transport delivers them, decompressed bytes come
 * out through a callback, and the total output is capped so a decompression bomb meets the
 * cap, not the disk.
 *
 * Concatenated gzip members (RFC 1952 §2.2, what `cat a.gz b.gz` gives) decode as one
 * stream, like gunzip and Go's gzip.Reader. zlib's Z_* codes are converted here and nowhere
 * else: corrupt data -> VR_EPARSE, output past the cap -> VR_ETOOBIG.
 */
#ifndef VR_CORE_GZ_H
#define VR_CORE_GZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include "vreq/str.h"

/* Receives one piece of decompressed output (borrowed, never empty, valid only during the
 * call). Return 0 to go on, or a negative code to stop: vr_gz_feed then returns it. */
typedef int (*vr_gz_emit_cb)(struct vr_str out, void *arg);

/* Decoder state; caller-owned storage. */
struct vr_gz {
    z_stream zs;
    bool zs_live;      /* inflateInit2 done */
    bool in_member;    /* inside a member: some of its bytes have been seen */
    uint64_t members;  /* members completed */
    uint64_t out_total; /* bytes emitted */
    uint64_t cap;      /* most bytes ever emitted */
    int err;           /* sticky first error, 0 while healthy */
    char msg[96];      /* why err happened ("gzip: invalid header"), "" while healthy */
};

/* Initialises g with a cap on the total output (> 0). Allocates nothing. */
void vr_gz_init(struct vr_gz *g, uint64_t cap);
/* Releases zlib's state; g may be initialised again. */
void vr_gz_cleanup(struct vr_gz *g);
/* Feeds n bytes (any split; n may be 0). Every decompressed byte is passed to emit, in
 * order. Returns 0 or the first error, after which every call returns the same error:
 *   VR_EPARSE   not gzip, a corrupt deflate stream, a bad CRC or length trailer, or
 *               bytes after a member that do not start another member;
 *   VR_ETOOBIG  the output would pass cap (the first cap bytes are emitted, nothing
 *               more, whatever the chunking);
 *   the negative code emit returned. */
int vr_gz_feed(struct vr_gz *g, const void *p, size_t n, vr_gz_emit_cb emit, void *arg);
/* Ends the input: 0 when it stopped at the end of a member (at least one), else VR_EPARSE
 * (empty input, or truncated inside a member), or the sticky error. */
int vr_gz_finish(struct vr_gz *g);
/* A one-line description of the sticky error ("" when there is none). */
const char *vr_gz_error(const struct vr_gz *g);

#endif
