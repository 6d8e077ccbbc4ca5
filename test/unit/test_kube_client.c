/*
 * The async kube client against kubesim running in-process on the same loop (every verb,
 * paging, typed errors, retries, watches, tokens, cancel, close), plus a small recording
 * httpd for what kubesim cannot show (headers and URLs as sent, connection reuse, odd
 * bodies). No sleeps: the loop is driven with vr_test_run_until; Retry-After waits are
 * real one-second timers.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "kube/client.h"
#include "kube/client_int.h"
#include "kube/status.h"
#include "sim.h"
#include "sim_int.h"
#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define RUN_MS 15000
#define MAX_SEEN 32
#define DR (&vr_kube_res_downloadrequests)

/* ---- the recording server ---- */

struct seen {
    char method[16];
    char target[512]; /* path?query */
    char accept[64];
    char ctype[64];
    char ua[64];
    char auth[128];
    char peer[64];
};

struct rec {
    struct vr_httpd *httpd;
    int n;
    struct seen seen[MAX_SEEN];
    const char *expect_token; /* answer 401 unless "Bearer <expect_token>" */
    const char *reply;        /* body of 200 answers ("{}" when NULL) */
    int reply_code;           /* 200 when 0 */
};

static void copy_hdr(char *out, size_t cap, struct vr_str v)
{
    (void)snprintf(out, cap, "%.*s", (int)v.n, v.p ? v.p : "");
}

static void rec_handler(struct vr_http_req *req, void *arg)
{
    struct rec *r = arg;
    struct seen *s = &r->seen[r->n < MAX_SEEN ? r->n : MAX_SEEN - 1];
    r->n++;
    struct vr_str path = vr_http_req_path(req), q = vr_http_req_query(req);
    (void)snprintf(s->method, sizeof(s->method), "%s", vr_http_req_method(req));
    (void)snprintf(s->target, sizeof(s->target), "%.*s%s%.*s", (int)path.n, path.p,
                   q.n ? "?" : "", (int)q.n, q.p ? q.p : "");
    copy_hdr(s->accept, sizeof(s->accept), vr_http_req_header(req, "Accept"));
    copy_hdr(s->ctype, sizeof(s->ctype), vr_http_req_header(req, "Content-Type"));
    copy_hdr(s->ua, sizeof(s->ua), vr_http_req_header(req, "User-Agent"));
    copy_hdr(s->auth, sizeof(s->auth), vr_http_req_header(req, "Authorization"));
    (void)snprintf(s->peer, sizeof(s->peer), "%s", vr_http_req_peer(req));
    if (r->expect_token) {
        char want[160];
        (void)snprintf(want, sizeof(want), "Bearer %s", r->expect_token);
        if (strcmp(s->auth, want) != 0) {
            static const char st[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                                     "\"Failure\",\"reason\":\"Unauthorized\",\"code\":401}";
            vr_http_respond(req, 401, "application/json", st, sizeof(st) - 1);
            return;
        }
    }
    const char *body = r->reply ? r->reply : "{}";
    vr_http_respond(req, r->reply_code ? r->reply_code : 200, "application/json", body,
                    strlen(body));
}

/* ---- fixture ---- */

struct fx {
    uv_loop_t loop;
    struct vr_fake_clock fclock; /* used by clients made with fake = true */
    struct vr_clock clock;
    struct ks_sim *sim;
    struct rec rec;
    struct vr_curl_uv *cu;
    struct vr_kube_client *kc;
    char sim_url[64];
    char rec_url[64];
    char tokfile[64];
    bool kc_closed, cu_closed, sim_closed, rec_closed;
};

static void on_flag(void *arg)
{
    *(bool *)arg = true;
}

static int is_true(void *arg)
{
    return *(bool *)arg;
}

static struct vr_kube_client *client_new(struct fx *f, const char *server, const char *token,
                                         const char *token_file, unsigned max_retries,
                                         bool fake_clock)
{
    struct vr_kube_config cfg = {0};
    cfg.server = (char *)server;
    cfg.namespace = (char *)"velero";
    cfg.token = (char *)token;
    cfg.token_file = (char *)token_file;
    struct vr_kube_client_opts o;
    vr_kube_client_opts_default(&o);
    o.max_retries = max_retries;
    o.user_agent = "vreq-test/1";
    struct vr_kube_client *kc = NULL;
    struct vr_clock *clock = fake_clock ? &f->fclock.clock : &f->clock;
    assert_int_equal(vr_kube_client_new(f->cu, clock, &cfg, &o, &kc), 0);
    return kc;
}

static void client_close(struct fx *f, struct vr_kube_client *kc)
{
    bool closed = false;
    vr_kube_client_close(kc, on_flag, &closed);
    assert_false(closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &closed, RUN_MS));
}

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    vr_clock_init_system(&f->clock, &f->loop);
    vr_fake_clock_init(&f->fclock, 1000000, 1700000000);
    f->fclock.clock.loop = &f->loop;
    struct ks_sim_opts so;
    ks_sim_opts_default(&so);
    so.status_subresource = true;
    assert_int_equal(ks_sim_new(&f->loop, &so, &f->sim), 0);
    assert_int_equal(ks_sim_listen(f->sim, "127.0.0.1:0"), 0);
    (void)snprintf(f->sim_url, sizeof(f->sim_url), "http://127.0.0.1:%d", ks_sim_port(f->sim));
    assert_int_equal(vr_httpd_new(&f->loop, NULL, rec_handler, &f->rec, &f->rec.httpd), 0);
    assert_int_equal(vr_httpd_listen(f->rec.httpd, "127.0.0.1:0"), 0);
    (void)snprintf(f->rec_url, sizeof(f->rec_url), "http://127.0.0.1:%d",
                   vr_httpd_port(f->rec.httpd));
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    f->kc = client_new(f, f->sim_url, NULL, NULL, 10, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->kc)
        client_close(f, f->kc);
    vr_curl_uv_close(f->cu, on_flag, &f->cu_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->cu_closed, RUN_MS));
    ks_sim_close(f->sim, on_flag, &f->sim_closed);
    vr_httpd_close(f->rec.httpd, on_flag, &f->rec_closed);
    assert_true(vr_test_run_until(&f->loop, is_true, &f->sim_closed, RUN_MS));
    assert_true(vr_test_run_until(&f->loop, is_true, &f->rec_closed, RUN_MS));
    vr_test_loop_close(&f->loop);
    if (f->tokfile[0])
        (void)unlink(f->tokfile);
    vr_free(f);
    return 0;
}

/* ---- recording callbacks ---- */

static bool g_in_call; /* set around calls that start or cancel: callbacks must not run */

struct res {
    int calls;
    int status;
    int http;
    struct vr_kube_status st;
    cJSON *obj;
    char body[512];
    /* watches */
    struct vr_buf data;
    int chunks;
};

static void res_init(struct res *r)
{
    memset(r, 0, sizeof(*r));
    vr_buf_init(&r->data, 1 << 20);
}

static void res_reset(struct res *r)
{
    cJSON_Delete(r->obj);
    vr_buf_cleanup(&r->data);
    res_init(r);
}

static void on_done(int status, const struct vr_kube_result *kr, void *arg)
{
    struct res *r = arg;
    assert_false(g_in_call);
    assert_non_null(kr->status);
    r->calls++;
    r->status = status;
    r->http = kr->http_code;
    r->st = *kr->status;
    cJSON_Delete(r->obj);
    r->obj = kr->obj ? cJSON_Duplicate(kr->obj, true) : NULL;
    copy_hdr(r->body, sizeof(r->body), kr->body);
}

static int on_data(struct vr_str chunk, void *arg)
{
    struct res *r = arg;
    r->chunks++;
    assert_int_equal(vr_buf_append(&r->data, chunk.p, chunk.n), 0);
    return 0;
}

static int has_calls(void *arg)
{
    return ((struct res *)arg)->calls > 0;
}

static void wait_done(struct fx *f, struct res *r)
{
    assert_true(vr_test_run_until(&f->loop, has_calls, r, RUN_MS));
    assert_int_equal(r->calls, 1);
}

static const char *meta(const cJSON *obj, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *field2(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- synchronous-looking wrappers (each checks the callback is deferred) ---- */

#define CALL(r, expr)                                                                              \
    do {                                                                                           \
        res_reset(r);                                                                              \
        g_in_call = true;                                                                          \
        assert_non_null(expr);                                                                     \
        g_in_call = false;                                                                         \
        assert_int_equal((r)->calls, 0);                                                           \
        wait_done(f, r);                                                                           \
    } while (0)

static char *dr_json(const char *name, const char *rv)
{
    return vr_xasprintf("{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\","
                        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"velero\"%s%s%s},"
                        "\"spec\":{\"target\":{\"kind\":\"BackupLog\",\"name\":\"b-%s\"}}}",
                        name, rv ? ",\"resourceVersion\":\"" : "", rv ? rv : "", rv ? "\"" : "",
                        name);
}

static void create_dr(struct fx *f, struct vr_kube_client *kc, const char *name)
{
    struct res r;
    res_init(&r);
    char *body = dr_json(name, NULL);
    CALL(&r, vr_kube_create(kc, DR, "velero", body, on_done, &r));
    vr_free(body);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 201);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* A raw admin request to kubesim (faults, token, compact); returns the HTTP status. */
struct admin_res {
    bool done;
    int http;
};

static void on_admin_done(struct vr_req *req, int status, void *arg)
{
    struct admin_res *a = arg;
    assert_int_equal(status, 0);
    a->http = vr_req_http_status(req);
    a->done = true;
}

static int admin(struct fx *f, const char *method, const char *path, const char *body)
{
    struct admin_res a = {0};
    char *u = vr_xasprintf("%s%s", f->sim_url, path);
    struct vr_req *req = vr_req_new(f->cu, method, u);
    vr_free(u);
    if (body)
        vr_req_set_body(req, body, strlen(body));
    assert_int_equal(vr_req_start(req, on_admin_done, &a), 0);
    assert_true(vr_test_run_until(&f->loop, is_true, &a.done, RUN_MS));
    return a.http;
}

static void fault(struct fx *f, const char *rule)
{
    assert_int_equal(admin(f, "POST", "/kubesim/faults", rule), 201);
}

/* ---- verbs against kubesim ---- */

static void test_crud(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    create_dr(f, f->kc, "crud-a");
    char *body = dr_json("crud-a", NULL);
    CALL(&r, vr_kube_create(f->kc, DR, NULL, body, on_done, &r));
    vr_free(body);
    assert_int_equal(r.status, VR_EEXIST);
    assert_int_equal(r.http, 409);
    assert_string_equal(r.st.reason, "AlreadyExists");
    assert_non_null(strstr(r.st.message, "already exists"));
    assert_null(r.obj);

    CALL(&r, vr_kube_get(f->kc, DR, "velero", "crud-a", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(meta(r.obj, "name"), "crud-a");
    char *rv = vr_xstrdup(meta(r.obj, "resourceVersion"));
    char *uid = vr_xstrdup(meta(r.obj, "uid"));

    CALL(&r, vr_kube_get(f->kc, DR, "velero", "missing", on_done, &r));
    assert_int_equal(r.status, VR_ENOTFOUND);
    assert_int_equal(r.st.code, 404);
    assert_string_equal(r.st.reason, "NotFound");
    assert_string_equal(r.st.message, "downloadrequests.velero.io \"missing\" not found");

    /* A write moves the RV on; a PUT with the old one conflicts. */
    CALL(&r, vr_kube_patch(f->kc, DR, "velero", "crud-a", NULL, VR_KUBE_PATCH_MERGE,
                           "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(field2(cJSON_GetObjectItemCaseSensitive(r.obj, "metadata"), "labels",
                               "a"),
                        "1");
    body = dr_json("crud-a", rv);
    CALL(&r, vr_kube_update(f->kc, DR, "velero", "crud-a", NULL, body, on_done, &r));
    vr_free(body);
    assert_int_equal(r.status, VR_ECONFLICT);
    assert_string_equal(r.st.reason, "Conflict");
    assert_non_null(strstr(r.st.message, "the object has been modified"));

    CALL(&r, vr_kube_get(f->kc, DR, NULL, "crud-a", on_done, &r)); /* NULL: client's ns */
    assert_int_equal(r.status, 0);
    body = dr_json("crud-a", meta(r.obj, "resourceVersion"));
    CALL(&r, vr_kube_update(f->kc, DR, "velero", "crud-a", NULL, body, on_done, &r));
    vr_free(body);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http, 200);

    CALL(&r, vr_kube_patch(f->kc, DR, "velero", "crud-a", NULL, VR_KUBE_PATCH_JSON,
                           "[{\"op\":\"replace\",\"path\":\"/spec/target/name\",\"value\":\"j\"}]",
                           on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(field2(cJSON_GetObjectItemCaseSensitive(r.obj, "spec"), "target",
                               "name"),
                        "j");

    /* /status: merge, then JSON patch. */
    CALL(&r, vr_kube_patch(f->kc, DR, "velero", "crud-a", "status", VR_KUBE_PATCH_MERGE,
                           "{\"status\":{\"phase\":\"New\"}}", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(field2(r.obj, "status", "phase"), "New");
    CALL(&r, vr_kube_patch(f->kc, DR, "velero", "crud-a", "status", VR_KUBE_PATCH_JSON,
                           "[{\"op\":\"add\",\"path\":\"/status/downloadURL\",\"value\":\"u\"}]",
                           on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(field2(r.obj, "status", "downloadURL"), "u");
    assert_string_equal(field2(r.obj, "status", "phase"), "New");

    /* A failed JSON-patch test is 422. */
    CALL(&r, vr_kube_patch(f->kc, DR, "velero", "crud-a", NULL, VR_KUBE_PATCH_JSON,
                           "[{\"op\":\"test\",\"path\":\"/spec/target/name\",\"value\":\"x\"}]",
                           on_done, &r));
    assert_int_equal(r.status, VR_EINVALID);
    assert_int_equal(r.st.code, 422);

    CALL(&r, vr_kube_delete(f->kc, DR, "velero", "crud-a", "not-the-uid", NULL, on_done, &r));
    assert_int_equal(r.status, VR_ECONFLICT);
    assert_non_null(strstr(r.st.message, "Precondition failed"));
    CALL(&r, vr_kube_delete(f->kc, DR, "velero", "crud-a", uid, NULL, on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r.obj, "status")->valuestring,
                        "Success");
    CALL(&r, vr_kube_delete(f->kc, DR, "velero", "crud-a", NULL, NULL, on_done, &r));
    assert_int_equal(r.status, VR_ENOTFOUND);
    vr_free(rv);
    vr_free(uid);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_list_paged(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    const char *names[] = {"p-0", "p-1", "p-2", "p-3", "p-4"};
    for (size_t i = 0; i < 5; i++)
        create_dr(f, f->kc, names[i]);
    char got[8][16];
    int ngot = 0, pages = 0;
    char cont[2048] = "", list_rv[32] = "";
    do {
        struct vr_kube_list_opts lo = {.limit = 2, .continue_token = cont[0] ? cont : NULL};
        CALL(&r, vr_kube_list(f->kc, DR, "velero", &lo, on_done, &r));
        assert_int_equal(r.status, 0);
        pages++;
        const char *rv = meta(r.obj, "resourceVersion");
        if (!list_rv[0])
            (void)snprintf(list_rv, sizeof(list_rv), "%s", rv);
        assert_string_equal(rv, list_rv);
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.obj, "items");
        assert_true(cJSON_GetArraySize(items) <= 2);
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            assert_true(ngot < 8);
            (void)snprintf(got[ngot++], sizeof(got[0]), "%s", meta(it, "name"));
        }
        const char *c = meta(r.obj, "continue");
        (void)snprintf(cont, sizeof(cont), "%s", c ? c : "");
    } while (cont[0]);
    assert_int_equal(pages, 3);
    assert_int_equal(ngot, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(got[i], names[i]);

    /* All namespaces, selectors, and a bad continue token. */
    struct vr_kube_list_opts lo = {.field_selector = "metadata.name=p-3"};
    CALL(&r, vr_kube_list(f->kc, DR, NULL, &lo, on_done, &r));
    assert_int_equal(r.status, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.obj, "items")), 1);
    struct vr_kube_list_opts bad = {.limit = 2, .continue_token = "not a token&x=1"};
    CALL(&r, vr_kube_list(f->kc, DR, "velero", &bad, on_done, &r));
    assert_int_equal(r.status, VR_EBADREQ);
    assert_string_equal(r.st.reason, "BadRequest");

    /* A token issued before a compaction has expired. */
    struct vr_kube_list_opts first = {.limit = 2};
    CALL(&r, vr_kube_list(f->kc, DR, "velero", &first, on_done, &r));
    (void)snprintf(cont, sizeof(cont), "%s", meta(r.obj, "continue"));
    assert_int_equal(admin(f, "POST", "/kubesim/compact", NULL), 200);
    struct vr_kube_list_opts next = {.limit = 2, .continue_token = cont};
    CALL(&r, vr_kube_list(f->kc, DR, "velero", &next, on_done, &r));
    assert_int_equal(r.status, VR_EGONE);
    assert_string_equal(r.st.reason, "Expired");
    assert_non_null(strstr(r.st.message, "continue parameter is too old"));
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- errors, retries ---- */

static uint64_t stat_count(struct fx *f, const char *cls);

static void test_retry_after(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    create_dr(f, f->kc, "retry-a");
    uint64_t gets = stat_count(f, "GET");
    /* 500 with Retry-After, then a plain-text 429 with Retry-After: both waited out. */
    fault(f, "{\"method\":\"GET\",\"code\":500,\"retry_after\":1}");
    fault(f, "{\"method\":\"GET\",\"code\":429,\"plain\":true,\"retry_after\":1}");
    CALL(&r, vr_kube_get(f->kc, DR, "velero", "retry-a", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(meta(r.obj, "name"), "retry-a");
    assert_int_equal(stat_count(f, "GET"), gets + 3);

    /* 503 without Retry-After: no retry. */
    fault(f, "{\"method\":\"GET\",\"code\":503}");
    CALL(&r, vr_kube_get(f->kc, DR, "velero", "retry-a", on_done, &r));
    assert_int_equal(r.status, VR_ESERVER);
    assert_int_equal(r.st.code, 503);
    assert_int_equal(r.st.retry_after_s, 0);
    assert_int_equal(stat_count(f, "GET"), gets + 4);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_no_retries(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    struct vr_kube_client *kc = client_new(f, f->sim_url, NULL, NULL, 0, false);
    fault(f, "{\"method\":\"LIST\",\"code\":429,\"plain\":true,\"retry_after\":7}");
    CALL(&r, vr_kube_list(kc, DR, "velero", NULL, on_done, &r));
    assert_int_equal(r.status, VR_ETHROTTLED);
    assert_int_equal(r.http, 429);
    assert_int_equal(r.st.retry_after_s, 7);
    assert_string_equal(r.st.reason, "TooManyRequests");
    assert_string_equal(r.st.message, "Too many requests, please try again later.");
    fault(f, "{\"method\":\"LIST\",\"code\":429,\"retry_after\":4}");
    CALL(&r, vr_kube_list(kc, DR, "velero", NULL, on_done, &r));
    assert_int_equal(r.status, VR_ETHROTTLED);
    assert_int_equal(r.st.retry_after_s, 4);
    assert_string_equal(r.st.message, "kubesim injected fault: HTTP 429");
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_transport_error(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    /* A port nobody listens on: bind one, then close it. */
    uv_tcp_t tcp;
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    assert_int_equal(uv_tcp_init(&f->loop, &tcp), 0);
    assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&bound, &len), 0);
    int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_close((uv_handle_t *)&tcp, NULL);
    char url[64];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct vr_kube_client *kc = client_new(f, url, NULL, NULL, 10, false);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, VR_EHTTP);
    assert_int_equal(r.st.code, 0);
    assert_true(strlen(r.st.message) > 0);
    assert_non_null(strstr(r.st.message, "onnect")); /* curl: "Failed to connect ..." */
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- what the recording server sees ---- */

static void test_headers_urls_reuse(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    struct vr_kube_client *kc = client_new(f, f->rec_url, "static-tok", NULL, 10, false);
    CALL(&r, vr_kube_get(kc, DR, "my ns", "a/b?c", on_done, &r));
    assert_int_equal(r.status, 0);
    struct vr_kube_list_opts lo = {.resource_version = "0",
                                   .label_selector = "app=x,tier in (a b)",
                                   .limit = 500,
                                   .continue_token = "ab+/="};
    CALL(&r, vr_kube_list(kc, &vr_kube_res_secrets, "velero", &lo, on_done, &r));
    CALL(&r, vr_kube_create(kc, &vr_kube_res_crds, "ignored", "{}", on_done, &r));
    CALL(&r, vr_kube_patch(kc, DR, NULL, "n", "status", VR_KUBE_PATCH_MERGE, "{}", on_done,
                           &r));
    CALL(&r, vr_kube_patch(kc, &vr_kube_res_leases, "velero", "l", NULL, VR_KUBE_PATCH_JSON, "[]",
                           on_done, &r));
    CALL(&r, vr_kube_update(kc, DR, "velero", "n", NULL, "{}", on_done, &r));
    CALL(&r, vr_kube_delete(kc, DR, "velero", "n", "u-1", "7", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_int_equal(f->rec.n, 7);
    struct seen *s = f->rec.seen;
    assert_string_equal(s[0].method, "GET");
    assert_string_equal(s[0].target,
                        "/apis/velero.io/v1/namespaces/my%20ns/downloadrequests/a%2Fb%3Fc");
    assert_string_equal(s[1].target,
                        "/api/v1/namespaces/velero/secrets?resourceVersion=0&labelSelector=app%3Dx"
                        "%2Ctier%20in%20%28a%20b%29&limit=500&continue=ab%2B%2F%3D");
    assert_string_equal(s[2].target, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    assert_string_equal(s[2].method, "POST");
    assert_string_equal(s[2].ctype, "application/json");
    assert_string_equal(s[3].target, "/apis/velero.io/v1/namespaces/velero/downloadrequests/n/status");
    assert_string_equal(s[3].ctype, "application/merge-patch+json");
    assert_string_equal(s[4].target, "/apis/coordination.k8s.io/v1/namespaces/velero/leases/l");
    assert_string_equal(s[4].ctype, "application/json-patch+json");
    assert_string_equal(s[5].method, "PUT");
    assert_string_equal(s[5].ctype, "application/json");
    assert_string_equal(s[6].method, "DELETE");
    assert_string_equal(s[6].ctype, "application/json");
    for (int i = 0; i < 7; i++) {
        assert_string_equal(s[i].accept, "application/json");
        assert_string_equal(s[i].ua, "vreq-test/1");
        assert_string_equal(s[i].auth, "Bearer static-tok");
        /* One kept-alive connection served every call. */
        assert_string_equal(s[i].peer, s[0].peer);
    }
    assert_string_equal(s[0].ctype, "");
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_odd_bodies(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    struct vr_kube_client *kc = client_new(f, f->rec_url, NULL, NULL, 10, false);
    f->rec.reply = "not json";
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, VR_EPARSE);
    f->rec.reply = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Conflict\","
                   "\"message\":\"nope\",\"code\":409}";
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, VR_ECONFLICT);
    assert_string_equal(r.st.message, "nope");
    f->rec.reply = "";
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_null(r.obj);
    f->rec.reply = "<html>oops</html>";
    f->rec.reply_code = 502;
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, VR_ESERVER);
    assert_string_equal(r.st.message, "<html>oops</html>");
    f->rec.reply_code = 403;
    f->rec.reply = "";
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, VR_EFORBIDDEN);
    assert_string_equal(r.st.reason, "Forbidden");
    assert_string_equal(r.st.message, "HTTP 403");
    /* Invalid arguments are reported through the callback, later. */
    CALL(&r, vr_kube_get(kc, DR, "velero", "..", on_done, &r));
    assert_int_equal(r.status, VR_EINVAL);
    CALL(&r, vr_kube_get(kc, DR, "velero", "", on_done, &r));
    assert_int_equal(r.status, VR_EINVAL);
    CALL(&r, vr_kube_create(kc, DR, "velero", NULL, on_done, &r));
    assert_int_equal(r.status, VR_EINVAL);
    assert_int_equal(f->rec.n, 5);
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- watches ---- */

static void test_watch(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    create_dr(f, f->kc, "w-a");
    create_dr(f, f->kc, "w-b");
    struct vr_kube_watch_opts wo = {.timeout_s = 1, .allow_bookmarks = true};
    CALL(&r, vr_kube_watch(f->kc, DR, "velero", &wo, on_data, on_done, &r));
    assert_int_equal(r.status, 0); /* the server ended the stream cleanly */
    assert_int_equal(r.http, 200);
    assert_true(r.chunks >= 1);
    const char *d = r.data.p;
    assert_non_null(strstr(d, "{\"type\":\"ADDED\""));
    assert_non_null(strstr(d, "\"w-a\""));
    assert_non_null(strstr(d, "\"w-b\""));

    /* An HTTP error before streaming is typed; no data reaches the callback. */
    struct vr_kube_watch_opts bad = {.resource_version = "abc"};
    CALL(&r, vr_kube_watch(f->kc, DR, "velero", &bad, on_data, on_done, &r));
    assert_int_equal(r.status, VR_EBADREQ);
    assert_int_equal(r.chunks, 0);
    assert_non_null(strstr(r.st.message, "invalid resource version"));

    /* A watch refused with 429 is not retried here (the informer decides). */
    uint64_t watches = stat_count(f, "WATCH");
    fault(f, "{\"method\":\"WATCH\",\"code\":429,\"retry_after\":1}");
    CALL(&r, vr_kube_watch(f->kc, DR, "velero", &wo, on_data, on_done, &r));
    assert_int_equal(r.status, VR_ETHROTTLED);
    assert_int_equal(r.st.retry_after_s, 1);
    assert_int_equal(stat_count(f, "WATCH"), watches + 1);

    /* No byte for idle_timeout_ms: a half-open connection is given up. */
    struct vr_kube_watch_opts idle = {.idle_timeout_ms = 300};
    CALL(&r, vr_kube_watch(f->kc, DR, "kube-public", &idle, on_data, on_done, &r));
    assert_int_equal(r.status, VR_ETIMEDOUT);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static int stop_data(struct vr_str chunk, void *arg)
{
    struct res *r = arg;
    (void)chunk;
    r->chunks++;
    return VR_ETOOBIG;
}

static void test_watch_data_abort(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    create_dr(f, f->kc, "wa-a");
    struct vr_kube_watch_opts wo = {.timeout_s = 30};
    CALL(&r, vr_kube_watch(f->kc, DR, "velero", &wo, stop_data, on_done, &r));
    assert_int_equal(r.status, VR_ETOOBIG);
    assert_int_equal(r.chunks, 1);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- tokens ---- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void make_tokfile(struct fx *f, const char *text)
{
    (void)snprintf(f->tokfile, sizeof(f->tokfile), "/tmp/vr-kube-token-XXXXXX");
    int fd = mkstemp(f->tokfile);
    assert_true(fd >= 0);
    (void)close(fd);
    write_file(f->tokfile, text);
}

static void test_token_static(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    assert_int_equal(admin(f, "POST", "/kubesim/token", "{\"token\":\"tok-s\"}"), 200);
    struct vr_kube_client *good = client_new(f, f->sim_url, "tok-s", NULL, 10, false);
    struct vr_kube_client *bad = client_new(f, f->sim_url, "wrong", NULL, 10, false);
    CALL(&r, vr_kube_get(good, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_ENOTFOUND); /* authenticated */
    CALL(&r, vr_kube_get(bad, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_EUNAUTH);
    assert_string_equal(r.st.reason, "Unauthorized");
    CALL(&r, vr_kube_get(f->kc, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_EUNAUTH); /* no token at all */
    client_close(f, good);
    client_close(f, bad);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_token_file_401(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    make_tokfile(f, "tok-1\n");
    assert_int_equal(admin(f, "POST", "/kubesim/token", "{\"token\":\"tok-1\"}"), 200);
    struct vr_kube_client *kc = client_new(f, f->sim_url, NULL, f->tokfile, 10, false);
    CALL(&r, vr_kube_get(kc, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_ENOTFOUND);
    /* Rotation: the server and the file change; the cached token gets a 401, the file is
     * read again and the call is sent once more. */
    assert_int_equal(admin(f, "POST", "/kubesim/token", "{\"token\":\"tok-2\"}"), 200);
    write_file(f->tokfile, "tok-2");
    uint64_t gets = stat_count(f, "GET");
    CALL(&r, vr_kube_get(kc, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_ENOTFOUND);
    assert_int_equal(stat_count(f, "GET"), gets + 1); /* 401s are not counted */
    /* Only the server changes: one re-read, one more try, then the 401 goes out. */
    assert_int_equal(admin(f, "POST", "/kubesim/token", "{\"token\":\"tok-3\"}"), 200);
    CALL(&r, vr_kube_get(kc, DR, "velero", "none", on_done, &r));
    assert_int_equal(r.status, VR_EUNAUTH);
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static void test_token_file_age(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    make_tokfile(f, "  tok-1 \n");
    struct vr_kube_client *kc = client_new(f, f->rec_url, "static", f->tokfile, 10, true);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    write_file(f->tokfile, "tok-2\n");
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    vr_fake_clock_advance(&f->fclock, 49000);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    vr_fake_clock_advance(&f->fclock, 1000);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    /* The file disappears: the last good token stays in use. */
    assert_int_equal(unlink(f->tokfile), 0);
    vr_fake_clock_advance(&f->fclock, 60000);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_int_equal(f->rec.n, 5);
    assert_string_equal(f->rec.seen[0].auth, "Bearer tok-1"); /* the file wins */
    assert_string_equal(f->rec.seen[1].auth, "Bearer tok-1"); /* cached */
    assert_string_equal(f->rec.seen[2].auth, "Bearer tok-1"); /* 49 s old */
    assert_string_equal(f->rec.seen[3].auth, "Bearer tok-2"); /* 50 s: read again */
    assert_string_equal(f->rec.seen[4].auth, "Bearer tok-2");
    client_close(f, kc);

    /* An unreadable file from the start: the static token is the fallback. */
    kc = client_new(f, f->rec_url, "static", "/nonexistent/vr-token", 10, true);
    CALL(&r, vr_kube_get(kc, DR, "velero", "x", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(f->rec.seen[5].auth, "Bearer static");
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- cancel and close ---- */

static struct vr_kube_call *g_call;

static int in_retry_wait(void *arg)
{
    (void)arg;
    return g_call->state == VR_KCALL_RETRY_WAIT;
}

static uint64_t g_gets;

static int server_saw_get(void *arg)
{
    return ((struct ks_sim *)arg)->counts[KS_REQ_GET] > g_gets;
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    /* Before anything was sent. */
    res_reset(&r);
    g_in_call = true;
    struct vr_kube_call *call = vr_kube_get(f->kc, DR, "velero", "x", on_done, &r);
    vr_kube_call_cancel(call);
    vr_kube_call_cancel(call); /* twice is fine */
    g_in_call = false;
    wait_done(f, &r);
    assert_int_equal(r.status, VR_ECANCELED);

    /* In flight: the server holds the request. */
    fault(f, "{\"method\":\"GET\",\"delay_ms\":5000}");
    res_reset(&r);
    g_gets = f->sim->counts[KS_REQ_GET];
    call = vr_kube_get(f->kc, DR, "velero", "x", on_done, &r);
    assert_true(vr_test_run_until(&f->loop, server_saw_get, f->sim, RUN_MS));
    g_in_call = true;
    vr_kube_call_cancel(call);
    g_in_call = false;
    wait_done(f, &r);
    assert_int_equal(r.status, VR_ECANCELED);
    assert_int_equal(admin(f, "DELETE", "/kubesim/faults", NULL), 200);

    /* Waiting out a Retry-After. */
    fault(f, "{\"method\":\"GET\",\"code\":500,\"retry_after\":30}");
    res_reset(&r);
    g_call = vr_kube_get(f->kc, DR, "velero", "x", on_done, &r);
    assert_true(vr_test_run_until(&f->loop, in_retry_wait, NULL, RUN_MS));
    g_in_call = true;
    vr_kube_call_cancel(g_call);
    g_in_call = false;
    wait_done(f, &r);
    assert_int_equal(r.status, VR_ECANCELED);

    /* Waiting for the token file. */
    make_tokfile(f, "t");
    struct vr_kube_client *kc = client_new(f, f->sim_url, NULL, f->tokfile, 10, false);
    res_reset(&r);
    g_in_call = true;
    call = vr_kube_get(kc, DR, "velero", "x", on_done, &r);
    assert_int_equal(call->state, VR_KCALL_WAIT_TOKEN);
    vr_kube_call_cancel(call);
    g_in_call = false;
    wait_done(f, &r);
    assert_int_equal(r.status, VR_ECANCELED);
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

static bool *g_closed; /* the close flag callbacks check */

static void on_done_before_close(int status, const struct vr_kube_result *kr, void *arg)
{
    assert_false(*g_closed);
    on_done(status, kr, arg);
}

static void test_close_inflight(void **state)
{
    struct fx *f = *state;
    struct res a, b, c, d;
    res_init(&a);
    res_init(&b);
    res_init(&c);
    res_init(&d);
    bool closed = false;
    g_closed = &closed;
    struct vr_kube_client *kc = client_new(f, f->sim_url, NULL, NULL, 10, false);
    fault(f, "{\"path_prefix\":\"/apis/velero.io/v1/namespaces/velero/downloadrequests/slow\","
             "\"delay_ms\":5000}");
    fault(f, "{\"path_prefix\":\"/apis/velero.io/v1/namespaces/velero/downloadrequests/retry\","
             "\"code\":503,\"retry_after\":30}");
    vr_kube_get(kc, DR, "velero", "slow", on_done_before_close, &a);
    g_call = vr_kube_get(kc, DR, "velero", "retry", on_done_before_close, &b);
    struct vr_kube_watch_opts wo = {.timeout_s = 30};
    vr_kube_watch(kc, DR, "velero", &wo, on_data, on_done_before_close, &c);
    assert_true(vr_test_run_until(&f->loop, in_retry_wait, NULL, RUN_MS));
    g_in_call = true;
    vr_kube_client_close(kc, on_flag, &closed);
    vr_kube_get(kc, DR, "velero", "late", on_done_before_close, &d);
    g_in_call = false;
    assert_true(vr_test_run_until(&f->loop, is_true, &closed, RUN_MS));
    assert_int_equal(a.calls + b.calls + c.calls + d.calls, 4);
    assert_int_equal(a.status, VR_ECANCELED);
    assert_int_equal(b.status, VR_ECANCELED);
    assert_int_equal(c.status, VR_ECANCELED);
    assert_int_equal(d.status, VR_ESHUTDOWN);
    res_reset(&a);
    res_reset(&b);
    res_reset(&c);
    res_reset(&d);
    vr_buf_cleanup(&a.data);
    vr_buf_cleanup(&b.data);
    vr_buf_cleanup(&c.data);
    vr_buf_cleanup(&d.data);
}

static void test_new_errors(void **state)
{
    struct fx *f = *state;
    struct vr_kube_config cfg = {.server = (char *)"ftp://127.0.0.1:1"};
    struct vr_kube_client *kc = NULL;
    vr_log_set_level(VR_LOG_OFF);
    assert_int_equal(vr_kube_client_new(f->cu, &f->clock, &cfg, NULL, &kc), VR_ECONFIG);
    cfg.server = NULL;
    assert_int_equal(vr_kube_client_new(f->cu, &f->clock, &cfg, NULL, &kc), VR_ECONFIG);
    vr_log_set_level(VR_LOG_INFO);
    assert_int_equal(vr_kube_client_new(f->cu, &f->clock, NULL, NULL, &kc), VR_EINVAL);
    assert_null(kc);
    /* Defaults: namespace "default", a trailing '/' dropped. */
    cfg.server = f->rec_url;
    char url[80];
    (void)snprintf(url, sizeof(url), "%s/", f->rec_url);
    cfg.server = url;
    assert_int_equal(vr_kube_client_new(f->cu, &f->clock, &cfg, NULL, &kc), 0);
    assert_string_equal(vr_kube_client_namespace(kc), "default");
    struct res r;
    res_init(&r);
    CALL(&r, vr_kube_get(kc, &vr_kube_res_secrets, NULL, "s", on_done, &r));
    assert_int_equal(r.status, 0);
    assert_string_equal(f->rec.seen[0].target, "/api/v1/namespaces/default/secrets/s");
    assert_string_equal(f->rec.seen[0].auth, "");
    client_close(f, kc);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- logging ---- */

struct logcap {
    struct vr_buf all;
};

static void log_sink(enum vr_log_level level, const char *line, size_t len, void *arg)
{
    struct logcap *lc = arg;
    (void)level;
    assert_int_equal(vr_buf_append(&lc->all, line, len), 0);
    assert_int_equal(vr_buf_putc(&lc->all, '\n'), 0);
}

static void test_log_no_secrets(void **state)
{
    struct fx *f = *state;
    struct res r;
    res_init(&r);
    struct logcap lc;
    vr_buf_init(&lc.all, 1 << 20);
    struct vr_kube_client *kc = client_new(f, f->rec_url, "TOKENSECRET", NULL, 10, false);
    vr_log_set_sink(log_sink, &lc);
    vr_log_set_level(VR_LOG_DEBUG);
    struct vr_kube_list_opts lo = {.label_selector = "k=LABELSECRET"};
    CALL(&r, vr_kube_list(kc, DR, "velero", &lo, on_done, &r));
    vr_log_set_level(VR_LOG_INFO);
    vr_log_set_sink(NULL, NULL);
    const char *all = lc.all.p ? lc.all.p : "";
    assert_non_null(strstr(all, "LIST /apis/velero.io/v1/namespaces/velero/downloadrequests"));
    assert_non_null(strstr(all, "code=200"));
    assert_null(strstr(all, "TOKENSECRET"));
    assert_null(strstr(all, "LABELSECRET"));
    assert_null(strstr(all, "labelSelector"));
    client_close(f, kc);
    vr_buf_cleanup(&lc.all);
    res_reset(&r);
    vr_buf_cleanup(&r.data);
}

/* ---- the Status parser (pure) ---- */

static int parse(int code, const char *body, const char *retry_after, struct vr_kube_status *st)
{
    return vr_kube_status_parse(code, vr_str_c(body),
                                retry_after ? vr_str_c(retry_after) : vr_str_make(NULL, 0), st);
}

static void test_status_parse(void **state)
{
    (void)state;
    struct vr_kube_status st;
    assert_int_equal(parse(409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\","
                                "\"message\":\"x already exists\",\"code\":409}",
                           NULL, &st),
                     VR_EEXIST);
    assert_string_equal(st.reason, "AlreadyExists");
    assert_string_equal(st.message, "x already exists");
    assert_int_equal(st.code, 409);
    assert_int_equal(parse(409, "{\"reason\":\"Conflict\"}", NULL, &st), VR_ECONFLICT);
    assert_string_equal(st.message, "HTTP 409");
    /* reason never changes the code outside 409 */
    assert_int_equal(parse(404, "{\"reason\":\"AlreadyExists\"}", NULL, &st), VR_ENOTFOUND);
    assert_int_equal(parse(429, "Too many requests, please try again later.\n", " 3 ", &st),
                     VR_ETHROTTLED);
    assert_int_equal(st.retry_after_s, 3);
    assert_string_equal(st.reason, "TooManyRequests");
    assert_string_equal(st.message, "Too many requests, please try again later.");
    assert_int_equal(parse(500, "{\"reason\":\"ServerTimeout\",\"details\":{\"retryAfterSeconds\":5}}",
                           NULL, &st),
                     VR_ESERVER);
    assert_int_equal(st.retry_after_s, 5);
    assert_int_equal(parse(500, "{\"details\":{\"retryAfterSeconds\":5}}", "2", &st), VR_ESERVER);
    assert_int_equal(st.retry_after_s, 2); /* the header wins */
    assert_int_equal(parse(503, "", "Wed, 21 Oct 2015 07:28:00 GMT", &st), VR_ESERVER);
    assert_int_equal(st.retry_after_s, 0);
    assert_int_equal(vr_kube_retry_after_header(vr_str_c("-1")), -1);
    assert_int_equal(vr_kube_retry_after_header(vr_str_c("0")), 0);
    assert_int_equal(vr_kube_retry_after_header(vr_str_make(NULL, 0)), -1);
    assert_int_equal(parse(410, "{\"reason\":\"Expired\",\"message\":\"too old\"}", NULL, &st),
                     VR_EGONE);
    assert_int_equal(parse(422, "[1,2]", NULL, &st), VR_EINVALID);
    assert_string_equal(st.reason, "Invalid");
    assert_string_equal(st.message, "[1,2]");
    assert_int_equal(parse(401, "{\"message\":7}", NULL, &st), VR_EUNAUTH);
    assert_int_equal(parse(403, "a\x01" "b\nsecond line", NULL, &st), VR_EFORBIDDEN);
    assert_string_equal(st.message, "a?b");
    assert_int_equal(parse(415, "", NULL, &st), VR_EUNSUPPORTED);
    assert_int_equal(parse(400, "{}", NULL, &st), VR_EBADREQ);
    assert_int_equal(parse(418, "{}", NULL, &st), VR_EBADREQ);
    assert_int_equal(parse(302, "", NULL, &st), VR_EHTTP);
    assert_int_equal(parse(200, "", NULL, &st), 0);
    /* Long fields truncate, NUL-terminated. */
    char big[1200];
    (void)snprintf(big, sizeof(big), "{\"reason\":\"%0100d\",\"message\":\"%0900d\"}", 0, 0);
    assert_int_equal(parse(500, big, NULL, &st), VR_ESERVER);
    assert_int_equal(strlen(st.reason), sizeof(st.reason) - 1);
    assert_int_equal(strlen(st.message), sizeof(st.message) - 1);
}

/* ---- kubesim stats ---- */

struct stats_res {
    bool done;
    cJSON *doc;
};

static void on_stats(struct vr_req *req, int status, void *arg)
{
    struct stats_res *s = arg;
    assert_int_equal(status, 0);
    struct vr_str b = vr_req_body(req);
    s->doc = cJSON_ParseWithLengthOpts(b.p, b.n, NULL, 0);
    s->done = true;
}

static uint64_t stat_count(struct fx *f, const char *cls)
{
    struct stats_res s = {0};
    char *u = vr_xasprintf("%s/kubesim/stats", f->sim_url);
    struct vr_req *req = vr_req_new(f->cu, "GET", u);
    vr_free(u);
    assert_int_equal(vr_req_start(req, on_stats, &s), 0);
    assert_true(vr_test_run_until(&f->loop, is_true, &s.done, RUN_MS));
    assert_non_null(s.doc);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s.doc, "requests"), cls);
    assert_true(cJSON_IsNumber(n));
    uint64_t v = (uint64_t)n->valuedouble;
    cJSON_Delete(s.doc);
    return v;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_parse),
        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_urls_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_data_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_no_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
