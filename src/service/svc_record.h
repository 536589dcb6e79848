/*
 * Service: event records and command records (svc_record.c allocates and
 * frees them), and the FIFOs and lock-free stacks they queue in.
 *
 * Threads: a command record is built by an application thread, posted to a
 * worker's mailbox and from then on belongs to that worker. An event record
 * is built by a worker and belongs to the application once delivered.
 */
#ifndef H2_SERVICE_SVC_RECORD_H
#define H2_SERVICE_SVC_RECORD_H

#include <stdatomic.h>
#include "h2/service.h"
#include "service/svc_fifo.h"

struct svc_retbox;
struct svc_conn;
struct svc_listener;

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
    struct svc_pool *pool;         /* the worker pool the block goes back to, or NULL */
    uint8_t pool_class;            /* its size class + 1 (svc_pool.h), 0: not pooled */
    bool needs_ack;                /* the worker acts on its release (DATA, STREAM_RESET) */
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
    /* SET_PRIORITY: the stream's new local priority */
    h2_priority sched_prio;
    int64_t deadline;     /* SET_TIMER: service-clock milliseconds, or -1: cancel */
    struct svc_cmd *next; /* stream and connection FIFOs */
    /* Stream handles (svc_handles.c): the HEADERS of h2_svc_open_stream()
     * (|stream_id| 0) carries its new handle here; a command posted with a
     * handle in |stream_id| keeps it here once translated to the id. */
    uint32_t handle;
    /* Frame options (service_frames.c) */
    size_t len2;     /* ALTSVC: the field value's bytes, after the origin's |len| in |data| */
    int64_t last_id; /* CLOSE: the GOAWAY's last stream id when |has_last_id| */
    bool has_last_id;
    bool padded;     /* DATA: each frame with bytes padded by |pad_len| */
    uint8_t pad_len;
    /* DATA: frames whose payload the connection's output still points at
     * (worker_send.c); the command is answered only once none is left. */
    unsigned out_refs;
    uint8_t out_finish; /* SVC_OUT_*: the answer waiting for out_refs to reach 0 */
    int out_error;      /* ... for SVC_OUT_FAIL */
    int out_reason;
    struct svc_conn *out_conn; /* the connection whose output holds the frames */
} svc_cmd;

/* The answer a DATA command waits to give until its frames have left. */
enum { SVC_OUT_NONE = 0, SVC_OUT_DONE, SVC_OUT_FAIL };

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

SVC_FIFO_DEFINE(svc_cmds, svc_cmd_list, svc_cmd, next)
SVC_FIFO_DEFINE(svc_evs, svc_ev_list, svc_event_rec, next)

/* Any thread: pushes |rec| on a lock-free stack of records (seq_cst: a side
 * channel of a mailbox, see h2_mailbox_notify()). */
static inline void svc_evs_stack_push(_Atomic(svc_event_rec *) *top, svc_event_rec *rec)
{
    svc_event_rec *head = atomic_load_explicit(top, memory_order_relaxed);
    do {
        rec->next = head;
    } while (!atomic_compare_exchange_weak_explicit(top, &head, rec, memory_order_seq_cst,
                                                    memory_order_relaxed));
}

/* The owner of a stack: takes it whole (newest first), or NULL. */
static inline svc_event_rec *svc_evs_stack_take(_Atomic(svc_event_rec *) *top)
{
    if (atomic_load_explicit(top, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(top, NULL, memory_order_acquire);
}

/* Internal command kinds, after the public h2_svc_command values. */
enum { SVC_CMD_LISTEN = 100 };

/* ---- svc_record.c ---- */

/*
 * One block: a zeroed record of |size| bytes (an svc_event_rec or a record
 * that begins with one) and |extra| bytes after it at a 16-byte boundary,
 * returned in |*tail| when |tail| is not NULL. NULL: no memory.
 */
svc_event_rec *svc_rec_alloc(const h2_mem *mem, size_t size, size_t extra, uint8_t **tail);

/* Allocates an event record with |extra| bytes after it (returned in |*tail|). */
svc_event_rec *svc_event_alloc(const h2_mem *mem, size_t extra, uint8_t **tail);

/* Frees a record without acknowledging anything (drops its reference to a retbox). */
void svc_event_free(svc_event_rec *rec);

#endif /* H2_SERVICE_SVC_RECORD_H */
