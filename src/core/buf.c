/* Output queue and per-call arena of the connection core. */
#include <string.h>
#include "core/buf.h"
#include "core/mem.h"
#include "h2/errors.h"

#define H2_OBUF_MIN_CAP 512u
#define H2_ARENA_MIN_CHUNK 512u

void h2_obuf_init(h2_obuf *b)
{
    memset(b, 0, sizeof(*b));
}

void h2_obuf_free(h2_obuf *b, const h2_mem *mem)
{
    h2_mem_free(mem, b->data);
    memset(b, 0, sizeof(*b));
}

int h2_obuf_reserve(h2_obuf *b, const h2_mem *mem, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t pending = b->len - b->off;
    if (b->off > 0 && b->cap - pending >= n) {
        memmove(b->data, b->data + b->off, pending);
        b->off = 0;
        b->len = pending;
        return 0;
    }
    if (n > SIZE_MAX / 2 - pending)
        return H2_ENOMEM;
    size_t need = pending + n;
    size_t cap = b->cap < H2_OBUF_MIN_CAP ? H2_OBUF_MIN_CAP : b->cap;
    while (cap < need)
        cap *= 2;
    uint8_t *p;
    if (b->off == 0) {
        p = h2_mem_realloc(mem, b->data, cap);
        if (p == NULL)
            return H2_ENOMEM;
    } else {
        p = h2_mem_malloc(mem, cap);
        if (p == NULL)
            return H2_ENOMEM;
        if (pending > 0)
            memcpy(p, b->data + b->off, pending);
        h2_mem_free(mem, b->data);
    }
    b->data = p;
    b->cap = cap;
    b->off = 0;
    b->len = pending;
    return 0;
}

void h2_obuf_consume(h2_obuf *b, size_t n)
{
    size_t pending = b->len - b->off;
    if (n >= pending) {
        b->off = 0;
        b->len = 0;
    } else {
        b->off += n;
    }
}

void h2_obuf_clear(h2_obuf *b)
{
    b->off = 0;
    b->len = 0;
}

struct h2_arena_chunk {
    h2_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[];
};

void h2_arena_init(h2_arena *a)
{
    a->head = NULL;
    a->first = NULL;
}

void h2_arena_free(h2_arena *a, const h2_mem *mem)
{
    h2_arena_chunk *c = a->first;
    while (c != NULL) {
        h2_arena_chunk *next = c->next;
        h2_mem_free(mem, c);
        c = next;
    }
    a->head = NULL;
    a->first = NULL;
}

void h2_arena_reset(h2_arena *a)
{
    for (h2_arena_chunk *c = a->first; c != NULL; c = c->next)
        c->used = 0;
    a->head = a->first;
}

void *h2_arena_alloc(h2_arena *a, const h2_mem *mem, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    /* Use the current chunk or any later (reset) chunk with room. */
    for (h2_arena_chunk *c = a->head; c != NULL; c = c->next) {
        if (c->size - c->used >= n) {
            void *p = (uint8_t *)c->data + c->used;
            c->used += n;
            a->head = c;
            return p;
        }
    }
    size_t size = n < H2_ARENA_MIN_CHUNK ? H2_ARENA_MIN_CHUNK : n;
    h2_arena_chunk *c = h2_mem_malloc(mem, sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->used = n;
    /* Append after the last chunk so the order of reuse stays stable. */
    c->next = NULL;
    if (a->first == NULL) {
        a->first = c;
    } else {
        h2_arena_chunk *last = a->head != NULL ? a->head : a->first;
        while (last->next != NULL)
            last = last->next;
        last->next = c;
    }
    a->head = c;
    return c->data;
}
