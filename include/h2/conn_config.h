/*
 * libh2 connection core: the configuration of a connection (h2_conn_config,
 * filled by h2_conn_config_init() and copied by h2_conn_new()), the roles
 * and the SETTINGS identifiers. Included by h2/conn.h.
 */
#ifndef H2_CONN_CONFIG_H
#define H2_CONN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @enum Which end of the connection this object is. */
typedef enum h2_role {
    H2_ROLE_CLIENT = 0,
    H2_ROLE_SERVER = 1,
} h2_role;

/* @enum SETTINGS parameters (RFC 9113 section 6.5.2, RFC 8441, RFC 9218). */
typedef enum h2_setting_id {
    H2_SETTING_HEADER_TABLE_SIZE = 0x1,
    H2_SETTING_ENABLE_PUSH = 0x2,
    H2_SETTING_MAX_CONCURRENT_STREAMS = 0x3,
    H2_SETTING_INITIAL_WINDOW_SIZE = 0x4,
    H2_SETTING_MAX_FRAME_SIZE = 0x5,
    H2_SETTING_MAX_HEADER_LIST_SIZE = 0x6,
    H2_SETTING_ENABLE_CONNECT_PROTOCOL = 0x8,
    H2_SETTING_NO_RFC7540_PRIORITIES = 0x9,
} h2_setting_id;

/* @struct One SETTINGS parameter: identifier and value. */
typedef struct h2_setting {
    uint16_t id;
    uint32_t value;
} h2_setting;

/* Value of a setting that the peer has not sent (no limit / unknown). */
#define H2_SETTING_UNSET 0xffffffffu

/* Largest flow-control window and stream id (2^31 - 1). */
#define H2_MAX_WINDOW_SIZE 2147483647u
#define H2_MAX_STREAM_ID 2147483647u

/* @enum Direction of a traced frame (h2_frame_trace.direction). */
typedef enum h2_trace_dir {
    H2_TRACE_RECEIVED = 0, /* read from the peer by h2_conn_receive() */
    H2_TRACE_SENT = 1,     /* queued for the peer */
} h2_trace_dir;

/*
 * @struct
 *
 * One frame seen by the trace hook: its 9-byte header decoded, and its
 * payload. |payload| points at the |length| bytes of the payload (padding
 * and the pad length byte included, as on the wire), or is NULL when
 * |length| is 0 or, for a sent frame, when the payload is not in one piece
 * of memory (a padded DATA frame queued by reference with
 * h2_conn_send_data_ref()). It is valid only during the hook call.
 */
typedef struct h2_frame_trace {
    int direction; /* h2_trace_dir */
    uint8_t type;  /* frame type (0x0 DATA ... 0x9 CONTINUATION, or any other) */
    uint8_t flags;
    uint32_t stream_id; /* the reserved bit cleared */
    uint32_t length;    /* payload length from the frame header */
    const uint8_t *payload;
} h2_frame_trace;

/*
 * @function
 *
 * Trace hook (h2_conn_config.trace), called with the config's |trace_user|:
 *  - for every frame received, once it is complete and its header passed
 *    the framing checks (length, stream, first-frame rules), just before
 *    the frame is processed; a frame that fails those checks ends the
 *    connection without being traced;
 *  - for every frame sent, when it is queued in the output (from the call
 *    that queued it: a sending call, or h2_conn_receive() for automatic
 *    replies), in wire order. The client preface is not a frame and is not
 *    traced. Frames later thrown away by h2_conn_clear_output() were
 *    traced.
 * It must not call any function that changes the connection (sending,
 * receiving, output, free); the read-only queries may be called but may
 * see the connection in the middle of the call being traced.
 */
typedef void (*h2_trace_fn)(void *user, const h2_frame_trace *frame);

/*
 * @struct
 *
 * Connection configuration. Always fill it with h2_conn_config_init() first,
 * then change fields; h2_conn_new() copies it. Versioned (see the ABI
 * policy in h2/version.h): |size| is set by h2_conn_config_init() and must
 * be left alone; fields past it take their defaults for |role|.
 */
typedef struct h2_conn_config {
    /* sizeof(h2_conn_config) as the application was compiled; set by
     * h2_conn_config_init(). Must cover at least |role|
     * (H2_CONN_CONFIG_MIN_SIZE). */
    size_t size;
    h2_role role;

    /* Header processing (the h2 flags of the same names). Defaults: all true
     * except split_outbound_cookies. */
    bool validate_inbound_headers;   /* RFC 9113 8.2/8.3 checks on received blocks */
    bool normalize_inbound_headers;  /* join received cookie fields into one */
    bool validate_outbound_headers;  /* the same checks, plus characters, on sent blocks */
    bool normalize_outbound_headers; /* lowercase, strip, drop connection-specific
                                        fields, mark sensitive fields never-indexed */
    bool split_outbound_cookies;     /* split "a=1; b=2" into two cookie fields */

    /* Local settings sent by h2_conn_initiate(). */
    uint32_t header_table_size;       /* HPACK decoder table we allow: 4096 */
    uint32_t enable_push;             /* 1 for a client, 0 for a server */
    uint32_t max_concurrent_streams;  /* inbound streams at once: 100 */
    uint32_t initial_window_size;     /* per-stream receive window: 65535 */
    uint32_t max_frame_size;          /* largest frame we accept: 16384 */
    uint32_t max_header_list_size;    /* largest decoded header list: 65536 */
    uint32_t enable_connect_protocol; /* RFC 8441: 0 */
    /* RFC 9218 SETTINGS_NO_RFC7540_PRIORITIES: 0 (not sent) or 1 (sent in the
     * first SETTINGS frame, which RFC 9218 section 2.1 requires; it cannot be
     * changed later). Default 0. */
    uint32_t no_rfc7540_priorities;

    /* Connection-level receive window. Above 65535, h2_conn_initiate() also
     * queues a WINDOW_UPDATE on stream 0 for the difference. Default 65535. */
    uint32_t connection_window_size;

    /* Limits. */
    /* Frames per received header block, HEADERS (or PUSH_PROMISE) included:
     * 9, i.e. 8 CONTINUATIONs (must not be 0). Only complete frames count.
     * One more: GOAWAY(ENHANCE_YOUR_CALM), H2_LIMIT_CONTINUATION_FRAMES. */
    uint32_t max_continuation_frames;
    /* How far back closed streams are remembered: the most recent this many
     * stream ids of each parity (rounded up to a power of two; 2 bits per
     * id, allocated as needed). Older ids count as closed implicitly. 65536. */
    uint32_t max_closed_streams;
    size_t encoder_table_cap; /* our HPACK encoder table never exceeds this: 4096 */
    /*
     * Output high-water mark in bytes (default 64 KiB). While more than this
     * is queued, the sending calls that add new work (headers, data, ping,
     * settings) fail with H2_ENOBUFS; resets and GOAWAY are always queued.
     * Automatic replies to the peer (PING and SETTINGS ACKs, RST_STREAM) may
     * add up to this much between two moments the output is empty; past
     * that the peer is flooding us and the connection ends with
     * ENHANCE_YOUR_CALM.
     */
    size_t output_high_water;

    /*
     * Client: pushed streams that may wait for their response at once
     * (promised, response not received yet). A PUSH_PROMISE past this is
     * refused with RST_STREAM(REFUSED_STREAM) on the promised stream.
     * Default 100; 0 also selects 100.
     */
    uint32_t max_reserved_streams;

    /*
     * Clients: the peer's MAX_CONCURRENT_STREAMS assumed until its first
     * SETTINGS frame says otherwise (RFC 9113 has no limit until then, as
     * h2; a server that advertises 100 would refuse the streams past it).
     * Default 100; 0: no limit, as h2. Servers ignore it.
     */
    uint32_t assumed_peer_max_concurrent_streams;

    /*
     * Header blocks we send: their header list size (RFC 9113 6.5.2, name +
     * value + 32 per field) at most this, whatever the peer allows; a larger
     * block is refused with H2_EHEADER_LIST_SIZE and nothing is sent.
     * Default 65536; 0: no cap of our own (the peer's MAX_HEADER_LIST_SIZE
     * still applies).
     */
    uint32_t max_send_header_list_size;

    /*
     * Abuse limits (docs/SECURITY.md lists each one with its reaction).
     * Rate limiters are token buckets refilled from the clock given to
     * h2_conn_set_time(); without a clock they are plain budgets of |burst|
     * events per connection.
     */
    /* Glitches: frames and stream errors the peer can provoke cheaply
     * (PRIORITY, unknown or ignored frames, empty DATA without END_STREAM,
     * empty CONTINUATION, invalid requests, stream-level flow-control errors,
     * frames on streams we reset...). Burst 10000 (0: no glitch limit),
     * refill 330 per second (0: no refill). Exhausted: GOAWAY(ENHANCE_YOUR_CALM). */
    uint32_t glitch_burst;
    uint32_t glitch_rate;
    /* RST_STREAM frames received: burst 1000 (0: no limit), refill 33 per
     * second (0: no refill). Exhausted: GOAWAY(ENHANCE_YOUR_CALM). */
    uint32_t reset_burst;
    uint32_t reset_rate;
    /* Automatic replies (PING and SETTINGS ACKs, RST_STREAM) queued since the
     * output was last empty: 1000 frames (0: the default); their bytes are
     * bounded by |output_high_water|. Past either: GOAWAY(ENHANCE_YOUR_CALM). */
    uint32_t max_queued_replies;
    /* Entries in one received SETTINGS frame: 32 (0: the default). More:
     * GOAWAY(ENHANCE_YOUR_CALM), checked on the frame header. */
    uint32_t max_settings_entries;
    /* Encoded bytes of one received header block (HEADERS or PUSH_PROMISE and
     * its CONTINUATIONs). 0 (default): 2 * max(max_header_list_size, 16384)
     * + max_frame_size. More: GOAWAY(ENHANCE_YOUR_CALM). */
    size_t max_header_block_size;
    /* Fields in one received header block. Soft limit 100 (0: the default):
     * past it the stream is reset (RST_STREAM(ENHANCE_YOUR_CALM) and a glitch;
     * a PUSH_PROMISE's promised stream is refused). Hard limit 1000 (0: the
     * default): past it the connection ends with GOAWAY(COMPRESSION_ERROR)
     * and decoding stops. UINT32_MAX turns either off. */
    uint32_t max_header_fields;
    uint32_t max_header_fields_hard;
    /* Longest single decoded name or value. 0 (default): the same as
     * max_header_list_size. Longer: as a header list over
     * max_header_list_size, GOAWAY(ENHANCE_YOUR_CALM). */
    uint32_t max_header_field_size;
    /*
     * Servers: requests the application handles at once (default 0: our
     * MAX_CONCURRENT_STREAMS in force, which follows acknowledged changes).
     * A request holds a slot from its RequestReceived event until its
     * stream closes normally (both sides ended), is reset by the application
     * (h2_conn_reset_stream()), or until h2_conn_request_done(). A request whose stream is reset
     * (by the peer, or by us because of the peer) keeps its slot until the
     * end of the next h2_conn_receive() call after the one that saw the reset,
     * so that resets cannot make room for new requests faster than the
     * application sees them (Rapid Reset, MadeYouReset). With
     * |explicit_request_done| every request keeps its slot until the
     * application calls h2_conn_request_done(), whatever happens to the
     * stream. A new request while every slot is taken is refused with
     * RST_STREAM(REFUSED_STREAM), counted and charged as a glitch.
     */
    uint32_t max_active_requests;
    bool explicit_request_done;
    /* Servers, for applications that handle requests asynchronously: a
     * request whose stream is reset during a receive call (by the peer, or
     * by us because of the peer) keeps its slot until
     * h2_conn_request_done(), instead of until the end of the next receive
     * call; normal completion and the application's own resets still free
     * it at once. Default false. The connection service (h2/service.h)
     * turns it on and frees the slot when the application releases the
     * STREAM_RESET event. */
    bool hold_reset_requests;
    /* Servers: requests accepted on the connection before it is rotated
     * with a graceful GOAWAY(NO_ERROR) whose last stream id is the last
     * request accepted. Default 0: no limit. */
    uint32_t max_requests_per_connection;

    /* Allocator hook; NULL means libc. Must outlive the connection. */
    const h2_mem *mem;

    /*
     * Frame trace hook (h2_trace_fn), like h2's config.logger but
     * structured: NULL (default) for none, which costs one predictable
     * branch per frame. |trace_user| is passed to it as is and must stay
     * valid as long as the connection.
     */
    h2_trace_fn trace;
    void *trace_user;
} h2_conn_config;

/* Smallest |size| of an h2_conn_config the library accepts: up to |role|. */
#define H2_CONN_CONFIG_MIN_SIZE (offsetof(h2_conn_config, role) + sizeof(h2_role))

/*
 * @function Fills the first |size| bytes of |cfg| (at most the library's
 * sizeof(h2_conn_config)) with the defaults for |role| and sets
 * |cfg->size| to |size|; nothing when |cfg| is NULL or |size| cannot hold
 * |size|. Call it through h2_conn_config_init(), which passes the size the
 * application was compiled with.
 */
H2_API void h2_conn_config_init_size(h2_conn_config *cfg, size_t size, h2_role role);

/* @function Fills |cfg| with the defaults for |role| (values listed above)
 * and sets |cfg->size| to sizeof(h2_conn_config) as the caller sees it. */
static inline void h2_conn_config_init(h2_conn_config *cfg, h2_role role)
{
    h2_conn_config_init_size(cfg, sizeof(*cfg), role);
}

typedef struct h2_conn h2_conn;

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_CONFIG_H */
