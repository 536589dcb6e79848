/*
 * Reading and writing the versioned public structs (the ABI policy in
 * h2/version.h): each carries its size as the application was compiled.
 */
#ifndef H2_CORE_ABI_H
#define H2_CORE_ABI_H

#include <stddef.h>
#include "h2/conn_config.h"

/*
 * Copies the first min(|src_size|, |dst_size|) bytes of |src| over |dst|,
 * which holds the defaults; the rest of |dst| keeps them.
 */
void h2_abi_import(void *dst, size_t dst_size, const void *src, size_t src_size);

/*
 * Writes the library's |full| struct of |full_size| bytes to the caller's
 * |out|, whose first field is its size: at most that many bytes, and the
 * size field as it was. Returns 0 or H2_EINVAL (|out|'s size below
 * |min_size|: nothing is written).
 */
int h2_abi_export(void *out, const void *full, size_t full_size, size_t min_size);

/*
 * The application's h2_conn_config |src| as this library's struct: |*dst|
 * gets the defaults for |src->role|, then the fields |src| has. Returns 0
 * or H2_EINVAL (|src| NULL or its size below H2_CONN_CONFIG_MIN_SIZE).
 */
int h2_conn_config_import(h2_conn_config *dst, const h2_conn_config *src);

#endif /* H2_CORE_ABI_H */
