/*
 * Fuzz target: the HPACK decoder over several header blocks with table
 * size changes between them, plus round trips.
 *
 * Input: one option byte, then records until the input ends.
 *   option bit 0: tight limits (list 1024, string 256) instead of the defaults
 *   option bit 1: the decoder's allocator fails from call (next byte + 1) on
 *   record: op byte, then
 *     op bit 7 set:   table size change: u16 (big-endian) * 4 is the new
 *                     SETTINGS_HEADER_TABLE_SIZE (decoder limit, and the
 *                     encoder's peer size for the round trip);
 *     op bit 7 clear: a header block: u16 length, then that many bytes
 *                     (fewer when the input ends first);
 *     op bit 6 set:   h2_hpack_decoder_reset_output() before the record.
 *
 * Checks:
 *   - a decoding error is sticky;
 *   - fields handed out stay unchanged across later decode calls until the
 *     output is reset;
 *   - every block that decodes is encoded again by a separate encoder and
 *     decoded by a separate decoder: the same fields and never-index flags
 *     come back; the two tables stay in step across the input;
 *   - Huffman: every decoded string encodes and decodes back to itself.
 */
#include <stdlib.h>
#include <string.h>
#include "h2/hpack.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fields_digest(const h2_header *f, size_t n)
{
    fuzz_digest d;
    fuzz_digest_init(&d);
    fuzz_digest_u64(&d, n);
    for (size_t i = 0; i < n; i++) {
        fuzz_digest_u64(&d, f[i].name_len);
        fuzz_digest_bytes(&d, f[i].name, f[i].name_len);
        fuzz_digest_u64(&d, f[i].value_len);
        fuzz_digest_bytes(&d, f[i].value, f[i].value_len);
        fuzz_digest_u64(&d, f[i].flags & H2_HEADER_NEVER_INDEX);
    }
    return d.h;
}

static void huffman_round_trip(const uint8_t *s, size_t len)
{
    size_t elen = h2_huffman_encoded_len(s, len);
    uint8_t *enc = malloc(elen + 1);
    uint8_t *dec = malloc(len + 1);
    FUZZ_CHECK(enc != NULL && dec != NULL);
    FUZZ_CHECK(h2_huffman_encode(s, len, enc) == elen);
    ptrdiff_t got = h2_huffman_decode(enc, elen, dec, len + 1);
    FUZZ_CHECK(got == (ptrdiff_t)len);
    FUZZ_CHECK(len == 0 || memcmp(dec, s, len) == 0);
    free(enc);
    free(dec);
}

typedef struct round_trip {
    h2_hpack_encoder *enc;
    h2_hpack_decoder *dec;
} round_trip;

static void round_trip_block(round_trip *rt, const h2_header *fields, size_t n)
{
    size_t bound = h2_hpack_encode_bound(rt->enc, fields, n);
    uint8_t *buf = malloc(bound ? bound : 1);
    FUZZ_CHECK(buf != NULL);
    size_t len = 0;
    FUZZ_CHECK(h2_hpack_encode(rt->enc, fields, n, buf, bound, &len) == 0);
    FUZZ_CHECK(len <= bound);
    const h2_header *back = NULL;
    size_t n_back = 0;
    FUZZ_CHECK(h2_hpack_decode(rt->dec, buf, len, &back, &n_back) == 0);
    FUZZ_CHECK(fields_digest(back, n_back) == fields_digest(fields, n));
    FUZZ_CHECK(h2_hpack_decoder_table_size(rt->dec) == h2_hpack_encoder_table_size(rt->enc));
    h2_hpack_decoder_reset_output(rt->dec);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    fuzz_alloc fa;
    h2_mem mem = fuzz_alloc_mem(&fa, (opt & 2u) ? (unsigned long)fuzz_u8(&in) + 1u : 0u);

    h2_hpack_decoder *dec = NULL;
    if (h2_hpack_decoder_new(&dec, &mem) != 0)
        return 0;
    if (opt & 1u)
        h2_hpack_decoder_set_limits(dec, 1024, 256);

    round_trip rt = {NULL, NULL};
    FUZZ_CHECK(h2_hpack_encoder_new(&rt.enc, H2_HPACK_DEFAULT_TABLE_SIZE, NULL) == 0);
    FUZZ_CHECK(h2_hpack_decoder_new(&rt.dec, NULL) == 0);
    h2_hpack_decoder_set_limits(rt.dec, 0, 0);

    int sticky = 0;
    /* The previous block's fields, to check that later calls leave them alone. */
    const h2_header *prev = NULL;
    size_t prev_n = 0;
    uint64_t prev_digest = 0;

    while (in.len > 0) {
        uint8_t op = fuzz_u8(&in);
        if (op & 0x40u) {
            h2_hpack_decoder_reset_output(dec);
            prev = NULL;
            prev_n = 0;
        }
        if (op & 0x80u) {
            size_t max = (size_t)fuzz_u16(&in) * 4u;
            FUZZ_CHECK(h2_hpack_decoder_set_max_table_size(dec, max) == 0);
            FUZZ_CHECK(h2_hpack_decoder_set_max_table_size(rt.dec, max) == 0);
            FUZZ_CHECK(h2_hpack_encoder_set_peer_max_table_size(rt.enc, max) == 0);
            continue;
        }
        size_t len = fuzz_u16(&in);
        if (len > in.len)
            len = in.len;
        const uint8_t *block = in.p;
        in.p += len;
        in.len -= len;

        const h2_header *fields = NULL;
        size_t n = 0;
        int rv = h2_hpack_decode(dec, block, len, &fields, &n);
        if (sticky != 0) {
            FUZZ_CHECK(rv == sticky);
        } else if (rv == H2_ECOMPRESSION || rv == H2_ENOMEM) {
            sticky = rv;
        } else {
            FUZZ_CHECK(rv == 0 || rv == H2_EHEADER_LIST_SIZE);
        }
        if (rv != 0) {
            FUZZ_CHECK(fields == NULL && n == 0);
        } else {
            FUZZ_CHECK(n == 0 || fields != NULL);
            for (size_t i = 0; i < n; i++) {
                huffman_round_trip(fields[i].name, fields[i].name_len);
                huffman_round_trip(fields[i].value, fields[i].value_len);
            }
            round_trip_block(&rt, fields, n);
        }
        if (prev != NULL)
            FUZZ_CHECK(fields_digest(prev, prev_n) == prev_digest);
        if (rv == 0 && n > 0) {
            prev = fields;
            prev_n = n;
            prev_digest = fields_digest(fields, n);
        }
        /* The raw block as a Huffman string: must not read or write out of bounds. */
        if (len > 0) {
            size_t cap = len * 8 / 5 + 1;
            uint8_t *out = malloc(cap);
            FUZZ_CHECK(out != NULL);
            ptrdiff_t got = h2_huffman_decode(block, len, out, cap);
            FUZZ_CHECK(got == H2_ECOMPRESSION || (got >= 0 && (size_t)got < cap));
            free(out);
        }
    }

    h2_hpack_decoder_free(dec);
    h2_hpack_encoder_free(rt.enc);
    h2_hpack_decoder_free(rt.dec);
    return 0;
}
