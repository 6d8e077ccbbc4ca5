#include "queue/timerheap.h"

#include "core/common.h"

void vr_timerheap_init(struct vr_timerheap *h)
{
    h->a = NULL;
    h->n = 0;
    h->cap = 0;
    h->next_seq = 0;
}

void vr_timerheap_cleanup(struct vr_timerheap *h)
{
    vr_free(h->a);
    vr_timerheap_init(h);
}

void vr_timerheap_node_init(struct vr_timerheap_node *n)
{
    n->due_ms = 0;
    n->seq = 0;
    n->pos = 0;
}

static bool less(const struct vr_timerheap_node *x, const struct vr_timerheap_node *y)
{
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms;
    return x->seq < y->seq;
}

static void place(struct vr_timerheap *h, size_t i, struct vr_timerheap_node *node)
{
    h->a[i] = node;
    node->pos = i + 1;
}

/* Moves the node at index i towards the root until its parent is not larger. */
static void sift_up(struct vr_timerheap *h, size_t i)
{
    struct vr_timerheap_node *node = h->a[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(node, h->a[parent]))
            break;
        place(h, i, h->a[parent]);
        i = parent;
    }
    place(h, i, node);
}

/* Moves the node at index i towards the leaves until no child is smaller. */
static void sift_down(struct vr_timerheap *h, size_t i)
{
    struct vr_timerheap_node *node = h->a[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && less(h->a[child + 1], h->a[child]))
            child++;
        if (!less(h->a[child], node))
            break;
        place(h, i, h->a[child]);
        i = child;
    }
    place(h, i, node);
}

void vr_timerheap_push(struct vr_timerheap *h, struct vr_timerheap_node *node, uint64_t due_ms)
{
    vr_assert(node->pos == 0);
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->a = vr_xrealloc(h->a, h->cap * sizeof(*h->a));
    }
    node->due_ms = due_ms;
    node->seq = h->next_seq++;
    place(h, h->n++, node);
    sift_up(h, h->n - 1);
}

void vr_timerheap_remove(struct vr_timerheap *h, struct vr_timerheap_node *node)
{
    vr_assert(node->pos != 0 && node->pos <= h->n && h->a[node->pos - 1] == node);
    size_t i = node->pos - 1;
    struct vr_timerheap_node *last = h->a[--h->n];
    node->pos = 0;
    if (last == node)
        return;
    /* The last node fills the hole; it may belong above or below it. */
    place(h, i, last);
    if (i > 0 && less(last, h->a[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void vr_timerheap_update(struct vr_timerheap *h, struct vr_timerheap_node *node, uint64_t due_ms)
{
    vr_assert(node->pos != 0 && node->pos <= h->n && h->a[node->pos - 1] == node);
    size_t i = node->pos - 1;
    node->due_ms = due_ms;
    node->seq = h->next_seq++;
    if (i > 0 && less(node, h->a[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

struct vr_timerheap_node *vr_timerheap_peek(const struct vr_timerheap *h)
{
    return h->n ? h->a[0] : NULL;
}

struct vr_timerheap_node *vr_timerheap_pop(struct vr_timerheap *h)
{
    struct vr_timerheap_node *top = vr_timerheap_peek(h);
    if (top)
        vr_timerheap_remove(h, top);
    return top;
}
