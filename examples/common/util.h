/*
 * Small helpers shared by the example programs (h2server, h2client).
 *
 *   ex_now_ns()        monotonic clock in nanoseconds
 *   ex_parse_uint()    strict decimal parsing for command-line options
 *   ex_content_type()  content type from a file name's extension
 *
 * Nothing here allocates; every function is safe to call from any thread.
 */
#ifndef EX_COMMON_UTIL_H
#define EX_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t ex_now_ns(void);

/*
 * Parses |s| as a decimal number in [min, max] (no sign, no spaces, no
 * trailing characters) into |*out|. Returns true on success; |*out| is left
 * alone otherwise.
 */
bool ex_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Content type for the file name |name| (|len| bytes) from its extension,
 * case-insensitively: html, htm, css, js, mjs, json, png, jpg, jpeg, gif,
 * svg, txt, ico, wasm; anything else is "application/octet-stream". The
 * returned string is static.
 */
const char *ex_content_type(const char *name, size_t len);

#endif /* EX_COMMON_UTIL_H */
