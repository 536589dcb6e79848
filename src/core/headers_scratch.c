/*
 * The scratch arena of header normalisation: a bump allocator over a chain
 * of chunks. Chunks never move, so pointers handed out stay valid until the
 * arena is reset or freed.
 */
#include <stddef.h>
#include "core/headers.h"
#include "core/mem.h"

/* Every chunk starts with this link to the chunk allocated before it. */
typedef union chunk_head {
    uint8_t *prev;
    max_align_t align;
} chunk_head;

#define CHUNK_HEAD sizeof(chunk_head)
#define CHUNK_ALIGN _Alignof(max_align_t)
#define CHUNK_MIN 1024u

static uint8_t *chunk_prev(const uint8_t *chunk)
{
    chunk_head h;
    memcpy(&h.prev, chunk, sizeof(h.prev));
    return h.prev;
}

static void chunk_set_prev(uint8_t *chunk, uint8_t *prev)
{
    memcpy(chunk, &prev, sizeof(prev));
}

void h2_hdr_scratch_init(h2_hdr_scratch *s, const h2_mem *mem)
{
    s->mem = h2_mem_or_default(mem);
    s->buf = NULL;
    s->len = 0;
    s->cap = 0;
}

void h2_hdr_scratch_reset(h2_hdr_scratch *s)
{
    if (s->buf == NULL)
        return;
    uint8_t *old = chunk_prev(s->buf);
    while (old != NULL) {
        uint8_t *prev = chunk_prev(old);
        h2_mem_free(s->mem, old);
        old = prev;
    }
    chunk_set_prev(s->buf, NULL);
    s->len = CHUNK_HEAD;
}

void h2_hdr_scratch_trim(h2_hdr_scratch *s, size_t keep)
{
    if (s->cap > keep)
        h2_hdr_scratch_free(s);
    else
        h2_hdr_scratch_reset(s);
}

void h2_hdr_scratch_free(h2_hdr_scratch *s)
{
    h2_hdr_scratch_reset(s);
    h2_mem_free(s->mem, s->buf);
    s->buf = NULL;
    s->len = 0;
    s->cap = 0;
}

void *h2_hdr_scratch_alloc(h2_hdr_scratch *s, size_t size)
{
    if (size > SIZE_MAX / 2 - CHUNK_HEAD - CHUNK_ALIGN)
        return NULL;
    if (s->buf != NULL) {
        size_t at = (s->len + CHUNK_ALIGN - 1) & ~(size_t)(CHUNK_ALIGN - 1);
        if (at <= s->cap && size <= s->cap - at) {
            s->len = at + size;
            return s->buf + at;
        }
    }
    /* A new chunk, at least twice the last one, so that chunks stay few. */
    size_t want = CHUNK_HEAD + size;
    if (want < CHUNK_MIN)
        want = CHUNK_MIN;
    if (s->cap <= SIZE_MAX / 4 && want < 2 * s->cap)
        want = 2 * s->cap;
    uint8_t *chunk = h2_mem_malloc(s->mem, want);
    if (chunk == NULL)
        return NULL;
    chunk_set_prev(chunk, s->buf);
    s->buf = chunk;
    s->cap = want;
    s->len = CHUNK_HEAD + size;
    return chunk + CHUNK_HEAD;
}
