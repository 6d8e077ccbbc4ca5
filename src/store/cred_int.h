/*
 * Internal to src/store/cred*.c: the provider object and the steps its fetch goes through.
 * cred.c owns the cache, waiters, refresh timer and source resolution; cred_file.c reads
 * small files with uv_fs; cred_sts.c, cred_ecs.c and cred_imds.c run one source's fetch and
 * end it with vr__cred_fetch_done.
 */
#ifndef VR_STORE_CRED_INT_H
#define VR_STORE_CRED_INT_H

#include "store/cred.h"
#include "store/cred_ini.h"
#include "vreq/buf.h"

#define VR__CRED_FILE_MAX ((size_t)1024 * 1024)
#define VR__CRED_TOKEN_MAX ((size_t)64 * 1024)
#define VR__CRED_ERR_MAX 512

/* The environment variables read at creation, in this order. */
#define VR__CRED_ENV_MAP(XX)                                                                       \
    XX(SHARED_FILE, "AWS_SHARED_CREDENTIALS_FILE")                                                 \
    XX(HOME, "HOME")                                                                               \
    XX(PROFILE, "AWS_PROFILE")                                                                     \
    XX(AKID, "AWS_ACCESS_KEY_ID")                                                                  \
    XX(SECRET, "AWS_SECRET_ACCESS_KEY")                                                            \
    XX(TOKEN, "AWS_SESSION_TOKEN")                                                                 \
    XX(ROLE_ARN, "AWS_ROLE_ARN")                                                                   \
    XX(WIT_FILE, "AWS_WEB_IDENTITY_TOKEN_FILE")                                                    \
    XX(SESSION_NAME, "AWS_ROLE_SESSION_NAME")                                                      \
    XX(REGION, "AWS_REGION")                                                                       \
    XX(DEFAULT_REGION, "AWS_DEFAULT_REGION")                                                       \
    XX(STS_URL, "AWS_ENDPOINT_URL_STS")                                                            \
    XX(CONT_REL, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")                                         \
    XX(CONT_FULL, "AWS_CONTAINER_CREDENTIALS_FULL_URI")                                            \
    XX(CONT_TOKEN, "AWS_CONTAINER_AUTHORIZATION_TOKEN")                                            \
    XX(CONT_TOKEN_FILE, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")                                  \
    XX(IMDS_URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT")                                              \
    XX(IMDS_OFF, "AWS_EC2_METADATA_DISABLED")

enum vr__cred_env {
#define VR__CRED_ENV_ENUM_(id, name) VR__CRED_ENV_##id,
    VR__CRED_ENV_MAP(VR__CRED_ENV_ENUM_)
#undef VR__CRED_ENV_ENUM_
        VR__CRED_ENV_N
};

enum vr__cred_src {
    VR__CRED_SRC_UNRESOLVED,
    VR__CRED_SRC_STATIC, /* secret, file or env keys: never refreshed */
    VR__CRED_SRC_WEB_IDENTITY,
    VR__CRED_SRC_CONTAINER,
    VR__CRED_SRC_IMDS,
};

/* What the running fetch waits for. */
enum vr__cred_step {
    VR__CRED_IDLE,
    VR__CRED_READ_SHARED, /* the shared credentials file (resolution) */
    VR__CRED_READ_TOKEN,  /* a web identity or container token file */
    VR__CRED_STS,
    VR__CRED_CONTAINER,
    VR__CRED_IMDS_TOKEN,
    VR__CRED_IMDS_ROLE,
    VR__CRED_IMDS_CREDS,
};

struct vr__cred_wlist {
    struct vr_cred_wait *head, *tail;
};

typedef void (*vr__cred_file_cb)(struct vr_cred *p, int status);

struct vr_cred {
    uv_loop_t *loop;
    struct vr_curl_uv *cu;
    struct vr_clock *clock;
    uv_timer_t kick;    /* delivers ready waiters on a later loop turn */
    uv_timer_t refresh; /* background refresh; its body is vr_cred_run_due */
    int open_handles;
    bool closing;
    vr_cred_closed_cb closed_cb;
    void *closed_arg;

    char *env[VR__CRED_ENV_N];
    char *profile; /* BSL profile, for messages */
    char *region;  /* BSL region or NULL */
    unsigned http_timeout_ms, imds_timeout_ms;

    enum vr__cred_src src;
    const char *src_name;
    /* web identity */
    char *role_arn, *token_file, *session_name, *sts_url;
    /* container */
    char *cont_url, *cont_token_file;
    /* IMDS */
    char *imds_base;
    char *imds_token; /* secret */
    uint64_t imds_token_exp_ms;
    bool imds_retried;
    char *imds_role;

    struct vr_aws_creds creds; /* the cache; creds.access_key_id NULL when empty */
    int64_t refresh_at_s;      /* 0: no background refresh planned */
    unsigned retries;
    uint32_t rng;
    uint64_t fetches;

    enum vr__cred_step step;
    bool background;
    struct vr_req *req; /* the running request, NULL otherwise */
    char err[VR__CRED_ERR_MAX];

    /* the running file read (cred_file.c) */
    bool fs_busy;
    uv_fs_t fs;
    uv_file fd;
    struct vr_buf fbuf; /* secret */
    char chunk[4096];
    vr__cred_file_cb file_done;

    struct vr__cred_wlist waiting, ready;
};

/* Ends the running fetch: fresh (taken, may be NULL on failure) replaces the cache on status
 * 0; on failure p->err holds the sentence. Waiters are answered on a later loop turn. */
void vr__cred_fetch_done(struct vr_cred *p, int status, struct vr_aws_creds *fresh);

/* Formats p->err. */
void vr__cred_err(struct vr_cred *p, const char *fmt, ...) VR_PRINTF(2, 3);
/* Starts req as step `step` of the resolution (p->req, body cap, timeout). 0, or
 * vr_req_start's code with "<what>: <reason>" in p's error. */
int vr__cred_req_start(struct vr_cred *p, struct vr_req *req, enum vr__cred_step step,
                       size_t body_cap, unsigned timeout_ms, vr_req_done_cb done, const char *what);

/* Reads path (at most cap bytes) into p->fbuf with uv_fs; done(p, status) runs from the
 * loop (never inside this call) unless this returns an error. 0 or a libuv error. */
int vr__cred_read_file(struct vr_cred *p, const char *path, size_t cap, vr__cred_file_cb done);

/* Starts one source's fetch; 0 (it ends with vr__cred_fetch_done) or an error (p->err set;
 * the caller ends the fetch). */
int vr__cred_sts_start(struct vr_cred *p);
int vr__cred_ecs_start(struct vr_cred *p);
int vr__cred_imds_start(struct vr_cred *p);

/* Maps a finished request to a status for sources that want a 200: the transport status,
 * else VR_ESERVER (5xx, 429), VR_EUNAUTH (401), VR_ENOTFOUND (404), VR_EFORBIDDEN (other
 * 4xx), VR_EHTTP (other non-2xx); p->err names what (label). */
int vr__cred_http_status(struct vr_cred *p, struct vr_req *req, int status, const char *label);

#endif
