/* The library version, as built (h2/version.h). */
#include "h2/version.h"

unsigned h2_version(void)
{
    return H2_VERSION_HEX;
}

const char *h2_version_string(void)
{
    return H2_VERSION_STRING;
}
