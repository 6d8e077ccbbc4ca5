/* struct vr_kube_config's release; the loaders live in kube/kubeconfig.c. */
#include <string.h>

#include "kube/config.h"
#include "vreq/mem.h"

/* Frees a secret of known length (a PEM key may hold NULs: no strlen). */
static void free_secret(char *p, size_t n)
{
    if (p)
        vr_free_secret(p, n);
}

void vr_kube_config_cleanup(struct vr_kube_config *c)
{
    vr_free(c->server);
    vr_free(c->namespace);
    vr_free(c->source);
    vr_free(c->ca_pem);
    vr_free(c->cert_pem);
    free_secret(c->key_pem, c->key_pem_len);
    free_secret(c->token, c->token ? strlen(c->token) : 0);
    vr_free(c->token_file);
    memset(c, 0, sizeof(*c));
}
