/*
 * Service mailbox: the park/wake-up handshake under load (many producers,
 * one consumer that parks whenever the ring is empty), and a consumer
 * facing a producer stopped half-way through a post (slot reserved, not
 * published yet), which must back off instead of spinning.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <criterion/criterion.h>
#include "h2/errors.h"
#include "service/mailbox.h"

static void *tag(unsigned producer, uint32_t seq)
{
    return (void *)(uintptr_t)(((uint64_t)(producer + 1) << 32) | seq);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- park/wake stress ---------------------------------------------------- */

#define STRESS_PRODUCERS 6
#define STRESS_PER_PRODUCER 20000u
/* A parked consumer that hears nothing this long while items are queued or
 * still to come lost a wake-up: the test fails instead of hanging. */
#define SAFETY_MS 10000

struct stress_producer {
    h2_mailbox *mb;
    unsigned id;
    int errors;
};

static void *stress_producer_main(void *p)
{
    struct stress_producer *a = p;
    for (uint32_t i = 0; i < STRESS_PER_PRODUCER; i++) {
        int rv;
        /* Alternate both posting calls; every few posts, let the consumer
         * catch up and park so that most posts meet a parked consumer. */
        if (i % 2 == 0) {
            while ((rv = h2_mailbox_post(a->mb, tag(a->id, i))) == H2_EAGAIN)
                sched_yield();
        } else {
            rv = h2_mailbox_post_wait(a->mb, tag(a->id, i), -1);
        }
        if (rv != 0)
            a->errors++;
        if (i % 16 == (a->id % 16))
            sched_yield();
    }
    return NULL;
}

/* The consumer's loop, as a worker runs it. Returns the number of parks;
 * sets |*stuck| when a park outlived SAFETY_MS. */
static uint64_t park_consumer(h2_mailbox *mb, uint32_t next[STRESS_PRODUCERS], bool *out_of_order,
                              bool *stuck)
{
    const uint64_t total = (uint64_t)STRESS_PRODUCERS * STRESS_PER_PRODUCER;
    uint64_t got = 0, parks = 0;
    void *out[16];
    while (got < total) {
        size_t n = h2_mailbox_drain(mb, out, 16);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)(uintptr_t)out[i];
            unsigned p = (unsigned)((v >> 32) - 1);
            if (p >= STRESS_PRODUCERS || (uint32_t)v != next[p])
                *out_of_order = true;
            else
                next[p]++;
        }
        got += n;
        if (n > 0 || got == total)
            continue;
        if (!h2_mailbox_prepare_park(mb))
            continue;
        parks++;
        struct pollfd pfd = {.fd = h2_mailbox_fd(mb), .events = POLLIN, .revents = 0};
        int r;
        do {
            r = poll(&pfd, 1, SAFETY_MS);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            *stuck = true; /* parked with items queued or still coming */
            return parks;
        }
        h2_mailbox_ack_wakeup(mb);
        h2_mailbox_cancel_park(mb);
    }
    return parks;
}

static void run_park_stress(uint32_t capacity)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, capacity, NULL), 0);
    pthread_t th[STRESS_PRODUCERS];
    struct stress_producer args[STRESS_PRODUCERS];
    for (unsigned i = 0; i < STRESS_PRODUCERS; i++) {
        args[i] = (struct stress_producer){.mb = &mb, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, stress_producer_main, &args[i]), 0);
    }
    uint32_t next[STRESS_PRODUCERS] = {0};
    bool out_of_order = false, stuck = false;
    uint64_t parks = park_consumer(&mb, next, &out_of_order, &stuck);
    uint32_t queued = h2_mailbox_count(&mb);
    if (stuck) {
        /* Unblock producers waiting for room before failing. */
        void *sink[64];
        while (h2_mailbox_drain(&mb, sink, 64) > 0 || h2_mailbox_wait(&mb, 1000) == 1)
            ;
    }
    for (unsigned i = 0; i < STRESS_PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].errors, 0);
    }
    cr_assert(!stuck, "the consumer stayed parked for %d ms with %u item(s) queued", SAFETY_MS,
              queued);
    cr_assert(!out_of_order, "an item arrived twice, out of order or invented");
    for (unsigned i = 0; i < STRESS_PRODUCERS; i++)
        cr_assert_eq(next[i], STRESS_PER_PRODUCER, "producer %u: %u items arrived", i, next[i]);
    void *extra[1];
    cr_assert_eq(h2_mailbox_drain(&mb, extra, 1), 0);
    cr_assert_gt(parks, 0, "the consumer never parked: the test did not test the handshake");
    h2_mailbox_destroy(&mb);
}

Test(mailbox_park, every_post_reaches_a_consumer_that_parks_when_empty, .timeout = 120)
{
    run_park_stress(1024);
}

Test(mailbox_park, parks_and_full_ring_waits_together, .timeout = 120)
{
    /* A small ring: producers also wait for room while the consumer parks. */
    run_park_stress(16);
}

/* ---- a producer held between reserve and publish --------------------------- */

struct held {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool reserved; /* the producer reached the hook */
    bool release;  /* the producer may publish */
    int consumer_rv;
    bool consumer_done;
    clockid_t consumer_clock;
    bool clock_ok;
    h2_mailbox *mb;
};

static void hold_in_hook(void *arg)
{
    struct held *h = arg;
    pthread_mutex_lock(&h->mu);
    h->reserved = true;
    pthread_cond_broadcast(&h->cv);
    while (!h->release)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void *held_producer(void *arg)
{
    struct held *h = arg;
    (void)h2_mailbox_post(h->mb, tag(0, 1));
    return NULL;
}

static void *waiting_consumer(void *arg)
{
    struct held *h = arg;
    pthread_mutex_lock(&h->mu);
    h->clock_ok = pthread_getcpuclockid(pthread_self(), &h->consumer_clock) == 0;
    pthread_mutex_unlock(&h->mu);
    int rv = h2_mailbox_wait(h->mb, -1);
    pthread_mutex_lock(&h->mu);
    h->consumer_rv = rv;
    h->consumer_done = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static int64_t cpu_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits on |h->cv| until |*flag| or |ms| passed; returns *flag. */
static bool wait_flag(struct held *h, const bool *flag, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    while (!*flag)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT)
            break;
    bool v = *flag;
    pthread_mutex_unlock(&h->mu);
    return v;
}

/* How long the producer is held: the window over which the consumer's CPU
 * time is measured. The consumer must not return within it. */
#define HOLD_MS 300

Test(mailbox_park, consumer_backs_off_while_a_post_is_half_way, .timeout = 120)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    struct held h = {.mb = &mb};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    h2_mailbox_set_reserve_hook(&mb, hold_in_hook, &h);

    pthread_t prod, cons;
    cr_assert_eq(pthread_create(&prod, NULL, held_producer, &h), 0);
    cr_assert(wait_flag(&h, &h.reserved, 10000), "the producer never reached the hook");
    cr_assert_eq(pthread_create(&cons, NULL, waiting_consumer, &h), 0);

    /* The consumer now faces a reserved, unpublished slot. Measure its CPU
     * time while the producer is held; it must not return meanwhile. */
    int64_t t0 = mono_ms();
    bool early = wait_flag(&h, &h.consumer_done, HOLD_MS);
    int64_t wall_ms = mono_ms() - t0;
    pthread_mutex_lock(&h.mu);
    bool clock_ok = h.clock_ok;
    clockid_t clk = h.consumer_clock;
    pthread_mutex_unlock(&h.mu);
    int64_t used_ms = clock_ok ? cpu_ns(clk) / 1000000 : -1;

    pthread_mutex_lock(&h.mu);
    h.release = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    bool done = wait_flag(&h, &h.consumer_done, 10000);
    pthread_join(prod, NULL);
    if (done)
        pthread_join(cons, NULL);

    cr_assert(!early, "the consumer returned while nothing was published");
    cr_assert(done, "the consumer was not woken when the post was published");
    cr_assert_eq(h.consumer_rv, 1);
    void *out[2];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 2), 1);
    cr_assert_eq(out[0], tag(0, 1));
    cr_assert(clock_ok);
    /* A spinning consumer burns the whole window (or its share of a CPU);
     * one that backs off uses a small fraction of it. */
    cr_assert_lt(used_ms * 5, wall_ms, "the consumer used %lld ms of CPU in %lld ms",
                 (long long)used_ms, (long long)wall_ms);
    h2_mailbox_destroy(&mb);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
}
