/*
 * libh2 error model.
 *
 * Two separate families:
 *
 *  - API return codes: every function that can fail returns 0 (or a
 *    non-negative count) on success and a negative H2_E... code on failure.
 *    Codes in [-1, -99] are recoverable: the object is unchanged and can be
 *    used further. Codes in [-100, -199] mean the peer broke the protocol:
 *    the connection is finished and the GOAWAY for it is already queued, so
 *    the caller only has to flush the output and close. Codes <= -900 are
 *    fatal for the object (out of memory, internal error).
 *
 *  - HTTP/2 wire error codes (RFC 9113 section 7), as carried in RST_STREAM
 *    and GOAWAY frames: enum h2_error_code.
 */
#ifndef H2_ERRORS_H
#define H2_ERRORS_H

#include "h2/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * X-macro list of API error codes: XX(name, value, message).
 * The enum, h2_strerror() and h2_errname() are all generated from it.
 */
#define H2_ERRNO_MAP(XX)                                                                           \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(EAGAIN, -2, "resource temporarily unavailable; try again later")                            \
    XX(ENOBUFS, -3, "output buffer is over its high-water mark")                                   \
    XX(ESTATE, -4, "operation not allowed in the current connection or stream state")              \
    XX(ESTREAM_CLOSED, -5, "stream is closed")                                                     \
    XX(ENOSTREAM, -6, "no such stream")                                                            \
    XX(ESTREAM_ID, -7, "stream id is invalid for this endpoint or lower than one already used")    \
    XX(ENOSTREAMID, -8, "no stream ids are left on this connection")                               \
    XX(ETOO_MANY_STREAMS, -9, "peer's limit on concurrent streams reached")                        \
    XX(EFLOW_CONTROL, -10, "flow-control window exceeded or overflowed")                           \
    XX(EFRAME_SIZE, -11, "frame larger than the maximum frame size")                               \
    XX(EHEADER, -12, "invalid header field or header block")                                       \
    XX(ESETTINGS, -13, "invalid settings value")                                                   \
    XX(EPUSH_DISABLED, -14, "peer has disabled server push")                                       \
    XX(EHEADER_LIST_SIZE, -15, "header list exceeds the size limit")                               \
    XX(EROLE, -16, "operation not allowed for this endpoint's role (client or server)")            \
    XX(ECLOSED, -17, "connection is closed")                                                       \
    XX(ETRUNCATED, -18, "input ends in the middle of an item")                                     \
    XX(ENOCONN, -19, "no such connection: never attached, or already ended")                       \
    XX(EPROTO, -100, "peer violated the HTTP/2 protocol; connection error queued")                 \
    XX(ECOMPRESSION, -101, "header block could not be decoded (HPACK error)")                      \
    XX(EFRAME, -102, "malformed frame")                                                            \
    XX(ENOMEM, -900, "out of memory")                                                              \
    XX(EINTERNAL, -901, "internal error")

/* @enum API return codes (negative). */
typedef enum h2_errno {
    H2_OK = 0,
#define H2__ERRNO_ENUM(name, value, msg) H2_##name = (value),
    H2_ERRNO_MAP(H2__ERRNO_ENUM)
#undef H2__ERRNO_ENUM
} h2_errno;

/* @enum HTTP/2 wire error codes (RFC 9113 section 7). */
typedef enum h2_error_code {
    H2_NO_ERROR = 0x0,
    H2_PROTOCOL_ERROR = 0x1,
    H2_INTERNAL_ERROR = 0x2,
    H2_FLOW_CONTROL_ERROR = 0x3,
    H2_SETTINGS_TIMEOUT = 0x4,
    H2_STREAM_CLOSED = 0x5,
    H2_FRAME_SIZE_ERROR = 0x6,
    H2_REFUSED_STREAM = 0x7,
    H2_CANCEL = 0x8,
    H2_COMPRESSION_ERROR = 0x9,
    H2_CONNECT_ERROR = 0xa,
    H2_ENHANCE_YOUR_CALM = 0xb,
    H2_INADEQUATE_SECURITY = 0xc,
    H2_HTTP_1_1_REQUIRED = 0xd,
} h2_error_code;

/*
 * @function Returns a static English description of an API return code, or
 * "unknown error" for a value that is not one. Never returns NULL.
 */
H2_API const char *h2_strerror(int rv);

/*
 * @function Returns the symbolic name of an API return code ("H2_EINVAL"),
 * "H2_OK" for 0, or "H2_E?" for an unknown value. Never returns NULL.
 */
H2_API const char *h2_errname(int rv);

/* @function True when |rv| leaves the object unusable (rv <= -900). */
H2_API bool h2_is_fatal(int rv);

/*
 * @function Returns the RFC 9113 name of a wire error code
 * ("PROTOCOL_ERROR"), or NULL for a code the RFC does not define (peers may
 * send any 32-bit value).
 */
H2_API const char *h2_error_code_name(uint32_t code);

#ifdef __cplusplus
}
#endif

#endif /* H2_ERRORS_H */
