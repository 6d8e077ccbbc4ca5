/*
 * Replays a fuzz target's seed corpus when libFuzzer is not in use: every regular file
 * in the directory given as argv[1] is fed to LLVMFuzzerTestOneInput once, so a crash
 * found by fuzzing and saved as a seed stays fixed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "vreq/buf.h"
#include "vreq/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct vr_buf b;
    vr_buf_init(&b, 64 * 1024 * 1024);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (vr_buf_append(&b, chunk, n) < 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        LLVMFuzzerTestOneInput((const uint8_t *)(b.p ? b.p : ""), b.len);
    vr_buf_cleanup(&b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: fuzz_target CORPUS_DIR\n", stderr);
        return 2;
    }
    vr_mem_init_cjson();
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "cannot open corpus %s\n", argv[1]);
        return 1;
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(path) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            closedir(d);
            return 1;
        }
        count++;
    }
    closedir(d);
    printf("replayed %d inputs from %s\n", count, argv[1]);
    return count > 0 ? 0 : 1;
}
