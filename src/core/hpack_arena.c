/* The decoder's output arena: see hpack_arena.h. */
#include "core/hpack_arena.h"
#include "core/mem.h"

void h2_hpack_arena_free(h2_hpack_arena *a, const h2_mem *mem)
{
    h2_hpack_chunk *c = a->head;
    while (c != NULL) {
        h2_hpack_chunk *next = c->next;
        h2_mem_free(mem, c);
        c = next;
    }
    h2_hpack_arena_init(a);
}

uint8_t *h2_hpack_arena_grow(h2_hpack_arena *a, size_t n, const h2_mem *mem)
{
    /* A following chunk (kept from before a reset) that is big enough. */
    h2_hpack_chunk *prev = a->cur;
    h2_hpack_chunk *c = a->cur != NULL ? a->cur->next : a->head;
    while (c != NULL && c->cap < n) {
        prev = c;
        c = c->next;
    }
    if (c == NULL) {
        size_t cap = n < H2_HPACK_ARENA_CHUNK ? H2_HPACK_ARENA_CHUNK : (n + 7) & ~(size_t)7;
        size_t hdr = (sizeof(h2_hpack_chunk) + 7) & ~(size_t)7;
        if (cap > SIZE_MAX - hdr)
            return NULL;
        c = h2_mem_malloc(mem, hdr + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
        c->data = (uint8_t *)c + hdr;
        c->next = NULL;
        if (prev == NULL)
            a->head = c;
        else
            prev->next = c;
    }
    a->cur = c;
    a->pos = 0;
    return c->data;
}
