/*
 * Metrics: a registry of counter, gauge and histogram families with fixed label names, and
 * the Prometheus text exposition format 0.0.4 (one "# HELP" and one "# TYPE" line per family,
 * then one sample line per series; histograms as cumulative `_bucket{le="..."}` lines ending
 * in le="+Inf", then `_sum` and `_count`).
 *
 * Hot path: a caller resolves each series once (vr_metrics_series) and keeps the pointer;
 * vr_metric_inc/add/set/observe are then O(1) (observe scans the family's few bucket bounds)
 * and format nothing. Label values are escaped (\\, \", \n) once, when the series is made.
 *
 * The registry and the exposition are pure: vr_metrics_render writes a buffer and touches
 * nothing else. Collectors (vr_metrics_add_collector) refresh gauges from live state (queue
 * depth, cache sizes, /proc/self) right before a scrape; vr_metrics_collect runs them and is
 * the only part that may do I/O.
 *
 * Single-threaded (the loop thread), like everything in vreqd.
 */
#ifndef VR_SERVER_METRICS_H
#define VR_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vreq/buf.h"

enum vr_metric_type {
    VR_METRIC_COUNTER,
    VR_METRIC_GAUGE,
    VR_METRIC_HISTOGRAM,
};

/* "counter", "gauge", "histogram"; never NULL. */
const char *vr_metric_type_name(enum vr_metric_type t);

/* Longest metric or label name, and most labels per family, most buckets per histogram. */
#define VR_METRICS_NAME_MAX 128
#define VR_METRICS_LABELS_MAX 4
#define VR_METRICS_BUCKETS_MAX 32

struct vr_metrics;
struct vr_metric_family;
struct vr_metric;

/* An empty registry. Never fails (aborts on OOM). */
struct vr_metrics *vr_metrics_new(void);

/* Frees the registry, its families and series (NULL is a no-op). Series pointers held by
 * callers become invalid. */
void vr_metrics_free(struct vr_metrics *r);

/* Registers a family. name and label names must match [a-zA-Z_:][a-zA-Z0-9_:]* (labels
 * without ':' and not starting with "__"), up to VR_METRICS_LABELS_MAX labels, no label
 * named "le" on a histogram; help is any text (escaped on output). A histogram needs 1 to
 * VR_METRICS_BUCKETS_MAX strictly increasing finite upper bounds (+Inf is implicit); other
 * types take none (buckets NULL, nbuckets 0). Everything is copied. Families are exposed in
 * registration order. 0 with *out written (out may be NULL), VR_EINVAL (bad argument) or
 * VR_EEXIST (name taken). */
int vr_metrics_add_family(struct vr_metrics *r, enum vr_metric_type type, const char *name,
                          const char *help, const char *const *label_names, size_t nlabels,
                          const double *buckets, size_t nbuckets, struct vr_metric_family **out);

/* The family registered under name, borrowed, or NULL. */
struct vr_metric_family *vr_metrics_find(const struct vr_metrics *r, const char *name);

/* The series of f with these label values (one per label name, in order; NULL when the
 * family has no labels), made on first use, starting at 0. Values may be any bytes but NUL,
 * up to 1024 each. Series are exposed in creation order. Costs a lookup and, the first
 * time, formatting: call it once and keep the pointer. 0 with *out written, or VR_EINVAL. */
int vr_metrics_series(struct vr_metric_family *f, const char *const *values,
                      struct vr_metric **out);

/* Updates. inc/add on counters and gauges (a counter ignores a negative or NaN add), set on
 * gauges, and on counters only to move them forward (for totals kept elsewhere: informer
 * stats); observe on histograms. A call that does not fit the type is ignored. */
void vr_metric_inc(struct vr_metric *m);
void vr_metric_add(struct vr_metric *m, double v);
void vr_metric_set(struct vr_metric *m, double v);
void vr_metric_observe(struct vr_metric *m, double v);

/* The current value (counter, gauge) or observation count (histogram). For tests. */
double vr_metric_value(const struct vr_metric *m);

/* A collector refreshes series from live state before each scrape. */
typedef void (*vr_metrics_collect_cb)(struct vr_metrics *r, void *arg);

/* Adds a collector; arg is borrowed and must outlive the registry or the collector's
 * removal. Collectors run in registration order. */
void vr_metrics_add_collector(struct vr_metrics *r, vr_metrics_collect_cb cb, void *arg);

/* Removes the collector registered with this cb and arg (no-op if absent). */
void vr_metrics_remove_collector(struct vr_metrics *r, vr_metrics_collect_cb cb, void *arg);

/* Runs every collector. */
void vr_metrics_collect(struct vr_metrics *r);

/* The exposition of every family, appended to out. Pure. A family without series writes
 * only its HELP and TYPE lines. 0, or VR_ETOOBIG when out's cap is reached (out emptied). */
int vr_metrics_render(const struct vr_metrics *r, struct vr_buf *out);

/* Formats v like Go's strconv.FormatFloat(v, 'g', -1, 64) as Prometheus clients do: the
 * shortest text that reads back as v ("0.005", "1e+06", "+Inf", "-Inf", "NaN"). out needs
 * 32 bytes. Returns out. */
char *vr_metrics_format_value(double v, char *out, size_t cap);

/* ---- process metrics (process_*), from /proc ---- */

struct vr_proc_stats {
    double cpu_seconds;        /* utime + stime */
    double resident_bytes;     /* RSS */
    double virtual_bytes;      /* VSZ */
    double start_time_seconds; /* Unix time the process started */
    double open_fds;
    double max_fds;            /* RLIMIT_NOFILE soft limit; -1 if unknown */
};

/* Parses the text of /proc/<pid>/stat (comm may contain spaces and ')'), given clock ticks
 * per second, the page size and the boot time (btime from /proc/stat). Pure. 0 (out written)
 * or VR_EPARSE. Fills cpu_seconds, resident_bytes, virtual_bytes and start_time_seconds. */
int vr_proc_parse_stat(const char *text, size_t len, long ticks, long page_size,
                       int64_t boot_time_s, struct vr_proc_stats *out);

/* Reads the calling process's stats from /proc/self (blocking reads of small files). 0 or
 * a negative code (VR_EPARSE, or a libuv-style error from the filesystem). */
int vr_proc_read_self(struct vr_proc_stats *out);

/* Registers the families process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds, process_open_fds and
 * process_max_fds, and a collector that fills them from vr_proc_read_self. Once per
 * registry. 0, or VR_EEXIST. */
int vr_metrics_register_process(struct vr_metrics *r);

/* ---- vreqd's families (prefix vreqd_) ----
 *
 *   vreqd_build_info{version}                       gauge, always 1
 *   vreqd_reconciles_total{controller,result}       counter; result success|requeue|error
 *   vreqd_reconcile_duration_seconds{controller}    histogram
 *   vreqd_workqueue_depth{controller}               gauge
 *   vreqd_watch_restarts_total{resource}            counter
 *   vreqd_watch_relists_total{resource}             counter
 *   vreqd_cached_objects{resource}                  gauge
 *   vreqd_api_requests_total{verb,code}             counter; code "error" for transport errors
 *   vreqd_presign_duration_seconds{provider}        histogram
 *   vreqd_leader                                    gauge, 1 while this process leads
 */

enum vr_vm_result {
    VR_VM_SUCCESS,
    VR_VM_REQUEUE,
    VR_VM_ERROR,
};
#define VR_VM_NRESULTS 3

/* "success", "requeue", "error". */
const char *vr_vm_result_name(enum vr_vm_result r);

/* Series of one controller; all pointers owned by the registry. */
struct vr_vm_controller {
    struct vr_metric *reconciles[VR_VM_NRESULTS];
    struct vr_metric *duration;
    struct vr_metric *depth;
};

/* Series of one watched resource. */
struct vr_vm_watch {
    struct vr_metric *restarts;
    struct vr_metric *relists;
    struct vr_metric *cached;
};

/* Kubernetes verbs counted by vreqd_api_requests_total. */
#define VR_VM_NVERBS 8
#define VR_VM_CODE_MAX 599

struct vr_vm {
    struct vr_metrics *reg; /* borrowed */
    struct vr_metric_family *reconciles, *duration, *depth, *restarts, *relists, *cached,
        *api, *presign, *leader_family;
    struct vr_metric *leader;
    /* Series made on first use: [verb][code], code 0 meaning "error". */
    struct vr_metric *api_series[VR_VM_NVERBS][VR_VM_CODE_MAX + 1];
};

/* Registers vreqd's families (above) on reg and sets vreqd_build_info{version}. vm is
 * caller-owned storage; reg is borrowed and must outlive vm. 0, or VR_EEXIST when the
 * families are already registered on reg. */
int vr_vm_init(struct vr_vm *vm, struct vr_metrics *reg, const char *version);

/* The series of a controller ("downloadrequest", "serverstatusrequest"), made at once so
 * every result shows as 0 before the first reconcile. 0 or VR_EINVAL. */
int vr_vm_controller(struct vr_vm *vm, const char *controller, struct vr_vm_controller *out);

/* Counts one reconcile with its result and duration. O(1). */
void vr_vm_reconciled(struct vr_vm_controller *c, enum vr_vm_result result, double seconds);

/* Sets the queue depth gauge. */
void vr_vm_queue_depth(struct vr_vm_controller *c, size_t depth);

/* The series of a watched resource ("downloadrequests"). 0 or VR_EINVAL. */
int vr_vm_watch(struct vr_vm *vm, const char *resource, struct vr_vm_watch *out);

/* Brings the watch series up to date with totals kept by the informer (counters only move
 * forward) and the cache size. */
void vr_vm_watch_sync(struct vr_vm_watch *w, uint64_t restarts, uint64_t relists,
                      size_t cached);

/* Counts one API request: verb "GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"
 * (anything else counts as "OTHER"), code the HTTP status (100..599) or <= 0 for a
 * transport error. O(1) after the first request of a (verb, code) pair. */
void vr_vm_api_request(struct vr_vm *vm, const char *verb, int code);

/* The presign histogram series of a provider ("aws"). 0 or VR_EINVAL. */
int vr_vm_presign(struct vr_vm *vm, const char *provider, struct vr_metric **out);

/* Sets vreqd_leader to 1 or 0. */
void vr_vm_set_leader(struct vr_vm *vm, bool leading);

#endif
