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
 * An event record: the public event first, then what release needs. A DATA
 * event with a flow-controlled length goes back to its worker on release
 * (|ack_worker|), which acknowledges it and frees the record; every other
 * record is freed by the releasing thread.
 */
typedef struct svc_event_rec {
    h2_svc_event pub;
    h2_mem mem;                    /* allocator of this record */
    struct svc_worker *ack_worker; /* DATA to acknowledge, else NULL */
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
    struct svc_conn *attach; /* H2_SVC_CMD_ATTACH: the prepared connection */
    h2_header *fields;       /* HEADERS: copied into the same block */
    size_t n_fields;
    const uint8_t *data; /* DATA, FEED: the payload (copied into the block, or by reference) */
    size_t len;
    size_t off;                /* DATA, FEED: bytes already consumed */
    h2_svc_release_fn release; /* by reference: called once when done */
    void *release_user;
    uint8_t ping[8];
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

/* A stream with sends waiting for flow-control window or output room. */
typedef struct svc_stream {
    uint32_t id;
    svc_cmd_list fifo;       /* DATA, END_STREAM, trailers, in order */
    struct svc_stream *next; /* the connection's active list */
} svc_stream;

typedef struct svc_conn {
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
    svc_cmd_list deferred;    /* commands waiting for output room or a stream slot */
    svc_cmd_list feed;        /* feed mode: input held while events are pending */
    svc_map streams;          /* stream id -> svc_stream with held sends */
    svc_stream *active;       /* streams with held sends, round robin */
    svc_stream *active_tail;

    uint32_t epoll_mask; /* events registered with epoll */
    int reason;          /* h2_svc_close_reason once finished, else 0 */
    bool closing;        /* graceful close asked for */
    bool dirty;          /* in the worker's dirty list */
    bool in_blocked;     /* in the worker's blocked list */
    bool write_blocked;  /* the socket returned EAGAIN on write */
    bool registered;     /* fd mode: the socket is in the epoll set */
    bool output_full;    /* the last pump stopped at the output high-water mark */
    bool hangup;         /* fd mode: epoll reported HUP or ERR while events were pending */
    struct svc_conn *dirty_next;
    struct svc_conn *blocked_next;
} svc_conn;

typedef struct svc_worker {
    struct h2_service *svc;
    unsigned index;
    pthread_t thread;
    bool started;
    h2_mailbox mb;
    int epfd;
    uint8_t *rbuf;
    size_t rbuf_size;
    svc_map conns;
    svc_conn *dirty;                   /* connections to pump and flush this turn */
    svc_conn *blocked;                 /* connections whose events wait for queue room */
    bool stopping;                     /* shutdown: deliver events whatever the queues' fill */
    _Atomic(svc_event_rec *) returned; /* any thread: released DATA events */
    atomic_bool stop;                  /* any thread: set by h2_service_free() */
} svc_worker;

struct h2_service {
    h2_mem mem;
    unsigned n_workers;
    svc_worker *workers;
    h2_svc_queue *queue; /* destination for events of unknown connections */
    h2_svc_event_fn on_event;
    void *on_event_user;
    size_t read_buffer_size;
    atomic_uint_fast64_t next_id; /* any thread */
    atomic_uint next_worker;      /* any thread: round robin */
};

/* ---- events (svc_queue.c) ---- */

/* Allocates an event record with |extra| bytes after it (returned in |*tail|). */
svc_event_rec *svc_event_alloc(const h2_mem *mem, size_t extra, uint8_t **tail);

/*
 * Offers |rec| to |q|; returns false when the queue is full (the record
 * stays with the caller). With |force|, the queue takes it beyond its
 * capacity and this returns true.
 */
bool svc_queue_offer(h2_svc_queue *q, svc_event_rec *rec, bool force);

/* Frees a record without acknowledging anything. */
void svc_event_free(svc_event_rec *rec);

/* ---- worker (worker.c) ---- */

void *svc_worker_main(void *arg);

/* Delivers |rec| for |c| (queue or callback), or keeps it pending. */
void svc_conn_emit(svc_conn *c, svc_event_rec *rec);

/* Marks |c| to be pumped and flushed before the worker sleeps. */
void svc_conn_touch(svc_conn *c);

/* Ends |c| for |reason| (fails held commands, emits CLOSED, closes the transport). */
void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno);

/* Frees a connection that never reached a worker, or a finished one. */
void svc_conn_destroy(svc_conn *c);

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
