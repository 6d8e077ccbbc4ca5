/*
 * AWS credential providers end to end against loopback fakes served by vreq's httpd on the
 * same loop: STS AssumeRoleWithWebIdentity, container credentials, IMDSv2. A fake clock drives
 * expirations and refreshes; no sleeps.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "loop/clock.h"
#include "store/cred.h"
#include "testutil.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/httpd.h"
#include "vreq/mem.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */
#define RUN_MS 10000

struct fx {
    uv_loop_t loop;
    struct vr_fake_clock fc;
    struct vr_curl_uv *cu;
    struct vr_httpd *httpd;
    char base[64];
    char dir[64];
    char tokpath[128];
    const char *env[32][2];
    int nenv;
    /* server */
    int sts_hits, ecs_hits, imds_puts, imds_role_hits, imds_cred_hits, imds_401;
    char last_wit[256];
    int fail;              /* answer STS / ECS / IMDS creds with an error */
    unsigned delay_ms;     /* STS answers late */
    const char *imds_tok;  /* the token IMDS accepts */
    uv_timer_t delay_timer;
    struct vr_http_req *delayed;
};

static struct fx *F;

static const char *fake_getenv(const char *name, void *arg)
{
    struct fx *f = arg;
    for (int i = 0; i < f->nenv; i++)
        if (strcmp(f->env[i][0], name) == 0)
            return f->env[i][1];
    return NULL;
}

static void setenv_f(struct fx *f, const char *k, const char *v)
{
    f->env[f->nenv][0] = k;
    f->env[f->nenv][1] = v;
    f->nenv++;
}

static void iso(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void respond_sts(struct fx *f, struct vr_http_req *req)
{
    char body[1024], exp[32];
    if (f->fail) {
        const char *e = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                        "<Message>not allowed</Message></Error><RequestId>1</RequestId>"
                        "</ErrorResponse>";
        vr_http_respond(req, 403, "text/xml", e, strlen(e));
        return;
    }
    iso(f->fc.s + 3600, exp, sizeof(exp));
    int n = snprintf(body, sizeof(body),
                     "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
                     "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials>"
                     "<AccessKeyId>ASIA%d</AccessKeyId><SecretAccessKey>s%d</SecretAccessKey>"
                     "<SessionToken>t%d</SessionToken><Expiration>%s</Expiration>"
                     "</Credentials></AssumeRoleWithWebIdentityResult>"
                     "</AssumeRoleWithWebIdentityResponse>",
                     f->sts_hits, f->sts_hits, f->sts_hits, exp);
    vr_http_respond(req, 200, "text/xml", body, (size_t)n);
}

static void on_delay(uv_timer_t *t)
{
    struct fx *f = container_of(t, struct fx, delay_timer);
    respond_sts(f, f->delayed);
    f->delayed = NULL;
}

static void json_creds(struct fx *f, struct vr_http_req *req, const char *prefix, int n)
{
    char body[512], exp[32];
    iso(f->fc.s + 3600, exp, sizeof(exp));
    int len = snprintf(body, sizeof(body),
                       "{\"Code\":\"Success\",\"AccessKeyId\":\"%s%d\",\"SecretAccessKey\":\"s\","
                       "\"Token\":\"t\",\"Expiration\":\"%s\"}",
                       prefix, n, exp);
    vr_http_respond(req, 200, "application/json", body, (size_t)len);
}

static void handle_sts(struct fx *f, struct vr_http_req *req)
{
    f->sts_hits++;
    struct vr_str b = vr_http_req_body(req);
    const char *p = NULL;
    for (size_t i = 0; i + 17 <= b.n && !p; i++)
        if (memcmp(b.p + i, "WebIdentityToken=", 17) == 0)
            p = b.p + i;
    struct vr_str ct = vr_http_req_header(req, "Content-Type");
    assert_true(vr_str_starts_with(ct, "application/x-www-form-urlencoded"));
    assert_null(vr_http_req_header(req, "Authorization").p); /* unsigned */
    assert_non_null(p);
    snprintf(f->last_wit, sizeof(f->last_wit), "%.*s", (int)(b.p + b.n - p - 17), p + 17);
    if (f->delay_ms) {
        f->delayed = req;
        uv_timer_start(&f->delay_timer, on_delay, f->delay_ms, 0);
        return;
    }
    respond_sts(f, req);
}

static bool imds_token_ok(struct fx *f, struct vr_http_req *req)
{
    struct vr_str t = vr_http_req_header(req, "X-aws-ec2-metadata-token");
    if (t.p && vr_str_eq_c(t, f->imds_tok))
        return true;
    f->imds_401++;
    vr_http_respond(req, 401, "text/plain", "", 0);
    return false;
}

static void handle_imds(struct fx *f, struct vr_http_req *req, struct vr_str path)
{
    const char *m = vr_http_req_method(req);
    if (strcmp(m, "PUT") == 0 && vr_str_eq_c(path, "/latest/api/token")) {
        f->imds_puts++;
        struct vr_str ttl = vr_http_req_header(req, "X-aws-ec2-metadata-token-ttl-seconds");
        if (!vr_str_eq_c(ttl, "21600")) {
            vr_http_respond(req, 400, "text/plain", "", 0);
            return;
        }
        vr_http_respond(req, 200, "text/plain", f->imds_tok, strlen(f->imds_tok));
        return;
    }
    if (!imds_token_ok(f, req))
        return;
    if (vr_str_eq_c(path, "/latest/meta-data/iam/security-credentials/")) {
        f->imds_role_hits++;
        vr_http_respond(req, 200, "text/plain", "role1\n", 6);
    } else if (vr_str_eq_c(path, "/latest/meta-data/iam/security-credentials/role1")) {
        f->imds_cred_hits++;
        if (f->fail)
            vr_http_respond(req, 500, "text/plain", "", 0);
        else
            json_creds(f, req, "IMDS", f->imds_cred_hits);
    } else {
        vr_http_respond(req, 404, "text/plain", "", 0);
    }
}

static void handler(struct vr_http_req *req, void *arg)
{
    struct fx *f = arg;
    struct vr_str path = vr_http_req_path(req);
    if (vr_str_eq_c(path, "/sts/")) {
        handle_sts(f, req);
    } else if (vr_str_eq_c(path, "/ecs")) {
        f->ecs_hits++;
        if (!vr_str_eq_c(vr_http_req_header(req, "Authorization"), "ecs-secret"))
            vr_http_respond(req, 401, "text/plain", "", 0);
        else
            json_creds(f, req, "ECS", f->ecs_hits);
    } else if (vr_str_eq_c(path, "/ping")) {
        vr_http_respond(req, 200, "text/plain", "pong", 4);
    } else {
        handle_imds(f, req, path);
    }
}

static int setup(void **state)
{
    struct fx *f = vr_xcalloc(1, sizeof(*f));
    F = f;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    vr_fake_clock_init(&f->fc, 0, T0);
    assert_int_equal(vr_curl_uv_new(&f->loop, &f->cu), 0);
    assert_int_equal(vr_httpd_new(&f->loop, NULL, handler, f, &f->httpd), 0);
    assert_int_equal(vr_httpd_listen(f->httpd, "127.0.0.1:0"), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", vr_httpd_port(f->httpd));
    uv_timer_init(&f->loop, &f->delay_timer);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vr_cred_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->tokpath, sizeof(f->tokpath), "%s/token", f->dir);
    f->imds_tok = "IMDSTOKEN1";
    setenv_f(f, "AWS_EC2_METADATA_DISABLED", "true");
    *state = f;
    return 0;
}

static void on_closed(void *arg)
{
    (*(int *)arg)++;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    uv_close((uv_handle_t *)&f->delay_timer, NULL);
    int closed = 0;
    vr_httpd_close(f->httpd, on_closed, &closed);
    vr_curl_uv_close(f->cu, on_closed, &closed);
    while (closed < 2 && uv_run(&f->loop, UV_RUN_ONCE) != 0)
        ;
    vr_test_loop_close(&f->loop);
    char path[160];
    snprintf(path, sizeof(path), "%s/credentials", f->dir);
    unlink(path);
    unlink(f->tokpath);
    rmdir(f->dir);
    vr_free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* --- a get, recorded --- */

struct got {
    struct vr_cred_wait w;
    int calls;
    int status;
    char akid[64];
    char err[512];
    int64_t exp;
    const char *source;
};

static void on_got(struct vr_cred_wait *w, int status, const struct vr_aws_creds *c,
                   const char *err)
{
    struct got *g = container_of(w, struct got, w);
    g->calls++;
    g->status = status;
    snprintf(g->err, sizeof(g->err), "%s", err);
    if (status == 0) {
        snprintf(g->akid, sizeof(g->akid), "%s", c->access_key_id);
        g->exp = c->expiration_s;
        g->source = c->source;
        assert_non_null(c->secret_access_key);
    }
}

static int got_done(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static struct vr_cred *new_cred(struct fx *f, const char *ini, const char *profile)
{
    struct vr_cred_opts o = {.secret_ini = ini, .secret_ini_len = ini ? strlen(ini) : 0,
                             .profile = profile, .getenv = fake_getenv, .getenv_arg = f,
                             .jitter_seed = 7};
    struct vr_cred *p = NULL;
    char err[256];
    assert_int_equal(vr_cred_new(&f->loop, f->cu, &f->fc.clock, &o, &p, err, sizeof(err)), 0);
    return p;
}

/* Gets once and waits for the answer. */
static void get_wait(struct fx *f, struct vr_cred *p, struct got *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(vr_cred_get(p, &g->w, on_got), 0);
    assert_int_equal(g->calls, 0); /* never inside the call */
    assert_true(vr_test_run_until(&f->loop, got_done, g, RUN_MS));
    assert_int_equal(g->calls, 1);
}

static int flag_set(void *arg)
{
    return *(int *)arg > 0;
}

static void close_cred(struct fx *f, struct vr_cred *p)
{
    int closed = 0;
    vr_cred_close(p, on_closed, &closed);
    assert_int_equal(closed, 0);
    assert_true(vr_test_run_until(&f->loop, flag_set, &closed, RUN_MS));
    assert_int_equal(closed, 1);
}

static int idle(void *arg)
{
    return !vr_cred_is_fetching(arg);
}

static void wait_idle(struct fx *f, struct vr_cred *p)
{
    assert_true(vr_test_run_until(&f->loop, idle, p, RUN_MS));
}

/* --- static sources --- */

static void test_secret_and_errors(void **state)
{
    struct fx *f = *state;
    struct got g;
    struct vr_cred *p = new_cred(f, "[default]\naws_access_key_id=A1\naws_secret_access_key=S1\n"
                                    "[profile p2]\naws_access_key_id=A2\n"
                                    "aws_secret_access_key=S2\naws_session_token=T2\n",
                                 "p2");
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "A2");
    assert_string_equal(g.source, "secret");
    assert_int_equal(g.exp, 0);
    assert_string_equal(vr_cred_source(p), "secret");
    /* Static credentials never expire: a day later, still no fetch beyond the first. */
    vr_fake_clock_advance(&f->fc, 86400000);
    assert_false(vr_cred_run_due(p));
    get_wait(f, p, &g);
    assert_int_equal(vr_cred_fetches(p), 0); /* parsed at creation: nothing to fetch */
    close_cred(f, p);

    struct vr_cred_opts o = {.secret_ini = "[default]\naws_access_key_id=A\n",
                             .getenv = fake_getenv, .getenv_arg = f};
    char err[256];
    o.secret_ini_len = strlen(o.secret_ini);
    o.profile = "missing";
    assert_int_equal(vr_cred_new(&f->loop, f->cu, &f->fc.clock, &o, &p, err, sizeof(err)),
                     VR_ECONFIG);
    assert_string_equal(err, "BSL credential: profile \"missing\" not found");
    o.profile = NULL;
    assert_int_equal(vr_cred_new(&f->loop, f->cu, &f->fc.clock, &o, &p, err, sizeof(err)),
                     VR_ECONFIG);
    assert_string_equal(err, "BSL credential: profile \"default\" has only one of "
                             "aws_access_key_id and aws_secret_access_key");
    o.secret_ini = "[default]\nbad line\n";
    o.secret_ini_len = strlen(o.secret_ini);
    assert_int_equal(vr_cred_new(&f->loop, f->cu, &f->fc.clock, &o, &p, err, sizeof(err)),
                     VR_ECONFIG);
    assert_string_equal(err, "BSL credential: line 2: expected \"key = value\"");
}

static void test_file_env_none(void **state)
{
    struct fx *f = *state;
    struct got g;
    char path[160];
    snprintf(path, sizeof(path), "%s/credentials", f->dir);
    /* Nothing anywhere (IMDS disabled): one clear permanent error. */
    setenv_f(f, "HOME", f->dir); /* no .aws there */
    struct vr_cred *p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_ECONFIG);
    assert_non_null(strstr(g.err, "no AWS credentials found"));
    close_cred(f, p);
    /* Environment keys come after the shared file... */
    setenv_f(f, "AWS_ACCESS_KEY_ID", "ENVKEY");
    setenv_f(f, "AWS_SECRET_ACCESS_KEY", "ENVSECRET");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "ENVKEY");
    assert_string_equal(g.source, "env");
    close_cred(f, p);
    /* ...which wins when it has the profile; a file without [default] falls through. */
    setenv_f(f, "AWS_SHARED_CREDENTIALS_FILE", path);
    write_file(path, "[other]\naws_access_key_id=O\naws_secret_access_key=S\n");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_string_equal(g.akid, "ENVKEY");
    close_cred(f, p);
    write_file(path, "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=S\n");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "FILEKEY");
    assert_string_equal(vr_cred_source(p), "file");
    close_cred(f, p);
    /* AWS_PROFILE names a profile the file lacks: permanent. */
    setenv_f(f, "AWS_PROFILE", "nope");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_ECONFIG);
    assert_non_null(strstr(g.err, "profile \"nope\" not found"));
    close_cred(f, p);
}

/* --- web identity --- */

static void web_identity_env(struct fx *f)
{
    static char sts[96];
    snprintf(sts, sizeof(sts), "%s/sts/", f->base);
    setenv_f(f, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/velero");
    setenv_f(f, "AWS_WEB_IDENTITY_TOKEN_FILE", f->tokpath);
    setenv_f(f, "AWS_ENDPOINT_URL_STS", sts);
    write_file(f->tokpath, "jwt-one\n");
}

static void test_web_identity_refresh(void **state)
{
    struct fx *f = *state;
    struct got g;
    web_identity_env(f);
    struct vr_cred *p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "ASIA1");
    assert_string_equal(g.source, "web-identity");
    assert_int_equal(g.exp, T0 + 3600);
    assert_string_equal(f->last_wit, "jwt-one");
    /* Served from the cache. */
    get_wait(f, p, &g);
    assert_int_equal(f->sts_hits, 1);
    /* Not yet due 16 min before expiry (jitter is at most 60 s); due at expiry - 15 min. */
    vr_fake_clock_advance(&f->fc, (3600 - 16 * 60) * 1000ULL);
    assert_false(vr_cred_run_due(p));
    write_file(f->tokpath, "jwt-two"); /* kubelet rotated the token */
    vr_fake_clock_advance(&f->fc, 60 * 1000ULL);
    assert_true(vr_cred_run_due(p));
    assert_false(vr_cred_run_due(p)); /* one fetch at a time */
    get_wait(f, p, &g);               /* still 15 min left: answered from the cache */
    assert_string_equal(g.akid, "ASIA1");
    wait_idle(f, p);
    assert_int_equal(f->sts_hits, 2);
    get_wait(f, p, &g);
    assert_string_equal(g.akid, "ASIA2");
    assert_string_equal(f->last_wit, "jwt-two");
    /* A failing refresh keeps serving the still-valid credentials. */
    f->fail = 1;
    vr_fake_clock_advance(&f->fc, (3600 - 15 * 60) * 1000ULL);
    assert_true(vr_cred_run_due(p));
    wait_idle(f, p);
    assert_int_equal(f->sts_hits, 3);
    vr_fake_clock_advance(&f->fc, 11 * 60 * 1000ULL); /* 4 min left: get waits for a fetch */
    get_wait(f, p, &g);
    assert_int_equal(f->sts_hits, 4);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "ASIA2");
    /* Expired and STS still refusing: the error reaches the caller. */
    vr_fake_clock_advance(&f->fc, 5 * 60 * 1000ULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_EFORBIDDEN);
    assert_non_null(strstr(g.err, "AccessDenied: not allowed"));
    close_cred(f, p);
}

static int ping_done(void *arg)
{
    return *(int *)arg != 0;
}

static void on_ping(struct vr_req *req, int status, void *arg)
{
    assert_int_equal(status, 0);
    assert_int_equal(vr_req_http_status(req), 200);
    *(int *)arg = F->sts_hits; /* nonzero: the STS request had arrived and was held */
}

static void test_slow_endpoint_does_not_stall(void **state)
{
    struct fx *f = *state;
    web_identity_env(f);
    f->delay_ms = 2000;
    struct vr_cred *slow = new_cred(f, NULL, NULL);
    struct got gs, gf;
    memset(&gs, 0, sizeof(gs));
    memset(&gf, 0, sizeof(gf));
    assert_int_equal(vr_cred_get(slow, &gs.w, on_got), 0);
    while (f->sts_hits == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    /* Another provider and another request complete while STS holds its answer. */
    struct vr_cred *fast = new_cred(f, "[default]\naws_access_key_id=F\naws_secret_access_key=S\n",
                                    NULL);
    assert_int_equal(vr_cred_get(fast, &gf.w, on_got), 0);
    int pinged = 0;
    char url[96];
    snprintf(url, sizeof(url), "%s/ping", f->base);
    assert_int_equal(vr_req_start(vr_req_new(f->cu, "GET", url), on_ping, &pinged), 0);
    assert_true(vr_test_run_until(&f->loop, ping_done, &pinged, RUN_MS));
    assert_true(vr_test_run_until(&f->loop, got_done, &gf, RUN_MS));
    assert_int_equal(gs.calls, 0);
    assert_non_null(f->delayed);
    assert_true(vr_test_run_until(&f->loop, got_done, &gs, RUN_MS));
    assert_int_equal(gs.status, 0);
    assert_string_equal(gs.akid, "ASIA1");
    close_cred(f, fast);
    close_cred(f, slow);
}

static void test_timeout_cancel_close(void **state)
{
    struct fx *f = *state;
    web_identity_env(f);
    f->delay_ms = 2000;
    struct vr_cred_opts o = {.getenv = fake_getenv, .getenv_arg = f, .http_timeout_ms = 300};
    struct vr_cred *p;
    char err[256];
    assert_int_equal(vr_cred_new(&f->loop, f->cu, &f->fc.clock, &o, &p, err, sizeof(err)), 0);
    struct got g1, g2;
    memset(&g1, 0, sizeof(g1));
    memset(&g2, 0, sizeof(g2));
    assert_int_equal(vr_cred_get(p, &g1.w, on_got), 0);
    assert_int_equal(vr_cred_get(p, &g2.w, on_got), 0);
    vr_cred_cancel(&g2.w);
    assert_int_equal(g2.calls, 0);
    assert_true(vr_test_run_until(&f->loop, got_done, &g1, RUN_MS));
    assert_int_equal(g1.status, VR_ETIMEDOUT);
    assert_int_equal(g2.status, VR_ECANCELED);
    /* Closing with a get in flight answers it with VR_ESHUTDOWN. */
    memset(&g1, 0, sizeof(g1));
    assert_int_equal(vr_cred_get(p, &g1.w, on_got), 0);
    close_cred(f, p);
    assert_int_equal(g1.calls, 1);
    assert_int_equal(g1.status, VR_ESHUTDOWN);
    uv_timer_stop(&f->delay_timer);
}

/* --- container credentials --- */

static void test_container(void **state)
{
    struct fx *f = *state;
    struct got g;
    static char url[96];
    snprintf(url, sizeof(url), "%s/ecs", f->base);
    setenv_f(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
    setenv_f(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f->tokpath);
    write_file(f->tokpath, "ecs-secret\n");
    struct vr_cred *p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "ECS1");
    assert_string_equal(g.source, "container");
    vr_fake_clock_advance(&f->fc, (3600 - 15 * 60) * 1000ULL);
    write_file(f->tokpath, "wrong"); /* re-read on refresh: the fake refuses it */
    assert_true(vr_cred_run_due(p));
    wait_idle(f, p);
    assert_int_equal(f->ecs_hits, 2);
    get_wait(f, p, &g);
    assert_string_equal(g.akid, "ECS1"); /* still valid, kept */
    vr_fake_clock_advance(&f->fc, 16 * 60 * 1000ULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_EUNAUTH);
    write_file(f->tokpath, "ecs-secret");
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "ECS4");
    close_cred(f, p);
    /* http to anything but loopback or the link-local agents is refused. */
    f->nenv = 1;
    setenv_f(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_ECONFIG);
    assert_non_null(strstr(g.err, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    close_cred(f, p);
}

/* --- IMDSv2 --- */

static void test_imds(void **state)
{
    struct fx *f = *state;
    struct got g;
    f->nenv = 0; /* IMDS enabled */
    setenv_f(f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", f->base);
    struct vr_cred *p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "IMDS1");
    assert_string_equal(g.source, "imds");
    assert_int_equal(f->imds_puts, 1);
    assert_int_equal(f->imds_401, 0);
    /* Refresh reuses the session token. */
    vr_fake_clock_advance(&f->fc, (3600 - 15 * 60) * 1000ULL);
    assert_true(vr_cred_run_due(p));
    wait_idle(f, p);
    assert_int_equal(f->imds_cred_hits, 2);
    get_wait(f, p, &g);
    assert_string_equal(g.akid, "IMDS2");
    assert_int_equal(f->imds_puts, 1);
    /* The token expired server-side: 401, a new PUT, then success. */
    f->imds_tok = "IMDSTOKEN2";
    vr_fake_clock_advance(&f->fc, 3600 * 1000ULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, 0);
    assert_string_equal(g.akid, "IMDS3");
    assert_int_equal(f->imds_puts, 2);
    assert_int_equal(f->imds_401, 1);
    close_cred(f, p);
    /* IMDS unreachable (nothing listens): transient transport error, not ECONFIG. */
    f->nenv = 0;
    setenv_f(f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
    p = new_cred(f, NULL, NULL);
    get_wait(f, p, &g);
    assert_int_equal(g.status, VR_EHTTP);
    close_cred(f, p);
}

int main(void)
{
    vr_mem_init_cjson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_secret_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_env_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_endpoint_does_not_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_cancel_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
