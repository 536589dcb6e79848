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
 * to h2_frame_parse_payload() and lives exactly as long as that buffer.
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

/* Decodes a 9-byte frame header. Never fails. */
void h2_frame_hd_unpack(h2_frame_hd *hd, const uint8_t *in);

/* Encodes a frame header into |out| (9 bytes). */
void h2_frame_hd_pack(uint8_t *out, uint32_t length, uint8_t type, uint8_t flags,
                      uint32_t stream_id);

/*
 * Checks the stream-id rule and length rule of a frame header that can be
 * checked before the payload arrives (PING length 8, PRIORITY 5, RST_STREAM
 * 4, WINDOW_UPDATE 4, SETTINGS multiple of 6 / ACK empty, stream 0 vs
 * non-zero per type). |max_frame_size| is the limit we advertised.
 * Returns H2_NO_ERROR or the wire error code RFC 9113 names.
 */
uint32_t h2_frame_check_hd(const h2_frame_hd *hd, uint32_t max_frame_size);

/*
 * Parses the payload of a frame whose header passed h2_frame_check_hd().
 * |payload| holds exactly hd->length bytes. On failure returns the wire
 * error code (FRAME_SIZE_ERROR or PROTOCOL_ERROR, per RFC 9113) and leaves
 * |out| unspecified.
 */
uint32_t h2_frame_parse_payload(h2_frame *out, const h2_frame_hd *hd, const uint8_t *payload);

/* Reads SETTINGS entry |i| (0-based) of a parsed SETTINGS frame. */
h2_settings_entry h2_frame_settings_entry(const h2_frame *f, size_t i);

/*
 * Incremental frame reader. Feed it arbitrary slices of the byte stream;
 * it yields whole frames. A frame that lies whole in the slice is returned
 * as a view into the slice (no copy); only a frame that straddles two calls
 * is copied into the reader's reassembly buffer, which grows up to
 * max_frame_size + 9 bytes.
 */
typedef struct h2_frame_reader {
    const h2_mem *mem;
    uint32_t max_frame_size; /* the inbound limit we advertised */
    uint8_t *buf;            /* reassembly buffer */
    size_t buf_len;          /* bytes held */
    size_t buf_cap;
    uint32_t error; /* sticky wire error once a bad frame was seen */
} h2_frame_reader;

void h2_frame_reader_init(h2_frame_reader *r, const h2_mem *mem);
void h2_frame_reader_free(h2_frame_reader *r);

/*
 * Tries to take one frame from the reassembly buffer plus |in| (|len|
 * bytes). Always sets |*consumed| to the number of bytes of |in| it used.
 *
 * Returns:
 *   1  a frame is in |*out|; its views stay valid until the next call on
 *      the reader or until |in| is released, whichever comes first;
 *   0  |in| was consumed whole and more bytes are needed;
 *   H2_EFRAME  the stream is malformed: |*wire_error| holds the error code
 *      to send in GOAWAY (FRAME_SIZE_ERROR, PROTOCOL_ERROR). The reader
 *      stays in this error state; later calls return H2_EFRAME again
 *      without consuming anything.
 *   H2_ENOMEM  the reassembly buffer could not grow (nothing consumed).
 */
int h2_frame_reader_next(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame *out, uint32_t *wire_error);

/*
 * Serializers. Each writes a complete frame (header and payload) into
 * |out| and returns its length; |out| must have room for the returned
 * length, which the matching *_len() helper or the comment gives.
 * Payload views are copied.
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

#endif /* H2_CORE_FRAME_H */
