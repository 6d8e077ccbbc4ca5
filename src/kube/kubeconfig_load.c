/*
 * The configuration loader: finds and reads kubeconfig files (or the in-cluster
 * service-account files) and builds a struct vr_kube_config. It blocks on file reads,
 * which is fine because it runs once at start-up, before the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kube/kubeconfig.h"
#include "kube/kubeconfig_int.h"
#include "vreq/buf.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"
#include "vreq/str.h"

/* The error code a failed read turns into, with "cannot read WHAT PATH: why". */
static int read_fail(int rc, const char *what, const char *path, size_t cap, char *err,
                     size_t errlen)
{
    if (rc == VR_ETOOBIG) {
        vr__kc_errf(err, errlen, "cannot read %s %s: larger than %zu bytes", what, path, cap);
        return VR_ETOOBIG;
    }
    vr__kc_errf(err, errlen, "cannot read %s %s: %s", what, path, uv_strerror(rc));
    return VR_ECONFIG;
}

static char *abs_path(const char *path)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return vr_xstrdup(path);
    return vr_xasprintf("%s/%s", cwd, path);
}

/* Reads and parses one kubeconfig. With missing_ok, a file that does not exist gives
 * 0 and *out = NULL. */
static int load_file(const char *path, bool missing_ok, struct vr_kubeconfig **out, char *err,
                     size_t errlen)
{
    char *abs = abs_path(path);
    char *data = NULL;
    size_t len = 0;
    int rc = vr_file_read(abs, VR_KUBECONFIG_MAX, &data, &len);
    if (rc == UV_ENOENT && missing_ok) {
        *out = NULL;
        rc = 0;
    } else if (rc < 0) {
        rc = read_fail(rc, "kubeconfig", abs, VR_KUBECONFIG_MAX, err, errlen);
    } else {
        rc = vr_kubeconfig_parse(data, len, abs, out, err, errlen);
        vr_free_secret(data, len); /* a kubeconfig may hold tokens and keys */
    }
    vr_free(abs);
    return rc;
}

/* $KUBECONFIG: colon-separated, missing files skipped, first definition wins. *out is
 * NULL when no listed file exists. */
static int load_list(const char *list, struct vr_kubeconfig **out, char *err, size_t errlen)
{
    struct vr_kubeconfig *all = NULL;
    struct vr_str rest = vr_str_c(list), one;
    bool more = true;
    while (more) {
        more = vr_str_split(rest, ':', &one, &rest);
        if (one.n == 0)
            continue;
        char *path = vr_str_dup(one);
        struct vr_kubeconfig *kc = NULL;
        int rc = load_file(path, true, &kc, err, errlen);
        vr_free(path);
        if (rc < 0) {
            vr_kubeconfig_free(all);
            return rc;
        }
        if (kc && all)
            vr_kubeconfig_merge_take(all, kc);
        else if (kc)
            all = kc;
    }
    *out = all;
    return 0;
}

static bool has_pem_block(const char *p, size_t n)
{
    static const char tag[] = "-----BEGIN ";
    for (size_t i = 0; i + sizeof(tag) - 1 <= n; i++)
        if (memcmp(p + i, tag, sizeof(tag) - 1) == 0)
            return true;
    return false;
}

/* One PEM setting: inline data (already decoded) wins over the file. what is
 * "certificate-authority", owner e.g. "cluster \"c\"". */
struct pem_src {
    const char *data;
    size_t data_len;
    const char *file;
    const char *what;
    const char *owner;
};

static int load_pem(const struct pem_src *s, char **out, size_t *outlen, char *err, size_t errlen)
{
    char *p;
    size_t n;
    if (s->data) {
        p = vr_xstrndup(s->data, s->data_len);
        n = s->data_len;
    } else if (s->file) {
        int rc = vr_file_read(s->file, VR_KUBE_PEM_MAX, &p, &n);
        if (rc < 0) {
            char what[128];
            (void)snprintf(what, sizeof(what), "%s of %s:", s->what, s->owner);
            return read_fail(rc, what, s->file, VR_KUBE_PEM_MAX, err, errlen);
        }
    } else {
        return 0;
    }
    if (!has_pem_block(p, n)) {
        vr_free_secret(p, n);
        vr__kc_errf(err, errlen, "%s%s of %s%s%s holds no PEM block (-----BEGIN ...)", s->what,
                    s->data ? "-data" : "", s->owner, s->data ? "" : ": ", s->data ? "" : s->file);
        return VR_ECONFIG;
    }
    *out = p;
    *outlen = n;
    return 0;
}

/* client-go's DefaultServerURL: a bare host gets https:// when TLS is configured. */
static int build_server(const struct vr_kubeconfig_sel *s, char **out, char *err, size_t errlen)
{
    struct vr_str v = vr_str_c(s->server);
    bool has_scheme = vr_str_starts_with(v, "https://") || vr_str_starts_with(v, "http://");
    while (v.n > 0 && v.p[v.n - 1] == '/')
        v.n--;
    char *url;
    if (has_scheme) {
        url = vr_str_dup(v);
    } else if (strstr(s->server, "://")) {
        vr__kc_errf(err, errlen,
                    "server \"%s\" of cluster \"%s\" is not an http:// or https:// URL", s->server,
                    s->cluster);
        return VR_ECONFIG;
    } else {
        bool tls =
            s->ca_data || s->ca_file || s->cert_data || s->cert_file || s->insecure_skip_tls_verify;
        url = vr_xasprintf("%s%.*s", tls ? "https://" : "http://", (int)v.n, v.p);
    }
    const char *host = strstr(url, "://");
    if (!host || host[3] == '\0' || host[3] == '/') {
        vr__kc_errf(err, errlen, "server \"%s\" of cluster \"%s\" has no host", s->server,
                    s->cluster);
        vr_free(url);
        return VR_ECONFIG;
    }
    *out = url;
    return 0;
}

/* The token file must be readable now: a typo should fail at start-up, not at the
 * first request. Its contents are not kept (the client re-reads the file). */
static int check_token_file(const char *path, const char *owner, char *err, size_t errlen)
{
    char *tok = NULL;
    size_t n = 0;
    int rc = vr_file_read(path, VR_KUBE_TOKEN_MAX, &tok, &n);
    if (rc < 0) {
        char what[128];
        (void)snprintf(what, sizeof(what), "the token file of %s:", owner);
        return read_fail(rc, what, path, VR_KUBE_TOKEN_MAX, err, errlen);
    }
    vr_free_secret(tok, n);
    return 0;
}

static int load_tls(const struct vr_kubeconfig_sel *s, struct vr_kube_config *c, char *err,
                    size_t errlen)
{
    char cl[300], us[300];
    (void)snprintf(cl, sizeof(cl), "cluster \"%s\"", s->cluster);
    (void)snprintf(us, sizeof(us), "user \"%s\"", s->user ? s->user : "");
    struct pem_src ca = {s->ca_data, s->ca_data_len, s->ca_file, "certificate-authority", cl};
    struct pem_src cert = {s->cert_data, s->cert_data_len, s->cert_file, "client-certificate", us};
    struct pem_src key = {s->key_data, s->key_data_len, s->key_file, "client-key", us};
    int rc = load_pem(&ca, &c->ca_pem, &c->ca_pem_len, err, errlen);
    if (rc == 0)
        rc = load_pem(&cert, &c->cert_pem, &c->cert_pem_len, err, errlen);
    if (rc == 0)
        rc = load_pem(&key, &c->key_pem, &c->key_pem_len, err, errlen);
    if (rc == 0 && s->token_file)
        rc = check_token_file(s->token_file, us, err, errlen);
    return rc;
}

static int from_kubeconfig(const struct vr_kubeconfig *kc, const char *context,
                           struct vr_kube_config *cfg, char *err, size_t errlen)
{
    struct vr_kubeconfig_sel s;
    int rc = vr_kubeconfig_select(kc, context, &s, err, errlen);
    if (rc < 0)
        return rc;
    struct vr_kube_config c = {.insecure_skip_tls_verify = s.insecure_skip_tls_verify};
    rc = build_server(&s, &c.server, err, errlen);
    if (rc < 0)
        return rc;
    rc = load_tls(&s, &c, err, errlen);
    if (rc < 0) {
        vr_kube_config_cleanup(&c);
        return rc;
    }
    c.namespace = vr_xstrdup(s.namespace);
    c.source = vr_xasprintf("kubeconfig %s (context %s)", s.path ? s.path : "?", s.context);
    c.token = s.token ? vr_xstrdup(s.token) : NULL;
    c.token_file = s.token_file ? vr_xstrdup(s.token_file) : NULL;
    *cfg = c;
    return 0;
}

/* ---- in-cluster ---- */

static bool in_cluster_possible(const struct vr_kube_config_opts *o)
{
    return o->allow_in_cluster && o->service_host && o->service_host[0] && o->service_port &&
           o->service_port[0];
}

/* POD_NAMESPACE, else the trimmed namespace file, else "default". */
static char *in_cluster_namespace(const struct vr_kube_config_opts *o, const char *sa)
{
    if (o->pod_namespace && o->pod_namespace[0])
        return vr_xstrdup(o->pod_namespace);
    char *path = vr_xasprintf("%s/namespace", sa);
    char *data = NULL;
    size_t n = 0;
    char *ns = NULL;
    if (vr_file_read(path, 4096, &data, &n) == 0) {
        struct vr_str t = vr_str_trim(vr_str_make(data, n));
        if (t.n > 0)
            ns = vr_str_dup(t);
        vr_free(data);
    }
    vr_free(path);
    return ns ? ns : vr_xstrdup("default");
}

/* client-go logs and continues without a custom CA when ca.crt is unreadable. */
static void in_cluster_ca(const char *sa, struct vr_kube_config *c)
{
    char *path = vr_xasprintf("%s/ca.crt", sa);
    int rc = vr_file_read(path, VR_KUBE_PEM_MAX, &c->ca_pem, &c->ca_pem_len);
    if (rc < 0)
        VR_LOG(VR_LOG_WARN, "kube", "in-cluster CA %s unreadable (%s): using the system CAs", path,
               rc == VR_ETOOBIG ? "too large" : uv_strerror(rc));
    vr_free(path);
}

static int load_in_cluster(const struct vr_kube_config_opts *o, struct vr_kube_config *cfg,
                           char *err, size_t errlen)
{
    const char *sa = o->sa_dir ? o->sa_dir : VR_KUBE_SA_DIR;
    const char *host = o->service_host;
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';
    struct vr_kube_config c = {0};
    c.token_file = vr_xasprintf("%s/token", sa);
    int rc = check_token_file(c.token_file, "the in-cluster service account", err, errlen);
    if (rc < 0) {
        vr_free(c.token_file);
        return rc;
    }
    c.server = vr_xasprintf(v6 ? "https://[%s]:%s" : "https://%s:%s", host, o->service_port);
    in_cluster_ca(sa, &c);
    c.namespace = in_cluster_namespace(o, sa);
    c.source = vr_xasprintf("in-cluster service account %s (%s)", sa, c.server);
    *cfg = c;
    return 0;
}

/* ---- entry points ---- */

static int nothing_found(const struct vr_kube_config_opts *o, char *err, size_t errlen)
{
    const char *env = o->kubeconfig_env && o->kubeconfig_env[0] ? o->kubeconfig_env : NULL;
    const char *cluster = o->allow_in_cluster
                              ? ", and not running in a cluster (KUBERNETES_SERVICE_HOST or "
                                "KUBERNETES_SERVICE_PORT is unset)"
                              : "";
    if (env)
        vr__kc_errf(err, errlen,
                    "no Kubernetes configuration: no file listed in $KUBECONFIG (%s) exists "
                    "or defines anything%s",
                    env, cluster);
    else if (o->home && o->home[0])
        vr__kc_errf(err, errlen,
                    "no Kubernetes configuration: no --kubeconfig, $KUBECONFIG is unset, "
                    "%s/.kube/config does not exist%s",
                    o->home, cluster);
    else
        vr__kc_errf(err, errlen,
                    "no Kubernetes configuration: no --kubeconfig, $KUBECONFIG and $HOME are "
                    "unset%s",
                    cluster);
    return VR_ECONFIG;
}

/* The kubeconfig source chosen by the rules in the header; *kc = NULL if none. */
static int find_kubeconfig(const struct vr_kube_config_opts *o, struct vr_kubeconfig **kc,
                           char *err, size_t errlen)
{
    *kc = NULL;
    if (o->kubeconfig && o->kubeconfig[0])
        return load_file(o->kubeconfig, false, kc, err, errlen);
    if (o->kubeconfig_env && o->kubeconfig_env[0])
        return load_list(o->kubeconfig_env, kc, err, errlen);
    if (!o->home || !o->home[0])
        return 0;
    char *path = vr_xasprintf("%s/.kube/config", o->home);
    int rc = load_file(path, true, kc, err, errlen);
    vr_free(path);
    return rc;
}

int vr_kube_config_load(const struct vr_kube_config_opts *opts, struct vr_kube_config *cfg,
                        char *err, size_t errlen)
{
    struct vr_kubeconfig *kc;
    int rc = find_kubeconfig(opts, &kc, err, errlen);
    if (rc < 0)
        return rc;
    bool explicit = opts->kubeconfig && opts->kubeconfig[0];
    /* Like client-go, an empty merged config falls through to in-cluster, except when
     * the file was named explicitly. */
    if (kc && (explicit || !vr_kubeconfig_is_empty(kc) || !in_cluster_possible(opts))) {
        rc = from_kubeconfig(kc, opts->context, cfg, err, errlen);
        vr_kubeconfig_free(kc);
        return rc;
    }
    vr_kubeconfig_free(kc);
    if (in_cluster_possible(opts))
        return load_in_cluster(opts, cfg, err, errlen);
    return nothing_found(opts, err, errlen);
}

void vr_kube_config_opts_from_env(struct vr_kube_config_opts *o)
{
    o->kubeconfig_env = getenv("KUBECONFIG");
    o->home = getenv("HOME");
    o->service_host = getenv("KUBERNETES_SERVICE_HOST");
    o->service_port = getenv("KUBERNETES_SERVICE_PORT");
    o->pod_namespace = getenv("POD_NAMESPACE");
}
