/*
 * wdec: the watch stream decoder, bytes in -> (type, object) out. Pure: no I/O, no
 * clock, no logging (STYLE.md §1, §5).
 *
 * A watch body is one JSON event per line, {"type":T,"object":{...}}\n (kube-api.md
 * §2.1). vr_wdec_feed takes the body in whatever pieces the transport delivers, scans
 * only the new bytes for '\n', parses each complete line exactly once and keeps only the
 * incomplete tail, capped at max_line bytes (STYLE.md §9 "Avoid" #1). A trailing '\r'
 * before the '\n' and blank lines are tolerated.
 */
#ifndef VR_KUBE_WDEC_H
#define VR_KUBE_WDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/arena.h"
#include "kube/client.h"
#include "vreq/buf.h"

/* Default cap on one event line: above etcd's ~1.5 MiB request limit, with room for
 * the JSON an object of that size serializes to. */
#define VR_WDEC_MAX_LINE_DEFAULT ((size_t)4 * 1024 * 1024)

enum vr_wdec_type {
    VR_WDEC_ADDED,
    VR_WDEC_MODIFIED,
    VR_WDEC_DELETED,
    VR_WDEC_BOOKMARK,
    VR_WDEC_ERROR,
};

/* "ADDED", "MODIFIED", ...; never NULL. */
const char *vr_wdec_type_name(enum vr_wdec_type t);

/* Receives one decoded event. object is borrowed, valid only during the call:
 *   ADDED, MODIFIED, DELETED: the object, which has metadata.name and a non-empty
 *     metadata.resourceVersion (vr_wdec_object_rv);
 *   BOOKMARK: an object of which only metadata.resourceVersion (non-empty) is meaningful;
 *   ERROR: a Status object (decode it with vr_wdec_status).
 * Return 0 to go on, or a negative code to stop: vr_wdec_feed then returns that code and
 * the decoder is finished (see vr_wdec_feed). */
typedef int (*vr_wdec_emit_cb)(enum vr_wdec_type type, const cJSON *object, void *arg);

/* Decoder state; caller-owned storage. */
struct vr_wdec {
    struct vr_buf tail; /* the incomplete last line, never containing '\n' */
    struct vr_arena arena; /* the current event's parse tree; its first block is reused */
    size_t max_line;
    int err;            /* sticky: the first error returned, 0 while healthy */
    uint64_t lines;     /* non-blank lines parsed */
    uint64_t events;    /* events emitted */
};

/* Initialises d with a cap on one line (0 = VR_WDEC_MAX_LINE_DEFAULT). Allocates
 * nothing. */
void vr_wdec_init(struct vr_wdec *d, size_t max_line);

/* Frees the tail; d may be initialised again. */
void vr_wdec_cleanup(struct vr_wdec *d);

/* Forgets the tail and any error (a new stream), keeping the cap. */
void vr_wdec_reset(struct vr_wdec *d);

/* Feeds n bytes (p may be unterminated; n may be 0). For every line the bytes complete,
 * in order, emit_cb runs once. Returns 0, or the first error, after which nothing more is
 * emitted and every later call returns the same error until vr_wdec_reset:
 *   VR_ETOOBIG  a line (without its '\n') longer than max_line; detected as soon as the
 *               tail passes the cap, without waiting for the '\n';
 *   VR_EPARSE   a line that is not one JSON object, or lacks a string "type" or an object
 *               "object", or has an unknown type, or an ADDED/MODIFIED/DELETED/BOOKMARK
 *               object without the metadata promised above;
 *   the negative code emit_cb returned. */
int vr_wdec_feed(struct vr_wdec *d, const void *p, size_t n, vr_wdec_emit_cb emit_cb, void *arg);

/* Whether an incomplete line is pending: a stream that ends here was truncated inside an
 * event. */
bool vr_wdec_has_partial(const struct vr_wdec *d);

/* metadata.resourceVersion of obj when it is a non-empty string, else NULL (borrowed). */
const char *vr_wdec_object_rv(const cJSON *obj);

/* Decodes the Status of an ERROR event into *st (always written; missing fields become
 * 0 / "") and returns the code the event stands for: VR_EGONE for code 410 or reason
 * Expired/Gone (pre-1.18 servers), VR_ETHROTTLED 429, VR_EUNAUTH 401, VR_EFORBIDDEN 403,
 * VR_ENOTFOUND 404, VR_EBADREQ 400, VR_EINVALID 422, VR_ESERVER for 5xx and anything
 * else (an ERROR event never means success). retry_after_s comes from
 * details.retryAfterSeconds. */
int vr_wdec_status(const cJSON *object, struct vr_kube_status *st);

#endif
