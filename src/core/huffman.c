/*
 * HPACK Huffman coding (RFC 7541 section 5.2): the public h2_huffman_*
 * functions. Tables and their layout: huffman.h.
 */
#include <string.h>
#include "h2/hpack.h"
#include "core/huffman.h"

#if defined(__GNUC__) || defined(__clang__)
#define H2_LIKELY(x) __builtin_expect(!!(x), 1)
#define H2_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define H2_LIKELY(x) (x)
#define H2_UNLIKELY(x) (x)
#endif

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, sizeof(v));
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, sizeof(v));
}

/* Writes the low byte of |v| at |o| and the next byte at |o + 1|. */
static inline void store_2(uint8_t *o, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t w = (uint16_t)v;
    memcpy(o, &w, sizeof(w));
#else
    o[0] = (uint8_t)v;
    o[1] = (uint8_t)(v >> 8);
#endif
}

/*
 * Decodes one code longer than the fast table covers, from the top bits of
 * |acc|. Stores its length in |*bits|; returns the symbol (256 for EOS).
 */
static inline unsigned decode_long(uint64_t acc, unsigned *bits)
{
    uint64_t top = acc >> 32;
    unsigned n = H2_HUFF_DEC_BITS + 1;
    while (top >= h2_huff_dec_limit[n])
        n++;
    *bits = n;
    uint32_t code = (uint32_t)(top >> (32 - n));
    return h2_huff_dec_sym[h2_huff_dec_offset[n] + (code - h2_huff_dec_first[n])];
}

/*
 * The end of a Huffman string after the fast loop: byte loads, and every
 * code must end within the input (|acc|, |nb| as the fast loop left them).
 * Returns the bytes written at |o|, or H2_ECOMPRESSION / H2_ENOBUFS.
 */
static ptrdiff_t decode_tail(const uint8_t *p, const uint8_t *end, uint64_t acc, unsigned nb,
                             uint8_t *o, uint8_t *oend)
{
    uint8_t *start = o;
    for (;;) {
        while (nb <= 56 && p < end) {
            acc |= (uint64_t)*p++ << (56 - nb);
            nb += 8;
        }
        if (nb == 0)
            break;
        uint32_t e = h2_huff_dec_fast[acc >> (64 - H2_HUFF_DEC_BITS)];
        unsigned n = e >> 30;
        unsigned used = e & 31u;
        if (n == 2 && used <= nb) {
            if (oend - o < 2)
                return H2_ENOBUFS;
            o[0] = (uint8_t)(e >> 8);
            o[1] = (uint8_t)(e >> 16);
            o += 2;
            acc <<= used;
            nb -= used;
        } else if (n != 0 && ((e >> 24) & 15) <= nb) {
            if (o == oend)
                return H2_ENOBUFS;
            *o++ = (uint8_t)(e >> 8);
            acc <<= (e >> 24) & 15;
            nb -= (e >> 24) & 15;
        } else {
            /* Input is exhausted here when nb < 8: at most 7 bits of padding, all ones. */
            if (nb < 8 && (acc >> (64 - nb)) == (UINT64_C(1) << nb) - 1)
                break;
            if (n != 0)
                return H2_ECOMPRESSION;
            unsigned long_used;
            unsigned sym = decode_long(acc, &long_used);
            if (long_used > nb || sym == H2_HUFF_EOS)
                return H2_ECOMPRESSION;
            if (o == oend)
                return H2_ENOBUFS;
            *o++ = (uint8_t)sym;
            acc <<= long_used;
            nb -= long_used;
        }
    }
    return o - start;
}

ptrdiff_t h2_huff_decode_in(const uint8_t *in, size_t len, const uint8_t *readable, uint8_t *out,
                            size_t cap)
{
    const uint8_t *p = in;
    const uint8_t *end = in + len;
    uint8_t *o = out;
    uint8_t *oend = out + cap;
    uint64_t acc = 0;                 /* next bits of input, most significant first */
    unsigned nb = 0;                  /* how many of acc's top bits are counted input */
    uint64_t rem = (uint64_t)len * 8; /* bits of the string not decoded yet */

    /*
     * Main loop: whole 8-byte loads while 8 bytes can be read, which may go
     * past the string into the bytes that follow it (up to |readable|).
     * Bits of acc below the nb counted ones hold the bytes that follow, so
     * OR-ing the next load over them is harmless; past the string's end
     * they are not counted, and every use below looks at counted bits only.
     */
    while (readable - p >= 8 && oend - o >= 16 && rem > nb) {
        acc |= load_be64(p) >> nb;
        p += (63 - nb) >> 3;
        nb |= 56;
        if (nb > rem)
            nb = (unsigned)rem;
        unsigned before = nb;
        /*
         * A table entry takes at most H2_HUFF_DEC_BITS bits, so lookups go on
         * while that many are counted: up to 12 symbols per load, which the
         * 16 bytes of room cover (the two-byte store may write one past).
         * A longer code waits for a load that gives it all its bits.
         */
        while (nb >= H2_HUFF_DEC_BITS) {
            uint32_t e = h2_huff_dec_fast[acc >> (64 - H2_HUFF_DEC_BITS)];
            if (H2_LIKELY(e >> 30)) {
                store_2(o, e >> 8);
                o += e >> 30;
                acc <<= e & 63u;
                nb -= e & 31u;
            } else {
                if (nb < H2_HUFF_MAX_CODE_LEN)
                    break;
                unsigned used;
                unsigned sym = decode_long(acc, &used);
                if (H2_UNLIKELY(sym == H2_HUFF_EOS))
                    return H2_ECOMPRESSION;
                *o++ = (uint8_t)sym;
                acc <<= used;
                nb -= used;
            }
        }
        rem -= before - nb;
    }

    /* What is left: at most nb counted bits in acc, and the bytes at p before end. */
    ptrdiff_t t = decode_tail(p < end ? p : end, end, acc, nb, o, oend);
    return t < 0 ? t : (o - out) + t;
}

ptrdiff_t h2_huffman_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    return h2_huff_decode_in(in, len, in + len, out, cap);
}

size_t h2_huffman_encoded_len(const uint8_t *in, size_t len)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < len; i++)
        bits += h2_huff_enc_len[in[i]];
    return (size_t)((bits + 7) / 8);
}

size_t h2_huffman_encode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t *o = out;
    uint64_t acc = 0; /* pending bits in the low nb bits */
    unsigned nb = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t e = h2_huff_enc[in[i]];
        unsigned n = (unsigned)(e >> 32);
        acc = (acc << n) | (e & 0xffffffffu);
        nb += n;
        if (nb >= 32) {
            nb -= 32;
            store_be32(o, (uint32_t)(acc >> nb));
            o += 4;
        }
    }
    if (nb & 7) {
        unsigned pad = 8 - (nb & 7);
        acc = (acc << pad) | ((UINT64_C(1) << pad) - 1);
        nb += pad;
    }
    while (nb >= 8) {
        nb -= 8;
        *o++ = (uint8_t)(acc >> nb);
    }
    return (size_t)(o - out);
}

/*
 * Writes the whole bytes of the |*nb| pending bits (the low bits of |acc|,
 * 1 to 64 of them) with one 8-byte store; keeps the last 0 to 7 bits.
 */
static inline uint8_t *flush_bytes(uint8_t *o, uint64_t acc, unsigned *nb)
{
    store_be64(o, acc << (64 - *nb));
    o += *nb >> 3;
    *nb &= 7;
    return o;
}

size_t h2_huff_encode_upto(const uint8_t *in, size_t len, uint8_t *out, size_t limit)
{
    uint8_t *o = out;
    uint8_t *stop = out + limit;
    uint64_t acc = 0; /* pending bits in the low nb bits (at most 7 between symbols pairs) */
    unsigned nb = 0;
    size_t i = 0;
    for (; i + 2 <= len; i += 2) {
        uint64_t e1 = h2_huff_enc[in[i]];
        uint64_t e2 = h2_huff_enc[in[i + 1]];
        unsigned n1 = (unsigned)(e1 >> 32);
        unsigned n2 = (unsigned)(e2 >> 32);
        if (H2_LIKELY(n1 + n2 <= 57)) {
            acc = (acc << (n1 + n2)) | ((e1 & 0xffffffffu) << n2) | (e2 & 0xffffffffu);
            nb += n1 + n2;
            o = flush_bytes(o, acc, &nb);
        } else {
            acc = (acc << n1) | (e1 & 0xffffffffu);
            nb += n1;
            o = flush_bytes(o, acc, &nb);
            acc = (acc << n2) | (e2 & 0xffffffffu);
            nb += n2;
            o = flush_bytes(o, acc, &nb);
        }
        if (H2_UNLIKELY(o > stop))
            return SIZE_MAX;
    }
    if (i < len) {
        uint64_t e = h2_huff_enc[in[i]];
        unsigned n = (unsigned)(e >> 32);
        acc = (acc << n) | (e & 0xffffffffu);
        nb += n;
        o = flush_bytes(o, acc, &nb);
    }
    if (nb != 0) {
        unsigned pad = 8 - nb;
        *o++ = (uint8_t)((acc << pad) | ((1u << pad) - 1));
    }
    return o > stop ? SIZE_MAX : (size_t)(o - out);
}
