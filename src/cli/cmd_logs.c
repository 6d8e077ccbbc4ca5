/* `backup logs NAME` and `restore logs NAME`: the gunzipped log on stdout. */
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"

static void logs_done(int status, const char *errmsg, void *arg)
{
    struct vr_cli *cli = arg;
    if (status < 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "%s", errmsg);
    else
        vr_cli_exit(cli, VR_CLI_EXIT_OK, NULL);
}

static int stdout_sink(struct vr_str chunk, void *arg)
{
    (void)arg;
    return vr_cli_write_all(STDOUT_FILENO, chunk);
}

static void run_logs(struct vr_cli *cli, const char *kind, const char *name)
{
    int rc = vr_cli_fetch(cli, kind, name, 0, stdout_sink, NULL, logs_done, cli);
    if (rc < 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "cannot fetch %s %s", kind, name);
}

void vr_cmd_backup_logs(struct vr_cli *cli, const struct vr_cli_args *args)
{
    run_logs(cli, "BackupLog", args->pos[0]);
}

void vr_cmd_restore_logs(struct vr_cli *cli, const struct vr_cli_args *args)
{
    run_logs(cli, "RestoreLog", args->pos[0]);
}
