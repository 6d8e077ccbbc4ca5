/*
 * Fuzz target for core/gz. The first byte picks a cap (1 byte .. 1 MiB) and a chunk size;
 * the rest is fed as gzip data, whole and then in chunks. Both feeds must agree on the
 * result and the output (chunk independence), and the output never passes the cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gz.h"
#include "vreq/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int collect(struct vr_str out, void *arg)
{
    if (out.n == 0)
        abort();
    return vr_buf_append(arg, out.p, out.n);
}

static int run(const uint8_t *p, size_t n, size_t chunk, uint64_t cap, struct vr_buf *out)
{
    struct vr_gz g;
    vr_gz_init(&g, cap);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += chunk)
        rc = vr_gz_feed(&g, p + at, n - at < chunk ? n - at : chunk, collect, out);
    if (rc == 0)
        rc = vr_gz_finish(&g);
    if (g.out_total > cap)
        abort();
    vr_gz_cleanup(&g);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t cap = (uint64_t)1 << (data[0] % 21);
    size_t chunk = 1 + (data[0] >> 4) * 7;
    struct vr_buf a, b;
    vr_buf_init(&a, 2u << 20);
    vr_buf_init(&b, 2u << 20);
    int ra = run(data + 1, size - 1, size, cap, &a);
    int rb = run(data + 1, size - 1, chunk, cap, &b);
    if (ra != rb || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
        abort();
    vr_buf_cleanup(&a);
    vr_buf_cleanup(&b);
    return 0;
}
