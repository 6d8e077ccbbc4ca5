/*
 * The redacting CURLOPT_DEBUGFUNCTION: the pure line redaction on crafted lines, then a real
 * request through the curl bridge to a vreq httpd on the same loop, with VR_TRACE=curl,
 * carrying planted secrets in its URL, its headers and the response headers. No trace line
 * may contain any of them, and the expected (redacted) lines must be there.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "http/curl_debug.h"
#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/httpd.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define RUN_MS 10000

/* --- the pure function --- */

static char g_out[VR_CURL_DEBUG_LINE_MAX];

static const char *redact(enum vr_curl_debug_kind kind, const char *line)
{
    size_t n = vr_curl_debug_redact(kind, line, strlen(line), g_out, sizeof(g_out));
    assert_int_equal(n, strlen(g_out));
    return g_out;
}

static const char *hdr(const char *line)
{
    return redact(VR_CURL_DEBUG_HEADER, line);
}

static const char *text(const char *line)
{
    return redact(VR_CURL_DEBUG_TEXT, line);
}

static void test_request_and_status_lines(void **state)
{
    (void)state;
    assert_string_equal(
        hdr("GET /b/k?X-Amz-Signature=SECRET2&X-Amz-Credential=AKID%2F20250101 HTTP/1.1"),
        "GET /b/k?<redacted> HTTP/1.1");
    assert_string_equal(hdr("PATCH /apis/velero.io/v1/x HTTP/1.1"),
                        "PATCH /apis/velero.io/v1/x HTTP/1.1");
    /* Absolute form (through a proxy): userinfo goes too. */
    assert_string_equal(hdr("GET http://u:PW1@h:8080/p?sig=SECRET2 HTTP/1.1"),
                        "GET http://h:8080/p?<redacted> HTTP/1.1");
    assert_string_equal(hdr("CONNECT s3.amazonaws.com:443 HTTP/1.1"),
                        "CONNECT s3.amazonaws.com:443 HTTP/1.1");
    assert_string_equal(hdr("HTTP/1.1 200 OK"), "HTTP/1.1 200 OK");
    assert_string_equal(hdr("HTTP/2 403 "), "HTTP/2 403 ");
    /* Neither a request line, a status line nor "Name: value": hidden whole. */
    assert_string_equal(hdr("Bearer SECRET9"), "<redacted>");
    assert_string_equal(hdr("GET /a?SECRET9 SMTP/1"), "<redacted>");
    assert_string_equal(hdr(" folded SECRET9"), "<redacted>");
    assert_string_equal(hdr("\tfolded SECRET9"), "<redacted>");
}

static void test_secret_headers(void **state)
{
    (void)state;
    assert_string_equal(hdr("Authorization: Bearer SECRET1"), "Authorization: <redacted>");
    assert_string_equal(hdr("authorization:Bearer SECRET1"), "authorization: <redacted>");
    assert_string_equal(hdr("AUTHORIZATION:   Basic SECRET1  "), "AUTHORIZATION: <redacted>");
    assert_string_equal(hdr("Proxy-Authorization: Basic SECRET1"),
                        "Proxy-Authorization: <redacted>");
    assert_string_equal(hdr("Cookie: a=SECRET1; b=2"), "Cookie: <redacted>");
    assert_string_equal(hdr("set-cookie: s=SECRET1; Path=/"), "set-cookie: <redacted>");
    assert_string_equal(hdr("X-Amz-Security-Token: SECRET1"), "X-Amz-Security-Token: <redacted>");
    assert_string_equal(hdr("x-aws-ec2-metadata-token: SECRET1"),
                        "x-aws-ec2-metadata-token: <redacted>");
    assert_string_equal(hdr("X-Api-Key: SECRET1"), "X-Api-Key: <redacted>");
    assert_string_equal(hdr("X-My-Secret-Thing: SECRET1"), "X-My-Secret-Thing: <redacted>");
    assert_string_equal(hdr("X-Vault-CREDENTIAL: SECRET1"), "X-Vault-CREDENTIAL: <redacted>");
    assert_string_equal(hdr("WWW-Authenticate: Bearer realm=SECRET1"),
                        "WWW-Authenticate: <redacted>");
    assert_string_equal(hdr("Authorization:"), "Authorization: <redacted>");
    /* The TTL is a number and may stay; anything else under that name is hidden. */
    assert_string_equal(hdr("X-aws-ec2-metadata-token-ttl-seconds: 21600"),
                        "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    assert_string_equal(hdr("X-aws-ec2-metadata-token-ttl-seconds: 1 SECRET1"),
                        "X-aws-ec2-metadata-token-ttl-seconds: <redacted>");
    /* Ordinary headers stay. */
    assert_string_equal(hdr("Content-Type: application/json"), "Content-Type: application/json");
    assert_string_equal(hdr("Host: 127.0.0.1:8080"), "Host: 127.0.0.1:8080");
    assert_string_equal(hdr("Accept: */*"), "Accept: */*");
}

static void test_urls_in_header_values(void **state)
{
    (void)state;
    assert_string_equal(hdr("Location: https://h/p?X-Amz-Signature=SECRET3"),
                        "Location: https://h/p?<redacted>");
    assert_string_equal(hdr("location: /relative/k?X-Amz-Signature=SECRET3&a=b"),
                        "location: /relative/k?<redacted>");
    assert_string_equal(hdr("Content-Location: http://user:SECRET3@h/p"),
                        "Content-Location: http://h/p");
    assert_string_equal(hdr("Link: <https://h/p?sig=SECRET3>; rel=next"),
                        "Link: <https://h/p?<redacted>>; rel=next");
}

static void test_text_lines(void **state)
{
    (void)state;
    assert_string_equal(
        text("Issue another request to this URL: "
             "'https://b.s3.amazonaws.com/k?X-Amz-Signature=SECRET4&x=1'"),
        "Issue another request to this URL: 'https://b.s3.amazonaws.com/k?<redacted>'");
    assert_string_equal(
        text("Uses proxy env variable https_proxy == 'http://bob:SECRET4@proxy:3128'"),
        "Uses proxy env variable https_proxy == 'http://proxy:3128'");
    assert_string_equal(text("Switched from HTTP to HTTPS due to HSTS => https://h/a?t=SECRET4"),
                        "Switched from HTTP to HTTPS due to HSTS => https://h/a?<redacted>");
    /* HTTP/2 logs every request header, pseudo-headers included, as text. */
    assert_string_equal(text("h2h3 [:path: /b/k?X-Amz-Signature=SECRET4]"),
                        "h2h3 [:path: /b/k?<redacted>]");
    assert_string_equal(text("h2h3 [authorization: Bearer SECRET4]"),
                        "h2h3 [authorization: <redacted>]");
    assert_string_equal(text("h2h3 [X-Amz-Security-Token: SECRET4]"),
                        "h2h3 [X-Amz-Security-Token: <redacted>]");
    assert_string_equal(text("h2h3 [cookie: a=SECRET4]"), "h2h3 [cookie: <redacted>]");
    assert_string_equal(text("h2h3 [x-aws-ec2-metadata-token-ttl-seconds: 21600]"),
                        "h2h3 [x-aws-ec2-metadata-token-ttl-seconds: 21600]");
    assert_string_equal(text("Added cookie sess=\"SECRET4\" for domain h"),
                        "Added cookie <redacted>");
    assert_string_equal(text("password=SECRET4 rest"), "password= <redacted>");
    /* curl's ordinary messages stay as they are. */
    assert_string_equal(text("  Trying 127.0.0.1:8080..."), "  Trying 127.0.0.1:8080...");
    assert_string_equal(text("Connected to ::1 (::1) port 80 (#0)"),
                        "Connected to ::1 (::1) port 80 (#0)");
    assert_string_equal(text("TLSv1.2 (IN), TLS handshake, Server key exchange (12):"),
                        "TLSv1.2 (IN), TLS handshake, Server key exchange (12):");
    assert_string_equal(text("SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384"),
                        "SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384");
    assert_string_equal(text("Connecting to http://[::1]:8080/p"),
                        "Connecting to http://[::1]:8080/p");
}

static void test_cut_messages(void **state)
{
    (void)state;
    /* A URL cut before its '@' still hides "user:pass". */
    assert_string_equal(text("proxy 'http://bob:SECRET5"), "proxy 'http://<redacted>");
    assert_string_equal(text("x http://bob:SECRET5 y"), "x http://<redacted> y");
    /* At curl's message caps (255, 2047) the last word may be cut ("http://bob:12" could be
     * a password's first digits): hidden whole. One byte shorter, it is a host and port. */
    static const size_t caps[] = {255, 2047};
    for (size_t i = 0; i < VR_ARRAY_SIZE(caps); i++) {
        char line[2048];
        size_t n = caps[i];
        memset(line, 'a', n);
        memcpy(line + n - 14, " http://bob:12", 14);
        line[n] = '\0';
        assert_string_equal(text(line) + n - 14, " <redacted>");
        memcpy(line + n - 15, " http://bob:12", 14);
        line[n - 1] = '\0';
        assert_string_equal(text(line) + n - 15, " http://bob:12");
    }
    /* An over-long URL is hidden whole; an over-long line is cut with "...". */
    char *big = vr_xasprintf("GET /%0*d?sig=SECRET5 HTTP/1.1", 3000, 7);
    assert_string_equal(hdr(big), "GET <redacted> HTTP/1.1");
    vr_free(big);
    char small[32];
    const char *src = "Location: https://a-very-long-host.example.com/p?sig=SECRET5";
    size_t n = vr_curl_debug_redact(VR_CURL_DEBUG_HEADER, src, strlen(src), small, sizeof(small));
    assert_int_equal(n, sizeof(small) - 1);
    assert_string_equal(small + n - 3, "...");
    assert_null(strstr(small, "SECRET5"));
    /* Not NUL-terminated input: only n bytes are read. */
    const char *two = "Authorization: Bearer SECRET5Content-Type: x";
    (void)vr_curl_debug_redact(VR_CURL_DEBUG_HEADER, two, 29, g_out, sizeof(g_out));
    assert_string_equal(g_out, "Authorization: <redacted>");
}

/* --- end to end through the curl bridge --- */

#define SECRET_AUTH "HDRSECRET1abc"
#define SECRET_SIG "SIGSECRET2def"
#define SECRET_CRED "CREDSECRET3ghi"
#define SECRET_TOKEN "TOKSECRET4jkl"
#define SECRET_LOC "LOCSECRET5mno"
#define SECRET_SETCOOKIE "SETCOOKIESECRET6"

static const char *const g_secrets[] = {SECRET_AUTH,  SECRET_SIG, SECRET_CRED,
                                        SECRET_TOKEN, SECRET_LOC, SECRET_SETCOOKIE};

struct fx {
    uv_loop_t loop;
    struct vr_httpd *httpd;
    struct vr_curl_uv *cu;
    int port;
    char seen_auth[64]; /* the Authorization header the server received */
    char seen_query[256];
    bool cu_closed;
    bool srv_closed;
};

static void handler(struct vr_http_req *req, void *arg)
{
    struct fx *f = arg;
    struct vr_str a = vr_http_req_header(req, "authorization");
    struct vr_str q = vr_http_req_query(req);
    (void)snprintf(f->seen_auth, sizeof(f->seen_auth), "%.*s", (int)a.n, a.p ? a.p : "");
    (void)snprintf(f->seen_query, sizeof(f->seen_query), "%.*s", (int)q.n, q.p ? q.p : "");
    vr_http_add_header(req, "Location", "http://elsewhere/p?X-Amz-Signature=" SECRET_LOC);
    vr_http_add_header(req, "Set-Cookie", "s=" SECRET_SETCOOKIE "; Path=/");
    vr_http_respond(req, 200, "text/plain", "payload", 7);
}

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(vr_httpd_new(&f->loop, NULL, handler, f, &f->httpd), 0);
    assert_int_equal(vr_httpd_listen(f->httpd, "127.0.0.1:0"), 0);
    f->port = vr_httpd_port(f->httpd);
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    *state = f;
    return 0;
}

static void on_flag(void *arg)
{
    *(bool *)arg = true;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    vr_log_set_sink(NULL, NULL);
    vr_log_set_level(VR_LOG_INFO);
    assert_int_equal(unsetenv("VR_TRACE"), 0);
    vr_log_init_from_env();
    vr_curl_uv_close(f->cu, on_flag, &f->cu_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->cu_closed, RUN_MS));
    vr_httpd_close(f->httpd, on_flag, &f->srv_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->srv_closed, RUN_MS));
    vr_test_loop_close(&f->loop);
    vr_free(f);
    return 0;
}

struct logcap {
    struct vr_buf all;
    int lines;
    int curl_lines;
};

static void log_sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct logcap *lc = arg;
    (void)level;
    lc->lines++;
    if (strstr(line, " curl "))
        lc->curl_lines++;
    assert_int_equal(vr_buf_append(&lc->all, line, len), 0);
    assert_int_equal(vr_buf_putc(&lc->all, '\n'), 0);
}

struct result {
    int calls;
    int status;
    int http;
};

static void on_done(struct vr_req *req, int status, void *arg)
{
    struct result *r = arg;
    r->calls++;
    r->status = status;
    r->http = vr_req_http_status(req);
}

static int has_calls(void *arg)
{
    return ((struct result *)arg)->calls > 0;
}

/* One GET of a presigned-style URL carrying secrets in its query and its headers. */
static void fetch_with_secrets(struct fx *f)
{
    char *u =
        vr_xasprintf("http://127.0.0.1:%d/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=" SECRET_CRED "%%2F20250101&X-Amz-Signature=" SECRET_SIG,
                     f->port);
    struct vr_req *req = vr_req_new(f->cu, "GET", u);
    vr_free(u);
    assert_int_equal(vr_req_add_header(req, "Authorization: Bearer " SECRET_AUTH), 0);
    assert_int_equal(vr_req_add_header(req, "x-amz-security-token: " SECRET_TOKEN), 0);
    struct result r = {0};
    assert_int_equal(vr_req_start(req, on_done, &r), 0);
    assert_true(vr_test_run_until(&f->loop, has_calls, &r, RUN_MS));
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);
    /* The secrets really went over the wire: the log had them to leak. */
    assert_string_equal(f->seen_auth, "Bearer " SECRET_AUTH);
    assert_non_null(strstr(f->seen_query, SECRET_SIG));
}

static void assert_has_line(const char *all, const char *needle)
{
    if (!strstr(all, needle))
        fail_msg("no trace line has \"%s\" in:\n%s", needle, all);
}

static void test_trace_redacted_end_to_end(void **state)
{
    struct fx *f = *state;
    struct logcap lc = {.lines = 0};
    vr_buf_init(&lc.all, 1 << 20);
    assert_int_equal(setenv("VR_TRACE", "curl", 1), 0);
    vr_log_init_from_env();
    vr_log_set_sink(log_sink, &lc);
    fetch_with_secrets(f);
    vr_log_set_sink(NULL, NULL);
    const char *all = lc.all.p ? lc.all.p : "";
    /* curl's own output arrived, redacted, one line per header line. */
    assert_has_line(all, " curl > GET /b/k?<redacted> HTTP/1.1 ");
    assert_has_line(all, " curl > Authorization: <redacted> ");
    assert_has_line(all, " curl > x-amz-security-token: <redacted> ");
    assert_has_line(all, " curl > Host: 127.0.0.1:");
    assert_has_line(all, " curl < HTTP/1.1 200 OK ");
    assert_has_line(all, " curl < Location: http://elsewhere/p?<redacted> ");
    assert_has_line(all, " curl < Set-Cookie: <redacted> ");
    assert_has_line(all, " curl < [7 bytes data] ");
    assert_has_line(all, " curl * Connected to 127.0.0.1 ");
    /* With the request's context. */
    assert_has_line(all, "req=1 method=GET url=http://127.0.0.1:");
    assert_true(lc.curl_lines >= 9);
    for (size_t i = 0; i < VR_ARRAY_SIZE(g_secrets); i++)
        if (strstr(all, g_secrets[i]))
            fail_msg("secret %s leaked into:\n%s", g_secrets[i], all);
    vr_buf_cleanup(&lc.all);
}

/* The same in the JSON log format. */
static void test_trace_json(void **state)
{
    struct fx *f = *state;
    struct logcap lc = {.lines = 0};
    vr_buf_init(&lc.all, 1 << 20);
    vr_log_set_level(VR_LOG_TRACE);
    vr_log_set_format(VR_LOG_FORMAT_JSON);
    vr_log_set_sink(log_sink, &lc);
    fetch_with_secrets(f);
    vr_log_set_sink(NULL, NULL);
    vr_log_set_format(VR_LOG_FORMAT_TEXT);
    const char *all = lc.all.p ? lc.all.p : "";
    assert_has_line(all, "\"msg\":\"> Authorization: <redacted>\"");
    assert_has_line(all, "\"msg\":\"> GET /b/k?<redacted> HTTP/1.1\"");
    for (size_t i = 0; i < VR_ARRAY_SIZE(g_secrets); i++)
        if (strstr(all, g_secrets[i]))
            fail_msg("secret %s leaked into:\n%s", g_secrets[i], all);
    vr_buf_cleanup(&lc.all);
}

/* Trace for another subsystem only: curl stays silent (no debug function is set). */
static void test_trace_off(void **state)
{
    struct fx *f = *state;
    struct logcap lc = {.lines = 0};
    vr_buf_init(&lc.all, 1 << 20);
    assert_int_equal(setenv("VR_TRACE", "watch", 1), 0);
    vr_log_init_from_env();
    vr_log_set_level(VR_LOG_DEBUG);
    vr_log_set_sink(log_sink, &lc);
    fetch_with_secrets(f);
    vr_log_set_sink(NULL, NULL);
    assert_int_equal(lc.curl_lines, 0);
    vr_buf_cleanup(&lc.all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_and_status_lines),
        cmocka_unit_test(test_secret_headers),
        cmocka_unit_test(test_urls_in_header_values),
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_cut_messages),
        cmocka_unit_test_setup_teardown(test_trace_redacted_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
