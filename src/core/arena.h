/*
 * arena: a bump allocator for short-lived JSON parse trees.
 *
 * A list page or a watch event is parsed into a cJSON tree, read (projected into compact
 * cache entries that copy what they keep) and dropped. Freeing such a tree node by node was
 * half of vreqd's start-up instructions (bench/results-notes.md). Parsed into an arena,
 * the nodes and strings come from a few large blocks and go all at once.
 *
 * Rules for a tree from vr_arena_parse_json:
 *   - never pass it (or any node of it) to cJSON_Delete: it lives until vr_arena_reset or
 *     vr_arena_cleanup of its arena;
 *   - treat it as read-only; functions that allocate (cJSON_Duplicate, cJSON_Print*) work
 *     on it and allocate on the heap as usual, so a duplicate outlives the arena.
 *
 * cJSON's allocation hooks are global, so vr_arena_parse_json points them at the arena
 * for the duration of the parse only (single-threaded: nothing else parses meanwhile) and
 * restores vr_mem_init_cjson's hooks before returning.
 *
 * Under AddressSanitizer every allocation is a separate malloc (chained for the release),
 * so out-of-bounds reads of a node are still caught.
 */
#ifndef VR_CORE_ARENA_H
#define VR_CORE_ARENA_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct vr_arena_block;

struct vr_arena {
    struct vr_arena_block *head; /* the block being filled; the older ones follow it */
    size_t first_size;           /* the first block's size (kept by vr_arena_reset) */
    size_t next_size;            /* the next block's: doubling, up to 4 MiB */
};

/* An empty arena whose first block will hold first_size bytes (0: 16 KiB). Allocates
 * nothing. */
void vr_arena_init(struct vr_arena *a, size_t first_size);

/* n bytes, 16-byte aligned, valid until the next reset or cleanup. Aborts on OOM. */
void *vr_arena_alloc(struct vr_arena *a, size_t n);

/* Everything allocated is gone; the first block stays for reuse. */
void vr_arena_reset(struct vr_arena *a);

/* Everything allocated is gone, and every block freed; a may be initialised again. */
void vr_arena_cleanup(struct vr_arena *a);

/* cJSON_ParseWithLengthOpts(p, n, end, 0) with the whole tree in a (see the rules above).
 * NULL when p is not JSON (whatever was allocated stays in a until reset). */
cJSON *vr_arena_parse_json(struct vr_arena *a, const char *p, size_t n, const char **end);

#endif
