/* AWS credential providers: source resolution, cache, waiters and refresh (see cred.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "store/cred_int.h"
#include "store/cred_parse.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

static const char *const env_names[VR__CRED_ENV_N] = {
#define VR__CRED_ENV_NAME_(id, name) name,
    VR__CRED_ENV_MAP(VR__CRED_ENV_NAME_)
#undef VR__CRED_ENV_NAME_
};

static const char *sys_getenv(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

static const char *env(const struct vr_cred *p, enum vr__cred_env e)
{
    return p->env[e];
}

static char *dup_opt(const char *s)
{
    return s && s[0] ? vr_xstrdup(s) : NULL;
}

static void free_secret_str(char *s)
{
    if (s)
        vr_free_secret(s, strlen(s));
}

void vr__cred_err(struct vr_cred *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
}

int vr__cred_req_start(struct vr_cred *p, struct vr_req *req, enum vr__cred_step step,
                       size_t body_cap, unsigned timeout_ms, vr_req_done_cb done, const char *what)
{
    vr_req_set_body_cap(req, body_cap);
    vr_req_set_timeout_ms(req, timeout_ms);
    p->step = step;
    p->req = req;
    int rc = vr_req_start(req, done, p);
    if (rc < 0) {
        p->req = NULL;
        vr__cred_err(p, "%s: %s", what, vr_strerror(rc));
    }
    return rc;
}

/* --- waiter lists --- */

static void wl_push(struct vr__cred_wlist *l, struct vr_cred_wait *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static void wl_remove(struct vr__cred_wlist *l, struct vr_cred_wait *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->prev = w->next = NULL;
}

static void on_kick(uv_timer_t *t);
static void on_refresh(uv_timer_t *t);

static void kick(struct vr_cred *p)
{
    if (!uv_is_active((uv_handle_t *)&p->kick))
        uv_timer_start(&p->kick, on_kick, 0, 0);
}

static void make_ready(struct vr_cred *p, struct vr_cred_wait *w, int status)
{
    w->status = status;
    w->ready = true;
    wl_push(&p->ready, w);
    kick(p);
}

/* Moves every waiting get to the ready list with status. */
static void answer_waiting(struct vr_cred *p, int status)
{
    struct vr_cred_wait *w;
    while ((w = p->waiting.head) != NULL) {
        wl_remove(&p->waiting, w);
        make_ready(p, w, status);
    }
}

/* --- cache state --- */

static bool have_creds(const struct vr_cred *p)
{
    return p->creds.access_key_id != NULL;
}

/* Whether the cache may sign now, with at least min_life seconds left. */
static bool creds_usable(struct vr_cred *p, int64_t min_life)
{
    if (!have_creds(p))
        return false;
    if (p->creds.expiration_s == 0)
        return true;
    return vr_clock_now_s(p->clock) + min_life < p->creds.expiration_s;
}

static uint32_t rnd(struct vr_cred *p)
{
    /* xorshift32: jitter only, nothing secret. */
    uint32_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->rng = x;
    return x;
}

static void arm_refresh(struct vr_cred *p, int64_t at_s)
{
    int64_t now = vr_clock_now_s(p->clock);
    p->refresh_at_s = at_s;
    if (at_s == 0) {
        uv_timer_stop(&p->refresh);
        return;
    }
    uint64_t delay_ms = at_s > now ? (uint64_t)(at_s - now) * 1000 : 0;
    uv_timer_start(&p->refresh, on_refresh, delay_ms, 0);
}

/* After fresh credentials: refresh from expiration - 15 min, up to 60 s earlier. */
static void schedule_refresh(struct vr_cred *p)
{
    int64_t exp = p->creds.expiration_s, now = vr_clock_now_s(p->clock);
    p->retries = 0;
    if (exp == 0) {
        arm_refresh(p, 0);
        return;
    }
    int64_t at = exp - VR_CRED_REFRESH_AHEAD_S - (int64_t)(rnd(p) % 60);
    if (at <= now) /* short-lived credentials: half-way through what is left */
        at = now + (exp - now > 2 ? (exp - now) / 2 : 1);
    arm_refresh(p, at);
}

/* After a failed refresh with valid credentials: 30 s doubling to 5 min, +-20 %. */
static void schedule_retry(struct vr_cred *p)
{
    int64_t exp = p->creds.expiration_s, now = vr_clock_now_s(p->clock);
    if (exp == 0 || exp <= now + 1) {
        arm_refresh(p, 0);
        return;
    }
    int64_t d = p->retries >= 4 ? 300 : (int64_t)30 << p->retries;
    p->retries++;
    d = d * 8 / 10 + (int64_t)(rnd(p) % (uint32_t)(d * 4 / 10 + 1));
    arm_refresh(p, now + d < exp ? now + d : exp - 1);
}

/* --- fetch --- */

static void maybe_finish_close(struct vr_cred *p);

static void take_fresh(struct vr_cred *p, struct vr_aws_creds *fresh)
{
    if (fresh) {
        vr_aws_creds_cleanup(&p->creds);
        p->creds = *fresh;
        memset(fresh, 0, sizeof(*fresh));
    }
    VR_LOG(VR_LOG_INFO, "cred", "AWS credentials obtained source=%s expiration=%lld",
           p->creds.source ? p->creds.source : p->src_name, (long long)p->creds.expiration_s);
    schedule_refresh(p);
    answer_waiting(p, 0);
}

void vr__cred_fetch_done(struct vr_cred *p, int status, struct vr_aws_creds *fresh)
{
    p->step = VR__CRED_IDLE;
    p->req = NULL;
    if (p->closing) {
        if (fresh)
            vr_aws_creds_cleanup(fresh);
        maybe_finish_close(p);
        return;
    }
    if (status == 0) {
        take_fresh(p, fresh);
        return;
    }
    if (fresh)
        vr_aws_creds_cleanup(fresh);
    if (creds_usable(p, 0)) {
        /* Keep serving what still works; the caller clamps URLs to its remaining life. */
        VR_LOG(VR_LOG_WARN, "cred", "AWS credential refresh failed, keeping current ones "
               "source=%s expiration=%lld err=\"%s\"", p->src_name,
               (long long)p->creds.expiration_s, p->err);
        schedule_retry(p);
        answer_waiting(p, 0);
        return;
    }
    answer_waiting(p, status);
}

static void resolve_start(struct vr_cred *p);

static void source_start(struct vr_cred *p)
{
    int rc = 0;
    switch (p->src) {
    case VR__CRED_SRC_UNRESOLVED:
        resolve_start(p);
        return;
    case VR__CRED_SRC_STATIC:
        vr__cred_fetch_done(p, 0, NULL);
        return;
    case VR__CRED_SRC_WEB_IDENTITY:
        rc = vr__cred_sts_start(p);
        break;
    case VR__CRED_SRC_CONTAINER:
        rc = vr__cred_ecs_start(p);
        break;
    case VR__CRED_SRC_IMDS:
        rc = vr__cred_imds_start(p);
        break;
    }
    if (rc < 0)
        vr__cred_fetch_done(p, rc, NULL);
}

static void fetch_start(struct vr_cred *p, bool background)
{
    p->fetches++;
    p->background = background;
    p->err[0] = '\0';
    source_start(p);
}

/* --- source resolution (contract §3 order) --- */

static void set_static(struct vr_cred *p, const struct vr_aws_profile *prof, const char *name)
{
    vr_aws_creds_cleanup(&p->creds);
    p->creds.access_key_id = vr_xstrdup(prof->access_key_id);
    p->creds.secret_access_key = vr_xstrdup(prof->secret_access_key);
    p->creds.session_token = dup_opt(prof->session_token);
    p->creds.source = name;
    p->src = VR__CRED_SRC_STATIC;
    p->src_name = name;
}

static void set_web_identity(struct vr_cred *p, const char *role, const char *file,
                             const char *session, const char *region, const char *name)
{
    p->role_arn = vr_xstrdup(role);
    p->token_file = vr_xstrdup(file);
    if (session && session[0])
        p->session_name = vr_xstrdup(session);
    else
        p->session_name = vr_xasprintf("vreqd-%lld", (long long)vr_clock_now_s(p->clock));
    if (!region)
        region = p->region ? p->region : env(p, VR__CRED_ENV_REGION);
    if (!region)
        region = env(p, VR__CRED_ENV_DEFAULT_REGION);
    if (env(p, VR__CRED_ENV_STS_URL))
        p->sts_url = vr_xstrdup(env(p, VR__CRED_ENV_STS_URL));
    else if (region)
        p->sts_url = vr_xasprintf("https://sts.%s.amazonaws.com/", region);
    else
        p->sts_url = vr_xstrdup("https://sts.amazonaws.com/");
    p->src = VR__CRED_SRC_WEB_IDENTITY;
    p->src_name = name;
}

/* Installs a parsed profile as the source. 0, VR_ENOTFOUND (no credentials in it) or
 * VR_ECONFIG (half a key pair). */
static int use_profile(struct vr_cred *p, const struct vr_aws_profile *prof, const char *what,
                       const char *name)
{
    if (!prof->access_key_id != !prof->secret_access_key) {
        vr__cred_err(p, "%s: profile \"%s\" has only one of aws_access_key_id and "
                     "aws_secret_access_key", what, p->profile);
        return VR_ECONFIG;
    }
    if (prof->access_key_id) {
        set_static(p, prof, name);
        return 0;
    }
    if (prof->role_arn && prof->web_identity_token_file) {
        set_web_identity(p, prof->role_arn, prof->web_identity_token_file,
                         prof->role_session_name, prof->region, "web-identity");
        return 0;
    }
    return VR_ENOTFOUND;
}

static int use_container(struct vr_cred *p)
{
    const char *rel = env(p, VR__CRED_ENV_CONT_REL), *full = env(p, VR__CRED_ENV_CONT_FULL);
    if (rel)
        p->cont_url = vr_xasprintf("http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    else if (vr__cred_container_url_ok(full))
        p->cont_url = vr_xstrdup(full);
    else {
        vr__cred_err(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a "
                     "loopback or the ECS/EKS link-local address");
        return VR_ECONFIG;
    }
    p->cont_token_file = dup_opt(env(p, VR__CRED_ENV_CONT_TOKEN_FILE));
    p->src = VR__CRED_SRC_CONTAINER;
    p->src_name = "container";
    return 0;
}

static bool imds_disabled(const struct vr_cred *p)
{
    const char *v = env(p, VR__CRED_ENV_IMDS_OFF);
    return v && strcasecmp(v, "true") == 0;
}

/* Sources 3 to 6, from the environment captured at creation. */
static int resolve_rest(struct vr_cred *p)
{
    if (env(p, VR__CRED_ENV_AKID) && env(p, VR__CRED_ENV_SECRET)) {
        struct vr_aws_profile prof = {.access_key_id = p->env[VR__CRED_ENV_AKID],
                                      .secret_access_key = p->env[VR__CRED_ENV_SECRET],
                                      .session_token = p->env[VR__CRED_ENV_TOKEN]};
        set_static(p, &prof, "env");
        return 0;
    }
    if (env(p, VR__CRED_ENV_ROLE_ARN) && env(p, VR__CRED_ENV_WIT_FILE)) {
        set_web_identity(p, env(p, VR__CRED_ENV_ROLE_ARN), env(p, VR__CRED_ENV_WIT_FILE),
                         env(p, VR__CRED_ENV_SESSION_NAME), NULL, "web-identity");
        return 0;
    }
    if (env(p, VR__CRED_ENV_CONT_REL) || env(p, VR__CRED_ENV_CONT_FULL))
        return use_container(p);
    if (!imds_disabled(p)) {
        const char *base = env(p, VR__CRED_ENV_IMDS_URL);
        p->imds_base = vr_xstrdup(base ? base : "http://169.254.169.254");
        size_t n = strlen(p->imds_base);
        while (n > 0 && p->imds_base[n - 1] == '/')
            p->imds_base[--n] = '\0';
        p->src = VR__CRED_SRC_IMDS;
        p->src_name = "imds";
        return 0;
    }
    vr__cred_err(p, "no AWS credentials found: no BSL credential, no profile in the shared "
                 "credentials file, no AWS_ACCESS_KEY_ID, no web identity, no container "
                 "credentials, and IMDS is disabled");
    return VR_ECONFIG;
}

static void resolved(struct vr_cred *p, int rc)
{
    if (rc < 0) {
        vr__cred_fetch_done(p, rc, NULL);
        return;
    }
    VR_LOG(VR_LOG_DEBUG, "cred", "AWS credential source resolved source=%s", p->src_name);
    source_start(p);
}

static void on_shared_read(struct vr_cred *p, int status)
{
    if (p->closing) {
        vr_buf_cleanup_secret(&p->fbuf);
        vr__cred_fetch_done(p, VR_ECANCELED, NULL);
        return;
    }
    const char *path = env(p, VR__CRED_ENV_SHARED_FILE);
    char *home_path = path ? NULL : vr_xasprintf("%s/.aws/credentials", env(p, VR__CRED_ENV_HOME));
    const char *shown = path ? path : home_path;
    int rc = 0;
    if (status == UV_ENOENT) {
        rc = resolve_rest(p);
    } else if (status < 0) {
        vr__cred_err(p, "reading %s: %s", shown, uv_strerror(status));
        rc = VR_ECONFIG;
    } else {
        struct vr_aws_profile prof;
        const char *want = env(p, VR__CRED_ENV_PROFILE);
        char perr[256];
        struct vr_str t = vr_buf_str(&p->fbuf);
        rc = vr_cred_ini_parse(t.p, t.n, want, &prof, perr, sizeof(perr));
        vr_buf_cleanup_secret(&p->fbuf);
        if (rc == 0) {
            rc = use_profile(p, &prof, shown, "file");
            vr_aws_profile_cleanup(&prof);
            if (rc == VR_ENOTFOUND)
                rc = resolve_rest(p);
        } else if (!want && strstr(perr, "not found")) {
            rc = resolve_rest(p); /* no [default]: not this source */
        } else {
            vr__cred_err(p, "%s: %s", shown, perr);
        }
    }
    vr_free(home_path);
    resolved(p, rc);
}

static void resolve_start(struct vr_cred *p)
{
    const char *path = env(p, VR__CRED_ENV_SHARED_FILE), *home = env(p, VR__CRED_ENV_HOME);
    if (!path && !home) {
        resolved(p, resolve_rest(p));
        return;
    }
    char *home_path = path ? NULL : vr_xasprintf("%s/.aws/credentials", home);
    p->step = VR__CRED_READ_SHARED;
    int rc = vr__cred_read_file(p, path ? path : home_path, VR__CRED_FILE_MAX, on_shared_read);
    vr_free(home_path);
    if (rc == UV_ENOENT)
        resolved(p, resolve_rest(p));
    else if (rc < 0) {
        vr__cred_err(p, "reading the shared credentials file: %s", uv_strerror(rc));
        vr__cred_fetch_done(p, VR_ECONFIG, NULL);
    }
}

/* --- loop plumbing --- */

static void on_kick(uv_timer_t *t)
{
    struct vr_cred *p = container_of(t, struct vr_cred, kick);
    struct vr_cred_wait *w;
    /* Gets made from inside a callback land on the list and are answered in this pass. */
    while ((w = p->ready.head) != NULL) {
        wl_remove(&p->ready, w);
        w->owner = NULL;
        w->ready = false;
        int status = w->status;
        if (status == 0)
            w->cb(w, 0, &p->creds, "");
        else
            w->cb(w, status, NULL, p->err[0] && status != VR_ECANCELED && status != VR_ESHUTDOWN
                                        ? p->err : vr_strerror(status));
    }
    if (p->closing)
        maybe_finish_close(p);
}

static void on_refresh(uv_timer_t *t)
{
    struct vr_cred *p = container_of(t, struct vr_cred, refresh);
    if (!vr_cred_run_due(p) && p->refresh_at_s != 0 && p->step == VR__CRED_IDLE)
        arm_refresh(p, p->refresh_at_s); /* the wall clock lags the timer: wait again */
}

bool vr_cred_run_due(struct vr_cred *p)
{
    if (p->closing || p->step != VR__CRED_IDLE || p->refresh_at_s == 0 ||
        vr_clock_now_s(p->clock) < p->refresh_at_s)
        return false;
    p->refresh_at_s = 0;
    uv_timer_stop(&p->refresh);
    fetch_start(p, true);
    return true;
}

const char *vr_cred_source(const struct vr_cred *p)
{
    return p->src == VR__CRED_SRC_UNRESOLVED ? "unresolved" : p->src_name;
}

bool vr_cred_is_fetching(const struct vr_cred *p)
{
    return p->step != VR__CRED_IDLE;
}

uint64_t vr_cred_fetches(const struct vr_cred *p)
{
    return p->fetches;
}

int vr_cred_get(struct vr_cred *p, struct vr_cred_wait *w, vr_cred_get_cb cb)
{
    if (p->closing)
        return VR_ESHUTDOWN;
    memset(w, 0, sizeof(*w));
    w->owner = p;
    w->cb = cb;
    if (creds_usable(p, VR_CRED_MIN_LIFE_S)) {
        make_ready(p, w, 0);
        return 0;
    }
    wl_push(&p->waiting, w);
    if (p->step == VR__CRED_IDLE)
        fetch_start(p, false);
    return 0;
}

void vr_cred_cancel(struct vr_cred_wait *w)
{
    struct vr_cred *p = w->owner;
    if (!p || w->ready)
        return;
    wl_remove(&p->waiting, w);
    make_ready(p, w, VR_ECANCELED);
}

/* --- creation and teardown --- */

static void capture_env(struct vr_cred *p, const struct vr_cred_opts *o)
{
    vr_cred_getenv_cb get = o->getenv ? o->getenv : sys_getenv;
    for (int i = 0; i < VR__CRED_ENV_N; i++)
        p->env[i] = dup_opt(get(env_names[i], o->getenv_arg));
}

static int use_secret(struct vr_cred *p, const struct vr_cred_opts *o, char *err, size_t errcap)
{
    struct vr_aws_profile prof;
    char perr[256];
    int rc = vr_cred_ini_parse(o->secret_ini, o->secret_ini_len, p->profile, &prof, perr,
                               sizeof(perr));
    if (rc < 0) {
        (void)snprintf(err, errcap, "BSL credential: %s", perr);
        return rc;
    }
    rc = use_profile(p, &prof, "BSL credential", "secret");
    vr_aws_profile_cleanup(&prof);
    if (rc == VR_ENOTFOUND) {
        vr__cred_err(p, "BSL credential: profile \"%s\" has no aws_access_key_id and "
                     "aws_secret_access_key", p->profile);
        rc = VR_ECONFIG;
    }
    if (rc < 0)
        (void)snprintf(err, errcap, "%s", p->err);
    return rc;
}

static void free_all(struct vr_cred *p)
{
    for (int i = 0; i < VR__CRED_ENV_N; i++)
        free_secret_str(p->env[i]);
    vr_aws_creds_cleanup(&p->creds);
    free_secret_str(p->imds_token);
    vr_buf_cleanup_secret(&p->fbuf);
    vr_free(p->profile);
    vr_free(p->region);
    vr_free(p->role_arn);
    vr_free(p->token_file);
    vr_free(p->session_name);
    vr_free(p->sts_url);
    vr_free(p->cont_url);
    vr_free(p->cont_token_file);
    vr_free(p->imds_base);
    vr_free(p->imds_role);
    vr_free(p);
}

int vr_cred_new(uv_loop_t *loop, struct vr_curl_uv *cu, struct vr_clock *clock,
                const struct vr_cred_opts *o, struct vr_cred **out, char *err, size_t errcap)
{
    struct vr_cred *p = vr_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->cu = cu;
    p->clock = clock;
    p->fd = -1;
    p->profile = vr_xstrdup(o->profile && o->profile[0] ? o->profile : "default");
    p->region = dup_opt(o->region);
    p->http_timeout_ms = o->http_timeout_ms ? o->http_timeout_ms : 10000;
    p->imds_timeout_ms = o->imds_timeout_ms ? o->imds_timeout_ms : 1000;
    p->rng = o->jitter_seed ? o->jitter_seed
                            : (uint32_t)vr_clock_now_ms(clock) ^ (uint32_t)(uintptr_t)p ^ 1u;
    p->src_name = "unresolved";
    vr_buf_init(&p->fbuf, VR__CRED_FILE_MAX);
    if (o->secret_ini) {
        int rc = use_secret(p, o, err, errcap);
        if (rc < 0) {
            free_all(p);
            return rc;
        }
    } else {
        capture_env(p, o);
    }
    uv_timer_init(loop, &p->kick);
    uv_timer_init(loop, &p->refresh);
    p->open_handles = 2;
    *out = p;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct vr_cred *p = h->data;
    if (--p->open_handles > 0)
        return;
    vr_cred_closed_cb cb = p->closed_cb;
    void *arg = p->closed_arg;
    free_all(p);
    if (cb)
        cb(arg);
}

static void maybe_finish_close(struct vr_cred *p)
{
    if (p->step != VR__CRED_IDLE || p->fs_busy || p->req || p->ready.head)
        return;
    if (uv_is_closing((uv_handle_t *)&p->kick))
        return;
    p->kick.data = p;
    p->refresh.data = p;
    uv_close((uv_handle_t *)&p->kick, on_handle_closed);
    uv_close((uv_handle_t *)&p->refresh, on_handle_closed);
}

void vr_cred_close(struct vr_cred *p, vr_cred_closed_cb cb, void *arg)
{
    vr_assert(!p->closing);
    p->closing = true;
    p->closed_cb = cb;
    p->closed_arg = arg;
    uv_timer_stop(&p->refresh);
    answer_waiting(p, VR_ESHUTDOWN);
    if (p->req)
        vr_req_cancel(p->req);
    kick(p);
}
