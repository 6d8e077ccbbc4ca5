/* vreqd: the DownloadRequest / ServerStatusRequest controller daemon. main() only. */
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: vreqd [flags]\n"
    "\n"
    "The Velero DownloadRequest and ServerStatusRequest controllers, on one event loop.\n"
    "\n"
    "Flags:\n"
    "  --version   print the version and exit\n"
    "  --help      print this help and exit\n"
    "\n"
    "The controllers themselves are not built yet; see the project's issues.\n";

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("vreqd %s\n", VR_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        fprintf(stderr, "vreqd: unknown flag %s (see --help)\n", argv[i]);
        return 2;
    }
    fputs(usage, stderr);
    return 2;
}
