/*
 * Internals shared by sim.c, api.c, discovery.c, watch.c and admin.c. Not a public
 * interface: only kubesim's own files include it.
 */
#ifndef KUBESIM_SIM_INT_H
#define KUBESIM_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "vreq/httpd.h"
#include "vreq/mem.h"
#include "vreq/str.h"

#include "sim.h"
#include "store.h"

#define KS_NAME_MAX 254

/* Request classes counted by /kubesim/stats. */
enum ks_req_class {
    KS_REQ_GET,
    KS_REQ_LIST,
    KS_REQ_WATCH,
    KS_REQ_POST,
    KS_REQ_PATCH,
    KS_REQ_PUT,
    KS_REQ_DELETE,
    KS_REQ_OTHER, /* discovery, unknown paths, unsupported verbs: not counted */
};
#define KS_REQ_COUNTED KS_REQ_OTHER

/* One injected fault (POST /kubesim/faults). */
struct ks_fault {
    struct ks_fault *next;
    char method[16]; /* "*", an HTTP method, or a class name (LIST, WATCH) */
    char *path_prefix;
    int code;        /* 0: delay only */
    int count;       /* remaining matches */
    int retry_after; /* seconds, 0 = no Retry-After */
    unsigned delay_ms;
    bool plain;      /* 429 with the plain-text body of max-in-flight */
};

struct ks_watch;
struct ks_delay;

struct ks_sim {
    uv_loop_t *loop;
    struct ks_sim_opts opts;
    char *token; /* owned copy of opts.token, NULL when auth is off */
    struct ks_store *store;
    struct vr_httpd *httpd;
    char host[64]; /* listen host, for serverAddressByClientCIDRs */
    uint64_t counts[KS_REQ_COUNTED];
    struct ks_fault *faults;  /* insertion order */
    struct ks_watch *watches; /* open watch streams */
    unsigned watches_open;
    struct ks_delay *delays; /* requests waiting out a delay fault */
    bool closing;
    ks_sim_closed_cb closed_cb;
    void *closed_arg;
};

/* Where an API path points. */
enum ks_target {
    KS_TARGET_COLLECTION,
    KS_TARGET_OBJECT,
    KS_TARGET_STATUS,
};

struct ks_route {
    const struct ks_resource *res;
    enum ks_target target;
    bool legacy_watch; /* /apis/G/V/watch/... */
    char ns[KS_NAME_MAX];
    char name[KS_NAME_MAX];
};

/* Parses a resource path (/api/v1/..., /apis/G/V/...). 0, or -1 when the path names no
 * served resource (it may still be a discovery path). */
int ks__route_parse(const struct ks_sim *sim, struct vr_str path, struct ks_route *r);

/* Whether a boolean query parameter is set: present and not "0"/"false". */
bool ks__query_bool(struct vr_str query, const char *key);

/* Classifies a request for the stats. */
enum ks_req_class ks__classify(const char *method, const struct ks_route *r, struct vr_str query);

/* Response helpers: each finishes req and logs method, path and code at debug. */
void ks__respond(struct vr_http_req *req, int code, const char *content_type, const char *body,
                 size_t len);
void ks__respond_json(struct vr_http_req *req, int code, const char *body, size_t len);
/* Serializes obj (borrowed) as the body. */
void ks__respond_obj(struct vr_http_req *req, int code, const cJSON *obj);
/* A Status error; retry_after > 0 (or else st->retry_after_s > 0) adds
 * details.retryAfterSeconds and the Retry-After header. */
void ks__respond_status(struct vr_http_req *req, const struct ks_status *st,
                        const struct ks_resource *res, int retry_after);
/* Fills st (all fields) with code, reason and a formatted message. */
void ks__status_set(struct ks_status *st, int code, const char *reason, const char *fmt, ...)
    VR_PRINTF(4, 5);
/* A Status JSON document, retry_after > 0 overriding st->retry_after_s (caller frees with
 * vr_free). */
char *ks__status_body(const struct ks_status *st, const struct ks_resource *res,
                      int retry_after);

/* Handlers, one per file. */
void ks__api_handle(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r);
/* Answers discovery paths; answers 404 for anything else. */
void ks__discovery_handle(struct ks_sim *sim, struct vr_http_req *req);
void ks__admin_handle(struct ks_sim *sim, struct vr_http_req *req);

/* Starts a watch stream on r (collection, or object with a name selector). Always
 * answers req, now or when the stream ends. */
void ks__watch_start(struct ks_sim *sim, struct vr_http_req *req, const struct ks_route *r);
/* Aborts every open watch stream without the final chunk; returns how many. */
unsigned ks__watch_drop_all(struct ks_sim *sim);
/* Holds every open watch stream for ms: events are kept (up to the backlog cap) and no
 * bookmark or deadline fires, then everything held is written. Returns how many. */
unsigned ks__watch_stall_all(struct ks_sim *sim, unsigned ms);

/* Fault rules (admin.c). */
void ks__faults_clear(struct ks_sim *sim);
/* The first rule matching this request, with its count consumed, or NULL. The rule is
 * copied into *out because a consumed rule may be freed. */
bool ks__fault_take(struct ks_sim *sim, const char *method, enum ks_req_class cls,
                    struct vr_str path, struct ks_fault *out);

/* Wall-clock seconds, for creationTimestamp. */
int64_t ks__now_s(void);

#endif
