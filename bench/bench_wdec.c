/*
 * bench_wdec: watch-stream decoding throughput, in MB/s of event JSON.
 *
 * A stream of DownloadRequest MODIFIED events (shaped like kubesim's, ~700 bytes each,
 * with a BOOKMARK every 100 events) is decoded by kube/wdec fed whole, in 16 KiB chunks
 * (a typical curl write), and in 64-byte chunks (a worst case for tail handling). The
 * reference, measured in the same run, is bare cJSON_ParseWithLengthOpts over the same
 * lines already split: the parse cost no line decoder can beat. Each phase is run several
 * times and the median is printed with min and max, and its ratio to the reference.
 * No assertion is made on any figure; --smoke runs tiny sizes once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "kube/wdec.h"
#include "vreq/buf.h"
#include "vreq/mem.h"

#define MAX_RUNS 7

struct stream {
    struct vr_buf b;
    size_t events;
};

static void make_stream(struct stream *s, size_t events)
{
    vr_buf_init(&s->b, (size_t)1 << 30);
    s->events = events;
    for (size_t i = 0; i < events; i++) {
        int rc = i % 100 == 99
                     ? vr_buf_printf(&s->b,
                                     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"DownloadRequest"
                                     "\",\"apiVersion\":\"velero.io/v1\",\"metadata\":{"
                                     "\"resourceVersion\":\"%zu\"}}}\n",
                                     i + 10)
                     : vr_buf_printf(
                           &s->b,
                           "{\"type\":\"MODIFIED\",\"object\":{\"apiVersion\":\"velero.io/v1\","
                           "\"kind\":\"DownloadRequest\",\"metadata\":{\"name\":\"dr-%zu\","
                           "\"labels\":{\"velero.io/backup-name\":\"backup-%zu\"},"
                           "\"namespace\":\"velero\",\"uid\":\"c14c6490-b550-427e-949a-%012zu\","
                           "\"generation\":1,\"resourceVersion\":\"%zu\",\"creationTimestamp\":"
                           "\"2026-11-27T08:30:33Z\"},\"spec\":{\"target\":{\"kind\":"
                           "\"BackupLog\",\"name\":\"backup-%zu\"}},\"status\":{\"phase\":"
                           "\"Processed\",\"downloadURL\":\"https://s3.example.com/bucket/"
                           "backups/backup-%zu/backup-%zu-logs.gz?X-Amz-Algorithm=AWS4-HMAC-"
                           "SHA256&X-Amz-Expires=600&X-Amz-Signature=00\",\"expiration\":"
                           "\"2026-11-27T08:40:33Z\"}}}\n",
                           i, i % 50, i, i + 10, i % 50, i % 50, i % 50);
        if (rc != 0) {
            fprintf(stderr, "bench_wdec: stream too large\n");
            exit(1);
        }
    }
}

static int count_event(enum vr_wdec_type type, const cJSON *obj, void *arg)
{
    (void)type;
    (void)obj;
    (*(size_t *)arg)++;
    return 0;
}

/* One decoding of the whole stream in pieces of chunk bytes; returns seconds. */
static double run_wdec(const struct stream *s, size_t chunk)
{
    struct vr_wdec d;
    size_t seen = 0;
    vr_wdec_init(&d, 0);
    uint64_t t0 = uv_hrtime();
    for (size_t at = 0; at < s->b.len; at += chunk) {
        size_t n = s->b.len - at < chunk ? s->b.len - at : chunk;
        if (vr_wdec_feed(&d, s->b.p + at, n, count_event, &seen) != 0) {
            fprintf(stderr, "bench_wdec: decode failed\n");
            exit(1);
        }
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    vr_wdec_cleanup(&d);
    if (seen != s->events) {
        fprintf(stderr, "bench_wdec: %zu events decoded, %zu sent\n", seen, s->events);
        exit(1);
    }
    return secs;
}

/* The reference: the lines' offsets are found before the clock starts, then each line
 * is only parsed and freed. */
static double run_reference(const struct stream *s, const size_t *starts, size_t lines)
{
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < lines; i++) {
        const char *p = s->b.p + starts[i];
        size_t n = starts[i + 1] - starts[i] - 1;
        cJSON *o = cJSON_ParseWithLengthOpts(p, n, NULL, 0);
        if (!o) {
            fprintf(stderr, "bench_wdec: reference parse failed\n");
            exit(1);
        }
        cJSON_Delete(o);
    }
    return (double)(uv_hrtime() - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct result {
    double med, min, max; /* MB/s */
};

static struct result summarize(double *mbps, int runs)
{
    struct result r;
    qsort(mbps, (size_t)runs, sizeof(*mbps), cmp_double);
    r.min = mbps[0];
    r.max = mbps[runs - 1];
    r.med = mbps[runs / 2];
    return r;
}

static void print_row(const char *what, struct result r, double ref)
{
    printf("%-28s %9.1f MB/s  (min %.1f, max %.1f)  ratio %.2f\n", what, r.med, r.min, r.max,
           r.med / ref);
}

int main(int argc, char **argv)
{
    bool smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
    if (argc > 2 || (argc == 2 && !smoke)) {
        fprintf(stderr, "usage: bench_wdec [--smoke]\n");
        return 2;
    }
    vr_mem_init_cjson();
    size_t events = smoke ? 2000 : 100000;
    int runs = smoke ? 1 : MAX_RUNS;
    struct stream s;
    make_stream(&s, events);
    size_t *starts = vr_xmalloc((events + 1) * sizeof(*starts));
    size_t lines = 0;
    starts[0] = 0;
    for (size_t i = 0; i < s.b.len; i++)
        if (s.b.p[i] == '\n')
            starts[++lines] = i + 1;
    double mb = (double)s.b.len / 1e6, v[MAX_RUNS];
    static const size_t chunks[] = {0, 16384, 64};
    static const char *const names[] = {"wdec, whole buffer", "wdec, 16 KiB chunks",
                                        "wdec, 64 B chunks"};
    printf("bench_wdec: %zu events, %.1f MB of event JSON, median of %d runs\n", events, mb,
           runs);
    for (int r = 0; r < runs; r++)
        v[r] = mb / run_reference(&s, starts, lines);
    struct result ref = summarize(v, runs);
    print_row("cJSON parse only (reference)", ref, ref.med);
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        for (int r = 0; r < runs; r++)
            v[r] = mb / run_wdec(&s, chunks[c] ? chunks[c] : s.b.len);
        print_row(names[c], summarize(v, runs), ref.med);
    }
    vr_free(starts);
    vr_buf_cleanup(&s.b);
    return 0;
}
