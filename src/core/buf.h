/*
 * Byte buffers of the connection core:
 *  - h2_obuf: the contiguous output queue. Frames are serialized straight
 *    into it; the caller drains it from the front.
 *  - h2_arena: a chunked bump allocator for per-receive-call data (event
 *    payloads that must outlive the frame that produced them). Memory from it
 *    never moves; h2_arena_reset() makes it reusable without freeing.
 */
#ifndef H2_CORE_BUF_H
#define H2_CORE_BUF_H

#include "h2/common.h"

typedef struct h2_obuf {
    uint8_t *data;
    size_t off; /* first byte not yet handed out */
    size_t len; /* end of queued bytes */
    size_t cap;
} h2_obuf;

/* An empty buffer; allocates nothing. */
void h2_obuf_init(h2_obuf *b);
void h2_obuf_free(h2_obuf *b, const h2_mem *mem);

/* Bytes queued. */
static inline size_t h2_obuf_pending(const h2_obuf *b)
{
    return b->len - b->off;
}

/*
 * Makes room for |n| more bytes at data + len (compacting or growing).
 * Returns 0 or H2_ENOMEM (the buffer is unchanged).
 */
int h2_obuf_reserve(h2_obuf *b, const h2_mem *mem, size_t n);

/* Where the next bytes go; valid after a successful h2_obuf_reserve(). */
static inline uint8_t *h2_obuf_tail(h2_obuf *b)
{
    return b->data + b->len;
}

/* Marks |n| reserved bytes as written. */
static inline void h2_obuf_commit(h2_obuf *b, size_t n)
{
    b->len += n;
}

/* Removes up to |n| bytes from the front. */
void h2_obuf_consume(h2_obuf *b, size_t n);

/* Drops everything queued (keeps the memory). */
void h2_obuf_clear(h2_obuf *b);

typedef struct h2_arena_chunk h2_arena_chunk;

typedef struct h2_arena {
    h2_arena_chunk *head; /* chunk being filled */
    h2_arena_chunk *first;
} h2_arena;

void h2_arena_init(h2_arena *a);
void h2_arena_free(h2_arena *a, const h2_mem *mem);

/* Forgets every allocation; keeps the chunks for reuse. */
void h2_arena_reset(h2_arena *a);

/*
 * Returns |n| bytes aligned for any scalar type, valid until the next reset
 * or free, or NULL when out of memory.
 */
void *h2_arena_alloc(h2_arena *a, const h2_mem *mem, size_t n);

#endif /* H2_CORE_BUF_H */
