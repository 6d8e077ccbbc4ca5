/* wdec: recorded watch streams (test/fixtures/watch/, recorded from kubesim) fed
 * whole, one byte at a time and split at every byte position must decode to the same
 * events; CRLF, blank lines, over-cap lines, truncated objects, bad events, BOOKMARK and
 * ERROR/410. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "kube/wdec.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/mem.h"

/* What the callback saw, as text: one "T name rv;" per event (T = first letter of the
 * type), so two decodings compare with strcmp. */
struct rec {
    struct vr_buf log;
    char types[64];
    size_t n;
    int stop_at; /* return stop_rc on this event (1-based); 0 = never */
    int stop_rc;
    int last_err; /* vr_wdec_status of the last ERROR */
    struct vr_kube_status st;
};

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    vr_buf_init(&r->log, 1 << 20);
}

static int on_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    struct rec *r = arg;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    const char *rv = vr_wdec_object_rv(obj);
    if (r->n + 1 < sizeof(r->types))
        r->types[r->n] = vr_wdec_type_name(type)[0];
    r->n++;
    if (type == VR_WDEC_ERROR)
        r->last_err = vr_wdec_status(obj, &r->st);
    assert_int_equal(vr_buf_printf(&r->log, "%c %s %s;", vr_wdec_type_name(type)[0],
                                   cJSON_IsString(name) ? name->valuestring : "-",
                                   rv ? rv : "-"),
                     0);
    if (r->stop_at && (int)r->n == r->stop_at)
        return r->stop_rc;
    return 0;
}

/* Feeds p in pieces: cut[] holds increasing split offsets. Returns the final status. */
static int feed_cuts(struct vr_wdec *d, const char *p, size_t n, const size_t *cut, size_t ncut,
                     struct rec *r)
{
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncut && rc == 0; i++) {
        size_t to = i < ncut ? cut[i] : n;
        rc = vr_wdec_feed(d, p + at, to - at, on_event, r);
        at = to;
    }
    return rc;
}

struct fixture {
    const char *file;
    const char *types; /* expected type letters */
    int final_rc;
    bool partial; /* ends inside an event */
};

static const struct fixture fixtures[] = {
    {"watch/basic.ndjson", "BAAAMBDB", 0, false},
    {"watch/crlf.ndjson", "BAAAMBDB", 0, false},
    {"watch/initial.ndjson", "AA", 0, false},
    {"watch/error410.ndjson", "E", 0, false},
    {"watch/gone.ndjson", "AME", 0, false},
    {"watch/truncated.ndjson", "AA", 0, true},
};

static void decode_whole(const struct fixture *f, const char *p, size_t n, struct rec *out,
                         uint64_t *lines)
{
    struct vr_wdec d;
    vr_wdec_init(&d, 0);
    rec_init(out);
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, out), f->final_rc);
    assert_string_equal(out->types, f->types);
    assert_int_equal(vr_wdec_has_partial(&d), f->partial);
    *lines = d.lines;
    vr_wdec_cleanup(&d);
}

/* Decodes with the given cuts and checks the result equals the whole-feed one. */
static void check_split(const struct fixture *f, const char *p, size_t n, const size_t *cut,
                        size_t ncut, const struct rec *want, uint64_t want_lines)
{
    struct vr_wdec d;
    struct rec r;
    vr_wdec_init(&d, 0);
    rec_init(&r);
    assert_int_equal(feed_cuts(&d, p, n, cut, ncut, &r), f->final_rc);
    assert_string_equal(r.log.p, want->log.p);
    assert_int_equal(vr_wdec_has_partial(&d), f->partial);
    /* Each line parsed exactly once, however the bytes arrived. */
    assert_int_equal(d.lines, want_lines);
    vr_wdec_cleanup(&d);
    vr_buf_cleanup(&r.log);
}

static void test_fixtures_any_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        const struct fixture *f = &fixtures[i];
        size_t n;
        char *p = vr_test_read_fixture(f->file, &n);
        assert_non_null(p);
        struct rec whole;
        uint64_t lines;
        decode_whole(f, p, n, &whole, &lines);
        for (size_t at = 0; at <= n; at++) /* two pieces, split at every position */
            check_split(f, p, n, &at, 1, &whole, lines);
        size_t *bytes = vr_xmalloc(n * sizeof(*bytes)); /* one byte at a time */
        for (size_t k = 0; k < n; k++)
            bytes[k] = k + 1;
        check_split(f, p, n, bytes, n ? n - 1 : 0, &whole, lines);
        vr_free(bytes);
        vr_buf_cleanup(&whole.log);
        vr_free(p);
    }
}

static void test_error_410(void **state)
{
    (void)state;
    size_t n;
    char *p = vr_test_read_fixture("watch/error410.ndjson", &n);
    struct vr_wdec d;
    struct rec r;
    assert_non_null(p);
    vr_wdec_init(&d, 0);
    rec_init(&r);
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, &r), 0);
    assert_int_equal(r.last_err, VR_EGONE);
    assert_int_equal(r.st.code, 410);
    assert_string_equal(r.st.reason, "Expired");
    assert_string_equal(r.st.message, "too old resource version: 5 (14)");
    vr_free(p);
    vr_buf_cleanup(&r.log);
    rec_init(&r);
    vr_wdec_reset(&d);
    p = vr_test_read_fixture("watch/gone.ndjson", &n);
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, &r), 0);
    assert_int_equal(r.last_err, VR_EGONE);
    assert_string_equal(r.st.reason, "Gone");
    vr_free(p);
    vr_buf_cleanup(&r.log);
    vr_wdec_cleanup(&d);
}

static int status_of(const char *json, struct vr_kube_status *st)
{
    cJSON *o = cJSON_ParseWithLengthOpts(json, strlen(json), NULL, 0);
    assert_non_null(o);
    int rc = vr_wdec_status(o, st);
    cJSON_Delete(o);
    return rc;
}

static void test_status_mapping(void **state)
{
    struct vr_kube_status st;
    (void)state;
    assert_int_equal(status_of("{\"code\":429,\"reason\":\"TooManyRequests\","
                               "\"details\":{\"retryAfterSeconds\":3}}",
                               &st),
                     VR_ETHROTTLED);
    assert_int_equal(st.retry_after_s, 3);
    assert_int_equal(status_of("{\"code\":500,\"reason\":\"InternalError\"}", &st), VR_ESERVER);
    assert_int_equal(status_of("{\"reason\":\"Expired\"}", &st), VR_EGONE); /* no code */
    assert_int_equal(st.code, 0);
    assert_int_equal(status_of("{\"code\":403}", &st), VR_EFORBIDDEN);
    assert_int_equal(status_of("{\"code\":401}", &st), VR_EUNAUTH);
    assert_int_equal(status_of("{\"code\":404}", &st), VR_ENOTFOUND);
    assert_int_equal(status_of("{\"code\":400}", &st), VR_EBADREQ);
    assert_int_equal(status_of("{\"code\":422}", &st), VR_EINVALID);
    /* An ERROR is never success, whatever the Status says. */
    assert_int_equal(status_of("{\"code\":200,\"status\":\"Success\"}", &st), VR_ESERVER);
    assert_int_equal(status_of("{}", &st), VR_ESERVER);
    assert_int_equal(status_of("{\"code\":\"410\",\"reason\":7,\"message\":[]}", &st),
                     VR_ESERVER);
    assert_string_equal(st.reason, "");
    /* Fixed arrays truncate silently. */
    char big[600];
    memset(big, 'm', sizeof(big));
    memcpy(big, "{\"message\":\"", 12);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    status_of(big, &st);
    assert_int_equal(strlen(st.message), sizeof(st.message) - 1);
}

static int feed_str(struct vr_wdec *d, const char *s, struct rec *r)
{
    return vr_wdec_feed(d, s, strlen(s), on_event, r);
}

static void test_blank_lines_and_crlf(void **state)
{
    struct vr_wdec d;
    struct rec r;
    (void)state;
    vr_wdec_init(&d, 0);
    rec_init(&r);
    assert_int_equal(feed_str(&d, "\n\r\n  \t \r\n\n", &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(d.lines, 0);
    assert_int_equal(feed_str(&d,
                              "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
                              "{\"resourceVersion\":\"7\"}}}  \r\n\r",
                              &r),
                     0);
    assert_string_equal(r.log.p, "B - 7;");
    assert_true(vr_wdec_has_partial(&d)); /* the lone '\r' waits for its '\n' */
    assert_int_equal(feed_str(&d, "\n", &r), 0);
    assert_false(vr_wdec_has_partial(&d));
    assert_int_equal(r.n, 1);
    vr_buf_cleanup(&r.log);
    vr_wdec_cleanup(&d);
}

/* {"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}} padded with spaces
 * to exactly len bytes. */
static char *bookmark_line(size_t len)
{
    static const char ev[] = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
                             "{\"resourceVersion\":\"1\"}}}";
    char *s = vr_xmalloc(len + 2);
    assert_true(len >= sizeof(ev) - 1);
    memset(s, ' ', len);
    memcpy(s, ev, sizeof(ev) - 1);
    s[len] = '\n';
    s[len + 1] = '\0';
    return s;
}

static void test_line_cap(void **state)
{
    enum { CAP = 300 };
    (void)state;
    for (int mode = 0; mode < 2; mode++) { /* whole, then byte by byte */
        for (size_t len = CAP - 1; len <= CAP + 1; len++) {
            struct vr_wdec d;
            struct rec r;
            char *s = bookmark_line(len);
            int rc = 0;
            vr_wdec_init(&d, CAP);
            rec_init(&r);
            if (mode == 0)
                rc = vr_wdec_feed(&d, s, len + 1, on_event, &r);
            for (size_t i = 0; mode == 1 && i <= len && rc == 0; i++)
                rc = vr_wdec_feed(&d, s + i, 1, on_event, &r);
            assert_int_equal(rc, len <= CAP ? 0 : VR_ETOOBIG);
            assert_int_equal(r.n, len <= CAP ? 1 : 0);
            /* Sticky until reset; then a good line decodes again. */
            assert_int_equal(feed_str(&d, "\n", &r), len <= CAP ? 0 : VR_ETOOBIG);
            vr_wdec_reset(&d);
            assert_int_equal(vr_wdec_feed(&d, s, len + 1, on_event, &r), len <= CAP ? 0 : VR_ETOOBIG);
            vr_free(s);
            vr_buf_cleanup(&r.log);
            vr_wdec_cleanup(&d);
        }
    }
}

static void test_over_cap_without_newline(void **state)
{
    struct vr_wdec d;
    struct rec r;
    char junk[64];
    (void)state;
    memset(junk, 'x', sizeof(junk));
    vr_wdec_init(&d, 100);
    rec_init(&r);
    /* Rejected as soon as the tail passes the cap, long before any '\n'. */
    assert_int_equal(vr_wdec_feed(&d, junk, sizeof(junk), on_event, &r), 0);
    assert_int_equal(vr_wdec_feed(&d, junk, sizeof(junk), on_event, &r), VR_ETOOBIG);
    assert_false(vr_wdec_has_partial(&d)); /* the tail is released */
    assert_int_equal(vr_wdec_feed(&d, "\n", 1, on_event, &r), VR_ETOOBIG);
    vr_buf_cleanup(&r.log);
    vr_wdec_cleanup(&d);
}

static void test_truncated_then_completed(void **state)
{
    size_t n, nb;
    char *t = vr_test_read_fixture("watch/truncated.ndjson", &n);
    char *b = vr_test_read_fixture("watch/basic.ndjson", &nb);
    struct vr_wdec d;
    struct rec r;
    (void)state;
    assert_non_null(t);
    assert_non_null(b);
    vr_wdec_init(&d, 0);
    rec_init(&r);
    assert_int_equal(vr_wdec_feed(&d, t, n, on_event, &r), 0);
    assert_int_equal(r.n, 2);
    assert_true(vr_wdec_has_partial(&d));
    /* basic.ndjson's 4th line is the one truncated.ndjson cuts: send its rest. */
    const char *l4 = b;
    for (int i = 0; i < 3; i++)
        l4 = strchr(l4, '\n') + 1;
    const char *cut = l4 + (strchr(l4, '\n') - l4) / 2;
    assert_int_equal(vr_wdec_feed(&d, cut, (size_t)(strchr(l4, '\n') + 1 - cut), on_event, &r), 0);
    assert_string_equal(r.types, "AAA");
    assert_false(vr_wdec_has_partial(&d));
    vr_free(t);
    vr_free(b);
    vr_buf_cleanup(&r.log);
    vr_wdec_cleanup(&d);
}

static const char *const bad_lines[] = {
    "{\"type\":\"ADDED\",\"object\":{\n",
    "[]\n",
    "\"ADDED\"\n",
    "{\"type\":\"FOO\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n",
    "{\"type\":\"added\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n",
    "{\"type\":\"ADDED\"}\n",
    "{\"type\":\"ADDED\",\"object\":[]}\n",
    "{\"type\":7,\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n",
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n",
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"\"}}}\n",
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}\n",
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}\n",
    "{\"type\":\"ERROR\",\"object\":\"gone\"}\n",
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}} x\n",
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}{}\n",
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}\n",
};

static void test_bad_events(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        struct vr_wdec d;
        struct rec r;
        vr_wdec_init(&d, 0);
        rec_init(&r);
        /* A good event first: it is emitted, the bad one stops the stream. */
        assert_int_equal(feed_str(&d,
                                  "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
                                  "{\"resourceVersion\":\"3\"}}}\n",
                                  &r),
                         0);
        if (feed_str(&d, bad_lines[i], &r) != VR_EPARSE)
            fail_msg("accepted bad line %zu: %s", i, bad_lines[i]);
        assert_int_equal(r.n, 1);
        assert_int_equal(feed_str(&d, "\n", &r), VR_EPARSE);
        vr_buf_cleanup(&r.log);
        vr_wdec_cleanup(&d);
    }
}

static void test_callback_stops(void **state)
{
    size_t n;
    char *p = vr_test_read_fixture("watch/basic.ndjson", &n);
    struct vr_wdec d;
    struct rec r;
    (void)state;
    assert_non_null(p);
    vr_wdec_init(&d, 0);
    rec_init(&r);
    r.stop_at = 3;
    r.stop_rc = VR_ECANCELED;
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, &r), VR_ECANCELED);
    assert_int_equal(r.n, 3);
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, &r), VR_ECANCELED);
    assert_int_equal(r.n, 3);
    /* A positive return is a contract violation, but must still stop. */
    vr_wdec_reset(&d);
    r.n = 0;
    r.stop_at = 1;
    r.stop_rc = 1;
    assert_int_equal(vr_wdec_feed(&d, p, n, on_event, &r), VR_EINVAL);
    assert_int_equal(r.n, 1);
    vr_free(p);
    vr_buf_cleanup(&r.log);
    vr_wdec_cleanup(&d);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_any_split),
        cmocka_unit_test(test_error_410),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_blank_lines_and_crlf),
        cmocka_unit_test(test_line_cap),
        cmocka_unit_test(test_over_cap_without_newline),
        cmocka_unit_test(test_truncated_then_completed),
        cmocka_unit_test(test_bad_events),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
