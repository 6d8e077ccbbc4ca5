/* Internal to the CLI runtime: what cli.c needs from fetch.c. */
#ifndef VR_CLI_FETCH_INT_H
#define VR_CLI_FETCH_INT_H
#include "cli/cli.h"

/* Cancels every fetch in flight on cli (SIGINT/SIGTERM): each ends with VR_ECANCELED
 * ("interrupted") after deleting its request. Returns how many were cancelled. */
size_t vr__cli_fetch_interrupt(struct vr_cli *cli);

#endif
