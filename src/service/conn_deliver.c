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
        if (!svc_queue_offer(c->queue, rec, force)) {
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
