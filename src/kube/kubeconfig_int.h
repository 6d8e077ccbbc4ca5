/* Shared by kube/kubeconfig.c (parser) and kube/kubeconfig_load.c (loader). */
#ifndef VR_KUBE_KUBECONFIG_INT_H
#define VR_KUBE_KUBECONFIG_INT_H

#include <stddef.h>

#include "vreq/mem.h"

/* snprintf into a message buffer; errlen 0 writes nothing. */
void vr__kc_errf(char *err, size_t errlen, const char *fmt, ...) VR_PRINTF(3, 4);

#endif
