#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/common.h"
#include "core/timefmt.h"
#include "vreq/err.h"
#include "vreq/str.h"

struct cmd;
typedef int (*set_cb)(const struct cmd *c, void *field, const char *v, char *err, size_t errlen);

/* One row of the table: the flag, its environment variable (NULL: none), where it goes. */
struct cmd {
    const char *name;
    const char *env;
    size_t off;
    set_cb set;
    const char *arg; /* metavariable in --help; NULL for a boolean */
};

static int bad(char *err, size_t errlen, const char *fmt, ...) VR_PRINTF(3, 4);

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return VR_ECONFIG;
}

static int set_str(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    if (!*v)
        return bad(err, errlen, "--%s: value must not be empty", c->name);
    *(const char **)field = v;
    return 0;
}

static int set_bool(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        *(bool *)field = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *(bool *)field = false;
    else
        return bad(err, errlen, "--%s: expected true or false, got \"%s\"", c->name, v);
    return 0;
}

static int duration_in(const struct cmd *c, const char *v, uint64_t min_ms, uint64_t *ms,
                       char *err, size_t errlen)
{
    int rc = vr_config_parse_duration(v, ms);
    if (rc < 0)
        return bad(err, errlen, "--%s: invalid duration \"%s\" (use e.g. 90s, 10m, 1m30s)",
                   c->name, v);
    if (*ms < min_ms || *ms > VR_CONFIG_MAX_TTL_MS)
        return bad(err, errlen, "--%s: %s is out of range (%llus to 168h)", c->name, v,
                   (unsigned long long)(min_ms / 1000));
    return 0;
}

/* A TTL: whole seconds (X-Amz-Expires and expiration are in seconds), 1 s to 7 days. */
static int set_ttl(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    uint64_t ms = 0; /* gcc -O2 cannot tell that bad() returns < 0 */
    int rc = duration_in(c, v, 1000, &ms, err, errlen);
    if (rc < 0)
        return rc;
    if (ms % 1000)
        return bad(err, errlen, "--%s: %s is not a whole number of seconds", c->name, v);
    *(uint64_t *)field = ms;
    return 0;
}

/* A period: 0 turns it off, otherwise at least 1 s. */
static int set_period(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    uint64_t ms = 0; /* as in set_ttl */
    if (vr_config_parse_duration(v, &ms) == 0 && ms == 0) {
        *(uint64_t *)field = 0;
        return 0;
    }
    int rc = duration_in(c, v, 1000, &ms, err, errlen);
    if (rc == 0)
        *(uint64_t *)field = ms;
    return rc;
}

static bool is_port(struct vr_str p)
{
    uint64_t port;
    return p.n > 0 && vr_parse_uint64(p, 65535, &port) == 0 && p.p[0] != '-';
}

/* "0" (off), ":PORT", "HOST:PORT" or "[V6]:PORT". */
static int set_addr(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    bool ok = !strcmp(v, "0");
    if (!ok && colon) {
        struct vr_str host = vr_str_make(v, (size_t)(colon - v));
        bool v6 = host.n > 0 && host.p[0] == '[';
        ok = is_port(vr_str_c(colon + 1)) &&
             (v6 ? host.n > 2 && host.p[host.n - 1] == ']' : !memchr(host.p, ':', host.n)) &&
             !memchr(host.p, ' ', host.n);
    }
    if (!ok)
        return bad(err, errlen, "--%s: expected HOST:PORT, :PORT or 0, got \"%s\"", c->name, v);
    *(const char **)field = v;
    return 0;
}

static int set_format(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    if (!strcmp(v, "text"))
        *(enum vr_log_format *)field = VR_LOG_FORMAT_TEXT;
    else if (!strcmp(v, "json"))
        *(enum vr_log_format *)field = VR_LOG_FORMAT_JSON;
    else
        return bad(err, errlen, "--%s: expected text or json, got \"%s\"", c->name, v);
    return 0;
}

static int set_level(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    if (vr_log_parse_level(v, (enum vr_log_level *)field) < 0)
        return bad(err, errlen, "--%s: expected trace, debug, info, warn, error or off, got \"%s\"",
                   c->name, v);
    return 0;
}

/* A DNS-1123 subdomain-ish name: lower-case alphanumerics, '-' and '.', at most 253. */
static int set_name(const struct cmd *c, void *field, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 253 && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n &&
              v[0] != '-' && v[0] != '.' && v[n - 1] != '-' && v[n - 1] != '.';
    if (!ok)
        return bad(err, errlen, "--%s: \"%s\" is not a valid Kubernetes name", c->name, v);
    *(const char **)field = v;
    return 0;
}

#define F(field) offsetof(struct vr_config, field)

static const struct cmd cmds[] = {
    {"kubeconfig", NULL, F(kubeconfig), set_str, "FILE"},
    {"namespace", "VELERO_NAMESPACE", F(namespace), set_name, "NS"},
    {"all-namespaces", NULL, F(all_namespaces), set_bool, NULL},
    {"download-url-ttl", NULL, F(download_url_ttl_ms), set_ttl, "DURATION"},
    {"server-status-ttl", NULL, F(server_status_ttl_ms), set_ttl, "DURATION"},
    {"resync-period", NULL, F(resync_period_ms), set_period, "DURATION"},
    {"server-version", NULL, F(server_version), set_str, "STRING"},
    {"plugins-file", NULL, F(plugins_file), set_str, "FILE"},
    {"metrics-addr", NULL, F(metrics_addr), set_addr, "HOST:PORT"},
    {"leader-elect", NULL, F(leader_elect), set_bool, NULL},
    {"lease-name", NULL, F(lease_name), set_name, "NAME"},
    {"log-format", "VREQD_LOG_FORMAT", F(log_format), set_format, "text|json"},
    {"log-level", "VREQD_LOG_LEVEL", F(log_level), set_level, "LEVEL"},
    {"help", NULL, F(help), set_bool, NULL},
    {"version", NULL, F(version), set_bool, NULL},
};

static const char usage[] =
    "Usage: vreqd [flags]\n"
    "\n"
    "The Velero DownloadRequest and ServerStatusRequest controllers, on one event loop.\n"
    "\n"
    "Flags:\n"
    "  --kubeconfig FILE            kubeconfig (else $KUBECONFIG, ~/.kube/config, in-cluster)\n"
    "  --namespace NS               namespace served (else $VELERO_NAMESPACE, the pod's, velero)\n"
    "  --all-namespaces             serve DownloadRequests in every namespace\n"
    "  --download-url-ttl DURATION  lifetime of a download URL and its request (10m)\n"
    "  --server-status-ttl DURATION lifetime of a processed ServerStatusRequest (1m)\n"
    "  --resync-period DURATION     re-check every cached request this often (60s; 0 = off)\n"
    "  --server-version STRING      version reported to ServerStatusRequests\n"
    "  --plugins-file FILE          plugin list reported (JSON or YAML list of {name, kind})\n"
    "  --metrics-addr HOST:PORT     /healthz, /readyz, /metrics address (:8085; 0 = off)\n"
    "  --leader-elect               take a Lease before writing\n"
    "  --lease-name NAME            name of that Lease (vreqd)\n"
    "  --log-format text|json       log line format (text; env VREQD_LOG_FORMAT)\n"
    "  --log-level LEVEL            trace, debug, info, warn, error, off (info; env "
    "VREQD_LOG_LEVEL)\n"
    "  --version                    print the version and exit\n"
    "  --help                       print this help and exit\n"
    "\n"
    "Durations take Go-style units: ms, s, m, h (e.g. 90s, 1m30s).\n";

const char *vr_config_usage(void)
{
    return usage;
}

void vr_config_default(struct vr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->download_url_ttl_ms = 10 * 60 * 1000;
    cfg->server_status_ttl_ms = 60 * 1000;
    cfg->resync_period_ms = 60 * 1000;
    cfg->server_version = "v" VR_VERSION;
    cfg->metrics_addr = ":8085";
    cfg->lease_name = "vreqd";
    cfg->log_format = VR_LOG_FORMAT_TEXT;
    cfg->log_level = VR_LOG_INFO;
}

static const struct cmd *find_cmd(struct vr_str name)
{
    for (size_t i = 0; i < VR_ARRAY_SIZE(cmds); i++)
        if (vr_str_eq_c(name, cmds[i].name))
            return &cmds[i];
    return NULL;
}

static int apply_env(struct vr_config *cfg, vr_config_getenv_cb getenv, void *arg, char *err,
                     size_t errlen)
{
    for (size_t i = 0; getenv && i < VR_ARRAY_SIZE(cmds); i++) {
        const char *v = cmds[i].env ? getenv(cmds[i].env, arg) : NULL;
        if (!v || !*v)
            continue;
        char sub[256];
        int rc = cmds[i].set(&cmds[i], (char *)cfg + cmds[i].off, v, sub, sizeof(sub));
        if (rc < 0)
            return bad(err, errlen, "%s: %s", cmds[i].env, sub);
    }
    return 0;
}

/* One flag at argv[*i]; consumes its value from argv[*i + 1] when needed. */
static int apply_flag(struct vr_config *cfg, int argc, char *const *argv, int *i, char *err,
                      size_t errlen)
{
    const char *a = argv[*i];
    if (!strcmp(a, "-h"))
        a = "--help";
    if (strncmp(a, "--", 2) != 0 || !a[2])
        return bad(err, errlen, "unexpected argument \"%s\" (see --help)", a);
    const char *eq = strchr(a + 2, '=');
    struct vr_str name = eq ? vr_str_make(a + 2, (size_t)(eq - a - 2)) : vr_str_c(a + 2);
    const struct cmd *c = find_cmd(name);
    if (!c)
        return bad(err, errlen, "unknown flag --%.*s (see --help)", (int)name.n, name.p);
    const char *v = eq ? eq + 1 : NULL;
    if (!v && c->arg) {
        if (*i + 1 >= argc)
            return bad(err, errlen, "--%s needs a value (%s)", c->name, c->arg);
        v = argv[++*i];
    }
    return c->set(c, (char *)cfg + c->off, v ? v : "true", err, errlen);
}

int vr_config_parse(struct vr_config *cfg, int argc, char *const *argv, vr_config_getenv_cb getenv,
                    void *env_arg, char *err, size_t errlen)
{
    int rc = apply_env(cfg, getenv, env_arg, err, errlen);
    for (int i = 1; rc == 0 && i < argc; i++)
        rc = apply_flag(cfg, argc, argv, &i, err, errlen);
    return rc;
}

void vr_config_finish(struct vr_config *cfg, char *ns_file_text)
{
    if (cfg->namespace)
        return;
    if (ns_file_text) {
        struct vr_str t = vr_str_trim(vr_str_c(ns_file_text));
        memmove(ns_file_text, t.p, t.n);
        ns_file_text[t.n] = '\0';
        if (t.n > 0) {
            cfg->namespace = ns_file_text;
            return;
        }
    }
    cfg->namespace = "velero";
}

/* ---- Go durations ---- */

int vr_config_parse_duration(const char *s, uint64_t *out_ms)
{
    int64_t ns;
    if (!s || *s == '-' || *s == '+') /* Go takes a sign; a configured duration never has one */
        return VR_EINVAL;
    int rc = vr_time_parse_duration(s, &ns);
    if (rc < 0)
        return rc == VR_ETOOBIG ? rc : VR_EINVAL;
    *out_ms = (uint64_t)ns / 1000000;
    return 0;
}
