/*
 * The DownloadRequest controller's signing seam: one signing state per
 * BackupStorageLocation (parsed provider config, the bucket region once looked up, a
 * credential provider and a SigV4 key cache), created on first use and dropped when the
 * BSL or its credential Secret changes (vr_signer_invalidate_*). Velero re-initialises a
 * plugin per request; here the region lookup happens once per BSL, not per request.
 *
 * Loop module: region lookups and credential fetches run on the curl bridge; time comes
 * from the clock. Logs (subsystem "signer") name BSLs, sources and regions, never keys,
 * tokens or query strings.
 */
#ifndef VR_CONTROLLER_SIGNER_H
#define VR_CONTROLLER_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "loop/clock.h"
#include "store/cred.h"
#include "vreq/curl_uv.h"

struct vr_signer;
struct vr_sign_req;

/* Completion of vr_signer_sign: exactly once per accepted request, from the loop, never
 * inside vr_signer_sign. status 0: url (borrowed for the call) is valid for expires_s
 * seconds from the signing time (the TTL, or less when the credentials expire sooner).
 * Errors, with err one sentence for users and logs (no secrets):
 *   permanent  VR_ECONFIG (unsupported provider, invalid config, bad credentials file,
 *              no credential source), VR_ENOTFOUND (bucket not found), VR_EFORBIDDEN
 *              (STS refused the role);
 *   transient  anything else (VR_EHTTP, VR_ETIMEDOUT, VR_ESERVER, VR_EPARSE, VR_EUNAUTH,
 *              VR_ECANCELED: the state changed or was invalidated, VR_ESHUTDOWN).
 * The request struct may be reused or freed inside the callback. */
typedef void (*vr_sign_cb)(struct vr_sign_req *r, int status, const char *url, int64_t expires_s,
                           const char *err);

/* One signing request, embedded in the caller's struct (container_of). Opaque. */
struct vr_sign_req {
    struct vr_sign_req *next; /* internal: entry wait list or delivery list */
    struct vr_signer_entry *entry;
    struct vr_signer *signer;
    struct vr_cred_wait wait;
    vr_sign_cb cb;
    char *key;
    int64_t ttl_s;
    int status;
    char err[256];
    bool pending;
};

/* What a new signing state is built from. All borrowed for the call. */
struct vr_sign_bsl {
    const char *ns, *name;      /* the BSL (cache key) */
    const char *provider;       /* "aws" or "velero.io/aws" */
    const char *bucket, *prefix;
    const cJSON *config;        /* spec.config, NULL = empty */
    const char *secret_name;    /* spec.credential.name (in ns), NULL when none */
    const char *secret_ini;     /* that Secret's key's value, NULL when none */
    size_t secret_ini_len;
};

struct vr_signer_opts {
    const char *region_base_url;   /* region lookup endpoint; NULL = AWS (tests: loopback) */
    vr_cred_getenv_cb getenv;      /* environment for credential providers; NULL = getenv */
    void *getenv_arg;
};

/* Creates an empty signer on loop (cu and clock borrowed; they must outlive it). opts may be
 * NULL. Never fails (aborts on OOM); returns 0 and *out. */
int vr_signer_new(uv_loop_t *loop, struct vr_curl_uv *cu, struct vr_clock *clock,
                  const struct vr_signer_opts *opts, struct vr_signer **out);

/* Presigns a GET of object key (copied) for ttl_s seconds with the BSL's signing state,
 * creating it from bsl when absent (bsl is read only then). r must not be pending. 0 (cb
 * will run), or VR_ESHUTDOWN (closing; cb will not run). */
int vr_signer_sign(struct vr_signer *s, const struct vr_sign_bsl *bsl, const char *key,
                   int64_t ttl_s, struct vr_sign_req *r, vr_sign_cb cb);

/* Drops the signing state of BSL ns/name (changed or deleted); requests waiting on it
 * complete with VR_ECANCELED. Unknown BSLs are ignored. */
void vr_signer_invalidate_bsl(struct vr_signer *s, const char *ns, const char *name);

/* Drops every signing state whose credential Secret is ns/name. */
void vr_signer_invalidate_secret(struct vr_signer *s, const char *ns, const char *name);

/* How many signing states exist and how many region lookups were started (tests). */
size_t vr_signer_size(const struct vr_signer *s);
uint64_t vr_signer_region_lookups(const struct vr_signer *s);

/* Asynchronous teardown: pending requests complete with VR_ESHUTDOWN, states close, then
 * the signer frees itself and cb(arg) runs (may be NULL), never inside this call. Once. */
void vr_signer_close(struct vr_signer *s, void (*cb)(void *arg), void *arg);

#endif
