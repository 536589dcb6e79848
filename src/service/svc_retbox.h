/*
 * Service: the way back to a worker for released DATA and STREAM_RESET
 * events (svc_retbox.c).
 */
#ifndef H2_SERVICE_SVC_RETBOX_H
#define H2_SERVICE_SVC_RETBOX_H

#include "service/mailbox.h"
#include "service/svc_record.h"

typedef struct svc_worker svc_worker;

/*
 * Where released DATA and STREAM_RESET events go back to a worker. It is
 * reference counted (one for the worker, one per event that points to it)
 * so that an event released after its service was freed finds it still
 * allocated: the release then only frees the record. |users| counts
 * releasing threads between their look at |closed| and their wake-up of
 * the worker, so the worker's mailbox is not destroyed under them.
 */
typedef struct svc_retbox {
    _Atomic(struct svc_event_rec *) head;  /* released events to act on, a stack */
    _Atomic(struct svc_event_rec *) spare; /* released events only to recycle, a stack */
    atomic_uint_fast64_t refs;
    atomic_int users;
    atomic_bool closed; /* the worker is gone: release frees the record */
    h2_mailbox *mb;     /* the worker's mailbox, valid while !closed */
    h2_mem mem;
} svc_retbox;

/* ---- svc_retbox.c ---- */

/* Worker: |rec| goes back to |w| when released, to be acted on (takes a
 * reference to w->ret unless the record holds one). */
void svc_event_hold_ack(svc_event_rec *rec, struct svc_worker *w);

/*
 * Worker |w|'s thread: an event record with |extra| bytes after it
 * (|*tail|), from the worker's pool (svc_pool.h); a pooled one holds a
 * reference to w->ret and goes back there when released. NULL: no memory.
 */
svc_event_rec *svc_worker_event_alloc(struct svc_worker *w, size_t extra, uint8_t **tail);

/* Drops the acknowledgement of |rec| (and its retbox reference). */
void svc_event_drop_ack(svc_event_rec *rec);

/* A retbox for the mailbox |mb|; NULL: no memory. */
svc_retbox *svc_retbox_new(const h2_mem *mem, h2_mailbox *mb);

/* Worker: takes the released records to act on (a LIFO stack), or NULL. */
svc_event_rec *svc_retbox_take(svc_retbox *box);

/* Worker: takes the released records only to recycle, or NULL. */
svc_event_rec *svc_retbox_take_spare(svc_retbox *box);

/* The worker is going away: later releases free their records; frees what
 * was returned and drops the worker's reference. */
void svc_retbox_close(svc_retbox *box);

#endif /* H2_SERVICE_SVC_RETBOX_H */
