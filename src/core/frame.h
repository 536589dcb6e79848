/*
 * HTTP/2 frame codec (RFC 9113 sections 4 and 6, RFC 7838 ALTSVC, RFC 9218
 * PRIORITY_UPDATE): pure parse and serialize functions plus an incremental
 * reader. No allocation except the reader's reassembly buffer.
 */
#ifndef H2_CORE_FRAME_H
#define H2_CORE_FRAME_H

#include "h2/common.h"
#include "h2/errors.h"

#define H2_FRAME_HEADER_LEN 9u
#define H2_DEFAULT_MAX_FRAME_SIZE 16384u
#define H2_MAX_FRAME_SIZE_LIMIT 16777215u
#define H2_MAX_WINDOW 2147483647u
#define H2_STREAM_ID_MASK 0x7fffffffu
#define H2_CLIENT_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_CLIENT_PREFACE_LEN 24u

/* Whole-frame sizes (header included) of the fixed-size frame types. */
#define H2_FRAME_PRIORITY_LEN 14u
#define H2_FRAME_RST_STREAM_LEN 13u
#define H2_FRAME_PING_LEN 17u
#define H2_FRAME_WINDOW_UPDATE_LEN 13u
#define H2_FRAME_SETTINGS_ENTRY_LEN 6u

typedef enum h2_frame_type {
    H2_FRAME_DATA = 0x0,
    H2_FRAME_HEADERS = 0x1,
    H2_FRAME_PRIORITY = 0x2,
    H2_FRAME_RST_STREAM = 0x3,
    H2_FRAME_SETTINGS = 0x4,
    H2_FRAME_PUSH_PROMISE = 0x5,
    H2_FRAME_PING = 0x6,
    H2_FRAME_GOAWAY = 0x7,
    H2_FRAME_WINDOW_UPDATE = 0x8,
    H2_FRAME_CONTINUATION = 0x9,
    H2_FRAME_ALTSVC = 0xa,
    H2_FRAME_PRIORITY_UPDATE = 0x10,
} h2_frame_type;

enum {
    H2_FLAG_END_STREAM = 0x1, /* DATA, HEADERS */
    H2_FLAG_ACK = 0x1,        /* SETTINGS, PING */
    H2_FLAG_END_HEADERS = 0x4,
    H2_FLAG_PADDED = 0x8,
    H2_FLAG_PRIORITY = 0x20,
};

typedef enum h2_settings_id {
    H2_SETTINGS_HEADER_TABLE_SIZE = 0x1,
    H2_SETTINGS_ENABLE_PUSH = 0x2,
    H2_SETTINGS_MAX_CONCURRENT_STREAMS = 0x3,
    H2_SETTINGS_INITIAL_WINDOW_SIZE = 0x4,
    H2_SETTINGS_MAX_FRAME_SIZE = 0x5,
    H2_SETTINGS_MAX_HEADER_LIST_SIZE = 0x6,
    H2_SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8,
    H2_SETTINGS_NO_RFC7540_PRIORITIES = 0x9,
} h2_settings_id;

/* The 9-byte frame header. |stream_id| has the reserved bit masked off. */
typedef struct h2_frame_hd {
    uint32_t length; /* payload length, 24 bits */
    uint8_t type;
    uint8_t flags;
    uint32_t stream_id;
} h2_frame_hd;

typedef struct h2_priority_spec {
    uint32_t depends_on; /* 31 bits */
    uint16_t weight;     /* 1..256 (wire value + 1) */
    bool exclusive;
} h2_priority_spec;

typedef struct h2_settings_entry {
    uint16_t id;
    uint32_t value;
} h2_settings_entry;

/*
 * A parsed frame. Every pointer is a view into the payload that was passed
 * to h2_frame_parse_payload() (or into the reader's input or reassembly
 * buffer, see h2_frame_reader_next()) and lives exactly as long as that
 * buffer. Nothing in it is owned by the struct; it needs no cleanup.
 * Reserved bits (stream ids, WINDOW_UPDATE increment, GOAWAY last stream id)
 * are masked off.
 */
typedef struct h2_frame {
    h2_frame_hd hd;
    /* Padding length when PADDED (DATA, HEADERS, PUSH_PROMISE), else 0. */
    uint8_t pad_len;
    union {
        struct { /* DATA: payload without pad-length byte and padding */
            const uint8_t *data;
            size_t len;
        } data;
        struct { /* HEADERS */
            bool has_priority;
            h2_priority_spec priority;
            const uint8_t *block; /* header block fragment */
            size_t block_len;
        } headers;
        h2_priority_spec priority; /* PRIORITY */
        uint32_t rst_error_code;   /* RST_STREAM */
        struct {                   /* SETTINGS: entries still encoded */
            const uint8_t *raw;    /* 6 bytes per entry */
            size_t n;
        } settings;
        struct { /* PUSH_PROMISE */
            uint32_t promised_stream_id;
            const uint8_t *block;
            size_t block_len;
        } push_promise;
        uint8_t ping[8]; /* PING opaque data */
        struct {         /* GOAWAY */
            uint32_t last_stream_id;
            uint32_t error_code;
            const uint8_t *debug;
            size_t debug_len;
        } goaway;
        uint32_t window_increment; /* WINDOW_UPDATE (31 bits, may be 0) */
        struct {                   /* CONTINUATION */
            const uint8_t *block;
            size_t block_len;
        } continuation;
        struct { /* ALTSVC */
            const uint8_t *origin;
            size_t origin_len;
            const uint8_t *field_value;
            size_t field_value_len;
        } altsvc;
        struct { /* PRIORITY_UPDATE */
            uint32_t prioritized_stream_id;
            const uint8_t *field_value;
            size_t field_value_len;
        } priority_update;
        struct { /* any other type: the whole payload */
            const uint8_t *payload;
            size_t len;
        } unknown;
    } u;
} h2_frame;

/* Big-endian field access shared by the codec and its users. */
static inline uint16_t h2_frame_get_u16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t h2_frame_get_u24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t h2_frame_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void h2_frame_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void h2_frame_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Decodes the 9-byte frame header at |in| into |hd|; the reserved bit of
 * the stream id is masked off. Never fails.
 */
void h2_frame_hd_unpack(h2_frame_hd *hd, const uint8_t *in);

/*
 * Encodes a frame header into |out| (9 bytes). Only the low 24 bits of
 * |length| are written; the reserved bit of |stream_id| is written as 0.
 */
void h2_frame_hd_pack(uint8_t *out, uint32_t length, uint8_t type, uint8_t flags,
                      uint32_t stream_id);

/*
 * Checks every rule of a frame header that can be checked before the
 * payload arrives, so an oversized or misplaced frame is rejected without
 * buffering it:
 *   - length > |max_frame_size| (the limit we advertised) -> FRAME_SIZE_ERROR,
 *     for every type, unknown ones included;
 *   - stream id 0 on DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE,
 *     CONTINUATION, or a non-zero stream id on SETTINGS, PING, GOAWAY,
 *     PRIORITY_UPDATE -> PROTOCOL_ERROR (this check comes before the
 *     length checks below);
 *   - PRIORITY length != 5, RST_STREAM != 4, PING != 8, WINDOW_UPDATE != 4,
 *     SETTINGS not a multiple of 6 or ACK with a payload, GOAWAY < 8,
 *     PUSH_PROMISE < 4 (+1 if PADDED), PADDED DATA/HEADERS with an empty
 *     payload, HEADERS with PRIORITY < 5 (+1 if PADDED), ALTSVC < 2,
 *     PRIORITY_UPDATE < 4 -> FRAME_SIZE_ERROR.
 * Undefined flag bits are ignored; unknown types only get the size check.
 * Returns H2_NO_ERROR or the wire error code (enum h2_error_code).
 */
uint32_t h2_frame_check_hd(const h2_frame_hd *hd, uint32_t max_frame_size);

/*
 * Parses the payload of a frame. |payload| holds exactly hd->length bytes
 * and is only read, never kept beyond the views stored in |out|. The
 * header should have passed h2_frame_check_hd(); the length rules are
 * checked again here, so no header can make this read out of bounds.
 * Payload rules:
 *   - padding longer than what follows the fixed fields (for DATA: pad
 *     length >= payload length) -> PROTOCOL_ERROR;
 *   - PUSH_PROMISE promising stream 0 or an odd stream -> PROTOCOL_ERROR;
 *   - ALTSVC origin length past the end -> FRAME_SIZE_ERROR;
 *   - PRIORITY_UPDATE for prioritized stream 0 -> PROTOCOL_ERROR.
 * A zero WINDOW_UPDATE increment is NOT an error here (on a stream it is a
 * stream error, which the connection decides).
 * Returns H2_NO_ERROR, or the wire error code with |out| unspecified.
 */
uint32_t h2_frame_parse_payload(h2_frame *out, const h2_frame_hd *hd, const uint8_t *payload);

/*
 * Reads SETTINGS entry |i| (0-based, i < f->u.settings.n) of a parsed
 * SETTINGS frame. Unknown ids are returned as they are.
 */
h2_settings_entry h2_frame_settings_entry(const h2_frame *f, size_t i);

/*
 * Checks a frame header as soon as its 9 bytes are known, before any of its
 * payload is buffered. Returns 0 to go on; any other value stops the reader,
 * which returns that value from h2_frame_reader_take(). |r| is the reader
 * (an owner that embeds it finds itself from it); |hd| lives for the call.
 */
struct h2_frame_reader;
typedef int (*h2_frame_hd_check_fn)(struct h2_frame_reader *r, const h2_frame_hd *hd);

/*
 * Incremental frame reader: the one place where the byte stream is cut into
 * frames (the connection and the tests use it alike). Feed it arbitrary
 * slices of the byte stream; it yields whole frames, the same ones for any
 * split of the input. A frame that lies whole in the slice is returned as a
 * view into the slice (no copy); only a frame that straddles two calls is
 * copied into a reassembly buffer. There are two such buffers, used in
 * turn: a frame completed in one stays valid while the next straddling
 * frame is gathered in the other, so every frame taken from one slice
 * (the first may come from a buffer) is valid at the same time. Each buffer
 * grows through |mem| up to max_frame_size + 9 bytes (or the largest
 * frame the header check let through) and is kept until
 * h2_frame_reader_free().
 * The 24-byte client preface is not the reader's business: strip it first.
 *
 * The owner may lower or raise |max_frame_size| between calls (e.g. once
 * its SETTINGS_MAX_FRAME_SIZE is acknowledged); the new limit applies to
 * frames whose header has not been read yet. It may also set |check| to
 * judge headers itself instead of h2_frame_check_hd().
 */
typedef struct h2_frame_reader {
    const h2_mem *mem;          /* not owned; must outlive the reader */
    h2_frame_hd_check_fn check; /* NULL: h2_frame_check_hd(hd, max_frame_size) */
    uint8_t *buf;               /* buffer in use (owned) */
    uint8_t *spare;             /* the other buffer (owned) */
    uint32_t buf_len;           /* bytes held in |buf| */
    uint32_t buf_cap;
    uint32_t spare_cap;
    uint32_t max_frame_size; /* the inbound limit we advertised */
    uint32_t error;          /* sticky wire error once a bad frame was seen */
    bool held;               /* |buf| holds the last frame handed out */
} h2_frame_reader;

/*
 * Initialises |r| with max_frame_size = H2_DEFAULT_MAX_FRAME_SIZE and no
 * |check|. |mem| (NULL: the C library's allocator) is not copied and must
 * outlive |r|. Allocates nothing; cannot fail.
 */
void h2_frame_reader_init(h2_frame_reader *r, const h2_mem *mem);

/* Frees both reassembly buffers. |r| may be initialised again afterwards. */
void h2_frame_reader_free(h2_frame_reader *r);

/*
 * Tries to take one frame, unparsed, from the reassembly buffer plus |in|
 * (|len| bytes). Always sets |*consumed| to the number of bytes of |in| it
 * used (bytes of a partial frame are copied into the reader and count as
 * used). |in| may be NULL when |len| is 0.
 *
 * Returns:
 *   1  a frame: its header in |*hd|, its hd->length payload bytes at
 *      |*payload| (a view into |in| or into a reassembly buffer, see above).
 *      Call again with in + *consumed for the next frame;
 *   0  |in| was consumed whole and more bytes are needed;
 *   H2_EFRAME  (no |check| set) the header broke a rule of
 *      h2_frame_check_hd(): r->error holds the wire error; the reader stays
 *      in this state and later calls return H2_EFRAME, consuming nothing;
 *   any other non-zero value returned by |check|: the frame was refused and
 *      its buffered bytes dropped; |*consumed| counts the bytes of |in|
 *      copied before the header was complete;
 *   H2_ENOMEM  a reassembly buffer could not grow; nothing was consumed
 *      and no frame was lost, so the call can be repeated.
 */
int h2_frame_reader_take(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame_hd *hd, const uint8_t **payload);

/*
 * h2_frame_reader_take() followed by h2_frame_parse_payload(), for users
 * that want parsed frames. |wire_error| must not be NULL.
 *
 * Returns:
 *   1  a frame is in |*out|; its views point into |in| when the frame lay
 *      whole in it, else into a reassembly buffer, and stay valid as said
 *      above (at least until the next call on the reader or until |in| is
 *      released, whichever comes first);
 *   0  |in| was consumed whole and more bytes are needed;
 *   H2_EFRAME  the stream is malformed: |*wire_error| holds the error code
 *      to send in GOAWAY (FRAME_SIZE_ERROR, PROTOCOL_ERROR). |*consumed|
 *      counts the bytes of |in| copied before the error was seen (0 when
 *      a header was rejected). The reader stays
 *      in this error state; later calls return H2_EFRAME again with the
 *      same code and consume nothing.
 *   H2_ENOMEM  the reassembly buffer could not grow; nothing was consumed
 *      and the reader is unchanged, so the call can be repeated.
 * A |check| returning non-zero makes this return that value as it is.
 */
int h2_frame_reader_next(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame *out, uint32_t *wire_error);

/*
 * Serializers. Each writes a complete frame (header and payload) into
 * |out| and returns its length; |out| must have room for that length,
 * which the matching h2_frame_*_len() helper below (or the H2_FRAME_*_LEN
 * constant) gives. Payload bytes are copied; padding is written as zeros;
 * reserved bits are written as 0.
 *
 * |pad_len|: -1 means not padded (the PADDED flag is cleared), 0..255 adds
 * the Pad Length field and that many zero bytes (PADDED is set). The
 * PRIORITY flag of HEADERS is set exactly when |prio| is not NULL.
 *
 * They return 0 and write nothing when an argument cannot be encoded:
 * |pad_len| outside -1..255, or a payload longer than 2^24 - 1 bytes
 * (callers split payloads by the peer's SETTINGS_MAX_FRAME_SIZE first).
 * Priority weights are clamped to 1..256.
 */
size_t h2_frame_pack_data(uint8_t *out, uint32_t stream_id, uint8_t flags, const uint8_t *data,
                          size_t len, int pad_len /* -1: not padded */);
/* 9 + (pad_len>=0 ? 1 + pad_len : 0) + (prio ? 5 : 0) + block_len */
size_t h2_frame_pack_headers(uint8_t *out, uint32_t stream_id, uint8_t flags,
                             const h2_priority_spec *prio /* NULL: none */, const uint8_t *block,
                             size_t block_len, int pad_len);
size_t h2_frame_pack_priority(uint8_t *out, uint32_t stream_id, const h2_priority_spec *prio);
size_t h2_frame_pack_rst_stream(uint8_t *out, uint32_t stream_id, uint32_t error_code);
/* 9 + 6 * n */
size_t h2_frame_pack_settings(uint8_t *out, uint8_t flags, const h2_settings_entry *entries,
                              size_t n);
size_t h2_frame_pack_push_promise(uint8_t *out, uint32_t stream_id, uint8_t flags,
                                  uint32_t promised_stream_id, const uint8_t *block,
                                  size_t block_len, int pad_len);
size_t h2_frame_pack_ping(uint8_t *out, uint8_t flags, const uint8_t opaque[8]);
size_t h2_frame_pack_goaway(uint8_t *out, uint32_t last_stream_id, uint32_t error_code,
                            const uint8_t *debug, size_t debug_len);
size_t h2_frame_pack_window_update(uint8_t *out, uint32_t stream_id, uint32_t increment);
size_t h2_frame_pack_continuation(uint8_t *out, uint32_t stream_id, uint8_t flags,
                                  const uint8_t *block, size_t block_len);
size_t h2_frame_pack_altsvc(uint8_t *out, uint32_t stream_id, const uint8_t *origin,
                            size_t origin_len, const uint8_t *field_value, size_t field_value_len);
size_t h2_frame_pack_priority_update(uint8_t *out, uint32_t prioritized_stream_id,
                                     const uint8_t *field_value, size_t field_value_len);
size_t h2_frame_pack_unknown(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id,
                             const uint8_t *payload, size_t len);

/* Output sizes of the variable-length serializers (valid arguments assumed). */
/* CONTINUATION frames needed after a first frame that carries |first_cap|
 * bytes of a |blen|-byte header block, each carrying up to |max_frame|. */
static inline size_t h2_frame_continuations(size_t blen, size_t first_cap, size_t max_frame)
{
    return blen > first_cap ? (blen - first_cap + max_frame - 1) / max_frame : 0;
}

static inline size_t h2_frame_data_len(size_t len, int pad_len)
{
    return H2_FRAME_HEADER_LEN + (pad_len >= 0 ? 1u + (size_t)pad_len : 0u) + len;
}

static inline size_t h2_frame_headers_len(bool has_priority, size_t block_len, int pad_len)
{
    return h2_frame_data_len(block_len, pad_len) + (has_priority ? 5u : 0u);
}

static inline size_t h2_frame_push_promise_len(size_t block_len, int pad_len)
{
    return h2_frame_data_len(block_len, pad_len) + 4u;
}

static inline size_t h2_frame_settings_len(size_t n)
{
    return H2_FRAME_HEADER_LEN + H2_FRAME_SETTINGS_ENTRY_LEN * n;
}

static inline size_t h2_frame_goaway_len(size_t debug_len)
{
    return H2_FRAME_HEADER_LEN + 8u + debug_len;
}

static inline size_t h2_frame_continuation_len(size_t block_len)
{
    return H2_FRAME_HEADER_LEN + block_len;
}

static inline size_t h2_frame_altsvc_len(size_t origin_len, size_t field_value_len)
{
    return H2_FRAME_HEADER_LEN + 2u + origin_len + field_value_len;
}

static inline size_t h2_frame_priority_update_len(size_t field_value_len)
{
    return H2_FRAME_HEADER_LEN + 4u + field_value_len;
}

static inline size_t h2_frame_unknown_len(size_t len)
{
    return H2_FRAME_HEADER_LEN + len;
}

#endif /* H2_CORE_FRAME_H */
