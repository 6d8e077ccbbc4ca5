/*
 * Internals shared by the store's files (store.c, write.c, read.c, resources.c,
 * selector.c, kstatus.c, load.c). Not for the HTTP layer: use store.h.
 */
#ifndef KUBESIM_STORE_INT_H
#define KUBESIM_STORE_INT_H

#include "store.h"
#include "vreq/mem.h"

/* One immutable version of an object, shared by the live entry and the events that
 * show it. Copy-on-write: a published tree is never modified. */
struct ks_ver {
    unsigned refs;
    cJSON *obj;
};

/* A live object, in its resource's hash table. */
struct ks_entry {
    struct ks_entry *next;
    uint64_t hash;
    uint64_t rv;
    char *ns; /* one allocation: ns, NUL, name, NUL */
    char *name;
    struct ks_ver *ver;
};

/* One retained event. ev points into the record (line, key) and ver. */
struct ks_evrec {
    struct ks_event ev;
    struct ks_ver *ver;  /* what the event shows */
    struct ks_ver *prev; /* the state before (MODIFIED, DELETED), for selector transitions */
    char *line;
    char *key; /* ns NUL name NUL */
};

struct ks_watcher {
    struct ks_watcher *next, *prev;
    struct ks_watcher *zombie_next;
    struct ks_rstate *rs;
    struct ks_selector sel;
    ks_watch_cb cb;
    void *arg;
    bool dead;
};

/* Per-resource state. */
struct ks_rstate {
    const struct ks_resource *res;
    struct ks_entry **buckets;
    size_t nbuckets;
    size_t count;
    /* The count entries sorted by namespace/name, built by the first list after a
     * change: NULL once an insert or remove makes it stale (updates keep keys). */
    struct ks_entry **sorted;
    struct ks_evrec **ring;
    size_t ring_cap, ring_head, ring_len;
    uint64_t compacted_rv; /* RV of the last evicted event, or R at the last compact */
    struct ks_watcher *watchers;
};

struct ks_store {
    struct ks_store_opts opts;
    uint64_t rv;
    int64_t now_s;
    struct ks_rstate *rs;
    size_t nres;
    int dispatching;              /* > 0 while watcher callbacks run */
    struct ks_watcher *zombies;   /* unwatched during dispatch, freed after it */
    struct ks_ver *lent;          /* keeps a deleted object alive for a borrowed *out */
    uint64_t compactions;         /* ks_store_compact calls: continue tokens carry it */
};

/* ---- store.c ---- */
struct ks_rstate *vr__ks_rstate(struct ks_store *s, const struct ks_resource *res);
struct ks_entry *vr__ks_lookup(struct ks_rstate *rs, const char *ns, const char *name);
struct ks_ver *vr__ks_ver_new(cJSON *obj);
void vr__ks_ver_unref(struct ks_ver *v);
/* Inserts a new entry holding ver (reference taken over). */
struct ks_entry *vr__ks_insert(struct ks_rstate *rs, const char *ns, const char *name,
                               struct ks_ver *ver, uint64_t rv);
/* Unlinks and frees e (its version reference dropped). Both drop rs->sorted. */
void vr__ks_remove(struct ks_rstate *rs, struct ks_entry *e);
/* Records and delivers an event: ver shown, prev the earlier state (may be NULL). Takes
 * a new reference on both. */
void vr__ks_emit(struct ks_store *s, struct ks_rstate *rs, enum ks_event_type type,
                 struct ks_ver *ver, struct ks_ver *prev, const char *ns, const char *name);
/* Delivers rec to one watcher (selector transitions applied). */
void vr__ks_deliver(struct ks_watcher *w, const struct ks_evrec *rec);
/* `{"type":T,"object":obj}\n`, heap (vr_free). */
char *vr__ks_event_line(enum ks_event_type type, const cJSON *obj, size_t *len);
void vr__ks_dispatch_begin(struct ks_store *s);
void vr__ks_dispatch_end(struct ks_store *s);
/* Drops s->lent (start of every state-changing call). */
void vr__ks_release_lent(struct ks_store *s);

/* ---- cont.c: continue tokens ---- */
struct ks_cont {
    uint64_t rv;          /* the list RV of the first page */
    uint64_t compactions; /* the store's compaction count when it was issued */
    char ns[254];         /* the last key returned */
    char name[254];
};
/* base64url(JSON) of c (heap, vr_free). */
char *vr__ks_cont_encode(const struct ks_cont *c);
/* 0, or -1 when tok is not a token this store format issued. */
int vr__ks_cont_decode(const char *tok, struct ks_cont *c);

/* ---- kstatus.c ---- */
void vr__ks_status(struct ks_status *st, int code, const char *reason, const char *name,
                   const char *fmt, ...) VR_PRINTF(5, 6);
/* 404 `<plural>.<group> "name" not found`. */
void vr__ks_not_found(struct ks_status *st, const struct ks_resource *res, const char *name);
/* 422 Invalid: `<Kind>.<group> "name" is invalid: <field>: <detail>`. */
void vr__ks_invalid(struct ks_status *st, const struct ks_resource *res, const char *name,
                    const char *field, const char *cause, const char *fmt, ...) VR_PRINTF(6, 7);
/* "plural.group" or "plural" for the core group, into buf. */
const char *vr__ks_qualified(const struct ks_resource *res, char *buf, size_t cap);

/* ---- resources.c ---- */
const struct ks_resource *const *vr__ks_table(size_t *n);
const struct ks_resource *vr__ks_find_kind(const char *api_version, const char *kind);
const struct ks_resource *vr__ks_namespaces(void);
const struct ks_resource *vr__ks_crds(void);
/* The CRD object describing a velero resource under opts (new tree). */
cJSON *vr__ks_crd_object(const struct ks_resource *res, const struct ks_store_opts *opts);
/* Enum checks and pruning for velero kinds (modifies obj); 0 or -1 with st (422). */
int vr__ks_validate(const struct ks_store *s, const struct ks_resource *res, cJSON *obj,
                    const char *name, struct ks_status *st);
/* Whether the kind carries metadata.generation (custom resources and CRDs). */
bool vr__ks_has_generation(const struct ks_resource *res);
/* "velero.io/v1" or "v1". */
const char *vr__ks_api_version(const struct ks_resource *res, char *buf, size_t cap);

/* ---- selector.c ---- */
bool vr__ks_sel_match(const struct ks_selector *sel, const char *ns, const char *name,
                      const cJSON *obj);
bool vr__ks_sel_has_labels(const struct ks_selector *sel);

/* ---- small cJSON helpers (store.c) ---- */
const char *vr__ks_meta_str(const cJSON *obj, const char *field);
cJSON *vr__ks_meta(cJSON *obj);
void vr__ks_set_str(cJSON *obj, const char *key, const char *value);
void vr__ks_set_item(cJSON *obj, const char *key, cJSON *item);

#endif
