/* `vreq version [--client-only]`: the client version, and the server's through a
 * ServerStatusRequest. Unlike Velero before 1.17, a server that does not answer in time
 * is an error (exit 1), never an empty version. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/ssr.h"
#include "vreq/err.h"

static void print_client(void)
{
    char text[128];
    int n = snprintf(text, sizeof(text), "Client:\n\tVersion: %s\n", VR_VERSION);
    struct vr_str s = {text, n > 0 ? (size_t)n : 0};
    (void)vr_cli_write_all(1, s);
}

static void on_status(int status, const cJSON *ssr, const char *errmsg, void *arg)
{
    struct vr_cli *cli = arg;
    if (status < 0) {
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "error getting server version: %s", errmsg);
        return;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ssr, "status");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "serverVersion"));
    char *text = vr_xasprintf("Server:\n\tVersion: %s\n", v ? v : "");
    struct vr_str s = {text, strlen(text)};
    int rc = vr_cli_write_all(1, s);
    vr_free(text);
    if (rc < 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "writing output: %s", vr_strerror(rc));
    else
        vr_cli_exit(cli, VR_CLI_EXIT_OK, NULL);
}

void vr_cmd_version(struct vr_cli *cli, const struct vr_cli_args *args)
{
    char err[256];
    print_client();
    if (args->client_only) {
        vr_cli_exit(cli, VR_CLI_EXIT_OK, NULL);
        return;
    }
    if (vr_cli_connect(cli, err, sizeof(err)) < 0) {
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "error getting server version: %s", err);
        return;
    }
    if (vr_cli_ssr_get(cli, cli->timeout_ms, on_status, cli) < 0)
        vr_cli_exit(cli, VR_CLI_EXIT_FAIL, "error getting server version: no API client");
}
