/*
 * The decoder's output arena: a list of chunks that decoded fields are
 * written into. Memory handed out is never moved or reallocated; the arena
 * grows by adding chunks, each twice the size of the one before up to
 * 64 KiB, so a large burst of output needs few of them. h2_hpack_arena_reset()
 * rewinds to the first chunk and keeps every chunk for reuse, so
 * steady-state decoding does not allocate; h2_hpack_arena_trim() also gives
 * back every chunk past a small first one.
 */
#ifndef H2_CORE_HPACK_ARENA_H
#define H2_CORE_HPACK_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"
#include "h2/hpack.h"

typedef struct h2_hpack_chunk {
    struct h2_hpack_chunk *next;
    size_t cap;
    uint8_t *data; /* points just past this header */
} h2_hpack_chunk;

typedef struct h2_hpack_arena {
    h2_hpack_chunk *head; /* first chunk; NULL until the first allocation */
    h2_hpack_chunk *cur;  /* chunk being filled */
    size_t pos;           /* bytes used in cur */
} h2_hpack_arena;

/* A position in the arena, to roll back to. */
typedef struct h2_hpack_arena_mark {
    h2_hpack_chunk *chunk;
    size_t pos;
} h2_hpack_arena_mark;

/* Smallest chunk allocated, and the most h2_hpack_arena_trim() keeps. */
#define H2_HPACK_ARENA_CHUNK 4096u
/* Chunks grow by doubling up to this size (larger only for one large string). */
#define H2_HPACK_ARENA_GROW_MAX 65536u

static inline void h2_hpack_arena_init(h2_hpack_arena *a)
{
    a->head = NULL;
    a->cur = NULL;
    a->pos = 0;
}

void h2_hpack_arena_free(h2_hpack_arena *a, const h2_mem *mem);

/* Slow path of h2_hpack_arena_reserve(): moves to a chunk with |n| free bytes. */
uint8_t *h2_hpack_arena_grow(h2_hpack_arena *a, size_t n, const h2_mem *mem);

/*
 * Returns |n| contiguous free bytes without using them, or
 * NULL (out of memory; the arena is unchanged). Only the next
 * h2_hpack_arena_commit() keeps them.
 */
static inline uint8_t *h2_hpack_arena_reserve(h2_hpack_arena *a, size_t n, const h2_mem *mem)
{
    if (a->cur != NULL && a->cur->cap - a->pos >= n)
        return a->cur->data + a->pos;
    return h2_hpack_arena_grow(a, n, mem);
}

/* Marks the first |n| bytes of the last reservation as used. */
static inline void h2_hpack_arena_commit(h2_hpack_arena *a, size_t n)
{
    a->pos += n;
}

static inline h2_hpack_arena_mark h2_hpack_arena_get_mark(const h2_hpack_arena *a)
{
    h2_hpack_arena_mark m = {a->cur, a->pos};
    return m;
}

/* Forgets everything committed after |m|. */
static inline void h2_hpack_arena_rollback(h2_hpack_arena *a, h2_hpack_arena_mark m)
{
    if (m.chunk == NULL) {
        a->cur = a->head;
        a->pos = 0;
    } else {
        a->cur = m.chunk;
        a->pos = m.pos;
    }
}

/* Forgets everything; keeps the chunks. */
static inline void h2_hpack_arena_reset(h2_hpack_arena *a)
{
    a->cur = a->head;
    a->pos = 0;
}

/*
 * Forgets everything and frees every chunk but the first, and the first too
 * when it is larger than H2_HPACK_ARENA_CHUNK.
 */
void h2_hpack_arena_trim(h2_hpack_arena *a, const h2_mem *mem);

/*
 * For the connection core: h2_hpack_decoder_reset_output() plus
 * h2_hpack_arena_trim() of the decoder's output arena, so that the memory
 * a burst of header blocks took goes back to the allocator. NULL is allowed.
 */
void h2_hpack_decoder_trim_output(h2_hpack_decoder *dec);

#endif /* H2_CORE_HPACK_ARENA_H */
