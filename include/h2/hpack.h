/*
 * libh2 HPACK (RFC 7541): header compression for HTTP/2, usable on its own
 * without a connection.
 *
 * A decoder and an encoder each hold one compression context (the dynamic
 * table of one direction of one connection). Neither is thread-safe; use
 * each from one thread at a time.
 */
#ifndef H2_HPACK_H
#define H2_HPACK_H

#include "h2/common.h"
#include "h2/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @enum Per-field flags, in h2_header.flags. */
enum {
    /*
     * The field must never be put in a compression table, by us or by any
     * intermediary (RFC 7541 section 6.2.3). Set by the decoder on fields
     * received as "never indexed"; honoured by the encoder on output.
     */
    H2_HEADER_NEVER_INDEX = 1u << 0,
    /*
     * Encoder hint: do not add this field to the dynamic table, but allow a
     * proxy to do so ("literal without indexing"). Ignored by the decoder.
     */
    H2_HEADER_NO_INDEX = 1u << 1,
};

/*
 * @struct
 *
 * One header field: a name and a value as byte strings (not NUL
 * terminated; either may contain any byte). Who owns the bytes is stated by
 * each function that takes or returns h2_header.
 */
typedef struct h2_header {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t flags; /* H2_HEADER_* */
} h2_header;

/*
 * @macro
 *
 * An h2_header initializer from two string literals, lengths included
 * (sizeof - 1, so an embedded NUL counts and the terminating one does not):
 *
 *     static const h2_header req[] = {
 *         H2_HDR(":method", "GET"), H2_HDR(":path", "/"), ...
 *     };
 *
 * Only string literals are accepted (anything else does not compile). The
 * field points at the literals, which live for the whole program. For an
 * expression, use a compound literal: (h2_header)H2_HDR("a", "b").
 * H2_HDR_NEVER_INDEX() is the same with H2_HEADER_NEVER_INDEX set (for
 * credentials: authorization, cookies).
 */
#define H2_HDR(name, value)                                                                        \
    {                                                                                              \
        (const uint8_t *)("" name), sizeof(name) - 1, (const uint8_t *)("" value),                 \
            sizeof(value) - 1, 0                                                                   \
    }
#define H2_HDR_NEVER_INDEX(name, value)                                                            \
    {                                                                                              \
        (const uint8_t *)("" name), sizeof(name) - 1, (const uint8_t *)("" value),                 \
            sizeof(value) - 1, H2_HEADER_NEVER_INDEX                                               \
    }

/*
 * @function
 *
 * The first field of |list| (|n| fields) whose name is exactly the
 * NUL-terminated |name|, byte for byte. The comparison is case-sensitive:
 * HTTP/2 field names are lowercase on the wire (RFC 9113 section 8.2.1;
 * received blocks are checked for it unless validate_inbound_headers is
 * off, and sent blocks are lowercased by normalize_outbound_headers), so
 * pass a lowercase name. Pseudo-header names include their colon
 * (":path").
 *
 * Returns a pointer into |list| (owned by whoever owns |list|; for event
 * fields, valid as long as the event), or NULL when no field matches, when
 * |name| is NULL, or when |list| is NULL. For repeated fields (cookie,
 * set-cookie), continue after a match with
 * h2_header_find(hit + 1, n - (size_t)(hit + 1 - list), name).
 */
H2_API const h2_header *h2_header_find(const h2_header *list, size_t n, const char *name);

/* Default and protocol constants. */
#define H2_HPACK_DEFAULT_TABLE_SIZE 4096u
/* Entry overhead added to name and value length (RFC 7541 section 4.1). */
#define H2_HPACK_ENTRY_OVERHEAD 32u

/* ------------------------------------------------------------------------ */
/* Decoder                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct h2_hpack_decoder h2_hpack_decoder;

/*
 * @function
 *
 * Creates a decoder whose dynamic table may grow to 4096 bytes (the
 * SETTINGS_HEADER_TABLE_SIZE default). |mem| may be NULL (libc); the struct
 * is copied. Stores the new decoder in |*out|.
 *
 * Returns 0, H2_EINVAL (|out| NULL) or H2_ENOMEM.
 */
H2_API int h2_hpack_decoder_new(h2_hpack_decoder **out, const h2_mem *mem);

/* @function Frees |dec| and all its memory. NULL is allowed. */
H2_API void h2_hpack_decoder_free(h2_hpack_decoder *dec);

/*
 * @function
 *
 * Sets the largest dynamic table size the peer's encoder may select: the
 * value of SETTINGS_HEADER_TABLE_SIZE that we advertised and that the peer
 * acknowledged. A table size update in a block above it is a decoding
 * error. If the new limit is below the current table size, the peer must
 * start its next block with a table size update at or below the limit (RFC
 * 7541 section 4.2); a block that does not is a decoding error. Values above
 * UINT32_MAX are taken as UINT32_MAX. No memory is allocated here: the table
 * grows when entries are added.
 *
 * Returns 0, or H2_EINVAL (|dec| NULL).
 */
H2_API int h2_hpack_decoder_set_max_table_size(h2_hpack_decoder *dec, size_t max);

/*
 * @function
 *
 * Limits applied while decoding a block: |max_list_size| is the largest
 * decoded header list (sum of name + value + 32 per field, as
 * SETTINGS_MAX_HEADER_LIST_SIZE counts it); |max_string_len| the longest
 * single decoded name or value. 0 means "no limit" for either. Defaults:
 * 65536 and 65536. Takes effect from the next h2_hpack_decode().
 */
H2_API void h2_hpack_decoder_set_limits(h2_hpack_decoder *dec, size_t max_list_size,
                                        size_t max_string_len);

/*
 * @function
 *
 * Decodes one complete header block (HEADERS or PUSH_PROMISE fragment plus
 * all its CONTINUATIONs, concatenated). On success, |*out| points to an
 * array of |*n_out| fields in the order received, with H2_HEADER_NEVER_INDEX
 * set on fields that were sent as never indexed (flags are 0 otherwise). An
 * empty block gives |*n_out| 0 and |*out| NULL; so does every error.
 *
 * Lifetime: the array and every name and value it points to live in the
 * decoder's output arena or in its dynamic table; they stay valid across
 * later decode calls and are invalidated only by
 * h2_hpack_decoder_reset_output() or h2_hpack_decoder_free(). The input
 * |block| is not referenced after the call returns. The arena grows by
 * adding chunks (memory handed out never moves) and keeps them across
 * resets, so steady-state decoding does not allocate; its memory is returned
 * by h2_hpack_decoder_free(). When later blocks would overwrite table bytes
 * that fields handed out still point to, the table moves to new memory and
 * the old is kept until the next reset. Strings of fields from the static
 * table point to static storage.
 *
 * Returns 0 or:
 *  - H2_ECOMPRESSION: the block is not valid HPACK (bad index, bad Huffman
 *    code, integer overflow, truncated block, table size update not allowed
 *    or above the limit). The decoding context is now unusable; the
 *    connection must end with COMPRESSION_ERROR.
 *  - H2_EHEADER_LIST_SIZE: a limit of h2_hpack_decoder_set_limits() was
 *    passed. The whole block was still processed, so the dynamic table is
 *    in sync with the peer and the decoder remains usable; no fields are
 *    returned. (A block that is also invalid gives H2_ECOMPRESSION.)
 *  - H2_ENOMEM: the context is unusable (the block was partly applied).
 *  - H2_EINVAL: |dec|, |out| or |n_out| NULL, or |block| NULL with |len| > 0.
 * Once the context is unusable, every later call returns the same error.
 */
H2_API int h2_hpack_decode(h2_hpack_decoder *dec, const uint8_t *block, size_t len,
                           const h2_header **out, size_t *n_out);

/*
 * @function
 *
 * Forgets every decoded field handed out so far (their memory is reused by
 * the next decode). Call it once the previous results are no longer needed.
 */
H2_API void h2_hpack_decoder_reset_output(h2_hpack_decoder *dec);

/* @function Current dynamic table size in bytes (RFC 7541 section 4.1). */
H2_API size_t h2_hpack_decoder_table_size(const h2_hpack_decoder *dec);

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct h2_hpack_encoder h2_hpack_encoder;

/*
 * @function
 *
 * Creates an encoder. Its dynamic table starts at the protocol default
 * (4096 bytes) and is never larger than |table_cap| bytes, whatever size
 * the peer advertises (0 disables the dynamic table; pass
 * H2_HPACK_DEFAULT_TABLE_SIZE for the usual behaviour). With a |table_cap|
 * below 4096 the first block starts with a table size update to it. Values
 * above UINT32_MAX are taken as UINT32_MAX. |mem| may be NULL. The table
 * memory is allocated on first use.
 *
 * Indexing policy: a field is added to the dynamic table unless it is
 * flagged H2_HEADER_NEVER_INDEX or H2_HEADER_NO_INDEX, or its entry (name +
 * value + 32) would exceed three quarters of the table size.
 *
 * Returns 0, H2_EINVAL or H2_ENOMEM.
 */
H2_API int h2_hpack_encoder_new(h2_hpack_encoder **out, size_t table_cap, const h2_mem *mem);

/* @function Frees |enc|. NULL is allowed. */
H2_API void h2_hpack_encoder_free(h2_hpack_encoder *enc);

/*
 * @function
 *
 * Tells the encoder the peer's SETTINGS_HEADER_TABLE_SIZE. The encoder uses
 * min(|peer_max|, table_cap) and emits the required table size update(s)
 * at the start of the next block (RFC 7541 section 4.2: the smallest size
 * seen since the last block, then the final one; nothing when the size in
 * use does not change).
 *
 * Returns 0, or H2_EINVAL (|enc| NULL).
 */
H2_API int h2_hpack_encoder_set_peer_max_table_size(h2_hpack_encoder *enc, size_t peer_max);

/*
 * @function
 *
 * Upper bound of the bytes that encoding |fields| can produce, including
 * any pending table size update, and the output room h2_hpack_encode() uses
 * as scratch. Never fails (saturates at SIZE_MAX).
 */
H2_API size_t h2_hpack_encode_bound(const h2_hpack_encoder *enc, const h2_header *fields, size_t n);

/*
 * @function
 *
 * Encodes |n| fields into |out| (capacity |cap|) and stores the length in
 * |*out_len|. Names must already be lowercase for HTTP/2 use; the encoder
 * does not validate them. Fields flagged H2_HEADER_NEVER_INDEX are sent as
 * never indexed; H2_HEADER_NO_INDEX as literals without indexing; others
 * may be added to the dynamic table. Huffman coding is used for a string
 * unless it would be longer than the string itself. The encoder does not
 * keep pointers to |fields|.
 *
 * With |cap| >= h2_hpack_encode_bound() the block is written straight into
 * |out| (bytes past |*out_len| may be overwritten). A smaller |cap| costs a
 * copy of the table and of the output, so that failure can be undone.
 *
 * Returns 0, or one of these (in these cases nothing is changed: the dynamic
 * table and any pending size update are exactly as before the call, so the
 * context stays in sync):
 *  - H2_ENOBUFS: the block does not fit in |cap| bytes (a |cap| of at least
 *    h2_hpack_encode_bound() never fails this way);
 *  - H2_ENOMEM: memory for the dynamic table (or, for a |cap| below the
 *    bound, for the copies) could not be allocated;
 *  - H2_EINVAL: |enc| or |out_len| NULL, |fields| NULL with |n| > 0, |out|
 *    NULL with |cap| > 0, or a field with a NULL name or value of non-zero
 *    length.
 */
H2_API int h2_hpack_encode(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out,
                           size_t cap, size_t *out_len);

/* @function Current dynamic table size in bytes. */
H2_API size_t h2_hpack_encoder_table_size(const h2_hpack_encoder *enc);

/*
 * @function
 *
 * Decodes Huffman-coded |in| into |out| (capacity |cap|). Returns the
 * decoded length, H2_ECOMPRESSION for an invalid code, the EOS symbol, or
 * padding longer than 7 bits or not all ones, or H2_ENOBUFS. Output of at
 * most len * 8 / 5 bytes is produced; bytes of |out| up to |cap| may be
 * written even when the result is shorter.
 */
H2_API ptrdiff_t h2_huffman_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* @function Length of the Huffman coding of |in|, in bytes. */
H2_API size_t h2_huffman_encoded_len(const uint8_t *in, size_t len);

/*
 * @function
 *
 * Huffman-codes |in| into |out|, which must hold h2_huffman_encoded_len()
 * bytes. Returns the number of bytes written.
 */
H2_API size_t h2_huffman_encode(const uint8_t *in, size_t len, uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* H2_HPACK_H */
