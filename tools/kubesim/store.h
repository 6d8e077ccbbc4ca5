/*
 * kubesim's object store: every resource kubesim serves, one global resourceVersion
 * counter, a per-resource event ring for watch resumption, and the write semantics of
 * kube-apiserver for custom resources (kube-api.md §1, §4, §9). Pure: no I/O, no
 * clock reads (callers pass now_s), no logging. The HTTP layer (api.c, watch.c) turns
 * results into responses.
 *
 * Objects are cJSON trees owned by the store. Pointers it lends (get, write results,
 * events) are valid until the next store call that changes state.
 */
#ifndef KUBESIM_STORE_H
#define KUBESIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vreq/str.h"

struct ks_store;
struct ks_watcher;

/* One served resource type (a static table in store.c). */
struct ks_resource {
    const char *group;   /* "" for the core group */
    const char *version; /* "v1" */
    const char *plural;
    const char *singular;
    const char *kind;
    const char *list_kind;
    const char *short_names; /* comma-separated, may be "" */
    bool namespaced;
    bool velero;       /* velero.io CRD: status subresource and phase enum follow the options */
    const char *crd_name; /* "downloadrequests.velero.io", NULL for built-ins */
};

/* compaction_window 0 means the default, KS_DEFAULT_WINDOW events. */
#define KS_DEFAULT_WINDOW 1024

struct ks_store_opts {
    bool status_subresource; /* velero CRDs have /status (Velero 1.6-1.8) */
    bool failed_phase;       /* DownloadRequest phase enum includes Failed (newest CRD) */
    size_t compaction_window; /* events kept per resource for watch resumption */
};

/* The error half of a result: a Kubernetes Status, ready to serialize. */
struct ks_status {
    int code;          /* HTTP status: 400, 404, 409, 410, 415, 422, 500 ... */
    char reason[32];   /* "NotFound", "AlreadyExists", "Conflict", "Invalid", ... */
    char message[512];
    char name[256];    /* details.name, may be "" */
    char field[128];   /* details.causes[0].field for Invalid, may be "" */
    /* Added by the store implementation (all optional, zero = unset): */
    char cause[48];    /* details.causes[0].reason ("FieldValueNotSupported", ...); "" = derived */
    int retry_after_s; /* details.retryAfterSeconds (the HTTP layer sends Retry-After) when > 0 */
    const struct ks_resource *res; /* the resource the Status names when it is not the
                                    * request's (a missing namespace); NULL = the request's */
};

enum ks_event_type {
    KS_EV_ADDED,
    KS_EV_MODIFIED,
    KS_EV_DELETED,
};

/* A change, as delivered to watchers and kept in the ring. line is the complete watch
 * line, `{"type":"ADDED","object":{...}}\n`, serialized once and shared. */
struct ks_event {
    enum ks_event_type type;
    uint64_t rv;
    const struct ks_resource *res;
    const char *ns; /* "" for cluster-scoped */
    const char *name;
    const cJSON *obj; /* the object as the event shows it */
    const char *line;
    size_t line_len;
};

/* Which objects a list or watch sees. Empty strings match everything. */
struct ks_selector {
    char ns[254];              /* namespace scope from the URL; "" = all */
    char field_name[254];      /* fieldSelector metadata.name=X */
    char field_namespace[254]; /* fieldSelector metadata.namespace=X */
    char label_key[254];       /* labelSelector k=v (one equality term) */
    char label_value[64];
};

enum ks_patch_type {
    KS_PATCH_MERGE, /* application/merge-patch+json (RFC 7386) */
    KS_PATCH_JSON,  /* application/json-patch+json (RFC 6902) */
};

/* Parses a fieldSelector/labelSelector pair into sel (ns already set by the caller).
 * 0, or -1 with st filled (400 BadRequest: unsupported field selector). */
int ks_selector_parse(struct ks_selector *sel, const char *field_selector,
                      const char *label_selector, struct ks_status *st);

/* A store holding namespaces default, kube-system, kube-public and velero and one CRD
 * object per velero resource (reflecting opts), at resourceVersion > 0. */
struct ks_store *ks_store_new(const struct ks_store_opts *opts);
/* Frees the store, its objects, history and any watchers still registered. */
void ks_store_free(struct ks_store *s);

/* All served resources, for discovery. */
size_t ks_store_resources(const struct ks_store *s, const struct ks_resource *const **out);
/* Looks up by group ("" = core), version and plural; NULL when not served. */
const struct ks_resource *ks_store_find(const struct ks_store *s, const char *group,
                                        const char *version, const char *plural);
/* Whether this store serves /status for res (velero CRDs with the option on). */
bool ks_store_has_status(const struct ks_store *s, const struct ks_resource *res);

/* Sets the wall-clock time (Unix seconds) used for deletionTimestamp, which
 * ks_store_delete has no parameter for. create and load also record their now_s. */
void ks_store_set_now(struct ks_store *s, int64_t now_s);

/* The current global resourceVersion. */
uint64_t ks_store_rv(const struct ks_store *s);

/* Every function below returns 0 on success, or -1 with *st filled. */

/* POST. Takes ownership of obj. Sets uid, resourceVersion, creationTimestamp (now_s),
 * generation 1, name from generateName; drops status when the subresource is on.
 * *out (borrowed) is the stored object. */
int ks_store_create(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    cJSON *obj, int64_t now_s, const cJSON **out, struct ks_status *st);

int ks_store_get(struct ks_store *s, const struct ks_resource *res, const char *ns,
                 const char *name, const cJSON **out, struct ks_status *st);

/* LIST: a new List object (caller frees with cJSON_Delete), items sorted by ns/name,
 * metadata.resourceVersion = current RV. */
int ks_store_list(struct ks_store *s, const struct ks_resource *res,
                  const struct ks_selector *sel, cJSON **out, struct ks_status *st);

/* A page of a LIST (kube-api.md §1.4): at most limit items (0 = all) after the position
 * of cont (NULL or "" = from the start), with metadata.continue set when more remain. Every
 * page carries the list RV of the first one. cont is an opaque token issued by an earlier
 * page: malformed or unknown -> -1 with st 400 BadRequest; issued before a
 * ks_store_compact, or older than the retained history -> -1 with st 410 Expired. */
int ks_store_list_page(struct ks_store *s, const struct ks_resource *res,
                       const struct ks_selector *sel, unsigned limit, const char *cont,
                       cJSON **out, struct ks_status *st);

/* PUT on the object (status = false) or on /status (status = true). Takes ownership of
 * obj. RV required and must match (422 / 409). A write that changes nothing bumps
 * nothing and emits no event. */
int ks_store_update(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    const char *name, cJSON *obj, bool status, const cJSON **out,
                    struct ks_status *st);

/* PATCH (merge or JSON patch) on the object or /status; same rules as update, but the
 * RV is checked only when the patch sets metadata.resourceVersion. */
int ks_store_patch(struct ks_store *s, const struct ks_resource *res, const char *ns,
                   const char *name, enum ks_patch_type type, struct vr_str body, bool status,
                   const cJSON **out, struct ks_status *st);

/* DELETE with optional DeleteOptions (may be NULL; preconditions.uid and
 * .resourceVersion honoured, dryRun makes no change). *out (caller frees) is a new
 * success Status object, or a copy of the object when finalizers keep it (marked with
 * deletionTimestamp, as the real server answers: 200 with the object). */
int ks_store_delete(struct ks_store *s, const struct ks_resource *res, const char *ns,
                    const char *name, const cJSON *delete_options, cJSON **out,
                    struct ks_status *st);

/* Receives events for one watcher, in RV order, synchronously from the store call that
 * caused them (or from ks_store_watch itself for the replay). ev and everything it
 * points to are valid only during the call. A callback may unwatch any watcher but must
 * not write to the store. */
typedef void (*ks_watch_cb)(const struct ks_event *ev, void *arg);

/* Starts a watch. from_rv == NULL or "0": one synthetic ADDED per matching object
 * (current state), then live events. from_rv = N: every retained event with RV > N,
 * then live; N older than the retained history: -1 with st 410 Expired ("too old
 * resource version: N (M)"); N newer than the current RV: -1 with st 504
 * (ResourceVersionTooLarge). Invalid N: 400. */
int ks_store_watch(struct ks_store *s, const struct ks_resource *res,
                   const struct ks_selector *sel, const char *from_rv, ks_watch_cb cb, void *arg,
                   struct ks_watcher **out, struct ks_status *st);
/* Stops delivery; safe to call from inside the watcher's own callback. */
void ks_store_unwatch(struct ks_store *s, struct ks_watcher *w);

/* Forgets all history up to now: watching from any older RV gets 410. */
void ks_store_compact(struct ks_store *s);

/* Loads objects from YAML or JSON text: one object, a List (items), or several
 * `---`-separated documents. Objects are created as by ks_store_create (namespace from
 * metadata.namespace, else "default" for namespaced kinds). 0 or -1 with st (the
 * message names the document and what is wrong). */
int ks_store_load(struct ks_store *s, const char *text, size_t len, int64_t now_s,
                  struct ks_status *st);

/* Serializes st as a Kubernetes Status JSON object (caller frees with vr_free). */
char *ks_status_json(const struct ks_status *st, const struct ks_resource *res);

#endif
