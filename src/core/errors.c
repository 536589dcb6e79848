/* API error codes: names and messages, generated from H2_ERRNO_MAP. */
#include "h2/errors.h"

const char *h2_strerror(int rv)
{
    switch (rv) {
    case H2_OK:
        return "success";
#define H2__ERRNO_MSG(name, value, msg)                                                            \
    case value:                                                                                    \
        return msg;
        H2_ERRNO_MAP(H2__ERRNO_MSG)
#undef H2__ERRNO_MSG
    default:
        return "unknown error";
    }
}

const char *h2_errname(int rv)
{
    switch (rv) {
    case H2_OK:
        return "H2_OK";
#define H2__ERRNO_NAME(name, value, msg)                                                           \
    case value:                                                                                    \
        return "H2_" #name;
        H2_ERRNO_MAP(H2__ERRNO_NAME)
#undef H2__ERRNO_NAME
    default:
        return "H2_E?";
    }
}

bool h2_is_fatal(int rv)
{
    return rv <= -900;
}

const char *h2_error_code_name(uint32_t code)
{
    static const char *const names[] = {
        "NO_ERROR",         "PROTOCOL_ERROR",   "INTERNAL_ERROR",      "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED",    "FRAME_SIZE_ERROR",    "REFUSED_STREAM",
        "CANCEL",           "COMPRESSION_ERROR", "CONNECT_ERROR",      "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    };
    if (code >= sizeof(names) / sizeof(names[0]))
        return NULL;
    return names[code];
}
