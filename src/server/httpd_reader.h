/*
 * The httpd request reader: a socket-free, resumable HTTP/1.x request decoder. Bytes go in,
 * complete requests (or a 400/413/431 verdict) come out. The server feeds it what it reads;
 * tests and the fuzzer feed it directly. It never logs, never touches the loop.
 *
 * It is implemented in src/server/httpd.c, the only file that includes http_parser.h, so a
 * later swap of the parser stays local to that file.
 *
 * Usage: feed bytes until vr__hreader_feed() returns VR__HREADER_DONE; the request is then
 * available from vr__hreader_req() (its slices point into the reader) and the reader is
 * paused: bytes after *consumed belong to the next request and must be fed again after
 * vr__hreader_next(). A negative return is final: the reader only reports the same error.
 */
#ifndef VR_SERVER_HTTPD_READER_H
#define VR_SERVER_HTTPD_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "vreq/httpd.h"
#include "vreq/str.h"

struct vr__hreader;

/* One complete request, valid until vr__hreader_next() or vr__hreader_free(). */
struct vr__hreq {
    const char *method;  /* static string: "GET", "POST", ... */
    struct vr_str url;   /* raw request target */
    struct vr_str path;  /* url up to '?' */
    struct vr_str query; /* after '?', without it; {"", 0} when absent */
    struct vr_str body;  /* de-chunked */
    const struct vr_http_header *headers;
    size_t nheaders;
    unsigned short http_major;
    unsigned short http_minor;
    bool keep_alive; /* the connection may carry another request after this one */
};

enum {
    VR__HREADER_MORE = 0, /* every byte consumed; the request is not complete yet */
    VR__HREADER_DONE = 1, /* a request is complete; *consumed bytes were used */
};

/* Allocates a reader. max_header_bytes caps URL + header names + values (trailers
 * included); max_body_bytes caps the decoded body (0: no body accepted). Never fails. */
struct vr__hreader *vr__hreader_new(size_t max_header_bytes, size_t max_body_bytes);
void vr__hreader_free(struct vr__hreader *r);

/* Feeds n bytes (n == 0 is a no-op returning VR__HREADER_MORE). Returns VR__HREADER_MORE,
 * VR__HREADER_DONE with *consumed set, or VR_EPARSE (status 400) / VR_ETOOBIG (413 or 431)
 * with *status set to the HTTP status to answer with. Must not be called while a request
 * is complete and vr__hreader_next() has not been called. */
int vr__hreader_feed(struct vr__hreader *r, const char *p, size_t n, size_t *consumed, int *status);

/* The complete request after VR__HREADER_DONE; NULL otherwise. */
const struct vr__hreq *vr__hreader_req(const struct vr__hreader *r);

/* Drops the current request and resumes parsing. Only valid after VR__HREADER_DONE with
 * req->keep_alive true (a closing connection carries nothing more). */
void vr__hreader_next(struct vr__hreader *r);

/* True once the first byte of a request (past leading blank lines) has been seen and the
 * request is not complete yet: the request timeout runs from then on. */
bool vr__hreader_in_progress(const struct vr__hreader *r);

/* True once per request that sent "Expect: 100-continue" for a body within the cap: the
 * server answers "100 Continue" so that the client sends the body without waiting. */
bool vr__hreader_take_continue(struct vr__hreader *r);

/* The parser's name for the last error ("HPE_INVALID_METHOD", "body over cap"), for
 * debug logs; "" when there was none. */
const char *vr__hreader_error(const struct vr__hreader *r);

#endif
