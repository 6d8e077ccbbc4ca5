/*
 * The client side of a ServerStatusRequest (`vreq version`, `vreq plugin get`): create one
 * with generateName "velero-cli-" (retried when the generated name collides), wait for
 * status.phase Processed with a watch on that one object from the create's
 * resourceVersion (re-established when the server ends it; GET every 250 ms only when the
 * watch is forbidden), bounded by a timeout. Like Velero, the client does not delete the
 * request: the server removes processed ones after its TTL.
 */
#ifndef VR_CLI_SSR_H
#define VR_CLI_SSR_H
#include <cjson/cJSON.h>
#include "cli/cli.h"

/* Runs exactly once, from the loop, never inside vr_cli_ssr_get. status 0 with ssr the
 * processed object (borrowed, valid during the call), VR_ETIMEDOUT when timeout_ms passed
 * first, VR_ECANCELED on SIGINT/SIGTERM, or the API error; errmsg is "" or one line. */
typedef void (*vr_cli_ssr_done_cb)(int status, const cJSON *ssr, const char *errmsg,
                                   void *arg);

/* Starts the flow in cli->namespace (requires vr_cli_connect). 0 (done will run) or
 * VR_EINVAL (no client; done will not run). */
int vr_cli_ssr_get(struct vr_cli *cli, unsigned timeout_ms, vr_cli_ssr_done_cb done, void *arg);

#endif
