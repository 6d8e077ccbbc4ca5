/* Small file reads for the credential fetches (shared file, token files), with uv_fs so the
 * loop never blocks on a slow volume. The contents are secrets: p->fbuf is wiped after use. */
#include <fcntl.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/common.h"
#include "store/cred_int.h"
#include "vreq/err.h"

static void finish(struct vr_cred *p, int status)
{
    OPENSSL_cleanse(p->chunk, sizeof(p->chunk));
    p->fs_busy = false;
    p->file_done(p, status);
}

static void on_close(uv_fs_t *req)
{
    struct vr_cred *p = container_of(req, struct vr_cred, fs);
    int status = (int)(intptr_t)req->data;
    uv_fs_req_cleanup(req);
    p->fd = -1;
    finish(p, status);
}

static void close_and_finish(struct vr_cred *p, int status)
{
    p->fs.data = (void *)(intptr_t)status;
    if (uv_fs_close(p->loop, &p->fs, p->fd, on_close) < 0) {
        p->fd = -1;
        finish(p, status);
    }
}

static void on_read(uv_fs_t *req);

static void read_more(struct vr_cred *p)
{
    uv_buf_t b = uv_buf_init(p->chunk, sizeof(p->chunk));
    int rc = uv_fs_read(p->loop, &p->fs, p->fd, &b, 1, -1, on_read);
    if (rc < 0)
        close_and_finish(p, rc);
}

static void on_read(uv_fs_t *req)
{
    struct vr_cred *p = container_of(req, struct vr_cred, fs);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n <= 0) {
        close_and_finish(p, (int)n);
        return;
    }
    int rc = vr_buf_append(&p->fbuf, p->chunk, (size_t)n);
    if (rc < 0)
        close_and_finish(p, rc);
    else
        read_more(p);
}

static void on_open(uv_fs_t *req)
{
    struct vr_cred *p = container_of(req, struct vr_cred, fs);
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    if (fd < 0) {
        finish(p, (int)fd);
        return;
    }
    p->fd = (uv_file)fd;
    read_more(p);
}

int vr__cred_read_file(struct vr_cred *p, const char *path, size_t cap, vr__cred_file_cb done)
{
    vr_assert(!p->fs_busy);
    vr_buf_cleanup_secret(&p->fbuf);
    vr_buf_init(&p->fbuf, cap);
    p->file_done = done;
    int rc = uv_fs_open(p->loop, &p->fs, path, O_RDONLY | O_CLOEXEC, 0, on_open);
    if (rc < 0)
        return rc;
    p->fs_busy = true;
    return 0;
}
