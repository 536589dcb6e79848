/*
 * HPACK decoder output that refers to the dynamic table: fields handed out
 * stay valid until h2_hpack_decoder_reset_output(), however much the table
 * changes in later blocks (entries evicted, their bytes overwritten, the
 * table resized).
 */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/hpack.h"
#include "core/hpack_int.h"

#define BLOCKS 120
#define VALUE_LEN 300

static void value_of(int i, char *v)
{
    for (int k = 0; k < VALUE_LEN; k++)
        v[k] = (char)('a' + (i * 7 + k) % 26);
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t n)
{
    p = h2_hpack_put_int(p, 0x00, 0x7f, n);
    memcpy(p, s, n);
    return p + n;
}

/*
 * Block |i|: the previous block's first entry (index 63: its second one is
 * 62) as an indexed field, then a literal with incremental indexing and a
 * new name "x-<i>", then one whose name is that new entry's (index 62), also
 * indexed. Opens with a table size update to |update| when it is not 0.
 */
static size_t make_block(int i, size_t update, uint8_t *out)
{
    uint8_t *p = out;
    if (update != 0)
        p = h2_hpack_put_int(p, 0x20, 0x1f, update);
    if (i > 0)
        p = h2_hpack_put_int(p, 0x80, 0x7f, 63);
    char name[16], value[VALUE_LEN];
    int nl = snprintf(name, sizeof(name), "x-%d", i);
    value_of(i, value);
    *p++ = 0x40;
    p = put_string(p, name, (size_t)nl);
    p = put_string(p, value, VALUE_LEN);
    p = h2_hpack_put_int(p, 0x40, 0x3f, 62);
    p = put_string(p, "same-name", 9);
    return (size_t)(p - out);
}

static void check_block(int i, const h2_header *f, size_t n)
{
    char name[16], value[VALUE_LEN], prev[16], pvalue[VALUE_LEN];
    int nl = snprintf(name, sizeof(name), "x-%d", i);
    value_of(i, value);
    size_t k = 0;
    cr_assert_eq(n, i > 0 ? 3u : 2u, "block %d: %zu fields", i, n);
    if (i > 0) {
        int pl = snprintf(prev, sizeof(prev), "x-%d", i - 1);
        value_of(i - 1, pvalue);
        cr_assert_eq(f[0].name_len, (size_t)pl);
        cr_assert_eq(memcmp(f[0].name, prev, (size_t)pl), 0, "block %d: indexed name", i);
        cr_assert_eq(f[0].value_len, (size_t)VALUE_LEN);
        cr_assert_eq(memcmp(f[0].value, pvalue, VALUE_LEN), 0, "block %d: indexed value", i);
        k = 1;
    }
    cr_assert_eq(f[k].name_len, (size_t)nl);
    cr_assert_eq(memcmp(f[k].name, name, (size_t)nl), 0, "block %d: literal name", i);
    cr_assert_eq(memcmp(f[k].value, value, VALUE_LEN), 0, "block %d: literal value", i);
    cr_assert_eq(f[k + 1].name_len, (size_t)nl);
    cr_assert_eq(memcmp(f[k + 1].name, name, (size_t)nl), 0, "block %d: indexed name", i);
    cr_assert_eq(f[k + 1].value_len, 9u);
    cr_assert_eq(memcmp(f[k + 1].value, "same-name", 9), 0);
}

/* Decodes BLOCKS blocks without resetting the output, then checks them all. */
static void decode_all(size_t grow_at, size_t grow_to)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    if (grow_to != 0)
        cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, grow_to), 0);
    static const h2_header *out[BLOCKS];
    static size_t n_out[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        uint8_t block[2 * VALUE_LEN];
        size_t len = make_block(i, (size_t)i == grow_at ? grow_to : 0, block);
        cr_assert_eq(h2_hpack_decode(dec, block, len, &out[i], &n_out[i]), 0, "block %d", i);
        memset(block, 0xee, sizeof(block)); /* the input is not referenced */
    }
    for (int i = 0; i < BLOCKS; i++)
        check_block(i, out[i], n_out[i]);
    h2_hpack_decoder_reset_output(dec);
    h2_hpack_decoder_free(dec);
}

Test(hpack_output, table_fields_outlive_later_blocks)
{
    /* About 37 KB of entries through a 4 KB table: its bytes turn over many times. */
    decode_all(SIZE_MAX, 0);
}

Test(hpack_output, table_fields_outlive_a_table_resize)
{
    /* The table grows to 16 KB halfway, while earlier output points into it. */
    decode_all(BLOCKS / 2, 16384);
}

Test(hpack_output, reset_output_then_more_blocks)
{
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    for (int i = 0; i < BLOCKS; i++) {
        uint8_t block[2 * VALUE_LEN];
        size_t len = make_block(i, 0, block);
        const h2_header *f;
        size_t n;
        cr_assert_eq(h2_hpack_decode(dec, block, len, &f, &n), 0, "block %d", i);
        check_block(i, f, n);
        if (i % 3 == 2)
            h2_hpack_decoder_reset_output(dec);
    }
    h2_hpack_decoder_free(dec);
}
