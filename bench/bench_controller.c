/*
 * bench_controller: vreqd against kubesim, side by side with two reference clients.
 *
 *   throughput  N DownloadRequests created as fast as kubesim accepts them; time from the
 *               first create to the last Processed seen on a watch; requests/s and the
 *               p50/p99 create->Processed latency. Three contenders, back to back in every
 *               run: vreqd; the stack reference, this binary re-run as `--ref-stack PORT`
 *               (support/ref_stack.c), the minimal client issue 8 defines, on vreqd's own
 *               stack (libcurl multi driven by libuv, cJSON on every watch line and every
 *               response, one merge PATCH per new object on a new easy handle); and the raw
 *               reference, `--ref-controller PORT`, below the stack (libuv, raw HTTP/1.1
 *               through support/hclient.c, string search on watch lines, no curl, no JSON).
 *               Both references PATCH at vreqd's concurrency, a URL as long as vreqd's, no
 *               signing, no cache.
 *   idle        one request at a time: create -> Processed seen on the watch.
 *   memory and  vreqd's VmRSS, RssAnon, RssFile (/proc/PID/status), Pss
 *   start-up    (/proc/PID/smaps_rollup) and process_resident_memory_bytes (/metrics) with
 *               0, 10k and 100k Processed requests preloaded (long TTL), and the time from
 *               spawning vreqd to its first /readyz 200; next to it the floor, this binary
 *               re-run as `--ref-libcurl` (it links what vreqd links: vreq_core and its
 *               libraries), which only initialises libcurl and waits.
 *
 * kubesim, vreqd and the references each run as a separate process; a fresh kubesim (and
 * controller) per throughput run, seeded through `kubesim --objects` with a credential
 * Secret, a BackupStorageLocation with s3Url and region (no region lookup, static
 * credentials) and a Completed Backup. Every figure is the median of several runs with min
 * and max; ratios are per run, vreqd against the references of the same run. Nothing is
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

#include <uv.h>

#include "controller/downloadrequest.h"
#include "core/common.h"
#include "core/timefmt.h"
#include "support/hclient.h"
#include "support/ref_stack.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#define NS "velero"
#define COLL "/apis/velero.io/v1/namespaces/" NS "/downloadrequests"
/* The references send as many PATCHes at once as vreqd's DownloadRequest queue reconciles
 * requests (controller/downloadrequest.h). */
#define VREQD_DLR_MAX_IN_FLIGHT VR_DLR_MAX_IN_FLIGHT
#define CREATORS 4
#define MAX_RUNS 15
#define STALL_MS 30000
/* Secret data "cloud": an AWS INI profile with AWS's documented example keys. */
#define CLOUD_INI_B64                                                                              \
    "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJQUlPU0ZPRE5ON0VYQU1QTEUKYXdzX3NlY3JldF9hY2Nlc3Nf" \
    "a2V5ID0gd0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQo="

/* The contenders, in the order each run measures them. */
enum ctl { CTL_VREQD, CTL_STACK, CTL_RAW };
#define NCTL 3
static const char *const ctl_names[NCTL] = {"vreqd", "stack reference", "raw reference"};
/* Their --data file names; the raw reference keeps "reference", its name before the stack
 * reference existed. */
static const char *const ctl_files[NCTL] = {"vreqd", "stack", "reference"};

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

/* ---- the bench's loop and its raw HTTP connections (support/hclient.c) ---- */

struct bench {
    struct hc_ctx hc; /* the loop, and the connections not yet closed */
    uv_timer_t deadline;
    bool timed_out;
    /* the current run */
    unsigned long n, next, created, processed, errors;
    uint64_t *sent_ns, *done_ns;
    void *user;   /* the raw reference controller's state, in that mode */
    int ref_conc; /* the references' PATCHes in flight (vreqd's max_in_flight) */
    /* options */
    bool smoke;
    char kubesim[4096], vreqd[4096], self[4096], dir[256], data_dir[4096];
};

static struct bench *bench_of(const struct hc_conn *c)
{
    return c->user;
}

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
        uv_run(b->hc.loop, UV_RUN_ONCE);
    uv_timer_stop(&b->deadline);
    return pred(arg);
}

static void run_for(struct bench *b, uint64_t ms)
{
    b->timed_out = false;
    uv_timer_start(&b->deadline, on_deadline, ms, 1);
    while (!b->timed_out)
        uv_run(b->hc.loop, UV_RUN_ONCE);
    uv_timer_stop(&b->deadline);
}

/* A connection to 127.0.0.1:port whose user is b. */
static struct hc_conn *conn_open(struct bench *b, int port)
{
    struct hc_conn *c = hc_open(&b->hc, port);
    c->user = b;
    return c;
}

/* GET path on port; the HTTP status (body in *body when non-NULL), or -1 when the
 * connection or the response failed. */
static int http_get(struct bench *b, int port, const char *path, struct vr_buf *body)
{
    struct hc_conn *c = conn_open(b, port);
    int code = -1;
    if (!run_until(b, hc_is_settled, c, 5000) || c->failed)
        goto out;
    hc_send_take(c, vr_xasprintf("GET %s HTTP/1.1\r\nHost: b\r\n\r\n", path));
    if (!run_until(b, hc_is_idle, c, 10000) || c->failed)
        goto out;
    code = c->code;
    if (body) {
        vr_buf_reset(body);
        if (c->body.len && vr_buf_append(body, c->body.p, c->body.len) < 0)
            code = -1;
    }
out:
    hc_release(c);
    hc_wait_closed(&b->hc);
    return code;
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
    uv_pipe_init(b->hc.loop, &ch->out, 0);
    ch->has_out = true;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->out},
        {.flags = UV_INHERIT_FD, .data.fd = err_fd},
    };
    uv_process_options_t opts = {
        .exit_cb = ch_exit, .file = argv[0], .args = argv, .stdio_count = 3, .stdio = stdio};
    int rc = uv_spawn(b->hc.loop, &ch->proc, &opts);
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
    uv_run(b->hc.loop, UV_RUN_NOWAIT);
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
    vr_time_format_rfc3339((int64_t)time(NULL) + 86400, exp, sizeof(exp));
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
    uv_tcp_init(b->hc.loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&t, (const struct sockaddr *)&addr, 0) == 0 &&
        uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len) == 0)
        port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(b->hc.loop, UV_RUN_NOWAIT);
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

/* Starts this binary as a child in mode `mode` (--ref-controller, --ref-stack, with the
 * kubesim port ks_port, or --ref-libcurl when ks_port is 0) and waits for its "ref ready". */
static int ref_spawn(struct bench *b, struct child *ch, const char *mode, int ks_port)
{
    char port[16], cc[16];
    snprintf(port, sizeof(port), "%d", ks_port);
    snprintf(cc, sizeof(cc), "%d", b->ref_conc);
    char *argv[] = {b->self, (char *)mode, port, (char *)"--ref-concurrency", cc, NULL};
    if (ks_port == 0)
        argv[2] = NULL;
    if (child_spawn(b, ch, argv, 2) < 0)
        return -1;
    if (!run_until(b, child_ready, ch, 30000) || !ch->ready) {
        fprintf(stderr, "bench_controller: the reference client (%s) did not start\n", mode);
        return -1;
    }
    return 0;
}

/* Starts controller `which` against kubesim ks; *mport is vreqd's endpoints' port. */
static int ctl_start(struct bench *b, enum ctl which, struct child *ks, struct child *ctl,
                     int *mport)
{
    switch (which) {
    case CTL_STACK:
        return ref_spawn(b, ctl, "--ref-stack", ks->port);
    case CTL_RAW:
        return ref_spawn(b, ctl, "--ref-controller", ks->port);
    case CTL_VREQD:
        break;
    }
    if (vreqd_spawn(b, ctl, mport) < 0)
        return -1;
    return wait_readyz(b, ctl, *mport, now_ns()) ? 0 : -1;
}

/* One measurement's processes: kubesim on the empty world and a contender against it. */
struct pair {
    struct child ks, ctl;
    int mport; /* vreqd's endpoints */
};

/* 0 with both running, or -1 with whatever started stopped again. */
static int pair_start(struct bench *b, enum ctl which, struct pair *p)
{
    char world[512];
    memset(p, 0, sizeof(*p));
    snprintf(world, sizeof(world), "%s/world-0.json", b->dir);
    if (kubesim_start(b, &p->ks, world) < 0)
        return -1;
    if (ctl_start(b, which, &p->ks, &p->ctl, &p->mport) == 0)
        return 0;
    hc_wait_closed(&b->hc);
    (void)child_stop(b, &p->ctl);
    (void)child_stop(b, &p->ks);
    return -1;
}

/* Waits for the bench's own connections to close, then stops both; whether both exited
 * cleanly. */
static bool pair_stop(struct bench *b, struct pair *p)
{
    hc_wait_closed(&b->hc);
    bool ok = child_stop(b, &p->ctl);
    return child_stop(b, &p->ks) && ok;
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
static void bench_line(struct hc_conn *c, const char *line, size_t n)
{
    struct bench *b = bench_of(c);
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

/* Opens a watch on the DownloadRequest collection whose lines go to fn; NULL when it
 * fails. */
static struct hc_conn *watch_open(struct bench *b, int port, hc_data_cb fn)
{
    struct hc_conn *c = conn_open(b, port);
    if (run_until(b, hc_is_settled, c, 5000) && !c->failed) {
        c->line_cb = fn;
        hc_send_take(c, vr_xstrdup("GET " COLL "?watch=true HTTP/1.1\r\nHost: b\r\n\r\n"));
        if (run_until(b, hc_has_head, c, 10000) && c->code == 200)
            return c;
    }
    fprintf(stderr, "bench_controller: the watch failed\n");
    hc_release(c);
    return NULL;
}

static void create_next(struct hc_conn *c)
{
    struct bench *b = bench_of(c);
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
    hc_send_take(c, vr_xasprintf("POST " COLL " HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                 "application/json\r\nContent-Length: %d\r\n\r\n%s",
                                 len, body));
}

/* Creators chain (throughput); the idle phase sends one at a time (arg NULL). */
static void created(struct hc_conn *c, int code)
{
    struct bench *b = bench_of(c);
    b->created++;
    if (code != 201)
        b->errors++;
    if (c->arg)
        create_next(c);
}

static struct hc_conn *creator_open(struct bench *b, int port, bool chain)
{
    struct hc_conn *c = conn_open(b, port);
    c->done_cb = created;
    c->arg = chain ? b : NULL;
    if (!run_until(b, hc_is_settled, c, 5000) || c->failed) {
        hc_release(c);
        return NULL;
    }
    return c;
}

/* Field name ("VmRSS:", "Pss:") of /proc/PID/<file> ("status", "smaps_rollup"), in KiB;
 * 0 when absent. */
static uint64_t read_proc_kib(int pid, const char *file, const char *name)
{
    char path[64], line[256];
    uint64_t kib = 0;
    size_t nl = strlen(name);
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, name, nl) == 0)
            kib = strtoull(line + nl, NULL, 10);
    fclose(f);
    return kib;
}

/* A process's memory, MiB. */
struct rss {
    double vm, anon, file, pss;
};

static struct rss read_rss(int pid)
{
    struct rss r = {
        .vm = (double)read_proc_kib(pid, "status", "VmRSS:") / 1024.0,
        .anon = (double)read_proc_kib(pid, "status", "RssAnon:") / 1024.0,
        .file = (double)read_proc_kib(pid, "status", "RssFile:") / 1024.0,
        .pss = (double)read_proc_kib(pid, "smaps_rollup", "Pss:") / 1024.0,
    };
    return r;
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
    snprintf(path, sizeof(path), "%s/progress-%s-%lu.dat", b->data_dir, ctl_files[which], b->n);
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
    struct hc_conn *cr[CREATORS];
    for (int i = 0; i < CREATORS; i++) {
        if ((cr[i] = creator_open(b, port, true)) == NULL) {
            while (i-- > 0)
                hc_release(cr[i]);
            return false;
        }
    }
    uint64_t t0 = now_ns(), last;
    for (int i = 0; i < CREATORS; i++)
        create_next(cr[i]);
    bool ok = wait_processed(b);
    for (int i = 0; i < CREATORS; i++)
        hc_release(cr[i]);
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
    struct pair p;
    int rc = -1;
    if (pair_start(b, which, &p) < 0)
        return -1;
    run_reset(b, n);
    struct hc_conn *w = watch_open(b, p.ks.port, bench_line);
    if (w) {
        memset(out, 0, sizeof(*out));
        double cpu0 = read_cpu_s(p.ctl.proc.pid);
        if (flood(b, p.ks.port, out, which))
            rc = 0;
        out->cpu_us = (read_cpu_s(p.ctl.proc.pid) - cpu0) * 1e6 / (double)n;
        out->rss_mib = read_rss(p.ctl.proc.pid).vm;
        hc_release(w);
    }
    return pair_stop(b, &p) ? rc : -1;
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
    snprintf(path, sizeof(path), "%s/idle-%s.dat", b->data_dir, ctl_files[which]);
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
static bool idle_loop(struct bench *b, struct hc_conn *c, int rounds, int per, double *p50,
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
    struct pair p;
    int rc = -1;
    if (pair_start(b, which, &p) < 0)
        return -1;
    run_reset(b, IDLE_WARMUP + (unsigned long)(rounds * per));
    struct hc_conn *w = watch_open(b, p.ks.port, bench_line);
    struct hc_conn *c = w ? creator_open(b, p.ks.port, false) : NULL;
    if (c && idle_loop(b, c, rounds, per, p50, p99)) {
        rc = 0;
        uint64_t last, *lat = latencies(b, IDLE_WARMUP, b->n, &last);
        if (b->data_dir[0])
            write_cdf(b, which, lat, b->n - IDLE_WARMUP);
        vr_free(lat);
    }
    if (c)
        hc_release(c);
    if (w)
        hc_release(w);
    return pair_stop(b, &p) ? rc : -1;
}

/* ---- memory and start-up ---- */

struct mem {
    double start_ms, cpu_ms, metric_mib, cached;
    struct rss rss;
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
    out->rss = read_rss(ch.proc.pid);
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

/* The floor: this binary as `--ref-libcurl`, which only loads and initialises libcurl. */
static int floor_one(struct bench *b, struct rss *out)
{
    struct child ch = {0};
    int rc = ref_spawn(b, &ch, "--ref-libcurl", 0);
    if (rc == 0)
        *out = read_rss(ch.proc.pid);
    if (!child_stop(b, &ch))
        rc = -1;
    return rc;
}

/* ---- the raw reference controller (`--ref-controller PORT`, a child process) ---- */

struct refc {
    struct hc_conn *watch;
    struct hc_conn *pc[REF_MAX_CONC];
    int npc;
    char **fifo;
    size_t head, tail, cap;
    unsigned long counter, errors;
    uv_signal_t sigterm;
    bool stopping;
    char exp[32];
};

static void ref_kick(struct bench *b);

static void ref_line(struct hc_conn *c, const char *line, size_t n)
{
    struct refc *r = bench_of(c)->user;
    char name[256];
    if (!r || !find(line, n, "\"type\":\"ADDED\"") || find(line, n, "\"phase\":\"Processed\"") ||
        !event_name(line, n, name, sizeof(name)))
        return;
    if (r->tail == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->fifo = vr_xrealloc(r->fifo, r->cap * sizeof(*r->fifo));
    }
    r->fifo[r->tail++] = vr_xstrdup(name);
    ref_kick(bench_of(c));
}

/* One merge PATCH shaped like vreqd's: phase, a presigned-URL-sized downloadURL, expiration. */
static void ref_patch(struct refc *r, struct hc_conn *c, char *name)
{
    char body[1024];
    int len = ref_patch_body(body, sizeof(body), ++r->counter, r->exp);
    hc_send_take(c, vr_xasprintf("PATCH " COLL "/%s HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                 "application/merge-patch+json\r\nContent-Length: %d\r\n\r\n%s",
                                 name, len, body));
    vr_free(name);
}

static void ref_kick(struct bench *b)
{
    struct refc *r = b->user;
    for (int i = 0; r && i < r->npc && r->head < r->tail; i++) {
        struct hc_conn *c = r->pc[i];
        if (c && c->connected && !c->busy && !c->failed && !c->closed)
            ref_patch(r, c, r->fifo[r->head++]);
    }
}

static void ref_patched(struct hc_conn *c, int code)
{
    struct refc *r = bench_of(c)->user;
    if (code != 200)
        r->errors++;
    ref_kick(bench_of(c));
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
    vr_time_format_rfc3339((int64_t)time(NULL) + 86400, r.exp, sizeof(r.exp));
    uv_signal_init(b->hc.loop, &r.sigterm);
    uv_signal_start(&r.sigterm, ref_sigterm, SIGTERM);
    r.watch = watch_open(b, port, ref_line);
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
            hc_release(r.pc[i]);
    if (r.watch)
        hc_release(r.watch);
    uv_close((uv_handle_t *)&r.sigterm, NULL);
    hc_wait_closed(&b->hc);
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
    unsigned long tp_n;           /* the largest throughput N (the targets' figures) */
    double ratio, ratio_raw, rps; /* at tp_n: vreqd / stack, vreqd / raw, vreqd req/s */
    double idle_p50, idle_p99, rss_10k, rss_100k, start_10k, floor;
};

static void verdict(const char *what, double got, double limit, bool above, const char *unit)
{
    bool met = above ? got >= limit : got < limit;
    printf("| %s | %s %g %s | %.*f %s | %s |\n", what, above ? ">=" : "<", limit, unit,
           got >= 100 ? 0 : 2, got, unit, met ? "met" : "**missed**");
}

/* A row of the targets table that has no target of its own. */
static void context(const char *what, double got, const char *unit)
{
    printf("| %s | none | %.*f %s | context |\n", what, got >= 100 ? 0 : 2, got, unit);
}

/* ---- phases ---- */

static void tp_intro(const struct bench *b)
{
    printf("\n### Controller throughput\n\nN DownloadRequests created over %d keep-alive "
           "connections as fast as kubesim accepts them; rate = N / (first create -> last "
           "Processed seen on a watch); latency = create sent -> Processed seen. vreqd's "
           "DownloadRequest queue runs up to %d reconciles at once; both references send their "
           "PATCHes at that concurrency. The stack reference is a minimal client on vreqd's "
           "stack (libcurl multi on libuv, cJSON on every watch line and response, a new easy "
           "handle per PATCH); the raw reference is below it (raw HTTP/1.1 on libuv, string "
           "search, no JSON). Each run measures vreqd, the stack reference and the raw "
           "reference back to back on a fresh kubesim each; ratios are per run.\n\n",
           CREATORS, b->ref_conc);
    printf("| N | runs | vreqd req/s | stack reference req/s | raw reference req/s | "
           "vreqd / stack | vreqd / raw |\n|---|---|---|---|---|---|---|\n");
}

/* One row of the throughput table from nr runs of every contender. */
static void tp_row(unsigned long n, int nr, const struct tp (*r)[MAX_RUNS], struct targets *t)
{
    double col[5][MAX_RUNS];
    char c[5][96];
    for (int i = 0; i < nr; i++) {
        col[0][i] = r[CTL_VREQD][i].rps;
        col[1][i] = r[CTL_STACK][i].rps;
        col[2][i] = r[CTL_RAW][i].rps;
        col[3][i] = r[CTL_VREQD][i].rps / r[CTL_STACK][i].rps;
        col[4][i] = r[CTL_VREQD][i].rps / r[CTL_RAW][i].rps;
    }
    for (int j = 0; j < 5; j++)
        cell(c[j], sizeof(c[j]), col[j], nr, j < 3 ? 0 : 2, j < 3 ? "" : "×");
    printf("| %lu | %d | %s | %s | %s | %s | %s |\n", n, nr, c[0], c[1], c[2], c[3], c[4]);
    fflush(stdout);
    t->tp_n = n;
    t->rps = summarize(col[0], nr).med;
    t->ratio = summarize(col[3], nr).med;
    t->ratio_raw = summarize(col[4], nr).med;
}

/* The second table: latency, CPU and memory of every contender in the same runs. */
static void tp_details(const unsigned long *sizes, int nsizes, const int *nr,
                       const struct tp (*r)[NCTL][MAX_RUNS])
{
    printf("\nLatency, CPU and memory of the same runs (CPU: the controller process's user + "
           "system time per request; VmRSS when the last request was seen Processed).\n\n"
           "| N | client | p50 ms | p99 ms | CPU µs/req | VmRSS after, MiB |\n"
           "|---|---|---|---|---|---|\n");
    for (int k = 0; k < nsizes; k++) {
        for (int w = 0; w < NCTL; w++) {
            double col[4][MAX_RUNS];
            char c[4][96];
            for (int i = 0; i < nr[k]; i++) {
                const struct tp *x = &r[k][w][i];
                col[0][i] = x->p50_ms;
                col[1][i] = x->p99_ms;
                col[2][i] = x->cpu_us;
                col[3][i] = x->rss_mib;
            }
            static const int prec[] = {1, 1, 0, 1};
            for (int j = 0; j < 4; j++)
                cell(c[j], sizeof(c[j]), col[j], nr[k], prec[j], "");
            printf("| %lu | %s | %s | %s | %s | %s |\n", sizes[k], ctl_names[w], c[0], c[1], c[2],
                   c[3]);
        }
    }
    fflush(stdout);
}

static int phase_throughput(struct bench *b, const unsigned long *sizes, int nsizes, int runs,
                            struct targets *t)
{
    struct tp(*r)[NCTL][MAX_RUNS] = vr_xcalloc((size_t)nsizes, sizeof(*r));
    int nr[8] = {0}, rc = 0;
    tp_intro(b);
    for (int k = 0; k < nsizes && rc == 0; k++) {
        nr[k] = sizes[k] >= 100000 && runs > 3 ? 3 : runs;
        for (int i = 0; i < nr[k] && rc == 0; i++)
            for (int w = 0; w < NCTL && rc == 0; w++)
                rc = tp_run(b, (enum ctl)w, sizes[k], &r[k][w][i]);
        if (rc == 0)
            tp_row(sizes[k], nr[k], (const struct tp(*)[MAX_RUNS])r[k], t);
    }
    if (rc == 0)
        tp_details(sizes, nsizes, nr, (const struct tp(*)[NCTL][MAX_RUNS])r);
    vr_free(r);
    return rc;
}

static int phase_idle(struct bench *b, int rounds, int per, struct targets *t)
{
    printf("\n### Idle latency\n\nOne request at a time (the next is created once the "
           "previous is seen Processed), %d rounds of %d after %d warm-up requests; the "
           "figures are the median of the rounds' percentiles.\n\n"
           "| client | p50 ms | p99 ms |\n|---|---|---|\n",
           rounds, per, IDLE_WARMUP);
    for (int w = 0; w < NCTL; w++) {
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

static void mem_intro(int runs)
{
    printf("\n### Memory and start-up\n\nvreqd with N Processed DownloadRequests preloaded in "
           "kubesim (expiring in 24 h: beyond two resync periods, so none keeps a queue record), "
           "%d runs each. "
           "Start-up = spawn -> first `/readyz` 200 (polled every millisecond); memory read once "
           "every request has been reconciled and the queue is empty (3 runs at 100k): VmRSS, "
           "RssAnon and RssFile from /proc/PID/status, Pss from /proc/PID/smaps_rollup (shared "
           "library pages divided among the processes mapping them, kubesim and this bench "
           "among them). The floor is a process that links what vreqd links, calls "
           "curl_global_init(CURL_GLOBAL_DEFAULT), creates and cleans up one easy handle and "
           "waits: the memory any libcurl + OpenSSL client starts with.\n\n"
           "| N preloaded | start-up ms | vreqd CPU until ready, ms | VmRSS MiB | RssAnon MiB | "
           "RssFile MiB | Pss MiB | process_resident_memory_bytes MiB | cached DownloadRequests "
           "|\n|---|---|---|---|---|---|---|---|---|\n",
           runs);
}

/* The floor's row, right under vreqd's N = 0; its median VmRSS, or -1. */
static double floor_row(struct bench *b, int runs)
{
    double col[4][MAX_RUNS];
    char c[4][96];
    for (int i = 0; i < runs; i++) {
        struct rss m;
        if (floor_one(b, &m) < 0)
            return -1;
        col[0][i] = m.vm;
        col[1][i] = m.anon;
        col[2][i] = m.file;
        col[3][i] = m.pss;
    }
    for (int j = 0; j < 4; j++)
        cell(c[j], sizeof(c[j]), col[j], runs, 2, "");
    printf("| libcurl + libcrypto floor | | | %s | %s | %s | %s | | |\n", c[0], c[1], c[2], c[3]);
    fflush(stdout);
    return summarize(col[0], runs).med;
}

/* vreqd's row for N preloaded; its median VmRSS and RssAnon in rss, anon. */
static int mem_row(struct bench *b, unsigned long n, int runs, struct targets *t, double *rss,
                   double *anon)
{
    struct mem m[MAX_RUNS];
    double col[8][MAX_RUNS];
    char c[8][96];
    int nr = n >= 100000 && runs > 3 ? 3 : runs; /* kubesim's paging is slow */
    if (mem_run(b, n, nr, m) < 0)
        return -1;
    for (int i = 0; i < nr; i++) {
        double row[] = {m[i].start_ms, m[i].cpu_ms,  m[i].rss.vm,     m[i].rss.anon,
                        m[i].rss.file, m[i].rss.pss, m[i].metric_mib, m[i].cached};
        for (int j = 0; j < 8; j++)
            col[j][i] = row[j];
    }
    static const int prec[] = {1, 0, 2, 2, 2, 2, 2, 0};
    for (int j = 0; j < 8; j++)
        cell(c[j], sizeof(c[j]), col[j], nr, prec[j], "");
    printf("| %lu | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, c[0], c[1], c[2], c[3], c[4],
           c[5], c[6], c[7]);
    fflush(stdout);
    *rss = summarize(col[2], nr).med;
    *anon = summarize(col[3], nr).med;
    if (n == 10000) {
        t->rss_10k = *rss;
        t->start_10k = summarize(col[0], nr).med;
    } else if (n == 100000) {
        t->rss_100k = *rss;
    }
    return 0;
}

static int phase_memory(struct bench *b, const unsigned long *sizes, int nsizes, int runs,
                        struct targets *t)
{
    double base = 0, base_anon = 0, floor = -1;
    char per[8][320];
    mem_intro(runs);
    for (int k = 0; k < nsizes; k++) {
        double rss, anon;
        if (mem_row(b, sizes[k], runs, t, &rss, &anon) < 0)
            return -1;
        if (sizes[k] == 0 && (floor = floor_row(b, runs)) < 0)
            return -1;
        if (sizes[k] == 0) {
            base = rss;
            base_anon = anon;
            snprintf(per[k], sizeof(per[k]),
                     "vreqd at N = 0: VmRSS(0) - floor = %.2f MiB (vreqd's own start-up state "
                     "above a process that only initialised libcurl).\n",
                     rss - floor);
        } else {
            snprintf(per[k], sizeof(per[k]),
                     "State per cached request at N = %lu: (VmRSS(N) - VmRSS(0)) / N = %.0f "
                     "bytes; (RssAnon(N) - RssAnon(0)) / N = %.0f bytes; VmRSS(N) - floor = "
                     "%.2f MiB.\n",
                     sizes[k], (rss - base) * 1048576.0 / (double)sizes[k],
                     (anon - base_anon) * 1048576.0 / (double)sizes[k], rss - floor);
        }
    }
    t->floor = floor;
    printf("\n");
    for (int k = 0; k < nsizes; k++)
        printf("%s", per[k]);
    return 0;
}

static void print_targets(const struct targets *t)
{
    printf("\n### Targets\n\n| figure | target | measured (median) | |\n|---|---|---|---|\n");
    char what[128];
    if (t->tp_n) {
        snprintf(what, sizeof(what), "throughput vs reference (stack), N = %lu", t->tp_n);
        verdict(what, t->ratio, 0.8, true, "×");
        snprintf(what, sizeof(what), "throughput vs raw reference, N = %lu", t->tp_n);
        context(what, t->ratio_raw, "×");
        snprintf(what, sizeof(what), "throughput, N = %lu", t->tp_n);
        verdict(what, t->rps, 5000, true, "req/s");
    }
    if (t->idle_p50 > 0) {
        verdict("idle latency p50", t->idle_p50, 2, false, "ms");
        verdict("idle latency p99", t->idle_p99, 10, false, "ms");
    }
    if (t->rss_10k > 0) {
        verdict("VmRSS, 10k requests", t->rss_10k, 10, false, "MiB");
        if (t->floor > 0) {
            context("floor (a process that only loads and initialises libcurl)", t->floor, "MiB");
            context("VmRSS above the floor, 10k requests", t->rss_10k - t->floor, "MiB");
        }
        verdict("start-up to /readyz, 10k requests", t->start_10k, 100, false, "ms");
    }
    if (t->rss_100k > 0)
        verdict("VmRSS, 100k requests", t->rss_100k, 64, false, "MiB");
    if (t->tp_n)
        printf("\n\"Throughput vs reference\" compares vreqd with the stack reference, the "
               "reference issue 8 defines: a minimal client on the same stack (libuv, libcurl "
               "multi, cJSON) doing one merge PATCH per object at the same concurrency. The raw "
               "reference, raw HTTP/1.1 without curl or JSON, is the floor below that stack; "
               "its row is context and has no target.\n");
}

/* ---- main ---- */

struct args {
    bool smoke, ref_libcurl;
    int runs, ref_port, ref_conc;
    bool ref_stack; /* ref_port is for --ref-stack, not --ref-controller */
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
                    "[--ref-concurrency N]\n"
                    "       bench_controller --ref-controller PORT | --ref-stack PORT "
                    "[--ref-concurrency N]\n"
                    "       bench_controller --ref-libcurl\n");
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
        if (strcmp(o, "--ref-libcurl") == 0) {
            a->ref_libcurl = true;
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
        if ((strcmp(o, "--ref-controller") == 0 || strcmp(o, "--ref-stack") == 0) &&
            (a->ref_port = (int)strtol(v, NULL, 10)) > 0) {
            a->ref_stack = strcmp(o, "--ref-stack") == 0;
            continue;
        }
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
    if (a.ref_libcurl) /* before anything else is set up: the floor is libcurl alone */
        return ref_libcurl_main();
    if (a.smoke && a.nsizes == 3 && a.sizes[0] == 1000) {
        a.sizes[0] = 200;
        a.nsizes = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    b.hc = (struct hc_ctx){.loop = &loop, .name = "bench_controller"};
    uv_timer_init(&loop, &b.deadline);
    b.ref_conc = a.ref_conc ? a.ref_conc : VREQD_DLR_MAX_IN_FLIGHT;
    if (a.ref_port && a.ref_stack) {
        rc = ref_stack_main(&loop, a.ref_port, b.ref_conc);
    } else if (a.ref_port) {
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
