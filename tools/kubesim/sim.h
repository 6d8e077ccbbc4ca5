/*
 * kubesim's server: the object store (store.h) behind an HTTP/1.1 server (vreq/httpd.h),
 * with kube-apiserver routing, discovery, chunked watch streams, bearer-token auth and the
 * admin API of contract.md §9 (fault rules, drop-watches, compact, stats).
 *
 * Runs on the caller's loop, so integration tests and benchmarks can host it in-process:
 *
 *     struct ks_sim_opts o;
 *     ks_sim_opts_default(&o);
 *     ks_sim_new(loop, &o, &sim);
 *     ks_sim_listen(sim, "127.0.0.1:0");
 *     ... uv_run ...
 *     ks_sim_close(sim, done_cb, arg);   // then run the loop until it is empty
 */
#ifndef KUBESIM_SIM_H
#define KUBESIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct ks_sim;
struct ks_store;

struct ks_sim_opts {
    const char *token;           /* NULL or "": no auth; else Bearer TOKEN on API paths (copied) */
    bool status_subresource;     /* velero CRDs serve /status (default false) */
    bool failed_phase;           /* DownloadRequest phase enum has Failed (default true) */
    size_t compaction_window;    /* events kept per resource (default 1000) */
    uint64_t bookmark_interval_ms; /* BOOKMARK cadence when asked for (default 60000) */
    unsigned watch_max_s;        /* a watch without timeoutSeconds lasts this x [1,2) (1800) */
    size_t watch_backlog_max;    /* unwritten bytes before a watcher is dropped (16 MiB) */
    size_t max_body_bytes;       /* request body cap (default 3 MiB) */
};

typedef void (*ks_sim_closed_cb)(void *arg);

/* Fills opts with the defaults above. */
void ks_sim_opts_default(struct ks_sim_opts *opts);

/* Creates a simulator (store and HTTP server, not yet listening) on loop. opts may be
 * NULL for defaults. 0 or VR_EINVAL; *out written only on success. */
int ks_sim_new(uv_loop_t *loop, const struct ks_sim_opts *opts, struct ks_sim **out);

/* Listens on "HOST:PORT" (port 0 picks a free one). 0, VR_EINVAL or a libuv error. */
int ks_sim_listen(struct ks_sim *sim, const char *addr);

/* The bound port after a successful listen. */
int ks_sim_port(const struct ks_sim *sim);

/* The store, borrowed (to preload objects with ks_store_load, or to inspect in tests).
 * Changes made on it directly reach open watches like HTTP writes do. */
struct ks_store *ks_sim_store(struct ks_sim *sim);

/* Drops every open watch and connection, frees the store and the server; cb (may be
 * NULL) runs once everything sim owns is released, never inside this call. The caller
 * then runs the loop until it is empty. Call once. */
void ks_sim_close(struct ks_sim *sim, ks_sim_closed_cb cb, void *arg);

#endif
