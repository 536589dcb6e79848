/*
 * Service worker: delivering a connection's events. An event goes to the
 * connection's queue (or its callback) at once when it can; when the queue
 * is full it waits in the connection's pending FIFO, the connection joins
 * the worker's blocked list and stops reading, and the worker registers
 * with the queue to be woken when the consumer makes room. The loop then
 * retries the blocked connections (svc_worker_retry_blocked()).
 */
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_queue.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_worker.h"

/* True when another blocked connection of |w| than |c| waits on |q|. */
static bool queue_still_watched(svc_worker *w, const svc_conn *c, const h2_svc_queue *q)
{
    for (svc_conn *o = w->blocked; o != NULL; o = o->blocked_next)
        if (o != c && o->queue == q)
            return true;
    return false;
}

/*
 * Events a worker gives a queue in one turn share one wake-up of its
 * consumer: the consumer takes them as one batch instead of waking at the
 * first. The wake-up is owed until svc_worker_flush_wakes(), which the
 * worker calls before it may block and at the end of each turn.
 */
static void defer_wake(svc_worker *w, h2_svc_queue *q)
{
    for (unsigned i = 0; i < w->n_wake; i++)
        if (w->wake[i] == q)
            return;
    if (w->n_wake == SVC_WAKE_MAX) {
        svc_queue_notify(q); /* too many queues this turn: wake this one now */
        return;
    }
    w->wake[w->n_wake++] = q;
}

static void flush_wake(svc_worker *w, h2_svc_queue *q)
{
    for (unsigned i = 0; i < w->n_wake; i++) {
        if (w->wake[i] == q) {
            w->wake[i] = w->wake[--w->n_wake];
            svc_queue_notify(q);
            return;
        }
    }
}

void svc_worker_flush_wakes(svc_worker *w)
{
    for (unsigned i = 0; i < w->n_wake; i++)
        svc_queue_notify(w->wake[i]);
    w->n_wake = 0;
}

/*
 * A connection's CLOSED is the last time its worker touches its queue: the
 * application may free the queue as soon as it took the event. So the
 * worker withdraws a registration no other connection of its needs, then
 * hands the event over whatever the queue's fill (one record beyond the
 * capacity per connection at most).
 */
static void deliver_closed(svc_conn *c, svc_event_rec *rec)
{
    c->closed_sent = true;
    if (c->queue == NULL) {
        c->on_event(c->user, &rec->pub);
        return;
    }
    /* Once CLOSED is in, |q| may be freed: its owed wake-up goes first. */
    flush_wake(c->worker, c->queue);
    if (c->in_blocked && !queue_still_watched(c->worker, c, c->queue))
        svc_queue_unwatch(c->queue, c->worker);
    svc_queue_offer_last(c->queue, rec);
}

static bool deliver(svc_conn *c, svc_event_rec *rec, bool force)
{
    if (rec->pub.type == H2_SVC_EV_CLOSED) {
        rec->next = NULL;
        deliver_closed(c, rec);
    } else if (c->queue != NULL) {
        uint64_t epoch = svc_queue_epoch(c->queue);
        bool taken = force ? svc_queue_offer(c->queue, rec, true)
                           : svc_queue_offer_quiet(c->queue, rec);
        if (taken && !force)
            defer_wake(c->worker, c->queue);
        if (!taken) {
            /* Woken when the consumer makes room (or on a timer without a slot). */
            if (svc_queue_watch(c->queue, c->worker, epoch) != 0)
                c->worker->timed_retry = true;
            return false;
        }
    } else {
        rec->next = NULL;
        c->on_event(c->user, &rec->pub);
    }
    c->st.events++;
    svc_count(&c->worker->count.events, 1);
    return true;
}

static void mark_blocked(svc_conn *c)
{
    if (c->in_blocked)
        return;
    svc_worker *w = c->worker;
    c->in_blocked = true;
    c->blocked_next = w->blocked;
    w->blocked = c;
    svc_conn_update_epoll(c);
}

void svc_conn_emit(svc_conn *c, svc_event_rec *rec)
{
    rec->pub.conn = c->id;
    rec->pub.conn_user = c->user;
    rec->next = NULL;
    if (c->worker->stopping) {
        /* Shutdown: everything goes out, in order, whatever the fill. */
        svc_event_rec *p;
        while ((p = svc_evs_pop(&c->pending)) != NULL) {
            svc_event_drop_ack(p);
            deliver(c, p, true);
        }
        c->n_pending = 0;
        svc_event_drop_ack(rec);
        deliver(c, rec, true);
        return;
    }
    if (c->pending.head == NULL && deliver(c, rec, false))
        return;
    svc_evs_push(&c->pending, rec);
    if (++c->n_pending > c->st.pending_high_water)
        c->st.pending_high_water = c->n_pending;
    mark_blocked(c);
}

void svc_worker_retry_blocked(svc_worker *w)
{
    atomic_store_explicit(&w->room, false, memory_order_seq_cst);
    w->retry_now = false;
    w->timed_retry = false;
    svc_conn **link = &w->blocked;
    while (*link != NULL) {
        svc_conn *c = *link;
        svc_event_rec *rec;
        while ((rec = svc_evs_pop(&c->pending)) != NULL) {
            if (!deliver(c, rec, w->stopping)) {
                svc_evs_unpop(&c->pending, rec);
                break;
            }
            c->n_pending--;
        }
        if (c->pending.head != NULL) {
            link = &c->blocked_next;
            continue;
        }
        *link = c->blocked_next;
        c->in_blocked = false;
        /* After CLOSED the queue may be gone (its registration went first). */
        if (c->queue != NULL && !c->closed_sent && !queue_still_watched(w, c, c->queue))
            svc_queue_unwatch(c->queue, w);
        if (c->reason == 0) {
            svc_conn_feed_held(c);
            svc_conn_update_epoll(c);
        }
        svc_conn_touch(c);
    }
}
