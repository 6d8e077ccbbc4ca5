/* Fuzzes vreqd's flag parser: the input is split at NUL bytes into argv[1..]. Checks that
 * every failure writes one line and every success leaves sane values. */
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "vreq/mem.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = vr_xmalloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    static char prog[] = "vreqd";
    char *argv[MAX_ARGS + 1] = {prog};
    int argc = 1;
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i += strlen(buf + i) + 1)
        if (size > 0)
            argv[argc++] = buf + i;
    struct vr_config c;
    char err[256] = "";
    vr_config_default(&c);
    int rc = vr_config_parse(&c, argc, argv, NULL, NULL, err, sizeof(err));
    if (rc < 0) {
        vr_assert(err[0] && !strchr(err, '\n'));
    } else {
        vr_assert(c.download_url_ttl_ms >= 1000 && c.download_url_ttl_ms <= VR_CONFIG_MAX_TTL_MS);
        vr_assert(c.download_url_ttl_ms % 1000 == 0);
        vr_assert(c.metrics_addr && c.lease_name && c.server_version);
    }
    vr_free(buf);
    return 0;
}
