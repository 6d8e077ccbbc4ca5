/*
 * The informer's compact object cache: a hash table keyed by namespace/name that keeps,
 * per object, only namespace, name, uid, resourceVersion and a small resource-specific
 * payload, never the whole cJSON tree. What goes into the payload is decided by a
 * projector, a small const vtable the caller supplies per resource (STYLE.md §1, §9 #10).
 * Pure: no I/O, no clock, no logging.
 *
 * Objects (struct vr_kobj) are immutable once built. A cache owns the objects stored in
 * it; lookups lend them until the next change to that key or the cache is freed.
 */
#ifndef VR_KUBE_CACHE_H
#define VR_KUBE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Per-resource projection of a full object into a compact payload. */
struct vr_kcache_projector {
    const char *name; /* for logs: "downloadrequest" */
    /* Builds the payload from obj (borrowed; copy what you keep). 0 with *out written
     * (NULL is a valid payload), or a negative code (VR_EPARSE for an object the
     * controller cannot use), which makes the informer skip the object. */
    int (*extract)(const cJSON *obj, void **out);
    /* Releases a payload extract built (never called with NULL). */
    void (*release)(void *payload);
    /* Whether two payloads are the same for the controller (either may be NULL). NULL
     * member: payloads are compared by pointer. */
    bool (*equal)(const void *a, const void *b);
};

/* A compact object. All strings are NUL-terminated and live in the same allocation;
 * ns is "" for cluster-scoped objects. */
struct vr_kobj {
    struct vr_kobj *hnext; /* internal: hash chain */
    uint64_t hash;         /* internal */
    const struct vr_kcache_projector *proj;
    const char *ns;
    const char *name;
    const char *uid; /* "" when the object has none */
    const char *rv;
    void *payload; /* owned, released with proj->release */
    char data[];
};

/* Builds a compact object from obj (borrowed): metadata.name and a non-empty
 * metadata.resourceVersion are required, namespace and uid optional; proj may be NULL
 * (no payload). 0 with *out written, VR_EPARSE, or the projector's error. Free with
 * vr_kobj_free. */
int vr_kobj_new(const cJSON *obj, const struct vr_kcache_projector *proj, struct vr_kobj **out);

/* Releases an object that is not in a cache (NULL is a no-op). */
void vr_kobj_free(struct vr_kobj *o);

/* Whether a and b describe the same state: same key, uid and resourceVersion and equal
 * payloads. */
bool vr_kobj_equal(const struct vr_kobj *a, const struct vr_kobj *b);

struct vr_kcache;

/* An empty cache. Never fails (aborts on OOM). */
struct vr_kcache *vr_kcache_new(void);

/* Frees the cache and every object in it (NULL is a no-op). */
void vr_kcache_free(struct vr_kcache *c);

/* The number of objects. */
size_t vr_kcache_size(const struct vr_kcache *c);

/* The object at ns ("" for cluster-scoped) / name, borrowed, or NULL. */
const struct vr_kobj *vr_kcache_get(const struct vr_kcache *c, const char *ns, const char *name);

/* Inserts o, taking ownership. When an object with the same key was there, it is taken
 * out and handed to the caller through *old (who frees it with vr_kobj_free), else *old
 * = NULL. old may be NULL, then a replaced object is freed here. */
void vr_kcache_put_take(struct vr_kcache *c, struct vr_kobj *o, struct vr_kobj **old);

/* Takes the object at ns/name out and hands it to the caller (who frees it with
 * vr_kobj_free); NULL when absent. */
struct vr_kobj *vr_kcache_remove(struct vr_kcache *c, const char *ns, const char *name);

/* Exchanges the contents of a and b (a relist swaps the new state in without changing
 * the cache's address). */
void vr_kcache_swap(struct vr_kcache *a, struct vr_kcache *b);

/* Iteration in no particular order. The cache must not change while iterating:
 *     struct vr_kcache_iter it;
 *     for (vr_kcache_iter_init(&it, c); (o = vr_kcache_iter_next(&it)) != NULL;) ... */
struct vr_kcache_iter {
    const struct vr_kcache *c;
    size_t bucket;
    const struct vr_kobj *next;
};

void vr_kcache_iter_init(struct vr_kcache_iter *it, const struct vr_kcache *c);
const struct vr_kobj *vr_kcache_iter_next(struct vr_kcache_iter *it);

#endif
