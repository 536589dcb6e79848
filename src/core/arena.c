/* The core's chunked arena: see arena.h. */
#include "core/arena.h"
#include "core/mem.h"

#define ALIGN_ANY _Alignof(max_align_t)

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

static void free_chunks(h2_arena_chunk *c, const h2_mem *mem)
{
    while (c != NULL) {
        h2_arena_chunk *next = c->next;
        h2_mem_free(mem, c);
        c = next;
    }
}

void h2_arena_free(h2_arena *a, const h2_mem *mem)
{
    free_chunks(a->head, mem);
    h2_arena_init(a, a->min_chunk);
}

void h2_arena_trim(h2_arena *a, const h2_mem *mem)
{
    h2_arena_chunk *first = a->head;
    if (first == NULL)
        return;
    if (first->cap > H2_ARENA_RETAIN) {
        h2_arena_free(a, mem);
        return;
    }
    free_chunks(first->next, mem);
    first->next = NULL;
    a->cur = first;
    a->pos = 0;
}

/* Size of a new chunk for |n| bytes after chunk |prev| (NULL: the first). */
static size_t new_chunk_cap(const h2_arena *a, const h2_arena_chunk *prev, size_t n)
{
    size_t cap = n < a->min_chunk ? a->min_chunk : round_up(n, ALIGN_ANY);
    if (prev != NULL) {
        size_t grow = prev->cap < H2_ARENA_GROW_MAX / 2 ? 2 * prev->cap : H2_ARENA_GROW_MAX;
        if (cap < grow)
            cap = grow;
    }
    return cap;
}

uint8_t *h2_arena_grow(h2_arena *a, size_t n, const h2_mem *mem)
{
    /* A following chunk (kept from before a reset) that is big enough. */
    h2_arena_chunk *prev = a->cur;
    h2_arena_chunk *c = a->cur != NULL ? a->cur->next : a->head;
    while (c != NULL && c->cap < n) {
        prev = c;
        c = c->next;
    }
    if (c == NULL) {
        if (n > H2_ARENA_MAX_REQUEST)
            return NULL;
        size_t cap = new_chunk_cap(a, prev, n);
        size_t hdr = round_up(sizeof(h2_arena_chunk), ALIGN_ANY);
        c = h2_mem_malloc(mem, hdr + cap);
        if (c == NULL)
            return NULL;
        c->cap = (uint32_t)cap;
        c->data = (uint8_t *)c + hdr;
        c->next = NULL;
        /* Appended after the last chunk so the order of reuse stays stable. */
        if (prev == NULL)
            a->head = c;
        else
            prev->next = c;
    }
    a->cur = c;
    a->pos = 0;
    return c->data;
}

void *h2_arena_alloc(h2_arena *a, const h2_mem *mem, size_t n)
{
    if (n > H2_ARENA_MAX_REQUEST)
        return NULL;
    n = n == 0 ? ALIGN_ANY : round_up(n, ALIGN_ANY);
    if (a->cur != NULL) {
        size_t off = round_up(a->pos, ALIGN_ANY);
        if (off <= a->cur->cap && a->cur->cap - off >= n) {
            a->pos = (uint32_t)(off + n);
            return a->cur->data + off;
        }
    }
    uint8_t *p = h2_arena_grow(a, n, mem);
    if (p != NULL)
        a->pos = (uint32_t)n;
    return p;
}
