/*
 * Fuzz target for the kubeconfig parser (kube/kubeconfig.h): any bytes either parse, in
 * which case selecting the current context, a named one and merging with a copy all
 * succeed or fail cleanly, or fail with one line of message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig.h"
#include "vreq/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(int rc, const char *err)
{
    if (rc != VR_ECONFIG || err[0] == '\0' || strchr(err, '\n'))
        abort();
}

static void check_select(const struct vr_kubeconfig *kc, const char *context)
{
    char err[512] = "";
    struct vr_kubeconfig_sel s;
    int rc = vr_kubeconfig_select(kc, context, &s, err, sizeof(err));
    if (rc != 0) {
        check_msg(rc, err);
        return;
    }
    if (!s.server || !s.server[0] || !s.namespace || !s.context || !s.cluster)
        abort();
    if ((s.ca_data && s.ca_file) || (s.cert_data && s.cert_file) || (s.key_data && s.key_file))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    struct vr_kubeconfig *kc = NULL, *again = NULL;
    int rc = vr_kubeconfig_parse((const char *)data, size, "/fuzz/config", &kc, err, sizeof(err));
    if (rc != 0) {
        check_msg(rc, err);
        if (kc)
            abort();
        return 0;
    }
    check_select(kc, NULL);
    check_select(kc, "x");
    /* The same text parses again, and merging it in changes nothing selectable. */
    if (vr_kubeconfig_parse((const char *)data, size, "/fuzz/other", &again, err, sizeof(err)))
        abort();
    vr_kubeconfig_merge_take(kc, again);
    check_select(kc, NULL);
    vr_kubeconfig_free(kc);
    return 0;
}
