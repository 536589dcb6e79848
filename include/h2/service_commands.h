/*
 * libh2 service: the commands posted to a connection (any thread), and how
 * they map to the core. Include h2/service.h, which includes this header;
 * the contracts every command shares (ordering, answers, holds) are in the
 * overview at the top of h2/service.h.
 *
 * Core to service
 *   Every public call of the core (h2/conn.h, h2/conn_introspect.h,
 *   h2/conn_config.h, h2/conn_limits.h) and how a service connection
 *   offers it: a command (posted, carried out by the worker), a query
 *   (answered by an event), the worker doing it by itself, or a plain
 *   function that needs no connection and may be called directly.
 *
 *   Core call                               Service
 *   h2_conn_config_init_size()              h2_svc_conn_config_init() (its |conn|)
 *   h2_conn_new(), h2_conn_free()           h2_svc_attach_fd(), h2_svc_attach_feed(),
 *                                           h2_svc_listen(); freed after CLOSED
 *   h2_conn_initiate()                      worker: at attach (H2_SVC_EV_ATTACHED)
 *   h2_conn_initiate_upgrade_server(),      attach with |upgrade| (server: with
 *   h2_conn_initiate_upgrade_client()       |upgrade_settings|; client)
 *   h2_conn_next_stream_id()                worker: numbers new streams
 *                                           (H2_SVC_EV_STREAM_OPENED, _PUSH_PROMISED)
 *   h2_conn_send_headers()                  h2_svc_submit_headers(),
 *                                           h2_svc_submit_headers_prio() (priority)
 *   h2_conn_send_data()                     h2_svc_send_data(),
 *                                           h2_svc_send_data_padded() (padding)
 *   h2_conn_send_data_ref()                 h2_svc_send_data_ref()
 *   h2_conn_send_body()                     worker: h2_svc_send_data() takes any size
 *                                           and is cut into frames by the worker
 *   h2_conn_end_stream()                    h2_svc_end_stream()
 *   h2_conn_reset_stream()                  h2_svc_reset_stream()
 *   h2_conn_close()                         h2_svc_close(), h2_svc_close_with()
 *                                           (debug data, last stream id)
 *   h2_conn_update_settings()               h2_svc_update_settings()
 *   h2_conn_ping()                          h2_svc_ping()
 *   h2_conn_increment_window()              h2_svc_increment_window()
 *   h2_conn_ack_data()                      h2_svc_event_release() of DATA events;
 *                                           h2_svc_ack_data()
 *   h2_conn_push_stream()                   h2_svc_push()
 *   h2_conn_prioritize()                    h2_svc_prioritize()
 *   h2_conn_send_priority_update()          h2_svc_priority_update()
 *   h2_conn_advertise_alternative_service() h2_svc_send_altsvc()
 *   h2_conn_request_done()                  worker: automatic (a request's slot is
 *                                           freed when its stream completes, or at
 *                                           the release of its STREAM_RESET event;
 *                                           |explicit_request_done| is refused)
 *   h2_conn_receive()                       worker: fd mode reads the transport;
 *                                           feed mode: h2_svc_feed()
 *   h2_conn_release_events()                worker: automatic (events are copied)
 *   h2_conn_data_to_send(),                 worker: automatic (written to the
 *   h2_conn_output_view(),                  transport, or given to |on_output|)
 *   h2_conn_output_iov(),
 *   h2_conn_output_consume(),
 *   h2_conn_output_pending(),
 *   h2_conn_want_read(), h2_conn_want_write()
 *   h2_conn_clear_output()                  worker: h2_svc_abort() drops the output
 *   h2_conn_set_time()                      worker: automatic (the service's clock)
 *   h2_conn_get_stats()                     query: h2_svc_query_stats()
 *                                           (H2_SVC_EV_STATS |core_stats|; also in
 *                                           CLOSED)
 *   h2_conn_last_error()                    H2_SVC_EV_CLOSED (reason
 *                                           H2_SVC_CLOSE_PROTOCOL, |error_code|)
 *   h2_conn_header_block_pending(),         worker: the |header_timeout_ms| and
 *   h2_conn_settings_unacked()              |settings_timeout_ms| timers
 *   h2_conn_send_window(),                  query: h2_svc_query_state()
 *   h2_conn_recv_window(),                  (windows, settings, stream states,
 *   h2_conn_max_outbound_frame_size(),      stream counts and ids at one moment
 *   h2_conn_max_inbound_frame_size(),       of the worker)
 *   h2_conn_open_inbound_streams(),
 *   h2_conn_open_outbound_streams(),
 *   h2_conn_setting(),
 *   h2_conn_pending_settings(),
 *   h2_conn_setting_pending(),
 *   h2_conn_stream_state(),
 *   h2_conn_stream_closed_by(),
 *   h2_conn_streams(),
 *   h2_conn_highest_inbound_stream_id(),
 *   h2_conn_highest_outbound_stream_id()
 *   h2_settings_header_encode(),            plain functions, no connection: call
 *   h2_settings_header_decode(),            them directly (any thread)
 *   h2_limit_name()
 *
 *   Core event                              Service event
 *   H2_EV_REQUEST_RECEIVED                  H2_SVC_EV_REQUEST_RECEIVED
 *   H2_EV_RESPONSE_RECEIVED                 H2_SVC_EV_RESPONSE_RECEIVED
 *   H2_EV_TRAILERS_RECEIVED                 H2_SVC_EV_TRAILERS_RECEIVED
 *   H2_EV_INFORMATIONAL_RESPONSE_RECEIVED   H2_SVC_EV_INFORMATIONAL_RESPONSE_RECEIVED
 *   H2_EV_DATA_RECEIVED                     H2_SVC_EV_DATA_RECEIVED
 *   H2_EV_WINDOW_UPDATED                    H2_SVC_EV_WINDOW_UPDATED (|trace|; the
 *                                           worker resumes held DATA by itself)
 *   H2_EV_REMOTE_SETTINGS_CHANGED           H2_SVC_EV_REMOTE_SETTINGS_CHANGED (|trace|)
 *   H2_EV_SETTINGS_ACKNOWLEDGED             H2_SVC_EV_SETTINGS_ACKNOWLEDGED (|trace|)
 *   H2_EV_PING_RECEIVED                     H2_SVC_EV_PING_RECEIVED (|trace|; the core
 *                                           sends the ACK)
 *   H2_EV_PING_ACK_RECEIVED                 H2_SVC_EV_PING_ACK_RECEIVED
 *   H2_EV_STREAM_ENDED                      |end_stream| of the headers or DATA event;
 *                                           H2_SVC_EV_STREAM_ENDED too with
 *                                           |stream_ended_events|
 *   H2_EV_STREAM_RESET                      H2_SVC_EV_STREAM_RESET
 *   H2_EV_PRIORITY_UPDATED                  H2_SVC_EV_PRIORITY_UPDATED
 *   H2_EV_CONNECTION_TERMINATED             H2_SVC_EV_CONNECTION_TERMINATED
 *   H2_EV_UNKNOWN_FRAME_RECEIVED            H2_SVC_EV_UNKNOWN_FRAME_RECEIVED
 *   H2_EV_PUSHED_STREAM_RECEIVED            H2_SVC_EV_PUSHED_STREAM_RECEIVED
 *   H2_EV_ALTERNATIVE_SERVICE_AVAILABLE     H2_SVC_EV_ALTERNATIVE_SERVICE_AVAILABLE
 *   H2_EV_PRIORITY_UPDATE_RECEIVED          H2_SVC_EV_PRIORITY_UPDATE_RECEIVED (the
 *                                           worker also reorders held DATA by it)
 *   H2_EV_LIMIT_EXCEEDED                    H2_SVC_EV_LIMIT_EXCEEDED
 */
#ifndef H2_SERVICE_COMMANDS_H
#define H2_SERVICE_COMMANDS_H

#include "h2/service.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * @function Sends a header block (fields copied). |stream_id| 0 opens a new
 * stream with a request (clients): H2_SVC_EV_STREAM_OPENED reports its id
 * with |user|. A non-zero |stream_id| sends a response or 1xx on a stream
 * the peer opened, or trailers (|flags| must then hold
 * H2_SEND_END_STREAM), queued behind the stream's unsent data. |flags|:
 * H2_SEND_END_STREAM. The core's refusals (h2_conn_send_headers()) come
 * back as COMMAND_FAILED; a new stream that exceeds the peer's
 * MAX_CONCURRENT_STREAMS waits until a stream closes, without holding back
 * later commands (see "Streams"). A non-zero |stream_id| that would open a
 * stream of ours fails with H2_ETOO_MANY_STREAMS when no slot is free.
 */
H2_API int h2_svc_submit_headers(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                     const h2_header *fields, size_t n, uint32_t flags,
                                     uint64_t user);

/* ---- stream handles (see "Stream handles") ---- */

/* Set in every stream handle; stream ids (31 bits) never have it. */
#define H2_SVC_STREAM_HANDLE 0x80000000u

/*
 * @function Opens a new stream with a request (clients), as
 * h2_svc_submit_headers() with stream id 0 (|fields| copied; |flags|:
 * H2_SEND_END_STREAM), and stores in |*handle| (not NULL; written only
 * when 0 is returned) the stream's handle: H2_SVC_STREAM_HANDLE | a number
 * unique on |conn|. Later commands may name the stream by that handle at
 * once, before H2_SVC_EV_STREAM_OPENED (which reports the id with |user|
 * and the handle in |stream_handle|). Returns 0, H2_EINVAL (|svc| or
 * |handle| NULL, unknown |conn|, bad |fields| or |flags|), H2_ENOMEM,
 * H2_ENOCONN (the connection ended) or H2_EAGAIN (the worker's ring is
 * full). The core's refusals come back as COMMAND_FAILED with
 * |stream_handle| set.
 */
H2_API int h2_svc_open_stream(h2_svc *svc, h2_svc_conn_id conn, const h2_header *fields,
                              size_t n, uint32_t flags, uint64_t user, uint32_t *handle);

/*
 * @function Sends |len| bytes (copied) on |stream_id|, then END_STREAM when
 * |flags| holds H2_SEND_END_STREAM. Any size; see "Sending data". Also
 * returns H2_EAGAIN when the connection already holds
 * |send_hold_conn_limit| bytes of copied DATA not sent yet, or the worker
 * |send_hold_limit| over all its connections (retry once some was sent; a
 * posting call never waits for this, whatever |post_wait_ms|; see
 * "Isolation").
 */
H2_API int h2_svc_send_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                const uint8_t *data, size_t len, uint32_t flags, uint64_t user);

/*
 * @function As h2_svc_send_data(), but |data| is used in place: it must
 * stay valid and unchanged until |release| is called (once, on a worker
 * thread) with |release_user|, |data| and |len|. When the call returns an
 * error, |release| is not called.
 *
 * No copy is made on the way: the worker's writev points into |data|, and
 * |release| comes once the last byte was written to the transport (or
 * given to |on_output| in feed mode), or once the command failed or the
 * connection ended, whichever is first. A payload whose frames were queued
 * but not all written when the connection ended is answered with
 * COMMAND_FAILED (H2_ECLOSED), before CLOSED. (h2_svc_send_data() takes
 * the same path from its copy, which lives as long.)
 */
H2_API int h2_svc_send_data_ref(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                    const uint8_t *data, size_t len, uint32_t flags, uint64_t user,
                                    h2_svc_release_fn release, void *release_user);

/*
 * @function Answers |stream_id| in one command: HEADERS with |fields|, then
 * the |len| bytes of |body| with END_STREAM (with |len| 0 the HEADERS
 * carry END_STREAM). Both are copied by the call. The same as
 * h2_svc_submit_headers() followed by h2_svc_send_data(), in one command
 * record and one ring slot instead of two, which is what a server answering
 * from application threads posts most. Returns 0, H2_EINVAL (|svc| NULL,
 * unknown |conn|, bad |stream_id|, bad |fields|, |body| NULL with |len| >
 * 0), H2_ENOMEM, H2_ENOCONN (the connection ended) or H2_EAGAIN (the
 * worker's ring is full, or the body passes a send hold limit as for
 * h2_svc_send_data()). The core's refusals come back as COMMAND_FAILED:
 * with |command| H2_SVC_CMD_RESPOND when the HEADERS were refused (nothing
 * was sent), H2_SVC_CMD_DATA when the body was (the HEADERS went out).
 */
H2_API int h2_svc_respond(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                          const h2_header *fields, size_t n, const uint8_t *body, size_t len,
                          uint64_t user);

/* @function Ends our side of |stream_id| after its unsent data (empty DATA with END_STREAM). */
H2_API int h2_svc_end_stream(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                 uint64_t user);

/*
 * @function Resets |stream_id| with RST_STREAM(|error_code|). Data still
 * held for the stream is dropped; each such command fails with
 * H2_ESTREAM_CLOSED.
 */
H2_API int h2_svc_reset_stream(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                   uint32_t error_code, uint64_t user);

/* @function Sends a PING with |opaque|; the ACK arrives as H2_SVC_EV_PING_ACK_RECEIVED. */
H2_API int h2_svc_ping(h2_svc *svc, h2_svc_conn_id conn, const uint8_t opaque[8],
                           uint64_t user);

/*
 * @function Graceful close: sends GOAWAY(|error_code|) with the highest
 * stream id the peer opened, lets open streams finish and held data go out,
 * then closes (H2_SVC_EV_CLOSED, reason H2_SVC_CLOSE_GRACEFUL).
 */
H2_API int h2_svc_close(h2_svc *svc, h2_svc_conn_id conn, uint32_t error_code,
                            uint64_t user);

/*
 * @function Ends the connection at once: held data and queued output are
 * dropped, the transport is closed (H2_SVC_EV_CLOSED, reason
 * H2_SVC_CLOSE_ABORTED).
 */
H2_API int h2_svc_abort(h2_svc *svc, h2_svc_conn_id conn, uint64_t user);

/*
 * @function Sends a SETTINGS frame with |n| entries (copied; at most 64),
 * through h2_conn_update_settings(): the values take effect when the peer
 * acknowledges them. Refusals (H2_ESETTINGS, H2_EAGAIN when 16 SETTINGS
 * frames await their ACK ...) come back as COMMAND_FAILED.
 */
H2_API int h2_svc_update_settings(h2_svc *svc, h2_svc_conn_id conn,
                                      const h2_setting *entries, size_t n, uint64_t user);

/*
 * @function Servers: promises a pushed stream on |parent_id| for the
 * request |fields| (copied; GET or HEAD), through h2_conn_push_stream().
 * The worker numbers the promised stream and reports it in
 * H2_SVC_EV_PUSH_PROMISED with |user|; the core's refusals come back as
 * COMMAND_FAILED.
 */
H2_API int h2_svc_push(h2_svc *svc, h2_svc_conn_id conn, uint32_t parent_id,
                           const h2_header *fields, size_t n, uint64_t user);

/*
 * @function Clients: sends an RFC 7540 PRIORITY frame for |stream_id|
 * (h2_conn_prioritize(); |prio| copied, NULL for the defaults).
 */
H2_API int h2_svc_prioritize(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                 const h2_priority_args *prio, uint64_t user);

/*
 * @function Clients: sends an RFC 9218 PRIORITY_UPDATE frame for
 * |stream_id| with the Priority field value |value| (|len| bytes, copied;
 * h2_conn_send_priority_update()).
 */
H2_API int h2_svc_priority_update(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                      const uint8_t *value, size_t len, uint64_t user);

/*
 * @function Sets the local scheduling priority of |stream_id| (|p| copied:
 * urgency 0..7, incremental): the order in which its held DATA goes out
 * against the connection's other streams (see "Priorities"). Nothing is
 * sent to the peer. Either side, any stream of ours or the peer's; a
 * stream not open yet (or without held data yet) keeps it for later. It
 * replaces what the request's "priority" field or an earlier
 * PRIORITY_UPDATE said, until the next PRIORITY_UPDATE. A stream that can
 * send no more (we ended or reset it) fails with H2_ESTREAM_CLOSED as
 * COMMAND_FAILED (H2_SVC_CMD_SET_PRIORITY).
 *
 * Returns as the other posting calls; H2_EINVAL also for |p| NULL, an
 * urgency above 7, or |stream_id| 0 or above 2^31-1.
 */
H2_API int h2_svc_set_priority(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                   const h2_priority *p, uint64_t user);

/*
 * @function Acknowledges |n| more received bytes on |stream_id|
 * (h2_conn_ack_data()). Releasing DATA events already does this for their
 * bytes; this call is for credit beyond that. With |manual_flow_control|
 * it is the only way received DATA counts as processed: pass the
 * |flow_controlled_length| of the DATA events, all at once or in parts.
 * The core sends WINDOW_UPDATEs (the connection's, then the stream's) once
 * half a window was processed, or the window is empty and a quarter of it
 * (at most 1024 bytes) was; a stream the peer ended or that closed
 * credits the connection only. The core does not count what was received:
 * acknowledging more than that is not refused, but never opens a window
 * beyond its configured size (use h2_svc_increment_window() to grow one).
 * The core's refusals come back as COMMAND_FAILED (H2_SVC_CMD_ACK_DATA,
 * |user| 0): H2_ENOSTREAM (a stream that was never opened), H2_ESTATE,
 * H2_ECLOSED, H2_ENOMEM. Returns as the other posting calls; H2_EINVAL
 * also for |stream_id| 0 or above 2^31-1.
 */
H2_API int h2_svc_ack_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, size_t n);

/*
 * @function Asks for the counters of |conn|: the worker answers with an
 * H2_SVC_EV_STATS event carrying |stats| and |user|.
 */
H2_API int h2_svc_query_stats(h2_svc *svc, h2_svc_conn_id conn, uint64_t user);

/* ------------------------------------------------------------------------ */
/* Frame options: priority on HEADERS, padding, GOAWAY details, ALTSVC      */
/* ------------------------------------------------------------------------ */

/*
 * @function As h2_svc_submit_headers(), with RFC 7540 priority fields on
 * the HEADERS frame (|prio| copied; NULL: none, exactly
 * h2_svc_submit_headers()). Clients only: the core refuses priority fields
 * from a server (COMMAND_FAILED, H2_SVC_CMD_HEADERS, H2_EROLE), and a
 * weight above 256 or a dependency on the stream itself (H2_EINVAL). On a
 * new stream (|stream_id| 0) a dependency on the stream's own id, unknown
 * when posting, is only refused by the core.
 *
 * Returns as h2_svc_submit_headers(); H2_EINVAL also for a weight above
 * 256 or |depends_on| above 2^31-1.
 */
H2_API int h2_svc_submit_headers_prio(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                      const h2_header *fields, size_t n, uint32_t flags,
                                      const h2_priority_args *prio, uint64_t user);

/*
 * @function As h2_svc_send_data() (|data| copied, any size, the same hold
 * limits), but every DATA frame that carries bytes is padded: PADDED set
 * and |pad_len| (0..255) zero bytes added. Padding counts against flow
 * control: each such frame takes |pad_len| + 1 bytes of the windows beyond
 * its data, so the worker cuts frames of at most the smaller window, and
 * the peer's MAX_FRAME_SIZE, less |pad_len| + 1; a frame waits until the
 * window holds at least |pad_len| + 2 bytes. The empty frame that only
 * ends the stream (|len| 0 with H2_SEND_END_STREAM) is not padded.
 * Failures name H2_SVC_CMD_DATA.
 *
 * Returns as h2_svc_send_data().
 */
H2_API int h2_svc_send_data_padded(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                   const uint8_t *data, size_t len, uint32_t flags,
                                   uint8_t pad_len, uint64_t user);

/*
 * @function As h2_svc_close() (graceful: open streams at or below the last
 * id finish, then CLOSED with H2_SVC_CLOSE_GRACEFUL), with the GOAWAY's
 * last stream id and debug data chosen: h2_conn_close(|error_code|,
 * |debug|, |debug_len|, |last_stream_id|). |last_stream_id| -1 means the
 * highest stream id the peer opened (as h2_svc_close()); 0..2^31-1 names
 * it. |debug| (|debug_len| bytes, may be NULL when 0) is copied. The core's
 * refusals (H2_EINVAL for debug data longer than the peer's MAX_FRAME_SIZE
 * - 8 ...) come back as COMMAND_FAILED (H2_SVC_CMD_CLOSE).
 *
 * Returns as the other posting calls; H2_EINVAL also for |debug| NULL with
 * a length, or |last_stream_id| below -1 or above 2^31-1.
 */
H2_API int h2_svc_close_with(h2_svc *svc, h2_svc_conn_id conn, uint32_t error_code,
                             int64_t last_stream_id, const uint8_t *debug, size_t debug_len,
                             uint64_t user);

/*
 * @function Servers: sends an RFC 7838 ALTSVC frame,
 * h2_conn_advertise_alternative_service(). With |stream_id| 0 the frame
 * names |origin| (|origin_len| bytes, not empty); on a stream |origin_len|
 * is 0 and the stream's request gives the origin (the stream must be open
 * with no response headers sent yet). |value| (|value_len| bytes) is the
 * Alt-Svc field value, passed as is. Both are copied. The core's refusals
 * (H2_EROLE on a client, H2_EFRAME_SIZE, H2_ESTATE ...) come back as
 * COMMAND_FAILED (H2_SVC_CMD_ALTSVC).
 *
 * Returns as the other posting calls; H2_EINVAL also for a pointer NULL
 * with a length, an empty origin on stream 0, an origin on a stream,
 * |origin_len| above 65535 or |stream_id| above 2^31-1.
 */
H2_API int h2_svc_send_altsvc(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                              const uint8_t *origin, size_t origin_len, const uint8_t *value,
                              size_t value_len, uint64_t user);

/* ---- Manual flow control and state queries ---- */

/*
 * @function Opens our receive window of |stream_id| (0: the connection) by
 * |increment| bytes with a WINDOW_UPDATE, through
 * h2_conn_increment_window() (h2's increment_flow_control_window): the peer
 * may send that much more, whatever was received or acknowledged. Meant
 * for |manual_flow_control| connections, allowed on any. Carried out in
 * the order posted. The core's refusals come back as COMMAND_FAILED
 * (H2_SVC_CMD_INCREMENT_WINDOW, |stream_id|, |user|): H2_EFLOW_CONTROL
 * (the window would pass 2^31-1), H2_ESTREAM_CLOSED, H2_ENOSTREAM,
 * H2_ESTATE, H2_ECLOSED, H2_ENOMEM.
 *
 * Returns as the other posting calls; H2_EINVAL also for |increment| 0 or
 * above 2^31-1, or |stream_id| above 2^31-1.
 */
H2_API int h2_svc_increment_window(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                   uint32_t increment, uint64_t user);

/*
 * @function Asks for a snapshot of the protocol state of |conn|: windows,
 * settings (ours in force, ours pending, the peer's), highest stream ids,
 * frame sizes, open streams, and with a non-zero |stream_id| that stream's
 * state and windows (see h2_svc_conn_state). The worker answers with an
 * H2_SVC_EV_STATE event carrying |state|, |stream_id| and |user|. Any
 * thread, any number at once.
 *
 * A query, not a snapshot call: the core belongs to the connection's
 * worker and is changed by it at any time, so no other thread may read
 * it; the worker takes the snapshot between two of its own calls and
 * hands it over as an event. It is carried out in the order posted, after
 * the commands posted before it from the same thread (a SETTINGS update
 * posted before shows as pending), and reflects what the peer's bytes
 * processed by then did. Sends (DATA, END_STREAM, trailers) are held until
 * the windows and the output allow them (see "Sending data"), so one
 * posted just before may not have gone out yet: its effect on the windows
 * and the stream's state shows once it did.
 *
 * Returns as the other posting calls; H2_EINVAL also for |stream_id| above
 * 2^31-1. When the snapshot's memory cannot be had, the answer is
 * COMMAND_FAILED (H2_SVC_CMD_QUERY_STATE, H2_ENOMEM).
 */
H2_API int h2_svc_query_state(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                              uint64_t user);
/* ---- Wake-ups and timers ---- */

/*
 * @function Asks to be called back on |conn|'s own channel: the worker
 * delivers H2_SVC_EV_USER with |user| there (the connection's queue or
 * its on_event callback), in order with the connection's other events. Any
 * thread, an event callback of |conn| included: the event never comes
 * from inside the call, always on a later turn of the worker. Every call
 * gives one event, unless the connection ends first (then CLOSED is its
 * last event and the wake-up is dropped without an answer). The command
 * does not wait behind commands held for output room.
 *
 * From a thread that runs the connection's own worker (its callbacks, a
 * payload's release) the call never finds the command ring full: the
 * command waits in a list of that worker instead and is carried out at
 * the start of its next turn, possibly before commands posted to the ring
 * earlier. From other threads it takes a ring slot like any command.
 *
 * Returns 0, H2_EINVAL (|svc| NULL or |conn| not an id of |svc|),
 * H2_ENOCONN (the connection ended), H2_EAGAIN (another thread, the ring
 * stayed full for post_wait_ms) or H2_ENOMEM.
 */
H2_API int h2_svc_notify(h2_svc *svc, h2_svc_conn_id conn, uint64_t user);

/*
 * @function Sets the connection's one user timer: |delay_ms| milliseconds
 * of the service's clock (h2_svc_config.clock, else CLOCK_MONOTONIC)
 * after this call, H2_SVC_EV_TIMER with |user| is delivered on |conn|'s
 * channel, never earlier. A connection has at most one user timer: a call
 * while one is pending replaces it (the earlier |user| never comes);
 * |delay_ms| negative cancels the pending one (nothing when none is). A
 * timer pending when the connection ends is dropped: CLOSED is the last
 * event. A moved clock is seen when the worker wakes (h2_svc_wake()).
 * Replacing and cancelling act when the worker takes the command: a timer
 * that expired before that (its TIMER delivered or on its way) still comes.
 * Each connection holds at most one timer record (about the size of a
 * command), whatever the number of calls.
 *
 * Any thread; from the connection's own worker the command skips the ring
 * as h2_svc_notify()'s does. Returns as h2_svc_notify().
 */
H2_API int h2_svc_set_timer(h2_svc *svc, h2_svc_conn_id conn, int64_t delay_ms, uint64_t user);

/*
 * Batches of posts
 *
 * A post to a worker that sleeps wakes it (one write to an eventfd), and
 * the woken worker may run at once, take the first command and sleep
 * again before the next one is posted. An application thread that answers
 * a batch of events (everything one h2_svc_queue_poll() returned) can ask
 * for one wake-up per worker for the whole batch instead:
 *
 *     h2_svc_batch_begin(svc);
 *     for each event: post its answer, release it
 *     h2_svc_batch_end(svc);
 *
 * Between the two calls, posts from the calling thread to shared workers
 * are published at once (an awake worker takes them as usual) but do not
 * wake a sleeping worker; h2_svc_batch_end() wakes each worker posted to,
 * once. Posts to dedicated workers, posts from worker threads and posts
 * that find a ring full wake their worker as without a batch. Commands
 * posted in a batch wait for its end when their worker sleeps: keep
 * batches short, and end an open batch before h2_svc_free().
 */

/*
 * @function Opens a batch of posts to |svc| on the calling thread (nested
 * calls count: only the outermost h2_svc_batch_end() wakes). Returns 0,
 * H2_EINVAL (|svc| NULL) or H2_ESTATE (a batch on another service is open
 * on this thread).
 */
H2_API int h2_svc_batch_begin(h2_svc *svc);

/*
 * @function Closes the batch opened by h2_svc_batch_begin(); the outermost
 * call wakes every worker the batch posted to. Returns 0, H2_EINVAL (|svc|
 * NULL) or H2_ESTATE (no batch on |svc| is open on this thread).
 */
H2_API int h2_svc_batch_end(h2_svc *svc);

#ifdef __cplusplus
}
#endif

#endif /* H2_SERVICE_COMMANDS_H */
