/*
 * bench_controller's reference clients that run on vreqd's own stack (libuv + libcurl multi
 * + cJSON), each the whole of a child process:
 *
 *   ref_stack_main    `--ref-stack PORT`: the minimal controller issue 8 asks for. One
 *                     watch as a curl transfer; each watch line parsed with cJSON; every
 *                     ADDED object not yet Processed gets one merge PATCH, on a new easy
 *                     handle, at most conc in flight; each response parsed with cJSON.
 *   ref_libcurl_main  `--ref-libcurl`: the memory floor. curl_global_init, one easy handle
 *                     created and cleaned up, then nothing until SIGTERM.
 *
 * Neither uses anything of src/ but vr_x* allocation: they are what a competent user of
 * these libraries would write without vreq.
 */
#ifndef VR_BENCH_REF_STACK_H
#define VR_BENCH_REF_STACK_H
#include <stddef.h>

#include <uv.h>

/* The most PATCHes in flight a reference accepts (--ref-concurrency). */
#define REF_MAX_CONC 64

/* Writes the body of every reference PATCH into out: phase Processed, a downloadURL as long
 * as a presigned one (k makes its signature unique), expiration exp (RFC 3339). Returns
 * snprintf's result (the length; >= cap when it did not fit). */
int ref_patch_body(char *out, size_t cap, unsigned long k, const char *exp);

/* Watches the DownloadRequests of kubesim at 127.0.0.1:port and patches every new one
 * Processed, conc (1..REF_MAX_CONC) at a time, on loop, until SIGTERM. Prints "ref ready"
 * on stdout once the watch's 200 has arrived. 0 when the watch came up, stayed up and
 * every PATCH got a 200 with a Processed object; 1 otherwise (the reason on stderr). */
int ref_stack_main(uv_loop_t *loop, int port, int conc);

/* Loads and initialises libcurl (CURL_GLOBAL_DEFAULT: OpenSSL too), creates and cleans up
 * one easy handle, prints its VmRSS, RssAnon and RssFile then "ref ready" on stdout, and
 * waits for SIGTERM. 0, or 1 when libcurl failed to initialise. */
int ref_libcurl_main(void);

#endif
