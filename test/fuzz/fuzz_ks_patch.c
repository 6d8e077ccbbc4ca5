/*
 * Fuzz target for kubesim's patch.c. Input: a target JSON document, a newline, then a
 * patch document. The patch is applied as a JSON patch (when it is an array) and as a
 * merge patch; results must stay printable and a failed JSON patch must leave the target
 * untouched.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patch.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const cJSON *doc)
{
    char *p = cJSON_PrintUnformatted(doc);
    if (!p)
        abort();
    vr_free(p);
}

static void run(cJSON *target, const cJSON *patch)
{
    char err[256];
    cJSON *t = cJSON_Duplicate(target, true);
    char *before = cJSON_PrintUnformatted(t);
    if (ks_patch_json(&t, patch, err, sizeof(err)) != 0) {
        char *after = cJSON_PrintUnformatted(t);
        if (strcmp(before, after) != 0)
            abort(); /* all or nothing */
        vr_free(after);
    }
    check_printable(t);
    vr_free(before);
    cJSON_Delete(t);
    t = cJSON_Duplicate(target, true);
    ks_patch_merge(&t, patch);
    check_printable(t);
    cJSON_Delete(t);
    const cJSON *ptr = cJSON_IsString(patch) ? patch : NULL;
    if (ptr)
        (void)ks_json_pointer_get(target, ptr->valuestring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vr_mem_init_cjson();
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    if (!nl)
        return 0;
    cJSON *target = cJSON_ParseWithLengthOpts(p, (size_t)(nl - p), NULL, false);
    cJSON *patch =
        cJSON_ParseWithLengthOpts(nl + 1, size - (size_t)(nl - p) - 1, NULL, false);
    if (target && patch)
        run(target, patch);
    cJSON_Delete(target);
    cJSON_Delete(patch);
    return 0;
}
