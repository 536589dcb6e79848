/*
 * The core's one arena: a list of chunks that short-lived data is bumped
 * into. Memory handed out never moves; the arena grows by adding chunks,
 * each twice the size of the one before (at least |min_chunk|) up to
 * 64 KiB, or larger for one large request, so a burst needs few of them.
 * h2_arena_reset() rewinds to the first chunk and keeps every chunk for
 * reuse, so steady-state use does not allocate; h2_arena_trim() also gives
 * back every chunk past a small first one.
 *
 * Two ways to take memory: h2_arena_alloc() (aligned for any scalar type;
 * the connection's per-receive-call event data), and the reserve/commit
 * pair with marks to roll back to (the HPACK decoder's output: strings are
 * written straight into the arena and a failed block is undone).
 */
#ifndef H2_CORE_ARENA_H
#define H2_CORE_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"

typedef struct h2_arena_chunk {
    struct h2_arena_chunk *next;
    uint32_t cap;  /* at most H2_ARENA_MAX_REQUEST */
    uint8_t *data; /* points just past this header, aligned for any scalar type */
} h2_arena_chunk;

typedef struct h2_arena {
    h2_arena_chunk *head; /* first chunk; NULL until the first allocation */
    h2_arena_chunk *cur;  /* chunk being filled */
    uint32_t pos;         /* bytes used in cur */
    uint32_t min_chunk;   /* smallest chunk allocated */
} h2_arena;

/* A position in the arena, to roll back to. */
typedef struct h2_arena_mark {
    h2_arena_chunk *chunk;
    uint32_t pos;
} h2_arena_mark;

/* Bytes of first chunk an arena keeps across h2_arena_trim(). */
#define H2_ARENA_RETAIN 4096u
/* Chunks grow by doubling up to this size (larger only for one large request). */
#define H2_ARENA_GROW_MAX 65536u
/* The largest single request; a larger one fails as out of memory. */
#define H2_ARENA_MAX_REQUEST (UINT32_MAX / 2)

/* An empty arena whose chunks are at least |min_chunk| bytes. Allocates nothing. */
static inline void h2_arena_init(h2_arena *a, uint32_t min_chunk)
{
    a->head = NULL;
    a->cur = NULL;
    a->pos = 0;
    a->min_chunk = min_chunk;
}

/* Frees every chunk; the arena is empty and usable again. */
void h2_arena_free(h2_arena *a, const h2_mem *mem);

/* Slow path of h2_arena_reserve(): moves to a chunk with |n| free bytes. */
uint8_t *h2_arena_grow(h2_arena *a, size_t n, const h2_mem *mem);

/*
 * Returns |n| contiguous free bytes without using them, or NULL (out of
 * memory; the arena is unchanged). Only the next h2_arena_commit() keeps
 * them. No alignment beyond what the bytes before them left.
 */
static inline uint8_t *h2_arena_reserve(h2_arena *a, size_t n, const h2_mem *mem)
{
    if (a->cur != NULL && a->cur->cap - a->pos >= n)
        return a->cur->data + a->pos;
    return h2_arena_grow(a, n, mem);
}

/* Marks the first |n| bytes of the last reservation as used. */
static inline void h2_arena_commit(h2_arena *a, size_t n)
{
    a->pos += (uint32_t)n;
}

/*
 * Returns |n| bytes aligned for any scalar type, valid until the next
 * reset, trim or free, or NULL when out of memory.
 */
void *h2_arena_alloc(h2_arena *a, const h2_mem *mem, size_t n);

static inline h2_arena_mark h2_arena_get_mark(const h2_arena *a)
{
    h2_arena_mark m = {a->cur, a->pos};
    return m;
}

/* Forgets everything committed after |m|. */
static inline void h2_arena_rollback(h2_arena *a, h2_arena_mark m)
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
static inline void h2_arena_reset(h2_arena *a)
{
    a->cur = a->head;
    a->pos = 0;
}

/*
 * Forgets everything and frees every chunk but the first, and the first too
 * when it is larger than H2_ARENA_RETAIN, so that memory taken by a burst
 * goes back to the allocator.
 */
void h2_arena_trim(h2_arena *a, const h2_mem *mem);

#endif /* H2_CORE_ARENA_H */
