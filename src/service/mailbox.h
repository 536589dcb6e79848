/*
 * Service mailbox: a bounded multi-producer, single-consumer queue of
 * pointers with an eventfd that wakes the consumer.
 *
 * The ring is built on <stdatomic.h> only (see mailbox.c for the memory
 * ordering argument); the rest of the service talks to it through this
 * header.
 *
 * Roles
 *   - Producers: any number of threads call h2_mailbox_post() or
 *     h2_mailbox_post_wait() concurrently. Neither takes a lock; post()
 *     never blocks.
 *   - Consumer: exactly one thread at a time calls h2_mailbox_drain(),
 *     h2_mailbox_prepare_park(), h2_mailbox_cancel_park(),
 *     h2_mailbox_wait() and h2_mailbox_ack_wakeup().
 *   - h2_mailbox_fd(), h2_mailbox_capacity(), h2_mailbox_count() and
 *     h2_mailbox_get_stats() may be called from any thread.
 *   - h2_mailbox_init() and h2_mailbox_destroy() must not run concurrently
 *     with anything else on the same mailbox.
 *
 * Ownership of queued pointers
 *   The mailbox stores pointers and never dereferences them. A pointer
 *   belongs to the producer until h2_mailbox_post() returns 0; from then on
 *   it belongs to the consumer that drains it. A post that returns an error
 *   leaves the pointer with the producer. Pointers still queued when the
 *   mailbox is destroyed are not touched: drain them first if they own
 *   memory.
 *
 * Waking the consumer
 *   A busy consumer costs producers no system call. Before blocking, the
 *   consumer calls h2_mailbox_prepare_park(): it announces that it may
 *   block ("parks") and re-checks the queue. Only when that announcement is
 *   visible does a producer write the eventfd, and only one producer per
 *   announcement does so. A consumer with its own epoll loop adds
 *   h2_mailbox_fd() to its set (EPOLLIN), calls prepare_park() before
 *   epoll_wait() and skips the wait when it returns false; when the fd is
 *   readable it calls h2_mailbox_ack_wakeup() and drains. A consumer without
 *   an event loop calls h2_mailbox_wait() instead.
 *
 *     for (;;) {
 *         size_t n = h2_mailbox_drain(&mb, batch, 64);
 *         ... handle n pointers ...
 *         if (n == 0 && h2_mailbox_prepare_park(&mb))
 *             epoll_wait(...);          // mailbox fd readable: ack_wakeup()
 *     }
 *
 *   prepare_park() itself backs off (pause, then yield, then waits of a
 *   millisecond) while a producer is half-way through a post, so such a
 *   loop does not spin when a producer is preempted at the wrong moment.
 */
#ifndef H2_SERVICE_MAILBOX_H
#define H2_SERVICE_MAILBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "h2/common.h"

/* Smallest and largest ring size accepted by h2_mailbox_init(). */
#define H2_MAILBOX_MIN_CAPACITY 2u
#define H2_MAILBOX_MAX_CAPACITY (1u << 30)

/* Shared state (ring, flags, counters); defined in mailbox.c. */
struct h2_mailbox_core;

/*
 * @struct A mailbox. Embed it anywhere; all fields are private. The shared
 * state lives in one cache-line-aligned block allocated by
 * h2_mailbox_init().
 */
typedef struct h2_mailbox {
    struct h2_mailbox_core *core;
    void *block;  /* allocation that holds |core|, freed by destroy */
    h2_mem mem;   /* copy of the allocator used for |block| */
    int event_fd; /* eventfd written by producers to wake the consumer */
} h2_mailbox;

/* @struct Counters, read with h2_mailbox_get_stats(). */
typedef struct h2_mailbox_stats {
    uint64_t wakeups;       /* eventfd writes made by producers */
    uint64_t full;          /* post attempts that found the ring full */
    uint64_t space_signals; /* times the consumer woke producers waiting for room */
    uint64_t drained;       /* pointers handed to the consumer so far */
    uint32_t high_water;    /* most pointers seen queued at the start of a drain */
    uint64_t park_waits;    /* millisecond waits prepare_park() made for a half-done post */
} h2_mailbox_stats;

/*
 * @function Initialises |mb| with a ring of |capacity| slots, which must be
 * a power of two between H2_MAILBOX_MIN_CAPACITY and
 * H2_MAILBOX_MAX_CAPACITY. The ring holds up to |capacity| - 1 pointers at
 * once (one slot stays free to tell full from empty);
 * h2_mailbox_capacity() returns that number. |mem| is the allocator (NULL:
 * the C library's); it is copied.
 *
 * Returns 0, H2_EINVAL (|mb| NULL or |capacity| out of range or not a power
 * of two), or H2_ENOMEM (the allocation failed, or no eventfd could be
 * created: errno then tells which, e.g. EMFILE). On failure |mb| holds
 * nothing that needs destroying.
 */
int h2_mailbox_init(h2_mailbox *mb, uint32_t capacity, const h2_mem *mem);

/*
 * @function Frees the ring and closes the eventfd. Pointers still queued
 * are not touched. No thread may use |mb| during or after the call. Accepts
 * a mailbox whose init failed, or one already destroyed.
 */
void h2_mailbox_destroy(h2_mailbox *mb);

/* @function Most pointers the mailbox can hold at once (ring size - 1). */
uint32_t h2_mailbox_capacity(const h2_mailbox *mb);

/*
 * @function Pointers queued right now. Exact only when no thread is posting
 * or draining; otherwise a snapshot that may be stale on return.
 */
uint32_t h2_mailbox_count(const h2_mailbox *mb);

/*
 * @function Queues |ptr| (not NULL). Never blocks, never drops: on success
 * the consumer receives |ptr| exactly once, after every pointer this thread
 * posted before. Writes the eventfd only when the consumer announced it may
 * park.
 *
 * Returns 0 (ownership of |ptr| passed to the consumer), H2_EAGAIN (the ring
 * is full; |ptr| stays with the caller), or H2_EINVAL (|mb| or |ptr| NULL).
 */
int h2_mailbox_post(h2_mailbox *mb, void *ptr);

/*
 * @function Like h2_mailbox_post(), but when the ring is full waits up to
 * |timeout_ms| milliseconds (negative: without limit; 0: do not wait) for the
 * consumer to make room. Waiting producers register themselves and sleep on
 * a futex; the consumer signals it only when some producer is registered,
 * so the fast path stays lock-free and signal-free. Waiting producers are
 * woken once a drain leaves the ring at most half full, so each wake-up
 * lets them post many pointers.
 *
 * Returns 0, H2_EAGAIN (still full when the timeout expired; |ptr| stays
 * with the caller), or H2_EINVAL (|mb| or |ptr| NULL).
 */
int h2_mailbox_post_wait(h2_mailbox *mb, void *ptr, int timeout_ms);

/*
 * @function Producer: like h2_mailbox_post() but does not wake a parked
 * consumer. The caller owes the mailbox an h2_mailbox_notify() after it,
 * before the caller itself may block (so that several posts share one
 * wake-up); until then a parked consumer does not see the pointer.
 */
int h2_mailbox_post_quiet(h2_mailbox *mb, void *ptr);

/*
 * @function Any thread: wakes the consumer if it announced that it may park
 * (as a post does), without queueing anything. For side channels next to
 * the ring: store to the side channel first (seq_cst: that store takes the
 * part of a post's compare-and-swap in the handshake), then notify; the
 * consumer checks its side channels (seq_cst loads) after
 * h2_mailbox_prepare_park() returned true and before it blocks.
 */
void h2_mailbox_notify(h2_mailbox *mb);

/*
 * @function Consumer: moves up to |max| queued pointers, oldest first, into
 * |ptrs| and returns how many it moved (0 when the ring is empty). The
 * consumer now owns them. Also withdraws a pending park announcement and
 * wakes producers blocked in h2_mailbox_post_wait() once the ring is at
 * most half full.
 */
size_t h2_mailbox_drain(h2_mailbox *mb, void **ptrs, size_t max);

/*
 * @function Consumer: announces that the consumer is about to block on
 * h2_mailbox_fd() ("parks") and re-checks the ring. Returns true when the
 * ring is empty: it is then safe to block, since any later post writes the
 * eventfd. Returns false (and withdraws the announcement) when pointers are
 * queued or a post is in progress: drain instead of blocking. When a
 * producer has reserved a slot but not published it yet, successive calls
 * back off before returning false: the first few return at once, the next
 * ones yield the CPU, later ones wait up to a millisecond each on the
 * eventfd (counted in park_waits), so the caller's loop does not spin
 * while such a producer is preempted.
 */
bool h2_mailbox_prepare_park(h2_mailbox *mb);

/*
 * @function Consumer: withdraws the announcement made by
 * h2_mailbox_prepare_park() when the consumer woke up for another reason,
 * so producers stop writing the eventfd. h2_mailbox_drain() does the same.
 */
void h2_mailbox_cancel_park(h2_mailbox *mb);

/*
 * @function Consumer: blocks until the ring is not empty or |timeout_ms|
 * milliseconds passed (negative: without limit), polling the eventfd; for
 * consumers that have no event loop of their own.
 *
 * Returns 1 (pointers are queued: drain them), 0 (timeout, ring empty), or
 * H2_EINTERNAL (poll() failed with an error other than EINTR; errno is
 * kept).
 */
int h2_mailbox_wait(h2_mailbox *mb, int timeout_ms);

/* A consumer's look at its side channels (see h2_mailbox_notify()), with
 * seq_cst loads: true when something waits there. */
typedef bool (*h2_mailbox_ready_fn)(void *arg);

/*
 * @function Consumer: h2_mailbox_wait() that also returns 1 as soon as
 * |ready|(|arg|) is true (NULL |ready|: none). |ready| is called on the
 * consumer's thread before each wait and again after the park
 * announcement, so a side-channel store followed by h2_mailbox_notify() is
 * never missed. |arg| belongs to the caller.
 */
int h2_mailbox_wait_side(h2_mailbox *mb, int timeout_ms, h2_mailbox_ready_fn ready, void *arg);

/*
 * @function The eventfd that becomes readable when a producer wakes the
 * consumer. Owned by the mailbox (closed by destroy): add it to an epoll
 * set, do not read or close it directly. -1 after a failed init or after
 * destroy.
 */
int h2_mailbox_fd(const h2_mailbox *mb);

/*
 * @function Consumer: clears the eventfd after it became readable. Returns
 * true when a wake-up was pending.
 */
bool h2_mailbox_ack_wakeup(h2_mailbox *mb);

/*
 * @function Consumer: makes the eventfd readable again (after an
 * h2_mailbox_ack_wakeup() that turned out early: work is waiting), so that
 * a poller watching it calls the consumer back.
 */
void h2_mailbox_rearm(h2_mailbox *mb);

/* @function Copies the counters into |out|; any thread. */
void h2_mailbox_get_stats(const h2_mailbox *mb, h2_mailbox_stats *out);

/* A function run by h2_mailbox_set_reserve_hook(). */
typedef void (*h2_mailbox_hook)(void *arg);

/*
 * @function For tests: makes every post call |fn|(|arg|) between reserving
 * its slot and publishing it, so a test can hold a producer half-way (NULL
 * |fn|: none, the default). Call it before any thread posts; |arg| belongs
 * to the caller and must outlive the posts.
 */
void h2_mailbox_set_reserve_hook(h2_mailbox *mb, h2_mailbox_hook fn, void *arg);

#endif /* H2_SERVICE_MAILBOX_H */
