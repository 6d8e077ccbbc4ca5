/*
 * The asynchronous Kubernetes API client: one request per call on the shared
 * vr_curl_uv bridge (keep-alive, HTTP/2 over TLS where curl offers it), completion by
 * callback, every error typed from the HTTP status and the Status body.
 *
 * HTTP status -> code (converted here and nowhere else): 404 VR_ENOTFOUND; 409
 * VR_ECONFLICT, or VR_EEXIST when reason is AlreadyExists; 410 VR_EGONE; 422 VR_EINVALID;
 * 400 VR_EBADREQ; 401 VR_EUNAUTH; 403 VR_EFORBIDDEN; 429 VR_ETHROTTLED; 5xx VR_ESERVER;
 * 415 VR_EUNSUPPORTED; transport failure VR_EHTTP (curl's message in status.message);
 * timeouts VR_ETIMEDOUT; oversized bodies VR_ETOOBIG; cancelled VR_ECANCELED. A missing
 * or broken Status body never turns an error into success.
 */
#ifndef VR_KUBE_CLIENT_H
#define VR_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "kube/config.h"
#include "loop/clock.h"
#include "vreq/curl_uv.h"
#include "vreq/str.h"

struct vr_kube_client;
struct vr_kube_call;

/* A resource type, usually a static const. */
struct vr_kube_resource {
    const char *group;   /* "" for core */
    const char *version; /* "v1" */
    const char *plural;  /* "downloadrequests" */
    const char *kind;    /* "DownloadRequest" */
    bool namespaced;
};

/* Well-known resources. */
extern const struct vr_kube_resource vr_kube_res_downloadrequests;
extern const struct vr_kube_resource vr_kube_res_serverstatusrequests;
extern const struct vr_kube_resource vr_kube_res_backups;
extern const struct vr_kube_resource vr_kube_res_restores;
extern const struct vr_kube_resource vr_kube_res_backupstoragelocations;
extern const struct vr_kube_resource vr_kube_res_secrets;
extern const struct vr_kube_resource vr_kube_res_leases;
extern const struct vr_kube_resource vr_kube_res_crds;

/* An API error, copied out of the Status body (fixed arrays truncate silently). */
struct vr_kube_status {
    int code;           /* HTTP status, 0 for transport errors */
    char reason[48];    /* "NotFound", "Conflict", "Expired", ... */
    char message[256];  /* Status message, or curl's text for VR_EHTTP */
    int retry_after_s;  /* Retry-After header or details.retryAfterSeconds, else 0 */
};

/* What a finished call hands its callback. Everything is borrowed and valid only during
 * the callback: copy what you keep. */
struct vr_kube_result {
    int http_code;
    const cJSON *obj;  /* parsed 2xx body (object, List, or success Status), else NULL */
    struct vr_str body; /* the raw body */
    const struct vr_kube_status *status; /* filled on error; never NULL (zeroed on success) */
};

/* Runs exactly once per started call, from the loop, never inside the call that started
 * it: status 0 or a VR_E* code above. */
typedef void (*vr_kube_done_cb)(int status, const struct vr_kube_result *res, void *arg);

struct vr_kube_client_opts {
    size_t max_body;        /* cap on one response body (default 64 MiB for lists) */
    unsigned timeout_ms;    /* per request, watches excepted (default 30 s) */
    unsigned max_retries;   /* 429 / 5xx with an integer Retry-After (default 10, like
                             * client-go; 0 = off); waits on a timer, never blocks */
    const char *user_agent; /* "vreqd/0.1.0" */
};

void vr_kube_client_opts_default(struct vr_kube_client_opts *o);

/* Creates a client for cfg (copied) on the bridge cu (borrowed: it must outlive the
 * client). clock (borrowed) must have loop set to cu's loop: the client's retry/idle timer
 * and token-file reads run there, and token age, Retry-After waits and durations are
 * measured with clock->now_ms (with a fake clock a wait ends once the clock has advanced
 * and the timer fires). opts may be NULL for the defaults. 0, VR_ECONFIG (unusable
 * config: the message says why via the log) or VR_EINVAL. */
int vr_kube_client_new(struct vr_curl_uv *cu, struct vr_clock *clock,
                       const struct vr_kube_config *cfg, const struct vr_kube_client_opts *opts,
                       struct vr_kube_client **out);

/* Cancels every call in flight (callbacks run with VR_ECANCELED, from the loop), then
 * frees the client once they have run; cb (may be NULL) runs last. */
void vr_kube_client_close(struct vr_kube_client *c, void (*cb)(void *arg), void *arg);

/* The configured namespace (borrowed). */
const char *vr_kube_client_namespace(const struct vr_kube_client *c);

/* Observes every HTTP exchange the client completes, for metrics: verb is the call's verb
 * ("GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"; static), http_code the
 * response's status, or 0 when the request failed without one (refused, reset, timed out;
 * cancelled requests are not reported), and duration_ms the time from sending the request
 * to its end (a watch: the stream's life). Each retry (Retry-After, 401 re-read) is one
 * exchange. Called from the loop before the call's own callback; it must not start,
 * cancel or close anything on the client. */
typedef void (*vr_kube_observer_cb)(const char *verb, int http_code, uint64_t duration_ms,
                                    void *arg);

/* Sets the observer (NULL removes it); arg is borrowed and must outlive the client or the
 * observer's removal. One observer per client: a second call replaces the first. */
void vr_kube_client_set_observer(struct vr_kube_client *c, vr_kube_observer_cb cb, void *arg);

/* List options; NULL members are omitted. */
struct vr_kube_list_opts {
    const char *resource_version;
    const char *field_selector;
    const char *label_selector;
    unsigned limit;             /* 0 = none */
    const char *continue_token;
};

/* Calls. ns is ignored for cluster-scoped resources; NULL = all namespaces for lists and
 * watches, and the client's namespace for single-object calls. Names, namespaces and
 * query values are percent-encoded; an empty name or a "."/".." segment is VR_EINVAL. A
 * 401 with a token file configured re-reads the file and sends the call once more. subresource is NULL or "status". Bodies are JSON text (copied). Each returns
 * a handle (never NULL) that stays valid until its callback returns, for
 * vr_kube_call_cancel; a call that cannot start reports the error through its callback,
 * later, like any other. */
struct vr_kube_call *vr_kube_get(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                 const char *ns, const char *name, vr_kube_done_cb cb,
                                 void *arg);
struct vr_kube_call *vr_kube_list(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                  const char *ns, const struct vr_kube_list_opts *opts,
                                  vr_kube_done_cb cb, void *arg);
struct vr_kube_call *vr_kube_create(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *body, vr_kube_done_cb cb, void *arg);
struct vr_kube_call *vr_kube_update(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *name, const char *subresource, const char *body,
                                    vr_kube_done_cb cb, void *arg);

enum vr_kube_patch_type {
    VR_KUBE_PATCH_MERGE, /* application/merge-patch+json */
    VR_KUBE_PATCH_JSON,  /* application/json-patch+json */
};

struct vr_kube_call *vr_kube_patch(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                   const char *ns, const char *name, const char *subresource,
                                   enum vr_kube_patch_type type, const char *body,
                                   vr_kube_done_cb cb, void *arg);

/* DELETE with optional preconditions (NULL = none). */
struct vr_kube_call *vr_kube_delete(struct vr_kube_client *c,
                                    const struct vr_kube_resource *res, const char *ns,
                                    const char *name, const char *uid_precondition,
                                    const char *rv_precondition, vr_kube_done_cb cb, void *arg);

/* A watch request: the raw body is streamed to data_cb (bytes as they arrive, any
 * chunking; return 0, or a negative code to stop the watch with it); done runs once when
 * the stream ends: 0 for a clean end (server closed with the final chunk), else the
 * error (an HTTP error before streaming is typed as above with its Status). */
struct vr_kube_watch_opts {
    const char *resource_version;
    const char *field_selector;
    const char *label_selector;
    unsigned timeout_s;        /* timeoutSeconds sent to the server; 0 = none */
    bool allow_bookmarks;
    unsigned idle_timeout_ms;  /* no byte for this long ends the watch with VR_ETIMEDOUT
                                * (a half-open connection); 0 = none */
};

typedef int (*vr_kube_data_cb)(struct vr_str chunk, void *arg);

struct vr_kube_call *vr_kube_watch(struct vr_kube_client *c, const struct vr_kube_resource *res,
                                   const char *ns, const struct vr_kube_watch_opts *opts,
                                   vr_kube_data_cb data_cb, vr_kube_done_cb done, void *arg);

/* vr_curl_uv_flush on the client's bridge: calls started just now go out at once. */
void vr_kube_client_flush(struct vr_kube_client *c);

/* The caller will not read res->obj of a success (a status write whose answer the watch
 * brings anyway): the 2xx body is not parsed and obj is NULL; body and errors are as
 * before. Call it right after starting the call. */
void vr_kube_call_skip_object(struct vr_kube_call *call);

/* Cancels a call: its callback runs once with VR_ECANCELED (from the loop). No-op once
 * the callback has started. */
void vr_kube_call_cancel(struct vr_kube_call *call);

#endif
