/*
 * Service worker: the event loop that owns a set of connections.
 *
 * One turn: drain a batch of commands, take back released DATA events
 * (acknowledging them), retry connections whose events wait for queue
 * room, pump and flush every connection touched, then one epoll_wait()
 * over the sockets and the mailbox eventfd (its timeout: the nearest timer
 * deadline), handle what it reported, and run the timers that are due.
 */
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dedicated.h"
#include "service/svc_dispatch.h"
#include "service/svc_listen.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

#define BATCH 64
#define MAX_IO_EVENTS 64
/* While events wait for room in a queue that could not register the worker
 * for a wake-up, the worker retries this often. */
#define BLOCKED_RETRY_MS 2

void svc_conn_touch(svc_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->worker->dirty;
    c->worker->dirty = c;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                    */
/* ------------------------------------------------------------------------ */

void svc_worker_destroy(svc_worker *w)
{
    const h2_mem *mem = &w->svc->mem;
    /* Events released from now on are only freed (the box outlives us). */
    svc_retbox_close(w->ret);
    w->ret = NULL;
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
    h2_mailbox_destroy(&w->mb);
    h2_mem_free(mem, w->rbuf);
    w->rbuf = NULL;
    svc_timers_free(w);
    svc_worker_free_wakes(w);
    svc_map_free(&w->conns);
    svc_pool_free(&w->pool);
}

int svc_worker_init(h2_svc *svc, svc_worker *w, unsigned index, uint32_t capacity)
{
    w->svc = svc;
    w->index = index;
    w->epfd = -1;
    w->rbuf_size = svc->read_buffer_size;
    atomic_init(&w->started, false);
    atomic_init(&w->stop, false);
    atomic_init(&w->room, false);
    atomic_init(&w->feed_bytes, 0);
    atomic_init(&w->send_bytes, 0);
    atomic_init(&w->count.connections_total, 0);
    atomic_init(&w->count.connections, 0);
    atomic_init(&w->count.bytes_in, 0);
    atomic_init(&w->count.bytes_out, 0);
    atomic_init(&w->count.commands, 0);
    atomic_init(&w->count.events, 0);
    atomic_init(&w->count.loops, 0);
    atomic_init(&w->count.timeouts, 0);
    for (unsigned i = 0; i < H2_SVC_TIMER_COUNT; i++)
        atomic_init(&w->count.timer_expired[i], 0);
    atomic_init(&w->count.frames_in, 0);
    atomic_init(&w->count.frames_out, 0);
    atomic_init(&w->count.streams_opened, 0);
    svc_map_init(&w->conns, &svc->mem);
    /* Dedicated workers come and go with their connection: no pool. */
    svc_pool_init(&w->pool, &svc->mem, (index & SVC_ID_DEDICATED) == 0);
    int rv = h2_mailbox_init(&w->mb, capacity, &svc->mem);
    if (rv != 0)
        return rv;
    w->ret = svc_retbox_new(&svc->mem, &w->mb);
    if (w->ret == NULL)
        return H2_ENOMEM;
    w->rbuf = h2_mem_malloc(&svc->mem, w->rbuf_size);
    if (w->rbuf == NULL)
        return H2_ENOMEM;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return H2_EINTERNAL;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, h2_mailbox_fd(&w->mb), &ev) != 0)
        return H2_EINTERNAL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

/* Acknowledges and frees the DATA events the application released; a
 * released STREAM_RESET of a server frees the request's slot. Other
 * events released on other threads only come back to the pool. */
static void take_returned(svc_worker *w)
{
    svc_event_rec *rec = svc_retbox_take_spare(w->ret);
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_rec_free(rec);
        rec = next;
    }
    rec = svc_retbox_take(w->ret);
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_conn *c = svc_map_get(&w->conns, rec->pub.conn);
        if (c != NULL && c->reason == 0) {
            /* A stream that is gone credits the connection only; a
             * refusal here changes nothing worth reporting (nor does a
             * reset stream that held no request slot). */
            if (rec->pub.type == H2_SVC_EV_STREAM_RESET)
                (void)h2_conn_request_done(c->conn, rec->pub.stream_id);
            else
                (void)h2_conn_ack_data(c->conn, rec->pub.stream_id,
                                       rec->pub.flow_controlled_length);
            svc_conn_touch(c);
        }
        svc_rec_free(rec);
        rec = next;
    }
    svc_pool_refill(&w->pool);
}

static void run_dirty(svc_worker *w)
{
    if (w->closing.head != NULL)
        svc_worker_settle_closing(w);
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
        svc_worker_command(w, batch[i]);
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
        svc_worker_retry_blocked(w);
        run_dirty(w);
        if (w->closing.head == NULL && w->blocked == NULL && w->dirty == NULL)
            break;
        if (w->closing.head != NULL && !svc_worker_closing_due(w))
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
    svc_worker_retry_blocked(w);
    finish_all(w);
    settle_all(w);
    svc_worker_flush_wakes(w);
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
                svc_conn_drain(w->conns.slots[i].value);
    }
    if (d == SVC_DRAIN_CUT && !w->cut) {
        /* From now on everything is answered as at h2_svc_free(). */
        w->cut = true;
        w->stopping = true;
        svc_worker_retry_blocked(w);
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

/* Hands what epoll reported to its owner: the mailbox, a listener or a connection. */
static void io_ready(svc_worker *w, struct epoll_event *ev)
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
           w->closing.head == NULL;
}

void *svc_worker_main(void *arg)
{
    svc_worker *w = arg;
    current_service = w->svc;
    current_worker = w;
    svc_pool_bind(&w->pool);
    struct epoll_event evs[MAX_IO_EVENTS];
    w->now = svc_now_ms(w->svc);
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        svc_count(&w->count.loops, 1);
        size_t n = run_commands(w);
        svc_worker_run_wakes(w);
        drain_check(w);
        take_returned(w);
        if (w->index == 0)
            svc_dedicated_reap(w->svc);
        if (w->blocked != NULL)
            svc_worker_retry_blocked(w);
        run_dirty(w);
        svc_worker_flush_wakes(w);
        if (dedicated_done(w)) {
            svc_worker_leave(w);
            return NULL;
        }

        int timeout = n == BATCH ? 0 : svc_timers_wait_ms(w);
        if (w->wakes.head != NULL || (w->blocked != NULL && w->retry_now))
            timeout = 0;
        else if (w->blocked != NULL && w->timed_retry &&
                 (timeout < 0 || timeout > BLOCKED_RETRY_MS))
            timeout = BLOCKED_RETRY_MS;
        if (timeout != 0) {
            if (!h2_mailbox_prepare_park(&w->mb)) {
                timeout = 0;
            } else if (atomic_load_explicit(&w->ret->head, memory_order_seq_cst) != NULL ||
                       atomic_load_explicit(&w->stop, memory_order_seq_cst) || drain_due(w) ||
                       (w->closing.head != NULL && svc_worker_closing_due(w)) ||
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
            io_ready(w, &evs[i]);
        run_dirty(w);
        svc_timers_run(w);
        run_dirty(w);
        svc_worker_flush_wakes(w);
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
    svc_worker_flush_wakes(w);
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
