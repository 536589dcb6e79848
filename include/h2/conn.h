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
 *
 * The configuration is in h2/conn_config.h; the abuse limits, the clock
 * and the counters in h2/conn_limits.h (both included here).
 */
#ifndef H2_CONN_H
#define H2_CONN_H

#include <sys/uio.h>
#include "h2/common.h"
#include "h2/errors.h"
#include "h2/hpack.h"
#include "h2/conn_config.h"
#include "h2/conn_limits.h"
#include "h2/conn_introspect.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * @function
 *
 * Creates a connection from |cfg| (copied). Allocates only the connection
 * object; tables and buffers are allocated on first use. Stores it in
 * |*out|.
 *
 * Returns 0, H2_EINVAL (|out| or |cfg| NULL, |cfg->size| below
 * H2_CONN_CONFIG_MIN_SIZE (0 included: a config not filled by
 * h2_conn_config_init()), or a setting value outside its RFC 9113 range) or
 * H2_ENOMEM. A |cfg->size| above the library's own sizeof(h2_conn_config)
 * (a program built against a newer release) is accepted and the fields
 * this library does not know are ignored (see the ABI policy in
 * h2/version.h).
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
 *    two send windows (h2_conn_send_window());
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
 * Sends as much of a body as can go now: frames the first bytes of |data|
 * (|len| bytes) into DATA frames, each no larger than the peer's
 * MAX_FRAME_SIZE and all within both send windows (h2_conn_send_window()),
 * and stops when the body is all taken, when a window is shut, or once the
 * output is over its high-water mark (the last frame may take it past the
 * mark by up to one frame). The bytes are copied (|data| is not referenced
 * after the call); no padding. Stores in |*taken| how many bytes of |data|
 * were queued, also when an error is returned: the caller calls again
 * with data + *taken after the peer opens the window (H2_EV_WINDOW_UPDATED)
 * or after writing the output out.
 *
 * With |end_stream|, the frame carrying the last byte of |data| has
 * END_STREAM; while *taken < |len| no frame has it. |len| 0 with
 * |end_stream| queues an empty DATA frame with END_STREAM (as
 * h2_conn_end_stream(), not flow controlled); |len| 0 without it does
 * nothing.
 *
 * A shut window is not an error: the call returns 0 with *taken 0 (or
 * with the bytes it could take before the window ran out).
 *
 * Returns 0 or:
 *  - H2_EINVAL: |conn| or |taken| NULL, |data| NULL with |len| > 0;
 *  - H2_ESTATE (not initiated, no headers sent on the stream yet, or the
 *    stream is half-closed local), H2_ECLOSED, H2_ESTREAM_CLOSED,
 *    H2_ENOSTREAM, as h2_conn_send_data(); nothing taken;
 *  - H2_ENOBUFS: the output was already over its high-water mark and the
 *    window open: nothing taken; write the output out, then call again;
 *  - H2_ENOMEM: fatal; *taken bytes were queued before it.
 */
H2_API int h2_conn_send_body(h2_conn *conn, uint32_t stream_id, const uint8_t *data, size_t len,
                             bool end_stream, size_t *taken);

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

/* Events: the types, the event record, receiving (h2/conn_events.h). */
#include "h2/conn_events.h"

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

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_H */
