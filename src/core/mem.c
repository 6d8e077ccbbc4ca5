#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "vreq/mem.h"

static VR_NORETURN void oom(size_t n)
{
    vr_panic("out of memory allocating %zu bytes", n);
}

void *vr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *vr_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *vr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *vr_xstrdup(const char *s)
{
    return vr_xstrndup(s, strlen(s));
}

char *vr_xstrndup(const char *p, size_t n)
{
    char *s = vr_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *vr_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        vr_panic("vr_xasprintf: bad format");
    char *s = vr_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void vr_free(void *p)
{
    free(p);
}

void vr_free_secret(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

void vr_mem_trim(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

void vr_mem_init_cjson(void)
{
    cJSON_Hooks hooks = {.malloc_fn = vr_xmalloc, .free_fn = vr_free};
    cJSON_InitHooks(&hooks);
}

void vr_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
