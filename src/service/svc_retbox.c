/*
 * Service: the way back to a worker. A DATA event with a flow-controlled
 * length, and a server's STREAM_RESET, go back to the worker that made
 * them when the application releases them (h2_svc_event_release(), any
 * thread): the worker then acknowledges the bytes, or frees the request's
 * slot. Released records are pushed on the worker's retbox (a lock-free
 * stack next to its mailbox) and the worker takes them whole. A retbox
 * outlives its worker while events point to it: releases after the worker
 * left only free their records.
 */
#include <sched.h>

#include "core/mem.h"
#include "service/svc_pool.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_worker.h"

svc_retbox *svc_retbox_new(const h2_mem *mem, h2_mailbox *mb)
{
    svc_retbox *box = h2_mem_malloc(mem, sizeof(*box));
    if (box == NULL)
        return NULL;
    atomic_init(&box->head, NULL);
    atomic_init(&box->spare, NULL);
    atomic_init(&box->refs, 1);
    atomic_init(&box->users, 0);
    atomic_init(&box->closed, false);
    box->mb = mb;
    box->mem = *mem;
    return box;
}

static void retbox_unref(svc_retbox *box)
{
    if (atomic_fetch_sub_explicit(&box->refs, 1, memory_order_acq_rel) == 1) {
        h2_mem mem = box->mem;
        h2_mem_free(&mem, box);
    }
}

void svc_event_hold_ack(svc_event_rec *rec, svc_worker *w)
{
    if (rec->ack_worker == NULL) {
        atomic_fetch_add_explicit(&w->ret->refs, 1, memory_order_relaxed);
        rec->ack_worker = w->ret;
    }
    rec->needs_ack = true;
}

svc_event_rec *svc_worker_event_alloc(svc_worker *w, size_t extra, uint8_t **tail)
{
    svc_event_rec *rec = svc_pool_alloc(&w->pool, sizeof(svc_event_rec), extra, tail);
    if (rec != NULL && rec->pool != NULL) {
        atomic_fetch_add_explicit(&w->ret->refs, 1, memory_order_relaxed);
        rec->ack_worker = w->ret;
    }
    return rec;
}

void svc_event_drop_ack(svc_event_rec *rec)
{
    svc_retbox *box = rec->ack_worker;
    rec->ack_worker = NULL;
    if (box != NULL)
        retbox_unref(box);
}

svc_event_rec *svc_retbox_take(svc_retbox *box)
{
    return svc_evs_stack_take(&box->head);
}

svc_event_rec *svc_retbox_take_spare(svc_retbox *box)
{
    return svc_evs_stack_take(&box->spare);
}

static void free_stack(svc_event_rec *rec)
{
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_event_free(rec);
        rec = next;
    }
}

void svc_retbox_close(svc_retbox *box)
{
    if (box == NULL)
        return;
    atomic_store_explicit(&box->closed, true, memory_order_seq_cst);
    /* A releaser that saw the box open is pushing and waking the mailbox. */
    while (atomic_load_explicit(&box->users, memory_order_seq_cst) != 0)
        sched_yield();
    free_stack(atomic_exchange_explicit(&box->head, NULL, memory_order_acquire));
    free_stack(atomic_exchange_explicit(&box->spare, NULL, memory_order_acquire));
    retbox_unref(box);
}

void h2_svc_event_release(h2_svc_event *ev)
{
    if (ev == NULL)
        return;
    svc_event_rec *rec = (svc_event_rec *)ev;
    svc_retbox *box = rec->ack_worker;
    if (box == NULL) {
        svc_rec_free(rec);
        return;
    }
    /* Nothing to act on, on its worker's thread: straight back to the pool
     * (elsewhere it is returned below, without waking the worker). */
    if (!rec->needs_ack && svc_rec_free_here(rec))
        return;
    atomic_fetch_add_explicit(&box->users, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&box->closed, memory_order_seq_cst)) {
        /* The worker is gone: nothing to acknowledge any more. */
        atomic_fetch_sub_explicit(&box->users, 1, memory_order_seq_cst);
        svc_event_free(rec);
        return;
    }
    if (!rec->needs_ack) {
        /* Only to recycle: the worker takes it on its next turn. */
        svc_evs_stack_push(&box->spare, rec);
    } else {
        /* Back to the worker, which acknowledges the bytes and frees it. */
        svc_evs_stack_push(&box->head, rec);
        h2_mailbox_notify(box->mb);
    }
    atomic_fetch_sub_explicit(&box->users, 1, memory_order_seq_cst);
}
