/*
 * The socket-free httpd request reader: each input is fed whole, one byte at a time and
 * split in two at every position; all three must give the same requests and verdict.
 */
#include <string.h>

#include "server/httpd_reader.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/err.h"

struct caps {
    size_t header;
    size_t body;
};

static const struct caps default_caps = {1024, 4096};

static void summarize(struct vr_buf *out, const struct vr__hreq *q)
{
    assert_int_equal(vr_buf_printf(out, "%s url=%.*s path=%.*s query=%.*s v=%u.%u ka=%d", q->method,
                                   (int)q->url.n, q->url.p, (int)q->path.n, q->path.p,
                                   (int)q->query.n, q->query.p, q->http_major, q->http_minor,
                                   q->keep_alive),
                     0);
    for (size_t i = 0; i < q->nheaders; i++) {
        const struct vr_http_header *h = &q->headers[i];
        assert_int_equal(vr_buf_printf(out, " [%.*s: %.*s]", (int)h->name.n, h->name.p,
                                       (int)h->value.n, h->value.p),
                         0);
    }
    assert_int_equal(vr_buf_printf(out, " body=%.*s|", (int)q->body.n, q->body.p), 0);
}

/* Feeds in[0..n) in pieces ending at cuts[] (the last piece ends at n) and returns the
 * summary of every request plus the final verdict. */
static char *run(const char *in, size_t n, const size_t *cuts, size_t ncuts, struct caps caps)
{
    struct vr__hreader *r = vr__hreader_new(caps.header, caps.body);
    struct vr_buf out;
    vr_buf_init(&out, (size_t)64 * 1024);
    size_t start = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        const char *p = in + start;
        size_t len = end - start;
        start = end;
        while (len > 0) {
            size_t used = 0;
            int status = 0;
            int rc = vr__hreader_feed(r, p, len, &used, &status);
            if (rc < 0) {
                assert_int_equal(vr_buf_printf(&out, "ERR %d %s", status,
                                               rc == VR_EPARSE ? "EPARSE" : "ETOOBIG"),
                                 0);
                goto done;
            }
            if (rc == VR__HREADER_MORE)
                break;
            assert_true(used > 0 && used <= len);
            const struct vr__hreq *q = vr__hreader_req(r);
            assert_non_null(q);
            summarize(&out, q);
            p += used;
            len -= used;
            if (!q->keep_alive) {
                assert_int_equal(vr_buf_append_str(&out, "CLOSE"), 0);
                goto done;
            }
            vr__hreader_next(r);
            assert_null(vr__hreader_req(r));
        }
    }
    assert_int_equal(vr_buf_printf(&out, "MORE progress=%d", vr__hreader_in_progress(r)), 0);
done:
    vr__hreader_free(r);
    return vr_buf_take(&out, NULL);
}

/* Whole, byte by byte, and every two-piece split must agree with want. */
static void check_all_splits(const char *in, struct caps caps, const char *want)
{
    size_t n = strlen(in);
    char *whole = run(in, n, NULL, 0, caps);
    assert_string_equal(whole, want);
    vr_free(whole);

    size_t *cuts = vr_xmalloc((n ? n : 1) * sizeof(*cuts));
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    char *bytes = run(in, n, cuts, n ? n - 1 : 0, caps);
    assert_string_equal(bytes, want);
    vr_free(bytes);

    for (size_t i = 1; i < n; i++) {
        char *two = run(in, n, &i, 1, caps);
        if (strcmp(two, want) != 0)
            fail_msg("split at %zu:\n got %s\nwant %s", i, two, want);
        vr_free(two);
    }
    vr_free(cuts);
}

static void test_simple_get(void **state)
{
    (void)state;
    check_all_splits("GET /api/v1/pods?watch=1&rv=5 HTTP/1.1\r\n"
                     "Host: localhost\r\n"
                     "X-Many-Words: a b  c\r\n"
                     "\r\n",
                     default_caps,
                     "GET url=/api/v1/pods?watch=1&rv=5 path=/api/v1/pods query=watch=1&rv=5 "
                     "v=1.1 ka=1 [Host: localhost] [X-Many-Words: a b  c] body=|"
                     "MORE progress=0");
}

static void test_post_content_length(void **state)
{
    (void)state;
    check_all_splits("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", default_caps,
                     "POST url=/x path=/x query= v=1.1 ka=1 [Content-Length: 11] "
                     "body=hello world|MORE progress=0");
}

static void test_chunked_with_trailer(void **state)
{
    (void)state;
    check_all_splits("PATCH /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
                     default_caps,
                     "PATCH url=/c path=/c query= v=1.1 ka=1 [Transfer-Encoding: chunked] "
                     "body=hello world|MORE progress=0");
}

static void test_pipelined_three(void **state)
{
    (void)state;
    check_all_splits("GET /a HTTP/1.1\r\n\r\n"
                     "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                     "\r\nDELETE /c?x HTTP/1.1\r\nConnection: close\r\n\r\n"
                     "GET /never HTTP/1.1\r\n\r\n",
                     default_caps,
                     "GET url=/a path=/a query= v=1.1 ka=1 body=|"
                     "POST url=/b path=/b query= v=1.1 ka=1 [Content-Length: 3] body=xyz|"
                     "DELETE url=/c?x path=/c query=x v=1.1 ka=0 [Connection: close] body=|"
                     "CLOSE");
}

static void test_http10(void **state)
{
    (void)state;
    check_all_splits("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                     "GET /old2 HTTP/1.0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
                     default_caps,
                     "GET url=/old path=/old query= v=1.0 ka=1 [Connection: keep-alive] body=|"
                     "GET url=/old2 path=/old2 query= v=1.0 ka=0 body=|CLOSE");
}

static void test_partial_and_progress(void **state)
{
    (void)state;
    /* Blank lines before a request are not a request yet; a request line is. */
    check_all_splits("\r\n\r\n", default_caps, "MORE progress=0");
    check_all_splits("\r\nGET /slow HTTP/1.1\r\nHost: a\r\n", default_caps, "MORE progress=1");
    check_all_splits("POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", default_caps,
                     "MORE progress=1");
}

static void test_errors(void **state)
{
    (void)state;
    check_all_splits("BREW /pot HTTP/1.1\r\n\r\n", default_caps, "ERR 400 EPARSE");
    check_all_splits("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", default_caps,
                     "ERR 400 EPARSE");
    check_all_splits("GET / HTTP/1.1\r\nBad Header\r\n\r\n", default_caps, "ERR 400 EPARSE");
    check_all_splits("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", default_caps,
                     "ERR 400 EPARSE");
    /* An error after a good request still reports the good one first. */
    check_all_splits("GET /ok HTTP/1.1\r\n\r\n\x01\x02\r\n\r\n", default_caps,
                     "GET url=/ok path=/ok query= v=1.1 ka=1 body=|ERR 400 EPARSE");
}

static void test_caps(void **state)
{
    (void)state;
    struct caps small = {40, 8};
    /* URL + names + values: 6 + 4 + 30 = 40 fits; one more byte does not. */
    check_all_splits("GET /12345 HTTP/1.1\r\nName: 123456789012345678901234567890\r\n\r\n", small,
                     "GET url=/12345 path=/12345 query= v=1.1 ka=1 "
                     "[Name: 123456789012345678901234567890] body=|MORE progress=0");
    check_all_splits("GET /123456 HTTP/1.1\r\nName: 123456789012345678901234567890\r\n\r\n", small,
                     "ERR 431 ETOOBIG");
    /* Trailers count too. */
    check_all_splits("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "1\r\na\r\n0\r\nTrailer-Name: 123456789012345678901234567890\r\n\r\n",
                     small, "ERR 431 ETOOBIG");
    check_all_splits("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789", small,
                     "ERR 413 ETOOBIG");
    check_all_splits("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", small,
                     "POST url=/ path=/ query= v=1.1 ka=1 [Content-Length: 8] "
                     "body=12345678|MORE progress=0");
    check_all_splits("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n",
                     small, "ERR 413 ETOOBIG");
    struct caps nobody = {1024, 0};
    check_all_splits("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", nobody, "ERR 413 ETOOBIG");
    check_all_splits("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", nobody,
                     "POST url=/ path=/ query= v=1.1 ka=1 [Content-Length: 0] body=|"
                     "MORE progress=0");
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    struct vr__hreader *r = vr__hreader_new(1024, 1024);
    size_t used = 0;
    int status = 0;
    assert_int_equal(vr__hreader_feed(r, "\x01", 1, &used, &status), VR_EPARSE);
    assert_int_equal(status, 400);
    assert_string_not_equal(vr__hreader_error(r), "");
    status = 0;
    assert_int_equal(vr__hreader_feed(r, "GET / HTTP/1.1\r\n\r\n", 18, &used, &status), VR_EPARSE);
    assert_int_equal(status, 400);
    vr__hreader_free(r);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct vr__hreader *r = vr__hreader_new(1024, 1024);
    static const char head[] =
        "PUT /u HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    size_t used = 0;
    int status = 0;
    assert_int_equal(vr__hreader_feed(r, head, strlen(head), &used, &status), VR__HREADER_MORE);
    assert_true(vr__hreader_take_continue(r));
    assert_false(vr__hreader_take_continue(r)); /* once */
    assert_int_equal(vr__hreader_feed(r, "abcd", 4, &used, &status), VR__HREADER_DONE);
    assert_int_equal(used, 4);
    const struct vr__hreq *q = vr__hreader_req(r);
    assert_true(vr_str_eq_c(q->body, "abcd"));
    vr__hreader_next(r);
    /* Too big for the body cap: no 100-continue, a 413 instead. */
    static const char big[] =
        "PUT /u HTTP/1.1\r\nContent-Length: 4000\r\nExpect: 100-continue\r\n\r\n";
    assert_int_equal(vr__hreader_feed(r, big, strlen(big), &used, &status), VR_ETOOBIG);
    assert_int_equal(status, 413);
    assert_false(vr__hreader_take_continue(r));
    vr__hreader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_chunked_with_trailer),
        cmocka_unit_test(test_pipelined_three),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_partial_and_progress),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_expect_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
