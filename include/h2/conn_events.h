/*
 * libh2 connection core: events. Their types, the event record, and
 * h2_conn_receive(), which turns received bytes into events. Include
 * h2/conn.h, which includes this header.
 */
#ifndef H2_CONN_EVENTS_H
#define H2_CONN_EVENTS_H

#include "h2/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_EVENTS_H */
