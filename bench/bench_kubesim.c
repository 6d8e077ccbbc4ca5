/*
 * bench_kubesim: kubesim's ceiling, the reference later benchmarks compare against.
 *
 *   GET and merge-PATCH round trips per second over keep-alive connections at several
 *   concurrencies, and watch events per second delivered to N watchers while a writer
 *   patches objects.
 *
 * kubesim runs as a separate process (the binary next to this one, or --kubesim PATH) so
 * server and client each get a core; the client is a bare libuv loop writing raw HTTP/1.1
 * (support/hclient.c) so that it costs as little as possible. Every phase is run several times and
 * the median is printed with min and max. No assertion is made on any figure.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core/common.h"
#include "support/hclient.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#define NS "velero"
#define COLL "/apis/velero.io/v1/namespaces/" NS "/downloadrequests"
#define MAX_CONNS 256

enum op_kind {
    OP_CREATE,
    OP_GET,
    OP_PATCH,
    OP_WATCH,
    OP_STATS,
};

struct bench;

/* One client connection: what it sends, and how far it has got. */
struct conn {
    struct hc_conn *hc;
    struct bench *b;
    enum op_kind op;
    unsigned long seq;
    unsigned long limit; /* stop sending when seq reaches it (0: never) */
};

struct bench {
    struct hc_ctx hc;
    int port;
    int objects;
    unsigned duration_ms;
    bool running;
    unsigned long done;    /* completed round trips in this phase */
    unsigned long errors;  /* non-2xx answers */
    unsigned long events;  /* watch events seen by all watchers */
    unsigned long counter; /* makes every PATCH a real change */
    char rv[32];           /* resourceVersion to watch from */
    int connected;
    uv_timer_t stop_timer;
    struct conn conns[MAX_CONNS + 16];
    int nconns;
};

static void send_next(struct conn *c)
{
    struct bench *b = c->b;
    if (c->limit && c->seq >= c->limit)
        return;
    unsigned long i = c->seq++;
    int obj = (int)((i * 7919u + (unsigned long)(uintptr_t)c->hc / 64) % (unsigned long)b->objects);
    switch (c->op) {
    case OP_CREATE: {
        char body[256];
        int n = snprintf(body, sizeof(body),
                         "{\"apiVersion\":\"velero.io/v1\",\"kind\":\"DownloadRequest\","
                         "\"metadata\":{\"name\":\"dr-%lu\"},\"spec\":{\"target\":{\"kind\":"
                         "\"BackupLog\",\"name\":\"b%lu\"}}}",
                         i, i);
        hc_send_take(c->hc, vr_xasprintf("POST " COLL " HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                         "application/json\r\nContent-Length: %d\r\n\r\n%s",
                                         n, body));
        break;
    }
    case OP_GET:
        hc_send_take(c->hc, vr_xasprintf("GET " COLL "/dr-%d HTTP/1.1\r\nHost: b\r\n\r\n", obj));
        break;
    case OP_PATCH: {
        char body[160];
        int n = snprintf(body, sizeof(body),
                         "{\"status\":{\"phase\":\"Processed\",\"downloadURL\":\"http://s3/%lu\"}}",
                         ++b->counter);
        hc_send_take(c->hc,
                     vr_xasprintf("PATCH " COLL "/dr-%d HTTP/1.1\r\nHost: b\r\nContent-Type: "
                                  "application/merge-patch+json\r\nContent-Length: %d\r\n\r\n%s",
                                  obj, n, body));
        break;
    }
    case OP_WATCH:
        hc_send_take(c->hc, vr_xasprintf("GET " COLL "?watch=true&resourceVersion=%s HTTP/1.1\r\n"
                                         "Host: b\r\n\r\n",
                                         b->rv));
        break;
    case OP_STATS:
        hc_send_take(c->hc, vr_xstrdup("GET /kubesim/stats HTTP/1.1\r\nHost: b\r\n\r\n"));
        break;
    }
}

/* Picks "resource_version":"N" out of a /kubesim/stats body. */
static void grab_rv(struct bench *b, const char *body, size_t n)
{
    static const char key[] = "\"resource_version\":\"";
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)n, body);
    const char *p = strstr(tmp, key);
    if (p)
        snprintf(b->rv, sizeof(b->rv), "%.*s", (int)strcspn(p + sizeof(key) - 1, "\""),
                 p + sizeof(key) - 1);
}

/* A response is complete: count it and send the next request. */
static void on_done(struct hc_conn *hc, int code)
{
    struct conn *c = hc->arg;
    if (code < 200 || code > 299)
        c->b->errors++;
    if (c->op == OP_STATS)
        grab_rv(c->b, hc->body.p ? hc->body.p : "", hc->body.len);
    c->b->done++;
    if (c->b->running)
        send_next(c);
}

/* Counts watch events: each is one line of the watch body. */
static void count_events(struct hc_conn *hc, const char *p, size_t n)
{
    struct conn *c = hc->arg;
    const char *end = p + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c->b->events++;
        p++;
    }
}

static void on_connect(struct hc_conn *hc, int status)
{
    struct conn *c = hc->arg;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", uv_strerror(status));
        return;
    }
    c->b->connected++;
    if (c->b->running)
        send_next(c);
}

static struct conn *conn_open(struct bench *b, enum op_kind op, unsigned long seq)
{
    struct conn *c = &b->conns[b->nconns++];
    *c = (struct conn){.b = b, .op = op, .seq = seq};
    c->hc = hc_open(&b->hc, b->port);
    c->hc->arg = c;
    c->hc->connect_cb = on_connect;
    c->hc->done_cb = on_done;
    if (op == OP_WATCH)
        c->hc->data_cb = count_events;
    return c;
}

static void close_all(struct bench *b)
{
    for (int i = 0; i < b->nconns; i++)
        hc_release(b->conns[i].hc);
    b->nconns = 0;
    hc_wait_closed(&b->hc);
}

static void on_stop(uv_timer_t *t)
{
    struct bench *b = container_of(t, struct bench, stop_timer);
    b->running = false;
}

/* Runs the loop for duration_ms with `running` set, then drains. */
static void run_for(struct bench *b, unsigned ms)
{
    b->running = true;
    uv_timer_start(&b->stop_timer, on_stop, ms, 0);
    while (b->running)
        uv_run(b->hc.loop, UV_RUN_ONCE);
}

static void wait_connected(struct bench *b, int n)
{
    while (b->connected < n && b->hc.open_conns > 0)
        uv_run(b->hc.loop, UV_RUN_ONCE);
}

/* One timed round-trip phase; returns requests per second. */
static double rt_phase(struct bench *b, enum op_kind op, int conc)
{
    b->done = 0;
    b->connected = 0;
    b->running = false;
    for (int i = 0; i < conc; i++)
        conn_open(b, op, (unsigned long)i * 1000003u);
    wait_connected(b, conc);
    uint64_t t0 = uv_hrtime();
    b->running = true;
    for (int i = 0; i < b->nconns; i++)
        send_next(&b->conns[i]);
    run_for(b, b->duration_ms);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    unsigned long done = b->done;
    close_all(b);
    return (double)done / secs;
}

/* Reads the current resourceVersion from the admin API into b->rv. */
static void fetch_rv(struct bench *b)
{
    b->rv[0] = '\0';
    b->done = 0;
    b->connected = 0;
    b->running = true;
    conn_open(b, OP_STATS, 0);
    while (b->done == 0 && b->hc.open_conns > 0)
        uv_run(b->hc.loop, UV_RUN_ONCE);
    b->running = false;
    close_all(b);
    if (!b->rv[0])
        snprintf(b->rv, sizeof(b->rv), "0");
}

/* N watchers, 4 writers: returns events per second delivered to all watchers together. */
static double watch_phase(struct bench *b, int watchers, double *writes_per_s)
{
    fetch_rv(b);
    b->connected = 0;
    b->running = false;
    for (int i = 0; i < watchers; i++)
        conn_open(b, OP_WATCH, 0);
    wait_connected(b, watchers);
    b->running = true;
    for (int i = 0; i < watchers; i++)
        send_next(&b->conns[i]);
    /* Let every watch get established before counting. */
    run_for(b, 200);
    b->events = 0;
    b->done = 0;
    int first_writer = b->nconns;
    for (int i = 0; i < 4; i++)
        conn_open(b, OP_PATCH, (unsigned long)i * 7u);
    wait_connected(b, watchers + 4);
    uint64_t t0 = uv_hrtime();
    b->running = true;
    for (int i = first_writer; i < b->nconns; i++)
        send_next(&b->conns[i]);
    run_for(b, b->duration_ms);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    double ev = (double)b->events / secs;
    *writes_per_s = (double)b->done / secs;
    close_all(b);
    return ev;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stat3 {
    double med, min, max;
};

static struct stat3 summarize(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    struct stat3 s = {v[n / 2], v[0], v[n - 1]};
    return s;
}

struct server {
    uv_process_t proc;
    uv_pipe_t out;
    struct vr_buf line;
    int port;
    bool exited;
};

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[4096];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct server *srv = container_of((uv_pipe_t *)s, struct server, out);
    if (n < 0) {
        uv_read_stop(s);
        return;
    }
    if (srv->port || vr_buf_append(&srv->line, buf->base, (size_t)n) < 0)
        return;
    const char *p = strstr(srv->line.p, "listening on http://");
    const char *colon = p ? strchr(p + 20, ':') : NULL;
    if (colon && strchr(colon, '\n'))
        srv->port = (int)strtol(colon + 1, NULL, 10);
}

static void srv_exit(uv_process_t *p, int64_t status, int sig)
{
    struct server *srv = container_of(p, struct server, proc);
    srv->exited = true;
    if (status != 0 || (sig != 0 && sig != SIGTERM))
        fprintf(stderr, "kubesim exited with status %lld signal %d\n", (long long)status, sig);
}

static int start_kubesim(uv_loop_t *loop, const char *path, struct server *srv)
{
    static char a_listen[] = "--listen", a_addr[] = "127.0.0.1:0", a_log[] = "--log-level",
                a_err[] = "error";
    char *args[] = {(char *)path, a_listen, a_addr, a_log, a_err, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&srv->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t opts = {
        .exit_cb = srv_exit, .file = path, .args = args, .stdio_count = 3, .stdio = stdio};
    vr_buf_init(&srv->line, 4096);
    uv_pipe_init(loop, &srv->out, 0);
    int rc = uv_spawn(loop, &srv->proc, &opts);
    if (rc < 0) {
        fprintf(stderr, "cannot start %s: %s\n", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->out, NULL);
        return rc;
    }
    uv_read_start((uv_stream_t *)&srv->out, srv_alloc, srv_read);
    while (!srv->port && !srv->exited)
        uv_run(loop, UV_RUN_ONCE);
    return srv->port ? 0 : -1;
}

static void stop_kubesim(uv_loop_t *loop, struct server *srv)
{
    if (!srv->exited)
        uv_process_kill(&srv->proc, SIGTERM);
    while (!srv->exited)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&srv->proc, NULL);
    uv_close((uv_handle_t *)&srv->out, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    vr_buf_cleanup(&srv->line);
}

/* Creates b->objects DownloadRequests dr-0 .. dr-N-1 over 8 connections. */
static void seed(struct bench *b)
{
    b->done = 0;
    b->errors = 0;
    b->running = true;
    int per = b->objects / 8;
    for (int i = 0; i < 8; i++)
        conn_open(b, OP_CREATE, (unsigned long)(i * per))->limit = (unsigned long)((i + 1) * per);
    while (b->done < (unsigned long)(per * 8) && b->hc.open_conns > 0)
        uv_run(b->hc.loop, UV_RUN_ONCE);
    b->running = false;
    close_all(b);
    b->objects = per * 8;
}

static void report(const char *what, int conc, double *v, int runs, const char *unit)
{
    struct stat3 s = summarize(v, runs);
    printf("%-24s c=%-4d %10.0f %s  (min %.0f, max %.0f)\n", what, conc, s.med, unit, s.min, s.max);
}

static void find_kubesim(const char *argv0, char *out, size_t cap)
{
    const char *slash = strrchr(argv0, '/');
    int dirlen = slash ? (int)(slash - argv0) : 1;
    snprintf(out, cap, "%.*s/kubesim", dirlen, slash ? argv0 : ".");
}

int main(int argc, char **argv)
{
    bool smoke = false;
    char kubesim[4096];
    find_kubesim(argv[0], kubesim, sizeof(kubesim));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (strcmp(argv[i], "--kubesim") == 0 && i + 1 < argc)
            snprintf(kubesim, sizeof(kubesim), "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_kubesim [--smoke] [--kubesim PATH]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct server srv = {0};
    if (start_kubesim(&loop, kubesim, &srv) < 0) {
        fprintf(stderr, "bench_kubesim: kubesim did not start (%s)\n", kubesim);
        return 1;
    }
    struct bench b = {.hc = {.loop = &loop, .name = "bench_kubesim"},
                      .port = srv.port,
                      .objects = smoke ? 64 : 1000,
                      .duration_ms = smoke ? 200 : 2000};
    uv_timer_init(&loop, &b.stop_timer);
    seed(&b);
    int runs = smoke ? 1 : 5;
    static const int concs[] = {1, 4, 16, 64};
    static const int watchers[] = {1, 10, 100};
    double v[16];

    printf("kubesim ceiling: %d objects, %u ms per run, median of %d runs\n", b.objects,
           b.duration_ms, runs);
    for (size_t k = 0; k < VR_ARRAY_SIZE(concs); k++) {
        for (int r = 0; r < runs; r++)
            v[r] = rt_phase(&b, OP_GET, concs[k]);
        report("GET round trips", concs[k], v, runs, "req/s");
    }
    for (size_t k = 0; k < VR_ARRAY_SIZE(concs); k++) {
        for (int r = 0; r < runs; r++)
            v[r] = rt_phase(&b, OP_PATCH, concs[k]);
        report("merge-PATCH round trips", concs[k], v, runs, "req/s");
    }
    for (size_t k = 0; k < VR_ARRAY_SIZE(watchers); k++) {
        double w[16];
        for (int r = 0; r < runs; r++)
            v[r] = watch_phase(&b, watchers[k], &w[r]);
        report("watch events delivered", watchers[k], v, runs, "ev/s");
        report("  writes during it", 4, w, runs, "req/s");
    }
    printf("non-2xx answers: %lu\n", b.errors);
    uv_close((uv_handle_t *)&b.stop_timer, NULL);
    stop_kubesim(&loop, &srv);
    int rc = uv_loop_close(&loop);
    return (rc == 0 && b.errors == 0) ? 0 : 1;
}
