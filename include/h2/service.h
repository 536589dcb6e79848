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
 *   data, ALTSVC frames (see "Frame options" in h2/service_commands.h,
 *   whose table "Core to service" lists every core call with its command).
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
 *   The table of every core call and event with its service command,
 *   query or event is in h2/service_commands.h.
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
    uint64_t wakeups;            /* times a post (or a batch's end) woke it from sleep */
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

/* Connections (configuration, attach, listen, feed) and the commands
 * posted to them. */
#include "h2/service_conn.h"
#include "h2/service_commands.h"

#ifdef __cplusplus
}
#endif

#endif /* H2_SERVICE_H */
