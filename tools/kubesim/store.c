/*
 * Store core: resource states, the per-resource hash table, shared object versions,
 * the event ring and watcher dispatch. The write paths are in write.c, reads and
 * watches in read.c.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define KS_INITIAL_BUCKETS 64

/* ---- small cJSON helpers ---- */

const char *vr__ks_meta_str(const cJSON *obj, const char *field)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *vr__ks_meta(cJSON *obj)
{
    return cJSON_GetObjectItemCaseSensitive(obj, "metadata");
}

void vr__ks_set_item(cJSON *obj, const char *key, cJSON *item)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

void vr__ks_set_str(cJSON *obj, const char *key, const char *value)
{
    vr__ks_set_item(obj, key, cJSON_CreateString(value));
}

/* ---- versions ---- */

struct ks_ver *vr__ks_ver_new(cJSON *obj)
{
    struct ks_ver *v = vr_xmalloc(sizeof(*v));
    v->refs = 1;
    v->obj = obj;
    return v;
}

void vr__ks_ver_unref(struct ks_ver *v)
{
    if (!v || --v->refs > 0)
        return;
    cJSON_Delete(v->obj);
    vr_free(v);
}

void vr__ks_release_lent(struct ks_store *s)
{
    vr__ks_ver_unref(s->lent);
    s->lent = NULL;
}

/* ---- hash table ---- */

static uint64_t key_hash(const char *ns, const char *name)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = ns; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

struct ks_entry *vr__ks_lookup(struct ks_rstate *rs, const char *ns, const char *name)
{
    uint64_t h = key_hash(ns, name);
    for (struct ks_entry *e = rs->buckets[h & (rs->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->name, name) == 0 && strcmp(e->ns, ns) == 0)
            return e;
    return NULL;
}

static void grow(struct ks_rstate *rs)
{
    size_t n = rs->nbuckets * 2;
    struct ks_entry **b = vr_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < rs->nbuckets; i++) {
        struct ks_entry *e = rs->buckets[i];
        while (e) {
            struct ks_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    vr_free(rs->buckets);
    rs->buckets = b;
    rs->nbuckets = n;
}

struct ks_entry *vr__ks_insert(struct ks_rstate *rs, const char *ns, const char *name,
                               struct ks_ver *ver, uint64_t rv)
{
    if (rs->count >= rs->nbuckets)
        grow(rs);
    size_t nl = strlen(ns), ml = strlen(name);
    struct ks_entry *e = vr_xmalloc(sizeof(*e));
    e->ns = vr_xmalloc(nl + ml + 2);
    memcpy(e->ns, ns, nl + 1);
    e->name = e->ns + nl + 1;
    memcpy(e->name, name, ml + 1);
    e->hash = key_hash(ns, name);
    e->rv = rv;
    e->ver = ver;
    struct ks_entry **slot = &rs->buckets[e->hash & (rs->nbuckets - 1)];
    e->next = *slot;
    *slot = e;
    rs->count++;
    vr_free(rs->sorted);
    rs->sorted = NULL;
    return e;
}

static void entry_free(struct ks_entry *e)
{
    vr__ks_ver_unref(e->ver);
    vr_free(e->ns);
    vr_free(e);
}

void vr__ks_remove(struct ks_rstate *rs, struct ks_entry *e)
{
    struct ks_entry **pp = &rs->buckets[e->hash & (rs->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    rs->count--;
    vr_free(rs->sorted);
    rs->sorted = NULL;
    entry_free(e);
}

/* ---- events ---- */

static const char *event_type_name(enum ks_event_type t)
{
    switch (t) {
    case KS_EV_ADDED:
        return "ADDED";
    case KS_EV_MODIFIED:
        return "MODIFIED";
    case KS_EV_DELETED:
        return "DELETED";
    }
    return "ERROR";
}

char *vr__ks_event_line(enum ks_event_type type, const cJSON *obj, size_t *len)
{
    /* A reference item prints obj's members without copying them. */
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddStringToObject(wrap, "type", event_type_name(type));
    cJSON_AddItemToObject(wrap, "object", cJSON_CreateObjectReference(obj->child));
    char *p = cJSON_PrintUnformatted(wrap);
    cJSON_Delete(wrap);
    if (!p)
        vr_panic("cJSON_PrintUnformatted failed");
    size_t n = strlen(p);
    p = vr_xrealloc(p, n + 2);
    p[n] = '\n';
    p[n + 1] = '\0';
    *len = n + 1;
    return p;
}

static void evrec_free(struct ks_evrec *r)
{
    vr__ks_ver_unref(r->ver);
    vr__ks_ver_unref(r->prev);
    vr_free(r->line);
    vr_free(r->key);
    vr_free(r);
}

static struct ks_evrec *evrec_new(struct ks_rstate *rs, enum ks_event_type type, uint64_t rv,
                                  struct ks_ver *ver, struct ks_ver *prev, const char *ns,
                                  const char *name)
{
    struct ks_evrec *r = vr_xcalloc(1, sizeof(*r));
    size_t nl = strlen(ns), ml = strlen(name);
    r->key = vr_xmalloc(nl + ml + 2);
    memcpy(r->key, ns, nl + 1);
    memcpy(r->key + nl + 1, name, ml + 1);
    r->ver = ver;
    ver->refs++;
    r->prev = prev;
    if (prev)
        prev->refs++;
    r->line = vr__ks_event_line(type, ver->obj, &r->ev.line_len);
    r->ev.type = type;
    r->ev.rv = rv;
    r->ev.res = rs->res;
    r->ev.ns = r->key;
    r->ev.name = r->key + nl + 1;
    r->ev.obj = ver->obj;
    r->ev.line = r->line;
    return r;
}

static void ring_push(struct ks_rstate *rs, struct ks_evrec *r)
{
    if (rs->ring_cap == 0) {
        rs->compacted_rv = r->ev.rv;
        evrec_free(r);
        return;
    }
    if (rs->ring_len == rs->ring_cap) {
        struct ks_evrec *old = rs->ring[rs->ring_head];
        rs->compacted_rv = old->ev.rv;
        evrec_free(old);
        rs->ring[rs->ring_head] = r;
        rs->ring_head = (rs->ring_head + 1) % rs->ring_cap;
        return;
    }
    rs->ring[(rs->ring_head + rs->ring_len) % rs->ring_cap] = r;
    rs->ring_len++;
}

/* Sends a variant of rec (a selector transition) with its own line. */
static void deliver_as(struct ks_watcher *w, const struct ks_evrec *rec, enum ks_event_type type,
                       const cJSON *obj)
{
    struct ks_event ev = rec->ev;
    ev.type = type;
    ev.obj = obj;
    char *line = vr__ks_event_line(type, obj, &ev.line_len);
    ev.line = line;
    w->cb(&ev, w->arg);
    vr_free(line);
}

/* The previous state as a transition's DELETED shows it: carrying the event's RV. */
static void deliver_left(struct ks_watcher *w, const struct ks_evrec *rec)
{
    cJSON *obj = cJSON_Duplicate(rec->prev->obj, true);
    cJSON *meta = vr__ks_meta(obj);
    char rv[24];
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)rec->ev.rv);
    if (meta)
        vr__ks_set_str(meta, "resourceVersion", rv);
    deliver_as(w, rec, KS_EV_DELETED, obj);
    cJSON_Delete(obj);
}

void vr__ks_deliver(struct ks_watcher *w, const struct ks_evrec *rec)
{
    const struct ks_selector *sel = &w->sel;
    bool now = vr__ks_sel_match(sel, rec->ev.ns, rec->ev.name, rec->ver->obj);
    if (rec->ev.type != KS_EV_MODIFIED || !vr__ks_sel_has_labels(sel)) {
        if (now)
            w->cb(&rec->ev, w->arg);
        return;
    }
    bool before = rec->prev && vr__ks_sel_match(sel, rec->ev.ns, rec->ev.name, rec->prev->obj);
    if (now && before)
        w->cb(&rec->ev, w->arg);
    else if (now)
        deliver_as(w, rec, KS_EV_ADDED, rec->ver->obj);
    else if (before)
        deliver_left(w, rec);
}

void vr__ks_dispatch_begin(struct ks_store *s)
{
    s->dispatching++;
}

static void watcher_unlink(struct ks_watcher *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        w->rs->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

void vr__ks_dispatch_end(struct ks_store *s)
{
    if (--s->dispatching > 0)
        return;
    while (s->zombies) {
        struct ks_watcher *w = s->zombies;
        s->zombies = w->zombie_next;
        watcher_unlink(w);
        vr_free(w);
    }
}

void vr__ks_emit(struct ks_store *s, struct ks_rstate *rs, enum ks_event_type type,
                 struct ks_ver *ver, struct ks_ver *prev, const char *ns, const char *name)
{
    struct ks_evrec *r = evrec_new(rs, type, s->rv, ver, prev, ns, name);
    vr__ks_dispatch_begin(s);
    for (struct ks_watcher *w = rs->watchers; w; w = w->next)
        if (!w->dead)
            vr__ks_deliver(w, r);
    vr__ks_dispatch_end(s);
    ring_push(rs, r);
}

void ks_store_unwatch(struct ks_store *s, struct ks_watcher *w)
{
    if (!w || w->dead)
        return;
    w->dead = true;
    if (s->dispatching > 0) {
        w->zombie_next = s->zombies;
        s->zombies = w;
        return;
    }
    watcher_unlink(w);
    vr_free(w);
}

/* ---- store lifecycle ---- */

struct ks_rstate *vr__ks_rstate(struct ks_store *s, const struct ks_resource *res)
{
    for (size_t i = 0; i < s->nres; i++)
        if (s->rs[i].res == res)
            return &s->rs[i];
    return NULL;
}

static void preload(struct ks_store *s)
{
    static const char *const namespaces[] = {"default", "kube-system", "kube-public", "velero"};
    struct ks_status st;
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        cJSON *ns = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", namespaces[i]);
        if (ks_store_create(s, vr__ks_namespaces(), "", ns, 0, NULL, &st) < 0)
            vr_panic("kubesim: preloading namespace %s: %s", namespaces[i], st.message);
    }
    size_t n;
    const struct ks_resource *const *tab = vr__ks_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (!tab[i]->velero)
            continue;
        cJSON *crd = vr__ks_crd_object(tab[i], &s->opts);
        if (ks_store_create(s, vr__ks_crds(), "", crd, 0, NULL, &st) < 0)
            vr_panic("kubesim: preloading CRD %s: %s", tab[i]->crd_name, st.message);
    }
}

struct ks_store *ks_store_new(const struct ks_store_opts *opts)
{
    vr_mem_init_cjson();
    struct ks_store *s = vr_xcalloc(1, sizeof(*s));
    s->opts = *opts;
    if (s->opts.compaction_window == 0)
        s->opts.compaction_window = KS_DEFAULT_WINDOW;
    const struct ks_resource *const *tab = vr__ks_table(&s->nres);
    s->rs = vr_xcalloc(s->nres, sizeof(*s->rs));
    for (size_t i = 0; i < s->nres; i++) {
        struct ks_rstate *rs = &s->rs[i];
        rs->res = tab[i];
        rs->nbuckets = KS_INITIAL_BUCKETS;
        rs->buckets = vr_xcalloc(rs->nbuckets, sizeof(*rs->buckets));
        rs->ring_cap = s->opts.compaction_window;
        rs->ring = vr_xcalloc(rs->ring_cap, sizeof(*rs->ring));
    }
    preload(s);
    return s;
}

static void ring_clear(struct ks_rstate *rs)
{
    for (size_t i = 0; i < rs->ring_len; i++)
        evrec_free(rs->ring[(rs->ring_head + i) % rs->ring_cap]);
    rs->ring_head = 0;
    rs->ring_len = 0;
}

static void rstate_cleanup(struct ks_rstate *rs)
{
    for (size_t i = 0; i < rs->nbuckets; i++) {
        struct ks_entry *e = rs->buckets[i];
        while (e) {
            struct ks_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    vr_free(rs->buckets);
    vr_free(rs->sorted);
    ring_clear(rs);
    vr_free(rs->ring);
    while (rs->watchers) {
        struct ks_watcher *w = rs->watchers;
        rs->watchers = w->next;
        vr_free(w);
    }
}

void ks_store_free(struct ks_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nres; i++)
        rstate_cleanup(&s->rs[i]);
    vr_free(s->rs);
    vr__ks_release_lent(s);
    vr_free(s);
}

void ks_store_compact(struct ks_store *s)
{
    s->compactions++;
    for (size_t i = 0; i < s->nres; i++) {
        ring_clear(&s->rs[i]);
        s->rs[i].compacted_rv = s->rv;
    }
}

uint64_t ks_store_rv(const struct ks_store *s)
{
    return s->rv;
}

void ks_store_set_now(struct ks_store *s, int64_t now_s)
{
    s->now_s = now_s;
}

size_t ks_store_resources(const struct ks_store *s, const struct ks_resource *const **out)
{
    size_t n;
    *out = vr__ks_table(&n);
    (void)s;
    return n;
}

const struct ks_resource *ks_store_find(const struct ks_store *s, const char *group,
                                        const char *version, const char *plural)
{
    for (size_t i = 0; i < s->nres; i++) {
        const struct ks_resource *r = s->rs[i].res;
        if (!strcmp(r->group, group) && !strcmp(r->version, version) && !strcmp(r->plural, plural))
            return r;
    }
    return NULL;
}

bool ks_store_has_status(const struct ks_store *s, const struct ks_resource *res)
{
    return res->velero && s->opts.status_subresource;
}
