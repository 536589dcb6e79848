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
#define H2_VERSION_STRING "0.1.0"
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
