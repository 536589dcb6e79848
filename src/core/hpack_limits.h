/*
 * Internal limits of the HPACK decoder beyond h2_hpack_decoder_set_limits():
 * a hard cap on the number of fields in one block, and which limit the last
 * h2_hpack_decode() call ran into, so that the connection can name it.
 */
#ifndef H2_CORE_HPACK_LIMITS_H
#define H2_CORE_HPACK_LIMITS_H

#include "h2/hpack.h"

typedef enum h2_hpack_limit_hit {
    H2_HPACK_HIT_NONE = 0,
    H2_HPACK_HIT_LIST,       /* decoded list size (H2_EHEADER_LIST_SIZE) */
    H2_HPACK_HIT_STRING,     /* one name or value too long (H2_EHEADER_LIST_SIZE) */
    H2_HPACK_HIT_FIELDS,     /* more fields than the hard cap (H2_ECOMPRESSION) */
    H2_HPACK_HIT_TABLE_SIZE, /* a table size update above the allowed size (H2_ECOMPRESSION) */
} h2_hpack_limit_hit;

/*
 * Caps the fields of one block (0: no cap). Past the cap decoding stops with
 * H2_ECOMPRESSION and the context is unusable, as for invalid HPACK.
 */
void h2_hpack_decoder_set_max_fields(h2_hpack_decoder *dec, size_t max_fields);

/* The limit the last decode call ran into (H2_HPACK_HIT_NONE when none). */
h2_hpack_limit_hit h2_hpack_decoder_limit_hit(const h2_hpack_decoder *dec);

/*
 * For the connection core: h2_hpack_decoder_reset_output() plus
 * h2_arena_trim() of the decoder's output arena, so that the memory a burst
 * of header blocks took goes back to the allocator. NULL is allowed.
 */
void h2_hpack_decoder_trim_output(h2_hpack_decoder *dec);

#endif /* H2_CORE_HPACK_LIMITS_H */
