/*
 * The stack reference and the libcurl memory floor (see ref_stack.h).
 *
 * The curl <-> libuv glue follows curl's docs/examples/multi-uv.c: one uv_poll_t per socket
 * curl announces (CURLMOPT_SOCKETFUNCTION, attached with curl_multi_assign), one uv_timer_t
 * for CURLMOPT_TIMERFUNCTION, finished transfers collected with curl_multi_info_read after
 * every curl_multi_socket_action. Two departures from the example, both for correctness: a
 * poll error is passed on as CURL_CSELECT_ERR, and a 0 ms timeout is armed as a 0 ms libuv
 * timer (it fires on the next loop turn, never inside curl's callback) instead of the
 * example's 1 ms, which would add a millisecond to every request. New transfers are added
 * only after curl_multi_socket_action has returned: libcurl refuses calls into the multi
 * handle from its own callbacks.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <uv.h>

#include "core/common.h"
#include "support/ref_stack.h"
#include "vreq/mem.h"

#define COLL "/apis/velero.io/v1/namespaces/velero/downloadrequests"
#define LINE_CAP (16u << 20)
#define RESP_CAP (1u << 20)

/* A growable byte buffer with a cap, NUL-terminated once anything is in it. */
struct rs_buf {
    char *p;
    size_t len, cap, max;
};

struct rs;

/* One socket curl asked us to watch. */
struct rs_sock {
    uv_poll_t poll;
    struct rs *rs;
    curl_socket_t fd;
    struct rs_sock *prev, *next; /* in rs->socks until closed */
};

/* One PATCH in flight, on its own easy handle. */
struct rs_patch {
    CURL *easy;
    struct rs *rs;
    char *body;
    struct rs_buf resp;
    struct rs_patch *prev, *next; /* in rs->patches */
};

struct rs {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_signal_t sigterm;
    char base[64]; /* http://127.0.0.1:PORT */
    int conc, in_flight;
    CURL *watch;
    struct rs_buf line; /* the watch's unfinished line */
    bool watch_up, failed, stopped;
    struct curl_slist *headers;
    char **fifo; /* names waiting for their PATCH */
    size_t head, tail, cap;
    unsigned long counter, errors;
    struct rs_sock *socks;
    struct rs_patch *patches;
    char exp[32];
};

int ref_patch_body(char *out, size_t cap, unsigned long k, const char *exp)
{
    return snprintf(out, cap,
                    "{\"status\":{\"phase\":\"Processed\",\"downloadURL\":\"http://127.0.0.1:9/"
                    "velero/backups/b1/b1-logs.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-"
                    "Credential=AKIAIOSFODNN7EXAMPLE%%2F20260101%%2Fus-east-1%%2Fs3%%2Faws4_"
                    "request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
                    "host&X-Amz-Signature=%064lx\",\"expiration\":\"%s\"}}",
                    k, exp);
}

static bool buf_add(struct rs_buf *b, const char *p, size_t n)
{
    if (n > b->max - b->len)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = vr_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

/* ---- the work: watch lines in, PATCHes out ---- */

static void push_name(struct rs *rs, const char *name)
{
    if (rs->tail == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 1024;
        rs->fifo = vr_xrealloc(rs->fifo, rs->cap * sizeof(*rs->fifo));
    }
    rs->fifo[rs->tail++] = vr_xstrdup(name);
}

static const char *json_str(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, a);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One watch event: an ADDED object that is not Processed yet needs a PATCH. */
static void watch_event(struct rs *rs, const char *line, size_t n)
{
    cJSON *ev = cJSON_ParseWithLength(line, n);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    const char *name = json_str(obj, "metadata", "name");
    const char *phase = json_str(obj, "status", "phase");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "ADDED") == 0 && name &&
        !(phase && strcmp(phase, "Processed") == 0))
        push_name(rs, name);
    cJSON_Delete(ev);
}

/* CURLOPT_WRITEFUNCTION of the watch: splits the body into lines. */
static size_t on_watch_data(char *p, size_t size, size_t n, void *arg)
{
    struct rs *rs = arg;
    if (!buf_add(&rs->line, p, size * n))
        return 0; /* a line over the cap: curl ends the watch with an error */
    size_t start = 0;
    const char *nl;
    while ((nl = memchr(rs->line.p + start, '\n', rs->line.len - start)) != NULL) {
        size_t len = (size_t)(nl - (rs->line.p + start));
        watch_event(rs, rs->line.p + start, len);
        start += len + 1;
    }
    memmove(rs->line.p, rs->line.p + start, rs->line.len - start + 1);
    rs->line.len -= start;
    return size * n;
}

/* CURLOPT_HEADERFUNCTION of the watch: the blank line ends the headers; a 200 means the
 * watch is up and the parent may start creating. */
static size_t on_watch_header(char *p, size_t size, size_t n, void *arg)
{
    struct rs *rs = arg;
    long code = 0;
    if (size * n == 2 && p[0] == '\r' && !rs->watch_up &&
        curl_easy_getinfo(rs->watch, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
        rs->watch_up = true;
        printf("ref ready\n");
        fflush(stdout);
    }
    return size * n;
}

static size_t on_patch_data(char *p, size_t size, size_t n, void *arg)
{
    struct rs_patch *pt = arg;
    return buf_add(&pt->resp, p, size * n) ? size * n : 0;
}

static bool patch_setup(struct rs_patch *pt, const char *url, long len)
{
    CURL *e = pt->easy;
    return curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH") == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_HTTPHEADER, pt->rs->headers) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_POSTFIELDS, pt->body) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_patch_data) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)pt) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)pt) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
}

static void patch_free(struct rs_patch *pt)
{
    struct rs *rs = pt->rs;
    if (pt->prev)
        pt->prev->next = pt->next;
    else
        rs->patches = pt->next;
    if (pt->next)
        pt->next->prev = pt->prev;
    curl_easy_cleanup(pt->easy);
    vr_free(pt->body);
    vr_free(pt->resp.p);
    vr_free(pt);
    rs->in_flight--;
}

/* Starts the merge PATCH of name (taken). */
static void patch_start(struct rs *rs, char *name)
{
    struct rs_patch *pt = vr_xcalloc(1, sizeof(*pt));
    char body[1024], url[512];
    int len = ref_patch_body(body, sizeof(body), ++rs->counter, rs->exp);
    snprintf(url, sizeof(url), "%s" COLL "/%s", rs->base, name);
    vr_free(name);
    pt->rs = rs;
    pt->body = vr_xstrdup(body);
    pt->resp.max = RESP_CAP;
    pt->next = rs->patches;
    if (pt->next)
        pt->next->prev = pt;
    rs->patches = pt;
    rs->in_flight++;
    pt->easy = curl_easy_init();
    if (!pt->easy || !patch_setup(pt, url, (long)len) ||
        curl_multi_add_handle(rs->multi, pt->easy) != CURLM_OK) {
        fprintf(stderr, "stack reference: cannot start a PATCH\n");
        rs->errors++;
        patch_free(pt);
    }
}

/* A PATCH is complete: a 200 whose body is the object, now Processed. */
static void patch_done(struct rs_patch *pt, CURLcode result)
{
    struct rs *rs = pt->rs;
    long code = 0;
    (void)curl_easy_getinfo(pt->easy, CURLINFO_RESPONSE_CODE, &code);
    cJSON *obj = pt->resp.len ? cJSON_ParseWithLength(pt->resp.p, pt->resp.len) : NULL;
    const char *phase = json_str(obj, "status", "phase");
    if (result != CURLE_OK || code != 200 || !phase || strcmp(phase, "Processed") != 0) {
        if (rs->errors++ == 0)
            fprintf(stderr, "stack reference: PATCH failed: %s, HTTP %ld\n",
                    curl_easy_strerror(result), code);
    }
    cJSON_Delete(obj);
    (void)curl_multi_remove_handle(rs->multi, pt->easy);
    patch_free(pt);
}

static void kick(struct rs *rs)
{
    while (!rs->stopped && rs->in_flight < rs->conc && rs->head < rs->tail)
        patch_start(rs, rs->fifo[rs->head++]);
}

/* ---- the curl <-> libuv glue ---- */

static void stop(struct rs *rs);

static void watch_ended(struct rs *rs, CURLcode result)
{
    long code = 0;
    (void)curl_easy_getinfo(rs->watch, CURLINFO_RESPONSE_CODE, &code);
    fprintf(stderr, "stack reference: the watch ended: %s, HTTP %ld\n", curl_easy_strerror(result),
            code);
    rs->failed = true;
    stop(rs);
}

static void check_done(struct rs *rs)
{
    CURLMsg *msg;
    int left;
    while (!rs->stopped && (msg = curl_multi_info_read(rs->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle; /* msg dies with curl_multi_remove_handle */
        CURLcode result = msg->data.result;
        char *priv = NULL;
        if (easy == rs->watch) {
            watch_ended(rs, result);
        } else if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) == CURLE_OK && priv) {
            patch_done((struct rs_patch *)(void *)priv, result);
        }
    }
}

static void socket_action(struct rs *rs, curl_socket_t fd, int flags)
{
    int running;
    if (curl_multi_socket_action(rs->multi, fd, flags, &running) != CURLM_OK)
        rs->errors++;
    check_done(rs);
    kick(rs);
}

static void on_timeout(uv_timer_t *t)
{
    struct rs *rs = container_of(t, struct rs, timer);
    socket_action(rs, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: 0 ms is armed as a 0 ms timer, so curl is called back on the next
 * loop turn and never from inside this callback. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct rs *rs = userp;
    (void)multi;
    if (timeout_ms < 0)
        return uv_timer_stop(&rs->timer) == 0 ? 0 : -1;
    return uv_timer_start(&rs->timer, on_timeout, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct rs_sock *sk = container_of(poll, struct rs_sock, poll);
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (status >= 0 && (events & UV_READABLE))
        flags |= CURL_CSELECT_IN;
    if (status >= 0 && (events & UV_WRITABLE))
        flags |= CURL_CSELECT_OUT;
    socket_action(sk->rs, sk->fd, flags);
}

static void on_sock_closed(uv_handle_t *h)
{
    vr_free(container_of((uv_poll_t *)h, struct rs_sock, poll));
}

static void sock_close(struct rs_sock *sk)
{
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        sk->rs->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    uv_close((uv_handle_t *)&sk->poll, on_sock_closed);
}

static struct rs_sock *sock_open(struct rs *rs, curl_socket_t fd)
{
    struct rs_sock *sk = vr_xcalloc(1, sizeof(*sk));
    if (uv_poll_init_socket(rs->loop, &sk->poll, fd) < 0) {
        vr_free(sk);
        return NULL;
    }
    sk->rs = rs;
    sk->fd = fd;
    sk->next = rs->socks;
    if (sk->next)
        sk->next->prev = sk;
    rs->socks = sk;
    (void)curl_multi_assign(rs->multi, fd, sk);
    return sk;
}

/* CURLMOPT_SOCKETFUNCTION. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct rs *rs = userp;
    struct rs_sock *sk = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            (void)curl_multi_assign(rs->multi, fd, NULL);
            sock_close(sk);
        }
        return 0;
    }
    if (!sk && (sk = sock_open(rs, fd)) == NULL)
        return -1;
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&sk->poll, events, on_poll) == 0 ? 0 : -1;
}

/* Ends everything: polls first (curl_multi_cleanup closes their fds), then the transfers and
 * the multi handle with its callbacks unset, then the timer and the signal. The loop then
 * runs dry. */
static void stop(struct rs *rs)
{
    if (rs->stopped)
        return;
    rs->stopped = true;
    while (rs->socks)
        sock_close(rs->socks);
    (void)curl_multi_setopt(rs->multi, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
    (void)curl_multi_setopt(rs->multi, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
    while (rs->patches) {
        (void)curl_multi_remove_handle(rs->multi, rs->patches->easy);
        patch_free(rs->patches);
    }
    if (rs->watch) {
        (void)curl_multi_remove_handle(rs->multi, rs->watch);
        curl_easy_cleanup(rs->watch);
        rs->watch = NULL;
    }
    (void)curl_multi_cleanup(rs->multi);
    rs->multi = NULL;
    uv_close((uv_handle_t *)&rs->timer, NULL);
    uv_close((uv_handle_t *)&rs->sigterm, NULL);
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    (void)signum;
    stop(container_of(s, struct rs, sigterm));
}

static bool watch_start(struct rs *rs)
{
    char url[256];
    snprintf(url, sizeof(url), "%s" COLL "?watch=true", rs->base);
    CURL *e = rs->watch = curl_easy_init();
    return e && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_watch_data) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)rs) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_watch_header) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)rs) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_multi_add_handle(rs->multi, e) == CURLM_OK;
}

static bool multi_start(struct rs *rs)
{
    rs->multi = curl_multi_init();
    return rs->multi &&
           curl_multi_setopt(rs->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) == CURLM_OK &&
           curl_multi_setopt(rs->multi, CURLMOPT_SOCKETDATA, (void *)rs) == CURLM_OK &&
           curl_multi_setopt(rs->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) == CURLM_OK &&
           curl_multi_setopt(rs->multi, CURLMOPT_TIMERDATA, (void *)rs) == CURLM_OK;
}

int ref_stack_main(uv_loop_t *loop, int port, int conc)
{
    struct rs rs = {.loop = loop, .conc = conc, .line.max = LINE_CAP};
    time_t exp = time(NULL) + 86400;
    struct tm tm;
    strftime(rs.exp, sizeof(rs.exp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
    snprintf(rs.base, sizeof(rs.base), "http://127.0.0.1:%d", port);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    rs.headers = curl_slist_append(NULL, "Content-Type: application/merge-patch+json");
    uv_timer_init(loop, &rs.timer);
    uv_signal_init(loop, &rs.sigterm);
    uv_signal_start(&rs.sigterm, on_sigterm, SIGTERM);
    if (!rs.headers || !multi_start(&rs) || !watch_start(&rs)) {
        fprintf(stderr, "stack reference: cannot set up libcurl\n");
        rs.failed = true;
        if (rs.multi)
            stop(&rs);
        else {
            uv_close((uv_handle_t *)&rs.timer, NULL);
            uv_close((uv_handle_t *)&rs.sigterm, NULL);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    curl_slist_free_all(rs.headers);
    while (rs.head < rs.tail)
        vr_free(rs.fifo[rs.head++]);
    vr_free(rs.fifo);
    vr_free(rs.line.p);
    curl_global_cleanup();
    if (rs.errors)
        fprintf(stderr, "stack reference: %lu PATCHes failed\n", rs.errors);
    return rs.watch_up && !rs.failed && rs.errors == 0 ? 0 : 1;
}

/* ---- the memory floor ---- */

static void print_own_memory(void)
{
    static const char *const names[] = {"VmRSS:", "RssAnon:", "RssFile:"};
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    printf("libcurl floor:");
    while (f && fgets(line, sizeof(line), f)) {
        for (size_t i = 0; i < VR_ARRAY_SIZE(names); i++)
            if (strncmp(line, names[i], strlen(names[i])) == 0)
                printf(" %s %lu kB", names[i], strtoul(line + strlen(names[i]), NULL, 10));
    }
    printf("\n");
    if (f)
        fclose(f);
}

int ref_libcurl_main(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    CURL *easy = curl_easy_init();
    if (!easy) {
        curl_global_cleanup();
        return 1;
    }
    curl_easy_cleanup(easy);
    print_own_memory();
    printf("ref ready\n");
    fflush(stdout);
    sigwait(&set, &sig);
    curl_global_cleanup();
    return 0;
}
