#include <string.h>

#include <openssl/crypto.h>

#include "store/aws_creds.h"
#include "vreq/mem.h"

static char *dup_or_null(const char *s)
{
    return s ? vr_xstrdup(s) : NULL;
}

void vr_aws_creds_copy(struct vr_aws_creds *dst, const struct vr_aws_creds *src)
{
    dst->access_key_id = dup_or_null(src->access_key_id);
    dst->secret_access_key = dup_or_null(src->secret_access_key);
    dst->session_token = dup_or_null(src->session_token);
    dst->expiration_s = src->expiration_s;
    dst->source = src->source;
}

static void free_secret_str(char *s)
{
    if (s)
        vr_free_secret(s, strlen(s));
}

void vr_aws_creds_cleanup(struct vr_aws_creds *c)
{
    vr_free(c->access_key_id);
    free_secret_str(c->secret_access_key);
    free_secret_str(c->session_token);
    memset(c, 0, sizeof(*c));
}
