/*
 * Output destinations for fetched files: stdout, or a file that is created exclusively
 * (O_EXCL) unless --force, and removed again when the command fails, so a failed or
 * interrupted download never leaves a partial file behind.
 */
#ifndef VR_CLI_OUTPUT_H
#define VR_CLI_OUTPUT_H
#include <stdbool.h>
#include <stddef.h>
#include "vreq/str.h"

struct vr_cli_out {
    int fd;
    char *path;     /* NULL for stdout */
    bool created;   /* we created or truncated path: remove it on failure */
};

/* Opens path ("-" or NULL = stdout) for writing. Without force an existing file is an error:
 * VR_EEXIST with "file \"PATH\" already exists, remove it first or use --force" in err.
 * Other errors: the open(2) error as a uv code, message in err. 0 on success. */
int vr_cli_out_open(struct vr_cli_out *o, const char *path, bool force, char *err,
                    size_t errlen);
/* A vr_cli_sink_cb writing to o (arg = struct vr_cli_out *). */
int vr_cli_out_sink(struct vr_str chunk, void *arg);
/* Closes o. ok false removes a file we created. Returns 0, or the close(2) error (the
 * file is then removed too: a failed close may have lost data). */
int vr_cli_out_close(struct vr_cli_out *o, bool ok);

#endif
