/* vreq: the client CLI. main() only: parse the global flags, dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/common.h"
#include "vreq/log.h"

static const char help_logs[] =
    "Prints the log, gunzipped, on stdout.\n";
static const char help_download[] =
    "Flags:\n"
    "  -o, --output FILE   where to write the backup tarball (default NAME-data.tar.gz;\n"
    "                      - for stdout)\n"
    "      --force         overwrite FILE if it exists\n"
    "\nThe file is created only if it does not exist (unless --force) and removed again\n"
    "when the download fails. A progress bar is shown on stderr when it is a terminal.\n";
static const char help_get[] =
    "KIND is one of BackupLog, BackupContents, BackupVolumeSnapshots, BackupItemOperations,\n"
    "BackupResourceList, BackupResults, RestoreLog, RestoreResults, RestoreResourceList,\n"
    "RestoreItemOperations, CSIBackupVolumeSnapshots, CSIBackupVolumeSnapshotContents,\n"
    "BackupVolumeInfos, RestoreVolumeInfo (any case). NAME is the backup, or the restore\n"
    "for the Restore* kinds. Every kind but BackupContents is gunzipped.\n"
    "\nFlags:\n"
    "  -o, --output FILE   write to FILE instead of stdout (created only if it does not\n"
    "                      exist, removed again on failure)\n"
    "      --force         overwrite FILE if it exists\n";

static const char help_describe[] =
    "Flags:\n"
    "      --details       also show the resource list and per-volume details\n";
static const char help_version[] =
    "The server version comes from a ServerStatusRequest; a timeout is an error.\n"
    "\nFlags:\n"
    "      --client-only   only print the client version (no server needed)\n";
static const char help_plugin[] =
    "Flags:\n"
    "  -o, --output FORMAT table (default, sorted by kind then name) or json\n";

/* The dispatch table. The describe, version and plugin rows point at cmd_describe.c,
 * cmd_version.c and cmd_plugin.c (declared in cli/commands.h). */
static const struct vr_cli_cmd cmds[] = {
    {"backup logs", "NAME", "print a backup's log", help_logs, 1, 1, 0, 0, true,
     vr_cmd_backup_logs},
    {"backup download", "NAME", "download a backup's contents (tarball)", help_download, 1, 1,
     VR_CLI_F_OUTPUT | VR_CLI_F_FORCE, 0, true, vr_cmd_backup_download},
    {"restore logs", "NAME", "print a restore's log", help_logs, 1, 1, 0, 0, true,
     vr_cmd_restore_logs},
    {"get", "KIND NAME", "print any stored file of a backup or restore", help_get, 2, 2,
     VR_CLI_F_OUTPUT | VR_CLI_F_FORCE, 0, true, vr_cmd_get},
    {"backup describe", "NAME", "describe a backup from its stored files", help_describe, 1,
     1, VR_CLI_F_DETAILS, 0, true, vr_cmd_backup_describe},
    {"restore describe", "NAME", "describe a restore from its stored files", help_describe,
     1, 1, VR_CLI_F_DETAILS, 0, true, vr_cmd_restore_describe},
    {"version", "", "print the client and server versions", help_version, 0, 0,
     VR_CLI_F_CLIENT_ONLY, 5000, false, vr_cmd_version},
    {"plugin get", "", "list the server's plugins", help_plugin, 0, 0, VR_CLI_F_OUTPUT, 5000,
     true, vr_cmd_plugin_get},
};

static const char *env(const char *name)
{
    return getenv(name);
}

int main(int argc, char **argv)
{
    struct vr_cli_opts opts;
    struct vr_cli_args args;
    const struct vr_cli_cmd *cmd;
    char err[1024];
    vr_log_init_from_env(); /* VR_TRACE=curl,watch,...: trace lines on stderr */
    if (vr_cli_parse_args(argc, argv, cmds, VR_ARRAY_SIZE(cmds), env, &opts, &args, &cmd, err,
                          sizeof(err)) < 0) {
        fprintf(stderr, "Error: %s\nRun 'vreq%s%s --help' for usage.\n", err, cmd ? " " : "",
                cmd ? cmd->words : "");
        return VR_CLI_EXIT_USAGE;
    }
    if (opts.help) {
        vr_cli_print_usage(stdout, cmds, VR_ARRAY_SIZE(cmds), cmd);
        return VR_CLI_EXIT_OK;
    }
    struct vr_cli cli;
    if (vr_cli_init(&cli, cmd, &opts, err, sizeof(err)) < 0) {
        fprintf(stderr, "An error occurred: %s\n", err);
        return VR_CLI_EXIT_FAIL;
    }
    if (cmd->needs_kube && vr_cli_connect(&cli, err, sizeof(err)) < 0)
        vr_cli_exit(&cli, VR_CLI_EXIT_FAIL, "%s", err);
    else
        cmd->run(&cli, &args);
    int code = vr_cli_run(&cli);
    vr_log_flush(); /* the summaries of repeated lines still being counted */
    return code;
}
