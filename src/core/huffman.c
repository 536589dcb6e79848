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

static inline void store_be32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, sizeof(v));
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

ptrdiff_t h2_huffman_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    const uint8_t *p = in;
    const uint8_t *end = in + len;
    uint8_t *o = out;
    uint8_t *oend = out + cap;
    uint64_t acc = 0; /* next bits of input, most significant first */
    unsigned nb = 0;  /* how many of acc's top bits are input */

    /*
     * Main loop: whole 8-byte loads while at least 8 input bytes remain.
     * Bits of acc below the nb counted ones hold the input that follows, so
     * OR-ing the next load over them is harmless.
     */
    while (end - p >= 8 && oend - o >= 16) {
        acc |= load_be64(p) >> nb;
        p += (63 - nb) >> 3;
        nb |= 56;
        do {
            uint32_t e = h2_huff_dec_fast[acc >> (64 - H2_HUFF_DEC_BITS)];
            if (H2_LIKELY(e >> 25)) {
                unsigned used = (e >> 20) & 31;
                o[0] = (uint8_t)e;
                o[1] = (uint8_t)(e >> 8);
                o += e >> 25;
                acc <<= used;
                nb -= used;
            } else {
                unsigned used;
                unsigned sym = decode_long(acc, &used);
                if (H2_UNLIKELY(sym == H2_HUFF_EOS))
                    return H2_ECOMPRESSION;
                *o++ = (uint8_t)sym;
                acc <<= used;
                nb -= used;
            }
        } while (nb >= H2_HUFF_MAX_CODE_LEN);
    }

    /* Tail: byte loads; every code must end within the input. */
    for (;;) {
        while (nb <= 56 && p < end) {
            acc |= (uint64_t)*p++ << (56 - nb);
            nb += 8;
        }
        if (nb == 0)
            break;
        uint32_t e = h2_huff_dec_fast[acc >> (64 - H2_HUFF_DEC_BITS)];
        unsigned n = e >> 25;
        if (n == 2 && ((e >> 20) & 31) <= nb) {
            if (oend - o < 2)
                return H2_ENOBUFS;
            o[0] = (uint8_t)e;
            o[1] = (uint8_t)(e >> 8);
            o += 2;
            acc <<= (e >> 20) & 31;
            nb -= (e >> 20) & 31;
        } else if (n != 0 && ((e >> 16) & 15) <= nb) {
            if (o == oend)
                return H2_ENOBUFS;
            *o++ = (uint8_t)e;
            acc <<= (e >> 16) & 15;
            nb -= (e >> 16) & 15;
        } else {
            /* Input is exhausted here when nb < 8: at most 7 bits of padding, all ones. */
            if (nb < 8 && (acc >> (64 - nb)) == (UINT64_C(1) << nb) - 1)
                break;
            if (n != 0)
                return H2_ECOMPRESSION;
            unsigned used;
            unsigned sym = decode_long(acc, &used);
            if (used > nb || sym == H2_HUFF_EOS)
                return H2_ECOMPRESSION;
            if (o == oend)
                return H2_ENOBUFS;
            *o++ = (uint8_t)sym;
            acc <<= used;
            nb -= used;
        }
    }
    return o - out;
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
