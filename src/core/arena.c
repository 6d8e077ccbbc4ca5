#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/common.h"
#include "vreq/mem.h"

#define ALIGN 16u
#define FIRST_DEFAULT (16u * 1024u)
#define BLOCK_MAX (4u * 1024u * 1024u)

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_PER_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_PER_ALLOC 1
#endif
#endif
#ifndef ARENA_PER_ALLOC
#define ARENA_PER_ALLOC 0
#endif

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

struct vr_arena_block {
    struct vr_arena_block *next; /* older */
    size_t size;
    size_t used;
    alignas(ALIGN) unsigned char data[];
};

void vr_arena_init(struct vr_arena *a, size_t first_size)
{
    a->head = NULL;
    a->first_size = round_up(first_size ? first_size : FIRST_DEFAULT);
    a->next_size = a->first_size;
}

static struct vr_arena_block *block_new(size_t size)
{
    struct vr_arena_block *b = vr_xmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

/* A block of its own for n bytes, behind the head so the head keeps filling. */
static void *alloc_alone(struct vr_arena *a, size_t n)
{
    struct vr_arena_block *b = block_new(n);
    b->used = n;
    if (a->head) {
        b->next = a->head->next;
        a->head->next = b;
    } else {
        a->head = b;
    }
    return b->data;
}

void *vr_arena_alloc(struct vr_arena *a, size_t n)
{
    n = round_up(n ? n : 1);
    if (ARENA_PER_ALLOC)
        return alloc_alone(a, n);
    struct vr_arena_block *h = a->head;
    if (h && h->size - h->used >= n) {
        void *p = h->data + h->used;
        h->used += n;
        return p;
    }
    size_t size = a->next_size;
    if (n > size / 2)
        return alloc_alone(a, n);
    a->next_size = size * 2 > BLOCK_MAX ? BLOCK_MAX : size * 2;
    struct vr_arena_block *b = block_new(size);
    b->next = h;
    a->head = b;
    b->used = n;
    return b->data;
}

void vr_arena_reset(struct vr_arena *a)
{
    struct vr_arena_block *keep = NULL;
    for (struct vr_arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        if (!next && !ARENA_PER_ALLOC && b->size == a->first_size)
            keep = b; /* the oldest block, the first one made */
        else
            vr_free(b);
    }
    if (keep)
        keep->used = 0;
    a->head = keep;
    a->next_size = keep ? keep->size * 2 : a->first_size;
}

void vr_arena_cleanup(struct vr_arena *a)
{
    vr_arena_reset(a);
    vr_free(a->head);
    a->head = NULL;
    a->next_size = a->first_size;
}

/* ---- cJSON into an arena ---- */

static struct vr_arena *g_parse_arena; /* set only while vr_arena_parse_json runs */

static void *hook_alloc(size_t n)
{
    return vr_arena_alloc(g_parse_arena, n);
}

static void hook_free(void *p)
{
    VR_UNUSED(p); /* a failed parse frees its partial tree: it stays in the arena */
}

cJSON *vr_arena_parse_json(struct vr_arena *a, const char *p, size_t n, const char **end)
{
    vr_assert(!g_parse_arena);
    g_parse_arena = a;
    cJSON_Hooks hooks = {.malloc_fn = hook_alloc, .free_fn = hook_free};
    cJSON_InitHooks(&hooks);
    cJSON *doc = cJSON_ParseWithLengthOpts(p, n, end, 0);
    vr_mem_init_cjson();
    g_parse_arena = NULL;
    return doc;
}
