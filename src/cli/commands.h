/*
 * The vreq commands: one function per row of the dispatch table in src/vreq.c. Each is a
 * vr_cli_run_cb (cli/cli.h): it runs on the loop and calls vr_cli_exit exactly once.
 *
 * Owners: cmd_logs.c, cmd_download.c, cmd_get.c (CLI core); cmd_describe.c,
 * cmd_version.c, cmd_plugin.c (describe/version/plugin helper).
 */
#ifndef VR_CLI_COMMANDS_H
#define VR_CLI_COMMANDS_H
#include "cli/cli.h"

/* `backup logs NAME`: BackupLog, gunzipped, to stdout. */
void vr_cmd_backup_logs(struct vr_cli *cli, const struct vr_cli_args *args);
/* `restore logs NAME`: RestoreLog, gunzipped, to stdout. */
void vr_cmd_restore_logs(struct vr_cli *cli, const struct vr_cli_args *args);
/* `backup download NAME [-o FILE] [--force]`: BackupContents, raw, to FILE (default
 * NAME-data.tar.gz; "-" is stdout), created O_EXCL unless --force, removed on failure. */
void vr_cmd_backup_download(struct vr_cli *cli, const struct vr_cli_args *args);
/* `get KIND NAME [-o FILE]`: any target kind, gunzipped (BackupContents raw), to stdout or
 * FILE (same overwrite and removal rules as backup download, --force allowed). */
void vr_cmd_get(struct vr_cli *cli, const struct vr_cli_args *args);
/* `backup describe NAME [--details]` (cmd_describe.c). */
void vr_cmd_backup_describe(struct vr_cli *cli, const struct vr_cli_args *args);
/* `restore describe NAME [--details]` (cmd_describe.c). */
void vr_cmd_restore_describe(struct vr_cli *cli, const struct vr_cli_args *args);
/* `version [--client-only]` (cmd_version.c). */
void vr_cmd_version(struct vr_cli *cli, const struct vr_cli_args *args);
/* `plugin get [-o table|json]` (cmd_plugin.c). */
void vr_cmd_plugin_get(struct vr_cli *cli, const struct vr_cli_args *args);

#endif
