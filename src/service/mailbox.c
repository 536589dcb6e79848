/*
 * Service mailbox: a bounded MPSC ring of pointers + eventfd for the
 * consumer + futex for producers waiting for room. See mailbox.h for the
 * contract.
 *
 * The ring
 *
 * Three counters, each in <stdatomic.h> atomics and touched through that
 * API only: p_head (slots reserved by producers), p_tail (slots published)
 * and c_head (slots consumed). A producer reserves slot p_head with a
 * seq_cst compare-and-swap, after checking with an acquire load of c_head
 * that the slot was consumed; it stores the pointer, waits until p_tail
 * reaches its ticket (acquire) and publishes with a release store of
 * ticket + 1. The consumer reads p_tail (acquire), copies the slots and
 * gives them back with a release store of c_head, once per batch. These
 * release/acquire pairs carry the pointers (and what they point to) from
 * producer to consumer and the free slots back; slot contents are plain
 * memory ordered by them.
 *
 * Two wake-up protocols sit beside the ring. Each is a "store my flag, then
 * load the other side's" pair (the store-buffering pattern), which every
 * weakly ordered CPU (and x86, through its store buffer) may reorder unless
 * something orders the store before the load on both sides. Here every
 * access of both pairs is a seq_cst atomic operation, so the C11 model
 * forbids the reordering on every CPU the compiler targets: the compiler
 * emits whatever the CPU needs (a locked instruction or mfence on x86,
 * stlr/ldar or casal on AArch64, sync on POWER), and no argument depends
 * on how a particular CPU implements a compare-and-swap.
 *
 * 1. Consumer parking (eventfd).
 *    consumer: store(parked = 1, seq_cst); load(p_head, seq_cst);
 *              park only if p_head == c_head (nothing reserved).
 *    producer: CAS(p_head, seq_cst) to reserve; ...; publish;
 *              load(parked, seq_cst); if 1, exchange(parked = 0) and
 *              write the eventfd.
 *    All four are seq_cst, so they lie in one total order S consistent
 *    with each thread's program order. If the consumer's load of p_head
 *    did not see the producer's CAS, the load comes before the CAS in S,
 *    so the consumer's store of parked comes before the producer's load of
 *    parked, which therefore reads 1 (or the 0 of another producer's
 *    exchange, and that producer writes the eventfd; or the 0 of a
 *    consumer that is awake again). Either the consumer sees the
 *    reservation and does not park, or a producer wakes it after
 *    publishing: no lost wake-up. The exchange lets one producer per
 *    announcement make the system call; while the consumer runs, parked
 *    stays 0 and a post pays one plain load.
 *    A consumer that sees a reservation that is not published yet (a
 *    producer between its CAS and its publish) must not park, and nothing
 *    would wake it if it spun; it backs off instead (see park_backoff()).
 *
 * 2. Producers waiting for room (futex on space_seq).
 *    producer: s = load(space_seq); fetch_add(space_waiters, 1, seq_cst);
 *              load(c_head, seq_cst); if still full, futex_wait(space_seq, s).
 *    consumer: after a drain that leaves the ring at most half full,
 *              fetch_add(c_head, 0, seq_cst) (a seq_cst read-modify-write of
 *              its own counter, after its release store of it);
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
 * Costs: on x86 the seq_cst CAS is the lock cmpxchg any MPSC ring needs and
 * seq_cst loads are plain loads, so a post pays no extra barrier; only a
 * consumer about to park pays for its seq_cst store.
 *
 * ThreadSanitizer sees every access of the ring as what it is (C11 atomics
 * and plain memory ordered by them), so it checks the hand-over itself.
 */
#include "service/mailbox.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_clock.h"

#define CACHE_LINE 64

/*
 * Shared state, allocated cache-line aligned and followed by the slots.
 * Lines: the consumer's counter / the producers' counters / ring geometry
 * plus the park flag (read by every post, written only around consumer
 * parks) / producers' slow path / consumer's counters.
 */
struct h2_mailbox_core {
    atomic_uint c_head; /* slots consumed; written by the consumer only */

    alignas(CACHE_LINE) atomic_uint p_tail; /* slots published */
    atomic_uint p_head;                     /* slots reserved */

    alignas(CACHE_LINE) unsigned size; /* slots, a power of two */
    unsigned mask;                     /* size - 1; also the most pointers held */
    void **slots;
    atomic_uint parked;           /* 1: the consumer may block on the eventfd */
    h2_mailbox_hook reserve_hook; /* tests: runs between reserve and publish */
    void *reserve_hook_arg;

    alignas(CACHE_LINE) atomic_uint space_waiters; /* producers in post_wait's sleep */
    atomic_uint space_seq;                         /* futex word, bumped on each signal */
    _Atomic uint64_t wakeups;
    _Atomic uint64_t full;
    _Atomic uint64_t space_signals;

    alignas(CACHE_LINE) _Atomic uint64_t drained; /* written by the consumer only */
    atomic_uint high_water;
    _Atomic uint64_t park_waits;
    unsigned unpublished_rounds; /* consumer only: see park_backoff() */
    int64_t unpublished_since;   /* consumer only: when yielding began, microseconds */
    unsigned spin_credit;        /* consumer only: see spin_until_ready() */
    unsigned spin_skipped;       /* consumer only: waits since the last spin */
};

/* A CPU hint for spin-wait loops. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * Pause instructions a producer spends waiting for another producer to
 * publish its slot before it yields the CPU.
 */
#define COMMIT_SPINS 128

/* Waits until p_tail reaches |ticket| (acquire: the slots before it were
 * published). */
static void wait_published(struct h2_mailbox_core *c, unsigned ticket)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&c->p_tail, memory_order_acquire) != ticket) {
        if (++spins < COMMIT_SPINS) {
            cpu_relax();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

/* Waits until no reserved slot is unpublished; a hint, hence relaxed. */
static void wait_quiet(struct h2_mailbox_core *c)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&c->p_tail, memory_order_relaxed) !=
           atomic_load_explicit(&c->p_head, memory_order_relaxed)) {
        if (++spins < COMMIT_SPINS) {
            cpu_relax();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

/*
 * An MPSC enqueue in two steps, reserve and publish, with two waits added
 * so that preempted producers do not stall the others.
 *
 * Slots are published in ticket order: the producer holding ticket k
 * publishes only after k - 1 has. This is a ticket lock in disguise, and
 * like one it collapses when there are more runnable threads than cores: a
 * producer preempted between reserve and publish (or while waiting for its
 * predecessor) makes every later ticket holder spin for whole time slices,
 * and the ring then advances by about one slot per slice (measured: 4
 * producers and one consumer on 2 cores fell from tens of millions to a few
 * hundred thousand posts per second).
 *
 * 1. Before reserving, wait until no reserved slot is unpublished
 *    (p_tail == p_head). A producer then rarely takes a ticket behind
 *    another one, so whichever producer runs next can proceed instead of one
 *    particular thread. Two producers can still pass this check together;
 *    the second then simply waits in step 2.
 * 2. Before publishing, wait for the predecessor with a bounded spin
 *    followed by sched_yield(), which hands the CPU to a preempted
 *    predecessor.
 */
static bool ring_enqueue(struct h2_mailbox_core *c, void *ptr)
{
    wait_quiet(c);
    unsigned prod = atomic_load_explicit(&c->p_head, memory_order_relaxed);
    for (;;) {
        unsigned cons = atomic_load_explicit(&c->c_head, memory_order_acquire);
        if (prod - cons >= c->mask) {
            /* Full, unless p_head moved since it was read. */
            unsigned now = atomic_load_explicit(&c->p_head, memory_order_relaxed);
            if (now == prod)
                return false;
            prod = now;
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&c->p_head, &prod, prod + 1, memory_order_seq_cst,
                                                  memory_order_relaxed))
            break;
    }
    c->slots[prod & c->mask] = ptr;
    if (c->reserve_hook != NULL)
        c->reserve_hook(c->reserve_hook_arg);
    wait_published(c, prod);
    atomic_store_explicit(&c->p_tail, prod + 1, memory_order_release);
    return true;
}

/* Protocol 1, producer side: called after a successful enqueue. */
static void wake_consumer(h2_mailbox *mb, struct h2_mailbox_core *c)
{
    if (atomic_load_explicit(&c->parked, memory_order_seq_cst) == 0)
        return;
    if (atomic_exchange_explicit(&c->parked, 0, memory_order_seq_cst) == 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(mb->event_fd, &one, sizeof one);
    /* Only fails with EAGAIN when the counter would pass 2^64 - 2. */
    (void)w;
    atomic_fetch_add_explicit(&c->wakeups, 1, memory_order_relaxed);
}

void h2_mailbox_notify(h2_mailbox *mb)
{
    /* The caller's seq_cst store to its side channel plays the part of the
     * CAS in protocol 1; the consumer checks side channels after it set
     * parked. */
    wake_consumer(mb, mb->core);
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
    if ((SIZE_MAX - head - CACHE_LINE) / sizeof(void *) < capacity)
        return H2_ENOMEM;
    size_t size = head + (size_t)capacity * sizeof(void *) + CACHE_LINE - 1;
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
    atomic_init(&c->c_head, 0);
    atomic_init(&c->p_tail, 0);
    atomic_init(&c->p_head, 0);
    c->size = capacity;
    c->mask = capacity - 1;
    c->slots = (void **)(at + head);
    c->reserve_hook = NULL;
    c->reserve_hook_arg = NULL;
    atomic_init(&c->parked, 0);
    atomic_init(&c->space_waiters, 0);
    atomic_init(&c->space_seq, 0);
    atomic_init(&c->wakeups, 0);
    atomic_init(&c->full, 0);
    atomic_init(&c->space_signals, 0);
    atomic_init(&c->drained, 0);
    atomic_init(&c->high_water, 0);
    atomic_init(&c->park_waits, 0);
    c->unpublished_rounds = 0;
    c->unpublished_since = 0;

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
    return mb->core->mask;
}

uint32_t h2_mailbox_count(const h2_mailbox *mb)
{
    struct h2_mailbox_core *c = mb->core;
    unsigned cons = atomic_load_explicit(&c->c_head, memory_order_relaxed);
    unsigned prod = atomic_load_explicit(&c->p_tail, memory_order_relaxed);
    return (prod - cons) & c->mask;
}

int h2_mailbox_post_quiet(h2_mailbox *mb, void *ptr)
{
    if (mb == NULL || ptr == NULL)
        return H2_EINVAL;
    struct h2_mailbox_core *c = mb->core;
    if (!ring_enqueue(c, ptr)) {
        atomic_fetch_add_explicit(&c->full, 1, memory_order_relaxed);
        return H2_EAGAIN;
    }
    return 0;
}

int h2_mailbox_post(h2_mailbox *mb, void *ptr)
{
    int rv = h2_mailbox_post_quiet(mb, ptr);
    if (rv == 0)
        wake_consumer(mb, mb->core);
    return rv;
}

/* Protocol 2, producer side: true when a slot is free (seq_cst loads). */
static bool has_room(struct h2_mailbox_core *c)
{
    unsigned cons = atomic_load_explicit(&c->c_head, memory_order_seq_cst);
    unsigned prod = atomic_load_explicit(&c->p_head, memory_order_seq_cst);
    return prod - cons < c->mask;
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
    int64_t deadline = svc_deadline_ms(timeout_ms);
    for (;;) {
        int left = svc_remaining_ms(deadline);
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
 * Takes up to |max| published pointers: read p_tail (acquire), copy the
 * slots, give them back with one release store of c_head per batch (every
 * producer reads c_head on each post, so each write of it costs them a
 * cache miss). Sets |*queued| to the number of published pointers seen.
 */
static size_t ring_dequeue_batch(struct h2_mailbox_core *c, void **ptrs, size_t max,
                                 unsigned *queued)
{
    unsigned cons = atomic_load_explicit(&c->c_head, memory_order_relaxed);
    unsigned prod = atomic_load_explicit(&c->p_tail, memory_order_acquire);
    unsigned avail = prod - cons;
    *queued = avail;
    if (avail == 0 || max == 0)
        return 0;
    size_t n = avail < max ? avail : max;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = c->slots[(cons + (unsigned)i) & c->mask];
    atomic_store_explicit(&c->c_head, cons + (unsigned)n, memory_order_release);
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
    if (left > c->size / 2)
        return;
    atomic_fetch_add_explicit(&c->c_head, 0u, memory_order_seq_cst);
    if (atomic_load_explicit(&c->space_waiters, memory_order_seq_cst) == 0)
        return;
    atomic_fetch_add_explicit(&c->space_seq, 1, memory_order_seq_cst);
    syscall(SYS_futex, (void *)&c->space_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    atomic_fetch_add_explicit(&c->space_signals, 1, memory_order_relaxed);
}

/* Consumer: withdraws a park announcement, if any (only the consumer sets
 * it, so a plain check first spares the line in the common case). */
static void unpark(struct h2_mailbox_core *c)
{
    if (atomic_load_explicit(&c->parked, memory_order_relaxed) != 0)
        atomic_store_explicit(&c->parked, 0, memory_order_relaxed);
}

size_t h2_mailbox_drain(h2_mailbox *mb, void **ptrs, size_t max)
{
    struct h2_mailbox_core *c = mb->core;
    unpark(c);
    unsigned queued = 0;
    size_t n = ring_dequeue_batch(c, ptrs, max, &queued);
    if (n == 0)
        return 0;
    c->unpublished_rounds = 0;
    uint64_t total = atomic_load_explicit(&c->drained, memory_order_relaxed);
    atomic_store_explicit(&c->drained, total + n, memory_order_relaxed);
    if (queued > atomic_load_explicit(&c->high_water, memory_order_relaxed))
        atomic_store_explicit(&c->high_water, queued, memory_order_relaxed);
    signal_space(c, queued - (unsigned)n);
    return n;
}

/*
 * A producer reserved a slot and has not published it: the consumer must
 * not park (the producer may have checked the flag already), and draining
 * again at once would spin for as long as the producer is preempted.
 * Rounds 1..PARK_SPIN_ROUNDS return at once (the common case: the publish
 * is nanoseconds away); the next rounds yield the CPU, which is what a
 * preempted producer needs when the CPUs are oversubscribed, for up to
 * PARK_YIELD_US; after that each round waits up to PARK_WAIT_MS on the
 * eventfd, with the announcement kept, so that a producer that checks the
 * flag after this point ends the wait early. At most PARK_YIELD_US of CPU
 * is spent per unpublished slot, whatever the producer's delay.
 */
#define PARK_SPIN_ROUNDS 4
#define PARK_YIELD_US 1000
#define PARK_WAIT_MS 1

static void park_backoff(h2_mailbox *mb, struct h2_mailbox_core *c)
{
    unsigned round = ++c->unpublished_rounds;
    if (round <= PARK_SPIN_ROUNDS) {
        cpu_relax();
        return;
    }
    if (round == PARK_SPIN_ROUNDS + 1)
        c->unpublished_since = svc_mono_us();
    if (svc_mono_us() - c->unpublished_since < PARK_YIELD_US) {
        sched_yield();
    } else {
        struct pollfd p = {.fd = mb->event_fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, PARK_WAIT_MS) > 0)
            h2_mailbox_ack_wakeup(mb);
        atomic_fetch_add_explicit(&c->park_waits, 1, memory_order_relaxed);
    }
}

bool h2_mailbox_prepare_park(h2_mailbox *mb)
{
    struct h2_mailbox_core *c = mb->core;
    atomic_store_explicit(&c->parked, 1, memory_order_seq_cst);
    unsigned cons = atomic_load_explicit(&c->c_head, memory_order_relaxed);
    unsigned prod = atomic_load_explicit(&c->p_head, memory_order_seq_cst);
    if (prod == cons) {
        c->unpublished_rounds = 0;
        return true;
    }
    if (atomic_load_explicit(&c->p_tail, memory_order_relaxed) == cons)
        park_backoff(mb, c);
    atomic_store_explicit(&c->parked, 0, memory_order_relaxed);
    return false;
}

void h2_mailbox_cancel_park(h2_mailbox *mb)
{
    unpark(mb->core);
}

/* True when a published pointer is waiting to be drained (consumer side). */
static bool ring_ready(struct h2_mailbox_core *c)
{
    unsigned cons = atomic_load_explicit(&c->c_head, memory_order_relaxed);
    unsigned prod = atomic_load_explicit(&c->p_tail, memory_order_acquire);
    return prod != cons;
}

/*
 * Before it parks, h2_mailbox_wait() watches the ring for WAIT_CHECKS
 * checks WAIT_PAUSES pause instructions apart (about a microsecond in all):
 * a producer that posts again within that time then costs neither side a
 * system call. The checks are spaced because each one pulls the line that
 * holds p_tail and p_head away from the producers, whose next post must
 * then fetch it back.
 *
 * Spinning pays only when a producer runs on another CPU at the same time.
 * When the producers share the consumer's CPU (threads pinned together, or
 * a busy machine) they cannot post while the consumer spins, and the spin
 * is pure loss: the consumer then keeps a credit, earned by spins that
 * found a post and spent by spins that did not. With none left it parks at
 * once, and tries a spin again only every SPIN_PROBE waits, so that it
 * notices when spinning starts to pay.
 */
#define WAIT_CHECKS 16
#define WAIT_PAUSES 32
#define SPIN_CREDIT_MAX 8u
#define SPIN_PROBE 64u

/* True as soon as a pointer is published, false after the last check. */
static bool spin_until_ready(struct h2_mailbox_core *c)
{
    if (ring_ready(c))
        return true;
    if (c->spin_credit == 0 && ++c->spin_skipped < SPIN_PROBE)
        return false;
    c->spin_skipped = 0;
    for (unsigned i = 0; i < WAIT_CHECKS; i++) {
        for (unsigned k = 0; k < WAIT_PAUSES; k++)
            cpu_relax();
        if (ring_ready(c)) {
            c->spin_credit =
                c->spin_credit + 2u < SPIN_CREDIT_MAX ? c->spin_credit + 2u : SPIN_CREDIT_MAX;
            return true;
        }
    }
    if (c->spin_credit > 0)
        c->spin_credit--;
    return false;
}

/* True when |ready| (if any) reports something on the caller's side channels. */
static bool side_ready(h2_mailbox_ready_fn ready, void *arg)
{
    return ready != NULL && ready(arg);
}

int h2_mailbox_wait_side(h2_mailbox *mb, int timeout_ms, h2_mailbox_ready_fn ready, void *arg)
{
    int64_t deadline = svc_deadline_ms(timeout_ms);
    for (;;) {
        if (spin_until_ready(mb->core) || side_ready(ready, arg))
            return 1;
        if (!h2_mailbox_prepare_park(mb)) {
            /* Published meanwhile, or a post is half-way (prepare_park
             * backed off): look again. */
            if (deadline >= 0 && svc_remaining_ms(deadline) == 0 && !ring_ready(mb->core))
                return 0;
            continue;
        }
        /* Side channels are looked at after the announcement (see
         * h2_mailbox_notify()). */
        if (side_ready(ready, arg)) {
            h2_mailbox_cancel_park(mb);
            return 1;
        }
        struct pollfd p = {.fd = mb->event_fd, .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, svc_remaining_ms(deadline));
        if (r < 0 && errno != EINTR) {
            h2_mailbox_cancel_park(mb);
            return H2_EINTERNAL;
        }
        if (r > 0)
            h2_mailbox_ack_wakeup(mb);
        h2_mailbox_cancel_park(mb);
        if (ring_ready(mb->core) || side_ready(ready, arg))
            return 1;
        if (r == 0 && deadline >= 0 && svc_remaining_ms(deadline) == 0)
            return 0;
    }
}

int h2_mailbox_wait(h2_mailbox *mb, int timeout_ms)
{
    return h2_mailbox_wait_side(mb, timeout_ms, NULL, NULL);
}

int h2_mailbox_fd(const h2_mailbox *mb)
{
    return mb->event_fd;
}

void h2_mailbox_rearm(h2_mailbox *mb)
{
    uint64_t one = 1;
    ssize_t w = write(mb->event_fd, &one, sizeof one);
    (void)w; /* fails only when the counter is near 2^64: readable anyway */
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
    out->park_waits = atomic_load_explicit(&c->park_waits, memory_order_relaxed);
}

void h2_mailbox_set_reserve_hook(h2_mailbox *mb, h2_mailbox_hook fn, void *arg)
{
    mb->core->reserve_hook = fn;
    mb->core->reserve_hook_arg = arg;
}
