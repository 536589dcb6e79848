/*
 * HPACK primitive integers (RFC 7541 section 5.1) and small helpers shared
 * by the encoder and the decoder.
 */
#ifndef H2_CORE_HPACK_INT_H
#define H2_CORE_HPACK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define H2_HP_LIKELY(x) __builtin_expect(!!(x), 1)
#define H2_HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define H2_HP_LIKELY(x) (x)
#define H2_HP_UNLIKELY(x) (x)
#endif

/* Most bytes an integer of a size_t value can take: a prefix byte and 10 more. */
#define H2_HPACK_INT_MAX_BYTES 11u

/*
 * Writes |v| with an N-bit prefix (|mask| = 2^N - 1) into |o|, OR-ing the
 * representation bits |first| into the first byte. Returns the end.
 */
static inline uint8_t *h2_hpack_put_int(uint8_t *o, uint8_t first, uint8_t mask, size_t v)
{
    if (v < mask) {
        *o++ = (uint8_t)(first | v);
        return o;
    }
    *o++ = (uint8_t)(first | mask);
    v -= mask;
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

/* Bytes h2_hpack_put_int() writes for |v| with prefix mask |mask|. */
static inline size_t h2_hpack_int_len(uint8_t mask, size_t v)
{
    if (v < mask)
        return 1;
    size_t n = 2;
    for (v -= mask; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/*
 * Reads an integer with prefix mask |mask| at |*pp| (at least one byte is
 * available). Accepts at most 5 continuation bytes and values up to
 * UINT32_MAX. Returns 0 and advances |*pp|, or -1 (truncated or too large).
 */
static inline int h2_hpack_get_int(const uint8_t **pp, const uint8_t *end, uint8_t mask,
                                   uint32_t *out)
{
    const uint8_t *p = *pp;
    uint32_t v = (uint32_t)(*p++ & mask);
    if (H2_HP_LIKELY(v < mask)) {
        *pp = p;
        *out = v;
        return 0;
    }
    uint64_t acc = v;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (p == end)
            return -1;
        uint8_t b = *p++;
        acc += (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (acc > UINT32_MAX)
                return -1;
            *pp = p;
            *out = (uint32_t)acc;
            return 0;
        }
    }
    return -1;
}

static inline uint64_t h2_hpack_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t h2_hpack_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint16_t h2_hpack_load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/*
 * Whether |n| bytes at |a| and |b| are equal: a few word compares instead of
 * a call, for the short strings of header names and values.
 */
static inline bool h2_hpack_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        for (; n > 16; n -= 16, a += 16, b += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)a);
            __m128i y = _mm_loadu_si128((const __m128i *)(const void *)b);
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) != 0xffff)
                return false;
        }
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + n - 16));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16));
        return _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) == 0xffff;
    }
#endif
    if (n >= 8) {
        for (; n > 8; n -= 8, a += 8, b += 8) {
            if (h2_hpack_load64(a) != h2_hpack_load64(b))
                return false;
        }
        return h2_hpack_load64(a + n - 8) == h2_hpack_load64(b + n - 8);
    }
    if (n >= 4)
        return h2_hpack_load32(a) == h2_hpack_load32(b) &&
               h2_hpack_load32(a + n - 4) == h2_hpack_load32(b + n - 4);
    if (n >= 2)
        return h2_hpack_load16(a) == h2_hpack_load16(b) && a[n - 1] == b[n - 1];
    return n == 0 || a[0] == b[0];
}

#endif /* H2_CORE_HPACK_INT_H */
