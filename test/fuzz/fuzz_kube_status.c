/*
 * Fuzz target for kube/status.c. Input: a first line "CODE RETRY-AFTER" (either may be
 * junk), then the response body. The parser must never crash, must return an error for
 * every non-2xx code, and must leave NUL-terminated fields within their arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/status.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int code, struct vr_str body, struct vr_str retry_after)
{
    struct vr_kube_status st;
    int rc = vr_kube_status_parse(code, body, retry_after, &st);
    if ((code >= 200 && code < 300) != (rc == 0))
        abort();
    if (st.code != code || st.retry_after_s < 0 || st.retry_after_s > 86400)
        abort();
    if (memchr(st.reason, '\0', sizeof(st.reason)) == NULL ||
        memchr(st.message, '\0', sizeof(st.message)) == NULL || st.message[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vr_mem_init_cjson();
    struct vr_str all = vr_str_make((const char *)data, size), head, body;
    if (!vr_str_split(all, '\n', &head, &body))
        body = vr_str_make("", 0);
    struct vr_str code_s, ra;
    if (!vr_str_split(head, ' ', &code_s, &ra))
        ra = vr_str_make(NULL, 0);
    int64_t code = 500;
    if (vr_parse_int64(code_s, 100, 599, &code) < 0)
        code = 500;
    check((int)code, body, ra);
    /* The same body under every class of status. */
    static const int codes[] = {200, 302, 400, 401, 404, 409, 410, 422, 429, 503};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        check(codes[i], body, vr_str_make(NULL, 0));
    return 0;
}
