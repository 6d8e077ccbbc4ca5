/* Output destinations for fetched files. See cli/output.h. */
#include "cli/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cli/cli.h"
#include "vreq/err.h"

int vr_cli_out_open(struct vr_cli_out *o, const char *path, bool force, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (path == NULL || strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        return 0;
    }
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST) {
            (void)snprintf(err, errlen,
                           "file \"%s\" already exists, remove it first or use --force", path);
            return VR_EEXIST;
        }
        (void)snprintf(err, errlen, "creating file \"%s\": %s", path, strerror(e));
        return uv_translate_sys_error(e);
    }
    o->fd = fd;
    o->path = vr_xstrdup(path);
    o->created = true;
    return 0;
}

int vr_cli_out_sink(struct vr_str chunk, void *arg)
{
    struct vr_cli_out *o = arg;
    return vr_cli_write_all(o->fd, chunk);
}

int vr_cli_out_close(struct vr_cli_out *o, bool ok)
{
    int rc = 0;
    if (o->path) {
        if (close(o->fd) != 0)
            rc = uv_translate_sys_error(errno);
        if ((!ok || rc < 0) && o->created)
            (void)unlink(o->path);
        vr_free(o->path);
        o->path = NULL;
    }
    o->fd = -1;
    return rc;
}
