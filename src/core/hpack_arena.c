/* The decoder's output arena: see hpack_arena.h. */
#include "core/hpack_arena.h"
#include "core/mem.h"

static void free_chunks(h2_hpack_chunk *c, const h2_mem *mem)
{
    while (c != NULL) {
        h2_hpack_chunk *next = c->next;
        h2_mem_free(mem, c);
        c = next;
    }
}

void h2_hpack_arena_free(h2_hpack_arena *a, const h2_mem *mem)
{
    free_chunks(a->head, mem);
    h2_hpack_arena_init(a);
}

void h2_hpack_arena_trim(h2_hpack_arena *a, const h2_mem *mem)
{
    h2_hpack_chunk *first = a->head;
    if (first == NULL)
        return;
    if (first->cap > H2_HPACK_ARENA_CHUNK) {
        h2_hpack_arena_free(a, mem);
        return;
    }
    free_chunks(first->next, mem);
    first->next = NULL;
    a->cur = first;
    a->pos = 0;
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
        /* Double the last chunk, up to H2_HPACK_ARENA_GROW_MAX, so that a
         * burst needs few chunks and wastes little of the last one. */
        if (prev != NULL) {
            size_t grow =
                prev->cap < H2_HPACK_ARENA_GROW_MAX / 2 ? 2 * prev->cap : H2_HPACK_ARENA_GROW_MAX;
            if (cap < grow)
                cap = grow;
        }
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
