/*
 * A binary min-heap of timers, keyed by due time (monotonic ms) with a stable tiebreak.
 *
 * Pure (STYLE.md §1): no loop, no clock, no logging. The caller embeds a struct
 * vr_timerheap_node in its own record and recovers the record with container_of, as libuv
 * does with its timer heap. The heap keeps an array of node pointers and each node stores its
 * index, so removing or re-keying any node is O(log n).
 *
 * Order: smaller due_ms first; equal due_ms pop in insertion order (FIFO), using a sequence
 * number taken at each push and update.
 *
 *   struct item { struct vr_timerheap_node tn; ... };
 *   vr_timerheap_push(&h, &it->tn, now + 100);
 *   struct vr_timerheap_node *n = vr_timerheap_peek(&h);
 *   if (n && n->due_ms <= now) { vr_timerheap_pop(&h); it = container_of(n, struct item, tn); }
 */
#ifndef VR_QUEUE_TIMERHEAP_H
#define VR_QUEUE_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the owner. Read due_ms freely; the other members belong to the heap. Zero it
 * (or call vr_timerheap_node_init) before first use. */
struct vr_timerheap_node {
    uint64_t due_ms;
    uint64_t seq; /* insertion sequence: the FIFO tiebreak */
    size_t pos;   /* 1 + index in the heap array; 0 while not in a heap */
};

struct vr_timerheap {
    struct vr_timerheap_node **a;
    size_t n;
    size_t cap;
    uint64_t next_seq;
};

/* Initialises an empty heap; allocates nothing until the first push. */
void vr_timerheap_init(struct vr_timerheap *h);

/* Frees the heap's array. Nodes still in it are owned by their records and are left as they
 * are (their pos is NOT reset): the caller frees or forgets them. */
void vr_timerheap_cleanup(struct vr_timerheap *h);

/* Marks a node as not in any heap. */
void vr_timerheap_node_init(struct vr_timerheap_node *n);

/* Whether node is currently in a heap. */
static inline bool vr_timerheap_node_is_queued(const struct vr_timerheap_node *n)
{
    return n->pos != 0;
}

/* Number of nodes in the heap. */
static inline size_t vr_timerheap_len(const struct vr_timerheap *h)
{
    return h->n;
}

/* Inserts node (which must not be in a heap: vr_assert) due at due_ms. O(log n); grows the
 * array with vr_xrealloc (aborts on OOM). */
void vr_timerheap_push(struct vr_timerheap *h, struct vr_timerheap_node *node, uint64_t due_ms);

/* Removes node, which must be in h (vr_assert), from anywhere in the heap. O(log n). */
void vr_timerheap_remove(struct vr_timerheap *h, struct vr_timerheap_node *node);

/* Re-keys node (which must be in h) to due_ms, moving it up or down. It takes a new
 * sequence number, so it orders after nodes already due at the same time, exactly as a
 * remove followed by a push would. O(log n). */
void vr_timerheap_update(struct vr_timerheap *h, struct vr_timerheap_node *node, uint64_t due_ms);

/* The node due first, or NULL when the heap is empty. The heap is unchanged. */
struct vr_timerheap_node *vr_timerheap_peek(const struct vr_timerheap *h);

/* Removes and returns the node due first, or NULL when the heap is empty. */
struct vr_timerheap_node *vr_timerheap_pop(struct vr_timerheap *h);

#endif
