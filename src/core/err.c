#include "vreq/err.h"

const char *vr_err_name(int err)
{
    switch (err) {
#define XX(name, code, msg)                                                                        \
    case code:                                                                                     \
        return #name;
        VR_ERRNO_MAP(XX)
#undef XX
    default:
        return err == 0 ? "OK" : uv_err_name(err);
    }
}

const char *vr_strerror(int err)
{
    switch (err) {
#define XX(name, code, msg)                                                                        \
    case code:                                                                                     \
        return msg;
        VR_ERRNO_MAP(XX)
#undef XX
    default:
        return err == 0 ? "success" : uv_strerror(err);
    }
}
