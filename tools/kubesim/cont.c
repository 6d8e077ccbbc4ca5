/*
 * LIST continue tokens: base64url (no padding) of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"NS/NAME","c":COMPACTIONS}, like the apiserver's
 * (pkg/storage/continue.go) plus the compaction count. Opaque to clients.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "store_int.h"
#include "vreq/err.h"

#define TOKEN_MAX 2048

static const char cont_version[] = "meta.k8s.io/v1";

char *vr__ks_cont_encode(const struct ks_cont *c)
{
    char key[520];
    (void)snprintf(key, sizeof(key), "%s/%s", c->ns, c->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "v", cont_version);
    cJSON_AddNumberToObject(o, "rv", (double)c->rv);
    cJSON_AddStringToObject(o, "start", key);
    cJSON_AddNumberToObject(o, "c", (double)c->compactions);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(json);
    char *out = vr_xmalloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, (int)n);
    vr_free(json);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* base64url without padding -> bytes (NUL-terminated). -1 on anything malformed. */
static int b64url_decode(const char *tok, unsigned char *out, size_t cap, size_t *outlen)
{
    char in[TOKEN_MAX + 4];
    size_t n = strlen(tok);
    if (n == 0 || n > TOKEN_MAX || n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = tok[i];
        if (ch == '+' || ch == '/' || ch == '=')
            return -1;
        in[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    size_t pad = (4 - n % 4) % 4;
    memset(in + n, '=', pad);
    n += pad;
    if (cap < n / 4 * 3 + 1)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0 || (size_t)len < pad)
        return -1;
    *outlen = (size_t)len - pad;
    out[*outlen] = '\0';
    return 0;
}

static int uint_field(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return -1;
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int fill(const cJSON *o, struct ks_cont *c)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(o, "start");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, cont_version) != 0 ||
        !cJSON_IsString(start) || uint_field(o, "rv", &c->rv) < 0 || c->rv == 0 ||
        uint_field(o, "c", &c->compactions) < 0)
        return -1;
    const char *slash = strchr(start->valuestring, '/');
    size_t nslen = slash ? (size_t)(slash - start->valuestring) : 0;
    if (!slash || nslen >= sizeof(c->ns) || strlen(slash + 1) >= sizeof(c->name) || !slash[1])
        return -1;
    memcpy(c->ns, start->valuestring, nslen);
    c->ns[nslen] = '\0';
    (void)snprintf(c->name, sizeof(c->name), "%s", slash + 1);
    return 0;
}

int vr__ks_cont_decode(const char *tok, struct ks_cont *c)
{
    unsigned char raw[TOKEN_MAX];
    size_t n;
    const char *end = NULL;
    if (b64url_decode(tok, raw, sizeof(raw), &n) < 0)
        return -1;
    cJSON *o = cJSON_ParseWithLengthOpts((const char *)raw, n, &end, 0);
    int rc = o && cJSON_IsObject(o) && end == (const char *)raw + n ? fill(o, c) : -1;
    cJSON_Delete(o);
    return rc;
}
