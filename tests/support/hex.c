/* Hex strings in tests: see hex.h. */
#include "support/hex.h"

#include <criterion/criterion.h>

static unsigned nibble(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (unsigned)(c - 'A' + 10);
    cr_assert_fail("not a hex digit: '%c'", c);
    return 0;
}

size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    while (hex[0] != 0) {
        if (hex[0] == ' ') {
            hex++;
            continue;
        }
        if (hex[1] == 0)
            break;
        out[n++] = (uint8_t)(nibble(hex[0]) << 4 | nibble(hex[1]));
        hex += 2;
    }
    return n;
}
