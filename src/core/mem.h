/*
 * Internal allocation wrappers around the h2_mem hook.
 *
 * Every allocation in the library goes through these, so that tests can fail
 * the Nth allocation and embedders can supply arenas.
 */
#ifndef H2_CORE_MEM_H
#define H2_CORE_MEM_H

#include <string.h>
#include "h2/common.h"

/* Returns |mem| itself, or the default libc-backed allocator when NULL. */
const h2_mem *h2_mem_or_default(const h2_mem *mem);

static inline void *h2_mem_malloc(const h2_mem *mem, size_t size)
{
    return mem->malloc(size, mem->user_data);
}

static inline void *h2_mem_calloc(const h2_mem *mem, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = mem->malloc(n * size, mem->user_data);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

static inline void *h2_mem_realloc(const h2_mem *mem, void *ptr, size_t size)
{
    return mem->realloc(ptr, size, mem->user_data);
}

static inline void h2_mem_free(const h2_mem *mem, void *ptr)
{
    mem->free(ptr, mem->user_data);
}

#endif /* H2_CORE_MEM_H */
