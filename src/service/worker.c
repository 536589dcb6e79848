/*
 * Service worker: the event loop that owns a set of connections.
 *
 * One turn: drain a batch of commands, take back released DATA events
 * (acknowledging them), retry connections whose events wait for queue
 * room, pump and flush every connection touched, then one epoll_wait()
 * over the sockets and the mailbox eventfd (its timeout: the nearest timer
 * deadline), handle what it reported, and run the timers that are due.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

#define BATCH 64
#define MAX_IO_EVENTS 64
/* While events wait for room in a queue that could not register the worker
 * for a wake-up, the worker retries this often. */
#define BLOCKED_RETRY_MS 2

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */
/* ------------------------------------------------------------------------ */

static bool deliver(svc_conn *c, svc_event_rec *rec, bool force)
{
    if (c->queue != NULL) {
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
        while (c->pending.head != NULL) {
            svc_event_rec *p = c->pending.head;
            c->pending.head = p->next;
            p->ack_worker = NULL;
            deliver(c, p, true);
        }
        c->pending.tail = NULL;
        c->n_pending = 0;
        rec->ack_worker = NULL;
        deliver(c, rec, true);
        return;
    }
    if (c->pending.head == NULL && deliver(c, rec, false))
        return;
    if (c->pending.tail != NULL)
        c->pending.tail->next = rec;
    else
        c->pending.head = rec;
    c->pending.tail = rec;
    if (++c->n_pending > c->st.pending_high_water)
        c->st.pending_high_water = c->n_pending;
    mark_blocked(c);
}

void svc_conn_touch(svc_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->worker->dirty;
    c->worker->dirty = c;
}

/* ------------------------------------------------------------------------ */
/* Connection life                                                           */
/* ------------------------------------------------------------------------ */

void svc_conn_destroy(svc_conn *c)
{
    const h2_mem *mem = c->streams.mem;
    svc_conn_close_transport(c);
    h2_conn_free(c->conn);
    if (c->closed_ev != NULL)
        svc_event_free(c->closed_ev);
    svc_map_free(&c->streams);
    svc_account_close(c);
    h2_mem_free(mem, c->initial);
    h2_mem_free(mem, c);
}

void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno)
{
    if (c->reason != 0)
        return;
    if (reason == H2_SVC_CLOSE_PROTOCOL || reason == H2_SVC_CLOSE_GRACEFUL ||
        (reason == H2_SVC_CLOSE_TIMEOUT && c->has_goaway_code)) {
        svc_conn_flush(c); /* the GOAWAY, as far as the socket takes it */
        if (c->reason != 0)
            return; /* the socket failed meanwhile: finished with that reason */
    }
    c->reason = reason;
    svc_conn_drop_held(c, reason);
    svc_conn_close_transport(c);
    svc_timer_set(c->worker, &c->timer, -1);
    h2_conn_error err = {0};
    h2_svc_conn_stats final_stats;
    svc_conn_stats_now(c, &final_stats, c->closed_core);
    svc_conn_count_core(c, c->closed_core);
    if (c->conn != NULL)
        err = h2_conn_last_error(c->conn);
    h2_conn_free(c->conn);
    c->conn = NULL;
    /* Nothing left to acknowledge on a closed connection. */
    for (svc_event_rec *p = c->pending.head; p != NULL; p = p->next)
        p->ack_worker = NULL;
    svc_event_rec *rec = c->closed_ev;
    c->closed_ev = NULL;
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    rec->pub.sys_errno = sys_errno;
    rec->pub.timer = c->timeout;
    rec->pub.stats = final_stats;
    rec->pub.error_code = err.occurred ? err.code : c->has_goaway_code ? c->goaway_code : 0;
    svc_conn_emit(c, rec);
    svc_conn_touch(c); /* freed by the dirty pass once its events are out */
}

void svc_conn_timeout(svc_conn *c, int timer, bool goaway, uint32_t code)
{
    if (c->reason != 0)
        return;
    c->timeout = timer;
    svc_count(&c->worker->count.timeouts, 1);
    if (timer > 0 && timer < H2_SVC_TIMER_COUNT)
        svc_count(&c->worker->count.timer_expired[timer], 1);
    /* The GOAWAY's debug data names the timer, for the peer's logs. */
    static const char *const debug[] = {
        [H2_SVC_TIMER_IDLE] = "idle timeout",       [H2_SVC_TIMER_SETTINGS] = "settings timeout",
        [H2_SVC_TIMER_HEADER] = "header timeout",   [H2_SVC_TIMER_FLOW] = "flow control stall",
        [H2_SVC_TIMER_PREFACE] = "preface timeout",
    };
    const char *why = "";
    if (timer > 0 && (size_t)timer < sizeof(debug) / sizeof(debug[0]) && debug[timer] != NULL)
        why = debug[timer];
    if (goaway && h2_conn_close(c->conn, code, (const uint8_t *)why, strlen(why), -1) == 0) {
        c->has_goaway_code = true;
        c->goaway_code = code;
    }
    svc_conn_finish(c, H2_SVC_CLOSE_TIMEOUT, 0, 0);
}

void svc_conn_stats_now(const svc_conn *c, h2_svc_conn_stats *out, h2_conn_stats *core)
{
    memset(core, 0, sizeof(*core));
    if (c->conn != NULL)
        h2_conn_get_stats(c->conn, core);
    *out = c->st;
    out->frames_in = core->frames_received;
    out->frames_out = core->frames_sent;
    out->streams_opened = core->streams_opened_local + core->streams_opened_remote;
}

void svc_conn_count_core(svc_conn *c, const h2_conn_stats *core)
{
    svc_worker_counters *k = &c->worker->count;
    uint64_t streams = core->streams_opened_local + core->streams_opened_remote;
    svc_count(&k->frames_in, core->frames_received - c->seen_frames_in);
    svc_count(&k->frames_out, core->frames_sent - c->seen_frames_out);
    svc_count(&k->streams_opened, streams - c->seen_streams);
    c->seen_frames_in = core->frames_received;
    c->seen_frames_out = core->frames_sent;
    c->seen_streams = streams;
}

/* Fails an attach before the connection took part in the loop. */
static void attach_failed(svc_worker *w, svc_conn *c, int reason, int error)
{
    c->worker = w;
    svc_event_rec *rec = c->closed_ev;
    c->closed_ev = NULL;
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    rec->pub.conn = c->id;
    rec->pub.conn_user = c->user;
    deliver(c, rec, true);
    svc_conn_destroy(c);
}

void svc_worker_attach(svc_worker *w, svc_conn *c)
{
    c->worker = w;
    if (w->stopping) {
        attach_failed(w, c, H2_SVC_CLOSE_SHUTDOWN, H2_ECLOSED);
        return;
    }
    if (svc_timers_reserve(w, (uint32_t)w->conns.count + w->n_listeners + 1u) != 0 ||
        svc_map_put(&w->conns, c->id, c) != 0) {
        attach_failed(w, c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM);
        return;
    }
    c->last_active = w->now;
    svc_count(&w->count.connections_total, 1);
    atomic_store_explicit(&w->count.connections, w->conns.count, memory_order_relaxed);
    if (c->fd >= 0) {
        int fl = fcntl(c->fd, F_GETFL);
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
            svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, errno);
            return;
        }
    }
    if (!c->initiated && h2_conn_initiate(c->conn) != 0) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    c->initiated = true;
    svc_event_rec *rec = svc_event_alloc(&w->svc->mem, 0, NULL);
    if (rec == NULL) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    rec->pub.type = H2_SVC_EV_ATTACHED;
    svc_conn_emit(c, rec);
    if (c->initial != NULL) {
        uint8_t *initial = c->initial;
        c->initial = NULL;
        svc_conn_receive(c, initial, c->initial_len);
        h2_mem_free(&w->svc->mem, initial);
        if (c->reason != 0)
            return;
    }
    svc_conn_update_epoll(c);
    svc_conn_touch(c);
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

static void handle(svc_worker *w, svc_cmd *cmd)
{
    if (cmd->kind == H2_SVC_CMD_ATTACH) {
        svc_conn *c = cmd->attach;
        w->served = true;
        h2_mem_free(&w->svc->mem, cmd);
        svc_worker_attach(w, c);
        return;
    }
    if (cmd->kind == SVC_CMD_LISTEN) {
        svc_listener *l = cmd->listener;
        h2_mem_free(&w->svc->mem, cmd);
        if (w->stopping)
            svc_listener_free(&w->svc->mem, l);
        else
            svc_listener_start(w, l);
        return;
    }
    svc_count(&w->count.commands, 1);
    svc_conn *c = svc_map_get(&w->conns, cmd->conn);
    if (c != NULL)
        c->st.commands++;
    if (c == NULL || c->reason != 0 || w->stopping) {
        int reason = w->stopping ? H2_SVC_CLOSE_SHUTDOWN : c != NULL ? c->reason : 0;
        svc_cmd_fail(w, c, cmd, H2_ECLOSED, reason);
        return;
    }
    switch (cmd->kind) {
    case H2_SVC_CMD_STATS:
        /* The command block becomes the answer. */
        cmd->ev.pub.type = H2_SVC_EV_STATS;
        cmd->ev.pub.user = cmd->user;
        /* The block's tail holds the core's counters (h2_service_conn_stats()). */
        svc_conn_stats_now(c, &cmd->ev.pub.stats, (h2_conn_stats *)(uintptr_t)cmd->data);
        cmd->ev.pub.core_stats = (const h2_conn_stats *)(const void *)cmd->data;
        svc_conn_emit(c, &cmd->ev);
        return;
    case H2_SVC_CMD_FEED:
        if (c->fd >= 0)
            svc_cmd_fail(w, c, cmd, H2_EINVAL, 0);
        else
            svc_conn_feed_cmd(c, cmd);
        return;
    case H2_SVC_CMD_ABORT:
        svc_cmd_done(&w->svc->mem, cmd);
        svc_conn_finish(c, H2_SVC_CLOSE_ABORTED, H2_ECLOSED, 0);
        return;
    case H2_SVC_CMD_ACK_DATA: {
        int rv = h2_conn_ack_data(c->conn, cmd->stream_id, cmd->len);
        if (rv != 0)
            svc_cmd_fail(w, c, cmd, rv, 0);
        else
            svc_cmd_done(&w->svc->mem, cmd);
        svc_conn_touch(c);
        return;
    }
    default:
        svc_conn_command(c, cmd);
        return;
    }
}

/* Acknowledges and frees the DATA events the application released; a
 * released STREAM_RESET of a server frees the request's slot. */
static void take_returned(svc_worker *w)
{
    if (atomic_load_explicit(&w->returned, memory_order_relaxed) == NULL)
        return;
    svc_event_rec *rec = atomic_exchange_explicit(&w->returned, NULL, memory_order_acquire);
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_conn *c = svc_map_get(&w->conns, rec->pub.conn);
        if (c != NULL && c->reason == 0) {
            /* A stream that is gone credits the connection only; a
             * refusal here changes nothing worth reporting (nor does a
             * reset stream that held no request slot). */
            if (rec->pub.type == H2_EV_STREAM_RESET)
                (void)h2_conn_request_done(c->conn, rec->pub.stream_id);
            else
                (void)h2_conn_ack_data(c->conn, rec->pub.stream_id,
                                       rec->pub.flow_controlled_length);
            svc_conn_touch(c);
        }
        svc_event_free(rec);
        rec = next;
    }
}

/* True when another blocked connection of |w| than |c| waits on |q|. */
static bool queue_still_watched(svc_worker *w, const svc_conn *c, const h2_svc_queue *q)
{
    for (svc_conn *o = w->blocked; o != NULL; o = o->blocked_next)
        if (o != c && o->queue == q)
            return true;
    return false;
}

static void retry_blocked(svc_worker *w)
{
    atomic_store_explicit(&w->room, false, memory_order_seq_cst);
    w->retry_now = false;
    w->timed_retry = false;
    svc_conn **link = &w->blocked;
    while (*link != NULL) {
        svc_conn *c = *link;
        while (c->pending.head != NULL) {
            svc_event_rec *rec = c->pending.head;
            svc_event_rec *next = rec->next;
            if (!deliver(c, rec, w->stopping))
                break;
            c->pending.head = next;
            c->n_pending--;
        }
        if (c->pending.head != NULL) {
            link = &c->blocked_next;
            continue;
        }
        c->pending.tail = NULL;
        *link = c->blocked_next;
        c->in_blocked = false;
        if (c->queue != NULL && !queue_still_watched(w, c, c->queue))
            svc_queue_unwatch(c->queue, w);
        if (c->reason == 0) {
            svc_conn_feed_held(c);
            svc_conn_update_epoll(c);
        }
        svc_conn_touch(c);
    }
}

static void run_dirty(svc_worker *w)
{
    while (w->dirty != NULL) {
        svc_conn *c = w->dirty;
        w->dirty = c->dirty_next;
        c->dirty = false;
        if (c->reason == 0) {
            /* Pump and flush until nothing moves; output that stopped the
             * pump at the high-water mark and then drained lets it go on. */
            for (;;) {
                bool moved = svc_conn_pump(c);
                bool full = c->output_full;
                if (!svc_conn_flush(c) || c->reason != 0 || c->write_blocked || (!moved && !full))
                    break;
            }
        }
        if (c->reason == 0 && !h2_conn_want_read(c->conn) && !h2_conn_want_write(c->conn)) {
            h2_conn_error err = h2_conn_last_error(c->conn);
            svc_conn_finish(c, err.occurred ? H2_SVC_CLOSE_PROTOCOL : H2_SVC_CLOSE_GRACEFUL,
                            err.occurred ? H2_EPROTO : 0, 0);
        }
        if (c->reason != 0 && !c->in_blocked && !c->dirty) {
            svc_map_remove(&w->conns, c->id);
            atomic_store_explicit(&w->count.connections, w->conns.count, memory_order_relaxed);
            svc_conn_destroy(c);
        } else if (c->reason == 0) {
            h2_conn_stats core;
            h2_conn_get_stats(c->conn, &core);
            svc_conn_count_core(c, &core);
            svc_conn_update_epoll(c);
            svc_conn_timers_update(c);
            if (svc_conn_tr_pending(c))
                svc_conn_readable(c);
        }
    }
}

static void shutdown_worker(svc_worker *w)
{
    w->stopping = true;
    svc_listeners_close(w);
    void *batch[BATCH];
    size_t n;
    while ((n = h2_mailbox_drain(&w->mb, batch, BATCH)) > 0)
        for (size_t i = 0; i < n; i++)
            handle(w, batch[i]);
    take_returned(w);
    retry_blocked(w);
    /* Finish every connection; collect them first, the map changes. */
    for (size_t i = 0; i < w->conns.cap; i++) {
        svc_conn *c = w->conns.slots[i].value;
        if (w->conns.slots[i].key != 0 && c->reason == 0)
            svc_conn_finish(c, H2_SVC_CLOSE_SHUTDOWN, H2_ECLOSED, 0);
    }
    run_dirty(w);
    retry_blocked(w);
    run_dirty(w);
    take_returned(w);
}

/* The service whose worker runs on this thread, if any. */
static _Thread_local const h2_service *current_service;

/* The sweep of one ring; returns how many commands it answered. */
static size_t sweep_worker(svc_worker *w)
{
    if (w->svc == NULL || w->mb.core == NULL)
        return 0; /* never set up (h2_service_new() failed half-way) */
    w->stopping = true;
    void *batch[BATCH];
    size_t n, total = 0;
    while ((n = h2_mailbox_drain(&w->mb, batch, BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            handle(w, batch[i]);
        total += n;
    }
    if (total > 0) {
        run_dirty(w);
        take_returned(w);
    }
    return total;
}

void svc_service_sweep(h2_service *svc)
{
    /* Callbacks run here as on a worker: a post from them never waits. */
    const h2_service *prev = current_service;
    current_service = svc;
    size_t n;
    do {
        n = 0;
        for (unsigned i = 0; svc->workers != NULL && i < svc->n_workers; i++)
            n += sweep_worker(&svc->workers[i]);
        for (unsigned i = 0; i < svc->n_slots; i++) {
            svc_worker *w = svc_dedicated_of(svc, i);
            if (w != NULL)
                n += sweep_worker(w);
        }
    } while (n > 0);
    current_service = prev;
}

static void dispatch(svc_worker *w, struct epoll_event *ev)
{
    uint8_t *kind = ev->data.ptr;
    if (kind == NULL)
        h2_mailbox_ack_wakeup(&w->mb);
    else if (*kind == SVC_POLL_LISTENER)
        svc_listener_ready(w, (svc_listener *)(void *)kind);
    else
        svc_conn_io((svc_conn *)(void *)kind, ev->events);
}

bool svc_on_worker_thread(const h2_service *svc)
{
    return current_service == svc;
}

bool svc_on_any_worker_thread(void)
{
    return current_service != NULL;
}

/* A dedicated worker whose connection ended and delivered all its events. */
static bool dedicated_done(const svc_worker *w)
{
    return w->slot != NULL && w->served && w->conns.count == 0 && w->blocked == NULL;
}

void *svc_worker_main(void *arg)
{
    svc_worker *w = arg;
    current_service = w->svc;
    void *batch[BATCH];
    struct epoll_event evs[MAX_IO_EVENTS];
    w->now = svc_now_ms(w->svc);
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        svc_count(&w->count.loops, 1);
        size_t n = h2_mailbox_drain(&w->mb, batch, BATCH);
        if (n > 0)
            w->now = svc_now_ms(w->svc); /* commands start clocks: not earlier than posted */
        for (size_t i = 0; i < n; i++)
            handle(w, batch[i]);
        take_returned(w);
        if (w->index == 0)
            svc_dedicated_reap(w->svc);
        if (w->blocked != NULL)
            retry_blocked(w);
        run_dirty(w);
        if (dedicated_done(w)) {
            svc_worker_leave(w);
            return NULL;
        }

        int timeout = n == BATCH ? 0 : svc_timers_wait_ms(w);
        if (w->blocked != NULL && w->retry_now)
            timeout = 0;
        else if (w->blocked != NULL && w->timed_retry &&
                 (timeout < 0 || timeout > BLOCKED_RETRY_MS))
            timeout = BLOCKED_RETRY_MS;
        if (timeout != 0) {
            if (!h2_mailbox_prepare_park(&w->mb)) {
                timeout = 0;
            } else if (atomic_load_explicit(&w->returned, memory_order_seq_cst) != NULL ||
                       atomic_load_explicit(&w->stop, memory_order_seq_cst) ||
                       (w->index == 0 &&
                        atomic_load_explicit(&w->svc->reap, memory_order_seq_cst) != NULL) ||
                       (w->blocked != NULL &&
                        atomic_load_explicit(&w->room, memory_order_seq_cst))) {
                h2_mailbox_cancel_park(&w->mb);
                timeout = 0;
            }
        }
        if (timeout != 0)
            timeout = svc_timers_recheck(w, timeout);
        int ne = epoll_wait(w->epfd, evs, MAX_IO_EVENTS, timeout);
        h2_mailbox_cancel_park(&w->mb);
        w->now = svc_now_ms(w->svc);
        for (int i = 0; i < ne; i++)
            dispatch(w, &evs[i]);
        run_dirty(w);
        svc_timers_run(w);
        run_dirty(w);
    }
    shutdown_worker(w);
    return NULL;
}

void svc_worker_leave(svc_worker *w)
{
    svc_slot *s = w->slot;
    /* The attaching thread marks the slot LIVE after starting this thread. */
    while (atomic_load_explicit(&s->state, memory_order_acquire) == SVC_SLOT_STARTING)
        sched_yield();
    atomic_store_explicit(&s->state, SVC_SLOT_DRAINING, memory_order_seq_cst);
    /* Posters that saw LIVE may still be posting (or waiting for room):
     * answer what arrives until none is left, then what the ring holds. */
    void *batch[BATCH];
    for (;;) {
        bool last = atomic_load_explicit(&s->posters, memory_order_seq_cst) == 0;
        size_t n;
        while ((n = h2_mailbox_drain(&w->mb, batch, BATCH)) > 0)
            for (size_t i = 0; i < n; i++)
                handle(w, batch[i]);
        if (last)
            break;
        sched_yield();
    }
    take_returned(w);
    run_dirty(w);
    atomic_store_explicit(&s->state, SVC_SLOT_EXITED, memory_order_release);
    /* Shared worker 0 joins this thread; |w| is not touched after the push. */
    h2_service *svc = w->svc;
    svc_worker *head = atomic_load_explicit(&svc->reap, memory_order_relaxed);
    do {
        w->reap_next = head;
    } while (!atomic_compare_exchange_weak_explicit(&svc->reap, &head, w, memory_order_seq_cst,
                                                    memory_order_relaxed));
    h2_mailbox_notify(&svc->workers[0].mb);
}
