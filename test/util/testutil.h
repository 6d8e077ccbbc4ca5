/* Helpers shared by the cmocka tests. */
#ifndef VR_TESTUTIL_H
#define VR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

#include "vreq/buf.h"

/* Ends every test that used a loop: fails (naming the handle types) if any handle is
 * still open, then closes what is left, runs the loop and asserts uv_loop_close == 0. */
void vr_test_loop_close(uv_loop_t *loop);

/* Runs the loop until cond(arg) is true or timeout_ms of loop time passes; returns
 * whether cond became true. Uses a timer, never sleep. */
int vr_test_run_until(uv_loop_t *loop, int (*cond)(void *arg), void *arg, unsigned timeout_ms);

/* Reads a fixture file (under $VR_FIXTURES) into a new NUL-terminated buffer. */
char *vr_test_read_fixture(const char *relpath, size_t *len);

/* A raw TCP client on a test's loop, for talking HTTP by hand to a server on the same
 * loop: keeps every byte it receives and notes EOF and close. Caller-owned storage. */
struct vr_test_client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int connected;    /* 0 while connecting, then 1 or a negative libuv error */
    int eof;          /* the peer closed, or a read failed */
    int closed;       /* the handle's close callback ran */
    struct vr_buf in; /* everything received, capped at 64 MiB */
};

/* Zeroes cl and connects it to 127.0.0.1:port, or to ip:port (an IPv4 or IPv6 literal),
 * with TCP_NODELAY so that each request leaves at once, reading into cl->in. Fails the
 * test unless connected within 5 s of loop time. */
void vr_test_client_open(uv_loop_t *loop, int port, struct vr_test_client *cl);
void vr_test_client_open_ip(uv_loop_t *loop, const char *ip, int port, struct vr_test_client *cl);

/* Queues a copy of n bytes at p (of the string s). A write that fails because the server
 * closed first is ignored: tests check what arrives. */
void vr_test_client_send_n(struct vr_test_client *cl, const char *p, size_t n);
void vr_test_client_send(struct vr_test_client *cl, const char *s);

/* Closes cl unless it is closing already, runs the loop until its close callback ran
 * (5 s at most, else the test fails) and frees cl->in. */
void vr_test_client_close(struct vr_test_client *cl);

/* A vr_test_run_until condition, arg a struct vr_test_client *: EOF seen. */
int vr_test_client_got_eof(void *arg);

/* An HTTP/1.1 response read by hand from a vr_test_client's bytes. */
struct vr_test_resp {
    int status;
    char head[4096];       /* status line and headers */
    char body[256 * 1024]; /* de-chunked */
    size_t body_len;
    bool chunked;
};

/* Parses the response at *off of b; true (and *off advanced past it) when it is complete.
 * no_body is for the answer to a HEAD. Fails the test on a head or body over the caps. */
bool vr_test_parse_resp(const struct vr_buf *b, size_t *off, bool no_body, struct vr_test_resp *r);

/* Whether the response's head holds line (e.g. "Connection: close\r\n"). */
bool vr_test_resp_has(const struct vr_test_resp *r, const char *line);

#endif
