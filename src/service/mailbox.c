/*
 * Service mailbox: ck_ring (MPSC) + eventfd for the consumer + futex for
 * producers waiting for room. See mailbox.h for the contract.
 *
 * Memory ordering
 *
 * The ring itself is ck's: a producer reserves a slot with a
 * compare-and-swap on p_head (ck_ring_enqueue_reserve_mpsc), stores the
 * pointer and publishes it by advancing p_tail (ck_ring_enqueue_commit_mpsc);
 * the consumer reads p_tail, loads the slots and advances c_head, as
 * ck_ring_dequeue_mpsc does, once per batch. ck's fences make the slot
 * contents visible to the consumer and the slot reusable by producers.
 *
 * Two wake-up protocols sit beside the ring. Each is a "store one flag, then
 * load the other side's flag" pair (Dekker's pattern), which needs a
 * StoreLoad ordering on both sides; both are built from sequentially
 * consistent (seq_cst) operations only, so that they are correct in the C11
 * model and need no atomic_thread_fence():
 *
 * 1. Consumer sleep (eventfd).
 *    consumer: store(sleeping = 1, seq_cst); load(p_head, seq_cst);
 *              block only if p_head == c_head.
 *    producer: CAS(p_head) inside ck's enqueue; load(sleeping, seq_cst);
 *              if 1, exchange(sleeping = 0) and write the eventfd.
 *    ck's CAS is a full barrier (lock cmpxchg on x86, __sync builtin with
 *    CK_USE_CC_BUILTINS), i.e. a seq_cst read-modify-write. In the single
 *    total order of seq_cst operations, if the consumer's load of p_head
 *    precedes the producer's CAS (it saw no reservation), then its store of
 *    sleeping precedes the producer's load of sleeping, which therefore reads
 *    1 (or 0 written by another producer that then wrote the eventfd, or by
 *    the consumer that is awake). Either the consumer sees the item or some
 *    producer wakes it: no lost wake-up. The exchange lets exactly one
 *    producer per announcement make the system call; a consumer that is
 *    running leaves sleeping at 0, so producers pay one plain load.
 *    Checking p_head (reservations) rather than p_tail (commits) keeps the
 *    argument on the CAS; a consumer that sees a reserved but not yet
 *    committed slot simply does not sleep and drains again.
 *
 * 2. Producers waiting for room (futex on space_seq).
 *    producer: s = load(space_seq); fetch_add(space_waiters, 1, seq_cst);
 *              load(c_head, seq_cst); if still full, futex_wait(space_seq, s).
 *    consumer: after a drain that leaves the ring at most half full,
 *              fetch_add(c_head, 0, seq_cst) (a seq_cst read-modify-write of
 *              its own counter, ordering its plain store of c_head);
 *              load(space_waiters, seq_cst); if not 0, increment space_seq
 *              and futex_wake.
 *    By the same total-order argument, either the producer sees the freed
 *    slot or the consumer sees the registered waiter; in the second case
 *    space_seq changes after the producer read it, so futex_wait either
 *    returns at once (value differs) or is woken. A producer sleeps only
 *    after seeing the ring full, so the consumer, which keeps draining while
 *    pointers are queued, reaches the half-full mark and checks. The
 *    consumer signals only when someone registered, so the fast path has no
 *    system call and no lock.
 *
 * ThreadSanitizer
 *
 * ck_pr's loads and stores are volatile accesses, even with
 * CK_USE_CC_BUILTINS=1 (that macro only swaps ck's inline assembly for
 * __sync builtins: compare-and-swap becomes visible to TSan, but plain
 * loads, stores and __sync_synchronize() fences do not). TSan would report
 * races inside ck_ring. In TSan builds the ring accesses therefore run in an
 * ignore region, and the hand-over of a pointer is declared explicitly:
 * release before enqueue, acquire after dequeue. Races in the data that the
 * pointers refer to are still detected.
 */
#include "service/mailbox.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <ck_ring.h>

#include "core/mem.h"
#include "h2/errors.h"

#if defined(__SANITIZE_THREAD__)
#define H2_MAILBOX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define H2_MAILBOX_TSAN 1
#endif
#endif

#ifdef H2_MAILBOX_TSAN
#include <sanitizer/tsan_interface.h>
/* Dynamic annotations exported by the TSan runtime. */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define RING_ACCESS_BEGIN()                                                                        \
    do {                                                                                           \
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);                                              \
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);                                             \
    } while (0)
#define RING_ACCESS_END()                                                                          \
    do {                                                                                           \
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);                                               \
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);                                                \
    } while (0)
#define HANDOVER_RELEASE(addr) __tsan_release(addr)
#define HANDOVER_ACQUIRE(addr) __tsan_acquire(addr)
#else
#define RING_ACCESS_BEGIN() ((void)0)
#define RING_ACCESS_END() ((void)0)
#define HANDOVER_RELEASE(addr) ((void)(addr))
#define HANDOVER_ACQUIRE(addr) ((void)(addr))
#endif

#define CACHE_LINE 64

/*
 * Shared state, allocated cache-line aligned and followed by the slots.
 * Lines: ck_ring's consumer counter / ck_ring's producer counters / ring
 * geometry plus the sleep flag (read by every post, written only around
 * consumer sleeps) / producers' slow path / consumer's counters.
 */
struct h2_mailbox_core {
    ck_ring_t ring;
    ck_ring_buffer_t *slots;
    atomic_uint sleeping; /* 1: the consumer may block on the eventfd */

    alignas(CACHE_LINE) atomic_uint space_waiters; /* producers in post_wait's sleep */
    atomic_uint space_seq;                         /* futex word, bumped on each signal */
    _Atomic uint64_t wakeups;
    _Atomic uint64_t full;
    _Atomic uint64_t space_signals;

    alignas(CACHE_LINE) _Atomic uint64_t drained; /* written by the consumer only */
    atomic_uint high_water;
};

/*
 * Pause instructions a producer spends waiting for another producer to
 * publish its slot before it yields the CPU.
 */
#define COMMIT_SPINS 128

/* Waits until p_tail reaches |ticket| (or p_head when |ticket| is NULL). */
static void wait_published(struct h2_mailbox_core *c, const unsigned *ticket)
{
    unsigned spins = 0;
    for (;;) {
        unsigned target = ticket ? *ticket : ck_pr_load_uint(&c->ring.p_head);
        if (ck_pr_load_uint(&c->ring.p_tail) == target)
            return;
        if (++spins < COMMIT_SPINS) {
            ck_pr_stall();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

/*
 * ck_ring_enqueue_mpsc() in its two steps, reserve and commit, with two
 * waits added so that preempted producers do not stall the others.
 *
 * ck publishes slots in ticket order: the producer holding ticket k commits
 * only after k - 1 has, spinning meanwhile. This is a ticket lock in
 * disguise, and like one it collapses when there are more runnable threads
 * than cores: a producer preempted between reserve and commit (or while
 * spinning for its predecessor) makes every later ticket holder spin for
 * whole time slices, and the ring then advances by about one slot per
 * slice (measured: 4 producers and one consumer on 2 cores fell from tens
 * of millions to a few hundred thousand posts per second).
 *
 * 1. Before reserving, wait until no reserved slot is unpublished
 *    (p_tail == p_head). A producer then rarely takes a ticket behind
 *    another one, so whichever producer runs next can proceed instead of one
 *    particular thread. Two producers can still pass this check together;
 *    the second then simply waits in step 2.
 * 2. Before committing, wait for the predecessor ourselves with a bounded
 *    spin followed by sched_yield(), which hands the CPU to a preempted
 *    predecessor; ck's commit then finds its condition already true.
 */
static bool ring_enqueue(struct h2_mailbox_core *c, void *ptr)
{
    unsigned ticket;
    HANDOVER_RELEASE(&c->ring);
    RING_ACCESS_BEGIN();
    wait_published(c, NULL);
    ck_ring_buffer_t *slot = ck_ring_enqueue_reserve_mpsc(&c->ring, c->slots, &ticket);
    if (slot == NULL) {
        RING_ACCESS_END();
        return false;
    }
    slot->value = ptr;
    wait_published(c, &ticket);
    ck_ring_enqueue_commit_mpsc(&c->ring, ticket);
    RING_ACCESS_END();
    return true;
}

/* Protocol 1, producer side: called after a successful enqueue. */
static void wake_consumer(h2_mailbox *mb, struct h2_mailbox_core *c)
{
    if (atomic_load_explicit(&c->sleeping, memory_order_seq_cst) == 0)
        return;
    if (atomic_exchange_explicit(&c->sleeping, 0, memory_order_seq_cst) == 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(mb->event_fd, &one, sizeof one);
    /* Only fails with EAGAIN when the counter would pass 2^64 - 2. */
    (void)w;
    atomic_fetch_add_explicit(&c->wakeups, 1, memory_order_relaxed);
}

void h2_mailbox_notify(h2_mailbox *mb)
{
    wake_consumer(mb, mb->core);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until |deadline| (-1: none), clamped to [0, INT_MAX]. */
static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int h2_mailbox_init(h2_mailbox *mb, uint32_t capacity, const h2_mem *mem)
{
    if (mb == NULL)
        return H2_EINVAL;
    mb->core = NULL;
    mb->block = NULL;
    mb->event_fd = -1;
    if (capacity < H2_MAILBOX_MIN_CAPACITY || capacity > H2_MAILBOX_MAX_CAPACITY ||
        (capacity & (capacity - 1)) != 0)
        return H2_EINVAL;
    mb->mem = *h2_mem_or_default(mem);

    size_t head = sizeof(struct h2_mailbox_core);
    if ((SIZE_MAX - head - CACHE_LINE) / sizeof(ck_ring_buffer_t) < capacity)
        return H2_ENOMEM;
    size_t size = head + (size_t)capacity * sizeof(ck_ring_buffer_t) + CACHE_LINE - 1;
    void *block = h2_mem_malloc(&mb->mem, size);
    if (block == NULL)
        return H2_ENOMEM;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        h2_mem_free(&mb->mem, block);
        errno = saved;
        return H2_ENOMEM;
    }

    uintptr_t at = ((uintptr_t)block + CACHE_LINE - 1) & ~(uintptr_t)(CACHE_LINE - 1);
    struct h2_mailbox_core *c = (struct h2_mailbox_core *)at;
    memset(c, 0, head);
    ck_ring_init(&c->ring, capacity);
    c->slots = (ck_ring_buffer_t *)(at + head);
    atomic_init(&c->sleeping, 0);
    atomic_init(&c->space_waiters, 0);
    atomic_init(&c->space_seq, 0);
    atomic_init(&c->wakeups, 0);
    atomic_init(&c->full, 0);
    atomic_init(&c->space_signals, 0);
    atomic_init(&c->drained, 0);
    atomic_init(&c->high_water, 0);

    mb->core = c;
    mb->block = block;
    mb->event_fd = fd;
    return 0;
}

void h2_mailbox_destroy(h2_mailbox *mb)
{
    if (mb == NULL)
        return;
    if (mb->block != NULL)
        h2_mem_free(&mb->mem, mb->block);
    if (mb->event_fd >= 0)
        close(mb->event_fd);
    mb->core = NULL;
    mb->block = NULL;
    mb->event_fd = -1;
}

uint32_t h2_mailbox_capacity(const h2_mailbox *mb)
{
    return ck_ring_capacity(&mb->core->ring) - 1;
}

uint32_t h2_mailbox_count(const h2_mailbox *mb)
{
    RING_ACCESS_BEGIN();
    unsigned n = ck_ring_size(&mb->core->ring);
    RING_ACCESS_END();
    return n;
}

int h2_mailbox_post(h2_mailbox *mb, void *ptr)
{
    if (mb == NULL || ptr == NULL)
        return H2_EINVAL;
    struct h2_mailbox_core *c = mb->core;
    if (!ring_enqueue(c, ptr)) {
        atomic_fetch_add_explicit(&c->full, 1, memory_order_relaxed);
        return H2_EAGAIN;
    }
    wake_consumer(mb, c);
    return 0;
}

/* Protocol 2, producer side: true when a slot is free (seq_cst loads). */
static bool has_room(struct h2_mailbox_core *c)
{
    unsigned cons = __atomic_load_n(&c->ring.c_head, __ATOMIC_SEQ_CST);
    unsigned prod = __atomic_load_n(&c->ring.p_head, __ATOMIC_SEQ_CST);
    return prod - cons < c->ring.mask;
}

static void futex_wait_ms(atomic_uint *word, unsigned expected, int timeout_ms)
{
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    /* Returns at once with EAGAIN when *word != expected; EINTR and
     * ETIMEDOUT also just return: the caller re-checks everything. */
    syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
}

int h2_mailbox_post_wait(h2_mailbox *mb, void *ptr, int timeout_ms)
{
    int rv = h2_mailbox_post(mb, ptr);
    if (rv != H2_EAGAIN || timeout_ms == 0)
        return rv;
    struct h2_mailbox_core *c = mb->core;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        int left = remaining_ms(deadline);
        if (left == 0)
            return H2_EAGAIN;
        unsigned seq = atomic_load_explicit(&c->space_seq, memory_order_seq_cst);
        atomic_fetch_add_explicit(&c->space_waiters, 1, memory_order_seq_cst);
        if (!has_room(c))
            futex_wait_ms(&c->space_seq, seq, left);
        atomic_fetch_sub_explicit(&c->space_waiters, 1, memory_order_seq_cst);
        if (ring_enqueue(c, ptr)) {
            wake_consumer(mb, c);
            return 0;
        }
    }
}

/*
 * ck_ring_dequeue_mpsc() for a whole batch: the same single-consumer
 * protocol (read p_tail, fence, copy the slots, fence, advance c_head) with
 * ck's primitives, but c_head is written once per batch instead of once per
 * pointer. Every producer reads c_head on each enqueue, so each write of it
 * costs them a cache miss; per pointer, that was the largest cost of a
 * drain. Sets |*queued| to the number of published pointers seen.
 */
static size_t ring_dequeue_batch(struct h2_mailbox_core *c, void **ptrs, size_t max,
                                 unsigned *queued)
{
    ck_ring_t *ring = &c->ring;
    unsigned cons = ring->c_head; /* written by this thread only */
    unsigned prod = ck_pr_load_uint(&ring->p_tail);
    unsigned avail = prod - cons;
    *queued = avail;
    if (avail == 0 || max == 0)
        return 0;
    size_t n = avail < max ? avail : max;
    /* Slot contents are read after the p_tail that published them. */
    ck_pr_fence_load();
    for (size_t i = 0; i < n; i++)
        ptrs[i] = c->slots[(cons + (unsigned)i) & ring->mask].value;
    /* The slots are read before producers may reuse them. */
    ck_pr_fence_load_store();
    ck_pr_store_uint(&ring->c_head, cons + (unsigned)n);
    return n;
}

/*
 * Protocol 2, consumer side: called after dequeuing at least one pointer,
 * with the number of pointers left in the ring. Waiting producers are
 * woken only once the ring is at most half full, so that each wake-up lets
 * them post many pointers instead of one batch's worth. A producer only
 * waits while the ring is full, so the consumer keeps draining until it
 * passes that mark and then sees the waiter.
 */
static void signal_space(struct h2_mailbox_core *c, unsigned left)
{
    if (left > c->ring.size / 2)
        return;
    __atomic_fetch_add(&c->ring.c_head, 0u, __ATOMIC_SEQ_CST);
    if (atomic_load_explicit(&c->space_waiters, memory_order_seq_cst) == 0)
        return;
    atomic_fetch_add_explicit(&c->space_seq, 1, memory_order_seq_cst);
    syscall(SYS_futex, (void *)&c->space_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    atomic_fetch_add_explicit(&c->space_signals, 1, memory_order_relaxed);
}

size_t h2_mailbox_drain(h2_mailbox *mb, void **ptrs, size_t max)
{
    struct h2_mailbox_core *c = mb->core;
    if (atomic_load_explicit(&c->sleeping, memory_order_relaxed) != 0)
        atomic_store_explicit(&c->sleeping, 0, memory_order_relaxed);

    RING_ACCESS_BEGIN();
    unsigned queued = 0;
    size_t n = ring_dequeue_batch(c, ptrs, max, &queued);
    RING_ACCESS_END();
    if (n == 0)
        return 0;
    HANDOVER_ACQUIRE(&c->ring);

    uint64_t total = atomic_load_explicit(&c->drained, memory_order_relaxed);
    atomic_store_explicit(&c->drained, total + n, memory_order_relaxed);
    if (queued > atomic_load_explicit(&c->high_water, memory_order_relaxed))
        atomic_store_explicit(&c->high_water, queued, memory_order_relaxed);
    signal_space(c, queued - (unsigned)n);
    return n;
}

bool h2_mailbox_prepare_sleep(h2_mailbox *mb)
{
    struct h2_mailbox_core *c = mb->core;
    atomic_store_explicit(&c->sleeping, 1, memory_order_seq_cst);
    unsigned cons = __atomic_load_n(&c->ring.c_head, __ATOMIC_RELAXED);
    unsigned prod = __atomic_load_n(&c->ring.p_head, __ATOMIC_SEQ_CST);
    if (prod != cons) {
        atomic_store_explicit(&c->sleeping, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

void h2_mailbox_cancel_sleep(h2_mailbox *mb)
{
    struct h2_mailbox_core *c = mb->core;
    if (atomic_load_explicit(&c->sleeping, memory_order_relaxed) != 0)
        atomic_store_explicit(&c->sleeping, 0, memory_order_relaxed);
}

/* True when a published pointer is waiting to be drained (consumer side). */
static bool ring_ready(struct h2_mailbox_core *c)
{
    unsigned cons = __atomic_load_n(&c->ring.c_head, __ATOMIC_RELAXED);
    unsigned prod = __atomic_load_n(&c->ring.p_tail, __ATOMIC_ACQUIRE);
    return prod != cons;
}

/*
 * Before it sleeps, h2_mailbox_wait() watches the ring for WAIT_CHECKS
 * checks WAIT_PAUSES pause instructions apart (about a microsecond in all):
 * a producer that posts again within that time then costs neither side a
 * system call. The checks are spaced because each one pulls the line that
 * holds p_tail and p_head away from the producers, whose next post must
 * then fetch it back.
 */
#define WAIT_CHECKS 16
#define WAIT_PAUSES 32

/* True as soon as a pointer is published, false after the last check. */
static bool spin_until_ready(struct h2_mailbox_core *c)
{
    for (unsigned i = 0; i < WAIT_CHECKS; i++) {
        if (ring_ready(c))
            return true;
        for (unsigned k = 0; k < WAIT_PAUSES; k++)
            ck_pr_stall();
    }
    return ring_ready(c);
}

int h2_mailbox_wait(h2_mailbox *mb, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        if (spin_until_ready(mb->core))
            return 1;
        if (!h2_mailbox_prepare_sleep(mb)) {
            /* A producer reserved a slot but has not published it yet. */
            sched_yield();
            continue;
        }
        struct pollfd p = {.fd = mb->event_fd, .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno != EINTR) {
            h2_mailbox_cancel_sleep(mb);
            return H2_EINTERNAL;
        }
        if (r > 0)
            h2_mailbox_ack_wakeup(mb);
        h2_mailbox_cancel_sleep(mb);
        if (ring_ready(mb->core))
            return 1;
        if (r == 0 && deadline >= 0 && remaining_ms(deadline) == 0)
            return 0;
    }
}

int h2_mailbox_fd(const h2_mailbox *mb)
{
    return mb->event_fd;
}

bool h2_mailbox_ack_wakeup(h2_mailbox *mb)
{
    uint64_t v;
    return read(mb->event_fd, &v, sizeof v) == (ssize_t)sizeof v;
}

void h2_mailbox_get_stats(const h2_mailbox *mb, h2_mailbox_stats *out)
{
    struct h2_mailbox_core *c = mb->core;
    out->wakeups = atomic_load_explicit(&c->wakeups, memory_order_relaxed);
    out->full = atomic_load_explicit(&c->full, memory_order_relaxed);
    out->space_signals = atomic_load_explicit(&c->space_signals, memory_order_relaxed);
    out->drained = atomic_load_explicit(&c->drained, memory_order_relaxed);
    out->high_water = atomic_load_explicit(&c->high_water, memory_order_relaxed);
}
