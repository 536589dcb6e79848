/*
 * HPACK encoder: matches, indexing policy, flags, table size updates, the
 * table cap, all-or-nothing failures and allocation failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/hpack.h"
#include "core/hpack_encoder.h"
#include "support/testmem.h"

static h2_header hdr(const char *name, const char *value, uint32_t flags)
{
    h2_header h = {(const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value),
                   flags};
    return h;
}

static size_t enc_one(h2_hpack_encoder *enc, h2_header h, uint8_t *out, size_t cap)
{
    size_t len = 0;
    cr_assert_eq(h2_hpack_encode(enc, &h, 1, out, cap, &len), 0);
    return len;
}

static h2_hpack_encoder *new_enc(size_t cap)
{
    h2_hpack_encoder *enc;
    cr_assert_eq(h2_hpack_encoder_new(&enc, cap, NULL), 0);
    return enc;
}

Test(hpack_encode, static_exact_matches_take_one_byte)
{
    h2_hpack_encoder *enc = new_enc(4096);
    static const struct {
        const char *n, *v;
        uint8_t b;
    } cases[] = {{":method", "GET", 0x82},  {":method", "POST", 0x83},
                 {":path", "/", 0x84},      {":path", "/index.html", 0x85},
                 {":scheme", "http", 0x86}, {":scheme", "https", 0x87},
                 {":status", "200", 0x88},  {":status", "204", 0x89},
                 {":status", "206", 0x8a},  {":status", "304", 0x8b},
                 {":status", "400", 0x8c},  {":status", "404", 0x8d},
                 {":status", "500", 0x8e},  {"accept-encoding", "gzip, deflate", 0x90},
                 {":authority", "", 0x81},  {"www-authenticate", "", 0xbd},
                 {"cookie", "", 0xa0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[64];
        size_t len = enc_one(enc, hdr(cases[i].n, cases[i].v, 0), out, sizeof(out));
        cr_assert_eq(len, 1, "%s: %s", cases[i].n, cases[i].v);
        cr_assert_eq(out[0], cases[i].b, "%s: %s", cases[i].n, cases[i].v);
    }
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 0);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, static_name_with_new_value_is_indexed)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    size_t len = enc_one(enc, hdr(":status", "302", 0), out, sizeof(out));
    cr_assert_eq(len, 5);
    cr_assert_eq(out[0], 0x48);
    cr_assert_eq(out[1], 3);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 42);
    /* Second time: dynamic index 62. */
    len = enc_one(enc, hdr(":status", "302", 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0xbe);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, dynamic_name_match)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    enc_one(enc, hdr("x-custom", "one", 0), out, sizeof(out));
    enc_one(enc, hdr("x-other", "v", 0), out, sizeof(out));
    /* Same name, new value: name index 63 (x-custom is now second newest). */
    size_t len = enc_one(enc, hdr("x-custom", "two", 0), out, sizeof(out));
    cr_assert_eq(len, 2 + 1 + 3);
    cr_assert_eq(out[0], 0x7f);
    cr_assert_eq(out[1], 0x00);
    /* Exact matches of both x-custom entries. */
    len = enc_one(enc, hdr("x-custom", "one", 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0x80 | 64);
    len = enc_one(enc, hdr("x-custom", "two", 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0x80 | 62);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, never_indexed_round_trip)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    h2_header in[] = {hdr("authorization", "secret-token", H2_HEADER_NEVER_INDEX),
                      hdr("x-secret", "abc", H2_HEADER_NEVER_INDEX),
                      hdr(":method", "GET", H2_HEADER_NEVER_INDEX), hdr("x-plain", "def", 0)};
    uint8_t out[256];
    size_t len;
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(h2_hpack_encode(enc, in, 4, out, sizeof(out), &len), 0);
        /* authorization: never indexed with static name 23. */
        cr_assert_eq(out[0], 0x1f);
        cr_assert_eq(out[1], 23 - 15);
        const h2_header *f;
        size_t nf;
        cr_assert_eq(h2_hpack_decode(dec, out, len, &f, &nf), 0);
        cr_assert_eq(nf, 4);
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(f[i].flags, in[i].flags, "field %d", i);
            cr_assert_eq(f[i].value_len, in[i].value_len);
            cr_assert_eq(memcmp(f[i].value, in[i].value, in[i].value_len), 0);
        }
    }
    /* Only x-plain went into the table. */
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 7 + 3 + 32);
    cr_assert_eq(h2_hpack_decoder_table_size(dec), 7 + 3 + 32);
    h2_hpack_encoder_free(enc);
    h2_hpack_decoder_free(dec);
}

Test(hpack_encode, never_indexed_uses_dynamic_name)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    enc_one(enc, hdr("x-key", "a", 0), out, sizeof(out));
    /* Even an exact match is sent as a literal, with the name indexed. */
    size_t len = enc_one(enc, hdr("x-key", "a", H2_HEADER_NEVER_INDEX), out, sizeof(out));
    cr_assert_eq(len, 1 + 1 + 1 + 1);
    cr_assert_eq(out[0], 0x1f);
    cr_assert_eq(out[1], 62 - 15);
    cr_assert_eq(out[2], 1);
    cr_assert_eq(out[3], 'a');
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, no_index_flag)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    size_t len = enc_one(enc, hdr("x-a", "b", H2_HEADER_NO_INDEX), out, sizeof(out));
    cr_assert_eq(len, 1 + 1 + 3 + 1 + 1);
    cr_assert_eq(out[0], 0x00);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 0);
    /* An existing exact match may still be used. */
    enc_one(enc, hdr("x-a", "b", 0), out, sizeof(out));
    len = enc_one(enc, hdr("x-a", "b", H2_HEADER_NO_INDEX), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0xbe);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, large_fields_not_indexed)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    static char big[4096];
    uint8_t out[8192];
    /* 3/4 of 4096 = 3072 bytes of entry: value of 3072 - 32 - 1 fits, one more does not. */
    memset(big, 'v', 3039);
    big[3039] = 0;
    enc_one(enc, hdr("x", big, 0), out, sizeof(out));
    cr_assert_eq(out[0], 0x40);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 3072);
    big[3039] = 'v';
    big[3040] = 0;
    enc_one(enc, hdr("x", big, 0), out, sizeof(out));
    cr_assert_eq(out[0], 0x0f); /* without indexing, name 62 */
    cr_assert_eq(out[1], 62 - 15);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 3072);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, huffman_only_when_not_longer)
{
    h2_hpack_encoder *enc = new_enc(4096);
    uint8_t out[64];
    /* "www.example.com": 12 bytes of Huffman instead of 15. */
    size_t len = enc_one(enc, hdr("x-h", "www.example.com", H2_HEADER_NO_INDEX), out, sizeof(out));
    cr_assert_eq(out[5], 0x80 | 12);
    cr_assert_eq(len, 6 + 12);
    /* Bytes with long codes: kept as they are. */
    len = enc_one(enc, hdr("x-h", "\x01\x02\x03", H2_HEADER_NO_INDEX), out, sizeof(out));
    cr_assert_eq(out[5], 3);
    cr_assert_eq(len, 6 + 3);
    /* Empty strings are plain. */
    len = enc_one(enc, hdr("x-h", "", H2_HEADER_NO_INDEX), out, sizeof(out));
    cr_assert_eq(out[5], 0);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, table_cap_whatever_the_peer_says)
{
    h2_hpack_encoder *enc = new_enc(4096);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, UINT32_MAX), 0);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, UINT32_MAX), 0);
    uint8_t out[1024];
    for (int i = 0; i < 1000; i++) {
        char name[32], value[300];
        snprintf(name, sizeof(name), "x-unique-%d", i);
        memset(value, 'a' + i % 26, 250);
        value[250] = 0;
        h2_header h = hdr(name, value, 0);
        size_t len = enc_one(enc, h, out, sizeof(out));
        cr_assert_leq(h2_hpack_encoder_table_size(enc), 4096);
        const h2_header *f;
        size_t nf;
        cr_assert_eq(h2_hpack_decode(dec, out, len, &f, &nf), 0);
        h2_hpack_decoder_reset_output(dec);
    }
    cr_assert_gt(h2_hpack_encoder_table_size(enc), 3000);
    h2_hpack_encoder_free(enc);
    h2_hpack_decoder_free(dec);
}

Test(hpack_encode, cap_below_default_announced_first)
{
    h2_hpack_encoder *enc = new_enc(256);
    uint8_t out[64];
    size_t len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    cr_assert_eq(len, 4);
    cr_assert_eq(out[0], 0x3f);
    cr_assert_eq(out[1], 0xe1);
    cr_assert_eq(out[2], 0x01);
    cr_assert_eq(out[3], 0x82);
    /* Only once. */
    len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, zero_cap_disables_the_table)
{
    h2_hpack_encoder *enc = new_enc(0);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    size_t len = enc_one(enc, hdr("x-a", "b", 0), out, sizeof(out));
    cr_assert_eq(out[0], 0x20);
    cr_assert_eq(out[1], 0x00); /* without indexing */
    cr_assert_eq(len, 1 + 1 + 4 + 2);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 0);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, size_update_min_then_final)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    uint8_t out[64];
    enc_one(enc, hdr("x-a", "b", 0), out, sizeof(out));
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 36);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 0), 0);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 1024), 0);
    size_t len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    /* 0, then 1024 (31 + 993 = 0x3e1: e1 07), then the field. */
    cr_assert_eq(len, 1 + 3 + 1);
    cr_assert_eq(out[0], 0x20);
    cr_assert_eq(out[1], 0x3f);
    cr_assert_eq(out[2], 0xe1);
    cr_assert_eq(out[3], 0x07);
    cr_assert_eq(out[4], 0x82);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), 0);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, size_update_single_and_none)
{
    h2_hpack_encoder *enc = new_enc(4096);
    uint8_t out[64];
    /* Lowered once: a single update. */
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 100), 0);
    size_t len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    cr_assert_eq(len, 3);
    cr_assert_eq(out[0], 0x3f);
    cr_assert_eq(out[1], 100 - 31);
    /* The peer offers more than the cap: back to the cap (4096). */
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 100000), 0);
    len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    cr_assert_eq(len, 4);
    cr_assert_eq(out[0], 0x3f);
    cr_assert_eq(out[1], 0xe1);
    cr_assert_eq(out[2], 0x1f);
    /* Same size again: nothing to announce. */
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 8192), 0);
    len = enc_one(enc, hdr(":method", "GET", 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, size_updates_decode_in_sync)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    static const size_t sizes[] = {4096, 0, 300, 50, 2000, 4096, 100, 4096, 1};
    uint8_t out[512];
    for (size_t r = 0; r < sizeof(sizes) / sizeof(sizes[0]); r++) {
        cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, sizes[r]), 0);
        cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, sizes[r]), 0);
        for (int i = 0; i < 20; i++) {
            char v[32];
            snprintf(v, sizeof(v), "value-%zu-%d", r, i % 7);
            h2_header h[] = {hdr("x-a", v, 0), hdr(":path", v, 0)};
            size_t len;
            cr_assert_eq(h2_hpack_encode(enc, h, 2, out, sizeof(out), &len), 0);
            const h2_header *f;
            size_t nf;
            cr_assert_eq(h2_hpack_decode(dec, out, len, &f, &nf), 0, "size %zu", sizes[r]);
            cr_assert_eq(nf, 2);
            cr_assert_eq(memcmp(f[1].value, v, strlen(v)), 0);
            cr_assert_eq(h2_hpack_decoder_table_size(dec), h2_hpack_encoder_table_size(enc));
            cr_assert_leq(h2_hpack_encoder_table_size(enc), sizes[r]);
            h2_hpack_decoder_reset_output(dec);
        }
    }
    h2_hpack_encoder_free(enc);
    h2_hpack_decoder_free(dec);
}

Test(hpack_encode, bound_is_enough)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder_set_huffman(enc, false);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 0), 0);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 4096), 0);
    char v[200];
    memset(v, 1, sizeof(v) - 1);
    v[sizeof(v) - 1] = 0;
    h2_header h[] = {hdr(v, v, 0), hdr(v, v, H2_HEADER_NEVER_INDEX)};
    size_t bound = h2_hpack_encode_bound(enc, h, 2);
    uint8_t *out = malloc(bound);
    size_t len;
    cr_assert_eq(h2_hpack_encode(enc, h, 2, out, bound, &len), 0);
    cr_assert_leq(len, bound);
    free(out);
    h2_hpack_encoder_free(enc);
}

Test(hpack_encode, all_or_nothing_on_small_buffer)
{
    h2_hpack_encoder *enc = new_enc(4096);
    h2_hpack_encoder *ref = new_enc(4096);
    uint8_t out[512], want[512];
    h2_header warm[] = {hdr("x-a", "1", 0), hdr("x-b", "2", 0)};
    size_t len, wlen;
    cr_assert_eq(h2_hpack_encode(enc, warm, 2, out, sizeof(out), &len), 0);
    cr_assert_eq(h2_hpack_encode(ref, warm, 2, out, sizeof(out), &len), 0);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, 64), 0);
    cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(ref, 64), 0);
    h2_header h[] = {hdr("x-c", "3", 0), hdr("x-a", "1", 0), hdr("x-long", "abcdefghijklmn", 0)};
    cr_assert_eq(h2_hpack_encode(ref, h, 3, want, sizeof(want), &wlen), 0);
    size_t before = h2_hpack_encoder_table_size(enc);
    for (size_t cap = 0; cap < wlen; cap++) {
        len = 1234;
        cr_assert_eq(h2_hpack_encode(enc, h, 3, out, cap, &len), H2_ENOBUFS, "cap %zu", cap);
        cr_assert_eq(len, 0);
        cr_assert_eq(h2_hpack_encoder_table_size(enc), before);
    }
    /* Exactly enough (below the bound) succeeds with the same bytes. */
    cr_assert_lt(wlen, h2_hpack_encode_bound(enc, h, 3));
    cr_assert_eq(h2_hpack_encode(enc, h, 3, out, wlen, &len), 0);
    cr_assert_eq(len, wlen);
    cr_assert_eq(memcmp(out, want, wlen), 0);
    cr_assert_eq(h2_hpack_encoder_table_size(enc), h2_hpack_encoder_table_size(ref));
    h2_hpack_encoder_free(enc);
    h2_hpack_encoder_free(ref);
}

Test(hpack_encode, invalid_arguments)
{
    h2_hpack_encoder *enc;
    cr_assert_eq(h2_hpack_encoder_new(NULL, 4096, NULL), H2_EINVAL);
    cr_assert_eq(h2_hpack_encoder_new(&enc, 4096, NULL), 0);
    uint8_t out[16];
    size_t len;
    h2_header h = hdr("a", "b", 0);
    cr_assert_eq(h2_hpack_encode(NULL, &h, 1, out, sizeof(out), &len), H2_EINVAL);
    cr_assert_eq(h2_hpack_encode(enc, NULL, 1, out, sizeof(out), &len), H2_EINVAL);
    cr_assert_eq(h2_hpack_encode(enc, &h, 1, out, sizeof(out), NULL), H2_EINVAL);
    h.value = NULL;
    cr_assert_eq(h2_hpack_encode(enc, &h, 1, out, sizeof(out), &len), H2_EINVAL);
    cr_assert_eq(h2_hpack_encode(enc, NULL, 0, out, sizeof(out), &len), 0);
    cr_assert_eq(len, 0);
    h2_hpack_encoder_free(enc);
    h2_hpack_encoder_free(NULL);
}

static uint32_t rng_state = 2463534242u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

Test(hpack_encode, random_round_trips_with_eviction)
{
    static const size_t caps[] = {4096, 256, 100, 64, 33, 0, 65536};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        h2_hpack_encoder *enc = new_enc(caps[c]);
        h2_hpack_decoder *dec;
        cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
        if (caps[c] > 4096) {
            h2_hpack_encoder_set_peer_max_table_size(enc, caps[c]);
            h2_hpack_decoder_set_max_table_size(dec, caps[c]);
        }
        h2_hpack_encoder_set_huffman(enc, c % 2 == 0);
        static char names[16][24], values[64][400];
        for (int i = 0; i < 16; i++)
            snprintf(names[i], sizeof(names[i]), "x-name-%d", i * 7919);
        for (int i = 0; i < 64; i++) {
            size_t vl = rng() % (i < 48 ? 30 : 390);
            for (size_t k = 0; k < vl; k++)
                values[i][k] = (char)(i < 60 ? 'a' + rng() % 26 : 1 + rng() % 255);
            values[i][vl] = 0;
        }
        for (int block = 0; block < 400; block++) {
            h2_header h[12];
            size_t n = rng() % 12;
            for (size_t i = 0; i < n; i++) {
                uint32_t r = rng();
                h[i] = hdr(names[r % 16], values[(r >> 8) % 64],
                           (r >> 20) % 13 == 0   ? H2_HEADER_NEVER_INDEX
                           : (r >> 20) % 13 == 1 ? H2_HEADER_NO_INDEX
                                                 : 0);
            }
            uint8_t out[8192];
            size_t len;
            cr_assert_eq(h2_hpack_encode(enc, h, n, out, sizeof(out), &len), 0);
            const h2_header *f;
            size_t nf;
            cr_assert_eq(h2_hpack_decode(dec, out, len, &f, &nf), 0, "cap %zu block %d", caps[c],
                         block);
            cr_assert_eq(nf, n);
            for (size_t i = 0; i < n; i++) {
                cr_assert_eq(f[i].name_len, h[i].name_len);
                cr_assert_eq(memcmp(f[i].name, h[i].name, h[i].name_len), 0);
                cr_assert_eq(f[i].value_len, h[i].value_len);
                cr_assert_eq(memcmp(f[i].value, h[i].value, h[i].value_len), 0);
                cr_assert_eq(f[i].flags, h[i].flags & H2_HEADER_NEVER_INDEX);
            }
            cr_assert_eq(h2_hpack_decoder_table_size(dec), h2_hpack_encoder_table_size(enc));
            cr_assert_leq(h2_hpack_encoder_table_size(enc), caps[c]);
            h2_hpack_decoder_reset_output(dec);
        }
        h2_hpack_encoder_free(enc);
        h2_hpack_decoder_free(dec);
    }
}

/* ---- allocation failures ------------------------------------------------ */

static int encode_scenario(testmem *tm, void *arg)
{
    size_t cap_out = *(size_t *)arg;
    h2_hpack_encoder *enc;
    int rv = h2_hpack_encoder_new(&enc, 4096, &tm->mem);
    if (rv == H2_ENOMEM)
        return 0;
    if (rv != 0)
        return 1;
    int bad = 0;
    h2_header h[] = {hdr(":status", "302", 0), hdr("x-a", "hello", 0), hdr("x-a", "hello", 0)};
    uint8_t out[256];
    for (int round = 0; round < 3 && !bad; round++) {
        if (round == 2)
            h2_hpack_encoder_set_peer_max_table_size(enc, 8192);
        size_t before = h2_hpack_encoder_table_size(enc);
        size_t len;
        rv = h2_hpack_encode(enc, h, 3, out, cap_out, &len);
        if (rv == H2_ENOMEM) {
            if (h2_hpack_encoder_table_size(enc) != before)
                bad = 1;
        } else if (rv != 0) {
            bad = 1;
        }
    }
    h2_hpack_encoder_free(enc);
    return bad;
}

Test(hpack_alloc, encoder_sweep)
{
    size_t big = 256, small = 20;
    cr_assert_geq(testmem_sweep(encode_scenario, &big), 2);
    /* Below the bound: the scratch path (table copy, scratch buffer). */
    cr_assert_geq(testmem_sweep(encode_scenario, &small), 4);
}

Test(hpack_encode, values_differing_only_in_the_middle)
{
    /* Same name, length and ends: the field hash collides; the bytes decide. */
    h2_hpack_encoder *enc = new_enc(4096);
    uint8_t out[128];
    const char *a = "0123456789-A-0123456789";
    const char *b = "0123456789-B-0123456789";
    enc_one(enc, hdr("cookie", a, 0), out, sizeof(out));
    enc_one(enc, hdr("cookie", b, 0), out, sizeof(out));
    enc_one(enc, hdr("x-y", a, 0), out, sizeof(out));
    enc_one(enc, hdr("x-z", a, 0), out, sizeof(out));
    size_t len = enc_one(enc, hdr("cookie", a, 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0x80 | 65);
    len = enc_one(enc, hdr("cookie", b, 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0x80 | 64);
    len = enc_one(enc, hdr("x-y", a, 0), out, sizeof(out));
    cr_assert_eq(len, 1);
    cr_assert_eq(out[0], 0x80 | 63);
    /* A new value for x-z uses its dynamic name (62). */
    len = enc_one(enc, hdr("x-z", "v", 0), out, sizeof(out));
    cr_assert_eq(out[0], 0x40 | 62);
    h2_hpack_encoder_free(enc);
}
