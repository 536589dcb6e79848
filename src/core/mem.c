/* The default allocator: the C library's. */
#include <stdlib.h>
#include "core/mem.h"

static void *default_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size == 0 ? 1 : size);
}

static void *default_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size == 0 ? 1 : size);
}

static void default_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static const h2_mem default_mem = {NULL, default_malloc, default_realloc, default_free};

const h2_mem *h2_mem_or_default(const h2_mem *mem)
{
    return mem != NULL ? mem : &default_mem;
}
