/*
 * bench_controller: vreqd against kubesim, side by side with a reference client.
 *
 *   throughput  N DownloadRequests created as fast as kubesim accepts them; time from the
 *               first create to the last Processed seen on a watch; requests/s and the
 *               p50/p99 create->Processed latency. The reference limit, measured in the same
 *               run: this binary re-run as `--ref-controller PORT`, a minimal controller on
 *               the same stack (libuv, raw HTTP/1.1, http-parser) that watches the collection
 *               and sends one merge PATCH per new object (a URL of the same length as
 *               vreqd's, no signing, no cache) at vreqd's concurrency.
 *   idle        one request at a time: create -> Processed seen on the watch.
 *   memory and  vreqd's VmRSS (/proc/PID/status) and process_resident_memory_bytes
 *   start-up    (/metrics) with 0, 10k and 100k Processed requests preloaded (long TTL), and
 *               the time from spawning vreqd to its first /readyz 200.
 *
 * kubesim, vreqd and the reference each run as a separate process; a fresh kubesim (and
 * controller) per throughput run, seeded through `kubesim --objects` with a credential
 * Secret, a BackupStorageLocation with s3Url and region (no region lookup, static
 * credentials) and a Completed Backup. Every figure is the median of several runs with min
 * and max; ratios are per run, vreqd against the reference of the same run. Nothing is
 * asserted about any figure: the exit status only says whether every run completed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <uv.h>

#include "core/common.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#define NS "velero"
#define COLL "/apis/velero.io/v1/namespaces/" NS "/downloadrequests"
/* The DownloadRequest work queue's max_in_flight: src/controller/dlr_driver.c keeps
 * vr_wq_opts_default's 1 (controller-runtime's MaxConcurrentReconciles default). */
#define VREQD_DLR_MAX_IN_FLIGHT 1
#define CREATORS 4
#define MAX_RUNS 15
#define STALL_MS 30000
/* Secret data "cloud": an AWS INI profile with AWS's documented example keys. */
#define CLOUD_INI_B64                                                                              \
    "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJQUlPU0ZPRE5ON0VYQU1QTEUKYXdzX3NlY3JldF9hY2Nlc3Nf" \
    "a2V5ID0gd0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQo="

enum ctl { CTL_VREQD, CTL_REF };
static const char *const ctl_names[] = {"vreqd", "reference"};

struct bench;

/* ---- small helpers ---- */

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

/* First occurrence of NUL-terminated lit in [p, p+n), or NULL. */
static const char *find(const char *p, size_t n, const char *lit)
{
    size_t ln = strlen(lit);
    const char *end = p + n;
    while (n >= ln && (p = memchr(p, lit[0], n - ln + 1)) != NULL) {
        if (memcmp(p, lit, ln) == 0)
            return p;
        p++;
        n = (size_t)(end - p);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

struct stat3 {
    double med, min, max;
};

static struct stat3 summarize(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    struct stat3 r = {n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]};
    return r;
}

/* The q-quantile (0..1) of n sorted values (nearest rank). */
static double quantile(const uint64_t *sorted, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);
    i = i ? i - 1 : 0;
    return (double)sorted[i < n ? i : n - 1];
}

static void rfc3339(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the HTTP/1.1 client (one request at a time per connection) ---- */

struct hconn;
typedef void (*hconn_done_cb)(struct hconn *c, int code);
typedef void (*hconn_data_cb)(struct hconn *c, const char *p, size_t n);

struct hconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    http_parser parser;
    struct bench *b;
    hconn_done_cb done_cb; /* a response is complete */
    hconn_done_cb head_cb; /* headers complete (watches) */
    hconn_data_cb data_cb; /* body bytes; NULL: kept in body */
    struct vr_buf body;
    struct vr_buf lines; /* watches: the unfinished line */
    bool connected, failed, closed, busy;
    bool close_done, released; /* freed once both: see hconn_release */
    int code;
    unsigned long idx; /* the request in flight (creators) */
    void *arg;
};

struct bench {
    uv_loop_t *loop;
    uv_timer_t deadline;
    bool timed_out;
    int open_conns;
    /* the current run */
    unsigned long n, next, created, processed, errors;
    uint64_t *sent_ns, *done_ns;
    void *user;   /* the reference controller's state, in that mode */
    int ref_conc; /* the reference's PATCHes in flight (vreqd's max_in_flight) */
    /* options */
    bool smoke;
    char kubesim[4096], vreqd[4096], self[4096], dir[256], data_dir[4096];
};

/* The deadline timer repeats every millisecond once due: a timer that fires at the top of
 * uv_run(UV_RUN_ONCE) would otherwise leave the poll that follows without a timeout. */
static void on_deadline(uv_timer_t *t)
{
    struct bench *b = container_of(t, struct bench, deadline);
    b->timed_out = true;
}

/* Runs the loop until pred(arg) or timeout_ms; whether pred came true. */
static bool run_until(struct bench *b, bool (*pred)(void *), void *arg, uint64_t timeout_ms)
{
    b->timed_out = false;
    uv_timer_start(&b->deadline, on_deadline, timeout_ms, 1);
    while (!pred(arg) && !b->timed_out)
        uv_run(b->loop, UV_RUN_ONCE);
    uv_timer_stop(&b->deadline);
    return pred(arg);
}

static void run_for(struct bench *b, uint64_t ms)
{
    b->timed_out = false;
    uv_timer_start(&b->deadline, on_deadline, ms, 1);
    while (!b->timed_out)
        uv_run(b->loop, UV_RUN_ONCE);
    uv_timer_stop(&b->deadline);
}

static int hp_headers(http_parser *p)
{
    struct hconn *c = p->data;
    c->code = (int)p->status_code;
    if (c->head_cb)
        c->head_cb(c, c->code);
    return 0;
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
    struct hconn *c = p->data;
    if (c->data_cb)
        c->data_cb(c, at, n);
    else if (vr_buf_append(&c->body, at, n) < 0)
        c->failed = true;
    return 0;
}

static int hp_done(http_parser *p)
{
    struct hconn *c = p->data;
    c->busy = false;
    if (c->done_cb)
        c->done_cb(c, (int)p->status_code);
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_headers_complete = hp_headers, .on_body = hp_body, .on_message_complete = hp_done};

static void hconn_destroy(struct hconn *c)
{
    vr_buf_cleanup(&c->body);
    vr_buf_cleanup(&c->lines);
    vr_free(c);
}

static void on_hclose(uv_handle_t *h)
{
    struct hconn *c = container_of((uv_tcp_t *)h, struct hconn, tcp);
    c->b->open_conns--;
    c->close_done = true;
    if (c->released)
        hconn_destroy(c);
}

/* Closes the connection (a failure, or its owner is done); the struct stays valid until
 * its owner calls hconn_release. */
static void hconn_close(struct hconn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    c->busy = false;
    uv_close((uv_handle_t *)&c->tcp, on_hclose);
}

/* The owner is done with c: closes it if needed and frees it once the close has finished. */
static void hconn_release(struct hconn *c)
{
    c->released = true;
    if (!c->closed)
        hconn_close(c);
    else if (c->close_done)
        hconn_destroy(c);
}

static void h_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[256 * 1024];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void h_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct hconn *c = container_of((uv_tcp_t *)s, struct hconn, tcp);
    if (n < 0) {
        http_parser_execute(&c->parser, &hp_settings, NULL, 0);
        c->failed = c->failed || c->busy;
        hconn_close(c);
        return;
    }
    size_t used = http_parser_execute(&c->parser, &hp_settings, buf->base, (size_t)n);
    if (used != (size_t)n && !c->closed) {
        fprintf(stderr, "bench_controller: bad HTTP response: %s\n",
                http_errno_name(HTTP_PARSER_ERRNO(&c->parser)));
        c->failed = true;
        hconn_close(c);
    }
}

static void h_connected(uv_connect_t *req, int status)
{
    struct hconn *c = container_of(req, struct hconn, creq);
    if (status < 0 || c->closed) {
        c->failed = true;
        hconn_close(c);
        return;
    }
    c->connected = true;
    uv_read_start((uv_stream_t *)&c->tcp, h_alloc, h_read);
}

static struct hconn *hconn_open(struct bench *b, int port)
{
    struct hconn *c = vr_xcalloc(1, sizeof(*c));
    c->b = b;
    vr_buf_init(&c->body, 64u << 20);
    vr_buf_init(&c->lines, 16u << 20);
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    uv_tcp_init(b->loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    b->open_conns++;
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&addr, h_connected) < 0) {
        c->failed = true;
        hconn_close(c);
    }
    return c;
}

static bool hconn_settled(void *arg)
{
    struct hconn *c = arg;
    return c->connected || c->failed;
}

static bool hconn_idle(void *arg)
{
    struct hconn *c = arg;
    return !c->busy || c->failed;
}

struct wreq {
    uv_write_t w;
    char *data;
};

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct wreq *wr = container_of(w, struct wreq, w);
    vr_free(wr->data);
    vr_free(wr);
}

/* Sends one request (takes data); the response ends in done_cb. */
static void hconn_send_take(struct hconn *c, char *data)
{
    struct wreq *wr = vr_xmalloc(sizeof(*wr));
    wr->data = data;
    c->busy = true;
    vr_buf_reset(&c->body);
    uv_buf_t buf = uv_buf_init(data, (unsigned)strlen(data));
    if (c->closed || uv_write(&wr->w, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        vr_free(data);
        vr_free(wr);
        c->failed = true;
        hconn_close(c);
    }
}

static void wait_closed(struct bench *b)
{
    while (b->open_conns > 0)
        uv_run(b->loop, UV_RUN_ONCE);
}

/* GET path on port; the HTTP status (body in *body when non-NULL), or -1 when the
 * connection or the response failed. */
static int http_get(struct bench *b, int port, const char *path, struct vr_buf *body)
{
    struct hconn *c = hconn_open(b, port);
    int code = -1;
    if (!run_until(b, hconn_settled, c, 5000) || c->failed)
        goto out;
    hconn_send_take(c, vr_xasprintf("GET %s HTTP/1.1\r\nHost: b\r\n\r\n", path));
    if (!run_until(b, hconn_idle, c, 10000) || c->failed)
        goto out;
    code = c->code;
    if (body) {
        vr_buf_reset(body);
        if (c->body.len && vr_buf_append(body, c->body.p, c->body.len) < 0)
            code = -1;
    }
out:
    hconn_release(c);
    wait_closed(b);
    return code;
}

/* Splits watch body bytes into lines and hands each complete one to fn. */
static void feed_lines(struct hconn *c, const char *p, size_t n,
                       void (*fn)(struct hconn *c, const char *line, size_t len))
{
    if (vr_buf_append(&c->lines, p, n) < 0) {
        c->failed = true;
        return;
    }
    size_t start = 0;
    const char *nl;
    while ((nl = memchr(c->lines.p + start, '\n', c->lines.len - start)) != NULL) {
        size_t len = (size_t)(nl - (c->lines.p + start));
        fn(c, c->lines.p + start, len);
        start += len + 1;
    }
    vr_buf_consume(&c->lines, start);
}

/* metadata.name of a watch event line, copied into out; false when absent. */
static bool event_name(const char *line, size_t n, char *out, size_t cap)
{
    const char *m = find(line, n, "\"metadata\":{");
    const char *p = m ? find(m, n - (size_t)(m - line), "\"name\":\"") : NULL;
    if (!p)
        return false;
    p += 8;
    const char *q = memchr(p, '"', n - (size_t)(p - line));
    if (!q || (size_t)(q - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return true;
}

/* ---- child processes ---- */

struct child {
    uv_process_t proc;
    uv_pipe_t out;
    bool has_out, exited, spawned;
    struct vr_buf text; /* stdout so far */
    int port;           /* kubesim: from "listening on http://HOST:PORT" */
    bool ready;         /* reference: printed "ref ready" */
    int64_t status;
    int sig;
};

static void ch_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[4096];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void ch_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct child *ch = container_of((uv_pipe_t *)s, struct child, out);
    if (n < 0) {
        uv_read_stop(s);
        return;
    }
    if (vr_buf_append(&ch->text, buf->base, (size_t)n) < 0)
        return;
    const char *p = strstr(ch->text.p, "listening on http://");
    const char *colon = p ? strchr(p + 20, ':') : NULL;
    if (!ch->port && colon && strchr(colon, '\n'))
        ch->port = (int)strtol(colon + 1, NULL, 10);
    if (strstr(ch->text.p, "ref ready\n"))
        ch->ready = true;
}

static void ch_exit(uv_process_t *p, int64_t status, int sig)
{
    struct child *ch = container_of(p, struct child, proc);
    ch->exited = true;
    ch->status = status;
    ch->sig = sig;
}

/* Spawns argv with stdout piped to ch->text and stderr to err_fd. */
static int child_spawn(struct bench *b, struct child *ch, char **argv, int err_fd)
{
    memset(ch, 0, sizeof(*ch));
    vr_buf_init(&ch->text, 1u << 20);
    uv_pipe_init(b->loop, &ch->out, 0);
    ch->has_out = true;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->out},
        {.flags = UV_INHERIT_FD, .data.fd = err_fd},
    };
    uv_process_options_t opts = {
        .exit_cb = ch_exit, .file = argv[0], .args = argv, .stdio_count = 3, .stdio = stdio};
    int rc = uv_spawn(b->loop, &ch->proc, &opts);
    if (rc < 0) {
        fprintf(stderr, "bench_controller: cannot start %s: %s\n", argv[0], uv_strerror(rc));
        uv_close((uv_handle_t *)&ch->out, NULL);
        ch->has_out = false;
        return rc;
    }
    ch->spawned = true;
    uv_read_start((uv_stream_t *)&ch->out, ch_alloc, ch_read);
    return 0;
}

static bool child_exited(void *arg)
{
    return ((struct child *)arg)->exited;
}

/* SIGTERM, wait (SIGKILL after 20 s), release the handles; whether it exited 0. */
static bool child_stop(struct bench *b, struct child *ch)
{
    if (ch->spawned && !ch->exited)
        uv_process_kill(&ch->proc, SIGTERM);
    if (ch->spawned && !run_until(b, child_exited, ch, 20000)) {
        uv_process_kill(&ch->proc, SIGKILL);
        run_until(b, child_exited, ch, 5000);
    }
    if (ch->spawned)
        uv_close((uv_handle_t *)&ch->proc, NULL);
    if (ch->has_out)
        uv_close((uv_handle_t *)&ch->out, NULL);
    uv_run(b->loop, UV_RUN_NOWAIT);
    vr_buf_cleanup(&ch->text);
    bool ok = !ch->spawned || (ch->status == 0 && (ch->sig == 0 || ch->sig == SIGTERM));
    ch->spawned = ch->has_out = false;
    return ok;
}

static bool child_port(void *arg)
{
    struct child *ch = arg;
    return ch->port || ch->exited;
}

static bool child_ready(void *arg)
{
    struct child *ch = arg;
    return ch->ready || ch->exited;
}

/* ---- the world kubesim starts with ---- */

static int put(FILE *f, const char *s)
{
    return fputs(s, f) < 0 ? -1 : 0;
}

/* Secret, BSL (s3Url + region: no lookup), Completed Backup b1, then npre Processed
 * DownloadRequests pre-<i> expiring in 24 h. */
static int write_world(const char *path, unsigned long npre)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    char exp[32], line[512];
    rfc3339((int64_t)time(NULL) + 86400, exp, sizeof(exp));
    int rc = put(
        f,
        "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n"
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\",\"metadata\":{\"name\":"
        "\"cloud-credentials\",\"namespace\":\"" NS "\"},\"data\":{\"cloud\":\"" CLOUD_INI_B64
        "\"}},\n{\"apiVersion\":\"velero.io/v1\",\"kind\":\"BackupStorageLocation\",\"metadata\":"
        "{\"name\":\"default\",\"namespace\":\"" NS "\"},\"spec\":{\"provider\":\"aws\","
        "\"objectStorage\":{\"bucket\":\"velero\"},\"config\":{\"region\":\"us-east-1\",\"s3Url\":"
        "\"http://127.0.0.1:9\",\"s3ForcePathStyle\":\"true\"},\"credential\":{\"name\":"
        "\"cloud-credentials\",\"key\":\"cloud\"}},\"status\":{\"phase\":\"Available\"}},\n"
        "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"Backup\",\"metadata\":{\"name\":\"b1\","
        "\"namespace\":\"" NS "\"},\"spec\":{\"storageLocation\":\"default\"},\"status\":{"
        "\"phase\":\"Completed\"}}");
    for (unsigned long i = 0; rc == 0 && i < npre; i++) {
        snprintf(line, sizeof(line),
                 ",\n{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\",\"metadata\":"
                 "{\"name\":\"pre-%lu\",\"namespace\":\"" NS "\"},\"spec\":{\"target\":{\"kind\":"
                 "\"BackupLog\",\"name\":\"b1\"}},\"status\":{\"phase\":\"Processed\","
                 "\"downloadURL\":\"http://127.0.0.1:9/velero/backups/b1/b1-logs.gz?X-Amz-"
                 "Signature=%064lx\",\"expiration\":\"%s\"}}",
                 i, i, exp);
        rc = put(f, line);
    }
    if (rc == 0)
        rc = put(f, "\n]}\n");
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static int kubesim_start(struct bench *b, struct child *ks, const char *world)
{
    char kc[512];
    snprintf(kc, sizeof(kc), "%s/kubeconfig", b->dir);
    char *argv[] = {b->kubesim,
                    (char *)"--listen",
                    (char *)"127.0.0.1:0",
                    (char *)"--kubeconfig-out",
                    kc,
                    (char *)"--objects",
                    (char *)world,
                    (char *)"--log-level",
                    (char *)"error",
                    NULL};
    if (child_spawn(b, ks, argv, 2) < 0)
        return -1;
    if (!run_until(b, child_port, ks, 120000) || !ks->port) {
        fprintf(stderr, "bench_controller: kubesim did not start\n");
        child_stop(b, ks);
        return -1;
    }
    return 0;
}

/* A free port for vreqd's endpoints (bound and released: a tiny race, fine here). */
static int free_port(struct bench *b)
{
    uv_tcp_t t;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got), port = -1;
    uv_tcp_init(b->loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&t, (const struct sockaddr *)&addr, 0) == 0 &&
        uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len) == 0)
        port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(b->loop, UV_RUN_NOWAIT);
    return port;
}

/* Spawns vreqd against the kubesim whose kubeconfig is in b->dir; *port is its
 * endpoints' port. Its log goes to b->dir/vreqd.log. */
static int vreqd_spawn(struct bench *b, struct child *ch, int *port)
{
    char kc[512], addr[64], log[512];
    *port = free_port(b);
    snprintf(kc, sizeof(kc), "%s/kubeconfig", b->dir);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", *port);
    snprintf(log, sizeof(log), "%s/vreqd.log", b->dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || *port < 0)
        return -1;
    char *argv[] = {b->vreqd,
                    (char *)"--kubeconfig",
                    kc,
                    (char *)"--namespace",
                    (char *)NS,
                    (char *)"--metrics-addr",
                    addr,
                    (char *)"--download-url-ttl",
                    (char *)"24h",
                    NULL};
    int rc = child_spawn(b, ch, argv, fd);
    close(fd);
    return rc;
}

/* Polls /readyz every millisecond until 200; the ns from t0 to it, or 0 on failure. */
static uint64_t wait_readyz(struct bench *b, struct child *ch, int port, uint64_t t0)
{
    uint64_t limit = t0 + 60 * 1000000000ull;
    while (!ch->exited && now_ns() < limit) {
        if (http_get(b, port, "/readyz", NULL) == 200)
            return now_ns() - t0;
        run_for(b, 1);
    }
    fprintf(stderr, "bench_controller: vreqd never became ready (log: %s/vreqd.log)\n", b->dir);
    return 0;
}

static int ref_spawn(struct bench *b, struct child *ch, int ks_port, int conc)
{
    char port[16], cc[16];
    snprintf(port, sizeof(port), "%d", ks_port);
    snprintf(cc, sizeof(cc), "%d", conc);
    char *argv[] = {b->self, (char *)"--ref-controller", port, (char *)"--ref-concurrency", cc,
                    NULL};
    if (child_spawn(b, ch, argv, 2) < 0)
        return -1;
    if (!run_until(b, child_ready, ch, 30000) || !ch->ready) {
        fprintf(stderr, "bench_controller: the reference client did not start\n");
        return -1;
    }
    return 0;
}

/* Starts controller `which` against kubesim ks; *mport is vreqd's endpoints' port. */
static int ctl_start(struct bench *b, enum ctl which, struct child *ks, struct child *ctl,
                     int *mport)
{
    if (which == CTL_REF)
        return ref_spawn(b, ctl, ks->port, b->ref_conc);
    if (vreqd_spawn(b, ctl, mport) < 0)
        return -1;
    return wait_readyz(b, ctl, *mport, now_ns()) ? 0 : -1;
}

/* ---- the bench's own watch and creators ---- */

static void run_reset(struct bench *b, unsigned long n)
{
    vr_free(b->sent_ns);
    vr_free(b->done_ns);
    b->sent_ns = vr_xcalloc(n ? n : 1, sizeof(uint64_t));
    b->done_ns = vr_xcalloc(n ? n : 1, sizeof(uint64_t));
    b->n = n;
    b->next = b->created = b->processed = b->errors = 0;
}

/* A MODIFIED (or replayed ADDED) event of dr-<i> in phase Processed: its first sighting. */
static void bench_line(struct hconn *c, const char *line, size_t n)
{
    struct bench *b = c->b;
    if (!find(line, n, "\"phase\":\"Processed\""))
        return;
    const char *p = find(line, n, "\"name\":\"dr-");
    if (!p)
        return;
    unsigned long i = strtoul(p + 11, NULL, 10); /* stops at the closing quote */
    if (i >= b->n || b->done_ns[i])
        return;
    b->done_ns[i] = now_ns();
    b->processed++;
}

static void bench_data(struct hconn *c, const char *p, size_t n)
{
    feed_lines(c, p, n, bench_line);
}

static bool watch_up(void *arg)
{
    struct hconn *c = arg;
    return c->code != 0 || c->failed;
}

/* Opens a watch on the DownloadRequest collection feeding fn; NULL when it fails. */
static struct hconn *watch_open(struct bench *b, int port, hconn_data_cb fn)
{
    struct hconn *c = hconn_open(b, port);
    if (run_until(b, hconn_settled, c, 5000) && !c->failed) {
        c->data_cb = fn;
        hconn_send_take(c, vr_xstrdup("GET " COLL "?watch=true HTTP/1.1\r\nHost: b\r\n\r\n"));
        if (run_until(b, watch_up, c, 10000) && c->code == 200)
            return c;
    }
    fprintf(stderr, "bench_controller: the watch failed\n");
    hconn_release(c);
    return NULL;
}

static void create_next(struct hconn *c)
{
    struct bench *b = c->b;
    if (b->next >= b->n)
        return;
    unsigned long i = b->next++;
    char body[256];
    int len = snprintf(body, sizeof(body),
                       "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\",\"metadata\":"
                       "{\"name\":\"dr-%lu\"},\"spec\":{\"target\":{\"kind\":\"BackupLog\","
                       "\"name\":\"b1\"}}}",
                       i);
    c->idx = i;
    b->sent_ns[i] = now_ns();
    hconn_send_take(c, vr_xasprintf("POST " COLL " HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                    "application/json\r\nContent-Length: %d\r\n\r\n%s",
                                    len, body));
}

/* Creators chain (throughput); the idle phase sends one at a time (arg NULL). */
static void created(struct hconn *c, int code)
{
    c->b->created++;
    if (code != 201)
        c->b->errors++;
    if (c->arg)
        create_next(c);
}

static struct hconn *creator_open(struct bench *b, int port, bool chain)
{
    struct hconn *c = hconn_open(b, port);
    c->done_cb = created;
    c->arg = chain ? b : NULL;
    if (!run_until(b, hconn_settled, c, 5000) || c->failed) {
        hconn_release(c);
        return NULL;
    }
    return c;
}

/* Field name ("VmRSS:", "RssAnon:") of /proc/PID/status, in KiB; 0 when absent. */
static uint64_t read_status_kib(int pid, const char *name)
{
    char path[64], line[256];
    uint64_t kib = 0;
    size_t nl = strlen(name);
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, name, nl) == 0)
            kib = strtoull(line + nl, NULL, 10);
    fclose(f);
    return kib;
}

/* User + system CPU seconds of process pid so far (/proc/PID/stat fields 14 and 15). */
static double read_cpu_s(int pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    for (int field = 2; p && *p && field < 15; field++) {
        p = strchr(p + 1, ' ');
        if (p && field == 13)
            ut = strtoull(p + 1, NULL, 10);
        if (p && field == 14)
            st = strtoull(p + 1, NULL, 10);
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Sum of the samples in a Prometheus text body whose line starts with prefix. */
static double metric_sum(const struct vr_buf *body, const char *prefix)
{
    double sum = 0;
    size_t pl = strlen(prefix);
    for (const char *p = body->p; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, pl) == 0) {
            const char *sp = memchr(p, ' ', nl ? (size_t)(nl - p) : strlen(p));
            if (sp)
                sum += strtod(sp + 1, NULL);
        }
        p = nl ? nl + 1 : NULL;
    }
    return sum;
}

/* ---- throughput ---- */

struct tp {
    double rps, p50_ms, p99_ms, rss_mib, cpu_us; /* cpu_us: controller CPU per request */
};

static bool all_processed(void *arg)
{
    struct bench *b = arg;
    return b->processed >= b->n;
}

/* Waits until every request is Processed; false when progress stalls for STALL_MS. */
static bool wait_processed(struct bench *b)
{
    unsigned long before;
    do {
        before = b->processed;
        if (run_until(b, all_processed, b, STALL_MS))
            return true;
    } while (b->processed != before);
    fprintf(stderr,
            "bench_controller: stalled at %lu of %lu Processed (%lu created, %lu "
            "create errors)\n",
            b->processed, b->n, b->created, b->errors);
    return false;
}

/* Latencies (ns, sorted) of requests [from, to) and the last Processed instant. */
static uint64_t *latencies(const struct bench *b, unsigned long from, unsigned long to,
                           uint64_t *last_ns)
{
    uint64_t *lat = vr_xcalloc(to - from + 1, sizeof(*lat));
    uint64_t last = 0;
    for (unsigned long i = from; i < to; i++) {
        lat[i - from] = b->done_ns[i] - b->sent_ns[i];
        if (b->done_ns[i] > last)
            last = b->done_ns[i];
    }
    qsort(lat, to - from, sizeof(*lat), cmp_u64);
    *last_ns = last;
    return lat;
}

/* Progress curve of the run for the plot: seconds since t0, requests Processed. */
static void write_progress(const struct bench *b, enum ctl which, uint64_t t0)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/progress-%s-%lu.dat", b->data_dir, ctl_names[which], b->n);
    uint64_t *done = vr_xcalloc(b->n, sizeof(*done));
    memcpy(done, b->done_ns, b->n * sizeof(*done));
    qsort(done, b->n, sizeof(*done), cmp_u64);
    FILE *f = fopen(path, "w");
    unsigned long step = b->n / 400 ? b->n / 400 : 1;
    for (unsigned long i = 0; f && i < b->n; i += step) {
        char line[64];
        snprintf(line, sizeof(line), "%.4f %lu\n", (double)(done[i] - t0) / 1e9, i + 1);
        put(f, line);
    }
    if (f)
        fclose(f);
    vr_free(done);
}

/* Creates b->n requests over CREATORS connections and waits for them all. */
static bool flood(struct bench *b, int port, struct tp *out, enum ctl which)
{
    struct hconn *cr[CREATORS];
    for (int i = 0; i < CREATORS; i++) {
        if ((cr[i] = creator_open(b, port, true)) == NULL) {
            while (i-- > 0)
                hconn_release(cr[i]);
            return false;
        }
    }
    uint64_t t0 = now_ns(), last;
    for (int i = 0; i < CREATORS; i++)
        create_next(cr[i]);
    bool ok = wait_processed(b);
    for (int i = 0; i < CREATORS; i++)
        hconn_release(cr[i]);
    if (!ok)
        return false;
    uint64_t *lat = latencies(b, 0, b->n, &last);
    out->rps = (double)b->n / ((double)(last - t0) / 1e9);
    out->p50_ms = quantile(lat, b->n, 0.50) / 1e6;
    out->p99_ms = quantile(lat, b->n, 0.99) / 1e6;
    vr_free(lat);
    if (b->data_dir[0])
        write_progress(b, which, t0);
    return b->errors == 0;
}

static int tp_run(struct bench *b, enum ctl which, unsigned long n, struct tp *out)
{
    struct child ks, ctl = {0};
    char world[512];
    int mport = 0, rc = -1;
    snprintf(world, sizeof(world), "%s/world-0.json", b->dir);
    if (kubesim_start(b, &ks, world) < 0)
        return -1;
    if (ctl_start(b, which, &ks, &ctl, &mport) < 0)
        goto out_ctl;
    run_reset(b, n);
    struct hconn *w = watch_open(b, ks.port, bench_data);
    if (!w)
        goto out_ctl;
    memset(out, 0, sizeof(*out));
    double cpu0 = read_cpu_s(ctl.proc.pid);
    if (flood(b, ks.port, out, which))
        rc = 0;
    out->cpu_us = (read_cpu_s(ctl.proc.pid) - cpu0) * 1e6 / (double)n;
    if (which == CTL_VREQD)
        out->rss_mib = (double)read_status_kib(ctl.proc.pid, "VmRSS:") / 1024.0;
    hconn_release(w);
out_ctl:
    wait_closed(b);
    if (!child_stop(b, &ctl))
        rc = -1;
    if (!child_stop(b, &ks))
        rc = -1;
    return rc;
}

/* ---- idle latency ---- */

#define IDLE_WARMUP 10

struct one {
    struct bench *b;
    unsigned long i;
};

static bool one_done(void *arg)
{
    struct one *o = arg;
    return o->b->done_ns[o->i] != 0;
}

static void write_cdf(const struct bench *b, enum ctl which, const uint64_t *lat, size_t n)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/idle-%s.dat", b->data_dir, ctl_names[which]);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < n; i++) {
        char line[64];
        snprintf(line, sizeof(line), "%.4f %.4f\n", (double)lat[i] / 1e6,
                 (double)(i + 1) / (double)n);
        put(f, line);
    }
    if (f)
        fclose(f);
}

/* One request at a time, rounds of per; p50[r], p99[r] in ms. */
static bool idle_loop(struct bench *b, struct hconn *c, int rounds, int per, double *p50,
                      double *p99)
{
    for (unsigned long i = 0; i < b->n; i++) {
        struct one o = {b, b->next};
        create_next(c);
        if (!run_until(b, one_done, &o, 10000) || c->failed) {
            fprintf(stderr, "bench_controller: request %lu not Processed within 10 s\n", i);
            return false;
        }
    }
    for (int r = 0; r < rounds; r++) {
        uint64_t last;
        unsigned long from = IDLE_WARMUP + (unsigned long)(r * per);
        uint64_t *lat = latencies(b, from, from + (unsigned long)per, &last);
        p50[r] = quantile(lat, (size_t)per, 0.50) / 1e6;
        p99[r] = quantile(lat, (size_t)per, 0.99) / 1e6;
        vr_free(lat);
    }
    return b->errors == 0;
}

static int idle_run(struct bench *b, enum ctl which, int rounds, int per, double *p50, double *p99)
{
    struct child ks, ctl = {0};
    char world[512];
    int mport = 0, rc = -1;
    snprintf(world, sizeof(world), "%s/world-0.json", b->dir);
    if (kubesim_start(b, &ks, world) < 0)
        return -1;
    if (ctl_start(b, which, &ks, &ctl, &mport) < 0)
        goto out_ctl;
    run_reset(b, IDLE_WARMUP + (unsigned long)(rounds * per));
    struct hconn *w = watch_open(b, ks.port, bench_data);
    struct hconn *c = w ? creator_open(b, ks.port, false) : NULL;
    if (c && idle_loop(b, c, rounds, per, p50, p99)) {
        rc = 0;
        uint64_t last, *lat = latencies(b, IDLE_WARMUP, b->n, &last);
        if (b->data_dir[0])
            write_cdf(b, which, lat, b->n - IDLE_WARMUP);
        vr_free(lat);
    }
    if (c)
        hconn_release(c);
    if (w)
        hconn_release(w);
out_ctl:
    wait_closed(b);
    if (!child_stop(b, &ctl))
        rc = -1;
    if (!child_stop(b, &ks))
        rc = -1;
    return rc;
}

/* ---- memory and start-up ---- */

struct mem {
    double start_ms, cpu_ms, rss_mib, anon_mib, metric_mib, cached;
};

struct settled {
    struct bench *b;
    int port;
    unsigned long npre;
    struct vr_buf body;
};

/* Whether vreqd has reconciled every preloaded request and its queue is empty. */
static bool quiet(struct settled *s)
{
    if (http_get(s->b, s->port, "/metrics", &s->body) != 200)
        return false;
    double rec = metric_sum(&s->body, "vreqd_reconciles_total{controller=\"downloadrequest\"");
    double depth = metric_sum(&s->body, "vreqd_workqueue_depth{controller=\"downloadrequest\"");
    return rec >= (double)s->npre && depth == 0;
}

static int mem_one(struct bench *b, unsigned long npre, struct mem *out)
{
    struct child ch;
    struct settled s = {.b = b, .npre = npre};
    int rc = -1;
    vr_buf_init(&s.body, 16u << 20);
    uint64_t t0 = now_ns();
    if (vreqd_spawn(b, &ch, &s.port) < 0)
        goto out;
    uint64_t ready = wait_readyz(b, &ch, s.port, t0);
    if (!ready)
        goto out;
    out->start_ms = (double)ready / 1e6;
    out->cpu_ms = read_cpu_s(ch.proc.pid) * 1e3; /* vreqd's own share of the start-up */
    for (int i = 0; i < 600 && !quiet(&s); i++)
        run_for(b, 100);
    run_for(b, 200); /* let the allocator settle after the last burst */
    if (!quiet(&s))
        goto out;
    out->rss_mib = (double)read_status_kib(ch.proc.pid, "VmRSS:") / 1024.0;
    out->anon_mib = (double)read_status_kib(ch.proc.pid, "RssAnon:") / 1024.0;
    out->metric_mib = metric_sum(&s.body, "process_resident_memory_bytes ") / 1048576.0;
    out->cached = metric_sum(&s.body, "vreqd_cached_objects{resource=\"downloadrequests\"");
    rc = 0;
out:
    vr_buf_cleanup(&s.body);
    if (!child_stop(b, &ch))
        rc = -1;
    return rc;
}

static int mem_run(struct bench *b, unsigned long npre, int runs, struct mem *out)
{
    struct child ks;
    char world[512];
    int rc = 0;
    snprintf(world, sizeof(world), "%s/world-%lu.json", b->dir, npre);
    if (write_world(world, npre) < 0 || kubesim_start(b, &ks, world) < 0)
        return -1;
    for (int r = 0; r < runs && rc == 0; r++)
        rc = mem_one(b, npre, &out[r]);
    if (!child_stop(b, &ks))
        rc = -1;
    if (npre)
        unlink(world);
    return rc;
}

/* ---- the reference controller (`--ref-controller PORT`, a child process) ---- */

#define REF_MAX_CONC 64

struct refc {
    struct hconn *watch;
    struct hconn *pc[REF_MAX_CONC];
    int npc;
    char **fifo;
    size_t head, tail, cap;
    unsigned long counter, errors;
    uv_signal_t sigterm;
    bool stopping;
    char exp[32];
};

static void ref_kick(struct bench *b);

static void ref_line(struct hconn *c, const char *line, size_t n)
{
    struct refc *r = c->b->user;
    char name[256];
    if (!r || !find(line, n, "\"type\":\"ADDED\"") || find(line, n, "\"phase\":\"Processed\"") ||
        !event_name(line, n, name, sizeof(name)))
        return;
    if (r->tail == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->fifo = vr_xrealloc(r->fifo, r->cap * sizeof(*r->fifo));
    }
    r->fifo[r->tail++] = vr_xstrdup(name);
    ref_kick(c->b);
}

static void ref_data(struct hconn *c, const char *p, size_t n)
{
    feed_lines(c, p, n, ref_line);
}

/* One merge PATCH shaped like vreqd's: phase, a presigned-URL-sized downloadURL, expiration. */
static void ref_patch(struct refc *r, struct hconn *c, char *name)
{
    char body[1024];
    unsigned long k = ++r->counter;
    int len =
        snprintf(body, sizeof(body),
                 "{\"status\":{\"phase\":\"Processed\",\"downloadURL\":\"http://127.0.0.1:9/velero/"
                 "backups/b1/b1-logs.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                 "AKIAIOSFODNN7EXAMPLE%%2F20260101%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date="
                 "20260101T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
                 "%064lx\",\"expiration\":\"%s\"}}",
                 k, r->exp);
    hconn_send_take(c, vr_xasprintf("PATCH " COLL "/%s HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                    "application/merge-patch+json\r\nContent-Length: %d\r\n\r\n%s",
                                    name, len, body));
    vr_free(name);
}

static void ref_kick(struct bench *b)
{
    struct refc *r = b->user;
    for (int i = 0; r && i < r->npc && r->head < r->tail; i++) {
        struct hconn *c = r->pc[i];
        if (c && c->connected && !c->busy && !c->failed && !c->closed)
            ref_patch(r, c, r->fifo[r->head++]);
    }
}

static void ref_patched(struct hconn *c, int code)
{
    struct refc *r = c->b->user;
    if (code != 200)
        r->errors++;
    ref_kick(c->b);
}

static void ref_sigterm(uv_signal_t *s, int signum)
{
    struct refc *r = container_of(s, struct refc, sigterm);
    (void)signum;
    r->stopping = true;
    uv_signal_stop(s);
}

static bool ref_stopping(void *arg)
{
    return ((struct refc *)arg)->stopping;
}

/* Watches the collection and patches every new object Processed, conc at a time, until
 * SIGTERM. Prints "ref ready" once the watch is up. */
static int ref_main(struct bench *b, int port, int conc)
{
    struct refc r = {.npc = conc};
    b->user = &r;
    rfc3339((int64_t)time(NULL) + 86400, r.exp, sizeof(r.exp));
    uv_signal_init(b->loop, &r.sigterm);
    uv_signal_start(&r.sigterm, ref_sigterm, SIGTERM);
    r.watch = watch_open(b, port, ref_data);
    for (int i = 0; r.watch && i < r.npc; i++) {
        r.pc[i] = creator_open(b, port, false);
        if (r.pc[i])
            r.pc[i]->done_cb = ref_patched;
    }
    if (r.watch) {
        printf("ref ready\n");
        fflush(stdout);
        ref_kick(b);
        run_until(b, ref_stopping, &r, UINT64_MAX / 2);
    }
    for (int i = 0; i < r.npc; i++)
        if (r.pc[i])
            hconn_release(r.pc[i]);
    if (r.watch)
        hconn_release(r.watch);
    uv_close((uv_handle_t *)&r.sigterm, NULL);
    wait_closed(b);
    while (r.head < r.tail)
        vr_free(r.fifo[r.head++]);
    vr_free(r.fifo);
    if (r.errors)
        fprintf(stderr, "reference controller: %lu PATCHes failed\n", r.errors);
    return r.watch && r.errors == 0 ? 0 : 1;
}

/* ---- reporting ---- */

/* "median (min–max)" of v[0..n), with prec decimals and a unit suffix. */
static const char *cell(char *out, size_t cap, const double *v, int n, int prec, const char *unit)
{
    struct stat3 s = summarize(v, n);
    if (n == 1)
        snprintf(out, cap, "%.*f%s", prec, s.med, unit);
    else
        snprintf(out, cap, "%.*f%s (%.*f–%.*f)", prec, s.med, unit, prec, s.min, prec, s.max);
    return out;
}

struct targets {
    unsigned long tp_n; /* the largest throughput N (the targets' figures) */
    double ratio, rps;  /* at tp_n */
    double idle_p50, idle_p99, rss_10k, rss_100k, start_10k;
};

static void verdict(const char *what, double got, double limit, bool above, const char *unit)
{
    bool met = above ? got >= limit : got < limit;
    printf("| %s | %s %g %s | %.*f %s | %s |\n", what, above ? ">=" : "<", limit, unit,
           got >= 100 ? 0 : 2, got, unit, met ? "met" : "**missed**");
}

/* ---- phases ---- */

static int phase_throughput(struct bench *b, const unsigned long *sizes, int nsizes, int runs,
                            struct targets *t)
{
    printf("\n### Controller throughput\n\nN DownloadRequests created over %d keep-alive "
           "connections as fast as kubesim accepts them; rate = N / (first create -> last "
           "Processed seen on a watch); latency = create sent -> Processed seen. vreqd's "
           "DownloadRequest queue runs %d reconcile at a time; the reference sends its PATCHes "
           "at that concurrency. Ratio per run (same kubesim build, same load, "
           "back to back).\n\n",
           CREATORS, b->ref_conc);
    printf("| N | runs | vreqd req/s | reference req/s | vreqd / reference | vreqd p50 ms | "
           "vreqd p99 ms | reference p50 ms | reference p99 ms | vreqd CPU µs/req | "
           "reference CPU µs/req | vreqd RSS after, MiB |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < nsizes; k++) {
        int nr = sizes[k] >= 100000 && runs > 3 ? 3 : runs;
        struct tp v[MAX_RUNS], r[MAX_RUNS];
        double col[10][MAX_RUNS];
        for (int i = 0; i < nr; i++) {
            if (tp_run(b, CTL_VREQD, sizes[k], &v[i]) < 0 ||
                tp_run(b, CTL_REF, sizes[k], &r[i]) < 0)
                return -1;
            double row[] = {v[i].rps,    r[i].rps,    v[i].rps / r[i].rps, v[i].p50_ms,
                            v[i].p99_ms, r[i].p50_ms, r[i].p99_ms,         v[i].cpu_us,
                            r[i].cpu_us, v[i].rss_mib};
            for (size_t j = 0; j < VR_ARRAY_SIZE(row); j++)
                col[j][i] = row[j];
        }
        char c[10][96];
        static const int prec[] = {0, 0, 2, 1, 1, 1, 1, 0, 0, 1};
        for (int j = 0; j < 10; j++)
            cell(c[j], sizeof(c[j]), col[j], nr, prec[j], j == 2 ? "×" : "");
        printf("| %lu | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sizes[k], nr,
               c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
        fflush(stdout);
        t->tp_n = sizes[k];
        t->ratio = summarize(col[2], nr).med;
        t->rps = summarize(col[0], nr).med;
    }
    return 0;
}

static int phase_idle(struct bench *b, int rounds, int per, struct targets *t)
{
    printf("\n### Idle latency\n\nOne request at a time (the next is created once the "
           "previous is seen Processed), %d rounds of %d after %d warm-up requests; the "
           "figures are the median of the rounds' percentiles.\n\n"
           "| client | p50 ms | p99 ms |\n|---|---|---|\n",
           rounds, per, IDLE_WARMUP);
    for (int w = 0; w < 2; w++) {
        double p50[MAX_RUNS], p99[MAX_RUNS];
        char a[96], c[96];
        if (idle_run(b, (enum ctl)w, rounds, per, p50, p99) < 0)
            return -1;
        printf("| %s | %s | %s |\n", ctl_names[w], cell(a, sizeof(a), p50, rounds, 2, ""),
               cell(c, sizeof(c), p99, rounds, 2, ""));
        if (w == CTL_VREQD) {
            t->idle_p50 = summarize(p50, rounds).med;
            t->idle_p99 = summarize(p99, rounds).med;
        }
    }
    fflush(stdout);
    return 0;
}

static int phase_memory(struct bench *b, const unsigned long *sizes, int nsizes, int runs,
                        struct targets *t)
{
    printf("\n### Memory and start-up\n\nvreqd with N Processed DownloadRequests preloaded in "
           "kubesim (expiring in 24 h, so each waits in the queue's timer heap), %d runs each. "
           "Start-up = spawn -> first `/readyz` 200 (polled every millisecond); memory read once "
           "every request has been reconciled and the queue is empty (3 runs at 100k).\n\n"
           "| N preloaded | start-up ms | vreqd CPU until ready, ms | VmRSS MiB | RssAnon MiB | "
           "process_resident_memory_bytes MiB | cached DownloadRequests |\n"
           "|---|---|---|---|---|---|---|\n",
           runs);
    double base = 0, base_anon = 0;
    char per[2][256] = {"", ""};
    for (int k = 0; k < nsizes; k++) {
        struct mem m[MAX_RUNS];
        double col[6][MAX_RUNS];
        char c[6][96];
        int nr = sizes[k] >= 100000 && runs > 3 ? 3 : runs; /* kubesim's paging is slow */
        if (mem_run(b, sizes[k], nr, m) < 0)
            return -1;
        for (int i = 0; i < nr; i++) {
            double row[] = {m[i].start_ms, m[i].cpu_ms,     m[i].rss_mib,
                            m[i].anon_mib, m[i].metric_mib, m[i].cached};
            for (int j = 0; j < 6; j++)
                col[j][i] = row[j];
        }
        static const int prec[] = {1, 0, 2, 2, 2, 0};
        for (int j = 0; j < 6; j++)
            cell(c[j], sizeof(c[j]), col[j], nr, prec[j], "");
        printf("| %lu | %s | %s | %s | %s | %s | %s |\n", sizes[k], c[0], c[1], c[2], c[3], c[4],
               c[5]);
        fflush(stdout);
        double rss = summarize(col[2], nr).med, anon = summarize(col[3], nr).med;
        if (sizes[k] == 0) {
            base = rss;
            base_anon = anon;
        } else {
            snprintf(per[k > 1], sizeof(per[0]),
                     "State per cached request at N = %lu: (VmRSS(N) - VmRSS(0)) / N = %.0f "
                     "bytes; (RssAnon(N) - RssAnon(0)) / N = %.0f bytes.\n",
                     sizes[k], (rss - base) * 1048576.0 / (double)sizes[k],
                     (anon - base_anon) * 1048576.0 / (double)sizes[k]);
        }
        if (sizes[k] == 10000) {
            t->rss_10k = rss;
            t->start_10k = summarize(col[0], nr).med;
        } else if (sizes[k] == 100000) {
            t->rss_100k = rss;
        }
    }
    printf("\n%s%s", per[0], per[1]);
    return 0;
}

static void print_targets(const struct targets *t)
{
    printf("\n### Targets\n\n| figure | target | measured (median) | |\n|---|---|---|---|\n");
    char what[96];
    if (t->tp_n) {
        snprintf(what, sizeof(what), "throughput vs reference, N = %lu", t->tp_n);
        verdict(what, t->ratio, 0.8, true, "×");
        snprintf(what, sizeof(what), "throughput, N = %lu", t->tp_n);
        verdict(what, t->rps, 5000, true, "req/s");
    }
    if (t->idle_p50 > 0) {
        verdict("idle latency p50", t->idle_p50, 2, false, "ms");
        verdict("idle latency p99", t->idle_p99, 10, false, "ms");
    }
    if (t->rss_10k > 0) {
        verdict("VmRSS, 10k requests", t->rss_10k, 10, false, "MiB");
        verdict("start-up to /readyz, 10k requests", t->start_10k, 100, false, "ms");
    }
    if (t->rss_100k > 0)
        verdict("VmRSS, 100k requests", t->rss_100k, 64, false, "MiB");
}

/* ---- main ---- */

struct args {
    bool smoke;
    int runs, ref_port, ref_conc;
    unsigned long sizes[8];
    int nsizes;
    char only[64];
};

static void sibling(const char *argv0, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(argv0, '/');
    snprintf(out, cap, "%.*s/%s", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".", name);
}

static int parse_sizes(const char *s, struct args *a)
{
    char *end;
    a->nsizes = 0;
    while (*s && a->nsizes < (int)VR_ARRAY_SIZE(a->sizes)) {
        a->sizes[a->nsizes++] = strtoul(s, &end, 10);
        if (end == s || (*end && *end != ','))
            return -1;
        s = *end ? end + 1 : end;
    }
    return a->nsizes ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_controller [--smoke] [--runs N] [--sizes N,N,..] "
                    "[--only tp,idle,mem] [--data DIR] [--kubesim PATH] [--vreqd PATH] "
                    "[--ref-concurrency N]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct bench *b, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--smoke") == 0) {
            a->smoke = true;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(o, "--runs") == 0 && (a->runs = (int)strtol(v, NULL, 10)) >= 1 &&
            a->runs <= MAX_RUNS)
            continue;
        if (strcmp(o, "--sizes") == 0 && parse_sizes(v, a) == 0)
            continue;
        if (strcmp(o, "--ref-controller") == 0 && (a->ref_port = (int)strtol(v, NULL, 10)) > 0)
            continue;
        if (strcmp(o, "--ref-concurrency") == 0 && (a->ref_conc = (int)strtol(v, NULL, 10)) >= 1 &&
            a->ref_conc <= REF_MAX_CONC)
            continue;
        if (strcmp(o, "--only") == 0)
            snprintf(a->only, sizeof(a->only), "%s", v);
        else if (strcmp(o, "--data") == 0)
            snprintf(b->data_dir, sizeof(b->data_dir), "%s", v);
        else if (strcmp(o, "--kubesim") == 0)
            snprintf(b->kubesim, sizeof(b->kubesim), "%s", v);
        else if (strcmp(o, "--vreqd") == 0)
            snprintf(b->vreqd, sizeof(b->vreqd), "%s", v);
        else
            return usage();
    }
    return 0;
}

static bool wanted(const struct args *a, const char *phase)
{
    return !a->only[0] || strstr(a->only, phase) != NULL;
}

static int run_phases(struct bench *b, const struct args *a)
{
    static const unsigned long mem_sizes[] = {0, 10000, 100000}, smoke_mem[] = {0, 100};
    struct targets t = {0};
    int runs = a->runs ? a->runs : a->smoke ? 1 : 5;
    int rc = 0;
    printf("## bench_controller\n\nvreqd `%s`, kubesim `%s`; medians of runs with (min–max).\n",
           b->vreqd, b->kubesim);
    if (rc == 0 && wanted(a, "tp"))
        rc = phase_throughput(b, a->sizes, a->nsizes, runs, &t);
    if (rc == 0 && wanted(a, "idle"))
        rc = phase_idle(b, a->smoke ? 1 : runs, a->smoke ? 5 : 200, &t);
    if (rc == 0 && wanted(a, "mem"))
        rc = a->smoke ? phase_memory(b, smoke_mem, 2, 1, &t)
                      : phase_memory(b, mem_sizes, 3, runs > 5 ? 5 : runs, &t);
    if (rc == 0 && !a->smoke)
        print_targets(&t);
    return rc;
}

static void remove_dir(const struct bench *b, bool keep)
{
    static const char *const files[] = {"kubeconfig", "vreqd.log", "world-0.json"};
    char path[512];
    if (keep) {
        fprintf(stderr, "bench_controller: files kept in %s\n", b->dir);
        return;
    }
    for (size_t i = 0; i < VR_ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", b->dir, files[i]);
        unlink(path);
    }
    rmdir(b->dir);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    struct args a = {.sizes = {1000, 10000, 100000}, .nsizes = 3};
    sibling(argv[0], "kubesim", b.kubesim, sizeof(b.kubesim));
    sibling(argv[0], "vreqd", b.vreqd, sizeof(b.vreqd));
    size_t selflen = sizeof(b.self);
    if (uv_exepath(b.self, &selflen) < 0)
        snprintf(b.self, sizeof(b.self), "%s", argv[0]);
    int rc = parse_args(argc, argv, &b, &a);
    if (rc)
        return rc;
    if (a.smoke && a.nsizes == 3 && a.sizes[0] == 1000) {
        a.sizes[0] = 200;
        a.nsizes = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    b.loop = &loop;
    uv_timer_init(&loop, &b.deadline);
    b.ref_conc = a.ref_conc ? a.ref_conc : VREQD_DLR_MAX_IN_FLIGHT;
    if (a.ref_port) {
        rc = ref_main(&b, a.ref_port, b.ref_conc);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(b.dir, sizeof(b.dir), "%s/vr-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        char world[512];
        snprintf(world, sizeof(world), "%s/world-0.json", mkdtemp(b.dir) ? b.dir : "/nonexistent");
        rc = write_world(world, 0) < 0 ? -1 : run_phases(&b, &a);
        remove_dir(&b, rc != 0);
    }
    uv_close((uv_handle_t *)&b.deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    vr_free(b.sent_ns);
    vr_free(b.done_ns);
    int lrc = uv_loop_close(&loop);
    return rc == 0 && lrc == 0 ? 0 : 1;
}
