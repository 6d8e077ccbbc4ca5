/* The bearer-token source: a static token and/or a token file re-read asynchronously. */
#include <fcntl.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/common.h"
#include "kube/token.h"
#include "vreq/err.h"
#include "vreq/mem.h"

static char *dup_opt(const char *s)
{
    return s && s[0] ? vr_xstrdup(s) : NULL;
}

static void free_token(char *p)
{
    if (p)
        vr_free_secret(p, strlen(p));
}

void vr__ktoken_init(struct vr__ktoken *t, uv_loop_t *loop, struct vr_clock *clock,
                     const char *static_token, const char *file, vr__ktoken_done_cb done,
                     void *arg)
{
    memset(t, 0, sizeof(*t));
    t->loop = loop;
    t->clock = clock;
    t->static_token = dup_opt(static_token);
    t->file = dup_opt(file);
    t->fd = -1;
    t->done = done;
    t->arg = arg;
    vr_buf_init(&t->buf, VR__KTOKEN_FILE_MAX);
}

void vr__ktoken_cleanup(struct vr__ktoken *t)
{
    vr_assert(!t->reading);
    free_token(t->static_token);
    free_token(t->file_token);
    vr_free(t->file);
    vr_buf_cleanup_secret(&t->buf);
    OPENSSL_cleanse(t->chunk, sizeof(t->chunk));
    t->static_token = t->file_token = t->file = NULL;
}

bool vr__ktoken_has_file(const struct vr__ktoken *t)
{
    return t->file != NULL;
}

bool vr__ktoken_is_reading(const struct vr__ktoken *t)
{
    return t->reading;
}

bool vr__ktoken_needs_read(const struct vr__ktoken *t)
{
    if (!t->file)
        return false;
    if (!t->have_read || t->stale)
        return true;
    return vr_clock_now_ms(t->clock) - t->read_at_ms >= VR__KTOKEN_MAX_AGE_MS;
}

void vr__ktoken_invalidate(struct vr__ktoken *t)
{
    t->stale = true;
}

const char *vr__ktoken_get(const struct vr__ktoken *t)
{
    return t->file_token ? t->file_token : t->static_token;
}

/* Installs the buffer's trimmed contents as the file token. 0 or VR_EPARSE (empty). */
static int take_token(struct vr__ktoken *t)
{
    struct vr_str s = vr_str_trim(vr_buf_str(&t->buf));
    if (s.n == 0)
        return VR_EPARSE;
    free_token(t->file_token);
    t->file_token = vr_str_dup(s);
    return 0;
}

/* The end of every started read. A failed read is not retried before the maximum age
 * (or a 401), so an unreadable file does not cost one read per request. */
static void read_finish(struct vr__ktoken *t, int status)
{
    if (status == 0)
        status = take_token(t);
    vr_buf_cleanup_secret(&t->buf);
    OPENSSL_cleanse(t->chunk, sizeof(t->chunk));
    t->reading = false;
    t->have_read = true;
    t->stale = false;
    t->read_at_ms = vr_clock_now_ms(t->clock);
    t->done(status, t->arg);
}

static void on_close(uv_fs_t *req)
{
    struct vr__ktoken *t = container_of(req, struct vr__ktoken, fs);
    int status = (int)(intptr_t)req->data;
    uv_fs_req_cleanup(req);
    t->fd = -1;
    read_finish(t, status);
}

/* Closes the file, then finishes with status. */
static void close_and_finish(struct vr__ktoken *t, int status)
{
    t->fs.data = (void *)(intptr_t)status;
    if (uv_fs_close(t->loop, &t->fs, t->fd, on_close) < 0) {
        t->fd = -1;
        read_finish(t, status);
    }
}

static void on_read(uv_fs_t *req);

static void read_more(struct vr__ktoken *t)
{
    uv_buf_t b = uv_buf_init(t->chunk, sizeof(t->chunk));
    int rc = uv_fs_read(t->loop, &t->fs, t->fd, &b, 1, -1, on_read);
    if (rc < 0)
        close_and_finish(t, rc);
}

static void on_read(uv_fs_t *req)
{
    struct vr__ktoken *t = container_of(req, struct vr__ktoken, fs);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n < 0) {
        close_and_finish(t, (int)n);
        return;
    }
    if (n == 0) {
        close_and_finish(t, 0);
        return;
    }
    int rc = vr_buf_append(&t->buf, t->chunk, (size_t)n);
    if (rc < 0)
        close_and_finish(t, rc);
    else
        read_more(t);
}

static void on_open(uv_fs_t *req)
{
    struct vr__ktoken *t = container_of(req, struct vr__ktoken, fs);
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    if (fd < 0) {
        read_finish(t, (int)fd);
        return;
    }
    t->fd = (uv_file)fd;
    read_more(t);
}

int vr__ktoken_read_start(struct vr__ktoken *t)
{
    if (t->reading)
        return 0;
    vr_assert(t->file);
    vr_buf_reset(&t->buf);
    int rc = uv_fs_open(t->loop, &t->fs, t->file, O_RDONLY | O_CLOEXEC, 0, on_open);
    if (rc < 0) {
        t->have_read = true;
        t->stale = false;
        t->read_at_ms = vr_clock_now_ms(t->clock);
        return rc;
    }
    t->reading = true;
    return 0;
}
