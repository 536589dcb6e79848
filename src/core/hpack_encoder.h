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

#endif /* H2_CORE_HPACK_ENCODER_H */
