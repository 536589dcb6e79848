/* Small helpers on lists of header fields (h2/hpack.h). */
#include <string.h>
#include "h2/hpack.h"

const h2_header *h2_header_find(const h2_header *list, size_t n, const char *name)
{
    if (list == NULL || name == NULL)
        return NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &list[i];
        if (h->name_len == len && (len == 0 || memcmp(h->name, name, len) == 0))
            return h;
    }
    return NULL;
}
