/* core/gz: the resumable, capped gzip decoder, fed whole, byte by byte and split at every
 * position; concatenated members; a bomb stopped at the cap; truncated and corrupt input. */
#include "testutil.h"

#include <string.h>
#include <zlib.h>

#include "core/gz.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/mem.h"

/* gzip-compresses p[0..n) with zlib (level 6) into a new buffer. */
static unsigned char *gzip_make(const void *p, size_t n, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = vr_xmalloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static int collect(struct vr_str out, void *arg)
{
    assert_true(out.n > 0);
    return vr_buf_append(arg, out.p, out.n);
}

/* Decodes in[0..n) split at the given points (sorted, each < n); returns feed/finish rc. */
static int decode_split(const unsigned char *in, size_t n, const size_t *cuts, size_t ncuts,
                        uint64_t cap, struct vr_buf *out)
{
    struct vr_gz g;
    vr_gz_init(&g, cap);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        rc = vr_gz_feed(&g, in + at, end - at, collect, out);
        at = end;
    }
    if (rc == 0)
        rc = vr_gz_finish(&g);
    vr_gz_cleanup(&g);
    return rc;
}

static char *sample_text(size_t *n)
{
    struct vr_buf b;
    vr_buf_init(&b, 1 << 20);
    for (int i = 0; i < 600; i++)
        assert_int_equal(vr_buf_printf(&b, "line %d: time=\"2026-01-01T00:00:%02d\" msg=x\n", i,
                                       i % 60),
                         0);
    return vr_buf_take(&b, n);
}

static void test_whole_and_every_split(void **state)
{
    (void)state;
    size_t n, zn;
    char *text = sample_text(&n);
    unsigned char *z = gzip_make(text, n, &zn);
    struct vr_buf out;
    vr_buf_init(&out, 1 << 20);
    assert_int_equal(decode_split(z, zn, NULL, 0, 1 << 20, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, text, n);
    for (size_t cut = 1; cut < zn; cut++) {
        vr_buf_reset(&out);
        assert_int_equal(decode_split(z, zn, &cut, 1, 1 << 20, &out), 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.p, text, n);
    }
    vr_buf_cleanup(&out);
    vr_free(z);
    vr_free(text);
}

static void test_byte_at_a_time(void **state)
{
    (void)state;
    size_t n, zn;
    char *text = sample_text(&n);
    unsigned char *z = gzip_make(text, n, &zn);
    size_t *cuts = vr_xmalloc(zn * sizeof(*cuts));
    for (size_t i = 0; i + 1 < zn; i++)
        cuts[i] = i + 1;
    struct vr_buf out;
    vr_buf_init(&out, 1 << 20);
    assert_int_equal(decode_split(z, zn, cuts, zn - 1, 1 << 20, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, text, n);
    vr_buf_cleanup(&out);
    vr_free(cuts);
    vr_free(z);
    vr_free(text);
}

static void test_multi_member_every_split(void **state)
{
    (void)state;
    size_t an, bn;
    unsigned char *a = gzip_make("first member\n", 13, &an);
    unsigned char *b = gzip_make("second\n", 7, &bn);
    unsigned char both[512];
    memcpy(both, a, an);
    memcpy(both + an, b, bn);
    struct vr_buf out;
    vr_buf_init(&out, 1024);
    for (size_t cut = 0; cut < an + bn; cut++) {
        vr_buf_reset(&out);
        assert_int_equal(decode_split(both, an + bn, &cut, cut ? 1 : 0, 1024, &out), 0);
        assert_int_equal(out.len, 20);
        assert_memory_equal(out.p, "first member\nsecond\n", 20);
    }
    vr_buf_cleanup(&out);
    vr_free(a);
    vr_free(b);
}

static void test_bomb_stopped_at_cap(void **state)
{
    (void)state;
    size_t n = 64u << 20, zn;
    char *zeros = vr_xcalloc(1, n);
    unsigned char *z = gzip_make(zeros, n, &zn);
    vr_free(zeros);
    assert_true(zn < 200000);
    struct vr_buf out;
    vr_buf_init(&out, 2u << 20);
    struct vr_gz g;
    vr_gz_init(&g, 1u << 20);
    assert_int_equal(vr_gz_feed(&g, z, zn, collect, &out), VR_ETOOBIG);
    assert_true(out.len <= (1u << 20));
    assert_true(g.out_total <= (1u << 20));
    assert_non_null(strstr(vr_gz_error(&g), "exceeds the limit"));
    /* Sticky. */
    assert_int_equal(vr_gz_feed(&g, z, 1, collect, &out), VR_ETOOBIG);
    assert_int_equal(vr_gz_finish(&g), VR_ETOOBIG);
    vr_gz_cleanup(&g);
    vr_buf_cleanup(&out);
    vr_free(z);
}

static void test_exact_cap_is_fine(void **state)
{
    (void)state;
    size_t zn;
    unsigned char *z = gzip_make("0123456789", 10, &zn);
    struct vr_buf out;
    vr_buf_init(&out, 64);
    assert_int_equal(decode_split(z, zn, NULL, 0, 10, &out), 0);
    vr_buf_reset(&out);
    assert_int_equal(decode_split(z, zn, NULL, 0, 9, &out), VR_ETOOBIG);
    vr_buf_cleanup(&out);
    vr_free(z);
}

static void test_truncated_and_empty(void **state)
{
    (void)state;
    size_t n, zn;
    char *text = sample_text(&n);
    unsigned char *z = gzip_make(text, n, &zn);
    struct vr_buf out;
    vr_buf_init(&out, 1 << 20);
    for (size_t len = 1; len < zn; len += (len < 40 ? 1 : 97)) {
        vr_buf_reset(&out);
        struct vr_gz g;
        vr_gz_init(&g, 1 << 20);
        assert_int_equal(vr_gz_feed(&g, z, len, collect, &out), 0);
        assert_int_equal(vr_gz_finish(&g), VR_EPARSE);
        assert_non_null(strstr(vr_gz_error(&g), "gzip:"));
        vr_gz_cleanup(&g);
    }
    vr_buf_reset(&out);
    assert_int_equal(decode_split(z, 0, NULL, 0, 10, &out), VR_EPARSE); /* empty */
    vr_buf_cleanup(&out);
    vr_free(z);
    vr_free(text);
}

static void test_corrupt(void **state)
{
    (void)state;
    struct vr_buf out;
    vr_buf_init(&out, 1024);
    const char *plain = "this is not gzip at all";
    assert_int_equal(decode_split((const unsigned char *)plain, strlen(plain), NULL, 0, 1024,
                                  &out),
                     VR_EPARSE);
    /* A good member followed by garbage. */
    size_t zn;
    unsigned char *z = gzip_make("ok\n", 3, &zn);
    unsigned char buf[256];
    memcpy(buf, z, zn);
    memcpy(buf + zn, "garbage!", 8);
    vr_buf_reset(&out);
    assert_int_equal(decode_split(buf, zn + 8, NULL, 0, 1024, &out), VR_EPARSE);
    /* A flipped CRC byte. */
    memcpy(buf, z, zn);
    buf[zn - 6] ^= 0x55;
    vr_buf_reset(&out);
    assert_int_equal(decode_split(buf, zn, NULL, 0, 1024, &out), VR_EPARSE);
    vr_buf_cleanup(&out);
    vr_free(z);
}

static int refuse(struct vr_str out, void *arg)
{
    (void)out;
    (void)arg;
    return UV_EPIPE;
}

static void test_emit_error_propagates(void **state)
{
    (void)state;
    size_t zn;
    unsigned char *z = gzip_make("data\n", 5, &zn);
    struct vr_gz g;
    vr_gz_init(&g, 100);
    assert_int_equal(vr_gz_feed(&g, z, zn, refuse, NULL), UV_EPIPE);
    assert_int_equal(vr_gz_finish(&g), UV_EPIPE);
    vr_gz_cleanup(&g);
    vr_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_every_split),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_multi_member_every_split),
        cmocka_unit_test(test_bomb_stopped_at_cap),
        cmocka_unit_test(test_exact_cap_is_fine),
        cmocka_unit_test(test_truncated_and_empty),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_emit_error_propagates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
