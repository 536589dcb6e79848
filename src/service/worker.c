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
        while (c->pending.head != NULL) {
            svc_event_rec *p = c->pending.head;
            c->pending.head = p->next;
            svc_event_drop_ack(p);
            deliver(c, p, true);
        }
        c->pending.tail = NULL;
        c->n_pending = 0;
        svc_event_drop_ack(rec);
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

/* Holds the CLOSED of |c| until the commands posted to it were handled. */
static void closing_push(svc_conn *c)
{
    svc_worker *w = c->worker;
    c->close_wait = true;
    c->close_ticket = 0;
    /* Appended: CLOSED events leave in the order the connections ended. */
    c->close_next = NULL;
    if (w->closing == NULL)
        w->closing_tail = &w->closing;
    *w->closing_tail = c;
    w->closing_tail = &c->close_next;
}

/* An ended connection whose CLOSED waits, not in the map (failed attach). */
static svc_conn *closing_find(svc_worker *w, h2_svc_conn_id id)
{
    for (svc_conn *c = w->closing; c != NULL; c = c->close_next)
        if (c->id == id)
            return c;
    return NULL;
}

/* True when the CLOSED of |c| may go out: no post to it is in flight, and
 * every command the ring held when that became true was handled. */
static bool closing_ready(svc_worker *w, svc_conn *c)
{
    if (c->close_ticket == 0) {
        if (c->live != NULL && atomic_load_explicit(&c->live->posters, memory_order_seq_cst) != 0)
            return false;
        c->close_ticket = w->handled + h2_mailbox_count(&w->mb) + 1u;
    }
    return w->handled + 1u >= c->close_ticket;
}

/* Emits the CLOSED of every ended connection that may have it now. */
static void settle_closing(svc_worker *w)
{
    svc_conn **link = &w->closing;
    while (*link != NULL) {
        svc_conn *c = *link;
        if (!closing_ready(w, c)) {
            link = &c->close_next;
            continue;
        }
        *link = c->close_next;
        if (*link == NULL)
            w->closing_tail = link;
        c->close_wait = false;
        svc_event_rec *rec = c->closed_ev;
        c->closed_ev = NULL;
        /* The final counters: the core's as it ended, the service's now. */
        h2_svc_conn_stats st = c->st;
        st.frames_in = rec->pub.stats.frames_in;
        st.frames_out = rec->pub.stats.frames_out;
        st.streams_opened = rec->pub.stats.streams_opened;
        rec->pub.stats = st;
        svc_conn_emit(c, rec);
        svc_conn_touch(c);
    }
}

/* True when a closing connection can be settled (checked before sleeping). */
static bool closing_due(svc_worker *w)
{
    for (svc_conn *c = w->closing; c != NULL; c = c->close_next)
        if (closing_ready(w, c))
            return true;
    return false;
}

void svc_conn_destroy(svc_conn *c)
{
    const h2_mem *mem = c->streams.mem;
    if (c->live != NULL)
        svc_live_release(c->svc, c);
    svc_conn_close_transport(c);
    h2_conn_free(c->conn);
    if (c->closed_ev != NULL)
        svc_event_free(c->closed_ev);
    svc_map_free(&c->streams);
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
    /* From now on posts to this id fail at the call; CLOSED waits for the
     * ones already made (settle_closing()). */
    svc_live_end(c);
    svc_conn_drop_held(c, reason);
    svc_conn_close_transport(c);
    svc_timer_set(c->worker, &c->timer, -1);
    h2_conn_error err = {0};
    svc_event_rec *rec = c->closed_ev;
    svc_conn_stats_now(c, &rec->pub.stats, c->closed_core);
    svc_conn_count_core(c, c->closed_core);
    if (c->conn != NULL)
        err = h2_conn_last_error(c->conn);
    h2_conn_free(c->conn);
    c->conn = NULL;
    /* Nothing left to acknowledge on a closed connection. */
    for (svc_event_rec *p = c->pending.head; p != NULL; p = p->next)
        svc_event_drop_ack(p);
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    rec->pub.sys_errno = sys_errno;
    rec->pub.timer = c->timeout;
    rec->pub.error_code = err.occurred ? err.code : c->has_goaway_code ? c->goaway_code : 0;
    closing_push(c);
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
    core->size = sizeof(*core);
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

/* Fails an attach before the connection took part in the loop: commands
 * already posted to its id are answered before its CLOSED. */
static void attach_failed(svc_worker *w, svc_conn *c, int reason, int error)
{
    c->worker = w;
    c->reason = reason;
    svc_live_end(c);
    svc_conn_close_transport(c);
    svc_event_rec *rec = c->closed_ev;
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    closing_push(c);
    svc_conn_touch(c);
}

/* Whole-service shutdown: GOAWAY(NO_ERROR); open streams may finish. */
static void drain_conn(svc_conn *c)
{
    if (c->reason != 0 || c->drain_seen)
        return;
    c->drain_seen = true;
    c->closing = true;
    (void)h2_conn_close(c->conn, H2_NO_ERROR, NULL, 0, -1);
    svc_conn_touch(c);
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
    if (w->draining)
        drain_conn(c);
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
    if (c == NULL && w->closing != NULL)
        c = closing_find(w, cmd->conn);
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
        /* The block's tail holds the core's counters (h2_svc_query_stats()). */
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
    svc_event_rec *rec = svc_retbox_take(w->ret);
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

static void run_dirty(svc_worker *w)
{
    if (w->closing != NULL)
        settle_closing(w);
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
        if (c->reason != 0 && !c->in_blocked && !c->dirty && !c->close_wait) {
            svc_map_remove(&w->conns, c->id);
            atomic_store_explicit(&w->count.connections, w->conns.count, memory_order_relaxed);
            svc_conn_destroy(c);
        } else if (c->reason == 0) {
            h2_conn_stats core = {.size = sizeof(core)};
            h2_conn_get_stats(c->conn, &core);
            svc_conn_count_core(c, &core);
            svc_conn_update_epoll(c);
            svc_conn_timers_update(c);
            if (svc_conn_tr_pending(c))
                svc_conn_readable(c);
        }
    }
}

/* Takes up to one batch of commands from the ring and handles them. */
static size_t run_commands(svc_worker *w)
{
    void *batch[BATCH];
    size_t n = h2_mailbox_drain(&w->mb, batch, BATCH);
    if (n > 0)
        w->now = svc_now_ms(w->svc); /* commands start clocks: not earlier than posted */
    for (size_t i = 0; i < n; i++) {
        handle(w, batch[i]);
        w->handled++;
    }
    return n;
}

/* Ends every connection of |w| (reason H2_SVC_CLOSE_SHUTDOWN). */
static void finish_all(svc_worker *w)
{
    /* svc_conn_finish() does not change the map: entries leave in run_dirty(). */
    for (size_t i = 0; i < w->conns.cap; i++) {
        svc_conn *c = w->conns.slots[i].value;
        if (w->conns.slots[i].key != 0 && c->reason == 0)
            svc_conn_finish(c, H2_SVC_CLOSE_SHUTDOWN, H2_ECLOSED, 0);
    }
}

/*
 * Stopping: answers what the ring holds until every ended connection sent
 * its CLOSED (posts in flight to them are waited for) and every event
 * went out.
 */
static void settle_all(svc_worker *w)
{
    for (;;) {
        while (run_commands(w) > 0)
            ;
        take_returned(w);
        retry_blocked(w);
        run_dirty(w);
        if (w->closing == NULL && w->blocked == NULL && w->dirty == NULL)
            break;
        if (w->closing != NULL && !closing_due(w))
            sched_yield(); /* a poster is half-way */
    }
}

static void shutdown_worker(svc_worker *w)
{
    w->stopping = true;
    svc_listeners_close(w);
    while (run_commands(w) > 0)
        ;
    take_returned(w);
    retry_blocked(w);
    finish_all(w);
    settle_all(w);
}

/* Whole-service shutdown: GOAWAY everywhere, then (at the deadline) cut. */
static void drain_check(svc_worker *w)
{
    int d = atomic_load_explicit(&w->svc->drain, memory_order_acquire);
    if (d == 0 || (w->draining && (d != SVC_DRAIN_CUT || w->cut)))
        return;
    if (!w->draining) {
        w->draining = true;
        svc_listeners_close(w);
        for (size_t i = 0; i < w->conns.cap; i++)
            if (w->conns.slots[i].key != 0)
                drain_conn(w->conns.slots[i].value);
    }
    if (d == SVC_DRAIN_CUT && !w->cut) {
        /* From now on everything is answered as at h2_svc_free(). */
        w->cut = true;
        w->stopping = true;
        retry_blocked(w);
        finish_all(w);
    }
}

static bool drain_due(const svc_worker *w)
{
    int d = atomic_load_explicit(&w->svc->drain, memory_order_seq_cst);
    return (d != 0 && !w->draining) || (d == SVC_DRAIN_CUT && !w->cut);
}

/* The service whose worker runs on this thread, if any. */
static _Thread_local const h2_svc *current_service;
/* The worker whose loop runs on this thread, if any. */
static _Thread_local const svc_worker *current_worker;

/* The sweep of one ring; returns how many commands it answered. */
static size_t sweep_worker(svc_worker *w)
{
    if (w->svc == NULL || w->mb.core == NULL)
        return 0; /* never set up (h2_svc_new() failed half-way) */
    w->stopping = true;
    size_t n, total = 0;
    while ((n = run_commands(w)) > 0)
        total += n;
    if (total > 0)
        settle_all(w);
    return total;
}

void svc_service_sweep(h2_svc *svc)
{
    /* Callbacks run here as on a worker: a post from them never waits. */
    const h2_svc *prev = current_service;
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

bool svc_on_worker_thread(const h2_svc *svc)
{
    return current_service == svc;
}

bool svc_on_any_worker_thread(void)
{
    return current_service != NULL;
}

bool svc_on_own_worker(const svc_worker *w)
{
    return current_worker == w;
}

/* A dedicated worker whose connection ended and delivered all its events. */
static bool dedicated_done(const svc_worker *w)
{
    return w->slot != NULL && w->served && w->conns.count == 0 && w->blocked == NULL &&
           w->closing == NULL;
}

void *svc_worker_main(void *arg)
{
    svc_worker *w = arg;
    current_service = w->svc;
    current_worker = w;
    struct epoll_event evs[MAX_IO_EVENTS];
    w->now = svc_now_ms(w->svc);
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        svc_count(&w->count.loops, 1);
        size_t n = run_commands(w);
        drain_check(w);
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
            } else if (atomic_load_explicit(&w->ret->head, memory_order_seq_cst) != NULL ||
                       atomic_load_explicit(&w->stop, memory_order_seq_cst) || drain_due(w) ||
                       (w->closing != NULL && closing_due(w)) ||
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
    for (;;) {
        bool last = atomic_load_explicit(&s->posters, memory_order_seq_cst) == 0;
        while (run_commands(w) > 0)
            ;
        if (last)
            break;
        sched_yield();
    }
    take_returned(w);
    settle_all(w);
    atomic_store_explicit(&s->state, SVC_SLOT_EXITED, memory_order_release);
    /* Shared worker 0 joins this thread; |w| is not touched after the push. */
    h2_svc *svc = w->svc;
    svc_worker *head = atomic_load_explicit(&svc->reap, memory_order_relaxed);
    do {
        w->reap_next = head;
    } while (!atomic_compare_exchange_weak_explicit(&svc->reap, &head, w, memory_order_seq_cst,
                                                    memory_order_relaxed));
    h2_mailbox_notify(&svc->workers[0].mb);
}
