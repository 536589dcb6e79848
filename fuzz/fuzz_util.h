/*
 * Helpers shared by the fuzz targets: a cursor over the fuzz input, a
 * deterministic chunk splitter, a 64-bit FNV-1a digest for comparing two
 * runs, and an allocator that can be told to fail from the Nth call on.
 */
#ifndef H2_FUZZ_UTIL_H
#define H2_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "h2/common.h"

/* Stops the run with a crash libFuzzer records (a broken invariant). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* ---- input cursor ---------------------------------------------------------------- */

typedef struct fuzz_in {
    const uint8_t *p;
    size_t len;
} fuzz_in;

/* Takes one byte (0 once the input is used up). */
static inline uint8_t fuzz_u8(fuzz_in *in)
{
    if (in->len == 0)
        return 0;
    uint8_t v = in->p[0];
    in->p++;
    in->len--;
    return v;
}

static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* ---- chunk splitter ---------------------------------------------------------------- */

/*
 * Cuts a byte run into chunks whose sizes come from |mode|: 0 whole, 1 one
 * byte at a time, otherwise pseudo-random sizes from 1 to 2^(mode & 15)
 * drawn from a generator seeded with |mode|, so the same input always gives
 * the same cuts.
 */
typedef struct fuzz_split {
    unsigned mode;
    uint32_t state;
} fuzz_split;

static inline void fuzz_split_init(fuzz_split *s, unsigned mode)
{
    s->mode = mode;
    s->state = 0x9e3779b9u ^ (uint32_t)mode * 0x85ebca6bu;
}

static inline size_t fuzz_split_next(fuzz_split *s, size_t remaining)
{
    if (s->mode == 0 || remaining == 0)
        return remaining;
    if (s->mode == 1)
        return 1;
    s->state ^= s->state << 13;
    s->state ^= s->state >> 17;
    s->state ^= s->state << 5;
    unsigned bits = s->mode & 15u;
    size_t n = 1u + (s->state & ((1u << bits) - 1u));
    return n < remaining ? n : remaining;
}

/* ---- digest ------------------------------------------------------------------------- */

typedef struct fuzz_digest {
    uint64_t h;
} fuzz_digest;

static inline void fuzz_digest_init(fuzz_digest *d)
{
    d->h = 0xcbf29ce484222325ull;
}

static inline void fuzz_digest_bytes(fuzz_digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 0x100000001b3ull;
    }
}

static inline void fuzz_digest_u64(fuzz_digest *d, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    fuzz_digest_bytes(d, b, sizeof b);
}

/* ---- allocator with failure injection ----------------------------------------------- */

/*
 * Counts allocations (malloc and realloc) and fails every one from number
 * |fail_at| on (1-based); 0 never fails.
 */
typedef struct fuzz_alloc {
    unsigned long calls;
    unsigned long fail_at;
} fuzz_alloc;

static inline bool fuzz_alloc_fails(fuzz_alloc *a)
{
    a->calls++;
    return a->fail_at != 0 && a->calls >= a->fail_at;
}

static inline void *fuzz_alloc_malloc(size_t size, void *user)
{
    if (fuzz_alloc_fails(user))
        return NULL;
    return malloc(size);
}

static inline void *fuzz_alloc_realloc(void *ptr, size_t size, void *user)
{
    if (fuzz_alloc_fails(user))
        return NULL;
    return realloc(ptr, size);
}

static inline void fuzz_alloc_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static inline h2_mem fuzz_alloc_mem(fuzz_alloc *a, unsigned long fail_at)
{
    a->calls = 0;
    a->fail_at = fail_at;
    h2_mem m = {a, fuzz_alloc_malloc, fuzz_alloc_realloc, fuzz_alloc_free};
    return m;
}

#endif /* H2_FUZZ_UTIL_H */
