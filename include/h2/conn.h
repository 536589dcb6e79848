/*
 * libh2 connection core: one HTTP/2 connection as a sans-IO state machine.
 *
 * Bytes received from the peer go in through h2_conn_receive(), which
 * returns events. API calls (send headers, send data, reset, ping, settings
 * ...) queue frames; the caller takes the queued bytes with
 * h2_conn_data_to_send(), h2_conn_output_view() or h2_conn_output_iov(),
 * then h2_conn_output_consume(), and writes them to its transport. No
 * threads, sockets or clocks.
 *
 * A connection is not thread-safe: use it from one thread at a time.
 *
 * Return values follow include/h2/errors.h: 0 on success; a code in
 * [-1, -99] means the call was refused and changed nothing; H2_EPROTO means
 * the peer broke the protocol (the GOAWAY is queued, flush and close);
 * H2_ENOMEM is fatal for the connection (free it).
 */
#ifndef H2_CONN_H
#define H2_CONN_H

#include <sys/uio.h>
#include "h2/common.h"
#include "h2/errors.h"
#include "h2/hpack.h"

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

/*
 * @struct
 *
 * Connection configuration. Always fill it with h2_conn_config_init() first,
 * then change fields; h2_conn_new() copies it.
 */
typedef struct h2_conn_config {
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
} h2_conn_config;

/* @function Fills |cfg| with the defaults for |role| (values listed above). */
H2_API void h2_conn_config_init(h2_conn_config *cfg, h2_role role);

typedef struct h2_conn h2_conn;

/*
 * @function
 *
 * Creates a connection from |cfg| (copied). Allocates only the connection
 * object; tables and buffers are allocated on first use. Stores it in
 * |*out|.
 *
 * Returns 0, H2_EINVAL (|out| or |cfg| NULL, or a setting value outside its
 * RFC 9113 range) or H2_ENOMEM.
 */
H2_API int h2_conn_new(h2_conn **out, const h2_conn_config *cfg);

/*
 * @function
 *
 * Frees |conn| and everything it holds; payloads still queued by reference
 * are released first (h2_data_release_fn). NULL is allowed.
 */
H2_API void h2_conn_free(h2_conn *conn);

/*
 * @function
 *
 * Queues the connection preface: for a client the 24-byte magic string and
 * then a SETTINGS frame; for a server the SETTINGS frame. The SETTINGS frame
 * lists, in this order, HEADER_TABLE_SIZE, ENABLE_PUSH, INITIAL_WINDOW_SIZE,
 * MAX_FRAME_SIZE, ENABLE_CONNECT_PROTOCOL, MAX_CONCURRENT_STREAMS and
 * MAX_HEADER_LIST_SIZE from the configuration. Must be called once, before
 * any other sending call and before h2_conn_receive().
 *
 * Returns 0, H2_ESTATE (already called) or H2_ENOMEM (nothing queued).
 */
H2_API int h2_conn_initiate(h2_conn *conn);

/*
 * @function
 *
 * The next stream id this endpoint may open: 1 (client) or 2 (server) when
 * none was opened yet, else the highest id we opened plus 2. Does not
 * reserve it. Returns the id, or H2_ENOSTREAMID when ids are used up.
 */
H2_API int64_t h2_conn_next_stream_id(const h2_conn *conn);

/* @enum Flags of the sending calls. */
enum {
    H2_SEND_END_STREAM = 1u << 0, /* set END_STREAM: nothing more is sent on the stream */
};

/*
 * @struct
 *
 * RFC 7540 priority fields for h2_conn_send_headers() (clients only).
 * |weight| is 1..256 (0 means the default, 16).
 */
typedef struct h2_priority_args {
    uint16_t weight;
    uint32_t depends_on;
    bool exclusive;
} h2_priority_args;

/*
 * @function
 *
 * Sends a header block on |stream_id|: a request (client, new stream), a
 * response or 1xx (server), or trailers (either side, must carry
 * H2_SEND_END_STREAM). The block is split into HEADERS and CONTINUATION
 * frames no larger than the peer's MAX_FRAME_SIZE. Fields flagged
 * H2_HEADER_NEVER_INDEX are sent as never-indexed literals. |fields| is
 * not referenced after the call. |prio| may be NULL.
 *
 * The call either queues the whole block or changes nothing (no stream is
 * opened, the HPACK context is untouched).
 *
 * Returns 0 or:
 *  - H2_EINVAL: |fields| NULL with |n| > 0, bad flags, 1xx with END_STREAM,
 *    trailers without END_STREAM, bad priority weight or self-dependency;
 *  - H2_ECLOSED: the connection has ended, or a new stream was asked for
 *    after a GOAWAY was sent or received;
 *  - H2_ESTATE: not initiated, or the stream cannot send this block now
 *    (half-closed local; a 1xx from a client or after the final response);
 *  - H2_ESTREAM_CLOSED: the stream is closed;
 *  - H2_ESTREAM_ID: a new id with our parity not above the highest we used,
 *    or an id of the peer's parity that the peer never opened;
 *  - H2_EROLE: a server opening a stream, or priority fields from a server;
 *  - H2_ETOO_MANY_STREAMS: the peer's MAX_CONCURRENT_STREAMS is reached;
 *  - H2_EHEADER: the block breaks a header rule (RFC 9113 8.2, 8.3);
 *  - H2_EHEADER_LIST_SIZE: the block is larger than the peer's
 *    MAX_HEADER_LIST_SIZE or our |max_send_header_list_size|;
 *  - H2_ENOBUFS: the output is over its high-water mark;
 *  - H2_ENOMEM.
 */
H2_API int h2_conn_send_headers(h2_conn *conn, uint32_t stream_id, const h2_header *fields,
                                size_t n, uint32_t flags, const h2_priority_args *prio);

/*
 * @function
 *
 * Sends exactly one DATA frame with |len| bytes of |data| (copied into the
 * output; h2_conn_send_data_ref() queues them by reference). |pad_len| is
 * -1 for no padding, or 0..255 to set PADDED and add that many zero bytes.
 * Both send windows drop by the flow-controlled size (len, plus pad_len + 1
 * when padded).
 *
 * Returns 0 or:
 *  - H2_EINVAL: |data| NULL with |len| > 0, bad flags or |pad_len|;
 *  - H2_ECLOSED, H2_ESTATE (not initiated, no headers sent on the stream
 *    yet, or the stream is half-closed local), H2_ESTREAM_CLOSED,
 *    H2_ENOSTREAM (never opened);
 *  - H2_EFLOW_CONTROL: a non-empty frame larger than the smaller of the
 *    two send windows (h2_conn_local_window());
 *  - H2_EFRAME_SIZE: larger than h2_conn_max_outbound_frame_size();
 *  - H2_ENOBUFS, H2_ENOMEM.
 */
H2_API int h2_conn_send_data(h2_conn *conn, uint32_t stream_id, const uint8_t *data, size_t len,
                             uint32_t flags, int pad_len);

/*
 * @function
 *
 * Called by the connection once it no longer needs a payload given to
 * h2_conn_send_data_ref(), with the |user|, |data| and |len| of that call.
 * It must not call any function on the connection.
 */
typedef void (*h2_data_release_fn)(void *user, const uint8_t *data, size_t len);

/*
 * @function
 *
 * As h2_conn_send_data() (the same checks, errors and effects on the
 * windows), but the payload is queued by reference, not copied: the
 * output holds a pointer to |data| and the bytes are read from there when
 * the caller takes the output (h2_conn_output_iov() hands them to writev
 * directly). Payloads shorter than 256 bytes are copied as by
 * h2_conn_send_data(), which is cheaper than a reference.
 *
 * Ownership: when the call returns 0, the caller must keep the |len| bytes
 * at |data| valid and unchanged until |release| is called, or, when
 * |release| is NULL, until the frame's bytes have left the output (consumed
 * with h2_conn_output_consume() or h2_conn_data_to_send(), or thrown away
 * by h2_conn_clear_output() or h2_conn_free()). |release| (may be NULL) is
 * called exactly once: before this call returns when the payload was copied
 * (or |len| is 0), else from the call that consumes the last byte of the
 * payload, from h2_conn_clear_output(), or from h2_conn_free(). When the
 * call fails, nothing was queued, |release| is not called and the caller
 * keeps the memory.
 */
H2_API int h2_conn_send_data_ref(h2_conn *conn, uint32_t stream_id, const uint8_t *data, size_t len,
                                 uint32_t flags, int pad_len, h2_data_release_fn release,
                                 void *user);

/*
 * @function
 *
 * Ends our side of the stream with an empty DATA frame carrying END_STREAM
 * (not flow controlled). Returns 0, H2_ECLOSED, H2_ESTATE, H2_ESTREAM_CLOSED,
 * H2_ENOSTREAM, H2_ENOBUFS or H2_ENOMEM, as h2_conn_send_data().
 */
H2_API int h2_conn_end_stream(h2_conn *conn, uint32_t stream_id);

/*
 * @function
 *
 * Resets the stream with RST_STREAM(|error_code|); the stream is closed and
 * frames the peer still sends on it are ignored. Returns 0, H2_ECLOSED,
 * H2_ESTATE (not initiated), H2_ESTREAM_CLOSED, H2_ENOSTREAM or H2_ENOMEM.
 */
H2_API int h2_conn_reset_stream(h2_conn *conn, uint32_t stream_id, uint32_t error_code);

/*
 * @function
 *
 * Sends GOAWAY(|error_code|, |last_stream_id|, |debug| of |debug_len| bytes,
 * copied). |last_stream_id| -1 means the highest stream id the peer opened.
 * The shutdown is graceful: streams at or below the last id may finish,
 * streams the peer opens above it are refused, and no new stream may be
 * opened by us. May be called again (e.g. with a lower last id).
 *
 * Returns 0, H2_EINVAL (|debug| NULL with a length, |debug_len| above the
 * peer's MAX_FRAME_SIZE - 8, last id out of range),
 * H2_ESTATE (not initiated), H2_ECLOSED (the connection already ended on a
 * protocol error) or H2_ENOMEM.
 */
H2_API int h2_conn_close(h2_conn *conn, uint32_t error_code, const uint8_t *debug, size_t debug_len,
                         int64_t last_stream_id);

/*
 * @function
 *
 * Queues a SETTINGS frame with the |n| given parameters, in order. They take
 * effect locally when the peer acknowledges that frame
 * (H2_EV_SETTINGS_ACKNOWLEDGED). Every value is validated before anything
 * is queued.
 *
 * Returns 0, H2_EINVAL (|entries| NULL with |n| > 0, or n > 64), H2_ESETTINGS
 * (a value outside its range), H2_ECLOSED, H2_ESTATE, H2_EAGAIN (16 SETTINGS
 * frames already await an ACK), H2_ENOBUFS or H2_ENOMEM.
 */
H2_API int h2_conn_update_settings(h2_conn *conn, const h2_setting *entries, size_t n);

/*
 * @function
 *
 * Sends a PING with the 8 bytes at |opaque|. The peer's ACK comes back as
 * H2_EV_PING_ACK_RECEIVED. Returns 0, H2_EINVAL, H2_ECLOSED, H2_ESTATE,
 * H2_ENOBUFS or H2_ENOMEM.
 */
H2_API int h2_conn_ping(h2_conn *conn, const uint8_t opaque[8]);

/*
 * @function
 *
 * Opens our receive window of |stream_id| (0: the connection) by
 * |increment| (1..2^31-1) with a WINDOW_UPDATE.
 *
 * Returns 0, H2_EINVAL (increment out of range), H2_EFLOW_CONTROL (the
 * window would pass 2^31-1), H2_ECLOSED, H2_ESTATE, H2_ESTREAM_CLOSED,
 * H2_ENOSTREAM or H2_ENOMEM.
 */
H2_API int h2_conn_increment_window(h2_conn *conn, uint32_t stream_id, uint32_t increment);

/*
 * @function
 *
 * Automatic flow control: tells the connection that the application has
 * processed |n| bytes of flow-controlled data (DataReceived's
 * flow_controlled_length) on |stream_id| (> 0). When enough was processed,
 * WINDOW_UPDATE frames are queued, the connection's first then the
 * stream's: when the processed amount reaches half the window's maximum, or
 * when the window is exhausted and more than min(1024, max/4) was
 * processed. A closed stream credits only the connection.
 *
 * Returns 0, H2_EINVAL (|stream_id| 0), H2_ENOSTREAM (never opened; nothing
 * changes), H2_ECLOSED, H2_ESTATE or H2_ENOMEM.
 */
H2_API int h2_conn_ack_data(h2_conn *conn, uint32_t stream_id, size_t n);

/*
 * @function
 *
 * How many flow-controlled bytes we may send now on |stream_id|: the smaller
 * of the connection and stream send windows (may be negative after the peer
 * lowered INITIAL_WINDOW_SIZE). |stream_id| 0 gives the connection window.
 * Stores it in |*window|.
 *
 * Returns 0, H2_ESTREAM_CLOSED or H2_ENOSTREAM.
 */
H2_API int h2_conn_local_window(const h2_conn *conn, uint32_t stream_id, int32_t *window);

/*
 * @function
 *
 * How many flow-controlled bytes the peer may still send us on |stream_id|:
 * the smaller of our connection and stream receive windows (0: the
 * connection window). Returns 0, H2_ESTREAM_CLOSED or H2_ENOSTREAM.
 */
H2_API int h2_conn_remote_window(const h2_conn *conn, uint32_t stream_id, int32_t *window);

/* @function Largest frame payload we may send (the peer's MAX_FRAME_SIZE). */
H2_API uint32_t h2_conn_max_outbound_frame_size(const h2_conn *conn);

/* @function Streams opened by the peer that are open or half-closed. */
H2_API size_t h2_conn_open_inbound_streams(const h2_conn *conn);

/* @function Streams opened by us that are open or half-closed. */
H2_API size_t h2_conn_open_outbound_streams(const h2_conn *conn);

/*
 * @function True while a received header block (HEADERS or PUSH_PROMISE)
 * waits for its CONTINUATION frames. An application that enforces a
 * header-completion deadline starts its clock when this turns true and
 * does not restart it for later frames of the same block.
 */
H2_API bool h2_conn_header_block_pending(const h2_conn *conn);

/*
 * @function Number of SETTINGS frames we sent that the peer has not
 * acknowledged yet (the initial SETTINGS included, once queued). For a
 * SETTINGS-ACK timeout.
 */
H2_API size_t h2_conn_settings_unacked(const h2_conn *conn);

/*
 * @function
 *
 * A setting's value: the peer's (|remote| true; H2_SETTING_UNSET when the
 * peer never sent MAX_CONCURRENT_STREAMS or MAX_HEADER_LIST_SIZE) or our
 * own acknowledged one. Unknown ids give H2_SETTING_UNSET.
 */
H2_API uint32_t h2_conn_setting(const h2_conn *conn, bool remote, uint16_t id);

/* ------------------------------------------------------------------------ */
/* Push, priority, ALTSVC, h2c upgrade                                       */
/* ------------------------------------------------------------------------ */

/*
 * @function
 *
 * Server push: sends a PUSH_PROMISE on |parent_id| promising stream
 * |promised_id| for the request |fields| (a complete request block, GET or
 * HEAD; normalised and validated like any request). The block is split
 * into PUSH_PROMISE and CONTINUATION frames no larger than the peer's
 * MAX_FRAME_SIZE. The promised stream is then reserved: send its response
 * with h2_conn_send_headers(), then its body with h2_conn_send_data(); the
 * peer never sends on it. It counts as an open outbound stream from now
 * on. |fields| is not referenced after the call. Checks, in this order:
 *
 * Returns 0 or:
 *  - H2_EINVAL: |fields| NULL with |n| > 0;
 *  - H2_ESTATE: not initiated, or the parent cannot carry a promise (it is
 *    a pushed stream, or we already ended our side of it);
 *  - H2_ECLOSED: the connection has ended, or a GOAWAY was sent or
 *    received;
 *  - H2_EROLE: called on a client;
 *  - H2_EPUSH_DISABLED: the peer's ENABLE_PUSH is 0;
 *  - H2_ESTREAM_CLOSED, H2_ENOSTREAM: the parent is closed / never opened;
 *  - H2_ESTREAM_ID: |promised_id| is not even, or not above every stream
 *    id we used;
 *  - H2_EHEADER: the block is not a valid request, or its method is
 *    neither GET nor HEAD (RFC 9113 8.4: promised requests are safe and
 *    cacheable);
 *  - H2_EHEADER_LIST_SIZE, H2_ENOBUFS, H2_ENOMEM as h2_conn_send_headers().
 * A refused call changes nothing (the promised id stays free).
 */
H2_API int h2_conn_push_stream(h2_conn *conn, uint32_t parent_id, uint32_t promised_id,
                               const h2_header *fields, size_t n);

/*
 * @function
 *
 * Sends an RFC 7540 PRIORITY frame for |stream_id| (any stream, opened or
 * not). |prio| NULL means the defaults: weight 16, no dependency, not
 * exclusive; a weight of 0 also means 16. Clients only.
 *
 * Returns 0 or, checked in this order: H2_ESTATE (not initiated),
 * H2_ECLOSED, H2_EROLE (a server), H2_EINVAL (|stream_id| 0 or above
 * 2^31-1, weight above 256, |depends_on| above 2^31-1 or equal to
 * |stream_id|), H2_ENOBUFS or H2_ENOMEM.
 */
H2_API int h2_conn_prioritize(h2_conn *conn, uint32_t stream_id, const h2_priority_args *prio);

/*
 * @function
 *
 * Sends an RFC 9218 PRIORITY_UPDATE frame for |stream_id| (open, or not
 * opened yet) carrying the Priority field value |value| of |len| bytes
 * (copied; see h2_priority_format()). Clients only (RFC 9218 section 7.1).
 *
 * Returns 0 or H2_EINVAL (|value| NULL with a length, |stream_id| 0 or
 * above 2^31-1), H2_EFRAME_SIZE (|len| + 4 above the peer's
 * MAX_FRAME_SIZE), H2_EROLE (a server), H2_ESTATE, H2_ECLOSED, H2_ENOBUFS or
 * H2_ENOMEM.
 */
H2_API int h2_conn_send_priority_update(h2_conn *conn, uint32_t stream_id, const uint8_t *value,
                                        size_t len);

/*
 * @function
 *
 * Sends an RFC 7838 ALTSVC frame (servers only). With |stream_id| 0 the
 * frame names its |origin| (non-empty, e.g. "https://example.com");
 * with a stream id the origin is the one of that stream's request and
 * |origin_len| must be 0, and the stream must be open (or pushed) with no
 * response headers sent on it yet. |field_value| is an Alt-Svc field
 * value, passed as is. Both are copied.
 *
 * Returns 0 or H2_EINVAL (a pointer NULL with a length, an empty origin on
 * stream 0, an origin on a stream, |origin_len| above 65535), H2_EFRAME_SIZE
 * (the payload is larger than the peer's MAX_FRAME_SIZE), H2_EROLE (a
 * client), H2_ESTATE (not initiated, or response headers already sent on
 * the stream), H2_ECLOSED, H2_ESTREAM_CLOSED, H2_ENOSTREAM, H2_ENOBUFS or
 * H2_ENOMEM.
 */
H2_API int h2_conn_advertise_alternative_service(h2_conn *conn, uint32_t stream_id,
                                                 const uint8_t *origin, size_t origin_len,
                                                 const uint8_t *field_value,
                                                 size_t field_value_len);

/*
 * @function
 *
 * Client side of an h2c upgrade (RFC 7540 section 3.2, an HTTP/1.1 request
 * with "Upgrade: h2c" already sent on the same transport): does what
 * h2_conn_initiate() does (preface and SETTINGS queued), writes the value
 * of the HTTP2-Settings header, the base64url text (no padding) of that
 * SETTINGS frame's payload, to |out| (|cap| bytes; 57 holds the 7
 * settings h2_conn_initiate() sends) with a terminating NUL, and stores its length
 * without the NUL in |*out_len|. Stream 1 (the upgraded request) is open
 * and half-closed on our side: its response arrives as ResponseReceived,
 * and nothing can be sent on it; the next stream id is 3. Call it instead
 * of h2_conn_initiate().
 *
 * Returns 0, H2_EINVAL (a NULL pointer, a server connection), H2_ENOBUFS
 * (|cap| too small; nothing changed), H2_ESTATE (already initiated) or
 * H2_ENOMEM.
 */
H2_API int h2_conn_initiate_upgrade_client(h2_conn *conn, char *out, size_t cap, size_t *out_len);

/*
 * @function
 *
 * Server side of an h2c upgrade: |settings| (|len| bytes, may be empty) is
 * the HTTP2-Settings header value of the upgraded request. It is decoded
 * and validated and applied as the client's settings at once (no ACK, no
 * event). Then does what h2_conn_initiate() does (our SETTINGS queued; the
 * client preface is still expected in the input) and opens stream 1 as a
 * request received with END_STREAM (no RequestReceived: the request came
 * over HTTP/1.1). Respond on stream 1 with h2_conn_send_headers(). Call it
 * instead of h2_conn_initiate().
 *
 * Returns 0, H2_EINVAL (a NULL pointer with a length, a client connection,
 * a value that is not base64url of whole 6-byte entries, more entries
 * than max_settings_entries (32 by default) or 64), H2_ESETTINGS (a value
 * out of range), H2_ESTATE (already initiated) or H2_ENOMEM. Nothing
 * changes on failure.
 */
H2_API int h2_conn_initiate_upgrade_server(h2_conn *conn, const char *settings, size_t len);

/*
 * @function
 *
 * Encodes |n| settings as an HTTP2-Settings header value: base64url
 * without padding of the 6-byte entries. Writes it with a NUL to |out|
 * (|cap| bytes) and its length to |*out_len|. Returns 0, H2_EINVAL (a NULL
 * pointer) or H2_ENOBUFS (|cap| below 8 * n + 1: each entry is exactly 8
 * characters).
 */
H2_API int h2_settings_header_encode(const h2_setting *entries, size_t n, char *out, size_t cap,
                                     size_t *out_len);

/*
 * @function
 *
 * Decodes an HTTP2-Settings header value (base64url without padding, 8
 * characters per entry) into at most |cap| entries at |out|, in order, and
 * stores their number in |*n|. Values are not range-checked. Returns 0,
 * H2_EINVAL (a NULL pointer with a length, a character outside the
 * alphabet, '=' padding, a length that is not whole entries) or
 * H2_ENOBUFS (more than |cap| entries).
 */
H2_API int h2_settings_header_decode(const char *in, size_t len, h2_setting *out, size_t cap,
                                     size_t *n);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

/* @enum Event types (h2's event classes). */
typedef enum h2_event_type {
    H2_EV_REQUEST_RECEIVED = 1,
    H2_EV_RESPONSE_RECEIVED,
    H2_EV_TRAILERS_RECEIVED,
    H2_EV_INFORMATIONAL_RESPONSE_RECEIVED,
    H2_EV_DATA_RECEIVED,
    H2_EV_WINDOW_UPDATED,
    H2_EV_REMOTE_SETTINGS_CHANGED,
    H2_EV_SETTINGS_ACKNOWLEDGED,
    H2_EV_PING_RECEIVED,
    H2_EV_PING_ACK_RECEIVED,
    H2_EV_STREAM_ENDED,
    H2_EV_STREAM_RESET,
    H2_EV_PRIORITY_UPDATED,
    H2_EV_CONNECTION_TERMINATED,
    H2_EV_UNKNOWN_FRAME_RECEIVED,
    H2_EV_PUSHED_STREAM_RECEIVED,
    H2_EV_ALTERNATIVE_SERVICE_AVAILABLE,
    H2_EV_PRIORITY_UPDATE_RECEIVED, /* RFC 9218 PRIORITY_UPDATE (servers only) */
    H2_EV_LIMIT_EXCEEDED,           /* an abuse limit tripped (see h2_limit) */
} h2_event_type;

/* @struct One setting that changed: |original| is meaningful only when |had_original|. */
typedef struct h2_changed_setting {
    uint16_t id;
    bool had_original;
    uint32_t original;
    uint32_t new_value;
} h2_changed_setting;

/*
 * @struct
 *
 * One event. |stream_id| is 0 for connection-level events. Pointers inside
 * stay valid until the next h2_conn_receive(), h2_conn_release_events() or
 * h2_conn_free() on the connection; DATA, ALTSVC, PRIORITY_UPDATE and
 * unknown-frame payloads and GOAWAY debug data may point into the |in|
 * buffer given to h2_conn_receive(), so they also live no longer than that
 * buffer.
 *
 * Links ("related events"): |stream_ended| and |priority_updated| hold the
 * index, in the same events array, of the H2_EV_STREAM_ENDED or
 * H2_EV_PRIORITY_UPDATED event the same frame produced, or -1. Linked
 * events also appear in the array on their own, right after the event that
 * links them.
 */
typedef struct h2_event {
    int type; /* h2_event_type */
    uint32_t stream_id;
    union {
        /* REQUEST/RESPONSE/TRAILERS/INFORMATIONAL_RESPONSE_RECEIVED */
        struct {
            const h2_header *fields;
            size_t n;
            int32_t stream_ended;     /* index or -1 (always -1 for 1xx) */
            int32_t priority_updated; /* index or -1 */
        } headers;
        /* DATA_RECEIVED: |data| without padding */
        struct {
            const uint8_t *data;
            size_t len;
            size_t flow_controlled_length; /* len, plus padding and pad length byte */
            int32_t stream_ended;          /* index or -1 */
        } data;
        /* WINDOW_UPDATED */
        uint32_t window_delta;
        /* REMOTE_SETTINGS_CHANGED, SETTINGS_ACKNOWLEDGED: one entry per id,
         * in first-seen order; SETTINGS_ACKNOWLEDGED lists what took effect */
        struct {
            const h2_changed_setting *changed;
            size_t n;
        } settings;
        /* PING_RECEIVED, PING_ACK_RECEIVED */
        uint8_t ping[8];
        /* STREAM_RESET: |remote_reset| false when we reset the stream
         * ourselves because of something the peer did */
        struct {
            uint32_t error_code;
            bool remote_reset;
        } reset;
        /* PRIORITY_UPDATED */
        struct {
            uint32_t depends_on;
            uint16_t weight; /* 1..256 */
            bool exclusive;
        } priority;
        /* CONNECTION_TERMINATED (a GOAWAY): |debug| NULL when empty */
        struct {
            uint32_t error_code;
            uint32_t last_stream_id;
            const uint8_t *debug;
            size_t debug_len;
        } terminated;
        /* PUSHED_STREAM_RECEIVED: |stream_id| is the promised stream,
         * |fields| the promised request */
        struct {
            const h2_header *fields;
            size_t n;
            uint32_t parent_stream_id;
        } push;
        /* ALTERNATIVE_SERVICE_AVAILABLE: on stream 0 |origin| is the
         * frame's (never empty); on a stream |origin| is NULL and the
         * alternative applies to the origin of that stream's request.
         * |field_value| is the Alt-Svc value, unparsed (may be empty). */
        struct {
            const uint8_t *origin;
            size_t origin_len;
            const uint8_t *field_value;
            size_t field_value_len;
        } altsvc;
        /* PRIORITY_UPDATE_RECEIVED: |stream_id| is the prioritized stream
         * (possibly not opened yet); |field_value| the raw Priority field
         * value (NULL when empty), |urgency| and |incremental| its parse
         * by h2_priority_parse() (defaults when malformed) */
        struct {
            const uint8_t *field_value;
            size_t field_value_len;
            uint8_t urgency;
            bool incremental;
        } priority_update;
        /* LIMIT_EXCEEDED: |limit| is an h2_limit; |stream_id| (of the
         * event) the stream concerned or 0; |error_code| the code of the
         * GOAWAY (|connection| true) or RST_STREAM (false) sent for it. A
         * connection-level trip (connection true, error_code not NO_ERROR)
         * ends the connection: h2_conn_receive() returns H2_EPROTO. */
        struct {
            int limit;
            uint32_t error_code;
            bool connection;
        } limit;
        /* UNKNOWN_FRAME_RECEIVED: the raw frame */
        struct {
            uint8_t frame_type;
            uint8_t flags;
            const uint8_t *payload;
            size_t len;
        } unknown;
    } u;
} h2_event;

/*
 * @function
 *
 * Feeds |len| bytes received from the peer. Complete frames are processed
 * at once; a partial frame is kept (copied once) until the rest arrives.
 * Automatic replies (SETTINGS and PING ACKs, RST_STREAM, GOAWAY) are queued.
 * Stores in |*events| an array of |*n_events| events, owned by the
 * connection and valid until the next h2_conn_receive(),
 * h2_conn_release_events() or h2_conn_free(). The memory behind events is
 * reused from call to call; what a call took beyond a small retained size
 * (128 events; 4 KiB each of decoded header fields and other per-call
 * data) is given back to the allocator when the events are released (at
 * the latest by the next h2_conn_receive()), so a burst of requests does
 * not keep memory.
 *
 * Returns 0 or:
 *  - H2_EPROTO: the peer broke the protocol, or an abuse limit ended the
 *    connection (then the last event is H2_EV_LIMIT_EXCEEDED naming it). A
 *    GOAWAY is queued (h2_conn_last_error() tells which rule); |*events|
 *    still holds the events of the frames before the bad one. Flush the
 *    output and close.
 *  - H2_ECLOSED: the connection already ended on a protocol error; nothing
 *    is processed and nothing more is queued.
 *  - H2_ESTATE: h2_conn_initiate() was not called.
 *  - H2_EINVAL: |in| NULL with |len| > 0, or an output pointer NULL.
 *  - H2_ENOMEM: fatal; free the connection.
 */
H2_API int h2_conn_receive(h2_conn *conn, const uint8_t *in, size_t len, const h2_event **events,
                           size_t *n_events);

/*
 * @function
 *
 * Ends the validity of the events of the last h2_conn_receive() early: the
 * events array and everything its events point to that the connection
 * owns (header fields, settings lists) must not be used after this call.
 * Frees the per-call memory a large receive took beyond the retained size
 * (see h2_conn_receive()).
 * Call it once the events were handled or copied; it is optional (the next
 * h2_conn_receive() does the same) but keeps an idle connection small
 * after a burst. Calling it again, or before any receive, does nothing.
 * NULL is allowed.
 */
H2_API void h2_conn_release_events(h2_conn *conn);

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The output is a queue of segments, in order: runs of bytes in the
 * connection's own buffer (frame headers, control frames, header blocks,
 * copied DATA) and payloads queued by reference with
 * h2_conn_send_data_ref(). The three ways of reading it below see the same
 * bytes; h2_conn_output_consume() removes bytes from the front whichever
 * was used. Steady-state queuing does not allocate (the buffer and the
 * segment records are reused).
 */

/*
 * @function
 *
 * Copies up to |cap| queued bytes to |out| (gathering the segments) and
 * removes them from the queue. Returns the number of bytes copied.
 */
H2_API size_t h2_conn_data_to_send(h2_conn *conn, uint8_t *out, size_t cap);

/*
 * @function
 *
 * Zero-copy access to the first contiguous segment of the queue: sets
 * |*data| and |*len| to it (NULL and 0 when nothing is queued). More may
 * be queued after it (h2_conn_output_pending()). The view stays valid until
 * the next call that queues or removes output. Pair with
 * h2_conn_output_consume().
 */
H2_API void h2_conn_output_view(const h2_conn *conn, const uint8_t **data, size_t *len);

/*
 * @function
 *
 * Zero-copy access for writev(): fills |iov|[0 .. max-1] with the first
 * segments of the queue, in order, and returns how many it filled (0 when
 * nothing is queued or |max| <= 0). Fewer than all the queued bytes are
 * described when |max| is too small. The iovecs point into the
 * connection's buffer and into referenced payloads; they stay valid until
 * the next call that queues or removes output; the bytes must not be
 * written to. After writing, pass the number of bytes written to
 * h2_conn_output_consume(). Returns H2_EINVAL when |conn| is NULL, or
 * |iov| is NULL with |max| > 0.
 */
H2_API int h2_conn_output_iov(const h2_conn *conn, struct iovec *iov, int max);

/*
 * @function
 *
 * Removes the first |n| queued bytes (at most all of them); a referenced
 * payload whose last byte is removed is released (h2_data_release_fn).
 */
H2_API void h2_conn_output_consume(h2_conn *conn, size_t n);

/* @function Throws away every queued byte, releasing referenced payloads. */
H2_API void h2_conn_clear_output(h2_conn *conn);

/*
 * @function
 *
 * Bytes queued for sending, own and referenced (the figure the high-water
 * mark is compared with).
 */
H2_API size_t h2_conn_output_pending(const h2_conn *conn);

/*
 * @function
 *
 * False once the connection has nothing more to read: after a protocol
 * error, or after a GOAWAY (sent or received) once no stream is open.
 */
H2_API bool h2_conn_want_read(const h2_conn *conn);

/* @function True when output is queued. */
H2_API bool h2_conn_want_write(const h2_conn *conn);

/*
 * @struct
 *
 * The connection error that ended the connection, if any: the wire code
 * sent in our GOAWAY, a static English message naming the broken rule, and
 * the last stream id we put in that GOAWAY.
 */
typedef struct h2_conn_error {
    bool occurred;
    uint32_t code;
    const char *message; /* static; "" when !occurred */
    uint32_t last_stream_id;
} h2_conn_error;

/* @function Returns the connection error (occurred false when none). */
H2_API h2_conn_error h2_conn_last_error(const h2_conn *conn);

/* ------------------------------------------------------------------------ */
/* Abuse limits, clock and statistics                                        */
/* ------------------------------------------------------------------------ */

/*
 * @enum
 *
 * The limits a connection enforces against an abusive peer
 * (docs/SECURITY.md). Each one has a counter in h2_conn_stats, a name
 * (h2_limit_name(), also the GOAWAY debug data when it ends the connection)
 * and produces an H2_EV_LIMIT_EXCEEDED event when it trips.
 */
typedef enum h2_limit {
    /* glitch budget empty: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_GLITCHES = 0,
    /* RST_STREAM budget empty: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_RESET_RATE,
    /* too many automatic replies queued: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_QUEUED_REPLIES,
    /* their bytes past output_high_water: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_QUEUED_REPLY_BYTES,
    /* SETTINGS frame with too many entries: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_SETTINGS_ENTRIES,
    /* header block in too many frames: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_CONTINUATION_FRAMES,
    /* encoded header block too large: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_BLOCK_SIZE,
    /* decoded list over MAX_HEADER_LIST_SIZE: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_LIST_SIZE,
    /* one name or value too long: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_FIELD_SIZE,
    /* soft field count: RST_STREAM(ENHANCE_YOUR_CALM) on the stream */
    H2_LIMIT_HEADER_FIELDS,
    /* hard field count: GOAWAY(COMPRESSION_ERROR) */
    H2_LIMIT_HEADER_FIELDS_HARD,
    /* table size update above ours: GOAWAY(COMPRESSION_ERROR) */
    H2_LIMIT_HPACK_TABLE_SIZE,
    /* stream over our MAX_CONCURRENT_STREAMS: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_CONCURRENT_STREAMS,
    /* no request slot free: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_ACTIVE_REQUESTS,
    /* rotation: graceful GOAWAY(NO_ERROR) */
    H2_LIMIT_REQUESTS_PER_CONNECTION,
    /* client: too many pushes waiting: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_RESERVED_STREAMS,
    /* number of limits (not a limit) */
    H2_LIMIT_COUNT
} h2_limit;

/*
 * @function Returns the static name of a limit ("glitches",
 * "reset_rate", ...; the GOAWAY debug data of that limit), or "unknown"
 * for a value that is not an h2_limit. Never returns NULL.
 */
H2_API const char *h2_limit_name(int limit);

/*
 * @function
 *
 * Gives the connection the time: a monotonic clock in milliseconds (any
 * origin, e.g. CLOCK_MONOTONIC), to be set before each h2_conn_receive().
 * The core has no clock of its own; the rate limiters (glitch_rate,
 * reset_rate) refill their budgets from the time that passed between two
 * values. Without calls the time stays 0 and the limiters are plain
 * per-connection budgets of their burst size. A value lower than the last
 * one is ignored (the time never goes back). NULL is allowed.
 */
H2_API void h2_conn_set_time(h2_conn *conn, uint64_t now_ms);

/*
 * @struct
 *
 * Counters of a connection since its creation. Frames sent counts frames
 * queued for sending; bytes sent counts bytes taken from the output
 * (consumed). |limit_exceeded| is indexed by h2_limit.
 */
typedef struct h2_conn_stats {
    uint64_t frames_received;
    uint64_t frames_sent;
    uint64_t bytes_received;
    uint64_t bytes_sent;
    uint64_t streams_opened_remote; /* streams the peer opened (requests, or pushes to a client) */
    uint64_t streams_opened_local;  /* streams we opened (requests, or pushes from a server) */
    uint64_t resets_received;       /* RST_STREAM frames received */
    uint64_t resets_sent;           /* RST_STREAM frames queued */
    uint64_t glitches;              /* events charged to the glitch budget */
    uint32_t active_requests;       /* request slots taken now (servers) */
    uint64_t limit_exceeded[H2_LIMIT_COUNT]; /* times each limit tripped */
} h2_conn_stats;

/* @function Copies the counters of |conn| to |*out| (nothing when either is NULL). */
H2_API void h2_conn_get_stats(const h2_conn *conn, h2_conn_stats *out);

/*
 * @function
 *
 * Servers: the application has finished handling the request of
 * |stream_id| (its response was sent, or it gave up on it): the request's
 * slot (see max_active_requests) is freed at once. The stream itself is not
 * touched. Needed with |explicit_request_done|; optional otherwise (it
 * frees the slot of a reset stream early).
 *
 * Returns 0, H2_EINVAL (|conn| NULL) or H2_ENOSTREAM (no request of that
 * id holds a slot: unknown id, or already done).
 */
H2_API int h2_conn_request_done(h2_conn *conn, uint32_t stream_id);

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_H */
