/*
 * libh2 version.
 *
 * ABI policy: releases with the same major version are ABI compatible; the
 * shared library's soname is libh2.so.<major>. New functions may appear in
 * minor releases; nothing is removed or changed before the next major one.
 */
#ifndef H2_VERSION_H
#define H2_VERSION_H

#include "h2/common.h"

#define H2_VERSION_MAJOR 0
#define H2_VERSION_MINOR 1
#define H2_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH", spelled from the three numbers above. */
#define H2_VERSION_STRING                                                                          \
    H2_VERSION_STR_(H2_VERSION_MAJOR) "." H2_VERSION_STR_(H2_VERSION_MINOR) "." H2_VERSION_STR_(   \
        H2_VERSION_PATCH)
#define H2_VERSION_STR_(n) H2_VERSION_STR2_(n)
#define H2_VERSION_STR2_(n) #n
#define H2_VERSION_HEX                                                                             \
    ((H2_VERSION_MAJOR << 16) | (H2_VERSION_MINOR << 8) | (H2_VERSION_PATCH))

#ifdef __cplusplus
extern "C" {
#endif

/* @function Returns H2_VERSION_HEX of the library actually loaded. */
H2_API unsigned h2_version(void);

/* @function Returns H2_VERSION_STRING of the library actually loaded (static storage). */
H2_API const char *h2_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* H2_VERSION_H */
