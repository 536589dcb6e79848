/*
 * Internal controls of the HPACK encoder (the encoder itself is public: see
 * h2/hpack.h).
 */
#ifndef H2_CORE_HPACK_ENCODER_H
#define H2_CORE_HPACK_ENCODER_H

#include <stdbool.h>
#include "h2/hpack.h"

/*
 * Turns Huffman coding of strings on (the default: used when shorter) or
 * off (every string sent as is). For tests that reproduce plain encodings.
 */
void h2_hpack_encoder_set_huffman(h2_hpack_encoder *enc, bool enabled);

/*
 * h2_hpack_encode() into |out|, which has room for |bound| bytes: the value
 * h2_hpack_encode_bound() gave for the same encoder and fields, with
 * nothing changed in between (so the bound is not computed again).
 */
int h2_hpack_encode_within(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out,
                           size_t bound, size_t *out_len);

#endif /* H2_CORE_HPACK_ENCODER_H */
