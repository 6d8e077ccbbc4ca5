/* The compact object cache (cache.h): chained hash table keyed by namespace/name. */
#include <string.h>

#include "kube/cache.h"
#include "vreq/err.h"
#include "vreq/mem.h"

#define BUCKETS_MIN 16
/* Kubernetes names and namespaces are at most 253 bytes; uids and RVs are short. A
 * longer string means the object is not what the API server sends. */
#define FIELD_MAX 1024

struct vr_kcache {
    struct vr_kobj **buckets;
    size_t nbuckets; /* a power of two */
    size_t size;
};

/* FNV-1a over ns, a '/' separator and name, so "a/b"+"c" and "a"+"b/c" differ only if
 * names could contain '/', which Kubernetes forbids. */
static uint64_t key_hash(const char *ns, const char *name)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)ns; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static const char *meta_str(const cJSON *md, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copies s and its NUL into *dst, returning where it landed. */
static const char *put_str(char **dst, const char *s, size_t n)
{
    char *at = *dst;
    memcpy(at, s, n);
    at[n] = '\0';
    *dst = at + n + 1;
    return at;
}

int vr_kobj_new(const cJSON *obj, const struct vr_kcache_projector *proj, struct vr_kobj **out)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *name = meta_str(md, "name"), *rv = meta_str(md, "resourceVersion");
    const char *ns = meta_str(md, "namespace"), *uid = meta_str(md, "uid");
    void *payload = NULL;
    if (!name || !name[0] || !rv || !rv[0])
        return VR_EPARSE;
    ns = ns ? ns : "";
    uid = uid ? uid : "";
    size_t lns = strlen(ns), lname = strlen(name), luid = strlen(uid), lrv = strlen(rv);
    if (lns > FIELD_MAX || lname > FIELD_MAX || luid > FIELD_MAX || lrv > FIELD_MAX)
        return VR_EPARSE;
    if (proj && proj->extract) {
        int rc = proj->extract(obj, &payload);
        if (rc < 0)
            return rc;
    }
    struct vr_kobj *o = vr_xmalloc(sizeof(*o) + lns + lname + luid + lrv + 4);
    char *d = o->data;
    o->hnext = NULL;
    o->proj = proj;
    o->payload = payload;
    o->ns = put_str(&d, ns, lns);
    o->name = put_str(&d, name, lname);
    o->uid = put_str(&d, uid, luid);
    o->rv = put_str(&d, rv, lrv);
    o->hash = key_hash(o->ns, o->name);
    *out = o;
    return 0;
}

void vr_kobj_free(struct vr_kobj *o)
{
    if (!o)
        return;
    if (o->payload && o->proj && o->proj->release)
        o->proj->release(o->payload);
    vr_free(o);
}

bool vr_kobj_equal(const struct vr_kobj *a, const struct vr_kobj *b)
{
    if (strcmp(a->ns, b->ns) != 0 || strcmp(a->name, b->name) != 0 ||
        strcmp(a->uid, b->uid) != 0 || strcmp(a->rv, b->rv) != 0)
        return false;
    if (a->proj && a->proj->equal)
        return a->proj->equal(a->payload, b->payload);
    return a->payload == b->payload;
}

struct vr_kcache *vr_kcache_new(void)
{
    struct vr_kcache *c = vr_xcalloc(1, sizeof(*c));
    c->nbuckets = BUCKETS_MIN;
    c->buckets = vr_xcalloc(c->nbuckets, sizeof(*c->buckets));
    return c;
}

void vr_kcache_free(struct vr_kcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct vr_kobj *o = c->buckets[i], *next;
        for (; o; o = next) {
            next = o->hnext;
            vr_kobj_free(o);
        }
    }
    vr_free(c->buckets);
    vr_free(c);
}

size_t vr_kcache_size(const struct vr_kcache *c)
{
    return c->size;
}

static struct vr_kobj **slot_find(const struct vr_kcache *c, uint64_t h, const char *ns,
                                  const char *name)
{
    struct vr_kobj **pp = &c->buckets[h & (c->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        const struct vr_kobj *o = *pp;
        if (o->hash == h && strcmp(o->name, name) == 0 && strcmp(o->ns, ns) == 0)
            return pp;
    }
    return pp;
}

const struct vr_kobj *vr_kcache_get(const struct vr_kcache *c, const char *ns, const char *name)
{
    return *slot_find(c, key_hash(ns, name), ns, name);
}

/* Doubles the table once it holds more objects than buckets (load factor <= 1). */
static void grow(struct vr_kcache *c)
{
    size_t n = c->nbuckets * 2;
    struct vr_kobj **b = vr_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct vr_kobj *o = c->buckets[i], *next;
        for (; o; o = next) {
            next = o->hnext;
            o->hnext = b[o->hash & (n - 1)];
            b[o->hash & (n - 1)] = o;
        }
    }
    vr_free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

void vr_kcache_put_take(struct vr_kcache *c, struct vr_kobj *o, struct vr_kobj **old)
{
    struct vr_kobj **pp = slot_find(c, o->hash, o->ns, o->name);
    struct vr_kobj *prev = *pp;
    if (prev) {
        o->hnext = prev->hnext;
        prev->hnext = NULL;
        *pp = o;
    } else {
        o->hnext = NULL;
        *pp = o;
        if (++c->size > c->nbuckets)
            grow(c);
    }
    if (old)
        *old = prev;
    else
        vr_kobj_free(prev);
}

struct vr_kobj *vr_kcache_remove(struct vr_kcache *c, const char *ns, const char *name)
{
    struct vr_kobj **pp = slot_find(c, key_hash(ns, name), ns, name);
    struct vr_kobj *o = *pp;
    if (!o)
        return NULL;
    *pp = o->hnext;
    o->hnext = NULL;
    c->size--;
    return o;
}

void vr_kcache_swap(struct vr_kcache *a, struct vr_kcache *b)
{
    struct vr_kcache t = *a;
    *a = *b;
    *b = t;
}

void vr_kcache_iter_init(struct vr_kcache_iter *it, const struct vr_kcache *c)
{
    it->c = c;
    it->bucket = 0;
    it->next = NULL;
}

const struct vr_kobj *vr_kcache_iter_next(struct vr_kcache_iter *it)
{
    const struct vr_kobj *o = it->next;
    while (!o && it->bucket < it->c->nbuckets)
        o = it->c->buckets[it->bucket++];
    if (o)
        it->next = o->hnext;
    return o;
}
