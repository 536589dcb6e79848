/*
 * libh2 connection core: introspection. The states of the streams, how a
 * closed stream ended, the highest stream ids, our inbound frame size, the
 * settings we sent that the peer has not acknowledged yet, the flow-control
 * windows, the open stream counts and the settings in force. Included by
 * h2/conn.h.
 */
#ifndef H2_CONN_INTROSPECT_H
#define H2_CONN_INTROSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h2/conn_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Introspection                                                             */
/* ------------------------------------------------------------------------ */

/*
 * None of these calls changes the connection or allocates; all may be
 * called at any time, also from inside a trace hook (h2_trace_fn), except
 * where said.
 */

/* @enum The state of one stream (RFC 9113 section 5.1). */
typedef enum h2_state {
    H2_STATE_IDLE = 0,
    H2_STATE_RESERVED_LOCAL,  /* we promised it (server push), response not sent yet */
    H2_STATE_RESERVED_REMOTE, /* the peer promised it, response not received yet */
    H2_STATE_OPEN,
    H2_STATE_HALF_CLOSED_LOCAL,  /* we sent END_STREAM */
    H2_STATE_HALF_CLOSED_REMOTE, /* the peer sent END_STREAM */
    H2_STATE_CLOSED,
} h2_state;

/*
 * @function
 *
 * The state of |stream_id| (an h2_state, >= 0). An id that was never used
 * is H2_STATE_IDLE while it is above the highest id of its parity opened so
 * far (h2_conn_highest_inbound_stream_id() /
 * h2_conn_highest_outbound_stream_id()); below it, it is H2_STATE_CLOSED
 * (skipped ids are closed implicitly, RFC 9113 section 5.1.1), as is every
 * stream that ended, however long ago.
 *
 * Returns the state, or H2_EINVAL (|conn| NULL, |stream_id| 0 or above
 * 2^31-1).
 */
H2_API int h2_conn_stream_state(const h2_conn *conn, uint32_t stream_id);

/* @enum Why a closed stream ended (h2's closed_by), see h2_conn_stream_closed_by(). */
typedef enum h2_closed_by {
    H2_CLOSED_BY_UNKNOWN = 0,    /* not remembered (see below) */
    H2_CLOSED_BY_END_STREAM,     /* both sides sent END_STREAM */
    H2_CLOSED_BY_RESET_SENT,     /* we sent RST_STREAM (ourselves or because of the peer) */
    H2_CLOSED_BY_RESET_RECEIVED, /* the peer sent RST_STREAM */
    H2_CLOSED_BY_GOAWAY,         /* ours, above a received GOAWAY's last stream id */
} h2_closed_by;

/*
 * @function
 *
 * How the closed stream |stream_id| ended. The connection keeps no object
 * for a closed stream, only two bits per id in a record of the most recent
 * |max_closed_streams| ids of each parity (h2_conn_config; 65536 by
 * default), so what it can tell is limited to:
 *  - H2_CLOSED_BY_END_STREAM: both sides ended the stream normally; which
 *    END_STREAM came last (h2's SEND_END_STREAM / RECV_END_STREAM) is not
 *    kept;
 *  - H2_CLOSED_BY_RESET_SENT: we reset it, by h2_conn_reset_stream() or
 *    automatically (a stream error of the peer, a refused stream or push);
 *  - H2_CLOSED_BY_RESET_RECEIVED: the peer reset it;
 *  - H2_CLOSED_BY_GOAWAY: a stream we opened with an id above the last
 *    stream id of a GOAWAY we received, which we did not end normally and
 *    the peer did not reset: the peer never processed it. If we had reset
 *    it ourselves before that GOAWAY arrived, it is reported here too;
 *  - H2_CLOSED_BY_UNKNOWN: the id is closed but not in the record: it fell
 *    out of the window, was skipped (never opened), or the record could
 *    not get memory.
 *
 * Returns an h2_closed_by (>= 0), H2_ESTATE (the stream is not closed:
 * idle, reserved, open or half-closed) or H2_EINVAL (as
 * h2_conn_stream_state()).
 */
H2_API int h2_conn_stream_closed_by(const h2_conn *conn, uint32_t stream_id);

/* @struct One stream that is not idle nor closed, as listed by h2_conn_streams(). */
typedef struct h2_stream_info {
    uint32_t stream_id;
    int state; /* h2_state: reserved, open or half-closed */
} h2_stream_info;

/*
 * @function
 *
 * Lists the streams the connection holds (reserved, open and half-closed,
 * of both parities): writes the |cap| lowest ids among them with their
 * states to |out|, in ascending id order. |out| (may be NULL when |cap| is
 * 0) is owned by the caller; nothing is kept. Returns how many such
 * streams there are, which may be more than |cap|: call again with a
 * larger array to see them all. 0 when |conn| is NULL.
 */
H2_API size_t h2_conn_streams(const h2_conn *conn, h2_stream_info *out, size_t cap);

/*
 * @function
 *
 * The highest stream id opened by the peer (h2's highest_inbound_stream_id;
 * for a client, the promised ids of pushed streams count here), or 0 when
 * none was.
 */
H2_API uint32_t h2_conn_highest_inbound_stream_id(const h2_conn *conn);

/*
 * @function
 *
 * The highest stream id opened by us (h2's highest_outbound_stream_id;
 * for a server, the promised ids of its pushes), or 0 when none was.
 */
H2_API uint32_t h2_conn_highest_outbound_stream_id(const h2_conn *conn);

/*
 * @function
 *
 * The largest frame payload we accept (h2's max_inbound_frame_size): our
 * SETTINGS_MAX_FRAME_SIZE once the peer has acknowledged it, 16384 before.
 * A received frame above it is a connection error FRAME_SIZE_ERROR. A
 * larger value sent but not acknowledged yet shows in
 * h2_conn_setting_pending().
 */
H2_API uint32_t h2_conn_max_inbound_frame_size(const h2_conn *conn);

/*
 * Settings of both sides:
 *  - ours in force: h2_conn_setting(conn, false, id), the values the peer
 *    has acknowledged;
 *  - ours pending: h2_conn_pending_settings() and h2_conn_setting_pending(),
 *    sent in SETTINGS frames (the initial one included) the peer has not
 *    acknowledged yet; each frame's values take effect when its ACK
 *    arrives (H2_EV_SETTINGS_ACKNOWLEDGED);
 *  - the peer's: h2_conn_setting(conn, true, id). They take effect as each
 *    SETTINGS frame is received (its ACK is queued in the same call), so
 *    there is never a pending value on the peer's side.
 */

/*
 * @function
 *
 * Our settings waiting for an ACK: copies up to |cap| entries of every
 * unacknowledged SETTINGS frame to |out| (caller-owned; may be NULL when
 * |cap| is 0), oldest frame first and in the order each frame lists them
 * (an id may appear more than once). Returns the total number of pending
 * entries, which may be above |cap|.
 */
H2_API size_t h2_conn_pending_settings(const h2_conn *conn, h2_setting *out, size_t cap);

/*
 * @function
 *
 * Whether setting |id| is in a SETTINGS frame of ours not acknowledged yet.
 * When it is, stores in |*value| (may be NULL) the value it will have once
 * every pending frame is acknowledged (the last one sent) and returns
 * true; returns false otherwise (|*value| untouched).
 */
H2_API bool h2_conn_setting_pending(const h2_conn *conn, uint16_t id, uint32_t *value);

/* ---- windows, stream counts, settings in force ---- */

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
H2_API int h2_conn_send_window(const h2_conn *conn, uint32_t stream_id, int32_t *window);

/*
 * @function
 *
 * How many flow-controlled bytes the peer may still send us on |stream_id|:
 * the smaller of our connection and stream receive windows (0: the
 * connection window). Returns 0, H2_ESTREAM_CLOSED or H2_ENOSTREAM.
 */
H2_API int h2_conn_recv_window(const h2_conn *conn, uint32_t stream_id, int32_t *window);

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

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_INTROSPECT_H */
