/*
 * HPACK and RFC 7541 Appendix C: every example decoded and encoded byte
 * for byte, integers, invalid indexes, Huffman strings and truncated blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/hpack.h"
#include "core/hpack_encoder.h"
#include "core/hpack_int.h"
#include "support/hex.h"
#include "support/rfc7541_vectors.h"
#include "support/testmem.h"

typedef rfc7541_nv nv;
typedef rfc7541_case rfc_case;

static const rfc_case *find_case(const char *id)
{
    return rfc7541_find(id);
}

static h2_header hdr(const char *name, const char *value, uint32_t flags)
{
    h2_header h = {(const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value),
                   flags};
    return h;
}

static void to_headers(const rfc_case *c, h2_header *out, uint32_t flags)
{
    for (size_t i = 0; i < c->n; i++)
        out[i] = hdr(c->fields[i].name, c->fields[i].value, flags);
}

static void expect_fields(const h2_header *got, size_t n, const nv *want, size_t wn)
{
    cr_assert_eq(n, wn, "%zu fields, expected %zu", n, wn);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].name_len, strlen(want[i].name), "field %zu name length", i);
        cr_assert_eq(memcmp(got[i].name, want[i].name, got[i].name_len), 0, "field %zu", i);
        cr_assert_eq(got[i].value_len, strlen(want[i].value), "field %zu value length", i);
        cr_assert_eq(memcmp(got[i].value, want[i].value, got[i].value_len), 0, "field %zu", i);
    }
}

static void decode_cases(const char *const *ids, size_t n, size_t table_size)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    bool resize = table_size != H2_HPACK_DEFAULT_TABLE_SIZE;
    if (resize)
        cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, table_size), 0);
    for (size_t i = 0; i < n; i++) {
        const rfc_case *c = find_case(ids[i]);
        uint8_t block[512];
        size_t len = 0;
        if (resize && i == 0) {
            /* The RFC assumes a 256-byte table; announce it as a peer would. */
            len = (size_t)(h2_hpack_put_int(block, 0x20, 0x1f, table_size) - block);
        }
        len += unhex(c->hex, block + len);
        const h2_header *f;
        size_t nf;
        cr_assert_eq(h2_hpack_decode(dec, block, len, &f, &nf), 0, "%s", c->id);
        expect_fields(f, nf, c->fields, c->n);
        cr_assert_eq(h2_hpack_decoder_table_size(dec), c->table_size, "%s: table size %zu", c->id,
                     h2_hpack_decoder_table_size(dec));
    }
    h2_hpack_decoder_free(dec);
}

static void encode_cases(const char *const *ids, size_t n, size_t table_size, bool huffman)
{
    h2_hpack_encoder *enc;
    cr_assert_eq(h2_hpack_encoder_new(&enc, table_size, NULL), 0);
    h2_hpack_encoder_set_huffman(enc, huffman);
    for (size_t i = 0; i < n; i++) {
        const rfc_case *c = find_case(ids[i]);
        uint8_t want[512], got[512];
        size_t wn = 0;
        if (table_size != H2_HPACK_DEFAULT_TABLE_SIZE && i == 0)
            wn = (size_t)(h2_hpack_put_int(want, 0x20, 0x1f, table_size) - want);
        wn += unhex(c->hex, want + wn);
        h2_header fields[8];
        to_headers(c, fields, 0);
        size_t len;
        cr_assert_eq(h2_hpack_encode(enc, fields, c->n, got, sizeof(got), &len), 0);
        cr_assert_eq(len, wn, "%s: %zu bytes, expected %zu", c->id, len, wn);
        cr_assert_eq(memcmp(got, want, wn), 0, "%s differs", c->id);
        cr_assert_eq(h2_hpack_encoder_table_size(enc), c->table_size, "%s", c->id);
    }
    h2_hpack_encoder_free(enc);
}

#define IDS(...)                                                                                   \
    (const char *const[]){__VA_ARGS__},                                                            \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

/* ---- Appendix C.1: integers --------------------------------------------- */

Test(hpack_int, rfc_c1_examples)
{
    uint8_t buf[16];
    cr_assert_eq(h2_hpack_put_int(buf, 0, 0x1f, 10) - buf, 1);
    cr_assert_eq(buf[0], 10);
    cr_assert_eq(h2_hpack_put_int(buf, 0xe0, 0x1f, 1337) - buf, 3);
    cr_assert_eq(buf[0], 0xff);
    cr_assert_eq(buf[1], 0x9a);
    cr_assert_eq(buf[2], 0x0a);
    cr_assert_eq(h2_hpack_put_int(buf, 0, 0xff, 42) - buf, 1);
    cr_assert_eq(buf[0], 42);

    const uint8_t *p = buf;
    uint32_t v;
    buf[0] = 0x1f;
    buf[1] = 0x9a;
    buf[2] = 0x0a;
    cr_assert_eq(h2_hpack_get_int(&p, buf + 3, 0x1f, &v), 0);
    cr_assert_eq(v, 1337);
    cr_assert_eq(p, buf + 3);
}

Test(hpack_int, round_trip_and_lengths)
{
    static const uint8_t masks[] = {0x0f, 0x1f, 0x3f, 0x7f, 0xff};
    static const uint32_t values[] = {
        0,         1,     14,    15,      16,        30,        31,
        62,        63,    126,   127,     128,       254,       255,
        256,       16383, 16384, 2097151, 268435455, 268435456, UINT32_MAX - 1,
        UINT32_MAX};
    for (size_t m = 0; m < sizeof(masks); m++) {
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            uint8_t buf[16];
            uint8_t *e = h2_hpack_put_int(buf, 0, masks[m], values[i]);
            cr_assert_eq((size_t)(e - buf), h2_hpack_int_len(masks[m], values[i]));
            const uint8_t *p = buf;
            uint32_t v;
            cr_assert_eq(h2_hpack_get_int(&p, e, masks[m], &v), 0);
            cr_assert_eq(v, values[i]);
            cr_assert_eq(p, e);
            /* Every truncation fails. */
            for (uint8_t *cut = buf + 1; cut < e; cut++) {
                p = buf;
                cr_assert_eq(h2_hpack_get_int(&p, cut, masks[m], &v), -1);
            }
        }
    }
}

Test(hpack_int, overflow_rejected)
{
    uint32_t v;
    const uint8_t *p;
    /* 2^32 with a 7-bit prefix: 127 + (2^32 - 127). */
    uint8_t big[16];
    uint8_t *e = h2_hpack_put_int(big, 0, 0x7f, (size_t)UINT32_MAX + 1);
    p = big;
    cr_assert_eq(h2_hpack_get_int(&p, e, 0x7f, &v), -1);
    /* Six continuation bytes, even with a small value. */
    const uint8_t six[] = {0x7f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    p = six;
    cr_assert_eq(h2_hpack_get_int(&p, six + sizeof(six), 0x7f, &v), -1);
    /* Five continuation bytes with leading zero groups are fine. */
    const uint8_t five[] = {0x7f, 0x81, 0x80, 0x80, 0x80, 0x00};
    p = five;
    cr_assert_eq(h2_hpack_get_int(&p, five + sizeof(five), 0x7f, &v), 0);
    cr_assert_eq(v, 128);
    /* The largest 32-bit value at the largest length. */
    const uint8_t max[] = {0x7f, 0x80, 0xff, 0xff, 0xff, 0x0f};
    p = max;
    cr_assert_eq(h2_hpack_get_int(&p, max + sizeof(max), 0x7f, &v), 0);
    cr_assert_eq(v, UINT32_MAX);
    const uint8_t max1[] = {0x7f, 0x81, 0xff, 0xff, 0xff, 0x0f};
    p = max1;
    cr_assert_eq(h2_hpack_get_int(&p, max1 + sizeof(max1), 0x7f, &v), -1);
}

/* ---- Appendix C.2 to C.6 -------------------------------------------------- */

Test(hpack_rfc, c2_decode)
{
    decode_cases(IDS("C.2.1"), 4096);
    decode_cases(IDS("C.2.2"), 4096);
    decode_cases(IDS("C.2.4"), 4096);
    /* C.2.3 carries the never-indexed flag. */
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    uint8_t block[64];
    size_t len = unhex(find_case("C.2.3")->hex, block);
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decode(dec, block, len, &f, &nf), 0);
    expect_fields(f, nf, find_case("C.2.3")->fields, 1);
    cr_assert_eq(f[0].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 0);
    h2_hpack_decoder_free(dec);
}

Test(hpack_rfc, c2_encode)
{
    encode_cases(IDS("C.2.1"), 4096, false);
    encode_cases(IDS("C.2.4"), 4096, false);
    h2_hpack_encoder *enc;
    cr_assert_eq(h2_hpack_encoder_new(&enc, 4096, NULL), 0);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t want[64], got[64];
    size_t len;
    /* C.2.2: literal without indexing. */
    h2_header f = hdr(":path", "/sample/path", H2_HEADER_NO_INDEX);
    size_t wn = unhex(find_case("C.2.2")->hex, want);
    cr_assert_eq(h2_hpack_encode(enc, &f, 1, got, sizeof(got), &len), 0);
    cr_assert_eq(len, wn);
    cr_assert_eq(memcmp(got, want, wn), 0);
    /* C.2.3: never indexed. */
    f = hdr("password", "secret", H2_HEADER_NEVER_INDEX);
    wn = unhex(find_case("C.2.3")->hex, want);
    cr_assert_eq(h2_hpack_encode(enc, &f, 1, got, sizeof(got), &len), 0);
    cr_assert_eq(len, wn);
    cr_assert_eq(memcmp(got, want, wn), 0);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 0);
    h2_hpack_encoder_free(enc);
}

Test(hpack_rfc, c3_requests_plain)
{
    decode_cases(IDS("C.3.1", "C.3.2", "C.3.3"), 4096);
    encode_cases(IDS("C.3.1", "C.3.2", "C.3.3"), 4096, false);
}

Test(hpack_rfc, c4_requests_huffman)
{
    decode_cases(IDS("C.4.1", "C.4.2", "C.4.3"), 4096);
    encode_cases(IDS("C.4.1", "C.4.2", "C.4.3"), 4096, true);
}

Test(hpack_rfc, c5_responses_plain_256)
{
    decode_cases(IDS("C.5.1", "C.5.2", "C.5.3"), 256);
    encode_cases(IDS("C.5.1", "C.5.2", "C.5.3"), 256, false);
}

Test(hpack_rfc, c6_responses_huffman_256)
{
    decode_cases(IDS("C.6.1", "C.6.2", "C.6.3"), 256);
    encode_cases(IDS("C.6.1", "C.6.2", "C.6.3"), 256, true);
}

Test(hpack_rfc, c5_eviction_order)
{
    /* After C.5.3 the table holds, newest first: set-cookie, content-encoding, date. */
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 256), 0);
    const char *ids[] = {"C.5.1", "C.5.2", "C.5.3"};
    for (int i = 0; i < 3; i++) {
        uint8_t block[512];
        size_t len = 0;
        if (i == 0)
            len = (size_t)(h2_hpack_put_int(block, 0x20, 0x1f, 256) - block);
        len += unhex(find_case(ids[i])->hex, block + len);
        const h2_header *f;
        size_t nf;
        cr_assert_eq(h2_hpack_decode(dec, block, len, &f, &nf), 0);
    }
    const uint8_t refs[] = {0xbe, 0xbf, 0xc0};
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decode(dec, refs, 3, &f, &nf), 0);
    nv want[] = {{"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
                 {"content-encoding", "gzip"},
                 {"date", "Mon, 21 Oct 2013 20:13:22 GMT"}};
    expect_fields(f, nf, want, 3);
    const uint8_t gone[] = {0xc1};
    cr_assert_eq(h2_hpack_decode(dec, gone, 1, &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
}

/* ---- decoder errors -------------------------------------------------------- */

static int decode_hex(h2_hpack_decoder *dec, const char *hex, const h2_header **f, size_t *nf)
{
    uint8_t block[1024];
    size_t len = unhex(hex, block);
    return h2_hpack_decode(dec, block, len, f, nf);
}

static int decode_fresh(const char *hex)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    const h2_header *f;
    size_t nf;
    int rv = decode_hex(dec, hex, &f, &nf);
    h2_hpack_decoder_free(dec);
    return rv;
}

Test(hpack_decode, index_zero_is_error)
{
    cr_assert_eq(decode_fresh("80"), H2_ECOMPRESSION);
    /* Literal with indexing and a name index beyond the table. */
    cr_assert_eq(decode_fresh("7e0161"), H2_ECOMPRESSION);
}

Test(hpack_decode, bad_indexes)
{
    cr_assert_eq(decode_fresh("be"), H2_ECOMPRESSION);               /* 62, empty table */
    cr_assert_eq(decode_fresh("bd"), 0);                             /* 61 */
    cr_assert_eq(decode_fresh("ff80808080808000"), H2_ECOMPRESSION); /* too long */
    cr_assert_eq(decode_fresh("ffffffffff0f"), H2_ECOMPRESSION);     /* > 2^32 */
    cr_assert_eq(decode_fresh("0f3f0161"), H2_ECOMPRESSION);         /* no-index, name 78 */
    cr_assert_eq(decode_fresh("1f3f0161"), H2_ECOMPRESSION);         /* never, name 78 */
    /* One past the newest entry. */
    cr_assert_eq(decode_fresh("400161016182be"), 0);
    cr_assert_eq(decode_fresh("400161016182bf"), H2_ECOMPRESSION);
}

Test(hpack_decode, bad_huffman_in_block)
{
    /* Literal without indexing, new name "a", Huffman value with EOS. */
    cr_assert_eq(decode_fresh("00016184ffffffff"), H2_ECOMPRESSION);
    /* Value with zero padding. */
    cr_assert_eq(decode_fresh("0001618118"), H2_ECOMPRESSION);
    /* Value with a whole byte of padding. */
    cr_assert_eq(decode_fresh("000161821fff"), H2_ECOMPRESSION);
    /* Same, valid. */
    cr_assert_eq(decode_fresh("000161811f"), 0);
    /* Huffman name with bad padding. */
    cr_assert_eq(decode_fresh("00811801 61"), H2_ECOMPRESSION);
}

Test(hpack_decode, string_longer_than_block)
{
    cr_assert_eq(decode_fresh("000161056161"), H2_ECOMPRESSION);
    cr_assert_eq(decode_fresh("00056161"), H2_ECOMPRESSION);
    cr_assert_eq(decode_fresh("0001617f"), H2_ECOMPRESSION);
}

Test(hpack_decode, unusable_after_error)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    const h2_header *f = (const h2_header *)1;
    size_t nf = 99;
    cr_assert_eq(decode_hex(dec, "80", &f, &nf), H2_ECOMPRESSION);
    cr_assert_null(f);
    cr_assert_eq(nf, 0);
    cr_assert_eq(decode_hex(dec, "82", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
}

Test(hpack_decode, invalid_arguments)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(NULL, NULL), H2_EINVAL);
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decode(NULL, (const uint8_t *)"\x82", 1, &f, &nf), H2_EINVAL);
    cr_assert_eq(h2_hpack_decode(dec, NULL, 1, &f, &nf), H2_EINVAL);
    cr_assert_eq(h2_hpack_decode(dec, (const uint8_t *)"\x82", 1, NULL, &nf), H2_EINVAL);
    cr_assert_eq(h2_hpack_decode(dec, NULL, 0, &f, &nf), 0);
    cr_assert_eq(nf, 0);
    h2_hpack_decoder_free(dec);
    h2_hpack_decoder_free(NULL);
}

Test(hpack_decode, truncated_at_every_offset)
{
    /* C.4.3 and C.6.3 after their predecessors, cut everywhere. */
    const char *const chains[][3] = {{"C.4.1", "C.4.2", "C.4.3"}, {"C.6.1", "C.6.2", "C.6.3"}};
    for (int ch = 0; ch < 2; ch++) {
        size_t ts = ch == 0 ? 4096 : 256;
        const rfc_case *last = find_case(chains[ch][2]);
        uint8_t full[512];
        size_t full_len = unhex(last->hex, full);
        /* Field boundaries of the last block, from decoding it field by field. */
        for (size_t cut = 0; cut <= full_len; cut++) {
            h2_hpack_decoder *dec;
            cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
            if (ts != 4096)
                h2_hpack_decoder_set_max_table_size(dec, ts);
            for (int i = 0; i < 2; i++) {
                uint8_t block[512];
                size_t len = 0;
                if (i == 0 && ts != 4096)
                    len = (size_t)(h2_hpack_put_int(block, 0x20, 0x1f, ts) - block);
                len += unhex(find_case(chains[ch][i])->hex, block + len);
                const h2_header *f;
                size_t nf;
                cr_assert_eq(h2_hpack_decode(dec, block, len, &f, &nf), 0);
            }
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, full, cut);
            const h2_header *f;
            size_t nf;
            int rv = h2_hpack_decode(dec, copy, cut, &f, &nf);
            free(copy);
            if (rv == 0) {
                cr_assert_leq(nf, last->n);
                expect_fields(f, nf, last->fields, nf);
            } else {
                cr_assert_eq(rv, H2_ECOMPRESSION, "cut %zu: %d", cut, rv);
            }
            if (cut == full_len)
                cr_assert_eq(rv, 0);
            h2_hpack_decoder_free(dec);
        }
    }
}

Test(hpack_decode, truncated_literal_never_succeeds_partially)
{
    /* Literal with a new name: every cut inside it is an error. */
    const char *hex = "400a637573746f6d2d6b65790d637573746f6d2d686561646572";
    uint8_t full[64];
    size_t n = unhex(hex, full);
    for (size_t cut = 1; cut < n; cut++) {
        h2_hpack_decoder *dec;
        cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
        const h2_header *f;
        size_t nf;
        cr_assert_eq(h2_hpack_decode(dec, full, cut, &f, &nf), H2_ECOMPRESSION, "cut %zu", cut);
        cr_assert_eq(h2_hpack_decoder_table_size(dec), 0);
        h2_hpack_decoder_free(dec);
    }
}
