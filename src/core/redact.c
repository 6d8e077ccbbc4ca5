#include <string.h>

#include "core/redact.h"
#include "vreq/mem.h"

/* Appends n bytes of p to out at *len, cutting with "..." at the cap. */
static void put(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
    if (*len + n < cap) {
        memcpy(out + *len, p, n);
        *len += n;
        out[*len] = '\0';
        return;
    }
    size_t room = cap - 1 - *len;
    memcpy(out + *len, p, room);
    *len = cap - 1;
    memcpy(out + cap - 4, "...", 3);
    out[cap - 1] = '\0';
}

const char *vr_redact_url(const char *url, char *out, size_t cap)
{
    vr_assert(cap >= 16);
    size_t len = 0;
    out[0] = '\0';
    if (!url)
        return out;
    size_t end = strcspn(url, "?#");
    const char *auth = strstr(url, "://");
    size_t from = 0;
    if (auth && (size_t)(auth - url) < end) {
        size_t a = (size_t)(auth - url) + 3;
        size_t host_end = a + strcspn(url + a, "/?#");
        from = a;
        /* The last '@' ends the userinfo; a password may hold a raw '@'. */
        for (size_t i = a; i < host_end; i++)
            if (url[i] == '@')
                from = i + 1;
        put(out, cap, &len, url, a);
    }
    put(out, cap, &len, url + from, end - from);
    if (url[end] == '?')
        put(out, cap, &len, "?" VR_REDACTED, sizeof(VR_REDACTED));
    return out;
}
