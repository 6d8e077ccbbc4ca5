/*
 * Fuzz target for the httpd request reader (the bytes a peer sends). The input is fed
 * whole and then in pieces whose sizes come from the input itself; both runs must agree
 * on how many requests were complete and on the final verdict. Every slice of every
 * request is read so that ASan sees any stale pointer.
 */
#include <stdint.h>
#include <string.h>

#include "server/httpd_reader.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned touch(struct vr_str s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.n; i++)
        h = h * 31u + (unsigned char)s.p[i];
    return h;
}

static unsigned touch_req(const struct vr__hreq *q)
{
    unsigned h = touch(q->url) + touch(q->path) + touch(q->query) + touch(q->body);
    h += (unsigned)strlen(q->method);
    for (size_t i = 0; i < q->nheaders; i++)
        h += touch(q->headers[i].name) + touch(q->headers[i].value);
    char out[32];
    if (vr_http_query_get(q->query, "watch", out, sizeof(out)))
        h += (unsigned)strlen(out);
    return h;
}

struct outcome {
    int nreq;
    int verdict; /* VR__HREADER_MORE, a closing request (2) or a negative code */
    int status;
    unsigned hash;
};

/* Feeds data in pieces of step(i) bytes (0 means whole). */
static struct outcome feed_all(const uint8_t *data, size_t size, bool split)
{
    struct outcome o = {0, VR__HREADER_MORE, 0, 0};
    struct vr__hreader *r = vr__hreader_new(2048, 4096);
    size_t pos = 0;
    while (pos < size) {
        size_t n = split ? (size_t)1 + data[pos] % 7u : size - pos;
        if (n > size - pos)
            n = size - pos;
        const char *p = (const char *)data + pos;
        pos += n;
        while (n > 0) {
            size_t used = 0;
            int rc = vr__hreader_feed(r, p, n, &used, &o.status);
            if (rc < 0) {
                o.verdict = rc;
                goto out;
            }
            if (rc == VR__HREADER_MORE)
                break;
            const struct vr__hreq *q = vr__hreader_req(r);
            o.nreq++;
            o.hash += touch_req(q);
            p += used;
            n -= used;
            if (!q->keep_alive) {
                o.verdict = 2;
                goto out;
            }
            vr__hreader_next(r);
        }
    }
    (void)vr__hreader_take_continue(r);
    o.hash += vr__hreader_in_progress(r);
out:
    vr__hreader_free(r);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome whole = feed_all(data, size, false);
    struct outcome split = feed_all(data, size, true);
    vr_assert(whole.nreq == split.nreq);
    vr_assert(whole.verdict == split.verdict);
    vr_assert(whole.status == split.status);
    vr_assert(whole.hash == split.hash);
    return 0;
}
