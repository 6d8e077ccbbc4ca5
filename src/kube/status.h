/*
 * The Status-body parser (pure: no I/O, no clock, no logging). kube/client.c hands it every
 * non-2xx response; the fuzz target fuzz_kube_status feeds it arbitrary bytes.
 */
#ifndef VR_KUBE_STATUS_H
#define VR_KUBE_STATUS_H

#include "kube/client.h"
#include "vreq/str.h"

/* Bodies larger than this are not parsed as JSON (the message says only the code). */
#define VR_KUBE_STATUS_BODY_MAX ((size_t)256 * 1024)

/* Maps an HTTP status to the client's code (the table in kube/client.h): 0 for 2xx,
 * otherwise a negative VR_E*; reason only splits 409 (AlreadyExists -> VR_EEXIST).
 * 1xx and 3xx (redirects are not followed) give VR_EHTTP. */
int vr_kube_code_from_http(int http_code, const char *reason);

/* Fills *st from an error response: code = http_code; reason and message from a Status
 * body when the body is a JSON object carrying them, else the generic reason for the code
 * and the first line of a text body (control characters replaced), or "HTTP <code>" when
 * the body is empty or binary; retry_after_s from the Retry-After header value (an integer
 * 0..86400, else ignored) or details.retryAfterSeconds. Fixed arrays truncate silently.
 * The body needs no NUL. Returns vr_kube_code_from_http(http_code, st->reason): a broken
 * or missing body never makes an error a success. st is always written. */
int vr_kube_status_parse(int http_code, struct vr_str body, struct vr_str retry_after,
                         struct vr_kube_status *st);

/* The seconds of a Retry-After header value that is an integer in 0..86400 (surrounding
 * blanks allowed); -1 when absent ({NULL, 0}) or anything else (an HTTP date). */
int vr_kube_retry_after_header(struct vr_str v);

/* Fills *st for a failure without a response (transport error, cancel, timeout): code 0,
 * reason "" and message (copied, truncated). */
void vr_kube_status_local(struct vr_kube_status *st, const char *message);

#endif
