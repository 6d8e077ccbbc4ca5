/*
 * Where the API server is and how to talk to it: the result of loading a kubeconfig or
 * the in-cluster service-account files (kube/kubeconfig.c), consumed by kube/client.c.
 * Secrets in it (token, client key) are wiped by vr_kube_config_cleanup.
 */
#ifndef VR_KUBE_CONFIG_H
#define VR_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct vr_kube_config {
    char *server;    /* "https://10.0.0.1:443", "http://127.0.0.1:8080"; no trailing '/' */
    char *namespace; /* context namespace, in-cluster namespace file, else "default" */
    char *source;    /* for messages: "kubeconfig /root/.kube/config (context kubesim)" */

    /* TLS: PEM text (from *-data, or the contents of the named file), or NULL. */
    char *ca_pem;
    size_t ca_pem_len;
    char *cert_pem;
    size_t cert_pem_len;
    char *key_pem; /* secret */
    size_t key_pem_len;
    bool insecure_skip_tls_verify;

    /* Auth: a static token, and/or a file the client re-reads about every minute and
     * after a 401 (client-go's cached file token source). token wins when both are set,
     * but the file still refreshes it (kube-api.md §6.3). */
    char *token; /* secret */
    char *token_file;
};

/* Which configuration to load, from flags and environment. */
struct vr_kube_config_opts {
    const char *kubeconfig; /* --kubeconfig: must exist when given */
    const char *context;    /* --context, NULL = current-context */
    const char *kubeconfig_env; /* $KUBECONFIG (colon-separated, merged), NULL if unset */
    const char *home;           /* $HOME, for ~/.kube/config */
    bool allow_in_cluster;      /* try in-cluster when no kubeconfig is found */
    /* In-cluster inputs (vr_kube_config_opts_from_env in kube/kubeconfig.h fills the
     * environment-derived ones). */
    const char *service_host;  /* $KUBERNETES_SERVICE_HOST */
    const char *service_port;  /* $KUBERNETES_SERVICE_PORT */
    const char *pod_namespace; /* $POD_NAMESPACE */
    const char *sa_dir;        /* service-account directory; NULL = VR_KUBE_SA_DIR (tests) */
};

/* Releases everything, wiping secrets; c is zeroed and may be reused. */
void vr_kube_config_cleanup(struct vr_kube_config *c);

#endif
