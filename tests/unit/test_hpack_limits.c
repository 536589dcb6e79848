/*
 * HPACK decoder: table size update rules, header list and string limits,
 * the output arena and allocation failures.
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

/* ---- table size updates ------------------------------------------------------ */

Test(hpack_size_update, at_start_allowed)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    const h2_header *f;
    size_t nf;
    /* Add an entry, then shrink to 0 (evicts), then back to 4096. */
    cr_assert_eq(decode_hex(dec, "400161016182", &f, &nf), 0);
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 34);
    cr_assert_eq(decode_hex(dec, "203fe11f82", &f, &nf), 0);
    cr_assert_eq(nf, 1);
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 0);
    cr_assert_eq(decode_hex(dec, "be", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
}

Test(hpack_size_update, after_field_is_error)
{
    cr_assert_eq(decode_fresh("8220"), H2_ECOMPRESSION);
    cr_assert_eq(decode_fresh("2082"), 0);
    cr_assert_eq(decode_fresh("202082"), 0);
}

Test(hpack_size_update, above_max_is_error)
{
    /* 4097 > 4096. */
    cr_assert_eq(decode_fresh("3fe21f"), H2_ECOMPRESSION);
    cr_assert_eq(decode_fresh("3fe11f"), 0);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 8192), 0);
    const h2_header *f;
    size_t nf;
    cr_assert_eq(decode_hex(dec, "3fe13f", &f, &nf), 0); /* 8192 */
    h2_hpack_decoder_free(dec);
}

Test(hpack_size_update, lowered_max_requires_update)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    /* Without the update: error. */
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 1024), 0);
    cr_assert_eq(decode_hex(dec, "82", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
    /* An empty block is not enough either. */
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 1024), 0);
    cr_assert_eq(h2_hpack_decode(dec, NULL, 0, &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
    /* With an update at or below it: fine, and only for that block. */
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 1024), 0);
    cr_assert_eq(decode_hex(dec, "3fe10782", &f, &nf), 0); /* 1024 */
    cr_assert_eq(decode_hex(dec, "82", &f, &nf), 0);
    h2_hpack_decoder_free(dec);
    /* Above the new max: error. */
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 1024), 0);
    cr_assert_eq(decode_hex(dec, "3fe20782", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
    /* Raising the max needs no update. */
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 8192), 0);
    cr_assert_eq(decode_hex(dec, "82", &f, &nf), 0);
    h2_hpack_decoder_free(dec);
}

Test(hpack_size_update, lowered_then_raised_needs_the_minimum)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 100), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 4096), 0);
    /* Only the final size: not enough. */
    cr_assert_eq(decode_hex(dec, "3fe11f82", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 100), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, 4096), 0);
    /* Minimum (100) then final (4096). */
    cr_assert_eq(decode_hex(dec, "3f453fe11f82", &f, &nf), 0);
    h2_hpack_decoder_free(dec);
}

/* ---- limits ------------------------------------------------------------------- */

Test(hpack_limits, list_size_exceeded_keeps_table_in_sync)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    /* a:a is 34 bytes; three of them with indexing exceed a 100-byte list. */
    h2_hpack_decoder_set_limits(dec, 100, 0);
    int rv = decode_hex(dec, "400161016140016201624001630163", &f, &nf);
    cr_assert_eq(rv, H2_EHEADER_LIST_SIZE);
    cr_assert_eq(nf, 0);
    cr_assert_null(f);
    /* All three were added all the same. */
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 3 * 34);
    cr_assert_eq(decode_hex(dec, "bebfc0", &f, &nf), H2_EHEADER_LIST_SIZE);
    cr_assert_eq(decode_hex(dec, "bebf", &f, &nf), 0);
    nv want[] = {{"c", "c"}, {"b", "b"}};
    expect_fields(f, nf, want, 2);
    h2_hpack_decoder_free(dec);
}

Test(hpack_limits, string_length_limit)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    h2_hpack_decoder_set_limits(dec, 0, 4);
    /* Value of 5 bytes, indexed: limit passed, entry still added. */
    cr_assert_eq(decode_hex(dec, "4001610568656c6c6f", &f, &nf), H2_EHEADER_LIST_SIZE);
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 32 + 6);
    /* Huffman name over the limit (www.example.com), without indexing. */
    cr_assert_eq(decode_hex(dec, "008cf1e3c2e5f23a6ba0ab90f4ff0161", &f, &nf),
                 H2_EHEADER_LIST_SIZE);
    /* 4 bytes is fine; the entry referenced again is over the limit again. */
    cr_assert_eq(decode_hex(dec, "0001610461626364", &f, &nf), 0);
    cr_assert_eq(nf, 1);
    cr_assert_eq(decode_hex(dec, "be", &f, &nf), H2_EHEADER_LIST_SIZE);
    h2_hpack_decoder_set_limits(dec, 0, 0);
    cr_assert_eq(decode_hex(dec, "be", &f, &nf), 0);
    nv want[] = {{"a", "hello"}};
    expect_fields(f, nf, want, 1);
    h2_hpack_decoder_free(dec);
}

Test(hpack_limits, bad_block_after_limit_still_compression_error)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    h2_hpack_decoder_set_limits(dec, 40, 0);
    /* Over the limit at field 2, then an invalid index: the block is still invalid. */
    cr_assert_eq(decode_hex(dec, "8283c5", &f, &nf), H2_ECOMPRESSION);
    h2_hpack_decoder_free(dec);
}

Test(hpack_limits, hpack_bomb_stays_small)
{
    /* One 4000-byte entry referenced 4000 times: 16 MB of headers if expanded. */
    testmem tm;
    testmem_init(&tm);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, &tm.mem), 0);
    size_t n = 4000;
    uint8_t *block = malloc(4100 + n);
    uint8_t *p = block;
    *p++ = 0x40;
    *p++ = 0x01;
    *p++ = 'x';
    p = h2_hpack_put_int(p, 0, 0x7f, 4000);
    memset(p, 'v', 4000);
    p += 4000;
    memset(p, 0xbe, n);
    p += n;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decode(dec, block, (size_t)(p - block), &f, &nf), H2_EHEADER_LIST_SIZE);
    cr_assert_lt(tm.peak_bytes, 200000, "peak %zu", tm.peak_bytes);
    /* The decoder stays usable. */
    cr_assert_eq(decode_hex(dec, "be", &f, &nf), 0);
    cr_assert_eq(nf, 1);
    cr_assert_eq(f[0].value_len, 4000);
    free(block);
    h2_hpack_decoder_free(dec);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(hpack_limits, default_limits)
{
    h2_hpack_decoder *dec;
    const h2_header *f;
    size_t nf;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    /* A 65536-byte value passes; 65537 does not. */
    for (size_t vl = 65536; vl <= 65537; vl++) {
        uint8_t *block = malloc(vl + 16);
        uint8_t *p = block;
        *p++ = 0x00;
        *p++ = 0x01;
        *p++ = 'a';
        p = h2_hpack_put_int(p, 0, 0x7f, vl);
        memset(p, 'z', vl);
        p += vl;
        int rv = h2_hpack_decode(dec, block, (size_t)(p - block), &f, &nf);
        cr_assert_eq(rv, vl == 65536 ? H2_EHEADER_LIST_SIZE : H2_EHEADER_LIST_SIZE);
        free(block);
    }
    h2_hpack_decoder_set_limits(dec, 0, 0);
    uint8_t *block = malloc(70000);
    uint8_t *p = block;
    *p++ = 0x00;
    *p++ = 0x01;
    *p++ = 'a';
    p = h2_hpack_put_int(p, 0, 0x7f, 65537);
    memset(p, 'z', 65537);
    p += 65537;
    cr_assert_eq(h2_hpack_decode(dec, block, (size_t)(p - block), &f, &nf), 0);
    cr_assert_eq(f[0].value_len, 65537);
    free(block);
    h2_hpack_decoder_free(dec);
}

/* ---- the output arena ------------------------------------------------------------ */

Test(hpack_arena, results_stay_valid_until_reset)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    const h2_header *first;
    size_t nfirst;
    cr_assert_eq(decode_hex(dec, find_case("C.4.1")->hex, &first, &nfirst), 0);
    /* Many more blocks, enough to need several chunks. */
    const h2_header *f;
    size_t nf;
    for (int i = 0; i < 500; i++) {
        cr_assert_eq(decode_hex(dec, "0001610568656c6c6f40016201628286be", &f, &nf), 0);
        cr_assert_eq(nf, 5);
    }
    expect_fields(first, nfirst, find_case("C.4.1")->fields, 4);
    h2_hpack_decoder_free(dec);
}

Test(hpack_arena, steady_state_does_not_allocate)
{
    testmem tm;
    testmem_init(&tm);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, &tm.mem), 0);
    const h2_header *f;
    size_t nf;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(decode_hex(dec, find_case(i == 0 ? "C.4.1" : "C.4.2")->hex, &f, &nf), 0);
        h2_hpack_decoder_reset_output(dec);
    }
    size_t before = tm.n_calls;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(decode_hex(dec, find_case("C.4.3")->hex, &f, &nf), 0);
        cr_assert_eq(nf, 5);
        h2_hpack_decoder_reset_output(dec);
    }
    cr_assert_eq(tm.n_calls, before, "%zu allocations in steady state", tm.n_calls - before);
    h2_hpack_decoder_free(dec);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(hpack_arena, big_field_after_reset_reuses_memory)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    h2_hpack_decoder_set_limits(dec, 0, 0);
    size_t vl = 20000;
    uint8_t *block = malloc(vl + 16);
    uint8_t *p = block;
    *p++ = 0x00;
    *p++ = 0x01;
    *p++ = 'a';
    p = h2_hpack_put_int(p, 0, 0x7f, vl);
    size_t voff = (size_t)(p - block);
    for (size_t i = 0; i < vl; i++)
        *p++ = (uint8_t)('a' + i % 26);
    const h2_header *f, *g;
    size_t nf;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(h2_hpack_decode(dec, block, (size_t)(p - block), &f, &nf), 0);
        cr_assert_eq(decode_hex(dec, "82", &g, &nf), 0);
        cr_assert_eq(f[0].value_len, vl);
        cr_assert_eq(memcmp(f[0].value, block + voff, vl), 0);
        cr_assert_eq(g[0].name_len, 7);
        h2_hpack_decoder_reset_output(dec);
    }
    free(block);
    h2_hpack_decoder_free(dec);
}

/* ---- allocation failures ---------------------------------------------------------- */

static int decode_scenario(testmem *tm, void *arg)
{
    (void)arg;
    h2_hpack_decoder *dec;
    int rv = h2_hpack_decoder_new(&dec, &tm->mem);
    if (rv == H2_ENOMEM)
        return 0;
    if (rv != 0)
        return 1;
    const char *ids[] = {"C.6.1", "C.6.2", "C.6.3"};
    h2_hpack_decoder_set_max_table_size(dec, 256);
    for (int i = 0; i < 3; i++) {
        uint8_t block[512];
        size_t len = 0;
        if (i == 0)
            len = (size_t)(h2_hpack_put_int(block, 0x20, 0x1f, 256) - block);
        len += unhex(find_case(ids[i])->hex, block + len);
        const h2_header *f;
        size_t nf;
        rv = h2_hpack_decode(dec, block, len, &f, &nf);
        if (rv == H2_ENOMEM) {
            /* The context is unusable from now on, and says so. */
            if (h2_hpack_decode(dec, block, len, &f, &nf) != H2_ENOMEM)
                rv = 1;
            else
                rv = 0;
            break;
        }
        if (rv != 0 || nf != find_case(ids[i])->n)
            break;
    }
    /* A big block that needs a second arena chunk and a longer field list. */
    if (rv == 0) {
        uint8_t block[8192];
        size_t len = 0;
        for (int i = 0; i < 100 && len + 64 < sizeof(block); i++) {
            block[len++] = 0x00;
            block[len++] = 0x01;
            block[len++] = 'q';
            block[len++] = 40;
            memset(block + len, 'a' + i % 26, 40);
            len += 40;
        }
        const h2_header *f;
        size_t nf;
        rv = h2_hpack_decode(dec, block, len, &f, &nf);
        if (rv == H2_ENOMEM || (rv == 0 && nf == 100))
            rv = 0;
    }
    h2_hpack_decoder_free(dec);
    return rv;
}

Test(hpack_alloc, decoder_sweep)
{
    size_t calls = testmem_sweep(decode_scenario, NULL);
    cr_assert_geq(calls, 3);
}
