/* Bucket region lookup against a loopback S3 stand-in (vreq httpd): 301 and 403 with
 * X-Amz-Bucket-Region, 404, no header, 5xx; plus URL forms and the per-bucket cache. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "store/region.h"
#include "testutil.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/mem.h"

struct fx {
    uv_loop_t loop;
    struct vr_curl_uv *cu;
    struct vr_httpd *httpd;
    char base[64];
    int heads;
    int calls, status;
    char region[64], err[512];
};

static void handler(struct vr_http_req *req, void *arg)
{
    struct fx *f = arg;
    struct vr_str path = vr_http_req_path(req);
    assert_string_equal(vr_http_req_method(req), "HEAD");
    assert_null(vr_http_req_header(req, "Authorization").p); /* anonymous */
    f->heads++;
    if (vr_str_eq_c(path, "/moved")) {
        vr_http_add_header(req, "X-Amz-Bucket-Region", "eu-west-3");
        vr_http_respond(req, 301, "application/xml", "", 0);
    } else if (vr_str_eq_c(path, "/denied")) {
        vr_http_add_header(req, "x-amz-bucket-region", "ap-south-1");
        vr_http_respond(req, 403, "application/xml", "", 0);
    } else if (vr_str_eq_c(path, "/bad.region")) {
        vr_http_add_header(req, "X-Amz-Bucket-Region", "Evil Region");
        vr_http_respond(req, 200, "application/xml", "", 0);
    } else if (vr_str_eq_c(path, "/plain")) {
        vr_http_respond(req, 200, "application/xml", "", 0);
    } else if (vr_str_eq_c(path, "/down")) {
        vr_http_respond(req, 503, "application/xml", "", 0);
    } else {
        vr_http_respond(req, 404, "application/xml", "", 0);
    }
}

static void on_closed(void *arg)
{
    (*(int *)arg)++;
}

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    assert_int_equal(vr_httpd_new(&f->loop, NULL, handler, f, &f->httpd), 0);
    assert_int_equal(vr_httpd_listen(f->httpd, "127.0.0.1:0"), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", vr_httpd_port(f->httpd));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int closed = 0;
    vr_httpd_close(f->httpd, on_closed, &closed);
    vr_curl_uv_close(f->cu, on_closed, &closed);
    while (closed < 2 && uv_run(&f->loop, UV_RUN_ONCE) != 0)
        ;
    vr_test_loop_close(&f->loop);
    vr_free(f);
    return 0;
}

static void on_region(int status, const char *region, const char *err, void *arg)
{
    struct fx *f = arg;
    f->calls++;
    f->status = status;
    snprintf(f->region, sizeof(f->region), "%s", region ? region : "");
    snprintf(f->err, sizeof(f->err), "%s", err);
}

static int done(void *arg)
{
    return ((struct fx *)arg)->calls > 0;
}

static void lookup(struct fx *f, const char *bucket)
{
    struct vr_region_opts o = {.base_url = f->base};
    f->calls = 0;
    assert_int_equal(vr_region_lookup_start(f->cu, bucket, &o, on_region, f, NULL), 0);
    assert_int_equal(f->calls, 0);
    assert_true(vr_test_run_until(&f->loop, done, f, 10000));
    assert_int_equal(f->calls, 1);
}

static void test_lookup(void **state)
{
    struct fx *f = *state;
    lookup(f, "moved");
    assert_int_equal(f->status, 0);
    assert_string_equal(f->region, "eu-west-3");
    lookup(f, "denied");
    assert_int_equal(f->status, 0);
    assert_string_equal(f->region, "ap-south-1");
    lookup(f, "missing");
    assert_int_equal(f->status, VR_ENOTFOUND);
    assert_string_equal(f->err, "bucket not found: missing");
    lookup(f, "plain");
    assert_int_equal(f->status, VR_ECONFIG);
    assert_string_equal(f->err, "unable to determine bucket's region, bucket: plain");
    lookup(f, "bad.region");
    assert_int_equal(f->status, VR_ECONFIG);
    lookup(f, "down");
    assert_int_equal(f->status, VR_ESERVER);
    assert_int_equal(f->heads, 6);
}

static void test_transport_and_cancel(void **state)
{
    struct fx *f = *state;
    struct vr_region_opts o = {.base_url = "http://127.0.0.1:1"};
    f->calls = 0;
    assert_int_equal(vr_region_lookup_start(f->cu, "b", &o, on_region, f, NULL), 0);
    assert_true(vr_test_run_until(&f->loop, done, f, 10000));
    assert_int_equal(f->status, VR_EHTTP);
    struct vr_region_lookup *l;
    o.base_url = f->base;
    f->calls = 0;
    assert_int_equal(vr_region_lookup_start(f->cu, "moved", &o, on_region, f, &l), 0);
    vr_region_lookup_cancel(l);
    assert_int_equal(f->calls, 0);
    assert_true(vr_test_run_until(&f->loop, done, f, 10000));
    assert_int_equal(f->status, VR_ECANCELED);
    assert_int_equal(vr_region_lookup_start(f->cu, "a/b", &o, on_region, f, NULL), VR_EINVAL);
}

static void test_url(void **state)
{
    (void)state;
    char u[256];
    assert_int_equal(vr_region_url("my-bucket", NULL, u, sizeof(u)), 0);
    assert_string_equal(u, "https://my-bucket.s3.us-east-1.amazonaws.com/");
    assert_int_equal(vr_region_url("my.bucket", NULL, u, sizeof(u)), 0);
    assert_string_equal(u, "https://s3.us-east-1.amazonaws.com/my.bucket");
    assert_int_equal(vr_region_url("Upper_Case", NULL, u, sizeof(u)), 0);
    assert_string_equal(u, "https://s3.us-east-1.amazonaws.com/Upper_Case");
    struct vr_region_opts o = {.path_style = true};
    assert_int_equal(vr_region_url("my-bucket", &o, u, sizeof(u)), 0);
    assert_string_equal(u, "https://s3.us-east-1.amazonaws.com/my-bucket");
    o = (struct vr_region_opts){.base_url = "http://[::1]:9000/ignored"};
    assert_int_equal(vr_region_url("bkt", &o, u, sizeof(u)), 0);
    assert_string_equal(u, "http://[::1]:9000/bkt");
    assert_int_equal(vr_region_url("", NULL, u, sizeof(u)), VR_EINVAL);
    assert_int_equal(vr_region_url("a b", NULL, u, sizeof(u)), VR_EINVAL);
    assert_int_equal(vr_region_url("bkt", NULL, u, 10), VR_ETOOBIG);
    o.base_url = "nourl";
    assert_int_equal(vr_region_url("bkt", &o, u, sizeof(u)), VR_EINVAL);
    assert_false(vr_region_bucket_is_dns_safe("ab"));
    assert_false(vr_region_bucket_is_dns_safe("-ab"));
    assert_true(vr_region_bucket_is_dns_safe("a-b1"));
}

static void test_cache(void **state)
{
    (void)state;
    struct vr_region_cache c = {0};
    const char *r;
    assert_false(vr_region_cache_find(&c, "b", &r));
    for (int i = 0; i < 20; i++) {
        char b[16];
        snprintf(b, sizeof(b), "b%d", i);
        vr_region_cache_put(&c, b, "us-west-2");
    }
    vr_region_cache_put(&c, "b3", "eu-central-1");
    assert_true(vr_region_cache_find(&c, "b3", &r));
    assert_string_equal(r, "eu-central-1");
    vr_region_cache_forget(&c, "b3");
    assert_false(vr_region_cache_find(&c, "b3", &r));
    assert_true(vr_region_cache_find(&c, "b19", &r));
    assert_string_equal(r, "us-west-2");
    vr_region_cache_cleanup(&c);
    assert_false(vr_region_cache_find(&c, "b19", &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_and_cancel, setup, teardown),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
