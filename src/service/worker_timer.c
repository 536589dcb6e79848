/*
 * Service worker: timers. Each worker keeps one binary min-heap of
 * deadlines (milliseconds of the service's clock: its |clock| hook, else
 * CLOCK_MONOTONIC); every connection and every
 * paused listener has at most one entry, the earliest of its deadlines, so
 * a change costs O(log n) and nothing scans all connections. The loop
 * sleeps in epoll_wait() until the top deadline.
 *
 * Connection timers (h2_svc_timer):
 *   IDLE      no stream open, no output pending and no byte received for
 *             idle_ms: GOAWAY(NO_ERROR), close.
 *   SETTINGS  a SETTINGS frame of ours unacknowledged for settings_ms:
 *             GOAWAY(SETTINGS_TIMEOUT), close.
 *   HEADER    a received header block incomplete header_ms after it
 *             started; later CONTINUATION frames do not move the deadline:
 *             GOAWAY(PROTOCOL_ERROR), close.
 *   PREFACE   the peer's preface and first SETTINGS not received
 *             preface_ms after attach: GOAWAY(PROTOCOL_ERROR), close.
 *   CLOSE     close_ms after a graceful close was asked for or a GOAWAY
 *             arrived: the transport is cut.
 *   WRITE     output pending and no byte taken by the transport for
 *             write_ms: the transport is cut.
 *   FLOW      DATA held for the peer's flow-control windows, and fewer
 *             than flow_floor bytes of it sent in an interval of flow_ms
 *             (the peer keeps its windows shut, or opens them a few bytes
 *             at a time, while the transport is free): GOAWAY(NO_ERROR),
 *             close. The interval starts when DATA begins to wait for
 *             windows; at its end, enough bytes sent start the next one.
 *
 * A connection's second slot holds its user timer (h2_svc_set_timer(),
 * conn_wake.c), so the heap is reserved for SVC_CONN_TIMERS entries per
 * connection (svc_timers_reserve_for()).
 */
#include <limits.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_clock.h"
#include "service/svc_conn.h"
#include "service/svc_listen.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

int64_t svc_now_ms(const h2_svc *svc)
{
    return svc->clock != NULL ? svc->clock(svc->clock_user) : svc_mono_ms();
}

int svc_timers_reserve(svc_worker *w, uint32_t n)
{
    svc_timer_heap *h = &w->timers;
    if (n <= h->cap)
        return 0;
    uint32_t cap = h->cap < 16 ? 16 : h->cap;
    while (cap < n) {
        if (cap > UINT32_MAX / 2)
            return H2_ENOMEM;
        cap *= 2;
    }
    svc_timer **items = h2_mem_realloc(&w->svc->mem, h->items, (size_t)cap * sizeof(*items));
    if (items == NULL)
        return H2_ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

int svc_timers_reserve_for(svc_worker *w, uint32_t conns, uint32_t listeners)
{
    uint64_t n = (uint64_t)conns * SVC_CONN_TIMERS + listeners;
    return n > UINT32_MAX ? H2_ENOMEM : svc_timers_reserve(w, (uint32_t)n);
}

void svc_timers_free(svc_worker *w)
{
    h2_mem_free(&w->svc->mem, w->timers.items);
    w->timers.items = NULL;
    w->timers.cap = w->timers.count = 0;
}

static void place(svc_timer_heap *h, svc_timer *t, uint32_t i)
{
    h->items[i] = t;
    t->index = i;
}

static void sift_up(svc_timer_heap *h, uint32_t i)
{
    svc_timer *t = h->items[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline <= t->deadline)
            break;
        place(h, h->items[parent], i);
        i = parent;
    }
    place(h, t, i);
}

static void sift_down(svc_timer_heap *h, uint32_t i)
{
    svc_timer *t = h->items[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && h->items[child + 1]->deadline < h->items[child]->deadline)
            child++;
        if (h->items[child]->deadline >= t->deadline)
            break;
        place(h, h->items[child], i);
        i = child;
    }
    place(h, t, i);
}

static void heap_remove(svc_timer_heap *h, svc_timer *t)
{
    uint32_t i = t->index;
    t->index = SVC_TIMER_NONE;
    h->count--;
    if (i == h->count)
        return;
    svc_timer *last = h->items[h->count];
    place(h, last, i);
    sift_up(h, i);
    sift_down(h, last->index);
}

void svc_timer_set(svc_worker *w, svc_timer *t, int64_t deadline)
{
    svc_timer_heap *h = &w->timers;
    if (deadline < 0) {
        if (t->index != SVC_TIMER_NONE)
            heap_remove(h, t);
        return;
    }
    if (t->index != SVC_TIMER_NONE) {
        int64_t old = t->deadline;
        t->deadline = deadline;
        if (deadline < old)
            sift_up(h, t->index);
        else if (deadline > old)
            sift_down(h, t->index);
        return;
    }
    if (h->count == h->cap)
        return; /* not reserved: cannot happen, the attach reserved a slot */
    t->deadline = deadline;
    h->items[h->count] = t;
    t->index = h->count++;
    sift_up(h, t->index);
}

int svc_timers_wait_ms(svc_worker *w)
{
    if (w->timers.count == 0)
        return -1;
    int64_t left = w->timers.items[0]->deadline - svc_now_ms(w->svc);
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int svc_timers_recheck(svc_worker *w, int timeout_ms)
{
    /* Pairs with the fence of h2_svc_wake(): either this read sees the
     * moved clock, or the waker sees the announced sleep and wakes us. */
    atomic_thread_fence(memory_order_seq_cst);
    int left = svc_timers_wait_ms(w);
    if (left >= 0 && (timeout_ms < 0 || left < timeout_ms))
        return left;
    return timeout_ms;
}

int h2_svc_wake(h2_svc *svc)
{
    if (svc == NULL)
        return H2_EINVAL;
    atomic_thread_fence(memory_order_seq_cst);
    svc_wake_workers(svc);
    return 0;
}

/* ---- connection timers ---- */

static int64_t earliest(int64_t a, int64_t since, uint32_t ms)
{
    if (ms == 0 || since < 0)
        return a;
    int64_t d = since + ms;
    return a < 0 || d < a ? d : a;
}

static bool busy(svc_conn *c)
{
    return h2_conn_open_inbound_streams(c->conn) + h2_conn_open_outbound_streams(c->conn) > 0 ||
           h2_conn_output_pending(c->conn) > 0 || c->deferred.head != NULL ||
           c->opening.head != NULL;
}

/* Re-reads what the timers depend on. */
static void refresh(svc_conn *c)
{
    int64_t now = c->worker->now;
    if (busy(c))
        c->last_active = now;
    size_t unacked = h2_conn_settings_unacked(c->conn);
    /* An acknowledgement while a later SETTINGS is out restarts the clock for that one. */
    if (unacked == 0)
        c->settings_since = -1;
    else if (c->settings_since < 0 || unacked < c->settings_unacked)
        c->settings_since = now;
    c->settings_unacked = unacked;
    if (!h2_conn_header_block_pending(c->conn))
        c->header_since = -1;
    else if (c->header_since < 0)
        c->header_since = now;
    if (c->got_settings)
        c->preface_since = -1;
    else if (c->preface_since < 0)
        c->preface_since = now;
    if ((c->closing || c->goaway_received) && c->close_since < 0)
        c->close_since = now;
    if (!c->write_blocked)
        c->write_since = -1;
    else if (c->write_since < 0)
        c->write_since = now;
    /* After a pump that did not stop at the output mark, streams still
     * holding DATA are held by the peer's windows alone. */
    bool flow_blocked = c->active != NULL && !c->output_full && !c->write_blocked;
    if (!flow_blocked) {
        c->flow_since = -1;
    } else if (c->flow_since < 0) {
        c->flow_since = now;
        c->flow_base = c->flow_sent;
    }
}

void svc_conn_timers_update(svc_conn *c)
{
    if (c->reason != 0 || c->conn == NULL)
        return;
    refresh(c);
    int64_t d = -1;
    if (!c->closing)
        d = earliest(d, c->last_active, c->idle_ms);
    d = earliest(d, c->settings_since, c->settings_ms);
    d = earliest(d, c->header_since, c->header_ms);
    d = earliest(d, c->preface_since, c->preface_ms);
    d = earliest(d, c->close_since, c->close_ms);
    d = earliest(d, c->write_since, c->write_ms);
    d = earliest(d, c->flow_since, c->flow_ms);
    svc_timer_set(c->worker, &c->timer, d);
}

static bool due(int64_t now, int64_t since, uint32_t ms)
{
    return ms != 0 && since >= 0 && now >= since + ms;
}

static void conn_timer(svc_conn *c)
{
    int64_t now = c->worker->now;
    refresh(c);
    if (due(now, c->flow_since, c->flow_ms) && c->flow_sent - c->flow_base >= c->flow_floor) {
        /* Useful progress in this interval: the next one begins. */
        c->flow_since = now;
        c->flow_base = c->flow_sent;
    }
    if (due(now, c->write_since, c->write_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_WRITE, false, 0);
    } else if (due(now, c->close_since, c->close_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_CLOSE, false, 0);
    } else if (due(now, c->flow_since, c->flow_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_FLOW, true, H2_NO_ERROR);
    } else if (due(now, c->preface_since, c->preface_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_PREFACE, true, H2_PROTOCOL_ERROR);
    } else if (due(now, c->header_since, c->header_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_HEADER, true, H2_PROTOCOL_ERROR);
    } else if (due(now, c->settings_since, c->settings_ms)) {
        svc_conn_timeout(c, H2_SVC_TIMER_SETTINGS, true, H2_SETTINGS_TIMEOUT);
    } else if (!c->closing && due(now, c->last_active, c->idle_ms)) {
        if (busy(c))
            c->last_active = now;
        else
            svc_conn_timeout(c, H2_SVC_TIMER_IDLE, true, H2_NO_ERROR);
    }
    svc_conn_touch(c);
    if (c->reason == 0)
        svc_conn_timers_update(c);
}

void svc_timers_run(svc_worker *w)
{
    svc_timer_heap *h = &w->timers;
    while (h->count > 0 && h->items[0]->deadline <= w->now) {
        svc_timer *t = h->items[0];
        heap_remove(h, t);
        if (t->kind == SVC_POLL_LISTENER) {
            svc_listener *l =
                (svc_listener *)(void *)((uint8_t *)t - offsetof(svc_listener, timer));
            svc_listener_resume(w, l);
        } else if (t->kind == SVC_TIMER_USER) {
            svc_conn *c = (svc_conn *)(void *)((uint8_t *)t - offsetof(svc_conn, user_timer));
            svc_conn_user_timer_fire(c);
        } else {
            svc_conn *c = (svc_conn *)(void *)((uint8_t *)t - offsetof(svc_conn, timer));
            if (c->reason == 0)
                conn_timer(c);
        }
    }
}
