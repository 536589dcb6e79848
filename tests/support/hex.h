/* Hex strings in tests: "82 86" or "8286" to bytes. */
#ifndef H2_TESTS_SUPPORT_HEX_H
#define H2_TESTS_SUPPORT_HEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the bytes spelled by |hex| (pairs of hex digits; spaces between
 * pairs are skipped) to |out|, which must have room for strlen(hex) / 2
 * bytes, and returns how many. A digit left without a partner at the end is
 * ignored; any other character fails the running test.
 */
size_t unhex(const char *hex, uint8_t *out);

#endif /* H2_TESTS_SUPPORT_HEX_H */
