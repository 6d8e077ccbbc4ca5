#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "controller/signer.h"
#include "core/common.h"
#include "store/presign.h"
#include "store/region.h"
#include "store/s3.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define URL_MAX (16 * 1024)

struct vr_signer_entry {
    struct vr_signer_entry *next; /* live list, or dead list once invalidated */
    struct vr_signer *s;
    char *ns, *name, *secret_name;
    const struct vr_presigner_ops *ops;
    void *cfg;
    char region[VR_REGION_MAX];
    bool have_region;
    struct vr_region_lookup *lookup;
    struct vr_cred *cred;
    struct vr_sigv4_key_cache kc;
    struct vr_sign_req *waiting; /* requests waiting for the region */
    int perm_status;             /* a permanent error every request gets; 0 = none */
    char perm_err[256];
    int holds; /* region lookup in flight + credential provider open */
    bool dead;
};

struct vr_signer {
    uv_loop_t *loop;
    struct vr_curl_uv *cu;
    struct vr_clock *clock;
    struct vr_signer_opts opts;
    struct vr_signer_entry *live, *dead;
    uv_idle_t *idle;
    struct vr_sign_req *ready_head, *ready_tail; /* results to deliver next turn */
    char *region_base_url; /* owned copy behind opts.region_base_url */
    uint64_t lookups;
    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static void finish_close(struct vr_signer *s);

/* ---- delivery ---- */

static void complete(struct vr_sign_req *r, int status, const char *url, int64_t exp,
                     const char *err)
{
    r->pending = false;
    r->entry = NULL;
    vr_free(r->key);
    r->key = NULL;
    r->cb(r, status, url, exp, err ? err : vr_strerror(status));
}

static void on_idle(uv_idle_t *h)
{
    struct vr_signer *s = h->data;
    struct vr_sign_req *r = s->ready_head;
    s->ready_head = s->ready_tail = NULL;
    uv_idle_stop(h);
    while (r) {
        struct vr_sign_req *next = r->next;
        complete(r, r->status, NULL, 0, r->err);
        r = next;
    }
    if (s->closing)
        finish_close(s);
}

/* Completes r with an error on the next loop turn (never inside vr_signer_sign). */
static void defer_fail(struct vr_sign_req *r, int status, const char *err)
{
    struct vr_signer *s = r->signer;
    r->status = status;
    snprintf(r->err, sizeof(r->err), "%s", err ? err : vr_strerror(status));
    r->next = NULL;
    if (s->ready_tail)
        s->ready_tail->next = r;
    else
        s->ready_head = r;
    s->ready_tail = r;
    uv_idle_start(s->idle, on_idle);
}

/* ---- entries ---- */

static void entry_free(struct vr_signer_entry *e)
{
    struct vr_signer *s = e->s;
    for (struct vr_signer_entry **pp = &s->dead; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    if (e->ops)
        e->ops->config_free(e->cfg);
    vr_sigv4_key_cache_cleanup(&e->kc);
    vr_free(e->ns);
    vr_free(e->name);
    vr_free(e->secret_name);
    vr_free(e);
    if (s->closing)
        finish_close(s);
}

static void entry_release(struct vr_signer_entry *e)
{
    if (--e->holds == 0 && e->dead)
        entry_free(e);
}

static void perm(struct vr_signer_entry *e, int status, const char *fmt, ...) VR_PRINTF(3, 4);

static void perm(struct vr_signer_entry *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->perm_err, sizeof(e->perm_err), fmt, ap);
    va_end(ap);
    e->perm_status = status;
}

static void entry_creds(struct vr_signer_entry *e, const struct vr_sign_bsl *b)
{
    const struct vr_s3_config *c = e->cfg;
    struct vr_cred_opts o = {
        .secret_ini = b->secret_ini,
        .secret_ini_len = b->secret_ini_len,
        .profile = c->profile,
        .region = c->region,
        .getenv = e->s->opts.getenv,
        .getenv_arg = e->s->opts.getenv_arg,
    };
    char err[256] = "";
    if (vr_cred_new(e->s->loop, e->s->cu, e->s->clock, &o, &e->cred, err, sizeof(err)) < 0) {
        perm(e, VR_ECONFIG, "credentials of backup storage location \"%s\": %s", e->name, err);
        return;
    }
    e->holds++;
}

/* The region when it needs no lookup: config's, else us-east-1 with an s3Url. */
static void entry_region(struct vr_signer_entry *e)
{
    const struct vr_s3_config *c = e->cfg;
    if (vr_s3_config_needs_region(c))
        return;
    snprintf(e->region, sizeof(e->region), "%s", c->region && *c->region ? c->region : "us-east-1");
    e->have_region = true;
}

static struct vr_signer_entry *entry_new(struct vr_signer *s, const struct vr_sign_bsl *b)
{
    struct vr_signer_entry *e = vr_xcalloc(1, sizeof(*e));
    e->s = s;
    e->ns = vr_xstrdup(b->ns);
    e->name = vr_xstrdup(b->name);
    e->secret_name = b->secret_name ? vr_xstrdup(b->secret_name) : NULL;
    vr_sigv4_key_cache_init(&e->kc);
    e->ops = vr_presigner_find(b->provider);
    char err[200] = "";
    if (!e->ops) {
        perm(e, VR_ECONFIG, "backup storage location \"%s\" uses unsupported provider \"%s\"",
             b->name, b->provider ? b->provider : "");
    } else if (e->ops->config_new(b->config, b->bucket, b->prefix, &e->cfg, err, sizeof(err)) <
               0) {
        e->ops = NULL;
        perm(e, VR_ECONFIG, "backup storage location \"%s\" has an invalid config: %s", b->name,
             err);
    } else {
        entry_region(e);
        entry_creds(e, b);
    }
    e->next = s->live;
    s->live = e;
    return e;
}

static struct vr_signer_entry *entry_find(struct vr_signer *s, const char *ns, const char *name)
{
    for (struct vr_signer_entry *e = s->live; e; e = e->next)
        if (!strcmp(e->ns, ns) && !strcmp(e->name, name))
            return e;
    return NULL;
}

/* ---- signing ---- */

static void on_cred(struct vr_cred_wait *w, int status, const struct vr_aws_creds *creds,
                    const char *err)
{
    struct vr_sign_req *r = container_of(w, struct vr_sign_req, wait);
    struct vr_signer_entry *e = r->entry;
    if (status == VR_ESHUTDOWN && !e->s->closing)
        status = VR_ECANCELED; /* the state was invalidated: a retry builds a new one */
    if (status < 0) {
        complete(r, status, NULL, 0, err);
        return;
    }
    struct vr_presign_args a = {
        .key = r->key,
        .expires_s = r->ttl_s,
        .now_s = vr_clock_now_s(e->s->clock),
        .region = e->region,
        .creds = creds,
        .cache = &e->kc,
    };
    struct vr_buf url;
    int64_t exp = 0;
    vr_buf_init(&url, URL_MAX);
    int rc = e->ops->presign_get(e->cfg, &a, &url, &exp);
    if (rc < 0)
        complete(r, rc, NULL, 0, "presigning failed");
    else
        complete(r, 0, url.p, exp, NULL);
    vr_buf_cleanup(&url);
}

static void get_creds(struct vr_sign_req *r)
{
    if (vr_cred_get(r->entry->cred, &r->wait, on_cred) < 0)
        defer_fail(r, VR_ECANCELED, "signing state is closing");
}

static void fail_waiting(struct vr_signer_entry *e, int status, const char *err)
{
    struct vr_sign_req *r = e->waiting;
    e->waiting = NULL;
    while (r) {
        struct vr_sign_req *next = r->next;
        complete(r, status, NULL, 0, err);
        r = next;
    }
}

static void on_region(int status, const char *region, const char *err, void *arg)
{
    struct vr_signer_entry *e = arg;
    e->lookup = NULL;
    if (status == 0 && !e->dead) {
        snprintf(e->region, sizeof(e->region), "%s", region);
        e->have_region = true;
        VR_LOG(VR_LOG_INFO, "signer", "bucket region found bsl=%s/%s region=%s", e->ns, e->name,
               e->region);
        struct vr_sign_req *r = e->waiting;
        e->waiting = NULL;
        for (struct vr_sign_req *next; r; r = next) {
            next = r->next;
            get_creds(r);
        }
    } else {
        fail_waiting(e, status < 0 ? status : VR_ECANCELED, err);
    }
    entry_release(e);
}

static void start_lookup(struct vr_signer_entry *e)
{
    const struct vr_s3_config *c = e->cfg;
    struct vr_region_opts o = {.base_url = e->s->opts.region_base_url,
                               .path_style = c->force_path_style};
    int rc = vr_region_lookup_start(e->s->cu, c->bucket, &o, on_region, e, &e->lookup);
    if (rc < 0) {
        struct vr_sign_req *r = e->waiting;
        e->waiting = NULL;
        for (struct vr_sign_req *next; r; r = next) {
            next = r->next;
            defer_fail(r, rc == VR_EINVAL ? VR_ECONFIG : rc, "bucket name cannot be looked up");
        }
        return;
    }
    e->holds++;
    e->s->lookups++;
}

int vr_signer_sign(struct vr_signer *s, const struct vr_sign_bsl *bsl, const char *key,
                   int64_t ttl_s, struct vr_sign_req *r, vr_sign_cb cb)
{
    if (s->closing)
        return VR_ESHUTDOWN;
    vr_assert(!r->pending);
    struct vr_signer_entry *e = entry_find(s, bsl->ns, bsl->name);
    if (!e)
        e = entry_new(s, bsl);
    memset(r, 0, sizeof(*r));
    r->signer = s;
    r->entry = e;
    r->cb = cb;
    r->key = vr_xstrdup(key);
    r->ttl_s = ttl_s;
    r->pending = true;
    if (e->perm_status) {
        defer_fail(r, e->perm_status, e->perm_err);
    } else if (e->have_region) {
        get_creds(r);
    } else {
        r->next = e->waiting;
        e->waiting = r;
        if (!e->lookup)
            start_lookup(e);
    }
    return 0;
}

/* ---- invalidation and teardown ---- */

static void on_cred_closed(void *arg)
{
    entry_release(arg);
}

static void entry_kill(struct vr_signer_entry *e)
{
    struct vr_signer *s = e->s;
    for (struct vr_signer_entry **pp = &s->live; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    e->dead = true;
    e->next = s->dead;
    s->dead = e;
    if (e->lookup)
        vr_region_lookup_cancel(e->lookup);
    if (e->cred) {
        struct vr_cred *c = e->cred;
        e->cred = NULL;
        vr_cred_close(c, on_cred_closed, e);
    }
    if (e->holds == 0)
        entry_free(e);
}

void vr_signer_invalidate_bsl(struct vr_signer *s, const char *ns, const char *name)
{
    struct vr_signer_entry *e = entry_find(s, ns, name);
    if (e) {
        VR_LOG(VR_LOG_DEBUG, "signer", "signing state dropped bsl=%s/%s", ns, name);
        entry_kill(e);
    }
}

void vr_signer_invalidate_secret(struct vr_signer *s, const char *ns, const char *name)
{
    struct vr_signer_entry *e = s->live;
    while (e) {
        struct vr_signer_entry *next = e->next;
        if (e->secret_name && !strcmp(e->ns, ns) && !strcmp(e->secret_name, name))
            vr_signer_invalidate_bsl(s, e->ns, e->name);
        e = next;
    }
}

size_t vr_signer_size(const struct vr_signer *s)
{
    size_t n = 0;
    for (const struct vr_signer_entry *e = s->live; e; e = e->next)
        n++;
    return n;
}

uint64_t vr_signer_region_lookups(const struct vr_signer *s)
{
    return s->lookups;
}

int vr_signer_new(uv_loop_t *loop, struct vr_curl_uv *cu, struct vr_clock *clock,
                  const struct vr_signer_opts *opts, struct vr_signer **out)
{
    struct vr_signer *s = vr_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->cu = cu;
    s->clock = clock;
    if (opts)
        s->opts = *opts;
    /* Kept past the call: callers build the options on their stack. */
    if (s->opts.region_base_url)
        s->opts.region_base_url = s->region_base_url = vr_xstrdup(s->opts.region_base_url);
    s->idle = vr_xcalloc(1, sizeof(*s->idle));
    uv_idle_init(loop, s->idle);
    s->idle->data = s;
    *out = s;
    return 0;
}

static void on_idle_closed(uv_handle_t *h)
{
    struct vr_signer *s = h->data;
    void (*cb)(void *) = s->closed_cb;
    void *arg = s->closed_arg;
    vr_free(h);
    vr_free(s->region_base_url);
    vr_free(s);
    if (cb)
        cb(arg);
}

static void finish_close(struct vr_signer *s)
{
    if (s->dead || s->live || s->ready_head || !s->idle || uv_is_closing((uv_handle_t *)s->idle))
        return;
    uv_close((uv_handle_t *)s->idle, on_idle_closed);
}

void vr_signer_close(struct vr_signer *s, void (*cb)(void *arg), void *arg)
{
    s->closing = true;
    s->closed_cb = cb;
    s->closed_arg = arg;
    while (s->live)
        entry_kill(s->live);
    /* Close from the idle callback, so cb never runs inside this call. */
    uv_idle_start(s->idle, on_idle);
}
