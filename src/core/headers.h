/*
 * Header-block rules of RFC 9113 sections 8.2 and 8.3 (plus RFC 8441 for
 * :protocol, RFC 9110 for content-length): validation and normalisation of
 * inbound and outbound header lists. Pure functions; the only memory used is
 * the caller's scratch arena.
 */
#ifndef H2_CORE_HEADERS_H
#define H2_CORE_HEADERS_H

#include "h2/common.h"
#include "h2/hpack.h"

/* What a header block is, as seen by the stream that carries it. */
typedef enum h2_block_kind {
    H2_BLOCK_REQUEST = 1,       /* a request (HEADERS opening a stream, or PUSH_PROMISE) */
    H2_BLOCK_RESPONSE,          /* final response (:status not 1xx) */
    H2_BLOCK_INFORMATIONAL,     /* 1xx response */
    H2_BLOCK_TRAILERS,          /* trailer section */
} h2_block_kind;

/*
 * Classification inputs supplied by the caller (the stream state decides
 * them): whether a request or a response/trailers is expected.
 */
typedef struct h2_block_expect {
    bool request;            /* a request block is expected (new stream, push promise) */
    bool final_seen;         /* final response (or request) headers already passed */
    bool connect_protocol;   /* SETTINGS_ENABLE_CONNECT_PROTOCOL allows :protocol */
} h2_block_expect;

/* What the checks found out about a block. */
typedef struct h2_block_info {
    h2_block_kind kind;
    int status;             /* :status as a number (e.g. 200), 0 if absent or not 3 digits */
    int64_t content_length; /* -1 when absent */
    bool method_head;       /* :method is HEAD */
    bool method_connect;    /* :method is CONNECT */
    bool has_protocol;      /* :protocol present (extended CONNECT) */
    const char *error;      /* on failure: static text naming the broken rule */
} h2_block_info;

/*
 * Scratch memory for normalisation: a bump allocator over a caller buffer
 * that the caller can grow. Used for joined cookies, lowercased names and
 * the rewritten field array.
 */
typedef struct h2_hdr_scratch {
    const h2_mem *mem;
    uint8_t *buf;
    size_t len, cap;
} h2_hdr_scratch;

void h2_hdr_scratch_init(h2_hdr_scratch *s, const h2_mem *mem);
void h2_hdr_scratch_reset(h2_hdr_scratch *s); /* keeps memory */
void h2_hdr_scratch_free(h2_hdr_scratch *s);

/*
 * Classifies an inbound block by |expect| and its pseudo-headers, parses
 * content-length (RFC 9110 1*DIGIT; duplicates must agree) and, when
 * |validate| is set, applies every inbound rule (characters, forbidden
 * connection-specific fields, te, pseudo-header order/duplicates/known
 * names/required and forbidden per kind, host vs :authority, empty :path,
 * CONNECT and extended CONNECT). Content-length is parsed whatever
 * |validate| says. Fills |*info|.
 * Returns 0, or H2_EHEADER with info->error set.
 */
int h2_headers_check_inbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                             bool validate, h2_block_info *info);

/*
 * Inbound normalisation: joins every cookie field into one "; "-separated
 * field placed at the end, flagged H2_HEADER_NEVER_INDEX (RFC 9113 section
 * 8.2.3). Writes the new array to |*out|/|*n_out|; when there is at most one
 * cookie the input array is returned unchanged. Memory comes from |s|.
 * Returns 0 or H2_ENOMEM.
 */
int h2_headers_normalize_inbound(const h2_header *fields, size_t n, h2_hdr_scratch *s,
                                 const h2_header **out, size_t *n_out);

/* Options of outbound processing (the h2 configuration flags). */
typedef struct h2_outbound_opts {
    bool normalize;     /* lowercase names, strip whitespace, drop connection headers,
                           mark sensitive fields never-indexed */
    bool split_cookies; /* split cookie values on "; " (only when normalizing) */
    bool validate;      /* apply the outbound rules */
} h2_outbound_opts;

/*
 * Outbound processing of a block we are about to send, classified by
 * |expect| as for inbound. Normalises (when asked) into |s| and validates
 * (when asked): the inbound rules plus character checks of names and values
 * (RFC 9113 section 8.2.1). Writes the list to send to |*out|/|*n_out|
 * (may be |fields| itself when nothing changed) and fills |*info|.
 * Returns 0, H2_EHEADER (info->error set) or H2_ENOMEM.
 */
int h2_headers_prepare_outbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                                const h2_outbound_opts *opts, h2_hdr_scratch *s,
                                const h2_header **out, size_t *n_out, h2_block_info *info);

/* Parses an RFC 9110 content-length value (1*DIGIT, fits in int64). -1 if invalid. */
int64_t h2_parse_content_length(const uint8_t *v, size_t len);

#endif /* H2_CORE_HEADERS_H */
