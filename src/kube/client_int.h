/*
 * Internal to src/kube: the client and call structs shared by client.c (lifecycle, call
 * state machine) and calls.c (URL building and the public verbs). Nothing outside
 * src/kube includes this.
 */
#ifndef VR_KUBE_CLIENT_INT_H
#define VR_KUBE_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/token.h"
#include "vreq/buf.h"

/* Cap on a URL the client builds (path and query). */
#define VR__KUBE_URL_MAX ((size_t)16 * 1024)

enum vr_kcall_state {
    VR_KCALL_NEW,        /* being built */
    VR_KCALL_WAIT_TOKEN, /* waiting for the token file read */
    VR_KCALL_RUNNING,    /* its request is in flight */
    VR_KCALL_RETRY_WAIT, /* waiting out a Retry-After on the client's timer */
    VR_KCALL_FINISHING,  /* status decided without a response; completes on the idle turn */
    VR_KCALL_DONE,       /* inside its callback */
};

struct vr_kube_call {
    struct vr_kube_call *prev, *next; /* the client's list of live calls */
    struct vr_kube_client *c;
    enum vr_kcall_state state;
    const char *verb;   /* for logs: GET, LIST, WATCH, POST, PUT, PATCH, DELETE */
    const char *method; /* HTTP method */
    char *path;         /* logged: no query string */
    char *url;
    char *body;
    size_t body_len;
    const char *content_type; /* static, NULL without a body */
    bool watch;
    bool skip_object; /* vr_kube_call_skip_object: a 2xx body is not parsed */
    unsigned idle_timeout_ms;
    vr_kube_data_cb data_cb;
    vr_kube_done_cb cb;
    void *arg;
    struct vr_req *req;
    unsigned retries;
    bool auth_retried;
    bool cancelled;
    bool idle_expired;
    bool err_body_full;
    uint64_t start_ms;
    uint64_t sent_ms;      /* when the current request was sent (observer durations) */
    uint64_t due_ms;       /* RETRY_WAIT */
    uint64_t last_byte_ms; /* watches */
    int status;            /* FINISHING */
    struct vr_kube_status st;
    struct vr_buf err_body; /* a watch's non-2xx body */
};

struct vr_kube_client {
    struct vr_curl_uv *cu;
    struct vr_clock *clock;
    uv_loop_t *loop;
    struct vr_kube_client_opts opts;
    char *user_agent;
    char *server;
    char *namespace;
    char *ca_pem, *cert_pem, *key_pem;
    size_t ca_pem_len, cert_pem_len, key_pem_len;
    bool insecure;
    struct vr__ktoken token;
    struct vr_kube_call *calls;
    uv_timer_t timer; /* retry waits and watch idle deadlines */
    uv_idle_t idle;   /* completes FINISHING calls */
    bool closing;
    bool handles_closing;
    int handles_open;
    void (*closed_cb)(void *arg);
    void *closed_arg;
    vr_kube_observer_cb observer; /* metrics hook, may be NULL */
    void *observer_arg;
};

/* A new call in state NEW, linked into c's list; owns url, path and body (may be NULL,
 * then err is the reason the call cannot start and it will finish with it). */
struct vr_kube_call *vr__kube_call_new(struct vr_kube_client *c, const char *verb,
                                       const char *method, vr_kube_done_cb cb, void *arg);

/* Starts a built call: on a build error (err < 0), a closing client or a failed start it
 * finishes later with that error; the callback never runs inside this call. */
struct vr_kube_call *vr__kube_call_submit(struct vr_kube_call *call, int err);

#endif
