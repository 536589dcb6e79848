/*
 * Service: the connection record and its calls, grouped by the file that
 * defines them. Everything in a connection is touched by its worker only.
 * Connection calls of other jobs sit with them: svc_conn_touch()
 * (svc_worker.h), svc_conn_execute() (svc_dispatch.h),
 * svc_conn_timers_update() (svc_timer.h), svc_conn_prepare() and
 * svc_conn_post_attach() (svc_attach.h), svc_conn_new_id() (svc_live.h).
 */
#ifndef H2_SERVICE_SVC_CONN_H
#define H2_SERVICE_SVC_CONN_H

#include "h2/service.h"
#include "service/sched.h"
#include "service/svc_map.h"
#include "service/svc_prio.h"
#include "service/svc_record.h"
#include "service/svc_timer.h"

typedef struct svc_worker svc_worker;

struct svc_live;

/* A stream with sends waiting for flow-control window or output room. */
typedef struct svc_stream {
    uint32_t id;
    svc_cmd_list fifo;       /* DATA, END_STREAM, trailers, in order */
    struct svc_stream *next; /* the connection's active list */
    struct svc_stream *prev; /* ... and back */
    svc_sched_node node;     /* its place in the connection's scheduler */
} svc_stream;

typedef struct svc_conn {
    uint8_t poll_kind; /* SVC_POLL_CONN: must stay first */
    h2_svc_conn_id id;
    struct svc_worker *worker;
    h2_conn *conn;
    int fd; /* fd mode: the socket; feed mode: -1 */
    h2_svc_queue *queue;
    h2_svc_event_fn on_event;
    h2_svc_output_fn on_output;
    void *user;

    svc_event_rec *closed_ev; /* allocated at attach: CLOSED never needs memory */
    svc_ev_list pending;      /* events waiting for room in the queue */
    svc_cmd_list deferred;    /* commands waiting for output room */
    svc_cmd_list opening;     /* new streams (HEADERS, id 0) waiting for a stream slot */
    svc_cmd_list feed;        /* feed mode: input held while events are pending */
    svc_cmd_list released;    /* DATA whose last frame left the output: to answer */
    svc_map streams;          /* stream id -> svc_stream with held sends */
    svc_stream *active;       /* streams with held sends (sent in |sched| order) */
    svc_stream *active_tail;
    /* The order |active| streams send in (RFC 9218); allocated with the
     * first stream that holds sends, NULL before. */
    svc_sched *sched;
    svc_prio_tab prio; /* priority signals of streams (svc_prio.h) */

    uint32_t epoll_mask;        /* events registered with epoll */
    int reason;                 /* h2_svc_close_reason once finished, else 0 */
    bool closing;               /* graceful close asked for */
    bool dirty;                 /* in the worker's dirty list */
    bool in_blocked;            /* in the worker's blocked list */
    bool write_blocked;         /* the socket returned EAGAIN on write */
    bool registered;            /* fd mode: the socket is in the epoll set */
    bool output_full;           /* the last pump stopped at the output high-water mark */
    bool hangup;                /* fd mode: epoll reported HUP or ERR while events were pending */
    bool initiated;             /* the preface is queued (upgrade: done at attach) */
    bool server;                /* the server side */
    bool trace;                 /* deliver connection-level events too */
    bool stream_ended_events;   /* deliver H2_SVC_EV_STREAM_ENDED too */
    h2_conn_stats *closed_core; /* the core's counters in |closed_ev| */
    /* The core's counts already added to the worker's counters. */
    uint64_t seen_frames_in, seen_frames_out, seen_streams;

    /* fd mode with a transport hook */
    h2_svc_transport tr;
    bool has_tr;
    unsigned read_wait;  /* epoll bits a read waits for after H2_EAGAIN */
    unsigned write_wait; /* epoll bits a write waits for after H2_EAGAIN */

    /* Bytes to feed before anything read (attach; freed once fed). */
    uint8_t *initial;
    size_t initial_len;

    /* Timers (milliseconds; 0: off) and their state (svc_now_ms() ms). */
    uint32_t idle_ms, settings_ms, header_ms, close_ms, write_ms, flow_ms, preface_ms;
    int64_t last_active;     /* bytes received or a stream open */
    int64_t settings_since;  /* SETTINGS unacknowledged since, or -1 */
    int64_t header_since;    /* header block pending since, or -1 */
    int64_t preface_since;   /* the peer's preface and first SETTINGS awaited since, or -1 */
    int64_t close_since;     /* graceful close or GOAWAY received at, or -1 */
    int64_t write_since;     /* output pending without progress since, or -1 */
    int64_t flow_since;      /* held DATA blocked by the peer's windows since, or -1 */
    uint64_t flow_sent;      /* held DATA bytes sent so far */
    uint64_t flow_base;      /* |flow_sent| when the current stall interval began */
    uint64_t flow_floor;     /* bytes to send per flow_ms interval (at least 1) */
    size_t settings_unacked; /* h2_conn_settings_unacked() when last looked at */
    bool got_settings;       /* the peer's first SETTINGS arrived */
    bool goaway_received;
    svc_timer timer;      /* the earliest armed deadline */
    h2_svc_conn_stats st; /* counters (frames: read from the core when asked) */
    uint32_t n_pending;   /* events in |pending| */
    int timeout;          /* the h2_svc_timer that ended the connection, or 0 */
    uint32_t goaway_code; /* CLOSED: the code of a GOAWAY the service sent itself */
    bool has_goaway_code;
    struct svc_conn *dirty_next;
    struct svc_conn *blocked_next;
    /* Ending: CLOSED (in |closed_ev|) waits until every command posted
     * before the end was handled (svc_live). */
    struct h2_svc *svc;
    struct svc_live *live;  /* the id's entry, or NULL */
    bool close_wait;        /* in the worker's |closing| list */
    bool closed_sent;       /* CLOSED delivered: |queue| is not touched again */
    bool drain_seen;        /* whole-service shutdown: the GOAWAY was queued */
    uint64_t close_ticket;  /* commands the worker must have handled first, or 0 */
    struct svc_conn *close_next;
    /* Stream handles (svc_handles.c), allocated at the first one; or NULL. */
    struct svc_handles *handles;
    /* |manual_flow_control|: a released DATA event acknowledges nothing;
     * only ACK_DATA and INCREMENT_WINDOW commands open the windows. */
    bool manual_flow;
    /* The user timer (h2_svc_set_timer(), svc_wake.h): its heap slot and
     * the command block that becomes its TIMER event, or NULL. */
    svc_timer user_timer;
    svc_cmd *user_timer_cmd;
} svc_conn;

/* ---- conn_life.c: attach to CLOSED ---- */

/* Takes over |c| (prepared by svc_conn_prepare()) on worker |w|. */
void svc_worker_attach(svc_worker *w, svc_conn *c);

/* The connection |id| names on |w|: a live one, or an ended one whose
 * CLOSED waits; NULL when none. */
svc_conn *svc_worker_conn(svc_worker *w, h2_svc_conn_id id);

/* Ends |c| for |reason| (fails held commands, emits CLOSED, closes the transport). */
void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno);

/*
 * Ends |c| because |timer| (h2_svc_timer) expired: queues GOAWAY(|code|)
 * first when |goaway|, then finishes with H2_SVC_CLOSE_TIMEOUT.
 */
void svc_conn_timeout(svc_conn *c, int timer, bool goaway, uint32_t code);

/* Whole-service shutdown: GOAWAY(NO_ERROR) on |c|; open streams may finish. */
void svc_conn_drain(svc_conn *c);

/* Emits the CLOSED of every ended connection of |w| that may have it now. */
void svc_worker_settle_closing(svc_worker *w);

/* True when an ended connection of |w| can have its CLOSED (checked before sleeping). */
bool svc_worker_closing_due(svc_worker *w);

/* The counters of |c| now, and the core's in |*core| (zeros once the core
 * is gone). */
void svc_conn_stats_now(const svc_conn *c, h2_svc_conn_stats *out, h2_conn_stats *core);

/* Adds what the core counted (|core|, its counters now) since the last call
 * to the worker's counters. */
void svc_conn_count_core(svc_conn *c, const h2_conn_stats *core);

/* Frees a connection that never reached a worker, or a finished one. */
void svc_conn_destroy(svc_conn *c);

/* ---- conn_deliver.c: delivering events ---- */

/* Delivers |rec| for |c| (queue or callback), or keeps it pending. */
void svc_conn_emit(svc_conn *c, svc_event_rec *rec);

/* Worker: delivers what blocked connections hold, as far as their queues take it. */
void svc_worker_retry_blocked(svc_worker *w);

/* Wakes the consumers of the queues that took events since the last
 * flush; the worker calls it before it may block, and at the end of each
 * turn. */
void svc_worker_flush_wakes(svc_worker *w);

/* ---- conn_events.c: received bytes and the core's events ---- */

/* Feeds received bytes to the core and passes its events on. */
void svc_conn_receive(svc_conn *c, const uint8_t *data, size_t len);

/* ---- conn_events_frames.c: ALTSVC, PRIORITY, unknown frames, stream ends ---- */

/*
 * The record for an ALTERNATIVE_SERVICE_AVAILABLE, PRIORITY_UPDATED,
 * UNKNOWN_FRAME_RECEIVED or STREAM_ENDED event; NULL when memory ran out,
 * or with |*skip| set when the event is not passed on (STREAM_ENDED
 * without |stream_ended_events|).
 */
svc_event_rec *svc_conn_frame_event(svc_conn *c, const h2_event *ev, bool *skip);

/* ---- worker_io.c: the transport ---- */

/* Brings the epoll registration of |c| in line with what it waits for. */
void svc_conn_update_epoll(svc_conn *c);

/* Writes queued output; returns false when the connection failed. */
bool svc_conn_flush(svc_conn *c);

/* fd mode: reads what the transport has and feeds it to the core. */
void svc_conn_readable(svc_conn *c);

/* fd mode: epoll reported |events| for |c|. */
void svc_conn_io(svc_conn *c, uint32_t events);

/* True when reading |c| is allowed and its transport holds buffered bytes. */
bool svc_conn_tr_pending(svc_conn *c);

/* Feed mode: handles a FEED command now or holds it behind pending events. */
void svc_conn_feed_cmd(svc_conn *c, svc_cmd *cmd);

/* Feed mode: processes held FEED commands while no event is pending. */
void svc_conn_feed_held(svc_conn *c);

/* Closes the transport once (hook's close, then the socket); fd becomes -1. */
void svc_conn_close_transport(svc_conn *c);

/* ---- worker_send.c: held sends ---- */

/*
 * A new stream (HEADERS with id 0): opens it, or holds it in the opening
 * FIFO (no slot, or earlier new streams wait). False when it must wait for
 * output room instead.
 */
bool svc_conn_open_stream(svc_conn *c, svc_cmd *cmd);

/* HEADERS (trailers) for a stream with held sends: queued behind them (true),
 * or false when the stream holds nothing. */
bool svc_conn_hold_behind(svc_conn *c, svc_cmd *cmd);

/* DATA or END_STREAM: joins its stream's FIFO (or fails for lack of memory). */
void svc_conn_hold_send(svc_conn *c, svc_cmd *cmd);

/* RESET: fails what stream |stream_id| holds and forgets it. */
void svc_conn_drop_stream(svc_conn *c, uint32_t stream_id);

/* Sends what held commands and windows allow; true when something moved. */
bool svc_conn_pump(svc_conn *c);

/* RESPOND |cmd|: sends its HEADERS, then sends or holds its body as DATA
 * (or answers it when it has none). 0, or the core's refusal of the
 * HEADERS (H2_ENOBUFS: the output is full), with nothing sent. */
int svc_conn_respond(svc_conn *c, svc_cmd *cmd);

/*
 * Answers the DATA commands whose payload the output no longer points at
 * (their frames were written, or the output was thrown away). Called after
 * every h2_conn_output_consume() and h2_conn_free() of the connection.
 */
void svc_conn_settle_output(svc_conn *c);

/* Fails every held command of |c| (the connection ended for |reason|). */
void svc_conn_drop_held(svc_conn *c, int reason);

#endif /* H2_SERVICE_SVC_CONN_H */
