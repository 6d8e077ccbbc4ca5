/*
 * Internal to src/http: the request struct and the few vr__ calls curl_uv.c (the bridge) and
 * req.c (one request) make into each other. Nothing outside src/http includes this.
 *
 * Ownership: a NEW request belongs to its creator; from a successful vr_req_start it sits on
 * exactly one of the bridge's lists (pending_add, running, finished) through req->link until
 * the bridge has called its done callback and freed it.
 */
#ifndef VR_HTTP_REQ_INT_H
#define VR_HTTP_REQ_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "vreq/buf.h"
#include "vreq/curl_uv.h"
#include "vreq/log.h"

/* Intrusive circular doubly-linked list with a sentinel head. */
struct vr__link {
    struct vr__link *prev;
    struct vr__link *next;
};

static inline void vr__link_init(struct vr__link *head)
{
    head->prev = head;
    head->next = head;
}

static inline bool vr__link_empty(const struct vr__link *head)
{
    return head->next == head;
}

static inline void vr__link_remove(struct vr__link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l;
    l->next = l;
}

static inline void vr__link_push(struct vr__link *head, struct vr__link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

enum vr_req_state {
    VR_REQ_NEW,       /* being configured by its creator */
    VR_REQ_QUEUED,    /* started from inside a curl callback; added to the multi next turn */
    VR_REQ_RUNNING,   /* in the multi handle */
    VR_REQ_FINISHING, /* final status decided; done runs from the bridge's idle handler */
    VR_REQ_DONE,      /* inside (or past) its done callback */
};

struct vr_req {
    struct vr__link link;
    struct vr_curl_uv *cu;
    CURL *easy;
    enum vr_req_state state;
    bool in_multi;
    int status;       /* final status, once FINISHING or DONE */
    int abort_status; /* why a callback aborted the transfer (0: it did not) */
    CURLcode code;    /* curl's result, CURLE_OK when curl did not decide the status */
    uint64_t id;
    uint64_t start_ms;
    char *method;
    char *url;
    char *log_url; /* scheme://host[:port]/path, computed on first log */
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    size_t body_cap;
    struct vr_buf resp_body;
    struct vr_buf resp_headers;
    vr_req_data_cb data_cb;
    void *data_arg;
    vr_req_done_cb done;
    void *done_arg;
    struct vr_log_ctx log;
    char id_str[24];
    char errbuf[CURL_ERROR_SIZE];
};

/* --- provided by curl_uv.c --- */

/* Hands a configured request to the bridge: adds it to the multi (or queues it for the next
 * loop turn when called from inside a curl callback). 0, VR_ESHUTDOWN or VR_EHTTP; on error
 * the request is untouched and still the caller's. */
int vr__cu_add(struct vr_curl_uv *cu, struct vr_req *req);

/* Decides req's final status and schedules its done callback for the bridge's next idle turn
 * (removing it from the multi first). Safe from inside curl callbacks. */
void vr__cu_finish_later(struct vr_curl_uv *cu, struct vr_req *req, int status);

uv_loop_t *vr__cu_loop(const struct vr_curl_uv *cu);

/* An easy handle with default options (a reset spare, or a new one); and back. */
CURL *vr__cu_easy_get(struct vr_curl_uv *cu);
void vr__cu_easy_put(struct vr_curl_uv *cu, CURL *easy);

/* CURLOPT_OPENSOCKETFUNCTION / CURLOPT_CLOSESOCKETFUNCTION, clientp = the bridge. */
curl_socket_t vr__cu_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr);
int vr__cu_close_socket(void *clientp, curl_socket_t fd);
/* A fresh request id (1, 2, ...), for logs. */
uint64_t vr__cu_next_id(struct vr_curl_uv *cu);

/* --- provided by req.c --- */

/* The one place a request's state changes; logs old -> new at trace level. */
void vr__req_set_state(struct vr_req *req, enum vr_req_state state);
const char *vr__req_state_name(enum vr_req_state state);

/* Converts curl's result for a finished transfer into a VR_E* status (the only
 * CURLcode -> VR_E* conversion in vreq); an abort decided by a callback wins. */
int vr__req_status_from_curl(const struct vr_req *req, CURLcode code);

/* Records the final status (code: curl's result, CURLE_OK when curl did not decide it) and
 * moves the request to FINISHING. */
void vr__req_finish(struct vr_req *req, int status, CURLcode code);

/* Right before the done callback: moves the request to DONE, fixes its error text (curl may
 * still have written to the error buffer after the status was decided) and logs the
 * completion at trace level (method, redacted URL, status, HTTP code, time). */
void vr__req_complete(struct vr_req *req);

/* Frees everything the request owns, the easy handle included; it must not be in the multi. */
void vr__req_destroy(struct vr_req *req);

#endif
