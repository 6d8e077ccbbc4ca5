/*
 * kubeconfig and in-cluster configuration (kube-api.md §6.1-6.5).
 *
 * Two halves. The parser (vr_kubeconfig_parse, _merge_take, _select) is pure: it takes a
 * file's text, does no I/O and never logs, so tests and the fuzzer drive it directly. The
 * loader (vr_kube_config_load) reads files with blocking calls, once at start-up before
 * the loop runs, and turns the selected context into a struct vr_kube_config.
 *
 * Every failure returns VR_ECONFIG (or VR_ETOOBIG for an oversized file) and writes one
 * line, without a trailing newline and never containing a secret, into the caller's
 * err buffer (truncated to errlen; errlen may be 0).
 */
#ifndef VR_KUBE_KUBECONFIG_H
#define VR_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "kube/config.h"

/* Caps on what the loader reads: a kubeconfig file, and each CA, certificate or key
 * file it names (a token file is checked here, read by the client). */
#define VR_KUBECONFIG_MAX ((size_t)16 * 1024 * 1024)
#define VR_KUBE_PEM_MAX ((size_t)1024 * 1024)
#define VR_KUBE_TOKEN_MAX ((size_t)64 * 1024)

/* The service-account directory of a pod (kube-api.md §6.1). */
#define VR_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One or more parsed (and merged) kubeconfig files. Opaque. */
struct vr_kubeconfig;

/* Parses one kubeconfig (YAML, or JSON, which is YAML) into *out. path is the file's
 * path (copied): it prefixes messages and its directory resolves relative
 * certificate-authority, client-certificate, client-key and tokenFile paths (pass an
 * absolute path to get absolute results; NULL leaves relative paths as they are).
 * *-data fields are base64-decoded here. An empty document gives an empty config.
 * Unknown fields are ignored. Returns 0 (*out written, free it with vr_kubeconfig_free)
 * or VR_ECONFIG: YAML syntax ("PATH: line L, column C: ..."), a wrong type, a missing
 * or duplicate entry name, bad base64. */
int vr_kubeconfig_parse(const char *data, size_t len, const char *path, struct vr_kubeconfig **out,
                        char *err, size_t errlen);

/* Merges src into dst the kubectl way and frees src: a named cluster, user or context
 * already in dst is kept (the FIRST file defining a name wins), others are appended;
 * src's current-context is used only when dst has none. */
void vr_kubeconfig_merge_take(struct vr_kubeconfig *dst, struct vr_kubeconfig *src);

/* True when kc defines no cluster, user or context and no current-context (client-go
 * then falls back to in-cluster configuration). */
bool vr_kubeconfig_is_empty(const struct vr_kubeconfig *kc);

void vr_kubeconfig_free(struct vr_kubeconfig *kc);

/* The effective settings of one context. Every pointer borrows from the
 * vr_kubeconfig it came from; NULL (or 0 length) = not set. */
struct vr_kubeconfig_sel {
    const char *path; /* file that defined the context (NULL if parsed without one) */
    const char *context;
    const char *cluster;
    const char *user;      /* NULL: the context names no user (anonymous) */
    const char *server;    /* as written, non-empty */
    const char *namespace; /* the context's, else "default" */
    const char *ca_file;   /* only when ca_data is not set: -data wins, like client-go */
    const char *ca_data;
    size_t ca_data_len;
    bool insecure_skip_tls_verify;
    const char *token;
    const char *token_file;
    const char *cert_file; /* only when cert_data is not set */
    const char *cert_data;
    size_t cert_data_len;
    const char *key_file; /* only when key_data is not set */
    const char *key_data; /* secret */
    size_t key_data_len;
};

/* Selects context (NULL or "" = current-context) and checks it is usable. 0 (*out
 * written) or VR_ECONFIG: no current-context, unknown context, a context naming a
 * missing cluster or user, a cluster without server, CA together with
 * insecure-skip-tls-verify, a certificate without key (or the reverse), and what vreq
 * does not support: exec plugins, auth-provider, basic auth as the only credential,
 * impersonation, tls-server-name, proxy-url. */
int vr_kubeconfig_select(const struct vr_kubeconfig *kc, const char *context,
                         struct vr_kubeconfig_sel *out, char *err, size_t errlen);

/* Fills the environment-derived members of o (kubeconfig_env, home, service_host,
 * service_port, pod_namespace) from getenv; the pointers borrow the environment. The
 * other members are left alone. */
void vr_kube_config_opts_from_env(struct vr_kube_config_opts *o);

/*
 * Loads the configuration (blocking file reads: call at start-up, before the loop runs):
 *   1. opts->kubeconfig (--kubeconfig) if set: it must exist;
 *   2. else opts->kubeconfig_env ($KUBECONFIG) if non-empty: colon-separated files,
 *      missing ones skipped, merged (vr_kubeconfig_merge_take);
 *   3. else HOME/.kube/config if it exists;
 *   4. else (and when 2 found nothing or only empty files) in-cluster, if
 *      opts->allow_in_cluster and service_host and service_port are both non-empty:
 *      https://HOST:PORT (IPv6 bracketed), SA_DIR/token as token_file (it must be
 *      readable now; the client re-reads it), SA_DIR/ca.crt as CA (unreadable: a logged
 *      warning and no custom CA, like client-go), namespace from pod_namespace, else
 *      SA_DIR/namespace, else "default".
 * opts->context picks the context (NULL = current-context). The contents of
 * certificate-authority, client-certificate and client-key files are read into the
 * PEM fields; a tokenFile must be readable. A server without scheme gets https:// when
 * TLS settings are present, else http:// (client-go's DefaultServerURL); trailing '/'
 * are dropped. Returns 0 (*cfg written; release it with vr_kube_config_cleanup),
 * VR_ECONFIG or VR_ETOOBIG with the reason in err.
 */
int vr_kube_config_load(const struct vr_kube_config_opts *opts, struct vr_kube_config *cfg,
                        char *err, size_t errlen);

#endif
