/*
 * libh2 connection service: many HTTP/2 connections run by worker threads,
 * driven from any application thread by messages.
 *
 * Ownership
 *   The service runs W worker threads. Each connection belongs to one worker
 *   for its whole life; only that worker touches its h2_conn, its socket,
 *   its buffers and its timers. Application threads talk to a connection by
 *   posting commands (h2_svc_submit_headers(), h2_svc_send_data()
 *   ...) to the worker's command ring; every posting call returns at once
 *   (or, with |post_wait_ms|, waits for ring room: a bounded time, or
 *   without limit when negative).
 *
 * Dedicated mode
 *   A connection attached with |dedicated| gets a worker thread of its own,
 *   running the same loop, started at attach and leaving once the
 *   connection ended and its events were delivered; shared worker 0 then
 *   joins it (h2_svc_free() joins any still running). At most
 *   |max_dedicated| such connections exist at once.
 *
 * Connections are named by an h2_svc_conn_id, returned by the attach calls.
 * An id is never reused within a service.
 *
 * Transports
 *   - fd mode (h2_svc_attach_fd()): the application hands over a
 *     connected socket; the worker sets it non-blocking, reads it into a
 *     per-worker buffer, feeds the core and writes the output with
 *     sendmsg() (a writev() that does not raise SIGPIPE). The service closes
 *     the socket when the connection ends.
 *   - fd mode with a transport hook (|transport| in h2_svc_conn_config,
 *     for example TLS): the worker calls the hook's read and writev
 *     instead of the socket calls, registers for the readiness the hook
 *     says it waits for (H2_SVC_WANT_READ / _WRITE, so a TLS read may wait
 *     for writability), drains bytes the hook holds (|pending|) without
 *     waiting for the socket, and calls the hook's close exactly once.
 *   - listening sockets (h2_svc_listen()): a worker accepts until
 *     EAGAIN (at most 256 per turn of its loop), lets the accept callback
 *     adjust a copy of the configuration (transport, user ...) and hands
 *     the connections to the workers in turn. When descriptors run out
 *     (EMFILE) the listener pauses 100 ms instead of spinning. The service
 *     closes the listening socket at h2_svc_free().
 *   - feed mode (h2_svc_attach_feed()): the application keeps its
 *     transport, posts received bytes with h2_svc_feed() and receives
 *     the bytes to send through the |on_output| callback, run on the worker
 *     thread. While the connection's events wait for queue room, the worker
 *     keeps fed bytes unprocessed in the order posted; what a connection
 *     holds that way (with what waits in the ring) is bounded by
 *     |feed_hold_conn_limit|, and what all of a worker's connections hold
 *     by |feed_hold_limit|: past either h2_svc_feed() returns
 *     H2_EAGAIN (see "Isolation").
 *     |on_output| takes every byte; an application whose transport falls
 *     behind stops feeding input until it caught up: the replies the core
 *     makes (PING and SETTINGS ACKs, RST_STREAMs) come only from input, and
 *     DATA only as far as the peer's windows, which the peer opens as it
 *     receives.
 *   Both modes accept bytes already read by the application
 *   (|initial_data|, fed before anything else) and either side of an
 *   h2c upgrade (|upgrade|: stream 1 is the upgraded request).
 *
 * Commands
 *   Every command a posting call queued (returned 0) is answered exactly
 *   once, on the connection's own queue or callback and before its
 *   H2_SVC_EV_CLOSED: carried out (with its own event where it has one), or
 *   an H2_SVC_EV_COMMAND_FAILED event names it (|command|, |stream_id|,
 *   |user|, |error|). Commands posted to one connection from one thread are
 *   carried out in the order posted. A posting call returns:
 *     0           the command is queued; from now on the service owns it;
 *     H2_ENOCONN  the connection ended (from the moment it ended, even
 *                 before its CLOSED was delivered) or never existed;
 *                 nothing was queued and the caller still owns every
 *                 payload;
 *     H2_EAGAIN   the worker's command ring is full (or, for feeds and
 *                 copied DATA, the connection holds its share
 *                 |feed_hold_conn_limit| or |send_hold_conn_limit|, or the
 *                 worker its total |feed_hold_limit| or |send_hold_limit|);
 *                 nothing was queued and the caller still owns every
 *                 payload (try again later);
 *     H2_EINVAL   a bad argument (NULL service, id 0, bad flags ...);
 *     H2_ENOMEM   the command record could not be allocated.
 *   Payloads are copied into the command record, except for
 *   h2_svc_send_data_ref(), which hands the bytes over by reference and
 *   calls a release callback once the service no longer needs them.
 *
 * Stream ids
 *   A stream we open is numbered by the worker when it sends the HEADERS, so
 *   that ids always go out in increasing order whichever thread posted
 *   first. h2_svc_submit_headers() with stream id 0 opens a stream; the
 *   id comes back in an H2_SVC_EV_STREAM_OPENED event carrying the |user|
 *   tag given to the call. Data, trailers and resets for that stream are
 *   posted with that id once the event arrived. A request without a body
 *   (flag H2_SEND_END_STREAM) needs nothing more. h2_svc_open_stream()
 *   returns a handle instead, usable at once (see "Stream handles").
 *
 * Streams
 *   One stream's commands are carried out in the order posted, and nothing
 *   on one stream waits for another stream. A new stream (HEADERS with id
 *   0) that exceeds the peer's MAX_CONCURRENT_STREAMS waits for a slot
 *   without holding anything else back: commands for streams already
 *   open (data, END_STREAM, trailers, resets, priority) and
 *   connection-level commands (ping, SETTINGS, close, statistics) posted
 *   after it go out at once, so the command that ends an open stream (and
 *   frees the slot) is never stuck behind the stream waiting for it. New
 *   streams that wait open in the order posted, each once a slot is free;
 *   a waiting stream has no id yet, so nothing can be addressed to it
 *   before its STREAM_OPENED event, except through its handle (see
 *   "Stream handles"). Only output over the core's
 *   |output_high_water| holds every later command of the connection back,
 *   until the transport took the bytes before them.
 *
 * Stream handles
 *   h2_svc_open_stream() opens a stream like h2_svc_submit_headers(0)
 *   and returns at once a handle for it: H2_SVC_STREAM_HANDLE (the top
 *   bit, never set in a stream id) | a number unique on the connection.
 *   Every command that names a stream (h2_svc_send_data(),
 *   h2_svc_send_data_ref(), h2_svc_end_stream(), h2_svc_reset_stream(),
 *   trailers through h2_svc_submit_headers(), h2_svc_set_priority(),
 *   h2_svc_prioritize(), h2_svc_priority_update(), h2_svc_ack_data())
 *   takes the handle in place of the id, so a request and its body can be
 *   posted in one go. Commands addressed to a stream that still waits for
 *   a slot wait behind its HEADERS, in the order posted, and go out once
 *   it opens. STREAM_OPENED carries the real id in |stream_id| and the
 *   handle in |stream_handle|; every later event of the stream carries
 *   the real id only. An application may switch to the id from
 *   STREAM_OPENED on, or keep using the handle for commands: both work
 *   until the stream closes. Ids still go out in increasing order, in the
 *   order the worker opens the streams, which may differ from the order
 *   of the handles when several threads open streams at once.
 *   The worker forgets a handle when its stream closes (both sides ended
 *   it, or it was reset); commands addressed to it from then on fail with
 *   COMMAND_FAILED, H2_ESTREAM_CLOSED. A reset posted while the stream
 *   still waits for a slot cancels it: its HEADERS never goes out, the
 *   open is answered by COMMAND_FAILED (H2_SVC_CMD_HEADERS,
 *   H2_ESTREAM_CLOSED, |stream_id| 0, |stream_handle| set) and so is
 *   every command that waited behind it.
 *
 * Other commands
 *   Ping, reset, graceful close, abort, data acknowledgement, SETTINGS
 *   updates, server push (H2_SVC_EV_PUSH_PROMISED names the promised
 *   stream), RFC 7540 PRIORITY and RFC 9218 PRIORITY_UPDATE frames, and
 *   statistics requests. Also window increments and state queries (see
 *   "Flow control" and "State queries"). Frame options: RFC 7540 priority
 *   on HEADERS, padded DATA, a GOAWAY with its last stream id and debug
 *   data, ALTSVC frames (see "Frame options" below; the table "Core to
 *   service" lists every core call with its command).
 *
 * Sending data
 *   h2_svc_send_data() takes any size. The worker cuts it into DATA
 *   frames no larger than the peer's MAX_FRAME_SIZE and holds what the
 *   flow-control windows do not allow yet, sending it as WINDOW_UPDATEs
 *   arrive. Data, end-of-stream and trailers for one stream go out in the
 *   order posted.
 *
 * Priorities
 *   Held DATA of different streams goes out by RFC 9218 priority, one
 *   frame per turn: lowest urgency first; at one urgency, non-incremental
 *   streams one after the other by stream id, incremental ones taking
 *   turns, and the two kinds alternating frame by frame. A stream's
 *   priority is, the most recent signal winning: the request's "priority"
 *   header field (servers), a PRIORITY_UPDATE from the client (servers;
 *   also one received before the request, which the field then does not
 *   replace), or h2_svc_set_priority() (either side, local order
 *   only); else urgency 3, not incremental. A stream whose window is shut
 *   does not hold back the others. docs/SERVICE.md ("Priorities") has the
 *   details.
 *
 * Isolation
 *   What one connection's peer or consumer does cannot use up what another
 *   connection of the same worker may hold. Copied DATA posted and not
 *   sent yet (waiting in the ring, or held for the peer's windows) and fed
 *   bytes not processed yet (held while the connection's events wait for
 *   queue room) count against a share per connection, |send_hold_conn_limit|
 *   (1 MiB) and |feed_hold_conn_limit| (16 KiB), and against the worker's
 *   totals, |send_hold_limit| (64 MiB) and |feed_hold_limit| (1 MiB). A
 *   connection whose peer keeps its windows shut is refused (H2_EAGAIN)
 *   once it holds its own share, while sends on every other connection go
 *   on. The totals are a memory ceiling over the whole worker and trip
 *   first only when 64 connections of one worker hold their full share at
 *   once (the defaults' ratio); raise a total (or lower a share) when one
 *   worker runs more connections that may each stall with a full share.
 *   A post is always taken when its connection holds nothing (a single
 *   large send passes its share), as long as the worker's total allows it.
 *   Held DATA does not stay forever either: the flow-control stall timer
 *   (|flow_timeout_ms|) measures useful progress, each interval at least
 *   |flow_min_rate| bytes a second (256: 15 KiB per default 60 s
 *   interval), so a peer that opens its window a byte at a time is closed
 *   as one that never opens it, and its share comes back.
 *
 * Events
 *   Each connection sends its events either to an event queue
 *   (h2_svc_queue: a bounded ring with an eventfd, shared by any number of
 *   connections, read by one application thread at a time) or to a callback
 *   run on the worker thread. Every event is an owned record: release it
 *   with h2_svc_event_release(), from any thread, at any time (also after
 *   h2_svc_free()). Releasing a DATA event acknowledges its bytes for
 *   flow control, so a consumer that keeps DATA events unreleased stops
 *   the peer once the windows are used up. A connection with
 *   |manual_flow_control| acknowledges only what the application says
 *   (see "Flow control").
 *
 *   Order: a connection's events arrive in the order they happened, and
 *   H2_SVC_EV_CLOSED is its last one: once the application took it, the
 *   service never touches that connection's queue again (the queue may be
 *   freed then, if no other connection uses it). CLOSED is handed over
 *   whatever the queue's fill (one record beyond the capacity per
 *   connection at most). docs/SERVICE.md tells how.
 *
 *   Request slots (servers): a request counts against the core's
 *   |max_active_requests| from its REQUEST_RECEIVED event until its stream
 *   completes normally or the application resets it; when the peer resets
 *   it (or the core does, because of the peer), until the application
 *   releases that STREAM_RESET event. Release it once the request's work
 *   has stopped: then resets cannot make the server start more requests at
 *   once than |max_active_requests| (Rapid Reset, MadeYouReset). Requests
 *   over the limit are refused with RST_STREAM(REFUSED_STREAM).
 *
 *   When a connection's queue is full, its worker keeps the events that did
 *   not fit, stops reading that connection (fd mode) or stops processing
 *   its fed bytes (feed mode) until the queue has room again: nothing is
 *   dropped and the peer meets TCP backpressure. The worker registers with
 *   the queue and sleeps; the consumer's next h2_svc_queue_poll() that
 *   takes events wakes it (up to 32 workers per queue are woken that way;
 *   further ones retry every 2 ms).
 *
 * Timers
 *   Each worker keeps one heap of deadlines (one entry per connection: its
 *   earliest) and sleeps in epoll_wait() until the nearest; the clock is
 *   CLOCK_MONOTONIC (or the |clock| hook of h2_svc_config), read by
 *   the worker only, and also given to the core (h2_conn_set_time())
 *   before each receive. Per connection
 *   (h2_svc_conn_config, 0 turns one off): idle timeout, SETTINGS ACK
 *   timeout, header-completion deadline,
 *   close deadline after a graceful close or a GOAWAY received, write
 *   stall timeout, flow-control stall timeout and preface deadline. An expired timer ends
 *   the connection with reason H2_SVC_CLOSE_TIMEOUT and names itself in the
 *   CLOSED event's |timer|; one that sends a GOAWAY names itself in its
 *   debug data too ("idle timeout", "settings timeout", "header timeout",
 *   "flow control stall", "preface timeout").
 *
 * Statistics
 *   Per connection: h2_svc_query_stats() is answered by an
 *   H2_SVC_EV_STATS event carrying h2_svc_conn_stats; the CLOSED event
 *   carries the final values. Per worker: h2_svc_worker_get_stats(), a
 *   snapshot of counters the worker keeps in relaxed atomics, readable from
 *   any thread.
 *
 * Flow control
 *   Automatic (the default): releasing a DATA event tells the core its
 *   flow-controlled bytes were processed (h2_conn_ack_data()), and the
 *   core sends WINDOW_UPDATEs as half a window was processed.
 *   Manual (|manual_flow_control| in h2_svc_conn_config, per connection):
 *   releasing a DATA event only frees it; the application acknowledges
 *   bytes with h2_svc_ack_data() (the core still decides when an update
 *   is due) or opens a window by an explicit amount with
 *   h2_svc_increment_window(). A peer that used up a window then waits
 *   until the application acts. Releases keep every other effect (a
 *   server's STREAM_RESET still frees its request slot).
 *
 * State queries
 *   h2_svc_query_state() is answered by an H2_SVC_EV_STATE event carrying
 *   a snapshot (h2_svc_conn_state): windows, settings in force and
 *   pending, stream ids, frame sizes, open streams and one stream's state.
 *   Queries are answered by events, not read by a snapshot call, because
 *   the connection's core belongs to its worker, which changes it at any
 *   moment without a lock; only the worker can read it consistently, so it
 *   takes the snapshot and hands it over like any other event.
 *
 * Shutdown
 *   h2_svc_shutdown() is the graceful way: GOAWAY on every connection,
 *   streams in flight finish until a deadline, then what is left is ended;
 *   it returns once every connection sent its CLOSED. h2_svc_free()
 *   then only frees.
 *
 *   h2_svc_free() alone stops the workers. Every command still queued fails
 *   with H2_ECLOSED (reason H2_SVC_CLOSE_SHUTDOWN), every connection gets
 *   its H2_SVC_EV_CLOSED event (no GOAWAY is sent), sockets are closed and
 *   all memory of the service is freed, listening sockets included. Events
 *   that find a queue full at that moment are still delivered, in order
 *   (the queue takes them beyond its capacity). Connections that event
 *   callbacks attach while the workers stop (to a worker that already
 *   left) are answered the same way (CLOSED) once every worker thread was
 *   joined, with the callbacks then running on the thread that called
 *   h2_svc_free(); commands that callbacks post then to connections
 *   that ended fail at the call (H2_ENOCONN); a dedicated attach made
 *   during the free returns H2_EAGAIN.
 *
 * Threads
 *   The posting calls, h2_svc_event_release() and the h2_svc_queue calls
 *   may be used from any thread. The allocator given in the configuration
 *   is called from several threads at once and must be thread-safe.
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
#ifndef H2_SERVICE_H
#define H2_SERVICE_H

#include <stddef.h>
#include <sys/uio.h>
#include "h2/common.h"
#include "h2/conn.h"
#include "h2/errors.h"
#include "h2/hpack.h"
#include "h2/priority.h"
#include "h2/service_events.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct h2_svc h2_svc;
typedef struct h2_svc_queue h2_svc_queue;

/*
 * @function Callback mode: called on the worker thread with each event of
 * the connection; the callee owns |ev| and releases it (now or later, from
 * any thread). It must not block and must not call h2_svc_free().
 */
typedef void (*h2_svc_event_fn)(void *user, h2_svc_event *ev);

/*
 * @function Feed mode: called on the worker thread with output bytes for
 * the peer. |data| is valid during the call only; the callee takes all of
 * it (copy or write it).
 */
typedef void (*h2_svc_output_fn)(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len);

/*
 * @function Called once when the service no longer needs bytes handed over
 * by h2_svc_send_data_ref(): after they were copied into the output, or
 * when the command failed (the failure is reported by an event too). Runs
 * on a worker thread. A post that returns an error does not call it.
 */
typedef void (*h2_svc_release_fn)(void *release_user, const uint8_t *data, size_t len);

/* ------------------------------------------------------------------------ */
/* Event queues                                                              */
/* ------------------------------------------------------------------------ */

/*
 * @function Creates an event queue holding up to |capacity| - 1 events
 * (|capacity| a power of two, 2..2^30) in |*out|. |mem| is the allocator
 * (NULL: libc); it must be thread-safe.
 *
 * One application thread at a time reads the queue. A queue serves the
 * connections of one service, and must outlive them: free it after
 * h2_svc_free(), or as soon as every connection using it delivered its
 * H2_SVC_EV_CLOSED (the thread that took the last CLOSED may free it at
 * once).
 *
 * Returns 0, H2_EINVAL (|out| NULL, bad capacity) or H2_ENOMEM.
 */
H2_API int h2_svc_queue_new(h2_svc_queue **out, uint32_t capacity, const h2_mem *mem);

/* @function Frees |q| and releases every event still in it. NULL allowed.
 * Events already taken from it stay valid. */
H2_API void h2_svc_queue_free(h2_svc_queue *q);

/*
 * @function Moves up to |max| events, oldest first, into |evs| and returns
 * how many; 0 when the queue is empty. The caller owns them.
 */
H2_API size_t h2_svc_queue_poll(h2_svc_queue *q, h2_svc_event **evs, size_t max);

/*
 * @function Blocks until the queue holds an event or |timeout_ms|
 * milliseconds passed (negative: no limit). Returns 1 (events are waiting),
 * 0 (timeout), H2_EINVAL (|q| NULL) or H2_EINTERNAL (poll() failed; errno
 * is kept).
 */
H2_API int h2_svc_queue_wait(h2_svc_queue *q, int timeout_ms);

/*
 * @struct Counters of an event queue (h2_svc_queue_get_stats()). Versioned
 * output (see the ABI policy in h2/version.h): the caller sets |size| to
 * sizeof(h2_svc_queue_stats); no more than |size| bytes are written.
 */
typedef struct h2_svc_queue_stats {
    size_t size;         /* set by the caller; left as it was by the call */
    uint64_t events;     /* events taken by the consumer so far */
    uint32_t waiting;    /* events in the ring now (beyond-capacity shutdown events not counted) */
    uint32_t high_water; /* most events seen waiting at once, at the start of a poll */
    uint32_t capacity;   /* events it holds at most */
} h2_svc_queue_stats;

/* Smallest |size| of an h2_svc_queue_stats the library accepts: up to |events|. */
#define H2_SVC_QUEUE_STATS_MIN_SIZE (offsetof(h2_svc_queue_stats, events) + sizeof(uint64_t))

/*
 * @function Copies the counters of |q| to |*out| (at most |out->size|
 * bytes, |size| kept). Any thread; the fields are not read at one single
 * instant. Returns 0 or H2_EINVAL (NULL argument, |out->size| below
 * H2_SVC_QUEUE_STATS_MIN_SIZE; nothing is written).
 */
H2_API int h2_svc_queue_get_stats(const h2_svc_queue *q, h2_svc_queue_stats *out);

/*
 * @function For an application with its own epoll loop: the eventfd to
 * watch (EPOLLIN). Owned by the queue; do not read or close it. When it is
 * readable, poll the queue until it is empty; before blocking on it again,
 * call h2_svc_queue_prepare_wait() (which clears it) and block only when
 * that returned true.
 */
H2_API int h2_svc_queue_fd(const h2_svc_queue *q);

/*
 * @function Clears h2_svc_queue_fd() and announces a wait on it, so that
 * the next event makes it readable. Returns false (and withdraws the
 * announcement) when events are waiting: poll instead of blocking. After
 * false the fd is readable, so a loop may also go back to its poller
 * first (to run its other work) and will be called back.
 */
H2_API bool h2_svc_queue_prepare_wait(h2_svc_queue *q);

/* ------------------------------------------------------------------------ */
/* Service                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * @function A clock for the service (|clock| in h2_svc_config):
 * returns milliseconds; |user| is |clock_user|.
 */
typedef int64_t (*h2_svc_clock_fn)(void *user);

/*
 * @struct Service configuration: fill with h2_svc_config_init(), then
 * change fields. h2_svc_new() copies it. Versioned (see the ABI policy
 * in h2/version.h): fields past |size| take their defaults.
 */
typedef struct h2_svc_config {
    /* sizeof(h2_svc_config) as the application was compiled; set by
     * h2_svc_config_init(). At least H2_SVC_CONFIG_MIN_SIZE. */
    size_t size;
    unsigned workers;          /* worker threads; 0: the number of online CPUs */
    uint32_t mailbox_capacity; /* command ring slots per worker, a power of two: 4096 */
    size_t read_buffer_size;   /* per-worker socket read buffer: 65536 */
    /* A safety net: where the answer to a command goes when its worker
     * does not know its connection (a queue, or else a callback; both
     * NULL: released at once, payload release callbacks still run). Posts
     * to a connection that ended or never existed fail at the call with
     * H2_ENOCONN, and a queued command is answered before its
     * connection's CLOSED, so this receives nothing in normal operation. */
    h2_svc_queue *queue;
    h2_svc_event_fn on_event;
    void *on_event_user;
    const h2_mem *mem; /* thread-safe allocator; NULL: libc. Must outlive the service. */
    /* How long a posting call waits for room in a full command ring before
     * it returns H2_EAGAIN, in milliseconds: 0 (default) does not wait,
     * negative waits without limit. Calls made on a worker thread of any
     * libh2 service (event callbacks, accept callbacks, output callbacks,
     * and callbacks that h2_svc_free() runs on its own thread) never
     * wait: they return H2_EAGAIN at once when the ring is full, as with
     * 0. The ring they would wait on may be their own, or belong to a
     * worker (of this or another service) that is itself waiting for
     * theirs, and neither would ever drain. */
    int post_wait_ms;
    /* Connections with a worker thread of their own (|dedicated| in
     * h2_svc_conn_config) at once: 64. */
    unsigned max_dedicated;
    /* Feed mode: bytes posted with h2_svc_feed() to one worker and not
     * processed yet (in its command ring, or held while a connection's
     * events wait for queue room), over all its feed connections: 1 MiB.
     * A feed that would pass it returns H2_EAGAIN (nothing is queued; a
     * feed is always taken when the worker holds nothing). Must not be 0.
     * A ceiling over all the connections of the worker; see "Isolation"
     * for the share of each. */
    size_t feed_hold_limit;
    /* Bytes of copied DATA (h2_svc_send_data()) posted to one worker
     * and not sent yet, over all its connections, wherever they wait (its
     * command ring, or held for the flow-control windows): 64 MiB. A send
     * that would pass it returns H2_EAGAIN (nothing is queued; a send is
     * always taken when the worker holds none). Data handed over by
     * reference (h2_svc_send_data_ref()) stays the application's
     * memory and does not count. Must not be 0. A ceiling over all the
     * connections of the worker; see "Isolation" for the share of each. */
    size_t send_hold_limit;
    /* The share of one connection in |feed_hold_limit|: fed bytes of one
     * connection not processed yet. 16 KiB (a 64th of the worker's
     * total). Must not be 0. See "Isolation". */
    size_t feed_hold_conn_limit;
    /* The share of one connection in |send_hold_limit|: copied DATA bytes
     * posted to one connection and not sent yet. 1 MiB (a 64th of the
     * worker's total). Must not be 0. See "Isolation". */
    size_t send_hold_conn_limit;
    /* The clock of the service's timers (every timer of h2_svc_conn_config,
     * and the accept pause after EMFILE) and of the core's rate limits
     * (h2_conn_set_time()): milliseconds since any fixed point, never going
     * back. Called on the worker threads (several at once) with
     * |clock_user|; it must be thread-safe and must not block. NULL (the
     * default): CLOCK_MONOTONIC. Waits for ring room (|post_wait_ms|) and
     * h2_svc_queue_wait() keep real time. A worker sleeps in real time
     * until its nearest deadline as this clock puts it, so an application
     * that moves its clock forward by hand (tests, simulations) calls
     * h2_svc_wake() afterwards; any command posted to a worker also
     * makes it read the clock again before it sleeps. */
    h2_svc_clock_fn clock;
    void *clock_user;
    /* Sets TCP_NODELAY on every socket the service accepts (h2_svc_listen(),
     * before the accept callback runs, which may change it) or is handed
     * (h2_svc_attach_fd(), at the call, even when the attach then fails),
     * so that small frames (SETTINGS, HEADERS, a short response) leave at
     * once instead of waiting for the peer's delayed ACK (about 40 ms on
     * Linux). Sockets that are not TCP (Unix sockets, socket pairs) are left
     * as they are. true (default) or false: the sockets keep their setting. */
    bool tcp_nodelay;
    /* Fills the struct to its alignment, so that no release's layout ends
     * in padding (see the ABI policy in h2/version.h); leave it 0. */
    uint8_t reserved_[sizeof(void *) - 1];
} h2_svc_config;

/* Smallest |size| of an h2_svc_config the library accepts: |size| alone
 * (every other field has a default). */
#define H2_SVC_CONFIG_MIN_SIZE sizeof(size_t)

/*
 * @function Fills the first |size| bytes of |cfg| (at most the library's
 * sizeof(h2_svc_config)) with the defaults and sets |cfg->size| to
 * |size|; nothing when |cfg| is NULL or |size| cannot hold |size|. Call it
 * through h2_svc_config_init().
 */
H2_API void h2_svc_config_init_size(h2_svc_config *cfg, size_t size);

/* @function Fills |cfg| with the defaults listed above; sets |cfg->size|. */
static inline void h2_svc_config_init(h2_svc_config *cfg)
{
    h2_svc_config_init_size(cfg, sizeof(*cfg));
}

/*
 * @function Creates a service and starts its workers; stores it in |*out|.
 *
 * Returns 0, H2_EINVAL (NULL argument, |cfg->size| below
 * H2_SVC_CONFIG_MIN_SIZE (0: not filled by h2_svc_config_init()),
 * more than H2_SVC_MAX_WORKERS workers, bad mailbox capacity, read
 * buffer below 1024 bytes), H2_ENOMEM,
 * or H2_EINTERNAL (a thread, epoll or eventfd could not be created; errno
 * tells which).
 */
H2_API int h2_svc_new(h2_svc **out, const h2_svc_config *cfg);

/*
 * @function Shuts the service down as described at the top of this header
 * and frees it. No other call on |svc| may run during or after it. NULL is
 * allowed.
 */
H2_API void h2_svc_free(h2_svc *svc);

/*
 * @function Wakes every worker thread of |svc| (dedicated ones included):
 * each reads the service's clock again and runs the timers due by it
 * before it sleeps once more. Needed only with a |clock| hook that the
 * application moved forward: a clock change made before this call is seen
 * by every worker after it. Any thread. Returns 0 or H2_EINVAL (|svc|
 * NULL).
 */
H2_API int h2_svc_wake(h2_svc *svc);

/*
 * @function Whole-service graceful shutdown; see "Shutdown" at the top of
 * this header. Stops accepting (listening sockets are closed, attach calls
 * return H2_ECLOSED), sends GOAWAY(NO_ERROR) on every connection and lets
 * the streams in flight finish, for at most |timeout_ms| milliseconds
 * (negative: no limit). At the deadline every connection left is ended
 * (CLOSED with reason H2_SVC_CLOSE_SHUTDOWN). Blocks until every
 * connection sent its CLOSED; events keep flowing meanwhile, so the
 * application must go on taking them on other threads (or in callbacks)
 * for the streams in flight to finish. The service stays valid: free it
 * with h2_svc_free(). Must not be called on a worker thread (from an
 * event callback), nor concurrently with h2_svc_free(); calling it
 * twice is harmless.
 *
 * Returns 0 (every connection ended before the deadline), the number of
 * connections that were cut at the deadline (> 0), or H2_EINVAL (|svc|
 * NULL, or called on a worker thread of |svc|).
 */
H2_API int h2_svc_shutdown(h2_svc *svc, int timeout_ms);

/* @function Number of worker threads. */
H2_API unsigned h2_svc_workers(const h2_svc *svc);

/*
 * @struct Counters of one worker. Each is written by the worker alone
 * (relaxed atomics); a snapshot is cheap and may be taken from any thread,
 * but its fields are not read at one single instant. Versioned output (see
 * the ABI policy in h2/version.h): the caller sets |size| to
 * sizeof(h2_svc_worker_stats). The length of |timer_expired| is fixed for
 * the major version: timers added later are counted in appended fields.
 */
typedef struct h2_svc_worker_stats {
    size_t size;                                /* set by the caller; kept by the call */
    uint64_t connections;                       /* connections owned now */
    uint64_t connections_total;                 /* connections taken over since the start */
    uint64_t bytes_in;                          /* bytes received over all its connections */
    uint64_t bytes_out;                         /* bytes sent over all its connections */
    uint64_t commands;                          /* commands taken from its ring */
    uint64_t events;                            /* events delivered */
    uint64_t loops;                             /* turns of its event loop */
    uint64_t timeouts;                          /* connections ended by a timer ... */
    uint64_t timer_expired[H2_SVC_TIMER_COUNT]; /* ... by each one (indexed by h2_svc_timer) */
    uint64_t frames_in;                         /* frames received over all its connections */
    uint64_t frames_out;         /* frames queued for sending over all its connections */
    uint64_t streams_opened;     /* streams opened by either side over all its connections */
    uint32_t mailbox_high_water; /* most commands seen waiting in its ring at once */
} h2_svc_worker_stats;

/* Smallest |size| of an h2_svc_worker_stats the library accepts: up to |connections|. */
#define H2_SVC_WORKER_STATS_MIN_SIZE                                                               \
    (offsetof(h2_svc_worker_stats, connections) + sizeof(uint64_t))

/*
 * @function The connections of the service, from any thread: writes up to
 * |cap| ids of connections that accept commands now to |ids| and their
 * number (which may exceed |cap|) to |*n|. A snapshot: a connection may
 * end (posts to it fail with H2_ENOCONN) or start right after. Costs one
 * look at every connection slot the service has used; call it for a
 * broadcast or an audit, not per request. Returns 0 or H2_EINVAL (|svc| or
 * |n| NULL, |ids| NULL with |cap| > 0).
 */
H2_API int h2_svc_conns(h2_svc *svc, h2_svc_conn_id *ids, size_t cap, size_t *n);

/*
 * @function Copies the counters of worker |worker| (0 .. workers - 1) to
 * |*out| (at most |out->size| bytes, |size| kept). Any thread. Returns 0 or
 * H2_EINVAL (NULL argument, index out of range, |out->size| below
 * H2_SVC_WORKER_STATS_MIN_SIZE; nothing is written).
 */
H2_API int h2_svc_worker_get_stats(const h2_svc *svc, unsigned worker,
                                   h2_svc_worker_stats *out);

/* @enum What a transport waits for after returning H2_EAGAIN. */
enum {
    H2_SVC_WANT_READ = 1u,  /* the socket becoming readable */
    H2_SVC_WANT_WRITE = 2u, /* the socket becoming writable */
};

/*
 * @struct
 *
 * A byte transport under an fd-mode connection, for example TLS. Every
 * function runs on the connection's worker thread, with |ctx| and the
 * connection's socket |fd|. The structure is copied by the attach calls;
 * |ctx| belongs to the application until |close| is called, which is
 * always called exactly once (also when attaching fails after the command
 * was queued), then the service closes |fd|.
 */
typedef struct h2_svc_transport {
    /* Reads up to |len| bytes into |buf|. Returns the count (> 0), 0 when
     * the peer closed the stream, H2_EAGAIN when nothing can be read now,
     * or H2_EINTERNAL on failure (with errno set when it means something). */
    ptrdiff_t (*read)(void *ctx, int fd, uint8_t *buf, size_t len);
    /* Writes from |iov| (|iovcnt| entries); returns the bytes taken (> 0;
     * fewer than offered is fine), H2_EAGAIN, or H2_EINTERNAL. */
    ptrdiff_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    /* Optional: after H2_EAGAIN from either call, which readiness the
     * transport waits for (H2_SVC_WANT_READ | H2_SVC_WANT_WRITE). NULL: a
     * read waits for readability, a write for writability. */
    unsigned (*wants)(void *ctx);
    /* Optional: true when |read| can return bytes without the socket being
     * readable (data buffered inside the transport). */
    bool (*pending)(void *ctx);
    /* Called once when the connection ends, before the socket is closed. */
    void (*close)(void *ctx, int fd);
    void *ctx;
} h2_svc_transport;
/*
 * Any other return value of |read| or |writev| (another negative value, or
 * a count above what was offered) ends the connection as H2_EINTERNAL
 * would: reason H2_SVC_CLOSE_IO, |sys_errno| the errno left by the call
 * (0 for a count out of range). A read failure with errno ECONNRESET or
 * EPIPE counts as the peer closing (H2_SVC_CLOSE_PEER_EOF).
 */

/*
 * @struct Per-connection configuration: fill with
 * h2_svc_conn_config_init(), then change fields; copied by the attach calls.
 * Versioned (see the ABI policy in h2/version.h), and so is |conn| inside
 * it: the library finds the fields after |conn| from |conn.size| (they
 * start at the first pointer-aligned offset past it), so either part may
 * grow. Fields past |size| take their defaults.
 */
typedef struct h2_svc_conn_config {
    /* sizeof(h2_svc_conn_config) as the application was compiled; set by
     * h2_svc_conn_config_init(), as is |conn.size|. At least
     * H2_SVC_CONN_CONFIG_MIN_SIZE, and |conn| must fit in it. */
    size_t size;
    h2_conn_config conn;        /* the core's configuration; |mem| is ignored
                                   (the service's allocator is used) */
    h2_svc_queue *queue;        /* events go here when not NULL ... */
    h2_svc_event_fn on_event;   /* ... else to this callback; one is required */
    void *user;                 /* passed to the callbacks, and in every event */
    h2_svc_output_fn on_output; /* feed mode: required; fd mode: unused */
    int worker;                 /* the worker to use, or -1: round robin */
    /* Also deliver the connection-level events the service otherwise
     * handles by itself, for frame logs and debugging (an event each):
     * H2_SVC_EV_REMOTE_SETTINGS_CHANGED and H2_SVC_EV_SETTINGS_ACKNOWLEDGED
     * (|settings|), H2_SVC_EV_PING_RECEIVED (|ping|; the ACK is sent by the
     * core) and H2_SVC_EV_WINDOW_UPDATED (|window_delta|). Default false. */
    bool trace;
    /* Run this connection on a worker thread of its own (|worker| is then
     * ignored): the thread starts at attach and leaves once the connection
     * ended and its events were delivered, and is joined by shared worker
     * 0 (or by h2_svc_free()). The attach calls return H2_EAGAIN when
     * max_dedicated such connections are open (or not joined yet). */
    bool dedicated;

    /* fd mode: the byte transport over the socket (copied); NULL: plain
     * reads and writes on the socket. See h2_svc_transport. */
    const h2_svc_transport *transport;

    /* Bytes already read from the peer (for example after sniffing the
     * first bytes of a socket); copied, fed to the core before anything
     * read from the transport. */
    const uint8_t *initial_data;
    size_t initial_len;

    /* Server side of an h2c upgrade (RFC 7540 section 3.2): the HTTP/1.1
     * request was answered with 101 by the application, and
     * h2_conn_initiate_upgrade_server() runs with |upgrade_settings|
     * (|upgrade_settings_len| bytes, the HTTP2-Settings header value;
     * copied) instead of h2_conn_initiate(). Stream 1 is then the upgraded
     * request, half-closed by the peer; the application answers it with
     * h2_svc_submit_headers(stream 1). */
    /* Client side of an h2c upgrade: the application sent the HTTP/1.1
     * request with "Upgrade: h2c" and an HTTP2-Settings header (its value
     * from h2_settings_header_encode() of the settings in |conn|) and read
     * the 101 answer itself (bytes after the 101 go in |initial_data|).
     * h2_conn_initiate_upgrade_client() then runs instead of
     * h2_conn_initiate() (|upgrade_settings| is ignored): stream 1 is the
     * upgraded request, half-closed on our side; its response arrives as
     * H2_SVC_EV_RESPONSE_RECEIVED on stream 1 (and DATA), and the first
     * stream h2_svc_submit_headers() opens is 3. */
    bool upgrade;
    const char *upgrade_settings;
    size_t upgrade_settings_len;

    /* Timers run by the worker, in milliseconds; 0 turns one off. Each
     * ends the connection with H2_SVC_EV_CLOSED, reason
     * H2_SVC_CLOSE_TIMEOUT, |timer| naming it (h2_svc_timer) and
     * |error_code| the GOAWAY code sent (0 when none was). */
    uint32_t idle_timeout_ms;     /* no stream open, no output pending and nothing received:
                                     GOAWAY(NO_ERROR) and close. 180000 */
    uint32_t settings_timeout_ms; /* a SETTINGS frame of ours unacknowledged this long:
                                     GOAWAY(SETTINGS_TIMEOUT) and close. 10000 */
    uint32_t header_timeout_ms;   /* absolute deadline for a received header block to
                                     complete once it started (CONTINUATION frames do not
                                     re-arm it): GOAWAY(PROTOCOL_ERROR) and close (a peer
                                     that cannot finish a block in time is treated as
                                     broken). 20000 */
    uint32_t preface_timeout_ms;  /* from attach, for the peer's connection preface and
                                     first SETTINGS frame: GOAWAY(PROTOCOL_ERROR,
                                     "preface timeout") and close. 10000 */
    uint32_t close_timeout_ms;    /* after h2_svc_close() or a GOAWAY received: streams
                                     still open this long are cut (transport closed, no
                                     further GOAWAY). 30000 */
    uint32_t write_timeout_ms;    /* output pending and the transport accepted no byte
                                     this long: the transport is cut. 60000 */
    uint32_t flow_timeout_ms;     /* DATA held for the peer's flow-control windows and no
                                     byte of it sent this long, while the transport could
                                     take more (a peer that opens a stream and never
                                     grants window): GOAWAY(NO_ERROR, "flow control
                                     stall") and close. It measures useful progress:
                                     an interval in which fewer than |flow_min_rate|
                                     bytes a second went out counts as stalled, so a
                                     peer that opens its window a byte at a time is cut
                                     too. 60000 */
    uint32_t flow_min_rate;       /* the floor of the flow-control stall timer, in bytes
                                     a second: each flow_timeout_ms interval must send
                                     flow_min_rate * flow_timeout_ms / 1000 bytes of
                                     held DATA (at least 1). 256: 15 KiB per default
                                     interval; 0: any byte is progress. See
                                     "Isolation". */
    /* Manual flow control (h2's acknowledge_received_data with explicit
     * counts). false (default): releasing a DATA event acknowledges its
     * |flow_controlled_length|, and the core reopens the windows as the
     * bytes are processed. true: releasing a DATA event only frees it;
     * received bytes count as processed only when the application passes
     * them to h2_svc_ack_data(), and h2_svc_increment_window() opens a
     * window by a given amount. Until then the peer's windows stay used up,
     * and it stops sending once they are empty. Everything else a release
     * does is unchanged (a server's STREAM_RESET still frees its request
     * slot). See "Flow control". */
    bool manual_flow_control;
    /* Deliver H2_SVC_EV_STREAM_ENDED (|stream_id|) right after each headers
     * or DATA event whose |end_stream| is set, for applications that
     * handle the end of a peer's stream as an event of its own. Default
     * false: the |end_stream| flag alone tells it. */
    bool stream_ended_events;
    /* Fills the struct to its alignment (see the ABI policy in
     * h2/version.h); leave it 0. */
    uint8_t reserved_[sizeof(void *) - 2];
} h2_svc_conn_config;

/* Smallest |size| of an h2_svc_conn_config the library accepts: up to |conn.role|. */
#define H2_SVC_CONN_CONFIG_MIN_SIZE (offsetof(h2_svc_conn_config, conn) + H2_CONN_CONFIG_MIN_SIZE)

/*
 * @function Fills |cfg|, laid out as |size| bytes whose |conn| has
 * |conn_size| bytes, with the defaults for |role| (what the library knows
 * of it) and sets |cfg->size| and |cfg->conn.size|; nothing when |cfg| is
 * NULL or the layout is impossible. Call it through
 * h2_svc_conn_config_init().
 */
H2_API void h2_svc_conn_config_init_size(h2_svc_conn_config *cfg, size_t size, size_t conn_size,
                                         h2_role role);

/* @function Fills |cfg| for |role|: core defaults, no destination, worker
 * -1; sets |cfg->size| and |cfg->conn.size|. */
static inline void h2_svc_conn_config_init(h2_svc_conn_config *cfg, h2_role role)
{
    h2_svc_conn_config_init_size(cfg, sizeof(*cfg), sizeof(cfg->conn), role);
}

/*
 * @function Hands the connected socket |fd| to the service (fd mode) and
 * stores the connection's id in |*id|. The worker sends the preface and
 * reports H2_SVC_EV_ATTACHED. On success the service owns |fd| (and the
 * transport's context, see h2_svc_transport) and closes it; on failure the
 * caller keeps both and no transport function was called.
 *
 * Returns 0, H2_EINVAL (NULL argument, |fd| negative, |cfg->size| or
 * |cfg->conn.size| too small (see h2_svc_conn_config), no event destination,
 * worker index out of range, a transport without read or writev,
 * initial_data NULL with a length,
 * |conn.explicit_request_done| (the service frees request slots itself), a
 * bad core setting or HTTP2-Settings value), H2_ESETTINGS (an HTTP2-Settings
 * value out of range), H2_EAGAIN (command ring full, or |dedicated| with
 * every dedicated slot taken or the service being freed), H2_ECLOSED
 * (h2_svc_shutdown() has begun), H2_ENOMEM, or H2_EINTERNAL
 * (|dedicated|: the thread could not be created; errno tells why).
 */
H2_API int h2_svc_attach_fd(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                                h2_svc_conn_id *id);

/*
 * @function Creates a feed-mode connection (see the top of this header);
 * |cfg->on_output| is required. Returns as h2_svc_attach_fd().
 */
H2_API int h2_svc_attach_feed(h2_svc *svc, const h2_svc_conn_config *cfg,
                                  h2_svc_conn_id *id);

/*
 * @function Called on a worker thread for each connection accepted on a
 * listening socket, with the accepted socket |fd| (already non-blocking)
 * and |cfg|, a copy of the listener's configuration that the function may
 * change (for example set |transport| and |user|). The copy has the layout
 * (|size| and |conn.size|) of the configuration given to
 * h2_svc_listen(), whatever release the library is; the function must
 * not change those two. Returns 0 to attach
 * the connection, or a negative value to refuse it (the service closes
 * |fd|). It must not block.
 */
typedef int (*h2_svc_accept_fn)(void *user, int fd, h2_svc_conn_config *cfg);

/*
 * @function Accepts connections on the listening socket |fd| (bound and
 * listening; the service makes it non-blocking and owns it from now on,
 * closing it at h2_svc_free()). Each accepted socket is attached as by
 * h2_svc_attach_fd() with a copy of |cfg| (copied now), after
 * |on_accept| (may be NULL) had its say; accepted connections are spread
 * over the workers. An accepted connection that cannot be taken on (a
 * |dedicated| one while every dedicated slot is taken, a configuration the
 * accept callback made invalid, memory exhausted) is closed at once, with
 * the transport's |close|, and reported by no event. Returns 0, H2_EINVAL
 * (as h2_svc_attach_fd(), or |fd| not usable), H2_EAGAIN or H2_ENOMEM;
 * on failure the caller keeps |fd|.
 */
H2_API int h2_svc_listen(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                             h2_svc_accept_fn on_accept, void *accept_user);

/*
 * @function Feed mode: |len| bytes received from the peer (copied). |len| 0
 * tells that the peer closed the transport. A connection that ended
 * refuses at the call (H2_ENOCONN, see "Commands"); other failures (an
 * fd-mode connection) come back as H2_SVC_EV_COMMAND_FAILED. Returns
 * H2_EAGAIN when the connection holds |feed_hold_conn_limit| fed bytes not
 * processed yet, or the worker |feed_hold_limit| (see "Isolation").
 */
H2_API int h2_svc_feed(h2_svc *svc, h2_svc_conn_id conn, const uint8_t *data, size_t len);

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
 */
H2_API int h2_svc_send_data_ref(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                                    const uint8_t *data, size_t len, uint32_t flags, uint64_t user,
                                    h2_svc_release_fn release, void *release_user);

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

#ifdef __cplusplus
}
#endif

#endif /* H2_SERVICE_H */
