#include "queue/workqueue.h"

#include <string.h>

#include "core/common.h"
#include "queue/timerheap.h"
#include "vreq/err.h"
#include "vreq/log.h"
#include "vreq/mem.h"

#define TABLE_MIN 64
#define NOT_ARMED UINT64_MAX
/* Once this many records were live at once, their memory is handed back when the table
 * empties again (a resync or start-up burst; vr_mem_trim). */
#define TRIM_AFTER_BURST 1024

/* One record per known key, stored once: in the hash table always, in the ready FIFO while
 * QUEUED, in the timer heap while WAITING or PROCESSING_WAITING. */
struct wq_item {
    struct wq_item *hnext; /* hash chain */
    struct wq_item *qnext; /* ready FIFO */
    struct vr_timerheap_node tn;
    enum vr_wq_key_state state;
    uint32_t failures;
    uint64_t hash;
    size_t len;
    char key[];
};

struct vr_workqueue {
    uv_timer_t timer;
    uv_idle_t idle;
    struct vr_clock *clock;
    const char *name;
    unsigned max_in_flight;
    vr_wq_process_cb process_cb;
    void *arg;
    struct vr_rl rl;
    struct vr_timerheap heap;
    struct wq_item **buckets; /* nbuckets is a power of two */
    size_t nbuckets;
    size_t nitems;
    size_t burst; /* most records live at once since the table was last empty */
    struct wq_item *qhead;
    struct wq_item *qtail;
    size_t nready;
    size_t in_flight;
    uint64_t armed_due; /* due time the timer is armed for; NOT_ARMED when stopped */
    bool shutting_down;
    bool closing;
    bool dispatching;
    int open_handles;
    vr_wq_closed_cb closed_cb;
    void *closed_arg;
};

const char *vr_wq_key_state_name(enum vr_wq_key_state state)
{
    switch (state) {
    case VR_WQ_IDLE:
        return "idle";
    case VR_WQ_WAITING:
        return "waiting";
    case VR_WQ_QUEUED:
        return "queued";
    case VR_WQ_PROCESSING:
        return "processing";
    case VR_WQ_PROCESSING_WAITING:
        return "processing+waiting";
    case VR_WQ_PROCESSING_DIRTY:
        return "processing+dirty";
    }
    return "unknown";
}

void vr_wq_opts_default(struct vr_wq_opts *opts)
{
    opts->name = "wq";
    opts->max_in_flight = 1;
    vr_rl_opts_default(&opts->limit);
}

static bool is_processing(enum vr_wq_key_state s)
{
    return s == VR_WQ_PROCESSING || s == VR_WQ_PROCESSING_WAITING || s == VR_WQ_PROCESSING_DIRTY;
}

static void set_state(struct vr_workqueue *wq, struct wq_item *it, enum vr_wq_key_state to)
{
    VR_LOG(VR_LOG_TRACE, "wq", "key state %s -> %s wq=%s key=%s", vr_wq_key_state_name(it->state),
           vr_wq_key_state_name(to), wq->name, it->key);
    it->state = to;
}

/* --- the key table --- */

/* FNV-1a, 64 bit. */
static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* 0 with *len set, VR_EINVAL for an empty key, VR_ETOOBIG for one over VR_WQ_KEY_MAX. */
static int check_key(const char *key, size_t *len)
{
    size_t n = strnlen(key, VR_WQ_KEY_MAX + 1);
    if (n == 0)
        return VR_EINVAL;
    if (n > VR_WQ_KEY_MAX)
        return VR_ETOOBIG;
    *len = n;
    return 0;
}

static struct wq_item *find(const struct vr_workqueue *wq, const char *key, size_t len,
                            uint64_t hash)
{
    struct wq_item *it = wq->buckets[hash & (wq->nbuckets - 1)];
    for (; it; it = it->hnext)
        if (it->hash == hash && it->len == len && memcmp(it->key, key, len) == 0)
            return it;
    return NULL;
}

static struct wq_item *lookup(const struct vr_workqueue *wq, const char *key)
{
    size_t len;
    if (check_key(key, &len) < 0)
        return NULL;
    return find(wq, key, len, hash_key(key, len));
}

static void table_grow(struct vr_workqueue *wq)
{
    size_t n = wq->nbuckets * 2;
    struct wq_item **b = vr_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < wq->nbuckets; i++) {
        struct wq_item *it = wq->buckets[i];
        while (it) {
            struct wq_item *next = it->hnext;
            it->hnext = b[it->hash & (n - 1)];
            b[it->hash & (n - 1)] = it;
            it = next;
        }
    }
    vr_free(wq->buckets);
    wq->buckets = b;
    wq->nbuckets = n;
}

/* Finds key's record or creates an IDLE one. 0, VR_EINVAL or VR_ETOOBIG. */
static int item_get(struct vr_workqueue *wq, const char *key, struct wq_item **out)
{
    size_t len;
    int rc = check_key(key, &len);
    if (rc < 0)
        return rc;
    uint64_t hash = hash_key(key, len);
    struct wq_item *it = find(wq, key, len, hash);
    if (!it) {
        if (wq->nitems >= wq->nbuckets)
            table_grow(wq);
        it = vr_xcalloc(1, sizeof(*it) + len + 1);
        vr_timerheap_node_init(&it->tn);
        it->state = VR_WQ_IDLE;
        it->hash = hash;
        it->len = len;
        memcpy(it->key, key, len);
        it->hnext = wq->buckets[hash & (wq->nbuckets - 1)];
        wq->buckets[hash & (wq->nbuckets - 1)] = it;
        if (++wq->nitems > wq->burst)
            wq->burst = wq->nitems;
    }
    *out = it;
    return 0;
}

static void item_unlink(struct vr_workqueue *wq, struct wq_item *it)
{
    struct wq_item **pp = &wq->buckets[it->hash & (wq->nbuckets - 1)];
    while (*pp != it)
        pp = &(*pp)->hnext;
    *pp = it->hnext;
    wq->nitems--;
}

/* Frees a record that no longer carries anything: idle and no failures to remember. */
static void item_release(struct vr_workqueue *wq, struct wq_item *it)
{
    if (it->state != VR_WQ_IDLE || it->failures != 0)
        return;
    item_unlink(wq, it);
    vr_free(it);
    if (wq->nitems == 0) {
        if (wq->burst >= TRIM_AFTER_BURST)
            vr_mem_trim();
        wq->burst = 0;
    }
}

/* --- the ready FIFO, the dispatcher and the timer --- */

static void fifo_push(struct vr_workqueue *wq, struct wq_item *it)
{
    it->qnext = NULL;
    if (wq->qtail)
        wq->qtail->qnext = it;
    else
        wq->qhead = it;
    wq->qtail = it;
    wq->nready++;
}

static struct wq_item *fifo_pop(struct vr_workqueue *wq)
{
    struct wq_item *it = wq->qhead;
    if (!it)
        return NULL;
    wq->qhead = it->qnext;
    if (!wq->qhead)
        wq->qtail = NULL;
    it->qnext = NULL;
    wq->nready--;
    return it;
}

static bool can_dispatch(const struct vr_workqueue *wq)
{
    return !wq->shutting_down && wq->nready > 0 && wq->in_flight < wq->max_in_flight;
}

static void on_idle(uv_idle_t *idle)
{
    vr_wq_dispatch(container_of(idle, struct vr_workqueue, idle));
}

/* Starts the dispatcher when there is something to hand out, stops it otherwise. */
static void update_idle(struct vr_workqueue *wq)
{
    if (can_dispatch(wq))
        (void)uv_idle_start(&wq->idle, on_idle);
    else
        (void)uv_idle_stop(&wq->idle);
}

static void on_timer(uv_timer_t *timer)
{
    struct vr_workqueue *wq = container_of(timer, struct vr_workqueue, timer);
    wq->armed_due = NOT_ARMED;
    vr_wq_run_due(wq, vr_clock_now_ms(wq->clock));
}

/* Keeps the timer armed for the heap's earliest due time (stopped when the heap is empty). */
static void arm_timer(struct vr_workqueue *wq)
{
    struct vr_timerheap_node *top = vr_timerheap_peek(&wq->heap);
    if (!top || wq->shutting_down) {
        if (wq->armed_due != NOT_ARMED)
            (void)uv_timer_stop(&wq->timer);
        wq->armed_due = NOT_ARMED;
        return;
    }
    if (top->due_ms == wq->armed_due)
        return;
    uint64_t now = vr_clock_now_ms(wq->clock);
    (void)uv_timer_start(&wq->timer, on_timer, top->due_ms > now ? top->due_ms - now : 0, 0);
    wq->armed_due = top->due_ms;
}

/* --- key transitions --- */

/* The "add" transition: the key runs as soon as possible (drops any heap entry). */
static void make_ready(struct vr_workqueue *wq, struct wq_item *it)
{
    if (vr_timerheap_node_is_queued(&it->tn)) {
        vr_timerheap_remove(&wq->heap, &it->tn);
        arm_timer(wq);
    }
    switch (it->state) {
    case VR_WQ_IDLE:
    case VR_WQ_WAITING:
        fifo_push(wq, it);
        set_state(wq, it, VR_WQ_QUEUED);
        break;
    case VR_WQ_PROCESSING:
    case VR_WQ_PROCESSING_WAITING:
        set_state(wq, it, VR_WQ_PROCESSING_DIRTY);
        break;
    case VR_WQ_QUEUED:
    case VR_WQ_PROCESSING_DIRTY:
        break;
    }
}

/* The "add after" transition: wait in the heap until due_ms, keeping an earlier due time. */
static void schedule(struct vr_workqueue *wq, struct wq_item *it, uint64_t due_ms)
{
    switch (it->state) {
    case VR_WQ_IDLE:
        vr_timerheap_push(&wq->heap, &it->tn, due_ms);
        set_state(wq, it, VR_WQ_WAITING);
        break;
    case VR_WQ_PROCESSING:
        vr_timerheap_push(&wq->heap, &it->tn, due_ms);
        set_state(wq, it, VR_WQ_PROCESSING_WAITING);
        break;
    case VR_WQ_WAITING:
    case VR_WQ_PROCESSING_WAITING:
        if (due_ms < it->tn.due_ms)
            vr_timerheap_update(&wq->heap, &it->tn, due_ms);
        break;
    case VR_WQ_QUEUED:
    case VR_WQ_PROCESSING_DIRTY:
        return; /* runs sooner than asked anyway */
    }
    arm_timer(wq);
}

static void add_after_item(struct vr_workqueue *wq, struct wq_item *it, uint64_t delay_ms)
{
    if (delay_ms == 0) {
        make_ready(wq, it);
        return;
    }
    uint64_t now = vr_clock_now_ms(wq->clock);
    schedule(wq, it, delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms);
}

static void add_rate_limited_item(struct vr_workqueue *wq, struct wq_item *it)
{
    add_after_item(wq, it, vr_rl_when(&wq->rl, &it->failures, vr_clock_now_ms(wq->clock)));
}

/* --- public API --- */

int vr_wq_new(uv_loop_t *loop, struct vr_clock *clock, const struct vr_wq_opts *opts,
              vr_wq_process_cb process_cb, void *arg, struct vr_workqueue **out)
{
    if (opts->max_in_flight == 0 || !process_cb)
        return VR_EINVAL;
    struct vr_workqueue *wq = vr_xcalloc(1, sizeof(*wq));
    int rc = vr_rl_init(&wq->rl, &opts->limit, vr_clock_now_ms(clock));
    if (rc < 0)
        goto out_free_wq;
    rc = uv_timer_init(loop, &wq->timer);
    if (rc < 0)
        goto out_free_wq;
    /* Documented to always succeed; a failure here could not free wq before a close. */
    rc = uv_idle_init(loop, &wq->idle);
    vr_assert(rc == 0);
    wq->clock = clock;
    wq->name = opts->name ? opts->name : "wq";
    wq->max_in_flight = opts->max_in_flight;
    wq->process_cb = process_cb;
    wq->arg = arg;
    vr_timerheap_init(&wq->heap);
    wq->nbuckets = TABLE_MIN;
    wq->buckets = vr_xcalloc(wq->nbuckets, sizeof(*wq->buckets));
    wq->armed_due = NOT_ARMED;
    *out = wq;
    return 0;
out_free_wq:
    vr_free(wq);
    return rc;
}

int vr_wq_add(struct vr_workqueue *wq, const char *key)
{
    return vr_wq_add_after(wq, key, 0);
}

int vr_wq_add_after(struct vr_workqueue *wq, const char *key, uint64_t delay_ms)
{
    if (wq->shutting_down)
        return VR_ESHUTDOWN;
    struct wq_item *it;
    int rc = item_get(wq, key, &it);
    if (rc < 0)
        return rc;
    add_after_item(wq, it, delay_ms);
    update_idle(wq);
    return 0;
}

int vr_wq_add_rate_limited(struct vr_workqueue *wq, const char *key)
{
    if (wq->shutting_down)
        return VR_ESHUTDOWN;
    struct wq_item *it;
    int rc = item_get(wq, key, &it);
    if (rc < 0)
        return rc;
    add_rate_limited_item(wq, it);
    update_idle(wq);
    return 0;
}

void vr_wq_forget(struct vr_workqueue *wq, const char *key)
{
    struct wq_item *it = lookup(wq, key);
    if (!it)
        return;
    it->failures = 0;
    item_release(wq, it);
}

uint32_t vr_wq_num_requeues(const struct vr_workqueue *wq, const char *key)
{
    const struct wq_item *it = lookup(wq, key);
    return it ? it->failures : 0;
}

static void close_handles(struct vr_workqueue *wq);

/* The processing part of done: back to the state the key would have without the run. */
static void leave_processing(struct vr_workqueue *wq, struct wq_item *it)
{
    switch (it->state) {
    case VR_WQ_PROCESSING:
        set_state(wq, it, VR_WQ_IDLE);
        break;
    case VR_WQ_PROCESSING_WAITING:
        set_state(wq, it, VR_WQ_WAITING);
        break;
    case VR_WQ_PROCESSING_DIRTY:
        fifo_push(wq, it);
        set_state(wq, it, VR_WQ_QUEUED);
        break;
    case VR_WQ_IDLE:
    case VR_WQ_WAITING:
    case VR_WQ_QUEUED:
        break;
    }
}

static void apply_result(struct vr_workqueue *wq, struct wq_item *it, enum vr_wq_result result,
                         uint64_t after_ms)
{
    switch (result) {
    case VR_WQ_OK:
        it->failures = 0;
        break;
    case VR_WQ_REQUEUE_AFTER:
        it->failures = 0;
        add_after_item(wq, it, after_ms);
        break;
    case VR_WQ_ERROR:
        add_rate_limited_item(wq, it);
        break;
    }
}

int vr_wq_done(struct vr_workqueue *wq, const char *key, enum vr_wq_result result,
               uint64_t after_ms)
{
    /* key may be the record's own copy (process_cb's argument): not used after a free. */
    struct wq_item *it = lookup(wq, key);
    if (!it || !is_processing(it->state))
        return VR_EINVAL;
    vr_assert(wq->in_flight > 0);
    wq->in_flight--;
    if (wq->shutting_down) {
        /* shutdown already took these keys out of the heap and the FIFO */
        set_state(wq, it, VR_WQ_IDLE);
        item_unlink(wq, it);
        vr_free(it);
        if (wq->closing && wq->in_flight == 0)
            close_handles(wq);
        return 0;
    }
    leave_processing(wq, it);
    apply_result(wq, it, result, after_ms);
    item_release(wq, it);
    update_idle(wq);
    return 0;
}

size_t vr_wq_run_due(struct vr_workqueue *wq, uint64_t now_ms)
{
    size_t n = 0;
    if (wq->shutting_down)
        return 0;
    for (;;) {
        struct vr_timerheap_node *top = vr_timerheap_peek(&wq->heap);
        if (!top || top->due_ms > now_ms)
            break;
        vr_timerheap_pop(&wq->heap);
        make_ready(wq, container_of(top, struct wq_item, tn));
        n++;
    }
    arm_timer(wq);
    update_idle(wq);
    return n;
}

size_t vr_wq_dispatch(struct vr_workqueue *wq)
{
    if (wq->dispatching)
        return 0;
    wq->dispatching = true;
    size_t budget = wq->nready;
    size_t n = 0;
    while (n < budget && can_dispatch(wq)) {
        struct wq_item *it = fifo_pop(wq);
        set_state(wq, it, VR_WQ_PROCESSING);
        wq->in_flight++;
        n++;
        /* it may be freed inside (a synchronous vr_wq_done): not touched afterwards. */
        wq->process_cb(wq, it->key, wq->arg);
    }
    wq->dispatching = false;
    update_idle(wq);
    return n;
}

size_t vr_wq_len(const struct vr_workqueue *wq)
{
    return wq->nready;
}

size_t vr_wq_num_waiting(const struct vr_workqueue *wq)
{
    return vr_timerheap_len(&wq->heap);
}

size_t vr_wq_in_flight(const struct vr_workqueue *wq)
{
    return wq->in_flight;
}

enum vr_wq_key_state vr_wq_key_state(const struct vr_workqueue *wq, const char *key)
{
    const struct wq_item *it = lookup(wq, key);
    return it ? it->state : VR_WQ_IDLE;
}

bool vr_wq_next_due(const struct vr_workqueue *wq, uint64_t *out)
{
    struct vr_timerheap_node *top = vr_timerheap_peek(&wq->heap);
    if (!top)
        return false;
    *out = top->due_ms;
    return true;
}

/* Shutdown keeps only the keys in flight, each plainly PROCESSING. */
static void shutdown_item(struct vr_workqueue *wq, struct wq_item *it)
{
    if (vr_timerheap_node_is_queued(&it->tn))
        vr_timerheap_remove(&wq->heap, &it->tn);
    if (is_processing(it->state)) {
        if (it->state != VR_WQ_PROCESSING)
            set_state(wq, it, VR_WQ_PROCESSING);
        return;
    }
    item_unlink(wq, it);
    vr_free(it);
}

void vr_wq_shutdown(struct vr_workqueue *wq)
{
    if (wq->shutting_down)
        return;
    VR_LOG(VR_LOG_TRACE, "wq", "shutting down wq=%s ready=%zu waiting=%zu in_flight=%zu",
           wq->name, wq->nready, vr_timerheap_len(&wq->heap), wq->in_flight);
    wq->shutting_down = true;
    wq->qhead = wq->qtail = NULL;
    wq->nready = 0;
    for (size_t i = 0; i < wq->nbuckets; i++) {
        struct wq_item *it = wq->buckets[i];
        while (it) {
            struct wq_item *next = it->hnext;
            shutdown_item(wq, it);
            it = next;
        }
    }
    arm_timer(wq);
    update_idle(wq);
}

bool vr_wq_is_shutting_down(const struct vr_workqueue *wq)
{
    return wq->shutting_down;
}

static void handle_closed(struct vr_workqueue *wq)
{
    if (--wq->open_handles > 0)
        return;
    vr_wq_closed_cb cb = wq->closed_cb;
    void *arg = wq->closed_arg;
    VR_LOG(VR_LOG_TRACE, "wq", "closed wq=%s", wq->name);
    vr_timerheap_cleanup(&wq->heap);
    vr_free(wq->buckets);
    vr_free(wq);
    if (cb)
        cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(container_of((uv_timer_t *)h, struct vr_workqueue, timer));
}

static void on_idle_closed(uv_handle_t *h)
{
    handle_closed(container_of((uv_idle_t *)h, struct vr_workqueue, idle));
}

static void close_handles(struct vr_workqueue *wq)
{
    vr_assert(wq->nitems == 0);
    wq->open_handles = 2;
    uv_close((uv_handle_t *)&wq->timer, on_timer_closed);
    uv_close((uv_handle_t *)&wq->idle, on_idle_closed);
}

void vr_wq_close(struct vr_workqueue *wq, vr_wq_closed_cb closed_cb, void *arg)
{
    vr_assert(!wq->closing);
    vr_wq_shutdown(wq);
    wq->closing = true;
    wq->closed_cb = closed_cb;
    wq->closed_arg = arg;
    if (wq->in_flight == 0)
        close_handles(wq);
}
