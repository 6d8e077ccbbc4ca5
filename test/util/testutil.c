#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

static void count_open(uv_handle_t *h, void *arg)
{
    int *n = arg;
    if (!uv_is_closing(h)) {
        fprintf(stderr, "leaked libuv handle: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
        (*n)++;
    }
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void vr_test_loop_close(uv_loop_t *loop)
{
    /* Let pending close callbacks run first. */
    uv_run(loop, UV_RUN_NOWAIT);
    int open = 0;
    uv_walk(loop, count_open, &open);
    uv_walk(loop, close_any, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(open, 0);
}

struct run_until {
    int (*cond)(void *);
    void *arg;
    int met;
    uv_timer_t deadline;
    uv_idle_t idle;
};

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void on_idle(uv_idle_t *i)
{
    struct run_until *ru = i->data;
    if (ru->cond(ru->arg)) {
        ru->met = 1;
        uv_stop(i->loop);
    }
}

int vr_test_run_until(uv_loop_t *loop, int (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
    struct run_until ru = {.cond = cond, .arg = arg};
    if (cond(arg))
        return 1;
    uv_timer_init(loop, &ru.deadline);
    uv_idle_init(loop, &ru.idle);
    ru.idle.data = &ru;
    uv_timer_start(&ru.deadline, on_deadline, timeout_ms, 0);
    uv_idle_start(&ru.idle, on_idle);
    while (!ru.met && uv_is_active((uv_handle_t *)&ru.deadline))
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&ru.deadline, NULL);
    uv_close((uv_handle_t *)&ru.idle, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ru.met;
}

char *vr_test_read_fixture(const char *relpath, size_t *len)
{
    const char *dir = getenv("VR_FIXTURES");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "test/fixtures", relpath);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct vr_buf b;
    vr_buf_init(&b, 256 * 1024 * 1024);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vr_assert(vr_buf_append(&b, chunk, n) == 0);
    fclose(f);
    return vr_buf_take(&b, len);
}
