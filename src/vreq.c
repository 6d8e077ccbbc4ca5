/* vreq: the client CLI. main() only. */
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: vreq [global flags] COMMAND\n"
    "\n"
    "Fetch Velero backup and restore files through DownloadRequests.\n"
    "\n"
    "Commands:\n"
    "  version     print the client version\n"
    "\n"
    "Flags:\n"
    "  --help      print this help and exit\n"
    "\n"
    "The other commands (backup logs, backup download, restore logs, get, describe,\n"
    "plugin get) are not built yet; see the project's issues.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("Client:\n\tVersion: %s\n", VR_VERSION);
        return 0;
    }
    fprintf(stderr, "vreq: unknown command \"%s\" (see vreq --help)\n", argv[1]);
    return 2;
}
