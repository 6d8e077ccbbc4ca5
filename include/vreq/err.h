/*
 * vreq error codes: one X-macro table generates the enum, vr_err_name() and
 * vr_strerror(), so names and messages cannot drift (after libuv's UV_ERRNO_MAP).
 *
 * Every fallible function returns 0 on success or a negative VR_E* code.
 * Generic codes alias libuv's, so a libuv status passes through unchanged;
 * vreq's own codes start at -20001.
 */
#ifndef VREQ_ERR_H
#define VREQ_ERR_H

#include <uv.h>

#define VR_ERRNO_MAP(XX)                                                                          \
    XX(ETOOBIG, -20001, "input larger than its configured cap")                                    \
    XX(EPARSE, -20002, "malformed input")                                                          \
    XX(EHTTP, -20003, "HTTP transport error")                                                      \
    XX(ENOTFOUND, -20004, "not found")                                                             \
    XX(ECONFLICT, -20005, "conflict")                                                              \
    XX(EGONE, -20006, "resource version expired")                                                  \
    XX(EINVALID, -20007, "invalid object")                                                         \
    XX(ETHROTTLED, -20008, "throttled by the server")                                              \
    XX(EUNAUTH, -20009, "unauthorized")                                                            \
    XX(EFORBIDDEN, -20010, "forbidden")                                                            \
    XX(ESERVER, -20011, "server error")                                                            \
    XX(ECRYPTO, -20012, "cryptographic operation failed")                                          \
    XX(ECONFIG, -20013, "invalid configuration")                                                   \
    XX(ENOTLEADER, -20014, "not the leader")                                                       \
    XX(ESHUTDOWN, -20015, "shutting down")                                                         \
    XX(EBADREQ, -20016, "bad request")                                                             \
    XX(EUNSUPPORTED, -20017, "unsupported media type or operation")

enum vr_errno {
    VR_OK = 0,
    VR_EINVAL = UV_EINVAL,
    VR_EEXIST = UV_EEXIST,
    VR_ETIMEDOUT = UV_ETIMEDOUT,
    VR_ECANCELED = UV_ECANCELED,
    VR_ENOMEM = UV_ENOMEM,
#define VR_ERR_ENUM_(name, code, msg) VR_##name = (code),
    VR_ERRNO_MAP(VR_ERR_ENUM_)
#undef VR_ERR_ENUM_
};

/* Short symbolic name ("ETOOBIG"); never NULL. Falls back to uv_err_name(). */
const char *vr_err_name(int err);

/* Human-readable message; never NULL. Falls back to uv_strerror(). */
const char *vr_strerror(int err);

#endif
