/* Fuzzes the curl debug-line redactor: the first byte picks the kind (text or header) and
 * the output size, the rest is one line. Checks that the output is always a terminated
 * string inside its buffer, whatever the line, and that the Authorization header's value
 * never survives. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http/curl_debug.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_authorization(const char *line, size_t n, const char *out)
{
    static const char name[] = "authorization:";
    if (n <= sizeof(name) || strncasecmp(line, name, sizeof(name) - 1) != 0)
        return;
    vr_assert(strncasecmp(out, name, sizeof(name) - 1) != 0 ||
              strstr(out, "<redacted>") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum vr_curl_debug_kind kind = (data[0] & 1) ? VR_CURL_DEBUG_HEADER : VR_CURL_DEBUG_TEXT;
    size_t cap = (data[0] & 2) ? 32 + (data[0] >> 2) : VR_CURL_DEBUG_LINE_MAX;
    const char *line = (const char *)data + 1;
    size_t n = size - 1;
    char *out = vr_xmalloc(cap + 1);
    out[cap] = 'Z'; /* a canary just past the buffer the redactor was given */
    size_t len = vr_curl_debug_redact(kind, line, n, out, cap);
    vr_assert(len < cap && strlen(out) == len && out[cap] == 'Z');
    if (kind == VR_CURL_DEBUG_HEADER && cap == VR_CURL_DEBUG_LINE_MAX)
        check_authorization(line, n, out);
    vr_free(out);
    return 0;
}
