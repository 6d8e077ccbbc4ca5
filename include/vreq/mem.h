/*
 * Allocation: vr_x* abort with a message on OOM (under Kubernetes a crash-restart is the
 * recovery anyway). cJSON is pointed at them by vr_mem_init_cjson(), so a NULL from a cJSON
 * parse always means malformed input.
 */
#ifndef VREQ_MEM_H
#define VREQ_MEM_H

#include <stddef.h>

#if defined(__GNUC__)
#define VR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define VR_NORETURN __attribute__((noreturn))
#define VR_MALLOC __attribute__((malloc))
#else
#define VR_PRINTF(fmt, args)
#define VR_NORETURN
#define VR_MALLOC
#endif

VR_MALLOC void *vr_xmalloc(size_t n);
VR_MALLOC void *vr_xcalloc(size_t nmemb, size_t size);
void *vr_xrealloc(void *p, size_t n);
VR_MALLOC char *vr_xstrdup(const char *s);
/* Copies n bytes of p and NUL-terminates the copy. */
VR_MALLOC char *vr_xstrndup(const char *p, size_t n);
/* Allocates and formats like asprintf; aborts on OOM. */
VR_MALLOC char *vr_xasprintf(const char *fmt, ...) VR_PRINTF(1, 2);
void vr_free(void *p);
/* Wipes n bytes (OPENSSL_cleanse) and frees p: for tokens and keys. */
void vr_free_secret(void *p, size_t n);

/* Hands the allocator's free pages back to the system (glibc malloc_trim; a no-op
 * elsewhere). For after a burst of small allocations freed together, such as the work
 * queue's records after a resync. */
void vr_mem_trim(void);

/* Makes cJSON allocate through vr_x*. Call once at start-up (idempotent). */
void vr_mem_init_cjson(void);

/* Prints "fatal: <msg>" to stderr and aborts. For programmer errors only. */
VR_NORETURN void vr_panic(const char *fmt, ...) VR_PRINTF(1, 2);

#define vr_assert(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            vr_panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);                   \
    } while (0)

#endif
