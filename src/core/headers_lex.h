/*
 * What the header-block files share: the byte classes and the names the
 * rules single out. Internal to headers.c and headers_normalize.c.
 */
#ifndef H2_CORE_HEADERS_LEX_H
#define H2_CORE_HEADERS_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "core/headers.h"

enum {
    C_NAME = 1,   /* allowed in a field name after an optional leading ':' (RFC 9113 8.2.1) */
    C_UPPER = 2,  /* 'A'..'Z' */
    C_VBAD = 4,   /* NUL, LF, CR: never allowed in a value */
    C_OWS = 8,    /* SP, HTAB: not allowed at either end of a value */
    C_STRIP = 16, /* what outbound normalisation strips: SP HTAB LF VT FF CR */
    C_DIGIT = 32, /* '0'..'9' */
};

/* Bits of the enum above for every byte value (headers.c). */
extern const uint8_t h2_hdr_cls[256];

/* For the screening helpers below, which the compiler would otherwise keep as calls. */
#if defined(__GNUC__) || defined(__clang__)
#define H2_LEX_INLINE inline __attribute__((always_inline))
#else
#define H2_LEX_INLINE inline
#endif

enum name_tok {
    TOK_OTHER = 0,
    /* The known pseudo-headers; their values are also bit numbers. */
    TOK_METHOD,
    TOK_SCHEME,
    TOK_AUTHORITY,
    TOK_PATH,
    TOK_STATUS,
    TOK_PROTOCOL,
    TOK_TE,
    TOK_HOST,
    TOK_COOKIE,
    TOK_CONTENT_LENGTH,
    TOK_CONN, /* connection, proxy-connection, keep-alive, transfer-encoding, upgrade */
    TOK_AUTH, /* authorization, proxy-authorization */
};

/* Recognises |n| exactly (case matters); length decides which names to compare. */
enum name_tok h2_hdr_name_token(const uint8_t *n, size_t len);

/*
 * Word-at-a-time screening. Each test below is non-zero when some byte of
 * |w| may break the rule (never zero when one does); a hit is then settled
 * byte by byte through the class table, so false hits cost time, not
 * correctness.
 */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Some byte below |n| (n <= 128). */
static inline uint64_t word_has_less(uint64_t w, unsigned n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

/* Some byte equal to |c|. */
static inline uint64_t word_has_byte(uint64_t w, unsigned c)
{
    return word_has_less(w ^ (ONES * c), 1);
}

/* Some byte in 'A'..'Z' (exact per byte: the 7-bit sums cannot carry). */
static inline uint64_t word_has_upper(uint64_t w)
{
    const uint64_t low7 = w & (ONES * 0x7f);
    return (ONES * (127 + 'Z' + 1) - low7) & ~w & (low7 + ONES * (127 - ('A' - 1))) & HIGHS;
}

/* A byte that is not allowed in a name: < 0x21, >= 0x7f, 'A'..'Z' or ':'. */
static inline uint64_t name_word_suspect(uint64_t w)
{
    return word_has_less(w, 0x21) | (w & HIGHS) | word_has_byte(w, 0x7f) | word_has_byte(w, ':') |
           word_has_upper(w);
}

/* A byte that may be NUL, LF or CR: all are below 0x0e. */
static inline uint64_t value_word_suspect(uint64_t w)
{
    return word_has_less(w, 0x0e);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

static inline uint64_t load32x2(const uint8_t *a, const uint8_t *b)
{
    uint32_t x, y;
    memcpy(&x, a, sizeof(x));
    memcpy(&y, b, sizeof(y));
    return (uint64_t)x | (uint64_t)y << 32;
}

/*
 * Whether |p| may hold a byte that |suspect| flags. Spans of 4 bytes and
 * more are covered by (overlapping) words; shorter ones byte by byte against
 * |bad| class bits, whose answer is exact.
 */
static H2_LEX_INLINE bool span_suspect(const uint8_t *p, size_t len, uint64_t (*suspect)(uint64_t),
                                uint8_t good, uint8_t bad)
{
    if (len >= 8) {
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            if (suspect(load64(p + i)))
                return true;
        }
        return i < len && suspect(load64(p + len - 8));
    }
    if (len >= 4)
        return suspect(load32x2(p, p + len - 4)) != 0;
    for (size_t i = 0; i < len; i++) {
        if ((h2_hdr_cls[p[i]] & good) != good || (h2_hdr_cls[p[i]] & bad) != 0)
            return true;
    }
    return false;
}

#if defined(__SSE2__)
/* Some byte of |w| not allowed in a name (exact): as name_word_suspect(). */
static inline bool name_vec_bad(__m128i w)
{
    __m128i low = _mm_cmplt_epi8(w, _mm_set1_epi8(0x21)); /* signed: also 0x80..0xff */
    __m128i del = _mm_cmpeq_epi8(w, _mm_set1_epi8(0x7f));
    __m128i colon = _mm_cmpeq_epi8(w, _mm_set1_epi8(':'));
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('A' - 1)),
                                  _mm_cmplt_epi8(w, _mm_set1_epi8('Z' + 1)));
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low, del), _mm_or_si128(colon, upper))) != 0;
}
#endif

/*
 * Whether name bytes |p| may hold one outside the name class (C_NAME); a
 * hit is settled byte by byte by the caller. With SSE2, spans of 8 bytes
 * and more are screened 16 bytes at a time (two overlapping halves up to 16).
 */
static H2_LEX_INLINE bool name_span_suspect(const uint8_t *p, size_t len)
{
#if defined(__SSE2__)
    if (len >= 8) {
        if (len <= 16) {
            __m128i lo = _mm_loadl_epi64((const __m128i *)(const void *)p);
            __m128i hi = _mm_loadl_epi64((const __m128i *)(const void *)(p + len - 8));
            return name_vec_bad(_mm_unpacklo_epi64(lo, hi));
        }
        size_t i = 0;
        for (; i + 16 <= len; i += 16) {
            if (name_vec_bad(_mm_loadu_si128((const __m128i *)(const void *)(p + i))))
                return true;
        }
        return i < len &&
               name_vec_bad(_mm_loadu_si128((const __m128i *)(const void *)(p + len - 16)));
    }
#endif
    return span_suspect(p, len, name_word_suspect, C_NAME, 0);
}

/*
 * Whether |v| may hold NUL, LF or CR (exact for spans under 4 bytes; a hit
 * is settled byte by byte by the caller). With SSE2, 16 bytes at a time:
 * the running minimum of each byte lane over the value (the last 16 bytes
 * overlapping) is tested once at the end, as values with such a byte are
 * rare and every byte has to be read anyway.
 */
static H2_LEX_INLINE bool value_span_suspect(const uint8_t *v, size_t len)
{
#if defined(__SSE2__)
    if (len >= 16) {
        __m128i m = _mm_loadu_si128((const __m128i *)(const void *)(v + len - 16));
        for (size_t i = 0; i + 16 < len; i += 16)
            m = _mm_min_epu8(m, _mm_loadu_si128((const __m128i *)(const void *)(v + i)));
        /* min(m, 0x0d) == m exactly for the lanes whose minimum is 0x00..0x0d */
        return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(m, _mm_set1_epi8(0x0d)), m)) != 0;
    }
#endif
    return span_suspect(v, len, value_word_suspect, 0, C_VBAD);
}

static inline bool h2_hdr_bytes_eq(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, blen) == 0;
}

/* Occurrences of "; " in |v|: the extra fields a cookie split makes (headers_normalize.c). */
size_t h2_hdr_count_cookie_seps(const uint8_t *v, size_t len);

/* Whether the outbound normalisation strips a byte at either end of |p|. */
static inline bool h2_hdr_edge_strippable(const uint8_t *p, size_t len)
{
    return len > 0 && ((h2_hdr_cls[p[0]] | h2_hdr_cls[p[len - 1]]) & C_STRIP) != 0;
}

/*
 * Whether the outbound normalisation would change field |h| (whose name is
 * token |tok|), uppercase letters in its name aside.
 */
static inline bool h2_hdr_field_needs_work(const h2_header *h, enum name_tok tok, bool split)
{
    if (h2_hdr_edge_strippable(h->name, h->name_len) ||
        h2_hdr_edge_strippable(h->value, h->value_len))
        return true;
    switch (tok) {
    case TOK_CONN:
        return true;
    case TOK_AUTH:
        return !(h->flags & H2_HEADER_NEVER_INDEX);
    case TOK_COOKIE:
        if (h->value_len < 20 && !(h->flags & H2_HEADER_NEVER_INDEX))
            return true;
        return split && h2_hdr_count_cookie_seps(h->value, h->value_len) > 0;
    default:
        return false;
    }
}

/* Whether the outbound normalisation would change anything (headers_normalize.c). */
bool h2_hdr_outbound_needs_work(const h2_header *f, size_t n, bool split);

/* The outbound normalisation into |s|: 0 or H2_ENOMEM (headers_normalize.c). */
int h2_hdr_normalize_outbound(const h2_header *f, size_t n, bool split, h2_hdr_scratch *s,
                              const h2_header **out, size_t *n_out);

#endif /* H2_CORE_HEADERS_LEX_H */
