/*
 * Service event queues.
 *
 * A queue is a mailbox (bounded MPSC ring + eventfd) whose producers are
 * workers and whose consumer is one application thread, plus an unbounded
 * overflow stack used only when an event must be delivered whatever the
 * ring's fill (service shutdown, a connection's CLOSED). The stack is
 * pushed with a CAS and taken whole by the consumer with an exchange, so it
 * has no ABA problem.
 *
 * Order: while records sit in the overflow stack or the consumer's spill
 * list (|spilled| > 0), every offer goes to the stack too, so that no ring
 * entry can overtake an older overflow record of the same connection (a
 * connection's events are offered by one worker thread, in order). Ring
 * entries are handed out before the spill list: they are all older than
 * the records behind them in the stack. A poll takes the stack before it
 * drains the ring, so every ring entry older than a record it took is
 * published by then and goes out first.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/abi.h"
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_queue.h"
#include "service/svc_record.h"
#include "service/svc_worker.h"

/* Workers that may wait for room in one queue at once (others retry on a timer). */
#define WATCH_SLOTS 32

struct h2_svc_queue {
    h2_mailbox mb;
    h2_mem mem;
    atomic_uint_fast64_t epoch;               /* consumer: one more per poll that took events */
    atomic_int n_watch;                       /* registered workers */
    atomic_int notifying;                     /* consumers reading |watch| right now */
    _Atomic(svc_worker *) watch[WATCH_SLOTS]; /* workers waiting for room */
    _Atomic(svc_event_rec *) overflow;        /* any worker pushes; the consumer takes all */
    atomic_uint_fast64_t spilled;             /* records in |overflow| and |spill| */
    atomic_int last_offers;                   /* svc_queue_offer_last() calls under way */
    svc_ev_list spill;                        /* consumer: overflow records in FIFO order */
    h2_mailbox_hook poll_hook;                /* tests: runs half-way through a poll */
    void *poll_hook_arg;
};

int h2_svc_queue_new(h2_svc_queue **out, uint32_t capacity, const h2_mem *mem)
{
    if (out == NULL)
        return H2_EINVAL;
    *out = NULL;
    if (capacity < H2_MAILBOX_MIN_CAPACITY || capacity > H2_MAILBOX_MAX_CAPACITY ||
        (capacity & (capacity - 1)) != 0)
        return H2_EINVAL;
    mem = h2_mem_or_default(mem);
    h2_svc_queue *q = h2_mem_malloc(mem, sizeof(*q));
    if (q == NULL)
        return H2_ENOMEM;
    int rv = h2_mailbox_init(&q->mb, capacity, mem);
    if (rv != 0) {
        h2_mem_free(mem, q);
        return rv;
    }
    q->mem = *mem;
    atomic_init(&q->epoch, 0);
    atomic_init(&q->n_watch, 0);
    atomic_init(&q->notifying, 0);
    for (int i = 0; i < WATCH_SLOTS; i++)
        atomic_init(&q->watch[i], NULL);
    atomic_init(&q->overflow, NULL);
    atomic_init(&q->spilled, 0);
    atomic_init(&q->last_offers, 0);
    q->spill.head = q->spill.tail = NULL;
    q->poll_hook = NULL;
    q->poll_hook_arg = NULL;
    *out = q;
    return 0;
}

void h2_svc_queue_free(h2_svc_queue *q)
{
    if (q == NULL)
        return;
    /* A worker that just handed over a CLOSED may still be waking us. */
    while (atomic_load_explicit(&q->last_offers, memory_order_seq_cst) != 0)
        sched_yield();
    h2_svc_event *evs[64];
    size_t n;
    while ((n = h2_svc_queue_poll(q, evs, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            svc_event_free((svc_event_rec *)evs[i]);
    h2_mailbox_destroy(&q->mb);
    h2_mem mem = q->mem;
    h2_mem_free(&mem, q);
}

bool svc_queue_offer(h2_svc_queue *q, svc_event_rec *rec, bool force)
{
    if (svc_queue_offer_quiet(q, rec)) {
        svc_queue_notify(q);
        return true;
    }
    if (!force)
        return false;
    atomic_fetch_add_explicit(&q->spilled, 1, memory_order_relaxed);
    svc_evs_stack_push(&q->overflow, rec);
    h2_mailbox_notify(&q->mb);
    return true;
}

bool svc_queue_offer_quiet(h2_svc_queue *q, svc_event_rec *rec)
{
    /* Behind older overflow records, the ring must not be used. */
    if (atomic_load_explicit(&q->spilled, memory_order_acquire) != 0)
        return false;
    return h2_mailbox_post_quiet(&q->mb, rec) == 0;
}

void svc_queue_notify(h2_svc_queue *q)
{
    h2_mailbox_notify(&q->mb);
}

void svc_queue_offer_last(h2_svc_queue *q, svc_event_rec *rec)
{
    atomic_fetch_add_explicit(&q->last_offers, 1, memory_order_seq_cst);
    (void)svc_queue_offer(q, rec, true);
    atomic_fetch_sub_explicit(&q->last_offers, 1, memory_order_seq_cst);
}

/* Consumer: moves the overflow stack, reversed into arrival order, to |spill|. */
static void take_overflow(h2_svc_queue *q)
{
    svc_event_rec *stack = svc_evs_stack_take(&q->overflow);
    svc_ev_list arrived = {NULL, NULL};
    while (stack != NULL) {
        svc_event_rec *next = stack->next;
        svc_evs_unpop(&arrived, stack);
        stack = next;
    }
    /* Append behind what is left of the spill list. */
    svc_evs_append(&q->spill, &arrived);
}

void svc_queue_set_poll_hook(h2_svc_queue *q, h2_mailbox_hook fn, void *arg)
{
    q->poll_hook = fn;
    q->poll_hook_arg = arg;
}

uint64_t svc_queue_epoch(h2_svc_queue *q)
{
    return atomic_load_explicit(&q->epoch, memory_order_seq_cst);
}

int svc_queue_watch(h2_svc_queue *q, svc_worker *w, uint64_t epoch)
{
    int free_slot = -1;
    bool found = false;
    for (int i = 0; i < WATCH_SLOTS && !found; i++) {
        svc_worker *cur = atomic_load_explicit(&q->watch[i], memory_order_relaxed);
        if (cur == w)
            found = true;
        else if (cur == NULL && free_slot < 0)
            free_slot = i;
    }
    if (!found) {
        for (int i = free_slot < 0 ? WATCH_SLOTS : free_slot; i < WATCH_SLOTS; i++) {
            svc_worker *expect = NULL;
            if (atomic_compare_exchange_strong_explicit(
                    &q->watch[i], &expect, w, memory_order_seq_cst, memory_order_relaxed)) {
                atomic_fetch_add_explicit(&q->n_watch, 1, memory_order_seq_cst);
                found = true;
                break;
            }
        }
        if (!found)
            return -1;
    }
    /* A drain between the failed offer and the registration would not have
     * seen us: it changed the epoch, so try again at once. */
    if (atomic_load_explicit(&q->epoch, memory_order_seq_cst) != epoch)
        w->retry_now = true;
    return 0;
}

void svc_queue_unwatch(h2_svc_queue *q, svc_worker *w)
{
    for (int i = 0; i < WATCH_SLOTS; i++) {
        svc_worker *expect = w;
        if (atomic_compare_exchange_strong_explicit(&q->watch[i], &expect, NULL,
                                                    memory_order_seq_cst, memory_order_relaxed)) {
            atomic_fetch_sub_explicit(&q->n_watch, 1, memory_order_seq_cst);
            /* A consumer that read the slot before may still be signalling us. */
            while (atomic_load_explicit(&q->notifying, memory_order_seq_cst) != 0)
                sched_yield();
            return;
        }
    }
}

/* Consumer: events were taken; wakes the workers waiting for room. */
static void signal_room(h2_svc_queue *q)
{
    atomic_fetch_add_explicit(&q->epoch, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&q->n_watch, memory_order_seq_cst) == 0)
        return;
    atomic_fetch_add_explicit(&q->notifying, 1, memory_order_seq_cst);
    for (int i = 0; i < WATCH_SLOTS; i++) {
        svc_worker *w = atomic_load_explicit(&q->watch[i], memory_order_seq_cst);
        if (w == NULL)
            continue;
        atomic_store_explicit(&w->room, true, memory_order_seq_cst);
        h2_mailbox_notify(&w->mb);
    }
    atomic_fetch_sub_explicit(&q->notifying, 1, memory_order_seq_cst);
}

size_t h2_svc_queue_poll(h2_svc_queue *q, h2_svc_event **evs, size_t max)
{
    if (q == NULL || evs == NULL)
        return 0;
    /* The overflow stack first, the ring second: a ring entry published
     * before an overflow record this poll takes is then seen by the drain
     * (the other way round, a worker could fill the ring and push its
     * CLOSED between the two looks, and CLOSED would pass its answers). */
    take_overflow(q);
    if (q->poll_hook != NULL)
        q->poll_hook(q->poll_hook_arg);
    size_t n = h2_mailbox_drain(&q->mb, (void **)evs, max);
    while (n < max && q->spill.head != NULL) {
        svc_event_rec *rec = svc_evs_pop(&q->spill);
        evs[n++] = &rec->pub;
        atomic_fetch_sub_explicit(&q->spilled, 1, memory_order_release);
    }
    /* Room in the ring, or the overflow emptied: workers may offer again. */
    if (n > 0)
        signal_room(q);
    return n;
}

/* The overflow stack and the spill list: the queue's side channel next to
 * its ring (h2_mailbox_ready_fn). */
static bool overflow_ready(void *arg)
{
    const h2_svc_queue *q = arg;
    return q->spill.head != NULL || atomic_load_explicit(&q->overflow, memory_order_seq_cst) != NULL;
}

int h2_svc_queue_fd(const h2_svc_queue *q)
{
    return q == NULL ? -1 : h2_mailbox_fd(&q->mb);
}

bool h2_svc_queue_prepare_wait(h2_svc_queue *q)
{
    h2_mailbox_ack_wakeup(&q->mb);
    bool armed = h2_mailbox_prepare_park(&q->mb);
    /* The overflow stack is a side channel: check it after announcing. */
    if (armed && overflow_ready(q)) {
        h2_mailbox_cancel_park(&q->mb);
        armed = false;
    }
    /* Events wait, and the fd was cleared above: make it readable again
     * for a loop that goes back to its poller before polling the queue. */
    if (!armed)
        h2_mailbox_rearm(&q->mb);
    return armed;
}

int h2_svc_queue_wait(h2_svc_queue *q, int timeout_ms)
{
    if (q == NULL)
        return H2_EINVAL;
    return h2_mailbox_wait_side(&q->mb, timeout_ms, overflow_ready, q);
}

int h2_svc_queue_get_stats(const h2_svc_queue *q, h2_svc_queue_stats *out)
{
    if (q == NULL || out == NULL)
        return H2_EINVAL;
    h2_svc_queue_stats full, *dst = out;
    out = &full;
    h2_mailbox_stats ms;
    h2_mailbox_get_stats(&q->mb, &ms);
    out->events = ms.drained;
    out->high_water = ms.high_water;
    out->waiting = h2_mailbox_count(&q->mb);
    out->capacity = h2_mailbox_capacity(&q->mb);
    return h2_abi_export(dst, &full, sizeof(full), H2_SVC_QUEUE_STATS_MIN_SIZE);
}
