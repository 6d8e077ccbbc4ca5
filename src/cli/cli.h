/*
 * The vreq CLI runtime: one struct vr_cli per process owns the loop, the clock, the curl
 * bridge and the Kubernetes client, and carries the global flags. Commands are rows of a
 * dispatch table (src/vreq.c, functions declared in cli/commands.h); each runs on the
 * loop and ends the process's work with exactly one vr_cli_exit().
 *
 * Global flags (accepted before or after the command words, like Velero's persistent
 * flags): --kubeconfig FILE (else $KUBECONFIG, else ~/.kube/config, else in-cluster),
 * -n/--namespace NS (else $VELERO_NAMESPACE, else "velero"), --timeout DURATION (default
 * 1m; 5s for version and plugin get), --cacert FILE, --insecure-skip-tls-verify,
 * --max-decompressed-size SIZE (default 1 GiB), -h/--help.
 *
 * Exit codes: 0 success; 1 failure, with one line "An error occurred: <msg>" on stderr
 * (Velero's wording, pkg/cmd/errors.go); 2 usage error ("Error: <msg>" and a hint).
 */
#ifndef VR_CLI_CLI_H
#define VR_CLI_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "kube/client.h"
#include "kube/config.h"
#include "loop/clock.h"
#include "vreq/curl_uv.h"
#include "vreq/mem.h"
#include "vreq/str.h"

/* Exit codes. */
#define VR_CLI_EXIT_OK 0
#define VR_CLI_EXIT_FAIL 1
#define VR_CLI_EXIT_USAGE 2

/* Defaults of the global flags. */
#define VR_CLI_TIMEOUT_DEFAULT_MS 60000u
#define VR_CLI_MAX_DECOMPRESSED_DEFAULT ((uint64_t)1 << 30)
#define VR_CLI_NAMESPACE_DEFAULT "velero"
/* Most positional arguments a command takes. */
#define VR_CLI_MAX_POS 8

/* Global options, filled by vr_cli_parse_args from argv and the environment. Strings
 * borrow argv or the environment. */
struct vr_cli_opts {
    const char *kubeconfig;   /* --kubeconfig, NULL = $KUBECONFIG / default chain */
    const char *namespace;    /* -n, else $VELERO_NAMESPACE, else "velero" */
    unsigned timeout_ms;      /* --timeout; valid only when timeout_set */
    bool timeout_set;
    const char *cacert;       /* --cacert FILE, or NULL */
    bool insecure_skip_tls_verify;
    uint64_t max_decompressed; /* --max-decompressed-size, bytes (> 0) */
    bool help;                /* -h/--help anywhere */
};

/* Per-command flags; each command row says which ones it accepts (VR_CLI_F_*). */
#define VR_CLI_F_OUTPUT (1u << 0)      /* -o/--output VALUE (file, or table|json) */
#define VR_CLI_F_FORCE (1u << 1)       /* --force */
#define VR_CLI_F_DETAILS (1u << 2)     /* --details */
#define VR_CLI_F_CLIENT_ONLY (1u << 3) /* --client-only */

/* What a command receives: its positional arguments and its own flags (borrowed from
 * argv, valid for the whole process). */
struct vr_cli_args {
    const char *pos[VR_CLI_MAX_POS];
    size_t npos;
    const char *output; /* -o/--output, NULL when not given */
    bool force;
    bool details;
    bool client_only;
};

struct vr_cli;

/* A command: runs on the loop (called once from main after the runtime is up, or before it
 * for commands with needs_kube false) and must call vr_cli_exit exactly once, either inside
 * this call or later from a loop callback. */
typedef void (*vr_cli_run_cb)(struct vr_cli *cli, const struct vr_cli_args *args);

/* One row of the dispatch table (src/vreq.c). */
struct vr_cli_cmd {
    const char *words;       /* "backup logs": the command path */
    const char *usage_args;  /* "NAME", "KIND NAME", "" */
    const char *summary;     /* one line for the command list */
    const char *help;        /* longer text for `--help` (may be NULL) */
    unsigned min_pos, max_pos;
    unsigned flags;          /* VR_CLI_F_* it accepts */
    unsigned default_timeout_ms; /* 0 = VR_CLI_TIMEOUT_DEFAULT_MS */
    bool needs_kube;         /* false: runs without a kubeconfig (version --client-only
                              * decides by itself through vr_cli_connect) */
    vr_cli_run_cb run;
};

/* The process context. Commands read the members; only cli.c writes them. */
struct vr_cli {
    uv_loop_t loop;
    struct vr_clock clock;           /* system clock on loop */
    struct vr_curl_uv *cu;           /* the curl bridge, NULL until vr_cli_connect */
    struct vr_kube_client *kube;     /* NULL until vr_cli_connect */
    struct vr_kube_config kcfg;      /* loaded configuration */
    struct vr_cli_opts opts;         /* global flags */
    const struct vr_cli_cmd *cmd;    /* the command being run */
    const char *namespace;           /* Velero namespace (opts.namespace) */
    unsigned timeout_ms;             /* --timeout, or the command's default */
    uint64_t max_decompressed;       /* cap on gunzipped output */
    bool progress;                   /* a command may set it: show a progress bar while
                                      * downloading (only ever true when stderr is a tty) */
    char *extra_ca_pem;              /* --cacert contents (NUL-terminated), or NULL */
    size_t extra_ca_len;
    /* Internal. */
    bool exited;
    int exit_code;
    char *exit_msg;
    struct vr_cli_fetch *fetches;    /* fetches in flight, cancelled on SIGINT/SIGTERM */
    uv_signal_t sigint, sigterm;
    bool interrupted;
};

/*
 * Parses argv (argv[0] skipped) against the command table cmds[0..ncmds): global flags
 * anywhere, then the command words (the longest row whose words are the first
 * positional arguments), then that command's flags and positionals. getenv_fn reads the
 * environment (getenv; tests pass a fake). Flag forms: --flag VALUE, --flag=VALUE, -n VALUE,
 * -nVALUE, -o VALUE, -oVALUE, "--" ends flags. Durations take Go suffixes (ms, s, m, h;
 * combinations like 1m30s); sizes take a byte count with optional K, M, G, T (powers of
 * 1024, "Ki"/"KiB" spellings accepted).
 * On success returns 0 and writes *opts, *args and *cmd (NULL when only --help was asked
 * without a command, or no command was given with --help). On a usage error returns
 * VR_EINVAL with a one-line reason in err (errlen bytes, NUL-terminated), and *cmd set to
 * the command when it was recognised (for its usage text). Pure: no I/O.
 */
int vr_cli_parse_args(int argc, char **argv, const struct vr_cli_cmd *cmds, size_t ncmds,
                      const char *(*getenv_fn)(const char *name), struct vr_cli_opts *opts,
                      struct vr_cli_args *args, const struct vr_cli_cmd **cmd, char *err,
                      size_t errlen);

/* Parses a Go duration without a sign ("30s", "1m30s", "500ms", "1.5h"; a bare "0" is 0;
 * vr_time_parse_duration, core/timefmt.h) into milliseconds, truncated. 0, VR_EPARSE or
 * VR_ETOOBIG (over UINT_MAX ms). */
int vr_cli_parse_duration_ms(const char *s, unsigned *out_ms);
/* Parses a size ("1073741824", "512M", "1GiB", "64k"). 0, VR_EPARSE or VR_ETOOBIG. */
int vr_cli_parse_size(const char *s, uint64_t *out);

/* Initialises *cli (caller storage) for cmd with opts: the loop, the clock, signal
 * handlers for SIGINT/SIGTERM, SIGPIPE ignored. Reads the --cacert file (blocking, at
 * start-up): 0, or VR_ECONFIG with the reason in err. */
int vr_cli_init(struct vr_cli *cli, const struct vr_cli_cmd *cmd,
                const struct vr_cli_opts *opts, char *err, size_t errlen);
/* Loads the kubeconfig and creates the curl bridge and the Kubernetes client (blocking
 * file reads: call before the loop runs, main does it for needs_kube commands). Idempotent.
 * 0, or VR_ECONFIG / VR_EHTTP with the reason in err. */
int vr_cli_connect(struct vr_cli *cli, char *err, size_t errlen);
/* Records the outcome (first call wins; later calls are ignored) and stops the loop once
 * nothing is left to do. code is VR_CLI_EXIT_*; fmt (may be NULL for none) is the one-line
 * message main prints: after "An error occurred: " for code 1, after "Error: " for 2. */
void vr_cli_exit(struct vr_cli *cli, int code, const char *fmt, ...) VR_PRINTF(3, 4);
/* Runs the loop until vr_cli_exit has been called and the work it waits for (for example a
 * DownloadRequest delete) is over, then tears down the client, the bridge and the loop,
 * prints the exit message and returns the exit code. */
int vr_cli_run(struct vr_cli *cli);
/* Writes all n bytes to fd (blocking; EINTR and short writes handled). 0, or a negative
 * uv error code (UV_EPIPE, UV_ENOSPC, ...). */
int vr_cli_write_all(int fd, struct vr_str s);
/* Prints the usage of cmd (or the command list when cmd is NULL) to the stream fp. */
void vr_cli_print_usage(void *fp, const struct vr_cli_cmd *cmds, size_t ncmds,
                        const struct vr_cli_cmd *cmd);

/* The fetch API (vr_cli_fetch, kinds, request names) lives in cli/fetch.h. */
#include "cli/fetch.h"

#endif
