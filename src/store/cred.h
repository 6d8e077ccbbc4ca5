/*
 * AWS credential providers (contract §3, presign.md §4): one struct vr_cred per BSL resolves
 * its source once, in contract order, caches the credentials and refreshes them before they
 * expire. Every network step is a vr_req on the caller's curl bridge and every file read at
 * fetch time is uv_fs_*: nothing blocks the loop.
 *
 * Sources, first match wins:
 *   1. "secret": the BSL's spec.credential Secret value (INI text, opts.secret_ini) and its
 *      profile (opts.profile, default "default"). It is parsed in vr_cred_new; when given it
 *      is the only source considered (a bad file or missing profile fails vr_cred_new).
 *   2. "file": AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials, profile AWS_PROFILE
 *      (else "default"); read asynchronously at the first fetch. A missing file, or a missing
 *      "default" profile, falls through; a syntax error, or a missing AWS_PROFILE profile, is
 *      VR_ECONFIG. A profile with role_arn + web_identity_token_file uses web identity.
 *   3. "env": AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
 *   4. "web-identity": AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE: the token file is re-read
 *      on every fetch and sent in an unsigned STS AssumeRoleWithWebIdentity POST to
 *      AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com/ (region: opts.region,
 *      AWS_REGION, AWS_DEFAULT_REGION), else https://sts.amazonaws.com/.
 *   5. "container": AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2 + it) or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI (http only to loopback, 169.254.170.2,
 *      169.254.170.23, fd00:ec2::23; https anywhere) with an Authorization header from
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read every fetch) or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN.
 *   6. "imds": IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254)
 *      unless AWS_EC2_METADATA_DISABLED=true: PUT token (TTL 21600 s, cached TTL - 5 s),
 *      GET role, GET credentials; a 401 drops the token and starts over once.
 * Environment variables are read once, in vr_cred_new, through opts.getenv.
 *
 * Caching and refresh: credentials with an expiration are refreshed in the background from
 * expiration - 15 min (minus up to 60 s of jitter); a failed background refresh keeps the
 * current credentials and retries with jittered backoff (30 s doubling to 5 min) while they
 * are valid. vr_cred_get answers from the cache while more than VR_CRED_MIN_LIFE_S remain
 * and waits for a fetch only inside that last stretch (or before the first fetch). Static
 * credentials never expire. Time comes only from the struct vr_clock; the refresh timer is a
 * thin wrapper around vr_cred_run_due, which tests call after moving a fake clock.
 *
 * Errors at completion: VR_ECONFIG (permanent: bad INI, missing profile, no source at all,
 * a refused container URL, no IMDS role), VR_EFORBIDDEN (STS refused the token or role, any
 * other 4xx), and transient ones: VR_EHTTP (transport), VR_ETIMEDOUT, VR_ESERVER (5xx,
 * throttling, IDPCommunicationError, ExpiredTokenException), VR_EPARSE (a malformed answer),
 * a libuv error reading a token file.
 *
 * Logging (subsystem "cred"): source names and expirations only, never keys or tokens.
 */
#ifndef VR_STORE_CRED_H
#define VR_STORE_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "loop/clock.h"
#include "store/aws_creds.h"
#include "vreq/curl_uv.h"

/* Remaining life under which vr_cred_get waits for fresh credentials. */
#define VR_CRED_MIN_LIFE_S 300
/* Background refresh starts this long before expiration. */
#define VR_CRED_REFRESH_AHEAD_S 900

struct vr_cred;
struct vr_cred_wait;

/* Environment lookup: the value of name or NULL. The result is copied at once. */
typedef const char *(*vr_cred_getenv_cb)(const char *name, void *arg);

/* Completion of vr_cred_get: exactly once per successful call, always from the loop, never
 * inside vr_cred_get, vr_cred_cancel or vr_cred_close. On status 0 creds is valid (borrowed:
 * copy with vr_aws_creds_copy to keep it past the callback; expiration_s 0 = static);
 * otherwise creds is NULL and err is one sentence for logs (no secrets). VR_ECANCELED after
 * vr_cred_cancel, VR_ESHUTDOWN after vr_cred_close. w may be reused or freed inside. */
typedef void (*vr_cred_get_cb)(struct vr_cred_wait *w, int status, const struct vr_aws_creds *creds,
                               const char *err);

typedef void (*vr_cred_closed_cb)(void *arg);

/* A pending vr_cred_get, embedded in the caller's struct (recover it with container_of).
 * Opaque: zero it or leave it, vr_cred_get initialises it. */
struct vr_cred_wait {
    struct vr_cred_wait *prev, *next;
    struct vr_cred *owner; /* non-NULL while queued */
    vr_cred_get_cb cb;
    int status;
    bool ready; /* on the ready list: the callback runs on the next loop turn */
};

struct vr_cred_opts {
    const char *secret_ini; /* BSL credential Secret value; NULL = none (copied) */
    size_t secret_ini_len;
    const char *profile;         /* BSL config "profile"; NULL or "" = "default" */
    const char *region;          /* BSL region, for the STS endpoint; may be NULL */
    vr_cred_getenv_cb getenv;    /* NULL = getenv(3) */
    void *getenv_arg;
    unsigned http_timeout_ms; /* STS and container requests; 0 = 10000 */
    unsigned imds_timeout_ms; /* each IMDS request (a connect budget too); 0 = 1000 */
    uint32_t jitter_seed;     /* 0 = derived from the clock */
};

/* Creates a provider on loop, fetching through cu (which must outlive it) with time from
 * clock. Parses opts->secret_ini and reads the environment; no I/O starts yet. 0 and *out,
 * or VR_ECONFIG with one sentence in err (bad BSL credential INI, missing profile, keys
 * incomplete). */
int vr_cred_new(uv_loop_t *loop, struct vr_curl_uv *cu, struct vr_clock *clock,
                const struct vr_cred_opts *opts, struct vr_cred **out, char *err, size_t errcap);

/* Asks for credentials; cb(w, ...) runs once, later (see vr_cred_get_cb). Answers from the
 * cache when more than VR_CRED_MIN_LIFE_S remain, else joins (or starts) a fetch; a fetch
 * that fails while the cached credentials are still unexpired serves those. 0, or
 * VR_ESHUTDOWN (closing; cb will not run). w must not already be pending. */
int vr_cred_get(struct vr_cred *p, struct vr_cred_wait *w, vr_cred_get_cb cb);

/* Withdraws a pending get: its callback runs on a later loop turn with VR_ECANCELED. No-op
 * when w is not pending or its result is already decided. */
void vr_cred_cancel(struct vr_cred_wait *w);

/* The timer body: starts a background refresh when one is due at the clock's now_s and no
 * fetch is running. Returns true when it started one. */
bool vr_cred_run_due(struct vr_cred *p);

/* Name of the source in use ("secret", "file", "env", "web-identity", "container",
 * "imds"), or "unresolved" before the first fetch resolved it. Static string. */
const char *vr_cred_source(const struct vr_cred *p);

/* Whether a fetch (resolution, file read or request) is running. */
bool vr_cred_is_fetching(const struct vr_cred *p);

/* Number of fetches started so far (resolution included): for tests and metrics. */
uint64_t vr_cred_fetches(const struct vr_cred *p);

/* Asynchronous teardown: pending gets complete with VR_ESHUTDOWN, a running request is
 * cancelled, a running file read is awaited; then the handles close, the provider frees
 * itself (wiping secrets) and cb(arg) runs (cb may be NULL). Call once. */
void vr_cred_close(struct vr_cred *p, vr_cred_closed_cb cb, void *arg);

#endif
