/* HPACK Huffman coding: RFC 7541 vectors, round trips, invalid codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/hpack.h"
#include "core/huffman.h"
#include "support/hex.h"

/* RFC 7541 Appendix C.4 and C.6 strings and their Huffman codings. */
static const struct {
    const char *text;
    const char *hex;
} vectors[] = {
    {"www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"},
    {"no-cache", "a8eb 1064 9cbf"},
    {"custom-key", "25a8 49e9 5ba9 7d7f"},
    {"custom-value", "25a8 49e9 5bb8 e8b4 bf"},
    {"302", "6402"},
    {"307", "640e ff"},
    {"private", "aec3 771a 4b"},
    {"Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"},
    {"https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"},
    {"gzip", "9bd9 ab"},
    {"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
     "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 "
     "03ed 4ee5 b106 3d50 07"},
};

Test(huffman, rfc_vectors_encode)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t want[128], got[128];
        size_t wn = unhex(vectors[i].hex, want);
        const uint8_t *in = (const uint8_t *)vectors[i].text;
        size_t len = strlen(vectors[i].text);
        cr_assert_eq(h2_huffman_encoded_len(in, len), wn, "%s", vectors[i].text);
        cr_assert_eq(h2_huffman_encode(in, len, got), wn);
        cr_assert_eq(memcmp(got, want, wn), 0, "%s", vectors[i].text);
    }
}

Test(huffman, rfc_vectors_decode)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t in[128], got[256];
        size_t n = unhex(vectors[i].hex, in);
        size_t len = strlen(vectors[i].text);
        ptrdiff_t r = h2_huffman_decode(in, n, got, sizeof(got));
        cr_assert_eq(r, (ptrdiff_t)len, "%s: %td", vectors[i].text, r);
        cr_assert_eq(memcmp(got, vectors[i].text, len), 0);
        /* Exactly the needed room (the careful tail path) works too. */
        r = h2_huffman_decode(in, n, got, len);
        cr_assert_eq(r, (ptrdiff_t)len);
        cr_assert_eq(memcmp(got, vectors[i].text, len), 0);
        if (len > 0)
            cr_assert_eq(h2_huffman_decode(in, n, got, len - 1), H2_ENOBUFS);
    }
}

Test(huffman, every_byte_value)
{
    uint8_t in[256], enc[1024], dec[300];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    size_t n = h2_huffman_encode(in, 256, enc);
    cr_assert_eq(n, h2_huffman_encoded_len(in, 256));
    ptrdiff_t r = h2_huffman_decode(enc, n, dec, sizeof(dec));
    cr_assert_eq(r, 256);
    cr_assert_eq(memcmp(in, dec, 256), 0);
    /* Each byte alone. */
    for (int i = 0; i < 256; i++) {
        uint8_t c = (uint8_t)i;
        n = h2_huffman_encode(&c, 1, enc);
        cr_assert_eq(h2_huffman_decode(enc, n, dec, sizeof(dec)), 1);
        cr_assert_eq(dec[0], c);
    }
}

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

Test(huffman, random_round_trips)
{
    static uint8_t in[4096], enc[4096 * 4], dec[8192];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = rng() % (iter < 1000 ? 40 : 1000);
        int kind = iter % 3;
        for (size_t i = 0; i < len; i++) {
            uint32_t v = rng();
            in[i] = kind == 0   ? (uint8_t)v
                    : kind == 1 ? (uint8_t)('a' + v % 26)
                                : (uint8_t)(32 + v % 95);
        }
        size_t n = h2_huffman_encode(in, len, enc);
        cr_assert_eq(n, h2_huffman_encoded_len(in, len));
        ptrdiff_t r = h2_huffman_decode(enc, n, dec, sizeof(dec));
        cr_assert_eq(r, (ptrdiff_t)len, "iter %d: %td vs %zu", iter, r, len);
        cr_assert_eq(memcmp(in, dec, len), 0);
    }
}

Test(huffman, empty)
{
    uint8_t out[4];
    cr_assert_eq(h2_huffman_encoded_len((const uint8_t *)"", 0), 0);
    cr_assert_eq(h2_huffman_encode((const uint8_t *)"", 0, out), 0);
    cr_assert_eq(h2_huffman_decode((const uint8_t *)"", 0, out, 0), 0);
}

Test(huffman, eos_in_stream_rejected)
{
    /* EOS (30 ones) and 2 bits of padding. */
    const uint8_t eos[] = {0xff, 0xff, 0xff, 0xff};
    uint8_t out[16];
    cr_assert_eq(h2_huffman_decode(eos, sizeof(eos), out, sizeof(out)), H2_ECOMPRESSION);
    /* 'a' (00011), then EOS, then padding: EOS is rejected even mid-string. */
    const uint8_t a_eos[] = {0x1f, 0xff, 0xff, 0xff, 0xff};
    cr_assert_eq(h2_huffman_decode(a_eos, sizeof(a_eos), out, sizeof(out)), H2_ECOMPRESSION);
    /* In the fast loop too: 8 'a's... then EOS inside a long input. */
    uint8_t buf[64];
    size_t n = h2_huffman_encode((const uint8_t *)"aaaaaaaa", 8, buf);
    /* 8 x 5 bits = 40 bits: exactly 5 bytes, no padding. */
    cr_assert_eq(n, 5);
    memset(buf + 5, 0xff, 4);
    memcpy(buf + 9, buf, 5);
    uint8_t big[128];
    cr_assert_eq(h2_huffman_decode(buf, 14, big, sizeof(big)), H2_ECOMPRESSION);
}

Test(huffman, padding_rules)
{
    uint8_t out[16];
    /* 'a' = 00011 + 111 padding: valid. */
    const uint8_t ok[] = {0x1f};
    cr_assert_eq(h2_huffman_decode(ok, 1, out, sizeof(out)), 1);
    cr_assert_eq(out[0], 'a');
    /* Padding not all ones. */
    const uint8_t zeros[] = {0x18};
    cr_assert_eq(h2_huffman_decode(zeros, 1, out, sizeof(out)), H2_ECOMPRESSION);
    const uint8_t mixed[] = {0x1d};
    cr_assert_eq(h2_huffman_decode(mixed, 1, out, sizeof(out)), H2_ECOMPRESSION);
    /* 8 or more bits of padding. */
    const uint8_t long_pad[] = {0x1f, 0xff};
    cr_assert_eq(h2_huffman_decode(long_pad, 2, out, sizeof(out)), H2_ECOMPRESSION);
    const uint8_t only_pad[] = {0xff};
    cr_assert_eq(h2_huffman_decode(only_pad, 1, out, sizeof(out)), H2_ECOMPRESSION);
    /* "aa" = 10 bits + 6 bits padding: valid; with a 0 in the padding: not. */
    const uint8_t aa[] = {0x18, 0xff};
    cr_assert_eq(h2_huffman_decode(aa, 2, out, sizeof(out)), 2);
    const uint8_t aa_bad[] = {0x18, 0xfe};
    cr_assert_eq(h2_huffman_decode(aa_bad, 2, out, sizeof(out)), H2_ECOMPRESSION);
}

Test(huffman, truncated_long_code)
{
    /* '\0' has a 13-bit code: 11111111 11000; one byte of it is not a valid end. */
    uint8_t enc[8], out[8];
    uint8_t zero = 0;
    size_t n = h2_huffman_encode(&zero, 1, enc);
    cr_assert_eq(n, 2);
    cr_assert_eq(enc[0], 0xff);
    cr_assert_eq(enc[1], 0xc7);
    cr_assert_eq(h2_huffman_decode(enc, 1, out, sizeof(out)), H2_ECOMPRESSION);
    cr_assert_eq(h2_huffman_decode(enc, 2, out, sizeof(out)), 1);
    cr_assert_eq(out[0], 0);
}

Test(huffman, every_prefix_of_long_input)
{
    /* Cut a coding at every byte: never a crash, and a cut valid string decodes to a prefix. */
    const char *text =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \x01\x7f\xfe";
    size_t len = strlen(text);
    uint8_t enc[256], out[512];
    size_t n = h2_huffman_encode((const uint8_t *)text, len, enc);
    for (size_t k = 0; k <= n; k++) {
        ptrdiff_t r = h2_huffman_decode(enc, k, out, sizeof(out));
        if (k == n) {
            cr_assert_eq(r, (ptrdiff_t)len);
        } else if (r >= 0) {
            cr_assert_leq((size_t)r, len);
            cr_assert_eq(memcmp(out, text, (size_t)r), 0, "cut at %zu", k);
        } else {
            cr_assert_eq(r, H2_ECOMPRESSION);
        }
    }
}

Test(huffman, output_bound_holds)
{
    /* 5-bit codes only: len * 8 / 5 symbols. */
    uint8_t in[40], enc[64], out[64];
    memset(in, '0', sizeof(in));
    size_t n = h2_huffman_encode(in, sizeof(in), enc);
    cr_assert_eq(n, 25);
    cr_assert_eq(h2_huffman_decode(enc, n, out, n * 8 / 5), 40);
}

Test(huffman, one_pass_coder_matches_and_gives_up)
{
    static uint8_t in[200], want[1024], got[1024 + 16];
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = rng() % 120;
        int kind = iter % 3;
        for (size_t i = 0; i < len; i++) {
            uint32_t v = rng();
            in[i] = kind == 0 ? (uint8_t)v : (uint8_t)(32 + v % 95);
        }
        size_t wn = h2_huffman_encode(in, len, want);
        /* Limit at, above and below the real length. */
        size_t limits[] = {wn, wn + 3, len, wn ? wn - 1 : 0};
        for (int k = 0; k < 4; k++) {
            memset(got, 0xaa, sizeof(got));
            size_t r = h2_huff_encode_upto(in, len, got, limits[k]);
            if (wn <= limits[k]) {
                cr_assert_eq(r, wn, "iter %d limit %zu", iter, limits[k]);
                cr_assert_eq(memcmp(got, want, wn), 0);
            } else {
                cr_assert_eq(r, SIZE_MAX);
            }
            /* Nothing written past the allowed room. */
            for (size_t j = limits[k] + H2_HUFF_ENCODE_SLACK; j < sizeof(got); j++)
                cr_assert_eq(got[j], 0xaa);
        }
    }
}

/*
 * The decoder inside header blocks may load the bytes after a string (up to
 * the block's end): at every cut of a coding, followed by bytes of every
 * kind, the result must be exactly that of the cut string alone.
 */
Test(huffman, bytes_after_the_string_are_never_used)
{
    const char *text = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \x01\x7f\xfe"
                       "accept-encoding: gzip, deflate, br";
    size_t len = strlen(text);
    static const uint8_t fills[] = {0x00, 0xff, 0x1f, 0xa5};
    uint8_t enc[256], out[512], alone[512];
    size_t n = h2_huffman_encode((const uint8_t *)text, len, enc);
    for (size_t f = 0; f < sizeof(fills); f++) {
        for (size_t k = 0; k <= n; k++) {
            uint8_t buf[256 + 16];
            memcpy(buf, enc, k);
            memset(buf + k, fills[f], 16);
            ptrdiff_t want = h2_huffman_decode(buf, k, alone, sizeof(alone));
            for (size_t extra = 1; extra <= 16; extra++) {
                ptrdiff_t got = h2_huff_decode_in(buf, k, buf + k + extra, out, sizeof(out));
                cr_assert_eq(got, want, "fill %#x, cut %zu, %zu more bytes", fills[f], k, extra);
                if (want > 0)
                    cr_assert_eq(memcmp(out, alone, (size_t)want), 0);
            }
        }
    }
}
