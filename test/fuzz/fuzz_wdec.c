/*
 * Fuzz target for kube/wdec. The first byte picks a line cap (64 bytes .. 16 KiB) and a
 * chunk size; the rest is fed as a watch body, whole and then in chunks. Both feeds must
 * agree on the result and on every event emitted (order, type, RV), whatever the bytes:
 * the chunk-independence a resumable decoder promises. Emitted objects must honour the
 * callback contract (names and RVs present), and ERROR Status objects must decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/wdec.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    struct vr_buf *log = arg;
    struct vr_kube_status st;
    const char *rv = vr_wdec_object_rv(obj);
    if (type == VR_WDEC_ERROR) {
        if (vr_wdec_status(obj, &st) >= 0)
            abort(); /* an ERROR is never success */
        rv = st.reason;
    } else if (!rv) {
        abort(); /* the decoder promised an RV */
    }
    if (vr_buf_printf(log, "%s %s\n", vr_wdec_type_name(type), rv) < 0)
        abort();
    return 0;
}

static int decode(const char *p, size_t n, size_t cap, size_t chunk, struct vr_buf *log)
{
    struct vr_wdec d;
    int rc = 0;
    vr_wdec_init(&d, cap);
    for (size_t at = 0; at < n && rc == 0; at += chunk)
        rc = vr_wdec_feed(&d, p + at, n - at < chunk ? n - at : chunk, on_event, log);
    if (rc == 0 && vr_wdec_feed(&d, "", 0, on_event, log) != 0)
        abort();
    vr_wdec_cleanup(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vr_buf a, b;
    if (size < 1)
        return 0;
    vr_mem_init_cjson();
    size_t cap = (size_t)64 << (data[0] & 7);
    size_t chunk = 1 + (data[0] >> 3);
    const char *p = (const char *)data + 1;
    vr_buf_init(&a, 64 * 1024 * 1024);
    vr_buf_init(&b, 64 * 1024 * 1024);
    int ra = decode(p, size - 1, cap, size, &a);
    int rb = decode(p, size - 1, cap, chunk, &b);
    /* Lines are handled in order either way, so even the error must be the same. */
    if (ra != rb || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
        abort();
    vr_buf_cleanup(&a);
    vr_buf_cleanup(&b);
    return 0;
}
