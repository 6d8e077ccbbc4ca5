/*
 * `backup download NAME [-o FILE] [--force]` and `get KIND NAME [-o FILE] [--force]`: a
 * fetched file to stdout or to a file created exclusively, removed on any failure.
 */
/* realpath is XSI. */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "vreq/err.h"

/* One command's state; lives until the fetch reports. */
struct dl_run {
    struct vr_cli *cli;
    struct vr_cli_out out;
    char *path;   /* output path for the success message, NULL for stdout */
    char *backup; /* backup download: the backup name for the message */
};

static void dl_done(int status, const char *errmsg, void *arg)
{
    struct dl_run *r = arg;
    int crc = vr_cli_out_close(&r->out, status == 0);
    if (status < 0)
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "%s", errmsg);
    else if (crc < 0)
        vr_cli_exit(r->cli, VR_CLI_EXIT_FAIL, "writing \"%s\": %s", r->path, vr_strerror(crc));
    else if (r->backup) {
        char abs[PATH_MAX];
        printf("Backup %s has been successfully downloaded to %s\n", r->backup,
               realpath(r->path, abs) ? abs : r->path);
        vr_cli_exit(r->cli, VR_CLI_EXIT_OK, NULL);
    } else {
        vr_cli_exit(r->cli, VR_CLI_EXIT_OK, NULL);
    }
    vr_free(r->path);
    vr_free(r->backup);
    vr_free(r);
}

/* Opens the output and starts the fetch; reports through vr_cli_exit either way. */
static void start(struct vr_cli *cli, const char *kind, const char *name, const char *path,
                  bool force, bool is_backup_download)
{
    struct dl_run *r = vr_xcalloc(1, sizeof(*r));
    char err[512];
    r->cli = cli;
    int rc = vr_cli_out_open(&r->out, path, force, err, sizeof(err));
    if (rc < 0) {
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "%s", err);
        vr_free(r);
        return;
    }
    bool to_file = path && strcmp(path, "-") != 0;
    r->path = to_file ? vr_xstrdup(path) : NULL;
    r->backup = (is_backup_download && to_file) ? vr_xstrdup(name) : NULL;
    cli->progress = to_file && vr_progress_wanted(STDERR_FILENO);
    rc = vr_cli_fetch(cli, kind, name, 0, vr_cli_out_sink, &r->out, dl_done, r);
    if (rc < 0) {
        (void)vr_cli_out_close(&r->out, false);
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "cannot fetch %s %s: %s", kind, name,
                    vr_strerror(rc));
        vr_free(r->path);
        vr_free(r->backup);
        vr_free(r);
    }
}

void vr_cmd_backup_download(struct vr_cli *cli, const struct vr_cli_args *args)
{
    const char *name = args->pos[0];
    char *def = NULL;
    const char *path = args->output;
    if (path == NULL || *path == '\0') {
        def = vr_xasprintf("%s-data.tar.gz", name);
        path = def;
    }
    start(cli, "BackupContents", name, path, args->force, true);
    vr_free(def);
}

void vr_cmd_get(struct vr_cli *cli, const struct vr_cli_args *args)
{
    const char *kind = vr_cli_kind_canonical(args->pos[0]);
    if (kind == NULL) {
        size_t n;
        const char *const *k = vr_cli_kinds(&n);
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof(list); i++) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", k[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        vr_cli_exit(cli, VR_CLI_EXIT_USAGE, "unknown kind \"%s\"; one of: %s", args->pos[0],
                    list);
        return;
    }
    start(cli, kind, args->pos[1], args->output, args->force, false);
}
