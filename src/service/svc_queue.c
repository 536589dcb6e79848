/*
 * Service event queues and event records.
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
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/abi.h"
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

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
    svc_event_rec *spill;                     /* consumer: overflow records in FIFO order */
    h2_mailbox_hook poll_hook;                /* tests: runs half-way through a poll */
    void *poll_hook_arg;
};

svc_event_rec *svc_event_alloc(const h2_mem *mem, size_t extra, uint8_t **tail)
{
    size_t head = (sizeof(svc_event_rec) + 15u) & ~(size_t)15u;
    if (extra > SIZE_MAX - head)
        return NULL;
    uint8_t *block = h2_mem_malloc(mem, head + extra);
    if (block == NULL)
        return NULL;
    svc_event_rec *rec = (svc_event_rec *)(void *)block;
    memset(rec, 0, sizeof(*rec));
    rec->mem = *mem;
    rec->block = block;
    if (tail != NULL)
        *tail = block + head;
    return rec;
}

/* ---- the way back to a worker ---- */

svc_retbox *svc_retbox_new(const h2_mem *mem, h2_mailbox *mb)
{
    svc_retbox *box = h2_mem_malloc(mem, sizeof(*box));
    if (box == NULL)
        return NULL;
    atomic_init(&box->head, NULL);
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
    atomic_fetch_add_explicit(&w->ret->refs, 1, memory_order_relaxed);
    rec->ack_worker = w->ret;
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
    if (atomic_load_explicit(&box->head, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(&box->head, NULL, memory_order_acquire);
}

void svc_retbox_close(svc_retbox *box)
{
    if (box == NULL)
        return;
    atomic_store_explicit(&box->closed, true, memory_order_seq_cst);
    /* A releaser that saw the box open is pushing and waking the mailbox. */
    while (atomic_load_explicit(&box->users, memory_order_seq_cst) != 0)
        sched_yield();
    svc_event_rec *rec = atomic_exchange_explicit(&box->head, NULL, memory_order_acquire);
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_event_free(rec);
        rec = next;
    }
    retbox_unref(box);
}

void svc_event_free(svc_event_rec *rec)
{
    svc_event_drop_ack(rec);
    h2_mem mem = rec->mem;
    h2_mem_free(&mem, rec->block);
}

void h2_svc_event_release(h2_svc_event *ev)
{
    if (ev == NULL)
        return;
    svc_event_rec *rec = (svc_event_rec *)ev;
    svc_retbox *box = rec->ack_worker;
    if (box == NULL) {
        svc_event_free(rec);
        return;
    }
    atomic_fetch_add_explicit(&box->users, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&box->closed, memory_order_seq_cst)) {
        /* The worker is gone: nothing to acknowledge any more. */
        atomic_fetch_sub_explicit(&box->users, 1, memory_order_seq_cst);
        svc_event_free(rec);
        return;
    }
    /* Back to the worker, which acknowledges the bytes and frees it. */
    svc_event_rec *head = atomic_load_explicit(&box->head, memory_order_relaxed);
    do {
        rec->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&box->head, &head, rec, memory_order_seq_cst,
                                                    memory_order_relaxed));
    h2_mailbox_notify(box->mb);
    atomic_fetch_sub_explicit(&box->users, 1, memory_order_seq_cst);
}

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
    q->spill = NULL;
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
    /* Behind older overflow records, the ring must not be used. */
    bool behind = atomic_load_explicit(&q->spilled, memory_order_acquire) != 0;
    if (!behind && h2_mailbox_post(&q->mb, rec) == 0)
        return true;
    if (!force)
        return false;
    atomic_fetch_add_explicit(&q->spilled, 1, memory_order_relaxed);
    svc_event_rec *head = atomic_load_explicit(&q->overflow, memory_order_relaxed);
    do {
        rec->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&q->overflow, &head, rec, memory_order_seq_cst,
                                                    memory_order_relaxed));
    h2_mailbox_notify(&q->mb);
    return true;
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
    if (atomic_load_explicit(&q->overflow, memory_order_relaxed) == NULL)
        return;
    svc_event_rec *stack = atomic_exchange_explicit(&q->overflow, NULL, memory_order_acquire);
    svc_event_rec *fifo = NULL;
    while (stack != NULL) {
        svc_event_rec *next = stack->next;
        stack->next = fifo;
        fifo = stack;
        stack = next;
    }
    /* Append behind what is left of the spill list. */
    svc_event_rec **tail = &q->spill;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = fifo;
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
    while (n < max && q->spill != NULL) {
        svc_event_rec *rec = q->spill;
        q->spill = rec->next;
        rec->next = NULL;
        evs[n++] = &rec->pub;
        atomic_fetch_sub_explicit(&q->spilled, 1, memory_order_release);
    }
    /* Room in the ring, or the overflow emptied: workers may offer again. */
    if (n > 0)
        signal_room(q);
    return n;
}

static bool queue_ready(h2_svc_queue *q)
{
    return h2_mailbox_count(&q->mb) > 0 || q->spill != NULL ||
           atomic_load_explicit(&q->overflow, memory_order_seq_cst) != NULL;
}

int h2_svc_queue_fd(const h2_svc_queue *q)
{
    return q == NULL ? -1 : h2_mailbox_fd(&q->mb);
}

bool h2_svc_queue_prepare_wait(h2_svc_queue *q)
{
    h2_mailbox_ack_wakeup(&q->mb);
    if (!h2_mailbox_prepare_park(&q->mb))
        return false;
    /* The overflow stack is a side channel: check it after announcing. */
    if (q->spill != NULL || atomic_load_explicit(&q->overflow, memory_order_seq_cst) != NULL) {
        h2_mailbox_cancel_park(&q->mb);
        return false;
    }
    return true;
}

int h2_svc_queue_wait(h2_svc_queue *q, int timeout_ms)
{
    if (q == NULL)
        return H2_EINVAL;
    int64_t deadline = timeout_ms < 0 ? -1 : svc_mono_ms() + timeout_ms;
    for (;;) {
        if (queue_ready(q))
            return 1;
        if (!h2_svc_queue_prepare_wait(q)) {
            sched_yield();
            continue;
        }
        int wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - svc_mono_ms();
            wait_ms = left <= 0 ? 0 : (int)left;
        }
        struct pollfd p = {.fd = h2_mailbox_fd(&q->mb), .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, wait_ms);
        h2_mailbox_cancel_park(&q->mb);
        if (r < 0 && errno != EINTR)
            return H2_EINTERNAL;
        if (queue_ready(q))
            return 1;
        if (deadline >= 0 && svc_mono_ms() >= deadline)
            return 0;
    }
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
