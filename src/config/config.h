/*
 * vreqd's configuration: a table of {flag, env, offsetof(struct vr_config, field), setter}
 * rows, after nginx's command tables (nginx/nginx:src/event/ngx_event.c:121). Every flag of
 * contract.md §9 is parsed here, including those that other modules act on.
 *
 * Pure: no I/O, no clock, no logging. The environment is read through a callback and the
 * in-cluster namespace file is read by the caller and handed to vr_config_finish.
 * Strings in struct vr_config borrow argv, the environment or the caller's buffers: they
 * must outlive the config. Nothing in it needs freeing.
 */
#ifndef VR_CONFIG_CONFIG_H
#define VR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vreq/log.h"

/* The in-cluster namespace file (read by vreqd's main, passed to vr_config_finish). */
#define VR_CONFIG_NS_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
/* Longest accepted duration: 7 days, also S3's longest X-Amz-Expires. */
#define VR_CONFIG_MAX_TTL_MS ((uint64_t)604800 * 1000)

struct vr_config {
    const char *kubeconfig;      /* --kubeconfig; NULL: $KUBECONFIG, else in-cluster */
    const char *namespace;       /* --namespace / VELERO_NAMESPACE / ns file / "velero" */
    bool all_namespaces;         /* --all-namespaces */
    uint64_t download_url_ttl_ms; /* --download-url-ttl (10m), whole seconds, 1s..168h */
    uint64_t server_status_ttl_ms; /* --server-status-ttl (1m) */
    uint64_t resync_period_ms;   /* --resync-period (60s); 0 turns the resync off */
    const char *server_version;  /* --server-version ("v" VR_VERSION) */
    const char *plugins_file;    /* --plugins-file; NULL: the built-in list */
    const char *metrics_addr;    /* --metrics-addr (":8085"); "0" disables */
    bool leader_elect;           /* --leader-elect */
    const char *lease_name;      /* --lease-name ("vreqd") */
    enum vr_log_format log_format; /* --log-format text|json */
    enum vr_log_level log_level;   /* --log-level (info) */
    bool help;                   /* --help / -h: print vr_config_usage, exit 0 */
    bool version;                /* --version: print the version, exit 0 */
};

/* Environment lookup: the value of name or NULL (getenv-like; the result is borrowed). */
typedef const char *(*vr_config_getenv_cb)(const char *name, void *arg);

/* Fills cfg with the defaults above (namespace NULL until vr_config_finish). */
void vr_config_default(struct vr_config *cfg);

/*
 * Applies environment variables (through getenv, may be NULL for none) and then the
 * flags argv[1..argc-1] ("--flag value" or "--flag=value"; booleans take no value or
 * "=true"/"=false") to cfg, which must hold the defaults. Returns 0, or VR_ECONFIG with
 * one line in err (truncated to errlen) for an unknown flag, a missing or bad value, or
 * a positional argument. On error cfg may be partly updated; the caller exits 2.
 */
int vr_config_parse(struct vr_config *cfg, int argc, char *const *argv, vr_config_getenv_cb getenv,
                    void *env_arg, char *err, size_t errlen);

/* Completes cfg after parsing: without --namespace or VELERO_NAMESPACE, the namespace is
 * ns_file_text (the in-cluster namespace file, trimmed in place; NULL when unreadable), else
 * "velero". ns_file_text must outlive cfg. */
void vr_config_finish(struct vr_config *cfg, char *ns_file_text);

/*
 * Parses a Go time.ParseDuration string ("300ms", "1.5h", "1m30s", "0"; units ns us µs
 * ms s m h; no sign) into milliseconds, truncating below 1 ms: vr_time_parse_duration
 * (core/timefmt.h) without the sign. 0, or VR_EINVAL (syntax, missing unit, unknown unit,
 * a sign) or VR_ETOOBIG (over Go's limit, 2^63-1 ns, about 292 years).
 */
int vr_config_parse_duration(const char *s, uint64_t *out_ms);

/* The --help text (static). */
const char *vr_config_usage(void);

#endif
