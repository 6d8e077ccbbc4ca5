#include <string.h>

#include "core/common.h"
#include "store/presign.h"
#include "store/s3.h"

static const struct vr_presigner_ops *const presigners[] = {
    &vr_s3_presigner,
};

const struct vr_presigner_ops *vr_presigner_find(const char *provider)
{
    static const char ns[] = "velero.io/";
    if (!provider)
        return NULL;
    if (strncmp(provider, ns, sizeof(ns) - 1) == 0)
        provider += sizeof(ns) - 1;
    for (size_t i = 0; i < VR_ARRAY_SIZE(presigners); i++) {
        if (strcmp(presigners[i]->provider, provider) == 0)
            return presigners[i];
    }
    return NULL;
}
