/*
 * Fuzz target for kubesim's yamlload.c: any bytes either parse into an array of
 * printable documents or fail with a message carrying a position.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vreq/mem.h"
#include "yamlload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vr_mem_init_cjson();
    cJSON *docs = NULL;
    char err[256];
    if (ks_yaml_load((const char *)data, size, &docs, err, sizeof(err)) != 0) {
        if (strncmp(err, "line ", 5) != 0)
            abort();
        return 0;
    }
    if (!cJSON_IsArray(docs))
        abort();
    char *p = cJSON_PrintUnformatted(docs);
    if (!p)
        abort();
    vr_free(p);
    cJSON_Delete(docs);
    return 0;
}
