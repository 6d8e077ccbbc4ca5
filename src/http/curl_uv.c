/*
 * The libcurl multi <-> libuv bridge, after curl's docs/examples/multi-uv.c: curl tells us
 * which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION); libuv tells curl when a socket is ready or the timer fired
 * (curl_multi_socket_action), and finished transfers are collected with curl_multi_info_read
 * after every socket_action. On top of the example: CURL_CSELECT_ERR on a poll error,
 * container_of instead of casts, never two active polls on one fd, and completions that must
 * not run where they were triggered (cancel, close, starts from inside curl callbacks) are
 * deferred to a uv_idle_t. The bridge opens and closes curl's connection sockets itself
 * (CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION, set by req.c), so the poll of a
 * keep-alive connection lives as long as the connection, parked between transfers, instead
 * of being set up and torn down (an ioctl and three epoll_ctl) for every request.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "core/common.h"
#include "http/req_int.h"
#include "vreq/curl_uv.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

/* Easy handles kept for reuse: curl_easy_reset costs far less than init + cleanup, and a
 * controller's requests come one after another. */
#define VR_CU_SPARE_EASY 16

enum vr_cu_state {
    VR_CU_OPEN,     /* accepting requests */
    VR_CU_DRAINING, /* close requested: cancelled requests are being completed */
    VR_CU_CLOSING,  /* multi cleaned up, handles closing; freed by the last close callback */
};

/* One socket curl asked us to watch; attached to it with curl_multi_assign. */
struct vr_cu_sock {
    uv_poll_t poll;
    struct vr__link link; /* in cu->socks or cu->parked until closed */
    struct vr_curl_uv *cu;
    curl_socket_t fd;
    int events;    /* UV_READABLE | UV_WRITABLE being watched */
    bool owned;    /* opened by vr__cu_open_socket: kept until vr__cu_close_socket */
    bool was_read; /* curl has asked to read from it: connected (see sock_park) */
};

struct vr_curl_uv {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_idle_t idle;
    enum vr_cu_state state;
    int in_curl;           /* > 0 while inside curl_multi_socket_action */
    bool kick;             /* curl asked for a 0 ms timeout: run it from the idle handle */
    bool drain;            /* vr_curl_uv_flush ran curl: collect finished transfers */
    unsigned open_handles; /* timer + idle + polls not yet through their close callback */
    size_t active;         /* started requests whose done callback has not returned */
    uint64_t next_id;
    struct vr__link pending_add; /* QUEUED requests */
    struct vr__link running;     /* RUNNING requests */
    struct vr__link finished;    /* FINISHING requests, done callback pending */
    struct vr__link socks;       /* struct vr_cu_sock curl watches through us */
    struct vr__link parked;      /* struct vr_cu_sock, owned, curl not using them */
    CURL *spare[VR_CU_SPARE_EASY]; /* reset easy handles for the next requests */
    size_t nspare;
    vr_curl_uv_closed_cb close_cb;
    void *close_arg;
};

static const char *cu_state_name(enum vr_cu_state s)
{
    switch (s) {
    case VR_CU_OPEN:
        return "open";
    case VR_CU_DRAINING:
        return "draining";
    case VR_CU_CLOSING:
        return "closing";
    }
    return "?";
}

static void cu_set_state(struct vr_curl_uv *cu, enum vr_cu_state state)
{
    VR_LOG(VR_LOG_TRACE, "curl", "bridge %s -> %s", cu_state_name(cu->state), cu_state_name(state));
    cu->state = state;
}

static void drain_info(struct vr_curl_uv *cu);

static void socket_action(struct vr_curl_uv *cu, curl_socket_t fd, int flags)
{
    int running = 0;
    cu->in_curl++;
    CURLMcode mc = curl_multi_socket_action(cu->multi, fd, flags, &running);
    cu->in_curl--;
    if (mc != CURLM_OK)
        VR_LOG(VR_LOG_WARN, "curl", "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    drain_info(cu);
}

/* --- timer --- */

static void on_timer(uv_timer_t *timer)
{
    struct vr_curl_uv *cu = container_of(timer, struct vr_curl_uv, timer);
    socket_action(cu, CURL_SOCKET_TIMEOUT, 0);
}

static void schedule(struct vr_curl_uv *cu);

/* CURLMOPT_TIMERFUNCTION. Calling curl back from inside its own callback is the re-entrancy
 * trap CURLMOPT_TIMERFUNCTION's documentation warns about, so a 0 timeout ("now") runs from
 * the idle handle on the next loop turn. It used to be armed as a 1 ms timer, which cost
 * every request 1-2 ms before curl even wrote it (bench_controller's idle latency). The
 * idle handle runs once per turn, after polling for I/O, so curl asking for 0 again and
 * again cannot starve the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct vr_curl_uv *cu = userp;
    VR_UNUSED(multi);
    cu->kick = false;
    if (timeout_ms < 0)
        return uv_timer_stop(&cu->timer);
    if (timeout_ms == 0) {
        cu->kick = true;
        schedule(cu);
        return uv_timer_stop(&cu->timer);
    }
    return uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

/* --- sockets --- */

static void handle_closed(struct vr_curl_uv *cu);

static void on_sock_closed(uv_handle_t *h)
{
    struct vr_cu_sock *sock = container_of((uv_poll_t *)h, struct vr_cu_sock, poll);
    struct vr_curl_uv *cu = sock->cu;
    vr_free(sock);
    handle_closed(cu);
}

/* uv_close stops the poll at once (libuv drops the fd from epoll), so the fd may be closed
 * or reused by a new poll right away. */
static void sock_close(struct vr_cu_sock *sock)
{
    vr__link_remove(&sock->link);
    uv_close((uv_handle_t *)&sock->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *poll, int status, int events);

/* Sets the poll to events (UV_READABLE | UV_WRITABLE, 0 = stopped). libuv's uv_poll_start
 * re-registers the fd with epoll on every call, so an unchanged set is not passed on. */
static int sock_set_events(struct vr_cu_sock *sock, int events)
{
    bool active = uv_is_active((uv_handle_t *)&sock->poll) != 0;
    if (events == sock->events && active == (events != 0))
        return 0;
    sock->events = events;
    if (events == 0)
        return uv_poll_stop(&sock->poll);
    return uv_poll_start(&sock->poll, events, on_poll);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct vr_cu_sock *sock = container_of(poll, struct vr_cu_sock, poll);
    int flags = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    socket_action(sock->cu, sock->fd, flags);
    /* libuv stops a poll that reported an error. If curl still wants this socket unchanged
     * (it sent no new CURL_POLL_* for it), watch it again rather than stall the transfer. */
    if (status < 0 && !uv_is_closing((uv_handle_t *)poll) && !uv_is_active((uv_handle_t *)poll) &&
        sock->events != 0)
        (void)uv_poll_start(poll, sock->events, on_poll);
}

static struct vr_cu_sock *find_in(struct vr__link *head, curl_socket_t fd)
{
    for (struct vr__link *l = head->next; l != head; l = l->next) {
        struct vr_cu_sock *sock = container_of(l, struct vr_cu_sock, link);
        if (sock->fd == fd)
            return sock;
    }
    return NULL;
}

static struct vr_cu_sock *sock_new(struct vr_curl_uv *cu, curl_socket_t fd, bool owned)
{
    struct vr_cu_sock *sock = vr_xcalloc(1, sizeof(*sock));
    int rc = uv_poll_init_socket(cu->loop, &sock->poll, fd);
    if (rc < 0) {
        VR_LOG(VR_LOG_WARN, "curl", "uv_poll_init_socket(%d): %s", (int)fd, uv_strerror(rc));
        vr_free(sock);
        return NULL;
    }
    sock->cu = cu;
    sock->fd = fd;
    sock->owned = owned;
    cu->open_handles++;
    return sock;
}

/* Keeps an owned socket's (stopped) poll while curl holds the idle connection. Only a
 * socket curl has waited to read from: curl closes a socket that never got past connecting
 * (a losing happy-eyeballs attempt) without CURLOPT_CLOSESOCKETFUNCTION, and a poll must
 * never outlive its fd. */
static void sock_park(struct vr_curl_uv *cu, struct vr_cu_sock *sock)
{
    if (!sock->owned || !sock->was_read) {
        sock_close(sock);
        return;
    }
    vr__link_remove(&sock->link);
    vr__link_push(&cu->parked, &sock->link);
    (void)sock_set_events(sock, 0);
}

static void sock_unpark(struct vr_curl_uv *cu, struct vr_cu_sock *sock)
{
    vr__link_remove(&sock->link);
    vr__link_push(&cu->socks, &sock->link);
}

/* A socket curl announces: one the bridge opened for it (parked until now), or one curl
 * opened itself (its resolver's). If a live poll still watches the same fd number (curl
 * closed a socket without CURL_POLL_REMOVE and got the number back), reuse it: libuv must
 * never see two active polls on one fd. */
static struct vr_cu_sock *sock_announced(struct vr_curl_uv *cu, curl_socket_t fd)
{
    struct vr_cu_sock *sock = find_in(&cu->parked, fd);
    if (sock) {
        sock_unpark(cu, sock);
        return sock;
    }
    sock = find_in(&cu->socks, fd);
    if (sock) {
        VR_LOG(VR_LOG_WARN, "curl", "fd %d announced twice; reusing its poll", (int)fd);
        return sock;
    }
    sock = sock_new(cu, fd, false);
    if (sock)
        vr__link_push(&cu->socks, &sock->link);
    return sock;
}

static int sock_watch(struct vr_cu_sock *sock, int what)
{
    int events = 0;
    if (what & CURL_POLL_IN) {
        events |= UV_READABLE;
        sock->was_read = true;
    }
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return sock_set_events(sock, events);
}

/* CURLMOPT_SOCKETFUNCTION. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct vr_curl_uv *cu = userp;
    struct vr_cu_sock *sock = socketp;
    VR_UNUSED(easy);
    if (what == CURL_POLL_REMOVE) {
        if (sock) {
            (void)curl_multi_assign(cu->multi, fd, NULL);
            sock_park(cu, sock);
        }
        return 0;
    }
    if (!sock) {
        sock = sock_announced(cu, fd);
        if (!sock)
            return -1;
        (void)curl_multi_assign(cu->multi, fd, sock);
    }
    int rc = sock_watch(sock, what);
    if (rc < 0) {
        VR_LOG(VR_LOG_WARN, "curl", "uv_poll_start(%d): %s", (int)fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: the bridge opens curl's connection sockets, so it knows each
 * one until vr__cu_close_socket and can keep its poll from one transfer to the next (no
 * handle set-up and teardown per request on a reused connection). */
curl_socket_t vr__cu_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct vr_curl_uv *cu = clientp;
    VR_UNUSED(purpose);
    if (cu->state == VR_CU_CLOSING)
        return CURL_SOCKET_BAD;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    /* A parked poll still holding this number lost its socket without telling us: drop it.
     * One curl still watches is left to sock_announced, as for sockets curl opens itself. */
    struct vr_cu_sock *stale = find_in(&cu->parked, fd);
    if (stale)
        sock_close(stale);
    else if (find_in(&cu->socks, fd))
        return fd;
    struct vr_cu_sock *sock = sock_new(cu, fd, true);
    if (!sock) {
        (void)close(fd);
        return CURL_SOCKET_BAD;
    }
    vr__link_push(&cu->parked, &sock->link);
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: a parked poll goes before its fd, so libuv never holds a
 * closed (and perhaps reused) fd number. curl has already sent CURL_POLL_REMOVE for a socket
 * it was watching, which parked or closed its poll. */
int vr__cu_close_socket(void *clientp, curl_socket_t fd)
{
    struct vr_curl_uv *cu = clientp;
    struct vr_cu_sock *sock = find_in(&cu->parked, fd);
    if (sock)
        sock_close(sock);
    return close(fd);
}

/* --- completions --- */

static void deliver(struct vr_curl_uv *cu, struct vr_req *req)
{
    vr__req_complete(req);
    req->done(req, req->status, req->done_arg);
    cu->active--;
    vr__req_destroy(req);
}

static void remove_easy(struct vr_curl_uv *cu, struct vr_req *req)
{
    if (!req->in_multi)
        return;
    CURLMcode mc = curl_multi_remove_handle(cu->multi, req->easy);
    if (mc != CURLM_OK)
        VR_LOG(VR_LOG_WARN, "curl", "curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    req->in_multi = false;
}

static void drain_info(struct vr_curl_uv *cu)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cu->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode code = msg->data.result;
        char *priv = NULL;
        (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct vr_req *req = (void *)priv;
        /* A request cancelled meanwhile keeps its VR_ECANCELED; the idle handler ends it. */
        if (req->state != VR_REQ_RUNNING)
            continue;
        remove_easy(cu, req);
        vr__link_remove(&req->link);
        vr__req_finish(req, vr__req_status_from_curl(req, code), code);
        deliver(cu, req);
    }
}

static void teardown(struct vr_curl_uv *cu);

static void add_queued(struct vr_curl_uv *cu)
{
    while (!vr__link_empty(&cu->pending_add)) {
        struct vr_req *req = container_of(cu->pending_add.next, struct vr_req, link);
        vr__link_remove(&req->link);
        CURLMcode mc = curl_multi_add_handle(cu->multi, req->easy);
        if (mc != CURLM_OK) {
            vr__link_push(&cu->finished, &req->link);
            vr__req_finish(req, VR_EHTTP, CURLE_OK);
            continue;
        }
        req->in_multi = true;
        vr__link_push(&cu->running, &req->link);
        vr__req_set_state(req, VR_REQ_RUNNING);
    }
}

/* Runs deferred work, one loop turn after it was scheduled: queued starts, then completions
 * (which may schedule more), then the teardown a close was waiting for. */
static void on_idle(uv_idle_t *idle)
{
    struct vr_curl_uv *cu = container_of(idle, struct vr_curl_uv, idle);
    if (cu->kick && cu->state != VR_CU_CLOSING) {
        cu->kick = false;
        cu->drain = false;
        socket_action(cu, CURL_SOCKET_TIMEOUT, 0);
    }
    if (cu->drain && cu->state != VR_CU_CLOSING) {
        cu->drain = false;
        drain_info(cu);
    }
    add_queued(cu);
    while (!vr__link_empty(&cu->finished)) {
        struct vr_req *req = container_of(cu->finished.next, struct vr_req, link);
        vr__link_remove(&req->link);
        remove_easy(cu, req);
        deliver(cu, req);
    }
    if (cu->state == VR_CU_DRAINING && cu->active == 0)
        teardown(cu);
    else if (vr__link_empty(&cu->pending_add) && !cu->kick && !cu->drain)
        (void)uv_idle_stop(idle);
}

static void schedule(struct vr_curl_uv *cu)
{
    (void)uv_idle_start(&cu->idle, on_idle);
}

/* --- lifecycle --- */

static void handle_closed(struct vr_curl_uv *cu)
{
    vr_assert(cu->open_handles > 0);
    if (--cu->open_handles > 0 || cu->state != VR_CU_CLOSING)
        return;
    vr_curl_uv_closed_cb cb = cu->close_cb;
    void *arg = cu->close_arg;
    VR_LOG(VR_LOG_TRACE, "curl", "bridge closed");
    vr_free(cu);
    curl_global_cleanup();
    if (cb)
        cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(container_of((uv_timer_t *)h, struct vr_curl_uv, timer));
}

static void on_idle_closed(uv_handle_t *h)
{
    handle_closed(container_of((uv_idle_t *)h, struct vr_curl_uv, idle));
}

/* Polls go first, so no poll is left watching an fd that curl_multi_cleanup closes; with
 * the callbacks unset curl does not report those sockets or timers back to a bridge that is
 * going away. */
static void teardown(struct vr_curl_uv *cu)
{
    cu_set_state(cu, VR_CU_CLOSING);
    while (!vr__link_empty(&cu->socks))
        sock_close(container_of(cu->socks.next, struct vr_cu_sock, link));
    while (!vr__link_empty(&cu->parked))
        sock_close(container_of(cu->parked.next, struct vr_cu_sock, link));
    (void)curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
    (void)curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
    (void)curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    while (cu->nspare > 0)
        curl_easy_cleanup(cu->spare[--cu->nspare]);
    uv_close((uv_handle_t *)&cu->timer, on_timer_closed);
    uv_close((uv_handle_t *)&cu->idle, on_idle_closed);
}

static int multi_setup(struct vr_curl_uv *cu)
{
    CURLMcode mc = curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(cu->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return mc == CURLM_OK ? 0 : VR_EHTTP;
}

int vr_curl_uv_new(uv_loop_t *loop, struct vr_curl_uv **out)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return VR_EHTTP;
    struct vr_curl_uv *cu = vr_xcalloc(1, sizeof(*cu));
    int rc = VR_EHTTP;
    cu->multi = curl_multi_init();
    if (!cu->multi)
        goto out_free_cu;
    rc = multi_setup(cu);
    if (rc < 0)
        goto out_cleanup_multi;
    cu->loop = loop;
    cu->state = VR_CU_OPEN;
    vr__link_init(&cu->pending_add);
    vr__link_init(&cu->running);
    vr__link_init(&cu->finished);
    vr__link_init(&cu->socks);
    vr__link_init(&cu->parked);
    /* Neither init can fail; from here on cu is freed only by the last close callback. */
    (void)uv_timer_init(loop, &cu->timer);
    (void)uv_idle_init(loop, &cu->idle);
    cu->open_handles = 2;
    *out = cu;
    return 0;
out_cleanup_multi:
    (void)curl_multi_cleanup(cu->multi);
out_free_cu:
    vr_free(cu);
    curl_global_cleanup();
    return rc;
}

static void cancel_list(struct vr_curl_uv *cu, struct vr__link *head)
{
    while (!vr__link_empty(head))
        vr__cu_finish_later(cu, container_of(head->next, struct vr_req, link), VR_ECANCELED);
}

void vr_curl_uv_close(struct vr_curl_uv *cu, vr_curl_uv_closed_cb cb, void *arg)
{
    vr_assert(cu->state == VR_CU_OPEN);
    cu->close_cb = cb;
    cu->close_arg = arg;
    cu_set_state(cu, VR_CU_DRAINING);
    cancel_list(cu, &cu->pending_add);
    cancel_list(cu, &cu->running);
    schedule(cu);
}

void vr_curl_uv_flush(struct vr_curl_uv *cu)
{
    if (cu->state != VR_CU_OPEN || cu->in_curl > 0 || !cu->kick)
        return;
    int running = 0;
    cu->kick = false;
    cu->in_curl++;
    CURLMcode mc = curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    cu->in_curl--;
    if (mc != CURLM_OK)
        VR_LOG(VR_LOG_WARN, "curl", "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    cu->drain = true;
    schedule(cu);
}

size_t vr_curl_uv_active(const struct vr_curl_uv *cu)
{
    return cu->active;
}

/* --- calls from req.c --- */

int vr__cu_add(struct vr_curl_uv *cu, struct vr_req *req)
{
    if (cu->state != VR_CU_OPEN)
        return VR_ESHUTDOWN;
    req->start_ms = uv_now(cu->loop);
    /* curl refuses curl_multi_add_handle from inside its own callbacks (a data callback
     * starting a request): queue it for the idle handler. */
    if (cu->in_curl > 0) {
        vr__link_push(&cu->pending_add, &req->link);
        vr__req_set_state(req, VR_REQ_QUEUED);
        schedule(cu);
    } else {
        if (curl_multi_add_handle(cu->multi, req->easy) != CURLM_OK)
            return VR_EHTTP;
        req->in_multi = true;
        vr__link_push(&cu->running, &req->link);
        vr__req_set_state(req, VR_REQ_RUNNING);
    }
    cu->active++;
    return 0;
}

void vr__cu_finish_later(struct vr_curl_uv *cu, struct vr_req *req, int status)
{
    vr_assert(req->state == VR_REQ_QUEUED || req->state == VR_REQ_RUNNING);
    vr__link_remove(&req->link);
    vr__link_push(&cu->finished, &req->link);
    vr__req_finish(req, status, CURLE_OK);
    schedule(cu);
}

uv_loop_t *vr__cu_loop(const struct vr_curl_uv *cu)
{
    return cu->loop;
}

CURL *vr__cu_easy_get(struct vr_curl_uv *cu)
{
    if (cu->nspare > 0)
        return cu->spare[--cu->nspare];
    CURL *easy = curl_easy_init();
    if (!easy)
        vr_panic("curl_easy_init failed");
    return easy;
}

void vr__cu_easy_put(struct vr_curl_uv *cu, CURL *easy)
{
    if (cu->state == VR_CU_OPEN && cu->nspare < VR_CU_SPARE_EASY) {
        curl_easy_reset(easy);
        cu->spare[cu->nspare++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

uint64_t vr__cu_next_id(struct vr_curl_uv *cu)
{
    return ++cu->next_id;
}
