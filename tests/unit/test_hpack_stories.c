/*
 * The hpack-test-case stories: every implementation's encodings decode to
 * the listed headers, and our encoder's output of every raw-data story
 * decodes back to it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include "h2/hpack.h"
#include "core/hpack_encoder.h"
#include "support/hex.h"

#define STORIES H2_STORIES_DIR

static json_t *load_story(const char *folder, int i)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/story_%02d.json", STORIES, folder, i);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    return root;
}

/* The case's headers as h2_header (pointing into the JSON). Returns the count. */
static size_t case_headers(json_t *c, h2_header *out, size_t cap)
{
    json_t *headers = json_object_get(c, "headers");
    size_t n = json_array_size(headers);
    cr_assert_leq(n, cap);
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(headers, i);
        const char *key = json_object_iter_key(json_object_iter(h));
        json_t *val = json_object_iter_value(json_object_iter(h));
        out[i].name = (const uint8_t *)key;
        out[i].name_len = strlen(key);
        out[i].value = (const uint8_t *)json_string_value(val);
        out[i].value_len = json_string_length(val);
        out[i].flags = 0;
    }
    return n;
}

static void expect_same(const h2_header *got, size_t n, const h2_header *want, size_t wn,
                        const char *where)
{
    cr_assert_eq(n, wn, "%s: %zu fields, expected %zu", where, n, wn);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].name_len, want[i].name_len, "%s field %zu", where, i);
        cr_assert_eq(memcmp(got[i].name, want[i].name, want[i].name_len), 0, "%s field %zu", where,
                     i);
        cr_assert_eq(got[i].value_len, want[i].value_len, "%s field %zu", where, i);
        cr_assert_eq(memcmp(got[i].value, want[i].value, want[i].value_len), 0, "%s field %zu",
                     where, i);
    }
}

#define MAX_FIELDS 256

/* Decodes every story of |folder|; returns the number of blocks checked. */
static size_t decode_folder(const char *folder)
{
    size_t blocks = 0;
    static h2_header want[MAX_FIELDS];
    static uint8_t wire[65536];
    for (int s = 0; s < 100; s++) {
        json_t *root = load_story(folder, s);
        if (root == NULL)
            continue;
        h2_hpack_decoder *dec;
        cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
        json_t *cases = json_object_get(root, "cases");
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            json_t *ts = json_object_get(c, "header_table_size");
            if (json_is_integer(ts))
                cr_assert_eq(
                    h2_hpack_decoder_set_max_table_size(dec, (size_t)json_integer_value(ts)), 0);
            const char *hex = json_string_value(json_object_get(c, "wire"));
            cr_assert_lt(strlen(hex) / 2, sizeof(wire));
            size_t len = unhex(hex, wire);
            size_t wn = case_headers(c, want, MAX_FIELDS);
            const h2_header *got;
            size_t n;
            char where[128];
            snprintf(where, sizeof(where), "%s/story_%02d case %zu", folder, s, i);
            int rv = h2_hpack_decode(dec, wire, len, &got, &n);
            cr_assert_eq(rv, 0, "%s: %s", where, h2_errname(rv));
            expect_same(got, n, want, wn, where);
            h2_hpack_decoder_reset_output(dec);
            blocks++;
        }
        h2_hpack_decoder_free(dec);
        json_decref(root);
    }
    return blocks;
}

Test(hpack_stories, go_hpack)
{
    cr_assert_gt(decode_folder("go-hpack"), 1000);
}
Test(hpack_stories, haskell)
{
    cr_assert_gt(decode_folder("haskell-http2-linear-huffman"), 1000);
}
Test(hpack_stories, nghttp2)
{
    cr_assert_gt(decode_folder("nghttp2"), 1000);
}
Test(hpack_stories, nghttp2_change_table_size)
{
    cr_assert_gt(decode_folder("nghttp2-change-table-size"), 1000);
}
Test(hpack_stories, python_hpack)
{
    cr_assert_gt(decode_folder("python-hpack"), 1000);
}
Test(hpack_stories, swift_nio)
{
    cr_assert_gt(decode_folder("swift-nio-hpack-huffman"), 1000);
}

Test(hpack_stories, every_folder_is_covered)
{
    DIR *d = opendir(STORIES);
    cr_assert_not_null(d);
    static const char *known[] = {
        "go-hpack",     "haskell-http2-linear-huffman", "nghttp2", "nghttp2-change-table-size",
        "python-hpack", "swift-nio-hpack-huffman",      "raw-data"};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        bool found = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            found |= strcmp(known[i], e->d_name) == 0;
        cr_assert(found, "folder %s is not tested", e->d_name);
    }
    closedir(d);
}

/*
 * Encodes every raw-data story with one encoder per story; each block is
 * decoded at once by a decoder in lockstep, and all blocks are kept and fed
 * afterwards to a fresh decoder in order.
 */
static void round_trip_raw(size_t table_cap, size_t peer_size, bool huffman)
{
    static h2_header fields[MAX_FIELDS];
    size_t stories = 0;
    for (int s = 0; s < 100; s++) {
        json_t *root = load_story("raw-data", s);
        if (root == NULL)
            continue;
        stories++;
        h2_hpack_encoder *enc;
        h2_hpack_decoder *dec, *later;
        cr_assert_eq(h2_hpack_encoder_new(&enc, table_cap, NULL), 0);
        h2_hpack_encoder_set_huffman(enc, huffman);
        cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
        cr_assert_eq(h2_hpack_decoder_new(&later, NULL), 0);
        if (peer_size != H2_HPACK_DEFAULT_TABLE_SIZE) {
            cr_assert_eq(h2_hpack_encoder_set_peer_max_table_size(enc, peer_size), 0);
            cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, peer_size), 0);
            cr_assert_eq(h2_hpack_decoder_set_max_table_size(later, peer_size), 0);
        }
        json_t *cases = json_object_get(root, "cases");
        size_t nc = json_array_size(cases);
        uint8_t **blocks = calloc(nc, sizeof(*blocks));
        size_t *lens = calloc(nc, sizeof(*lens));
        for (size_t i = 0; i < nc; i++) {
            json_t *c = json_array_get(cases, i);
            size_t n = case_headers(c, fields, MAX_FIELDS);
            size_t bound = h2_hpack_encode_bound(enc, fields, n);
            blocks[i] = malloc(bound);
            cr_assert_eq(h2_hpack_encode(enc, fields, n, blocks[i], bound, &lens[i]), 0);
            cr_assert_leq(lens[i], bound);
            const h2_header *got;
            size_t gn;
            char where[96];
            snprintf(where, sizeof(where), "raw story_%02d case %zu", s, i);
            int rv = h2_hpack_decode(dec, blocks[i], lens[i], &got, &gn);
            cr_assert_eq(rv, 0, "%s: %s", where, h2_errname(rv));
            expect_same(got, gn, fields, n, where);
            cr_assert_eq(h2_hpack_decoder_table_size(dec), h2_hpack_encoder_table_size(enc));
            cr_assert_leq(h2_hpack_encoder_table_size(enc), table_cap);
            h2_hpack_decoder_reset_output(dec);
        }
        for (size_t i = 0; i < nc; i++) {
            json_t *c = json_array_get(cases, i);
            size_t n = case_headers(c, fields, MAX_FIELDS);
            const h2_header *got;
            size_t gn;
            cr_assert_eq(h2_hpack_decode(later, blocks[i], lens[i], &got, &gn), 0);
            expect_same(got, gn, fields, n, "fresh decoder");
            free(blocks[i]);
        }
        free(blocks);
        free(lens);
        h2_hpack_encoder_free(enc);
        h2_hpack_decoder_free(dec);
        h2_hpack_decoder_free(later);
        json_decref(root);
    }
    cr_assert_eq(stories, 32);
}

Test(hpack_stories, raw_data_round_trip)
{
    round_trip_raw(4096, 4096, true);
}
Test(hpack_stories, raw_data_round_trip_plain)
{
    round_trip_raw(4096, 4096, false);
}
Test(hpack_stories, raw_data_round_trip_small_table)
{
    round_trip_raw(256, 4096, true);
}
Test(hpack_stories, raw_data_round_trip_no_table)
{
    round_trip_raw(0, 4096, true);
}
Test(hpack_stories, raw_data_round_trip_peer_smaller)
{
    round_trip_raw(4096, 1000, true);
}
Test(hpack_stories, raw_data_round_trip_peer_larger)
{
    round_trip_raw(65536, 16384, true);
}
