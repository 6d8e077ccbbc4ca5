/* process_* metrics from /proc/self (see metrics.h). */
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/common.h"
#include "server/metrics.h"
#include "vreq/err.h"
#include "vreq/str.h"

#define PROC_FILE_MAX ((size_t)256 * 1024)

/* Field positions after "pid (comm) ", counting state as 0 (proc(5) fields 3, 14, 15, 22,
 * 23 and 24). */
enum {
    F_UTIME = 11,
    F_STIME = 12,
    F_STARTTIME = 19,
    F_VSIZE = 20,
    F_RSS = 21,
    F_LAST = F_RSS,
};

static int next_field(struct vr_str *rest, struct vr_str *field)
{
    size_t i = 0;
    while (i < rest->n && rest->p[i] == ' ')
        i++;
    size_t start = i;
    while (i < rest->n && rest->p[i] != ' ' && rest->p[i] != '\n')
        i++;
    if (i == start)
        return VR_EPARSE;
    *field = vr_str_make(rest->p + start, i - start);
    *rest = vr_str_make(rest->p + i, rest->n - i);
    return 0;
}

int vr_proc_parse_stat(const char *text, size_t len, long ticks, long page_size,
                       int64_t boot_time_s, struct vr_proc_stats *out)
{
    /* comm may hold spaces and ')': the fields start after the LAST ')'. */
    size_t close = len;
    for (size_t i = len; i > 0; i--) {
        if (text[i - 1] == ')') {
            close = i - 1;
            break;
        }
    }
    if (close == len || ticks <= 0 || page_size <= 0)
        return VR_EPARSE;
    struct vr_str rest = vr_str_make(text + close + 1, len - close - 1);
    uint64_t v[F_LAST + 1];
    for (int i = 0; i <= F_LAST; i++) {
        struct vr_str f;
        if (next_field(&rest, &f) < 0)
            return VR_EPARSE;
        v[i] = 0;
        if (i > 0 && vr_parse_uint64(f, UINT64_MAX, &v[i]) < 0 && i >= F_UTIME)
            return VR_EPARSE;
    }
    out->cpu_seconds = (double)(v[F_UTIME] + v[F_STIME]) / (double)ticks;
    out->start_time_seconds = (double)boot_time_s + (double)v[F_STARTTIME] / (double)ticks;
    out->virtual_bytes = (double)v[F_VSIZE];
    out->resident_bytes = (double)v[F_RSS] * (double)page_size;
    return 0;
}

static int read_boot_time(int64_t *out)
{
    struct vr_buf b;
    vr_buf_init(&b, PROC_FILE_MAX);
    int rc = vr_buf_read_file(&b, "/proc/stat");
    if (rc < 0)
        return rc;
    rc = VR_EPARSE;
    const char *p = b.p ? strstr(b.p, "\nbtime ") : NULL;
    if (p) {
        p += 7;
        size_t n = strcspn(p, "\n");
        rc = vr_parse_int64(vr_str_make(p, n), 0, INT64_MAX, out);
    }
    vr_buf_cleanup(&b);
    return rc;
}

static double count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

int vr_proc_read_self(struct vr_proc_stats *out)
{
    int64_t boot;
    int rc = read_boot_time(&boot);
    if (rc < 0)
        return rc;
    struct vr_buf b;
    vr_buf_init(&b, PROC_FILE_MAX);
    rc = vr_buf_read_file(&b, "/proc/self/stat");
    if (rc < 0)
        return rc;
    struct vr_proc_stats st;
    rc = vr_proc_parse_stat(b.p ? b.p : "", b.len, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE),
                            boot, &st);
    vr_buf_cleanup(&b);
    if (rc < 0)
        return rc;
    st.open_fds = count_fds();
    struct rlimit rl;
    st.max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? (double)rl.rlim_cur
                     : -1;
    *out = st;
    return 0;
}

struct proc_series {
    struct vr_metric *cpu, *rss, *vsz, *start, *fds, *max_fds;
};

static struct proc_series proc_series_of(struct vr_metrics *r);

static void collect_process(struct vr_metrics *r, void *arg)
{
    VR_UNUSED(arg);
    struct vr_proc_stats st;
    if (vr_proc_read_self(&st) < 0)
        return; /* a scrape without fresh process figures beats a failed scrape */
    struct proc_series s = proc_series_of(r);
    vr_metric_set(s.cpu, st.cpu_seconds);
    vr_metric_set(s.rss, st.resident_bytes);
    vr_metric_set(s.vsz, st.virtual_bytes);
    vr_metric_set(s.start, st.start_time_seconds);
    vr_metric_set(s.fds, st.open_fds);
    vr_metric_set(s.max_fds, st.max_fds);
}

static const struct {
    enum vr_metric_type type;
    const char *name;
    const char *help;
} proc_families[] = {
    {VR_METRIC_COUNTER, "process_cpu_seconds_total",
     "Total user and system CPU time spent in seconds."},
    {VR_METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes."},
    {VR_METRIC_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes."},
    {VR_METRIC_GAUGE, "process_start_time_seconds",
     "Start time of the process since unix epoch in seconds."},
    {VR_METRIC_GAUGE, "process_open_fds", "Number of open file descriptors."},
    {VR_METRIC_GAUGE, "process_max_fds", "Maximum number of open file descriptors."},
};

/* The registry owns the series; finding them again by name is cheap next to reading
 * /proc, and spares the collector any state of its own. */
static struct vr_metric *proc_metric(struct vr_metrics *r, size_t i)
{
    struct vr_metric *m = NULL;
    struct vr_metric_family *f = vr_metrics_find(r, proc_families[i].name);
    if (!f || vr_metrics_series(f, NULL, &m) < 0)
        vr_panic("process metric %s vanished", proc_families[i].name);
    return m;
}

static struct proc_series proc_series_of(struct vr_metrics *r)
{
    struct proc_series s = {proc_metric(r, 0), proc_metric(r, 1), proc_metric(r, 2),
                            proc_metric(r, 3), proc_metric(r, 4), proc_metric(r, 5)};
    return s;
}

int vr_metrics_register_process(struct vr_metrics *r)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(proc_families); i++) {
        struct vr_metric_family *f;
        struct vr_metric *m;
        int rc = vr_metrics_add_family(r, proc_families[i].type, proc_families[i].name,
                                       proc_families[i].help, NULL, 0, NULL, 0, &f);
        if (rc < 0)
            return rc;
        rc = vr_metrics_series(f, NULL, &m);
        vr_assert(rc == 0);
    }
    vr_metrics_add_collector(r, collect_process, NULL);
    return 0;
}
