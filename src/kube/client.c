/*
 * The kube client's lifecycle and the state machine of one call: token -> request ->
 * (retry wait ->) completion. URL building and the public verbs are in calls.c.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "core/common.h"
#include "kube/client_int.h"
#include "kube/status.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_RETRIES 10
#define AUTH_HEADER_MAX 8192

static void call_send(struct vr_kube_call *call);
static void arm_timer(struct vr_kube_client *c);
static void maybe_finish_close(struct vr_kube_client *c);

static const char *call_state_name(enum vr_kcall_state s)
{
    switch (s) {
    case VR_KCALL_NEW:
        return "new";
    case VR_KCALL_WAIT_TOKEN:
        return "wait-token";
    case VR_KCALL_RUNNING:
        return "running";
    case VR_KCALL_RETRY_WAIT:
        return "retry-wait";
    case VR_KCALL_FINISHING:
        return "finishing";
    case VR_KCALL_DONE:
        return "done";
    }
    return "?";
}

/* The one place a call's state changes. */
static void call_set_state(struct vr_kube_call *call, enum vr_kcall_state s)
{
    VR_LOG(VR_LOG_TRACE, "kube", "call %s %s: %s -> %s", call->verb, call->path ? call->path : "",
           call_state_name(call->state), call_state_name(s));
    call->state = s;
}

/* ---- options and construction ---- */

void vr_kube_client_opts_default(struct vr_kube_client_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_body = DEFAULT_MAX_BODY;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    o->max_retries = DEFAULT_MAX_RETRIES;
    o->user_agent = "vreq/" VR_VERSION;
}

static char *dup_blob(const char *p, size_t n)
{
    return p && n ? vr_xstrndup(p, n) : NULL;
}

static int check_config(const struct vr_kube_config *cfg)
{
    const char *s = cfg->server;
    if (!s || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)) {
        VR_LOG(VR_LOG_ERROR, "kube", "unusable API server URL \"%s\" from %s: want http(s)://HOST",
               s ? s : "", cfg->source ? cfg->source : "configuration");
        return VR_ECONFIG;
    }
    return 0;
}

static void copy_config(struct vr_kube_client *c, const struct vr_kube_config *cfg)
{
    c->server = vr_xstrdup(cfg->server);
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    c->namespace = vr_xstrdup(cfg->namespace && cfg->namespace[0] ? cfg->namespace : "default");
    c->ca_pem = dup_blob(cfg->ca_pem, cfg->ca_pem_len);
    c->ca_pem_len = c->ca_pem ? cfg->ca_pem_len : 0;
    c->cert_pem = dup_blob(cfg->cert_pem, cfg->cert_pem_len);
    c->cert_pem_len = c->cert_pem ? cfg->cert_pem_len : 0;
    c->key_pem = dup_blob(cfg->key_pem, cfg->key_pem_len);
    c->key_pem_len = c->key_pem ? cfg->key_pem_len : 0;
    c->insecure = cfg->insecure_skip_tls_verify;
}

static void on_token_read(int status, void *arg);
static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *i);

int vr_kube_client_new(struct vr_curl_uv *cu, struct vr_clock *clock,
                       const struct vr_kube_config *cfg, const struct vr_kube_client_opts *opts,
                       struct vr_kube_client **out)
{
    if (!cu || !clock || !clock->loop || !cfg)
        return VR_EINVAL;
    int rc = check_config(cfg);
    if (rc < 0)
        return rc;
    struct vr_kube_client *c = vr_xcalloc(1, sizeof(*c));
    c->cu = cu;
    c->clock = clock;
    c->loop = clock->loop;
    if (opts)
        c->opts = *opts;
    else
        vr_kube_client_opts_default(&c->opts);
    if (!c->opts.max_body)
        c->opts.max_body = DEFAULT_MAX_BODY;
    c->user_agent = vr_xstrdup(c->opts.user_agent ? c->opts.user_agent : "vreq/" VR_VERSION);
    c->opts.user_agent = c->user_agent;
    copy_config(c, cfg);
    vr__ktoken_init(&c->token, c->loop, clock, cfg->token, cfg->token_file, on_token_read, c);
    vr_assert(uv_timer_init(c->loop, &c->timer) == 0);
    vr_assert(uv_idle_init(c->loop, &c->idle) == 0);
    c->handles_open = 2;
    *out = c;
    return 0;
}

const char *vr_kube_client_namespace(const struct vr_kube_client *c)
{
    return c->namespace;
}

void vr_kube_client_set_observer(struct vr_kube_client *c, vr_kube_observer_cb cb, void *arg)
{
    c->observer = cb;
    c->observer_arg = arg;
}

/* ---- teardown ---- */

static void client_free(struct vr_kube_client *c)
{
    vr__ktoken_cleanup(&c->token);
    vr_free(c->user_agent);
    vr_free(c->server);
    vr_free(c->namespace);
    vr_free(c->ca_pem);
    vr_free(c->cert_pem);
    if (c->key_pem)
        vr_free_secret(c->key_pem, c->key_pem_len);
    vr_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct vr_kube_client *c = h->data;
    if (--c->handles_open > 0)
        return;
    void (*cb)(void *) = c->closed_cb;
    void *arg = c->closed_arg;
    client_free(c);
    if (cb)
        cb(arg);
}

static void maybe_finish_close(struct vr_kube_client *c)
{
    if (!c->closing || c->calls || vr__ktoken_is_reading(&c->token) || c->handles_closing)
        return;
    c->handles_closing = true;
    c->timer.data = c;
    c->idle.data = c;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

void vr_kube_client_close(struct vr_kube_client *c, void (*cb)(void *arg), void *arg)
{
    vr_assert(!c->closing);
    c->closing = true;
    c->closed_cb = cb;
    c->closed_arg = arg;
    struct vr_kube_call *next;
    for (struct vr_kube_call *call = c->calls; call; call = next) {
        next = call->next;
        vr_kube_call_cancel(call);
    }
    maybe_finish_close(c);
}

/* ---- calls: creation, completion ---- */

struct vr_kube_call *vr__kube_call_new(struct vr_kube_client *c, const char *verb,
                                       const char *method, vr_kube_done_cb cb, void *arg)
{
    vr_assert(!c->handles_closing);
    struct vr_kube_call *call = vr_xcalloc(1, sizeof(*call));
    call->c = c;
    call->state = VR_KCALL_NEW;
    call->verb = verb;
    call->method = method;
    call->cb = cb;
    call->arg = arg;
    call->start_ms = vr_clock_now_ms(c->clock);
    vr_buf_init(&call->err_body, VR_KUBE_STATUS_BODY_MAX);
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    return call;
}

static void call_free(struct vr_kube_call *call)
{
    struct vr_kube_client *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    vr_free(call->path);
    vr_free(call->url);
    vr_free(call->body);
    vr_buf_cleanup(&call->err_body);
    vr_free(call);
}

static void log_completion(const struct vr_kube_call *call, int status, int http_code)
{
    if (!vr_log_enabled(VR_LOG_DEBUG, "kube"))
        return;
    uint64_t ms = vr_clock_now_ms(call->c->clock) - call->start_ms;
    VR_LOG(VR_LOG_DEBUG, "kube", "%s %s code=%d status=%s retries=%u ms=%llu", call->verb,
           call->path ? call->path : "", http_code, status ? vr_err_name(status) : "ok",
           call->retries, (unsigned long long)ms);
}

/* Runs the callback (the call must be unlinked from nothing yet), then frees the call. */
static void call_complete(struct vr_kube_call *call, int status, const struct vr_kube_result *r)
{
    struct vr_kube_client *c = call->c;
    call_set_state(call, VR_KCALL_DONE);
    log_completion(call, status, r->http_code);
    call->cb(status, r, call->arg);
    call_free(call);
    maybe_finish_close(c);
}

/* Completes later (the idle turn) with status and no response. */
static void finish_later(struct vr_kube_call *call, int status, const char *message)
{
    call->status = status;
    vr_kube_status_local(&call->st, message ? message : vr_strerror(status));
    call_set_state(call, VR_KCALL_FINISHING);
    uv_idle_start(&call->c->idle, on_idle);
}

static struct vr_kube_call *first_finishing(struct vr_kube_client *c)
{
    for (struct vr_kube_call *call = c->calls; call; call = call->next)
        if (call->state == VR_KCALL_FINISHING)
            return call;
    return NULL;
}

static void on_idle(uv_idle_t *i)
{
    struct vr_kube_client *c = container_of(i, struct vr_kube_client, idle);
    struct vr_kube_call *call;
    /* Callbacks may start, cancel or finish other calls, so look again after each. */
    while ((call = first_finishing(c)) != NULL) {
        struct vr_kube_result r = {.http_code = 0, .status = &call->st};
        call_complete(call, call->status, &r);
    }
    if (!c->handles_closing)
        uv_idle_stop(&c->idle);
}

/* ---- the token ---- */

/* Sends the call, reading the token file first when it is due. */
static void call_begin(struct vr_kube_call *call)
{
    struct vr_kube_client *c = call->c;
    if (vr__ktoken_needs_read(&c->token)) {
        int rc = vr__ktoken_read_start(&c->token);
        if (rc == 0) {
            call_set_state(call, VR_KCALL_WAIT_TOKEN);
            return;
        }
        VR_LOG(VR_LOG_WARN, "kube", "cannot read the token file: %s", uv_strerror(rc));
    }
    call_send(call);
}

static void on_token_read(int status, void *arg)
{
    struct vr_kube_client *c = arg;
    if (status < 0)
        VR_LOG(VR_LOG_WARN, "kube", "cannot read the token file %s: %s; keeping the previous token",
               c->token.file, vr_strerror(status));
    struct vr_kube_call *next;
    for (struct vr_kube_call *call = c->calls; call; call = next) {
        next = call->next;
        if (call->state == VR_KCALL_WAIT_TOKEN)
            call_send(call);
    }
    maybe_finish_close(c);
}

void vr_kube_client_flush(struct vr_kube_client *c)
{
    vr_curl_uv_flush(c->cu);
}

void vr_kube_call_skip_object(struct vr_kube_call *call)
{
    call->skip_object = true;
}

struct vr_kube_call *vr__kube_call_submit(struct vr_kube_call *call, int err)
{
    if (err < 0)
        finish_later(call, err, NULL);
    else if (call->c->closing)
        finish_later(call, VR_ESHUTDOWN, NULL);
    else
        call_begin(call);
    return call;
}

/* ---- the request ---- */

static int add_auth(struct vr_kube_call *call, struct vr_req *req)
{
    const char *tok = vr__ktoken_get(&call->c->token);
    char line[AUTH_HEADER_MAX];
    if (!tok)
        return 0;
    int n = snprintf(line, sizeof(line), "Authorization: Bearer %s", tok);
    int rc = n > 0 && (size_t)n < sizeof(line) ? vr_req_add_header(req, line) : VR_ETOOBIG;
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

static int add_headers(struct vr_kube_call *call, struct vr_req *req)
{
    char line[512];
    int rc = vr_req_add_header(req, "Accept: application/json");
    if (rc == 0) {
        (void)snprintf(line, sizeof(line), "User-Agent: %s", call->c->user_agent);
        rc = vr_req_add_header(req, line);
    }
    if (rc == 0 && call->content_type) {
        (void)snprintf(line, sizeof(line), "Content-Type: %s", call->content_type);
        rc = vr_req_add_header(req, line);
    }
    if (rc == 0)
        rc = add_auth(call, req);
    return rc;
}

static int set_tls(const struct vr_kube_client *c, struct vr_req *req)
{
    if (!c->ca_pem && !c->cert_pem && !c->key_pem && !c->insecure)
        return 0;
    struct vr_tls_opts tls = {
        .ca_pem = vr_str_make(c->ca_pem, c->ca_pem_len),
        .cert_pem = vr_str_make(c->cert_pem, c->cert_pem_len),
        .key_pem = vr_str_make(c->key_pem, c->key_pem_len),
        .insecure_skip_verify = c->insecure,
    };
    return vr_req_set_tls(req, &tls);
}

static int on_req_data(struct vr_req *req, struct vr_str chunk, void *arg);
static void on_req_done(struct vr_req *req, int status, void *arg);

static int configure(struct vr_kube_call *call, struct vr_req *req)
{
    struct vr_kube_client *c = call->c;
    int rc = add_headers(call, req);
    if (rc == 0)
        rc = set_tls(c, req);
    if (rc < 0)
        return rc;
    if (call->body)
        vr_req_set_body(req, call->body, call->body_len);
    if (call->watch) {
        vr_req_set_data_cb(req, on_req_data, call);
    } else {
        vr_req_set_body_cap(req, c->opts.max_body);
        vr_req_set_timeout_ms(req, c->opts.timeout_ms);
    }
    return 0;
}

static void call_send(struct vr_kube_call *call)
{
    struct vr_req *req = vr_req_new(call->c->cu, call->method, call->url);
    int rc = configure(call, req);
    if (rc < 0) {
        vr_req_free(req);
        finish_later(call, rc, NULL);
        return;
    }
    call->last_byte_ms = vr_clock_now_ms(call->c->clock);
    call->sent_ms = call->last_byte_ms;
    call->err_body_full = false;
    vr_buf_reset(&call->err_body);
    rc = vr_req_start(req, on_req_done, call);
    if (rc < 0) {
        finish_later(call, rc, NULL);
        return;
    }
    call->req = req;
    call_set_state(call, VR_KCALL_RUNNING);
    if (call->watch && call->idle_timeout_ms)
        arm_timer(call->c);
}

static bool is_2xx(int code)
{
    return code >= 200 && code < 300;
}

static int on_req_data(struct vr_req *req, struct vr_str chunk, void *arg)
{
    struct vr_kube_call *call = arg;
    call->last_byte_ms = vr_clock_now_ms(call->c->clock);
    if (call->cancelled)
        return VR_ECANCELED;
    if (!is_2xx(vr_req_http_status(req))) {
        /* An error before streaming: keep the Status body for the completion. */
        if (!call->err_body_full && vr_buf_append(&call->err_body, chunk.p, chunk.n) < 0)
            call->err_body_full = true;
        return 0;
    }
    return call->data_cb(chunk, call->arg);
}

/* ---- completion of a request ---- */

/* A 2xx body: parsed into arena when present (the tree goes with the arena, never through
 * cJSON_Delete); a Status with "status":"Failure" is still an error. */
static int parse_success(struct vr_kube_call *call, struct vr_str body, int http,
                         struct vr_arena *arena, const cJSON **obj)
{
    const char *end = NULL;
    *obj = NULL;
    if (vr_str_trim(body).n == 0)
        return 0;
    cJSON *doc = vr_arena_parse_json(arena, body.p, body.n, &end);
    if (!doc || vr_str_trim(vr_str_make(end, body.n - (size_t)(end - body.p))).n != 0) {
        vr_kube_status_local(&call->st, "malformed JSON in a successful response");
        call->st.code = http;
        return VR_EPARSE;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0 && cJSON_IsString(st) &&
        strcmp(st->valuestring, "Failure") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "code");
        int c = cJSON_IsNumber(code) && code->valuedouble >= 400 && code->valuedouble < 600
                    ? (int)code->valuedouble
                    : 500;
        return vr_kube_status_parse(c, body, vr_str_make(NULL, 0), &call->st);
    }
    *obj = doc;
    return 0;
}

/* Whether to wait out Retry-After and send again (client-go's checkWait). */
static bool should_retry(struct vr_kube_call *call, struct vr_req *req, int http)
{
    if (call->watch || call->c->closing || call->retries >= call->c->opts.max_retries)
        return false;
    if (http != 429 && http < 500)
        return false;
    int s = vr_kube_retry_after_header(vr_req_header(req, "Retry-After"));
    if (s < 0)
        return false;
    call->due_ms = vr_clock_now_ms(call->c->clock) + (uint64_t)s * 1000;
    return true;
}

/* A 401 with a token file: re-read the file and send once more. */
static bool should_reauth(struct vr_kube_call *call, int http)
{
    if (http != 401 || call->auth_retried || call->c->closing ||
        !vr__ktoken_has_file(&call->c->token))
        return false;
    call->auth_retried = true;
    vr__ktoken_invalidate(&call->c->token);
    return true;
}

static void done_error_response(struct vr_kube_call *call, struct vr_req *req, int http)
{
    struct vr_str body = call->watch ? vr_buf_str(&call->err_body) : vr_req_body(req);
    int rc = vr_kube_status_parse(http, body, vr_req_header(req, "Retry-After"), &call->st);
    if (should_reauth(call, http)) {
        call_begin(call);
        return;
    }
    if (should_retry(call, req, http)) {
        call_set_state(call, VR_KCALL_RETRY_WAIT);
        arm_timer(call->c);
        return;
    }
    struct vr_kube_result r = {.http_code = http, .body = body, .status = &call->st};
    call_complete(call, rc, &r);
}

static void done_success(struct vr_kube_call *call, struct vr_req *req, int http)
{
    const cJSON *obj = NULL;
    struct vr_str body = vr_req_body(req);
    /* A tree takes several times its text: a first block of 4x the body is mostly enough. */
    struct vr_arena arena;
    vr_arena_init(&arena, body.n * 4);
    int rc = call->watch || call->skip_object ? 0
                                              : parse_success(call, body, http, &arena, &obj);
    struct vr_kube_result r = {.http_code = http, .obj = obj, .body = body, .status = &call->st};
    call_complete(call, rc, &r);
    vr_arena_cleanup(&arena);
}

static void on_req_done(struct vr_req *req, int status, void *arg)
{
    struct vr_kube_call *call = arg;
    int http = vr_req_http_status(req);
    call->req = NULL;
    memset(&call->st, 0, sizeof(call->st));
    if (call->cancelled)
        status = VR_ECANCELED;
    else if (status == VR_ECANCELED && call->idle_expired)
        status = VR_ETIMEDOUT;
    struct vr_kube_client *c = call->c;
    if (c->observer && status != VR_ECANCELED)
        c->observer(call->verb, status < 0 ? 0 : http, vr_clock_now_ms(c->clock) - call->sent_ms,
                    c->observer_arg);
    if (status < 0) {
        const char *text = status == VR_ETIMEDOUT && call->idle_expired
                               ? "watch idle timeout: no bytes received"
                               : vr_req_error_text(req);
        vr_kube_status_local(&call->st, status == VR_ECANCELED ? vr_strerror(status) : text);
        call->st.code = http;
        struct vr_kube_result r = {.http_code = http, .status = &call->st};
        call_complete(call, status, &r);
    } else if (is_2xx(http)) {
        done_success(call, req, http);
    } else {
        done_error_response(call, req, http);
    }
}

/* ---- the timer: retry waits and watch idle deadlines ---- */

static bool call_deadline(const struct vr_kube_call *call, uint64_t *out)
{
    if (call->state == VR_KCALL_RETRY_WAIT) {
        *out = call->due_ms;
        return true;
    }
    if (call->state == VR_KCALL_RUNNING && call->watch && call->idle_timeout_ms &&
        !call->idle_expired && !call->cancelled) {
        *out = call->last_byte_ms + call->idle_timeout_ms;
        return true;
    }
    return false;
}

static void arm_timer(struct vr_kube_client *c)
{
    uint64_t min = UINT64_MAX, d;
    if (c->handles_closing)
        return;
    for (struct vr_kube_call *call = c->calls; call; call = call->next)
        if (call_deadline(call, &d) && d < min)
            min = d;
    if (min == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = vr_clock_now_ms(c->clock);
    uv_timer_start(&c->timer, on_timer, min > now ? min - now : 0, 0);
}

static void run_due(struct vr_kube_client *c, uint64_t now)
{
    struct vr_kube_call *next;
    for (struct vr_kube_call *call = c->calls; call; call = next) {
        next = call->next;
        uint64_t d;
        if (!call_deadline(call, &d) || d > now)
            continue;
        if (call->state == VR_KCALL_RETRY_WAIT) {
            call->retries++;
            call_begin(call);
        } else {
            /* Bytes stopped: a half-open connection. The done callback reports it. */
            call->idle_expired = true;
            vr_req_cancel(call->req);
        }
    }
}

static void on_timer(uv_timer_t *t)
{
    struct vr_kube_client *c = container_of(t, struct vr_kube_client, timer);
    run_due(c, vr_clock_now_ms(c->clock));
    arm_timer(c);
}

/* ---- cancel ---- */

void vr_kube_call_cancel(struct vr_kube_call *call)
{
    switch (call->state) {
    case VR_KCALL_NEW:
    case VR_KCALL_FINISHING:
    case VR_KCALL_DONE:
        return;
    case VR_KCALL_RUNNING:
        if (!call->cancelled) {
            call->cancelled = true;
            vr_req_cancel(call->req);
        }
        return;
    case VR_KCALL_WAIT_TOKEN:
    case VR_KCALL_RETRY_WAIT:
        finish_later(call, VR_ECANCELED, NULL);
        arm_timer(call->c);
        return;
    }
}
