/* kubesim: the Kubernetes API emulator binary. main() and flag handling only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"
#include "core/common.h"
#include "core/timefmt.h"

#include "sim.h"
#include "store.h"

#define OBJECTS_MAX (64u << 20)

static const char usage[] =
    "Usage: kubesim [flags]\n"
    "\n"
    "A Kubernetes API server emulator for vreq's tests (see docs/kubesim.md).\n"
    "\n"
    "Flags:\n"
    "  --listen HOST:PORT             address to serve on (default 127.0.0.1:0, a free port)\n"
    "  --kubeconfig-out FILE          write a kubeconfig (context kubesim, namespace velero)\n"
    "  --objects FILE                 preload objects (YAML or JSON; a List or --- documents)\n"
    "  --token TOKEN                  require Authorization: Bearer TOKEN on API paths\n"
    "  --status-subresource on|off    velero CRDs serve /status (default off)\n"
    "  --failed-phase on|off          DownloadRequest phase enum has Failed (default on)\n"
    "  --compaction-window N          events kept for watch resumption (default 1000)\n"
    "  --bookmark-interval DURATION   watch BOOKMARK cadence (default 60s; 500ms, 1m, ...)\n"
    "  --log-level LEVEL              trace, debug, info, warn, error, off (default info)\n"
    "  --version                      print the version and exit\n"
    "  --help                         print this help and exit\n"
    "\n"
    "When ready it prints one line: kubesim listening on http://HOST:PORT\n";

struct main_opts {
    const char *listen;
    const char *kubeconfig_out;
    const char *objects;
    struct ks_sim_opts sim;
};

struct main_state {
    uv_signal_t sigint, sigterm;
    struct ks_sim *sim;
    bool stopping;
};

static int usage_error(const char *fmt, ...) VR_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("kubesim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return 2;
}

/* Go-style duration ("500ms", "1m30s", "2h", "1.5s") to milliseconds. */
static int parse_duration_ms(const char *s, uint64_t *out)
{
    int64_t ns;
    if (vr_time_parse_duration(s, &ns) < 0 || ns < 0)
        return VR_EINVAL;
    *out = (uint64_t)(ns / 1000000);
    return 0;
}

static int parse_onoff(const char *v, bool *out)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
        *out = false;
        return 0;
    }
    return VR_EINVAL;
}

/* Applies one "--name value" flag; 0 or 2 (usage error, already reported). */
static int apply_flag(struct main_opts *o, const char *name, const char *v)
{
    int64_t n;
    enum vr_log_level level;
    if (strcmp(name, "--listen") == 0)
        o->listen = v;
    else if (strcmp(name, "--kubeconfig-out") == 0)
        o->kubeconfig_out = v;
    else if (strcmp(name, "--objects") == 0)
        o->objects = v;
    else if (strcmp(name, "--token") == 0)
        o->sim.token = v;
    else if (strcmp(name, "--status-subresource") == 0) {
        if (parse_onoff(v, &o->sim.status_subresource) < 0)
            return usage_error("--status-subresource takes on or off, not %s", v);
    } else if (strcmp(name, "--failed-phase") == 0) {
        if (parse_onoff(v, &o->sim.failed_phase) < 0)
            return usage_error("--failed-phase takes on or off, not %s", v);
    } else if (strcmp(name, "--compaction-window") == 0) {
        if (vr_parse_int64(vr_str_c(v), 1, 100000000, &n) < 0)
            return usage_error("--compaction-window takes a positive number, not %s", v);
        o->sim.compaction_window = (size_t)n;
    } else if (strcmp(name, "--bookmark-interval") == 0) {
        if (parse_duration_ms(v, &o->sim.bookmark_interval_ms) < 0 ||
            o->sim.bookmark_interval_ms == 0)
            return usage_error("--bookmark-interval takes a duration like 500ms or 60s, not %s",
                               v);
    } else if (strcmp(name, "--log-level") == 0) {
        if (vr_log_parse_level(v, &level) < 0)
            return usage_error("unknown --log-level %s", v);
        vr_log_set_level(level);
    } else {
        return usage_error("unknown flag %s", name);
    }
    return 0;
}

/* 0 to run, 1 when --help/--version was answered, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct main_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("kubesim %s\n", VR_VERSION);
            return 1;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        const char *v;
        if (strncmp(a, "--", 2) != 0 || (eq && (size_t)(eq - a) >= sizeof(name)))
            return usage_error("unexpected argument %s", a);
        if (eq) {
            snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            snprintf(name, sizeof(name), "%s", a);
            v = argv[++i];
        }
        if (apply_flag(o, name, v) != 0)
            return 2;
    }
    return 0;
}

static int load_objects(struct ks_sim *sim, const char *path)
{
    struct vr_buf buf;
    struct ks_status st;
    vr_buf_init(&buf, OBJECTS_MAX);
    int rc = vr_buf_read_file(&buf, path);
    if (rc < 0) {
        fprintf(stderr, "kubesim: --objects %s: %s\n", path,
                rc == VR_ETOOBIG ? "file larger than 64 MiB" : strerror(-rc));
        goto out;
    }
    struct vr_str text = vr_buf_str(&buf);
    if (ks_store_load(ks_sim_store(sim), text.p, text.n, (int64_t)time(NULL), &st) < 0) {
        fprintf(stderr, "kubesim: --objects %s: %s\n", path, st.message);
        rc = VR_EINVAL;
    }
out:
    vr_buf_cleanup(&buf);
    return rc;
}

/* A YAML double-quoted scalar. */
static void yaml_quote(struct vr_buf *b, const char *s)
{
    vr_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            vr_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            vr_buf_printf(b, "\\x%02x", c);
        else
            vr_buf_putc(b, (char)c);
    }
    vr_buf_putc(b, '"');
}

static void kubeconfig_text(struct vr_buf *b, const char *url, const char *token)
{
    vr_buf_printf(b, "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n"
                     "    server: ");
    yaml_quote(b, url);
    vr_buf_printf(b, "\ncontexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n"
                     "    namespace: velero\n    user: kubesim\ncurrent-context: kubesim\n"
                     "preferences: {}\nusers:\n- name: kubesim\n  user:");
    if (token && token[0]) {
        vr_buf_printf(b, "\n    token: ");
        yaml_quote(b, token);
        vr_buf_putc(b, '\n');
    } else {
        vr_buf_printf(b, " {}\n");
    }
}

/* Writes FILE.tmp (mode 0600: it may hold the token) and renames it over FILE. */
static int write_kubeconfig(const char *path, const char *url, const char *token)
{
    struct vr_buf b;
    vr_buf_init(&b, 1 << 20);
    kubeconfig_text(&b, url, token);
    char *tmp = vr_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    size_t off = 0;
    while (off < b.len && rc == 0) {
        ssize_t n = write(fd, b.p + off, b.len - off);
        if (n < 0 && errno != EINTR)
            rc = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
out:
    if (rc < 0)
        fprintf(stderr, "kubesim: --kubeconfig-out %s: %s\n", path, strerror(-rc));
    vr_free(tmp);
    vr_buf_cleanup_secret(&b);
    return rc;
}

/* "http://HOST:PORT" for the ready line and the kubeconfig. */
static void server_url(const char *listen, int port, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    int hl = colon ? (int)(colon - listen) : 0;
    if (hl == 0)
        snprintf(out, cap, "http://0.0.0.0:%d", port);
    else
        snprintf(out, cap, "http://%.*s:%d", hl, listen, port);
}

static void sim_closed_cb(void *arg)
{
    VR_UNUSED(arg);
    VR_LOG(VR_LOG_DEBUG, "kubesim", "stopped");
}

static void stop(struct main_state *ms)
{
    if (ms->stopping)
        return;
    ms->stopping = true;
    uv_close((uv_handle_t *)&ms->sigint, NULL);
    uv_close((uv_handle_t *)&ms->sigterm, NULL);
    ks_sim_close(ms->sim, sim_closed_cb, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    VR_LOG(VR_LOG_INFO, "kubesim", "shutting down signal=%d", signum);
    stop(h->data);
}

static void signals_start(uv_loop_t *loop, struct main_state *ms)
{
    uv_signal_init(loop, &ms->sigint);
    uv_signal_init(loop, &ms->sigterm);
    ms->sigint.data = ms;
    ms->sigterm.data = ms;
    uv_signal_start(&ms->sigint, on_signal, SIGINT);
    uv_signal_start(&ms->sigterm, on_signal, SIGTERM);
}

/* Listens, writes the kubeconfig and prints the ready line. 0 or 1. */
static int start(struct main_opts *o, struct ks_sim *sim)
{
    char url[320];
    int rc = ks_sim_listen(sim, o->listen);
    if (rc < 0) {
        fprintf(stderr, "kubesim: --listen %s: %s\n", o->listen, vr_strerror(rc));
        return 1;
    }
    server_url(o->listen, ks_sim_port(sim), url, sizeof(url));
    if (o->kubeconfig_out && write_kubeconfig(o->kubeconfig_out, url, o->sim.token) < 0)
        return 1;
    printf("kubesim listening on %s\n", url);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct main_opts o = {.listen = "127.0.0.1:0"};
    struct main_state ms = {0};
    uv_loop_t loop;
    ks_sim_opts_default(&o.sim);
    vr_mem_init_cjson();
    vr_log_init_from_env();
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    /* libuv writes sockets with write(2): a peer gone mid-response must cost an EPIPE,
     * not the process. */
    signal(SIGPIPE, SIG_IGN);
    vr_assert(uv_loop_init(&loop) == 0);
    if (ks_sim_new(&loop, &o.sim, &ms.sim) < 0) {
        fputs("kubesim: cannot create the server\n", stderr);
        return 1;
    }
    /* Signals are handled before the ready line goes out, so a supervisor that stops
     * kubesim right after reading it still gets a clean exit. */
    signals_start(&loop, &ms);
    rc = 0;
    if ((o.objects && load_objects(ms.sim, o.objects) < 0) || start(&o, ms.sim) != 0) {
        rc = 1;
        stop(&ms);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    vr_log_flush(); /* the summaries of repeated lines still being counted */
    if (uv_loop_close(&loop) != 0) {
        fputs("kubesim: handles left open at exit\n", stderr);
        return 1;
    }
    return rc;
}
