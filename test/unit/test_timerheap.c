/*
 * The timer heap: order, FIFO among equal due times, removal and re-keying anywhere, and a
 * long random run checked against a plain reference (linear scan for the minimum).
 */
#include <stdint.h>
#include <string.h>

#include "core/common.h"
#include "queue/timerheap.h"
#include "testutil.h"

struct item {
    int id;
    struct vr_timerheap_node tn;
    /* the reference model */
    bool in;
    uint64_t due;
    uint64_t seq;
};

static struct item *item_of(struct vr_timerheap_node *n)
{
    return n ? container_of(n, struct item, tn) : NULL;
}

static void init_items(struct item *it, size_t n)
{
    memset(it, 0, n * sizeof(*it));
    for (size_t i = 0; i < n; i++) {
        it[i].id = (int)i;
        vr_timerheap_node_init(&it[i].tn);
    }
}

/* Every parent orders before its children and every node knows its index. */
static void check_invariants(const struct vr_timerheap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        assert_int_equal(h->a[i]->pos, i + 1);
        if (i == 0)
            continue;
        const struct vr_timerheap_node *p = h->a[(i - 1) / 2], *c = h->a[i];
        assert_true(p->due_ms < c->due_ms || (p->due_ms == c->due_ms && p->seq < c->seq));
    }
}

static void test_order(void **state)
{
    (void)state;
    static const uint64_t dues[] = {50, 10, 40, 30, 20, 90, 0, 70, 60, 80};
    struct item it[10];
    struct vr_timerheap h;
    init_items(it, 10);
    vr_timerheap_init(&h);
    assert_null(vr_timerheap_peek(&h));
    assert_null(vr_timerheap_pop(&h));
    for (int i = 0; i < 10; i++) {
        vr_timerheap_push(&h, &it[i].tn, dues[i]);
        assert_true(vr_timerheap_node_is_queued(&it[i].tn));
        check_invariants(&h);
    }
    assert_int_equal(vr_timerheap_len(&h), 10);
    assert_ptr_equal(vr_timerheap_peek(&h), &it[6].tn);
    for (uint64_t want = 0; want <= 90; want += 10) {
        struct vr_timerheap_node *n = vr_timerheap_pop(&h);
        assert_non_null(n);
        assert_int_equal(n->due_ms, want);
        assert_false(vr_timerheap_node_is_queued(n));
        check_invariants(&h);
    }
    assert_null(vr_timerheap_pop(&h));
    assert_int_equal(vr_timerheap_len(&h), 0);
    vr_timerheap_cleanup(&h);
}

static void test_fifo_ties(void **state)
{
    (void)state;
    struct item it[40];
    struct vr_timerheap h;
    init_items(it, 40);
    vr_timerheap_init(&h);
    /* Even ids due at 100, odd ids at 200, pushed interleaved. */
    for (int i = 0; i < 40; i++)
        vr_timerheap_push(&h, &it[i].tn, i % 2 ? 200 : 100);
    for (int i = 0; i < 40; i += 2)
        assert_int_equal(item_of(vr_timerheap_pop(&h))->id, i);
    for (int i = 1; i < 40; i += 2)
        assert_int_equal(item_of(vr_timerheap_pop(&h))->id, i);
    /* A re-keyed node goes behind the nodes already due at its new time. */
    for (int i = 0; i < 3; i++)
        vr_timerheap_push(&h, &it[i].tn, 5);
    vr_timerheap_update(&h, &it[0].tn, 5);
    assert_int_equal(item_of(vr_timerheap_pop(&h))->id, 1);
    assert_int_equal(item_of(vr_timerheap_pop(&h))->id, 2);
    assert_int_equal(item_of(vr_timerheap_pop(&h))->id, 0);
    vr_timerheap_cleanup(&h);
}

static void fill_1_to_n(struct vr_timerheap *h, struct item *it, int n)
{
    vr_timerheap_init(h);
    init_items(it, (size_t)n);
    for (int i = 0; i < n; i++)
        vr_timerheap_push(h, &it[i].tn, (uint64_t)(i + 1) * 10);
}

static void drain_expect(struct vr_timerheap *h, const int *ids, int n)
{
    for (int i = 0; i < n; i++) {
        struct item *x = item_of(vr_timerheap_pop(h));
        assert_non_null(x);
        assert_int_equal(x->id, ids[i]);
        check_invariants(h);
    }
    assert_null(vr_timerheap_pop(h));
}

static void test_remove(void **state)
{
    (void)state;
    struct item it[7];
    struct vr_timerheap h;

    fill_1_to_n(&h, it, 7); /* the root */
    vr_timerheap_remove(&h, &it[0].tn);
    assert_false(vr_timerheap_node_is_queued(&it[0].tn));
    check_invariants(&h);
    drain_expect(&h, (const int[]){1, 2, 3, 4, 5, 6}, 6);
    vr_timerheap_cleanup(&h);

    fill_1_to_n(&h, it, 7); /* a middle node (index 1, with children) */
    vr_timerheap_remove(&h, h.a[1]);
    check_invariants(&h);
    drain_expect(&h, (const int[]){0, 2, 3, 4, 5, 6}, 6);
    vr_timerheap_cleanup(&h);

    fill_1_to_n(&h, it, 7); /* the last array slot */
    vr_timerheap_remove(&h, h.a[6]);
    check_invariants(&h);
    drain_expect(&h, (const int[]){0, 1, 2, 3, 4, 5}, 6);
    vr_timerheap_cleanup(&h);

    /* A removal whose replacement must move UP: the last leaf is smaller than the removed
     * node's parent's other subtree. Layout: 0 / 100 1 / 101 102 2 3. */
    vr_timerheap_init(&h);
    init_items(it, 7);
    static const uint64_t d[] = {0, 100, 1, 101, 102, 2, 3};
    for (int i = 0; i < 7; i++)
        vr_timerheap_push(&h, &it[i].tn, d[i]);
    vr_timerheap_remove(&h, &it[3].tn); /* 101, replaced by 3 which must rise above 100 */
    check_invariants(&h);
    drain_expect(&h, (const int[]){0, 2, 5, 6, 1, 4}, 6);
    vr_timerheap_cleanup(&h);

    /* Removing the only node. */
    vr_timerheap_init(&h);
    vr_timerheap_push(&h, &it[0].tn, 1);
    vr_timerheap_remove(&h, &it[0].tn);
    assert_int_equal(vr_timerheap_len(&h), 0);
    assert_null(vr_timerheap_peek(&h));
    vr_timerheap_cleanup(&h);
}

static void test_update(void **state)
{
    (void)state;
    struct item it[7];
    struct vr_timerheap h;

    fill_1_to_n(&h, it, 7);
    vr_timerheap_update(&h, &it[6].tn, 1); /* up: the last to the root */
    check_invariants(&h);
    assert_ptr_equal(vr_timerheap_peek(&h), &it[6].tn);
    vr_timerheap_update(&h, &it[6].tn, 1000); /* down: the root to the end */
    check_invariants(&h);
    vr_timerheap_update(&h, &it[2].tn, 35); /* down a little: between 3 (40) and 2 (30) */
    check_invariants(&h);
    vr_timerheap_update(&h, &it[3].tn, 40); /* same time: keeps its place */
    check_invariants(&h);
    drain_expect(&h, (const int[]){0, 1, 2, 3, 4, 5, 6}, 7);
    vr_timerheap_cleanup(&h);
}

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct item *ref_min(struct item *it, size_t n)
{
    struct item *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!it[i].in)
            continue;
        if (!best || it[i].due < best->due || (it[i].due == best->due && it[i].seq < best->seq))
            best = &it[i];
    }
    return best;
}

static void random_step(struct vr_timerheap *h, struct item *it, size_t n, uint64_t *s,
                        uint64_t *seq)
{
    struct item *x = &it[rnd(s) % n];
    uint64_t due = rnd(s) % 64; /* a small range: plenty of ties */
    switch (rnd(s) % 4) {
    case 0:
    case 1: /* push, or update when already in */
        if (x->in)
            vr_timerheap_update(h, &x->tn, due);
        else
            vr_timerheap_push(h, &x->tn, due);
        x->in = true;
        x->due = due;
        x->seq = (*seq)++;
        break;
    case 2:
        if (x->in)
            vr_timerheap_remove(h, &x->tn);
        x->in = false;
        break;
    default: {
        struct item *want = ref_min(it, n);
        assert_ptr_equal(item_of(vr_timerheap_peek(h)), want);
        assert_ptr_equal(item_of(vr_timerheap_pop(h)), want);
        if (want)
            want->in = false;
    }
    }
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    enum { N = 200, STEPS = 200000 };
    static struct item it[N];
    struct vr_timerheap h;
    uint64_t s = 0x9e3779b97f4a7c15ULL, seq = 0;
    init_items(it, N);
    vr_timerheap_init(&h);
    for (int step = 0; step < STEPS; step++) {
        random_step(&h, it, N, &s, &seq);
        if (step % 997 == 0)
            check_invariants(&h);
    }
    check_invariants(&h);
    /* Drain: everything comes out in reference order. */
    for (struct item *want = ref_min(it, N); want; want = ref_min(it, N)) {
        assert_ptr_equal(item_of(vr_timerheap_pop(&h)), want);
        want->in = false;
    }
    assert_int_equal(vr_timerheap_len(&h), 0);
    vr_timerheap_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_fifo_ties),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_random_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
