/*
 * Service internals: commands, event records, connections and workers.
 *
 * Threads: a command record is built by an application thread, posted to a
 * worker's mailbox and from then on belongs to that worker. An event record
 * is built by a worker and belongs to the application once delivered.
 * Everything under svc_worker and svc_conn is touched by the owning worker
 * only, except the fields marked "any thread".
 */
#ifndef H2_SERVICE_SVC_INTERNAL_H
#define H2_SERVICE_SVC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "h2/service.h"
#include "service/mailbox.h"
#include "service/svc_map.h"

struct svc_worker;

/*
 * Where released DATA and STREAM_RESET events go back to a worker. It is
 * reference counted (one for the worker, one per event that points to it)
 * so that an event released after its service was freed finds it still
 * allocated: the release then only frees the record. |users| counts
 * releasing threads between their look at |closed| and their wake-up of
 * the worker, so the worker's mailbox is not destroyed under them.
 */
typedef struct svc_retbox {
    _Atomic(struct svc_event_rec *) head; /* released events, a stack */
    atomic_uint_fast64_t refs;
    atomic_int users;
    atomic_bool closed; /* the worker is gone: release frees the record */
    h2_mailbox *mb;     /* the worker's mailbox, valid while !closed */
    h2_mem mem;
} svc_retbox;

/*
 * An entry of the service's table of live connection ids (service.c). An
 * id names its entry; |key| holds the id's upper bits while the
 * connection accepts commands, 0 once it ended. |posters| counts posting
 * threads between their look at |key| and the end of their post: a
 * connection's CLOSED waits until it is 0 and its worker has handled
 * every command posted before.
 */
typedef struct svc_live {
    atomic_uint_fast64_t key;
    atomic_int posters;
    /* The connection's share of the hold budgets (svc_hold.c): FEED bytes
     * and copied DATA bytes posted and not yet processed or sent. */
    atomic_size_t feed;
    atomic_size_t send;
    uint32_t gen;       /* generation of the next id (under the table lock) */
    uint32_t next_free; /* free list link + 1, or 0 */
} svc_live;

/*
 * An event record: the public event first, then what release needs. A DATA
 * event with a flow-controlled length goes back to its worker on release
 * (|ack_worker|), which acknowledges it and frees the record; so does a
 * server's STREAM_RESET, whose release frees the request's slot. Every
 * other record is freed by the releasing thread.
 */
typedef struct svc_event_rec {
    h2_svc_event pub;
    h2_mem mem;                    /* allocator of this record */
    struct svc_retbox *ack_worker; /* DATA to acknowledge, STREAM_RESET (servers) to
                                      free the request slot of, else NULL; holds a
                                      reference (svc_event_hold_ack()) */
    struct svc_event_rec *next;    /* pending lists and the return stack */
    void *block;                   /* the allocation to free (the record or its command) */
} svc_event_rec;

/*
 * A command. It begins with an event record so that a failure can be
 * reported without allocating: the record is filled in and delivered, and
 * the whole block is freed when the application releases that event.
 */
typedef struct svc_cmd {
    svc_event_rec ev; /* used only when the command fails */
    int kind;         /* h2_svc_command */
    h2_svc_conn_id conn;
    uint32_t stream_id;
    uint32_t flags; /* H2_SEND_END_STREAM */
    uint32_t error_code;
    uint64_t user;
    struct svc_conn *attach;       /* H2_SVC_CMD_ATTACH: the prepared connection */
    struct svc_listener *listener; /* H2_SVC_CMD_LISTEN */
    h2_header *fields;             /* HEADERS: copied into the same block */
    size_t n_fields;
    const uint8_t *data; /* DATA, FEED: the payload (copied into the block, or by reference) */
    size_t len;
    size_t off;                /* DATA, FEED: bytes already consumed */
    h2_svc_release_fn release; /* by reference: called once when done */
    void *release_user;
    uint8_t ping[8];
    atomic_size_t *hold_count; /* FEED, copied DATA: the worker counter holding |len|, or NULL */
    atomic_size_t *hold_conn;  /* ... and the connection's (its svc_live entry), or NULL */
    h2_priority_args prio;     /* PRIORITY */
    bool has_prio;
    struct svc_cmd *next; /* stream and connection FIFOs */
} svc_cmd;

/* A FIFO of commands. */
typedef struct svc_cmd_list {
    svc_cmd *head;
    svc_cmd *tail;
} svc_cmd_list;

/* A FIFO of event records. */
typedef struct svc_ev_list {
    svc_event_rec *head;
    svc_event_rec *tail;
} svc_ev_list;

/* What a poster charged: the counters to give back on failure. */
typedef struct svc_hold {
    atomic_size_t *worker;
    atomic_size_t *conn;
} svc_hold;

enum { SVC_HOLD_FEED, SVC_HOLD_SEND };

/* A stream with sends waiting for flow-control window or output room. */
typedef struct svc_stream {
    uint32_t id;
    svc_cmd_list fifo;       /* DATA, END_STREAM, trailers, in order */
    struct svc_stream *next; /* the connection's active list */
} svc_stream;

/* What an epoll registration points to: the first member of each owner. */
enum { SVC_POLL_CONN = 1, SVC_POLL_LISTENER };

/*
 * A slot in a worker's timer heap: |deadline| in service clock (svc_now_ms())
 * milliseconds, |index| its position in the heap (SVC_TIMER_NONE: not in
 * it). Embedded in connections and listeners.
 */
#define SVC_TIMER_NONE UINT32_MAX
typedef struct svc_timer {
    int64_t deadline;
    uint32_t index;
    uint8_t kind; /* SVC_POLL_CONN or SVC_POLL_LISTENER: the owner */
} svc_timer;

typedef struct svc_timer_heap {
    svc_timer **items;
    uint32_t count;
    uint32_t cap;
} svc_timer_heap;

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
    svc_map streams;          /* stream id -> svc_stream with held sends */
    svc_stream *active;       /* streams with held sends, round robin */
    svc_stream *active_tail;

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
    svc_live *live;         /* the id's entry, or NULL */
    bool close_wait;        /* in the worker's |closing| list */
    bool closed_sent;       /* CLOSED delivered: |queue| is not touched again */
    bool drain_seen;        /* whole-service shutdown: the GOAWAY was queued */
    uint64_t close_ticket;  /* commands the worker must have handled first, or 0 */
    struct svc_conn *close_next;
} svc_conn;

/* A listening socket, owned by one worker. */
typedef struct svc_listener {
    uint8_t poll_kind; /* SVC_POLL_LISTENER: must stay first */
    int fd;
    h2_svc_conn_config cfg; /* copied; pointer fields other than |transport| cleared */
    h2_svc_transport tr;    /* |cfg.transport| points here when set */
    h2_svc_accept_fn on_accept;
    void *accept_user;
    bool paused;     /* out of the epoll set after EMFILE and the like */
    svc_timer timer; /* resumes a paused listener */
    struct svc_listener *next;
    /* |cfg| in the layout given to h2_svc_listen(), and room for the
     * copy each accept callback gets; both in the listener's allocation
     * (svc_config.c). */
    unsigned char *cfg_raw;
    unsigned char *cfg_scratch;
} svc_listener;

/* Worker counters: written by the worker only, read by any thread. */
typedef struct svc_worker_counters {
    atomic_uint_fast64_t connections_total;
    atomic_uint_fast64_t connections;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t commands;
    atomic_uint_fast64_t events;
    atomic_uint_fast64_t loops;
    atomic_uint_fast64_t timeouts;
    atomic_uint_fast64_t timer_expired[H2_SVC_TIMER_COUNT];
    atomic_uint_fast64_t frames_in;
    atomic_uint_fast64_t frames_out;
    atomic_uint_fast64_t streams_opened;
} svc_worker_counters;

/* Worker: adds |n| to a counter only it writes. */
static inline void svc_count(atomic_uint_fast64_t *a, uint64_t n)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* States of a dedicated worker slot. */
enum { SVC_SLOT_FREE = 0, SVC_SLOT_STARTING, SVC_SLOT_LIVE, SVC_SLOT_DRAINING, SVC_SLOT_EXITED };

struct svc_worker;

/*
 * A slot for a dedicated worker (a worker thread for one connection).
 * |state| and |posters| are touched by any thread: a poster counts itself
 * in |posters|, then posts to the worker only while it is LIVE; a worker
 * that leaves sets DRAINING, waits for |posters| to reach 0 and answers
 * what its ring still holds, so no command is left unanswered.
 */
typedef struct svc_slot {
    atomic_int state;
    atomic_int posters;
    _Atomic(struct svc_worker *) worker; /* allocated on first use, freed with the service */
} svc_slot;

typedef struct svc_worker {
    struct h2_svc *svc;
    unsigned index;               /* worker index, or SVC_ID_DEDICATED | slot index */
    svc_slot *slot;               /* dedicated workers: their slot, else NULL */
    bool served;                  /* dedicated: its connection was attached */
    struct svc_worker *reap_next; /* dedicated: in the service's list of threads to join */
    pthread_t thread;
    atomic_bool started; /* |thread| runs or ran, not joined yet (see service_dedicated.c) */
    h2_mailbox mb;
    int epfd;
    uint8_t *rbuf;
    size_t rbuf_size;
    svc_map conns;
    svc_conn *dirty;   /* connections to pump and flush this turn */
    svc_conn *blocked; /* connections whose events wait for queue room */
    bool stopping;     /* shutdown: deliver events whatever the queues' fill */
    svc_timer_heap timers;
    int64_t now; /* svc_now_ms(), refreshed each turn */
    svc_listener *listeners;
    uint32_t n_listeners;
    svc_worker_counters count;
    atomic_bool room;         /* any thread: a queue this worker waits on has room again */
    bool retry_now;           /* a queue was drained while this worker registered */
    bool timed_retry;         /* a queue had no registration slot left: retry on a timer */
    atomic_size_t feed_bytes; /* any thread: FEED bytes posted here and not yet processed */
    atomic_size_t send_bytes; /* any thread: copied DATA bytes posted here and not yet sent */
    svc_retbox *ret;    /* released DATA and STREAM_RESET events (any thread) */
    atomic_bool stop;   /* any thread: set by h2_svc_free() */
    svc_conn *closing;  /* ended connections whose CLOSED waits for posts in flight */
    svc_conn **closing_tail; /* the last |close_next| of |closing| (when not empty) */
    uint64_t drained;   /* commands taken from the ring so far */
    uint64_t handled;   /* ... and carried out or answered */
    bool draining;      /* whole-service shutdown seen: GOAWAY sent everywhere */
    bool cut;           /* whole-service shutdown deadline seen */
} svc_worker;

struct h2_svc {
    h2_mem mem;
    unsigned n_workers;
    svc_worker *workers;
    h2_svc_queue *queue; /* destination for events of unknown connections */
    h2_svc_event_fn on_event;
    void *on_event_user;
    size_t read_buffer_size;
    atomic_uint_fast64_t next_id; /* any thread */
    atomic_uint next_worker;      /* any thread: round robin */
    svc_slot *slots;              /* dedicated workers */
    _Atomic(svc_worker *) reap;   /* any thread: dedicated workers that left, to be joined */
    unsigned n_slots;
    uint32_t mailbox_capacity;
    int post_wait_ms;
    size_t feed_hold_limit;
    size_t send_hold_limit;
    size_t feed_hold_conn_limit;
    size_t send_hold_conn_limit;
    bool tcp_nodelay; /* h2_svc_config.tcp_nodelay */
    atomic_bool closing; /* h2_svc_free() has begun: no new dedicated threads */
    h2_svc_clock_fn clock; /* timers' clock; NULL: CLOCK_MONOTONIC */
    void *clock_user;
    /* Live connection ids (service.c): chunks of entries, allocated as
     * needed and kept until the service is freed; a free list under
     * |live_lock|. */
    _Atomic(svc_live *) *live_chunks;
    pthread_mutex_t live_lock;
    uint32_t live_used;           /* entries handed out at least once */
    uint32_t live_free;           /* free list head + 1, or 0 */
    atomic_uint_fast64_t n_live;  /* connections not destroyed yet */
    /* Whole-service shutdown (h2_svc_shutdown()). */
    atomic_int drain;             /* 0, SVC_DRAIN_GOAWAY, SVC_DRAIN_CUT */
    atomic_int_fast64_t drain_deadline;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;
    atomic_bool drain_waiting;    /* a shutdown waits for n_live to reach 0 */
};

enum { SVC_DRAIN_GOAWAY = 1, SVC_DRAIN_CUT = 2 };

/* ---- events (svc_queue.c) ---- */

/* Allocates an event record with |extra| bytes after it (returned in |*tail|). */
svc_event_rec *svc_event_alloc(const h2_mem *mem, size_t extra, uint8_t **tail);

/*
 * Offers |rec| to |q|; returns false when the queue is full (the record
 * stays with the caller). With |force|, the queue takes it beyond its
 * capacity and this returns true.
 */
bool svc_queue_offer(h2_svc_queue *q, svc_event_rec *rec, bool force);

/*
 * Offers a connection's last event (CLOSED) beyond the capacity if need
 * be. The application may free |q| as soon as it took |rec|: a free that
 * meets this call under way waits for it to return.
 */
void svc_queue_offer_last(h2_svc_queue *q, svc_event_rec *rec);

/*
 * Worker: |w| found |q| full. Registers |w| to be woken when the consumer
 * frees room; returns 0, or -1 when the registry is full (retry on a
 * timer). |epoch| is svc_queue_epoch() read before the failed offer: when
 * it changed meanwhile, sets w->retry_now.
 */
int svc_queue_watch(h2_svc_queue *q, struct svc_worker *w, uint64_t epoch);

/* Worker: withdraws the registration of |w| (none of its blocked connections uses |q|). */
void svc_queue_unwatch(h2_svc_queue *q, struct svc_worker *w);

/*
 * For tests: makes h2_svc_queue_poll() call |fn|(|arg|) on the consumer's
 * thread between its look at the overflow stack and its look at the ring
 * (NULL |fn|: none, the default). |arg| belongs to the caller.
 */
void svc_queue_set_poll_hook(h2_svc_queue *q, h2_mailbox_hook fn, void *arg);

/* Drains so far (changes each time the consumer takes events). */
uint64_t svc_queue_epoch(h2_svc_queue *q);

/* Frees a record without acknowledging anything (drops its reference to a retbox). */
void svc_event_free(svc_event_rec *rec);

/* Worker: |rec| goes back to |w| when released (takes a reference to w->ret). */
void svc_event_hold_ack(svc_event_rec *rec, struct svc_worker *w);

/* Drops the acknowledgement of |rec| (and its retbox reference). */
void svc_event_drop_ack(svc_event_rec *rec);

/* A retbox for the mailbox |mb|; NULL: no memory. */
svc_retbox *svc_retbox_new(const h2_mem *mem, h2_mailbox *mb);

/* Worker: takes the released records (a LIFO stack), or NULL. */
svc_event_rec *svc_retbox_take(svc_retbox *box);

/* The worker is going away: later releases free their records; frees what
 * was returned and drops the worker's reference. */
void svc_retbox_close(svc_retbox *box);

/* Internal command kinds, after the public h2_svc_command values. */
enum { SVC_CMD_LISTEN = 100 };

/* ---- worker (worker.c) ---- */

void *svc_worker_main(void *arg);

/* True on a worker thread of |svc|. */
bool svc_on_worker_thread(const h2_svc *svc);

/* True on a worker thread of any service (and while any service's shutdown
 * sweep runs callbacks): posting calls made there never wait for room. */
bool svc_on_any_worker_thread(void);

/* True on the thread that runs the loop of |w| (its event callbacks included). */
bool svc_on_own_worker(const svc_worker *w);

/* Delivers |rec| for |c| (queue or callback), or keeps it pending. */
void svc_conn_emit(svc_conn *c, svc_event_rec *rec);

/* Marks |c| to be pumped and flushed before the worker sleeps. */
void svc_conn_touch(svc_conn *c);

/* Ends |c| for |reason| (fails held commands, emits CLOSED, closes the transport). */
void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno);

/*
 * Ends |c| because |timer| (h2_svc_timer) expired: queues GOAWAY(|code|)
 * first when |goaway|, then finishes with H2_SVC_CLOSE_TIMEOUT.
 */
void svc_conn_timeout(svc_conn *c, int timer, bool goaway, uint32_t code);

/* The counters of |c| now, and the core's in |*core| (zeros once the core
 * is gone). */
void svc_conn_stats_now(const svc_conn *c, h2_svc_conn_stats *out, h2_conn_stats *core);

/* Adds what the core counted (|core|, its counters now) since the last call
 * to the worker's counters. */
void svc_conn_count_core(svc_conn *c, const h2_conn_stats *core);

/* Frees a connection that never reached a worker, or a finished one. */
void svc_conn_destroy(svc_conn *c);

/* Takes over |c| (prepared by svc_conn_prepare()) on worker |w|. */
void svc_worker_attach(svc_worker *w, svc_conn *c);

/* ---- transport (worker_io.c) ---- */

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

/* Feeds received bytes to the core and passes its events on. */
void svc_conn_receive(svc_conn *c, const uint8_t *data, size_t len);

/* Feed mode: handles a FEED command now or holds it behind pending events. */
void svc_conn_feed_cmd(svc_conn *c, svc_cmd *cmd);

/* Feed mode: processes held FEED commands while no event is pending. */
void svc_conn_feed_held(svc_conn *c);

/* Closes the transport once (hook's close, then the socket); fd becomes -1. */
void svc_conn_close_transport(svc_conn *c);

/* ---- timers (worker_timer.c) ---- */

/* The service's clock in milliseconds: its |clock| hook, or CLOCK_MONOTONIC. */
int64_t svc_now_ms(const h2_svc *svc);

/* Milliseconds of CLOCK_MONOTONIC: real waits (shutdown deadline, ring room). */
int64_t svc_mono_ms(void);

/* Makes room for |n| timers in total; 0 or H2_ENOMEM. */
int svc_timers_reserve(svc_worker *w, uint32_t n);

/* Arms |t| at |deadline|, moves it, or (|deadline| < 0) disarms it. Never allocates
 * beyond what svc_timers_reserve() made room for. */
void svc_timer_set(svc_worker *w, svc_timer *t, int64_t deadline);

/* Milliseconds until the earliest deadline (0 when due), or -1 when none is armed. */
int svc_timers_wait_ms(svc_worker *w);

/*
 * Called after the worker announced its sleep, with the |timeout_ms| it is
 * about to sleep: reads the clock again and returns the timeout shortened
 * to the nearest deadline, so that a clock moved before h2_svc_wake()
 * is seen either here or by the wake-up.
 */
int svc_timers_recheck(svc_worker *w, int timeout_ms);

/* Runs every timer due at w->now. */
void svc_timers_run(svc_worker *w);

/* Re-reads the state of |c| after activity and re-arms its timer. */
void svc_conn_timers_update(svc_conn *c);

void svc_timers_free(svc_worker *w);

/* ---- listening sockets (worker_listen.c) ---- */

/* Worker: starts accepting on |l| (a LISTEN command). */
void svc_listener_start(svc_worker *w, svc_listener *l);

/* Worker: |l| is readable: accepts until EAGAIN. */
void svc_listener_ready(svc_worker *w, svc_listener *l);

/* Sets TCP_NODELAY on |fd| when the service's configuration asks for it;
 * sockets that are not TCP refuse it and are left alone (errno is kept). */
void svc_socket_nodelay(const h2_svc *svc, int fd);

/* Worker: the pause of |l| is over. */
void svc_listener_resume(svc_worker *w, svc_listener *l);

/* Frees |l| and closes its socket. */
void svc_listener_free(const h2_mem *mem, svc_listener *l);

/* Worker: closes and frees every listener (shutdown). */
void svc_listeners_close(svc_worker *w);

/* ---- service (service.c) ---- */

/*
 * Builds a connection for socket |fd| (-1: feed mode) on worker |wi| from
 * |cfg|; nothing is posted. On failure nothing is kept and |fd| is not
 * touched. Returns 0, H2_EINVAL or H2_ENOMEM.
 */
int svc_conn_prepare(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, unsigned wi,
                     svc_conn **out);

/* The worker for a new connection: |cfg->worker|, or the next in turn. */
unsigned svc_pick_worker(h2_svc *svc, const h2_svc_conn_config *cfg);

/* Posts the attach command of |c| to the worker its id names; 0, H2_EAGAIN or H2_ENOMEM. */
int svc_conn_post_attach(h2_svc *svc, svc_conn *c);

/* Gives |c| a new id on worker |wi| and its entry in the live table;
 * 0 or H2_ENOMEM. */
int svc_conn_new_id(h2_svc *svc, svc_conn *c, unsigned wi);

/* |id| moved to worker |wi| (same entry). */
h2_svc_conn_id svc_id_rehome(h2_svc_conn_id id, unsigned wi);

/* Worker: |c| ended: posts to its id fail from now on. */
void svc_live_end(svc_conn *c);

/* Returns the entry of |c| to the table (|c| is being freed). */
void svc_live_release(h2_svc *svc, svc_conn *c);

/* Wakes a shutdown waiting for the last connection. */
void svc_drain_notify(h2_svc *svc);

/* The live-table entry an id names, or NULL. */
svc_live *svc_live_of(h2_svc *svc, h2_svc_conn_id id);

/* Sets up and frees the live table and the shutdown state (service_live.c). */
int svc_live_table_init(h2_svc *svc);
void svc_live_table_free(h2_svc *svc);

/* The worker a connection id names, or NULL. */
svc_worker *svc_worker_of(h2_svc *svc, h2_svc_conn_id id);

/* |svc| checked and the worker of |conn|, or NULL. */
svc_worker *svc_target(h2_svc *svc, h2_svc_conn_id conn);

/* A zeroed command with |extra| bytes after it (16-byte aligned) in |*tail|; NULL: no memory. */
svc_cmd *svc_cmd_new(h2_svc *svc, int kind, h2_svc_conn_id conn, size_t extra, uint8_t **tail);

/* Posts |cmd| to |w| (waiting for room as configured); frees it when that fails. */
int svc_post(h2_svc *svc, svc_worker *w, svc_cmd *cmd);

/* Posts a command without payload. */
int svc_post_simple(h2_svc *svc, h2_svc_conn_id conn, int kind, uint32_t stream_id,
                    uint32_t error_code, uint64_t user);

/* Connection ids: a sequence number above SVC_ID_BITS bits naming the
 * worker: its index, or SVC_ID_DEDICATED | the slot of a dedicated worker. */
#define SVC_ID_BITS 16u
#define SVC_ID_DEDICATED 0x8000u

/* Prepares a worker (not started); 0, H2_ENOMEM or H2_EINTERNAL. */
int svc_worker_init(h2_svc *svc, svc_worker *w, unsigned index, uint32_t capacity);

/* Frees what a worker holds (its thread has ended). */
void svc_worker_destroy(svc_worker *w);

/* The versioned configurations (svc_config.c): the application's |src| in
 * this library's layout, defaults for the fields it lacks; 0 or H2_EINVAL. */
int svc_service_config_import(h2_svc_config *dst, const h2_svc_config *src);
/* The defaults, in this library's layout (service.c). */
void svc_service_config_defaults(h2_svc_config *cfg);
void svc_conn_config_defaults(h2_svc_conn_config *cfg, h2_role role);
int svc_conn_config_import(h2_svc_conn_config *dst, const h2_svc_conn_config *src);

/* Bytes to allocate for a listener given |given| (validated by an import). */
size_t svc_listener_alloc_size(const h2_svc_conn_config *given);

/* Keeps |given|'s layout with the values of |l->cfg| in the listener's tail. */
void svc_listener_keep_layout(svc_listener *l, const h2_svc_conn_config *given);

/* The configuration of a connection accepted on |l| as |fd|, after the
 * accept callback had its say: 0, or the callback's refusal (< 0), or
 * H2_EINVAL (it broke the layout). */
int svc_listener_config(svc_listener *l, int fd, h2_svc_conn_config *cfg);

/* Attaches a connection with a worker of its own (service_dedicated.c). */
int svc_attach_dedicated(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                         h2_svc_conn_id *id);

/* The dedicated worker of |slot|, or NULL. */
svc_worker *svc_dedicated_of(h2_svc *svc, unsigned slot);

/* Posts |ptr| to dedicated worker |w|, or when it is leaving, to worker 0 (where
 * a command for an unknown connection fails as usual). */
int svc_dedicated_post(h2_svc *svc, svc_worker *w, void *ptr, int wait_ms);

/* Stops and joins every dedicated worker (service shutdown). */
void svc_dedicated_shutdown(h2_svc *svc);

/* Frees every dedicated worker (service shutdown, after the sweep). */
void svc_dedicated_free(h2_svc *svc);

/*
 * Service shutdown, once every worker thread was joined: answers what was
 * posted to a ring after its worker left (by event callbacks of other
 * workers, by listeners handing connections over): attaches fail with
 * reason H2_SVC_CLOSE_SHUTDOWN, commands with H2_ECLOSED. Runs on the
 * thread freeing the service, until every ring is empty.
 */
void svc_service_sweep(h2_svc *svc);

/* Dedicated worker thread: leaves after its connection ended. */
void svc_worker_leave(svc_worker *w);

/* Shared worker 0: joins the dedicated threads that left and frees their slots. */
void svc_dedicated_reap(h2_svc *svc);

/* Frees a command block. */
void svc_cmd_free(h2_svc *svc, svc_cmd *cmd);

/* ---- hold budgets (svc_hold.c) ---- */

/*
 * Any thread: charges |len| bytes of |kind| (SVC_HOLD_FEED or _SEND) for
 * connection |conn| of worker |w|: to the connection's entry in the live-id
 * table (while |conn| is live) against the per-connection limit, and to the
 * worker's total against its limit. Either takes anything while it holds
 * nothing. Returns false, charging nothing, when a limit would be passed;
 * else true with the counters in |*h|.
 */
bool svc_hold_take(h2_svc *svc, svc_worker *w, h2_svc_conn_id conn, int kind, size_t len,
                   svc_hold *h);

/* Any thread: gives back what svc_hold_take() charged (the command was not posted). */
void svc_hold_undo(const svc_hold *h, size_t len);

/* Any thread: the command will give |h| back when done (svc_cmd_done(), svc_cmd_fail()). */
void svc_hold_attach(svc_cmd *cmd, const svc_hold *h);

/* ---- commands (worker_send.c) ---- */

/* Reports |cmd| as failed with |error| (and |reason|) and gives up its payload. */
void svc_cmd_fail(svc_worker *w, svc_conn *c, svc_cmd *cmd, int error, int reason);

/* Calls the release callback of a by-reference payload once; frees the command. */
void svc_cmd_done(const h2_mem *mem, svc_cmd *cmd);

/* Carries out |cmd| on |c| (or holds it). */
void svc_conn_command(svc_conn *c, svc_cmd *cmd);

/* Sends what held commands and windows allow; true when something moved. */
bool svc_conn_pump(svc_conn *c);

/* Fails every held command of |c| (the connection ended for |reason|). */
void svc_conn_drop_held(svc_conn *c, int reason);

#endif /* H2_SERVICE_SVC_INTERNAL_H */
