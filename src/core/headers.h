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
    H2_BLOCK_REQUEST = 1,   /* a request (HEADERS opening a stream, or PUSH_PROMISE) */
    H2_BLOCK_RESPONSE,      /* final response (:status not 1xx) */
    H2_BLOCK_INFORMATIONAL, /* 1xx response */
    H2_BLOCK_TRAILERS,      /* trailer section */
} h2_block_kind;

/*
 * Classification inputs supplied by the caller (the stream state decides
 * them): whether a request or a response/trailers is expected.
 */
typedef struct h2_block_expect {
    bool request;          /* a request block is expected (new stream, push promise) */
    bool final_seen;       /* final response (or request) headers already passed */
    bool connect_protocol; /* SETTINGS_ENABLE_CONNECT_PROTOCOL allows :protocol */
} h2_block_expect;

/* What the checks found out about a block. */
typedef struct h2_block_info {
    h2_block_kind kind;
    int status;             /* :status as a number (100..999), 0 if absent or malformed */
    int64_t content_length; /* -1 when absent */
    bool method_head;       /* :method is HEAD */
    bool method_connect;    /* :method is CONNECT */
    bool has_protocol;      /* :protocol present (extended CONNECT) */
    const char *error;      /* on failure: static text naming the broken rule */
} h2_block_info;

/*
 * Scratch memory for normalisation: a bump allocator that the functions below
 * grow through the h2_mem hook, in chunks. A chunk is never moved or resized,
 * so every pointer handed out stays valid until h2_hdr_scratch_reset() or
 * h2_hdr_scratch_free(), however many calls use |s| in between. |buf| is the
 * newest chunk (NULL before the first allocation), |len| and |cap| its used
 * and total bytes; older chunks are linked from the start of each chunk.
 * Treat the fields as private.
 */
typedef struct h2_hdr_scratch {
    const h2_mem *mem;
    uint8_t *buf;
    size_t len, cap;
} h2_hdr_scratch;

/* Sets up an empty arena; |mem| NULL means libc. The h2_mem struct must outlive |s|. */
void h2_hdr_scratch_init(h2_hdr_scratch *s, const h2_mem *mem);
/*
 * Forgets everything allocated so far (every pointer handed out is now
 * invalid). Keeps the newest, largest chunk so that steady-state use does
 * not allocate; frees the older ones.
 */
void h2_hdr_scratch_reset(h2_hdr_scratch *s);
/*
 * h2_hdr_scratch_reset(), then also frees the kept chunk when it is larger
 * than |keep| bytes, so that memory taken by a burst goes back to the
 * allocator.
 */
void h2_hdr_scratch_trim(h2_hdr_scratch *s, size_t keep);
/* Frees every chunk; |s| is empty (and reusable) afterwards. */
void h2_hdr_scratch_free(h2_hdr_scratch *s);
/*
 * Returns |size| bytes aligned for any object, valid until reset or free, or
 * NULL when the allocator fails (|s| is unchanged and still usable).
 */
void *h2_hdr_scratch_alloc(h2_hdr_scratch *s, size_t size);

/*
 * Classifies an inbound block by |expect| and its pseudo-headers, parses
 * content-length (RFC 9110 1*DIGIT; duplicates must agree) and, when
 * |validate| is set, applies every inbound rule (characters, forbidden
 * connection-specific fields, te, pseudo-header order/duplicates/known
 * names/required and forbidden per kind, host vs :authority, empty :path,
 * CONNECT and extended CONNECT, :status of exactly 3 digits (100..999), :protocol only
 * when |expect->connect_protocol|). Content-length is parsed whatever
 * |validate| says. Call it on the list after h2_headers_normalize_inbound().
 *
 * Classification: with |expect->request| the block is H2_BLOCK_REQUEST;
 * otherwise a :status of 100..199 (among the leading pseudo-headers) makes it
 * H2_BLOCK_INFORMATIONAL, else |expect->final_seen| makes it
 * H2_BLOCK_TRAILERS, else H2_BLOCK_RESPONSE.
 *
 * Fills every field of |*info|, on failure too. |fields| is only read, and
 * |info->error| points to static text.
 * Returns 0, or H2_EHEADER with info->error set. A content-length error is
 * reported in preference to any other (h2 parses it before validating).
 */
int h2_headers_check_inbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                             bool validate, h2_block_info *info);

/*
 * Inbound normalisation: takes every cookie field out of the list and
 * appends one field "cookie" at the end whose value is their values joined
 * with "; " in order, flagged H2_HEADER_NEVER_INDEX (RFC 9113 section 8.2.3;
 * h2 does this for a single cookie too). Writes the new array to
 * |*out|/|*n_out|; when there is no cookie, or only one that is already last
 * and never-indexed, |*out| is |fields| itself and nothing is allocated.
 *
 * Lifetime: the new array and the joined value live in |s| (until its reset
 * or free); the other names and values still point into |fields|' storage.
 * Returns 0 or H2_ENOMEM (|*out| and |*n_out| untouched).
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
 * |expect| as for inbound.
 *
 * Normalisation (opts->normalize, h2's order, per field): lowercase the name;
 * with opts->split_cookies split a cookie value on "; " into several fields
 * (each keeps the original flags); strip leading and trailing SP, HTAB, CR,
 * LF, VT and FF from names and values; drop connection, proxy-connection,
 * keep-alive, transfer-encoding and upgrade (te stays); flag authorization
 * and proxy-authorization, and any cookie shorter than 20 bytes,
 * H2_HEADER_NEVER_INDEX (flags already set are kept).
 *
 * Validation (opts->validate): every rule of h2_headers_check_inbound() on
 * the normalised list (character checks included, which h2 does not make on
 * output; RFC 9113 section 8.2.1 asks them of senders). A malformed or
 * conflicting content-length is an error only when validating; otherwise
 * info->content_length holds the first well-formed value, or -1.
 *
 * Writes the list to send to |*out|/|*n_out|: |fields| itself when
 * normalisation changed nothing (nothing is allocated then), else an array
 * in |s| whose names and values point into |s| (lowercased names) or into
 * the caller's field storage (everything else, stripped in place by
 * pointer), so the caller's bytes must live as long as |*out| is used.
 * Fills |*info| (also on H2_EHEADER).
 * Returns 0, H2_EHEADER (info->error set) or H2_ENOMEM (|*out|, |*n_out|
 * untouched).
 */
int h2_headers_prepare_outbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                                const h2_outbound_opts *opts, h2_hdr_scratch *s,
                                const h2_header **out, size_t *n_out, h2_block_info *info);

/*
 * Parses an RFC 9110 content-length value: 1*DIGIT (ASCII only, leading
 * zeros allowed) whose value fits in int64_t. Returns the value, or -1 for
 * anything else (empty, sign, space, other bytes, overflow).
 */
int64_t h2_parse_content_length(const uint8_t *v, size_t len);

/*
 * The request-target rules of RFC 9113 section 8.3.1 that h2 does not
 * check, for a request block whose pseudo-header fields passed the other
 * rules: |method| (not NULL) must be a token; |scheme| (NULL for an
 * ordinary CONNECT) a URI scheme; for "http" and "https" in any case,
 * |path| must start with '/' or be "*" with OPTIONS, and |authority| (may
 * be NULL) must hold no userinfo ('@'). Returns NULL when the rules hold,
 * else static text naming the broken rule (headers_target.c).
 */
const char *h2_headers_target_error(const h2_header *method, const h2_header *scheme,
                                    const h2_header *path, const h2_header *authority);

#endif /* H2_CORE_HEADERS_H */
