/*
 * Fuzz target for the AWS credentials INI parser (store/cred_ini.h): any bytes either parse,
 * for the default profile and a named one, or fail with VR_ECONFIG and one line of message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/cred_ini.h"
#include "vreq/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, const char *profile)
{
    char err[256] = "";
    struct vr_aws_profile p;
    memset(&p, 0, sizeof(p));
    int rc = vr_cred_ini_parse((const char *)data, size, profile, &p, err, sizeof(err));
    if (rc != 0) {
        if (rc != VR_ECONFIG || err[0] == '\0' || strchr(err, '\n') || p.access_key_id)
            abort();
        return;
    }
    /* Values are trimmed and single-line. */
    if (p.access_key_id && (p.access_key_id[0] == ' ' || strchr(p.access_key_id, '\n')))
        abort();
    vr_aws_profile_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, NULL);
    one(data, size, "prod");
    return 0;
}
