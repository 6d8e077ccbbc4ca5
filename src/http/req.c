/*
 * One asynchronous HTTP request: its easy handle, request headers and body, capped response
 * headers and body (or a streaming data callback), and the done callback the bridge calls.
 * CURLcode becomes VR_E* here and nowhere else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "core/common.h"
#include "http/curl_debug.h"
#include "http/req_int.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

/* --- logging --- */

const char *vr__req_state_name(enum vr_req_state state)
{
    switch (state) {
    case VR_REQ_NEW:
        return "new";
    case VR_REQ_QUEUED:
        return "queued";
    case VR_REQ_RUNNING:
        return "running";
    case VR_REQ_FINISHING:
        return "finishing";
    case VR_REQ_DONE:
        return "done";
    }
    return "?";
}

/* scheme://host[:port]/path: userinfo and the query string (presigned signatures, tokens)
 * never reach a log line. */
static char *redacted_url(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    char *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        bool has_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
        out = vr_xasprintf("%s://%s%s%s%s", scheme, host, has_port ? ":" : "", has_port ? port : "",
                           path);
    } else {
        out = vr_xstrdup("<unparsable url>");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

/* Fills the log context on first use, so requests cost nothing extra when tracing is off. */
static const struct vr_log_ctx *req_log(struct vr_req *req)
{
    if (!req->log_url) {
        req->log_url = redacted_url(req->url);
        vr_log_ctx_set(&req->log, "url", req->log_url);
    }
    return &req->log;
}

#define REQ_TRACE(req, ...)                                                                        \
    do {                                                                                           \
        if (vr_log_enabled(VR_LOG_TRACE, "curl"))                                                  \
            vr_log_write(VR_LOG_TRACE, "curl", req_log(req), __VA_ARGS__);                         \
    } while (0)

void vr__req_set_state(struct vr_req *req, enum vr_req_state state)
{
    REQ_TRACE(req, "state %s -> %s", vr__req_state_name(req->state), vr__req_state_name(state));
    req->state = state;
}

/* --- curl callbacks --- */

/* CURLOPT_WRITEFUNCTION. Returning less than n makes curl stop with CURLE_WRITE_ERROR; the
 * reason is kept in abort_status. A cancelled request stops at its next byte. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct vr_req *req = userdata;
    size_t n = size * nmemb;
    if (req->state != VR_REQ_RUNNING)
        return 0;
    if (n == 0)
        return 0;
    int rc;
    if (req->data_cb)
        rc = req->data_cb(req, vr_str_make(p, n), req->data_arg);
    else
        rc = vr_buf_append(&req->resp_body, p, n);
    if (rc < 0) {
        req->abort_status = rc;
        return 0;
    }
    return req->state == VR_REQ_RUNNING ? n : 0;
}

/* CURLOPT_HEADERFUNCTION: keeps the header block of the last response only (a status line
 * starts a new one, so a 100 Continue's headers do not linger). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct vr_req *req = userdata;
    size_t n = size * nmemb;
    if (req->state != VR_REQ_RUNNING)
        return 0;
    if (vr_str_starts_with(vr_str_make(p, n), "HTTP/"))
        vr_buf_reset(&req->resp_headers);
    if (vr_buf_append(&req->resp_headers, p, n) < 0) {
        req->abort_status = VR_ETOOBIG;
        return 0;
    }
    return n;
}

/* --- construction --- */

/* For options that cannot fail short of OOM or a programming error. */
static void setopt_check(CURLcode c, const char *what)
{
    if (c != CURLE_OK)
        vr_panic("curl_easy_setopt(%s): %s", what, curl_easy_strerror(c));
}

#define SETOPT(req, opt, val) setopt_check(curl_easy_setopt((req)->easy, opt, val), #opt)

static void set_defaults(struct vr_req *req)
{
    SETOPT(req, CURLOPT_URL, req->url);
    SETOPT(req, CURLOPT_PRIVATE, (void *)req);
    SETOPT(req, CURLOPT_ERRORBUFFER, req->errbuf);
    SETOPT(req, CURLOPT_NOSIGNAL, 1L);
    SETOPT(req, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(req, CURLOPT_WRITEDATA, (void *)req);
    SETOPT(req, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(req, CURLOPT_HEADERDATA, (void *)req);
    SETOPT(req, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(req, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(req, CURLOPT_OPENSOCKETFUNCTION, vr__cu_open_socket);
    SETOPT(req, CURLOPT_OPENSOCKETDATA, (void *)req->cu);
    SETOPT(req, CURLOPT_CLOSESOCKETFUNCTION, vr__cu_close_socket);
    SETOPT(req, CURLOPT_CLOSESOCKETDATA, (void *)req->cu);
    /* Over TLS, let concurrent requests wait for the handshake to tell whether the
     * connection multiplexes (HTTP/2) instead of each opening its own. Not for plain http:
     * there curl learns it only from the first response's headers, so every request would
     * wait behind one the server is slow to answer. */
    if (strncasecmp(req->url, "https://", 8) == 0)
        SETOPT(req, CURLOPT_PIPEWAIT, 1L);
    /* Fails only when this libcurl has no HTTP/2: HTTP/1.1 then. */
    (void)curl_easy_setopt(req->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
}

struct vr_req *vr_req_new(struct vr_curl_uv *cu, const char *method, const char *url)
{
    vr_assert(cu && method && *method && url);
    struct vr_req *req = vr_xcalloc(1, sizeof(*req));
    req->easy = vr__cu_easy_get(cu);
    vr__link_init(&req->link);
    req->cu = cu;
    req->state = VR_REQ_NEW;
    req->method = vr_xstrdup(method);
    req->url = vr_xstrdup(url);
    req->body_cap = VR_REQ_BODY_CAP_DEFAULT;
    vr_buf_init(&req->resp_body, req->body_cap);
    vr_buf_init(&req->resp_headers, VR_REQ_HEADER_CAP);
    /* libcurl would send "Expect: 100-continue" with large bodies; servers here do not
     * need the extra round trip. */
    req->headers = curl_slist_append(NULL, "Expect:");
    if (!req->headers)
        vr_panic("curl_slist_append: out of memory");
    req->id = vr__cu_next_id(cu);
    (void)snprintf(req->id_str, sizeof(req->id_str), "%" PRIu64, req->id);
    req->log = (struct vr_log_ctx)VR_LOG_CTX_INIT("curl");
    vr_log_ctx_set(&req->log, "req", req->id_str);
    vr_log_ctx_set(&req->log, "method", req->method);
    set_defaults(req);
    return req;
}

/* Header lines may carry bearer tokens: wipe them before curl frees the list. */
static void free_headers(struct curl_slist *l)
{
    for (struct curl_slist *it = l; it; it = it->next)
        OPENSSL_cleanse(it->data, strlen(it->data));
    curl_slist_free_all(l);
}

void vr__req_destroy(struct vr_req *req)
{
    vr_assert(!req->in_multi);
    vr__cu_easy_put(req->cu, req->easy);
    free_headers(req->headers);
    vr_free_secret(req->body, req->body_len); /* may hold a token (STS) */
    vr_free(req->method);
    vr_free(req->url);
    vr_free(req->log_url);
    vr_buf_cleanup(&req->resp_body);
    vr_buf_cleanup(&req->resp_headers);
    vr_free(req);
}

void vr_req_free(struct vr_req *req)
{
    if (!req)
        return;
    vr_assert(req->state == VR_REQ_NEW);
    vr__req_destroy(req);
}

/* --- setters --- */

int vr_req_add_header(struct vr_req *req, const char *line)
{
    vr_assert(req->state == VR_REQ_NEW);
    if (strpbrk(line, "\r\n") || !strchr(line, ':'))
        return VR_EINVAL;
    struct curl_slist *l = curl_slist_append(req->headers, line);
    if (!l)
        vr_panic("curl_slist_append: out of memory");
    req->headers = l;
    return 0;
}

void vr_req_set_body_take(struct vr_req *req, void *p, size_t n)
{
    vr_assert(req->state == VR_REQ_NEW && (p || n == 0));
    vr_free_secret(req->body, req->body_len);
    /* A non-NULL body marks "has a body", even an empty one (Content-Length: 0). */
    req->body = p ? p : vr_xmalloc(1);
    req->body_len = n;
}

void vr_req_set_body(struct vr_req *req, const void *p, size_t n)
{
    char *copy = vr_xmalloc(n ? n : 1);
    if (n)
        memcpy(copy, p, n);
    vr_req_set_body_take(req, copy, n);
}

void vr_req_set_body_cap(struct vr_req *req, size_t max)
{
    vr_assert(req->state == VR_REQ_NEW && max > 0);
    req->body_cap = max;
    vr_buf_init(&req->resp_body, max);
}

void vr_req_set_data_cb(struct vr_req *req, vr_req_data_cb cb, void *arg)
{
    vr_assert(req->state == VR_REQ_NEW);
    req->data_cb = cb;
    req->data_arg = arg;
}

void vr_req_set_timeout_ms(struct vr_req *req, unsigned ms)
{
    vr_assert(req->state == VR_REQ_NEW);
    SETOPT(req, CURLOPT_TIMEOUT_MS, (long)ms);
}

static CURLcode set_blob(CURL *easy, CURLoption opt, struct vr_str pem)
{
    struct curl_blob blob = {.data = (void *)pem.p, .len = pem.n, .flags = CURL_BLOB_COPY};
    return curl_easy_setopt(easy, opt, &blob);
}

/* Trusts exactly the given CA (blob or file), not the system store on top of it. */
static CURLcode set_ca(CURL *easy, const struct vr_tls_opts *tls)
{
    CURLcode c = CURLE_OK;
    if (tls->ca_pem.n > 0) {
        c = set_blob(easy, CURLOPT_CAINFO_BLOB, tls->ca_pem);
        if (c == CURLE_OK)
            c = curl_easy_setopt(easy, CURLOPT_CAINFO, (char *)NULL);
    } else if (tls->ca_file) {
        c = curl_easy_setopt(easy, CURLOPT_CAINFO, tls->ca_file);
    } else {
        return CURLE_OK;
    }
    if (c == CURLE_OK)
        c = curl_easy_setopt(easy, CURLOPT_CAPATH, (char *)NULL);
    return c;
}

static CURLcode set_client_cert(CURL *easy, const struct vr_tls_opts *tls)
{
    CURLcode c = CURLE_OK;
    if (tls->cert_pem.n > 0)
        c = set_blob(easy, CURLOPT_SSLCERT_BLOB, tls->cert_pem);
    else if (tls->cert_file)
        c = curl_easy_setopt(easy, CURLOPT_SSLCERT, tls->cert_file);
    if (c == CURLE_OK && (tls->cert_pem.n > 0 || tls->cert_file))
        c = curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    if (c == CURLE_OK && tls->key_pem.n > 0)
        c = set_blob(easy, CURLOPT_SSLKEY_BLOB, tls->key_pem);
    else if (c == CURLE_OK && tls->key_file)
        c = curl_easy_setopt(easy, CURLOPT_SSLKEY, tls->key_file);
    if (c == CURLE_OK && (tls->key_pem.n > 0 || tls->key_file))
        c = curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    return c;
}

int vr_req_set_tls(struct vr_req *req, const struct vr_tls_opts *tls)
{
    vr_assert(req->state == VR_REQ_NEW);
    CURLcode c = set_ca(req->easy, tls);
    if (c == CURLE_OK)
        c = set_client_cert(req->easy, tls);
    if (c == CURLE_OK && tls->insecure_skip_verify) {
        c = curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        if (c == CURLE_OK)
            c = curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c == CURLE_OUT_OF_MEMORY)
        vr_panic("curl_easy_setopt: out of memory");
    return c == CURLE_OK ? 0 : VR_EUNSUPPORTED;
}

/* --- start, cancel, completion --- */

static bool method_is(const struct vr_req *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

/* GET and HEAD map to curl's own modes; any other method is sent as a custom request line,
 * with the body (or an empty one, so PUT/PATCH/POST carry Content-Length: 0) as POSTFIELDS.
 * DELETE without a body sends none. */
static void apply_method(struct vr_req *req)
{
    if (!req->body && method_is(req, "GET")) {
        SETOPT(req, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (!req->body && method_is(req, "HEAD")) {
        SETOPT(req, CURLOPT_NOBODY, 1L);
        return;
    }
    if (req->body || !method_is(req, "DELETE")) {
        SETOPT(req, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        SETOPT(req, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (!method_is(req, "POST"))
        SETOPT(req, CURLOPT_CUSTOMREQUEST, req->method);
}

/* curl's debug output, redacted, only while "curl" is traced: otherwise curl does not
 * even format it. Raw CURLOPT_VERBOSE output (to stderr) never happens: the debug function
 * is set first. A reused easy handle comes back reset, so neither option lingers. */
static void apply_debug(struct vr_req *req)
{
    if (!vr_log_enabled(VR_LOG_TRACE, "curl"))
        return;
    (void)req_log(req);
    SETOPT(req, CURLOPT_DEBUGFUNCTION, vr_curl_debug_cb);
    SETOPT(req, CURLOPT_DEBUGDATA, (void *)&req->log);
    SETOPT(req, CURLOPT_VERBOSE, 1L);
}

static void apply_options(struct vr_req *req)
{
    apply_method(req);
    apply_debug(req);
    SETOPT(req, CURLOPT_HTTPHEADER, req->headers);
    /* With a known Content-Length over the cap, curl stops before reading the body. */
    if (!req->data_cb)
        SETOPT(req, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->body_cap);
}

int vr_req_start(struct vr_req *req, vr_req_done_cb done, void *arg)
{
    vr_assert(req->state == VR_REQ_NEW && done);
    req->done = done;
    req->done_arg = arg;
    apply_options(req);
    int rc = vr__cu_add(req->cu, req);
    if (rc < 0) {
        vr__req_destroy(req);
        return rc;
    }
    REQ_TRACE(req, "start");
    return 0;
}

void vr_req_cancel(struct vr_req *req)
{
    switch (req->state) {
    case VR_REQ_QUEUED:
    case VR_REQ_RUNNING:
        vr__cu_finish_later(req->cu, req, VR_ECANCELED);
        return;
    case VR_REQ_FINISHING:
    case VR_REQ_DONE:
        return;
    case VR_REQ_NEW:
        vr_panic("vr_req_cancel on a request that was never started");
    }
}

int vr__req_status_from_curl(const struct vr_req *req, CURLcode code)
{
    if (req->abort_status < 0)
        return req->abort_status;
    if (code == CURLE_OK)
        return 0;
    if (code == CURLE_OPERATION_TIMEDOUT)
        return VR_ETIMEDOUT;
    if (code == CURLE_FILESIZE_EXCEEDED)
        return VR_ETOOBIG;
    return VR_EHTTP;
}

void vr__req_finish(struct vr_req *req, int status, CURLcode code)
{
    req->status = status;
    req->code = code;
    vr__req_set_state(req, VR_REQ_FINISHING);
}

static void fix_error_text(struct vr_req *req)
{
    if (req->status == 0) {
        req->errbuf[0] = '\0';
    } else if (req->code != CURLE_OK && (req->status == VR_EHTTP || req->status == VR_ETIMEDOUT)) {
        /* curl fills the error buffer for most failures; fall back to the code's text. */
        if (!req->errbuf[0])
            (void)snprintf(req->errbuf, sizeof(req->errbuf), "%s", curl_easy_strerror(req->code));
    } else {
        (void)snprintf(req->errbuf, sizeof(req->errbuf), "%s", vr_strerror(req->status));
    }
}

void vr__req_complete(struct vr_req *req)
{
    vr__req_set_state(req, VR_REQ_DONE);
    fix_error_text(req);
    REQ_TRACE(req, "done status=%s http=%d ms=%" PRIu64 " error=\"%s\"", vr_err_name(req->status),
              vr_req_http_status(req), uv_now(vr__cu_loop(req->cu)) - req->start_ms, req->errbuf);
}

/* --- accessors --- */

int vr_req_http_status(const struct vr_req *req)
{
    long code = 0;
    if (curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
        return 0;
    return (int)code;
}

struct vr_str vr_req_body(const struct vr_req *req)
{
    return vr_buf_str(&req->resp_body);
}

struct vr_str vr_req_header(const struct vr_req *req, const char *name)
{
    struct vr_str rest = vr_buf_str(&req->resp_headers);
    while (rest.n > 0) {
        struct vr_str line, key, value;
        if (!vr_str_split(rest, '\n', &line, &rest))
            rest.n = 0;
        if (vr_str_split(line, ':', &key, &value) && vr_str_caseeq_c(vr_str_trim(key), name))
            return vr_str_trim(value);
    }
    return vr_str_make(NULL, 0);
}

const char *vr_req_error_text(const struct vr_req *req)
{
    return req->errbuf;
}

const char *vr_req_method(const struct vr_req *req)
{
    return req->method;
}
