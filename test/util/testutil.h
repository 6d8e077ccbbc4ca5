/* Helpers shared by the cmocka tests. */
#ifndef VR_TESTUTIL_H
#define VR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

/* Ends every test that used a loop: fails (naming the handle types) if any handle is
 * still open, then closes what is left, runs the loop and asserts uv_loop_close == 0. */
void vr_test_loop_close(uv_loop_t *loop);

/* Runs the loop until cond(arg) is true or timeout_ms of loop time passes; returns
 * whether cond became true. Uses a timer, never sleep. */
int vr_test_run_until(uv_loop_t *loop, int (*cond)(void *arg), void *arg, unsigned timeout_ms);

/* Reads a fixture file (under $VR_FIXTURES) into a new NUL-terminated buffer. */
char *vr_test_read_fixture(const char *relpath, size_t *len);

#endif
