/*
 * libh2 connection service: connection ids and the events a service
 * delivers (types, close reasons, timers, commands named in failures,
 * per-connection counters, the event record and its release). Included by
 * h2/service.h, which describes the event contracts.
 */
#ifndef H2_SERVICE_EVENTS_H
#define H2_SERVICE_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"
#include "h2/conn.h"
#include "h2/hpack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Names a connection of a service; 0 is never a valid id. */
typedef uint64_t h2_svc_conn_id;

/* Most worker threads a service may run. */
#define H2_SVC_MAX_WORKERS 256u

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * @enum Service event types: the core's events under H2_SVC_EV_ names
 * (same values as their H2_EV_ names), then the service's own events.
 *
 * Core events passed on: H2_SVC_EV_REQUEST_RECEIVED, H2_SVC_EV_RESPONSE_RECEIVED,
 * H2_SVC_EV_TRAILERS_RECEIVED, H2_SVC_EV_INFORMATIONAL_RESPONSE_RECEIVED (fields in
 * |fields|), H2_SVC_EV_PUSHED_STREAM_RECEIVED (clients: the promised stream in
 * |stream_id|, its request in |fields|, |parent_stream_id|),
 * H2_SVC_EV_PRIORITY_UPDATE_RECEIVED (servers: the RFC 9218 Priority field
 * value for |stream_id| in |data|/|len|, unparsed: see h2_priority_parse()),
 * H2_SVC_EV_LIMIT_EXCEEDED (an abuse limit tripped: |limit| an h2_limit,
 * |error_code| the code sent, |limit_connection| true when the connection
 * ends for it, false when only stream |stream_id| was reset or refused), H2_SVC_EV_DATA_RECEIVED
 * (|data|), H2_SVC_EV_STREAM_RESET
 * (|error_code|, |remote|), H2_SVC_EV_PING_ACK_RECEIVED (|ping|) and
 * H2_SVC_EV_CONNECTION_TERMINATED (a GOAWAY received: |error_code|,
 * |last_stream_id|, debug bytes in |data|); with |trace| in the
 * connection's configuration also H2_SVC_EV_REMOTE_SETTINGS_CHANGED,
 * H2_SVC_EV_SETTINGS_ACKNOWLEDGED, H2_SVC_EV_PING_RECEIVED and
 * H2_SVC_EV_WINDOW_UPDATED. The end of a peer's stream is the |end_stream|
 * flag of the headers or DATA event that carried it.
 *
 * Also passed on: H2_SVC_EV_ALTERNATIVE_SERVICE_AVAILABLE (clients: an
 * RFC 7838 ALTSVC frame; |origin|/|origin_len|, the field value in
 * |data|/|len|), H2_SVC_EV_PRIORITY_UPDATED (RFC 7540 priority from a
 * HEADERS or PRIORITY frame: |depends_on|, |weight|, |exclusive|; after
 * the headers event when a HEADERS frame carried it) and
 * H2_SVC_EV_UNKNOWN_FRAME_RECEIVED (a frame of an extension type:
 * |frame_type|, |frame_flags|, the payload in |data|/|len|). With
 * |stream_ended_events| in the connection's configuration, also
 * H2_SVC_EV_STREAM_ENDED (|stream_id|), right after the headers or DATA
 * event whose |end_stream| is set.
 */
typedef enum h2_svc_event_type {
    /* The core's events keep their h2_event_type values, so H2_EV_X and
     * H2_SVC_EV_X name the same event; a switch over an h2_svc_event_type
     * written with the H2_SVC_EV_ names is checked by -Wswitch. */
    H2_SVC_EV_REQUEST_RECEIVED = H2_EV_REQUEST_RECEIVED,
    H2_SVC_EV_RESPONSE_RECEIVED = H2_EV_RESPONSE_RECEIVED,
    H2_SVC_EV_TRAILERS_RECEIVED = H2_EV_TRAILERS_RECEIVED,
    H2_SVC_EV_INFORMATIONAL_RESPONSE_RECEIVED = H2_EV_INFORMATIONAL_RESPONSE_RECEIVED,
    H2_SVC_EV_DATA_RECEIVED = H2_EV_DATA_RECEIVED,
    H2_SVC_EV_WINDOW_UPDATED = H2_EV_WINDOW_UPDATED,
    H2_SVC_EV_REMOTE_SETTINGS_CHANGED = H2_EV_REMOTE_SETTINGS_CHANGED,
    H2_SVC_EV_SETTINGS_ACKNOWLEDGED = H2_EV_SETTINGS_ACKNOWLEDGED,
    H2_SVC_EV_PING_RECEIVED = H2_EV_PING_RECEIVED,
    H2_SVC_EV_PING_ACK_RECEIVED = H2_EV_PING_ACK_RECEIVED,
    H2_SVC_EV_STREAM_ENDED = H2_EV_STREAM_ENDED,
    H2_SVC_EV_STREAM_RESET = H2_EV_STREAM_RESET,
    H2_SVC_EV_PRIORITY_UPDATED = H2_EV_PRIORITY_UPDATED,
    H2_SVC_EV_CONNECTION_TERMINATED = H2_EV_CONNECTION_TERMINATED,
    H2_SVC_EV_UNKNOWN_FRAME_RECEIVED = H2_EV_UNKNOWN_FRAME_RECEIVED,
    H2_SVC_EV_PUSHED_STREAM_RECEIVED = H2_EV_PUSHED_STREAM_RECEIVED,
    H2_SVC_EV_ALTERNATIVE_SERVICE_AVAILABLE = H2_EV_ALTERNATIVE_SERVICE_AVAILABLE,
    H2_SVC_EV_PRIORITY_UPDATE_RECEIVED = H2_EV_PRIORITY_UPDATE_RECEIVED,
    H2_SVC_EV_LIMIT_EXCEEDED = H2_EV_LIMIT_EXCEEDED,
    /* The service's own events follow. */
    /* The worker took the connection over and queued the preface. */
    H2_SVC_EV_ATTACHED = 64,
    /* The connection ended (|reason|, |error|, |error_code|); its last event. */
    H2_SVC_EV_CLOSED,
    /* h2_svc_submit_headers() opened stream |stream_id| (|user| as given).
     * Also h2_svc_open_stream(), with the stream's handle in |stream_handle|. */
    H2_SVC_EV_STREAM_OPENED,
    /* A command could not be carried out: |command|, |stream_id|, |user|,
     * |error| (an H2_E... code); |reason| is set when the connection was
     * closed. */
    H2_SVC_EV_COMMAND_FAILED,
    /* Answer to h2_svc_query_stats(): |stats| (and |user| as given). */
    H2_SVC_EV_STATS,
    /* h2_svc_push() promised stream |stream_id| on stream
     * |parent_stream_id| (|user| as given): send its response with
     * h2_svc_submit_headers(stream_id) and its body as usual. */
    H2_SVC_EV_PUSH_PROMISED,
    /* Answer to h2_svc_query_state(): |state| (and |stream_id|, |user| as
     * given). */
    H2_SVC_EV_STATE,
    /* Wake-ups (see "Wake-ups and timers" in h2/service.h): h2_svc_notify()
     * was carried out (|user| as given). */
    H2_SVC_EV_USER,
    /* The timer set by h2_svc_set_timer() expired (|user| as given). */
    H2_SVC_EV_TIMER,
} h2_svc_event_type;

/* @enum Why a connection ended (H2_SVC_EV_CLOSED) or why it refused a command. */
typedef enum h2_svc_close_reason {
    H2_SVC_CLOSE_NONE = 0, /* the connection is open */
    H2_SVC_CLOSE_GRACEFUL, /* GOAWAY exchanged and every stream finished */
    H2_SVC_CLOSE_PEER_EOF, /* the peer closed the transport (|sys_errno|: ECONNRESET or EPIPE
                              when a read or write saw it, else 0) */
    H2_SVC_CLOSE_PROTOCOL, /* the peer broke the protocol; GOAWAY sent */
    H2_SVC_CLOSE_IO,       /* the socket failed (|error| H2_EINTERNAL, errno in |sys_errno|) */
    H2_SVC_CLOSE_ABORTED,  /* h2_svc_abort() */
    H2_SVC_CLOSE_SHUTDOWN, /* h2_svc_free(), or the deadline of h2_svc_shutdown() */
    H2_SVC_CLOSE_NOMEM,    /* memory ran out for this connection */
    H2_SVC_CLOSE_TIMEOUT,  /* a timer expired: |timer| names it (h2_svc_timer) and
                              |error_code| the GOAWAY code sent, if any */
} h2_svc_close_reason;

/*
 * @enum The per-connection timers (h2_svc_conn_config), as named by the
 * |timer| field of an H2_SVC_EV_CLOSED event with reason
 * H2_SVC_CLOSE_TIMEOUT.
 */
typedef enum h2_svc_timer {
    H2_SVC_TIMER_NONE = 0,
    H2_SVC_TIMER_IDLE,     /* idle_timeout_ms: GOAWAY(NO_ERROR) sent, then closed */
    H2_SVC_TIMER_SETTINGS, /* settings_timeout_ms: GOAWAY(SETTINGS_TIMEOUT) sent, closed */
    H2_SVC_TIMER_HEADER,   /* header_timeout_ms: GOAWAY(PROTOCOL_ERROR) sent, closed */
    H2_SVC_TIMER_CLOSE,    /* close_timeout_ms: the transport was cut */
    H2_SVC_TIMER_WRITE,    /* write_timeout_ms: the transport was cut */
    H2_SVC_TIMER_FLOW,     /* flow_timeout_ms: GOAWAY(NO_ERROR) sent, then closed */
    H2_SVC_TIMER_PREFACE,  /* preface_timeout_ms: GOAWAY(PROTOCOL_ERROR) sent, closed */
    H2_SVC_TIMER_COUNT     /* how many values there are */
} h2_svc_timer;

/* @enum Commands, as named by H2_SVC_EV_COMMAND_FAILED. */
typedef enum h2_svc_command {
    H2_SVC_CMD_ATTACH = 1,
    H2_SVC_CMD_HEADERS,
    H2_SVC_CMD_DATA,
    H2_SVC_CMD_END_STREAM,
    H2_SVC_CMD_RESET,
    H2_SVC_CMD_PING,
    H2_SVC_CMD_CLOSE,
    H2_SVC_CMD_ABORT,
    H2_SVC_CMD_FEED,
    H2_SVC_CMD_ACK_DATA,
    H2_SVC_CMD_STATS,
    H2_SVC_CMD_SETTINGS,
    H2_SVC_CMD_PUSH,
    H2_SVC_CMD_PRIORITY,
    H2_SVC_CMD_PRIORITY_UPDATE,
    H2_SVC_CMD_SET_PRIORITY,
    H2_SVC_CMD_INCREMENT_WINDOW,
    H2_SVC_CMD_QUERY_STATE,
    /* h2_svc_send_altsvc() */
    H2_SVC_CMD_ALTSVC,
    H2_SVC_CMD_NOTIFY,    /* h2_svc_notify() */
    H2_SVC_CMD_SET_TIMER, /* h2_svc_set_timer() */
    H2_SVC_CMD_RESPOND,   /* h2_svc_respond(), until its HEADERS went out */
} h2_svc_command;

/*
 * @struct Counters of one connection since it was attached, kept by its
 * worker. Carried by H2_SVC_EV_STATS and by H2_SVC_EV_CLOSED (final
 * values).
 */
typedef struct h2_svc_conn_stats {
    uint64_t bytes_in;           /* bytes received from the transport (or fed) */
    uint64_t bytes_out;          /* bytes the transport took (or given to on_output) */
    uint64_t frames_in;          /* frames received (the core's h2_conn_stats) */
    uint64_t frames_out;         /* frames queued for sending (the core's count) */
    uint64_t streams_opened;     /* streams opened by either side, pushes included (the core's) */
    uint64_t events;             /* events delivered to the application */
    uint64_t commands;           /* commands taken (carried out or answered by COMMAND_FAILED) */
    uint32_t pending_high_water; /* most events held at once waiting for queue room */
} h2_svc_conn_stats;

/*
 * @struct
 *
 * A snapshot of one connection's protocol state, taken by its worker for
 * h2_svc_query_state() and carried by H2_SVC_EV_STATE (|state|). Allocated
 * by the library with the event and read through a pointer: it lives
 * exactly as long as the event, and so does every array it points to.
 * Every value was read from the core at one instant, between two of its
 * calls, so the values agree with each other.
 *
 * It may grow at the end in later releases (the ABI policy in
 * h2/version.h): |size| is sizeof the struct as the library was built, so
 * a program compiled against a later release reads a field only when
 * |size| covers it.
 *
 * Windows follow the core (h2's local_flow_control_window and
 * remote_flow_control_window): a stream's is the smaller of the
 * connection's and the stream's own.
 */
typedef struct h2_svc_conn_state {
    size_t size;          /* sizeof(h2_svc_conn_state) as the library was built */
    int32_t send_window;  /* what we may send now on the connection (h2_conn_send_window(0));
                             may be negative after the peer lowered INITIAL_WINDOW_SIZE */
    int32_t recv_window;  /* what the peer may still send us (h2_conn_recv_window(0)) */
    uint32_t stream_id;   /* the stream asked about, 0 when none was */
    /* With a stream id: its h2_state (h2_conn_stream_state(): idle above the
     * highest id of its parity opened so far, closed below it); 0
     * (H2_STATE_IDLE) when |stream_id| is 0. */
    int stream_state;
    /* With a closed stream: how it ended (h2_closed_by,
     * h2_conn_stream_closed_by()); otherwise -1. */
    int stream_closed_by;
    /* 0 when the stream's windows below are valid (the stream is open,
     * half-closed or reserved); H2_ESTREAM_CLOSED or H2_ENOSTREAM as the core
     * says otherwise (both windows are then 0); H2_EINVAL when |stream_id| is
     * 0. */
    int stream_window_error;
    int32_t stream_send_window; /* h2_conn_send_window(stream_id) */
    int32_t stream_recv_window; /* h2_conn_recv_window(stream_id) */
    uint32_t highest_inbound_stream_id;  /* h2_conn_highest_inbound_stream_id() */
    uint32_t highest_outbound_stream_id; /* h2_conn_highest_outbound_stream_id() */
    uint32_t max_inbound_frame_size;     /* h2_conn_max_inbound_frame_size() */
    uint32_t max_outbound_frame_size;    /* h2_conn_max_outbound_frame_size() */
    size_t open_inbound_streams;         /* h2_conn_open_inbound_streams() */
    size_t open_outbound_streams;        /* h2_conn_open_outbound_streams() */
    size_t settings_unacked; /* SETTINGS frames of ours not acknowledged yet
                                (h2_conn_settings_unacked()) */
    /* Our settings in force (acknowledged by the peer): one entry for each
     * setting the library knows (the ids of h2_setting_id, in increasing
     * order), h2_conn_setting(conn, false, id). */
    const h2_setting *local;
    size_t n_local;
    /* The peer's settings, the same ids in the same order
     * (h2_conn_setting(conn, true, id)); H2_SETTING_UNSET for
     * MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE when the peer never
     * sent them. */
    const h2_setting *remote;
    size_t n_remote;
    /* Our settings sent and not acknowledged yet, every entry of every
     * pending SETTINGS frame, oldest frame first (h2_conn_pending_settings());
     * NULL when |n_pending| is 0. An id may appear more than once: the last
     * one is the value it will have. */
    const h2_setting *pending;
    size_t n_pending;
} h2_svc_conn_state;

/*
 * @struct
 *
 * One event. Owned by the application from the moment it is taken from a
 * queue or passed to a callback until h2_svc_event_release(); every pointer
 * inside lives exactly as long as the event.
 */
typedef struct h2_svc_event {
    h2_svc_event_type type;    /* the core's events keep their h2_event_type values */
    h2_svc_conn_id conn;       /* the connection */
    void *conn_user;           /* |user| of the connection's configuration */
    uint32_t stream_id;        /* 0 for connection-level events */
    uint64_t user;             /* STREAM_OPENED, COMMAND_FAILED, USER, TIMER: the command's tag */
    int command;               /* COMMAND_FAILED: h2_svc_command */
    int error;                 /* COMMAND_FAILED, CLOSED: 0 or an H2_E... code */
    int reason;                /* CLOSED, COMMAND_FAILED: h2_svc_close_reason */
    int sys_errno;             /* CLOSED with H2_SVC_CLOSE_IO or _PEER_EOF: the errno */
    int timer;                 /* CLOSED with H2_SVC_CLOSE_TIMEOUT: h2_svc_timer */
    uint32_t error_code;       /* STREAM_RESET, CONNECTION_TERMINATED, CLOSED: wire code */
    uint32_t last_stream_id;   /* CONNECTION_TERMINATED */
    uint32_t parent_stream_id; /* PUSH_PROMISED */
    int limit;                 /* LIMIT_EXCEEDED: h2_limit */
    bool limit_connection;     /* LIMIT_EXCEEDED: GOAWAY sent (else RST_STREAM) */
    bool end_stream;           /* headers and DATA events: the peer ended the stream */
    bool remote;               /* STREAM_RESET: the peer reset it (false: we did) */
    const h2_header *fields;   /* headers events: |n_fields| fields */
    size_t n_fields;
    const uint8_t *data; /* DATA payload (no padding); GOAWAY debug data */
    size_t len;
    size_t flow_controlled_length; /* DATA: what releasing acknowledges (what to pass to
                                      h2_svc_ack_data() with |manual_flow_control|) */
    uint8_t ping[8];               /* PING_ACK_RECEIVED, PING_RECEIVED (trace) */
    h2_svc_conn_stats stats;       /* STATS, CLOSED: the connection's counters */
    /* STATS, CLOSED: all of the core's counters at that moment
     * (h2_conn_get_stats()): resets, glitches, request slots taken and how
     * often each abuse limit tripped (|limit_exceeded|, indexed by
     * h2_limit); all 0 for a connection that never started. NULL for
     * other events. Lives as long as the event. */
    const h2_conn_stats *core_stats;
    /* |trace| connections only: REMOTE_SETTINGS_CHANGED and
     * SETTINGS_ACKNOWLEDGED list their settings here; WINDOW_UPDATED gives
     * its increment (|stream_id| 0: the connection window). */
    const h2_changed_setting *settings;
    size_t n_settings;
    uint32_t window_delta;
    /* STREAM_OPENED of a stream opened with h2_svc_open_stream(): its
     * handle (|stream_id| is the real id); COMMAND_FAILED of a command
     * posted with a handle (or of the open itself, |stream_id| then 0):
     * that handle. 0 otherwise. */
    uint32_t stream_handle;
    /* STATE: the snapshot asked for by h2_svc_query_state(); NULL for
     * other events. Lives as long as the event. */
    const h2_svc_conn_state *state;
    /* Frames passed on since 0.2 (appended: see the ABI policy). */
    /* ALTERNATIVE_SERVICE_AVAILABLE: the ALTSVC frame's origin, NULL (and
     * |origin_len| 0) on a stream, where the alternative applies to the
     * origin of that stream's request; the Alt-Svc field value, unparsed,
     * is in |data|/|len| (NULL and 0 when empty). Lives as long as the
     * event. */
    const uint8_t *origin;
    size_t origin_len;
    /* UNKNOWN_FRAME_RECEIVED: the frame's type and flags; its payload is in
     * |data|/|len|. */
    uint8_t frame_type;
    uint8_t frame_flags;
    /* PRIORITY_UPDATED: the RFC 7540 priority a HEADERS or PRIORITY frame
     * gave |stream_id|: |depends_on|, |weight| (1..256), |exclusive|. */
    bool exclusive;
    uint16_t weight;
    uint32_t depends_on;
} h2_svc_event;

/*
 * @function Releases |ev| (NULL is allowed). For a DATA event this also
 * acknowledges its flow-controlled length to the connection's worker, which
 * then reopens the windows (h2_conn_ack_data()); a server's STREAM_RESET
 * frees its request slot the same way. On a connection with
 * |manual_flow_control| a DATA event is only freed: its bytes count as
 * processed once the application says so with h2_svc_ack_data(). Any thread, at any time: an event
 * released after its connection ended, or after h2_svc_free() of its
 * service, is only freed. Takes no lock.
 */
H2_API void h2_svc_event_release(h2_svc_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* H2_SERVICE_EVENTS_H */
