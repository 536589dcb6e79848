/*
 * Service mailbox: FIFO order, wrap-around, full ring, many producers,
 * consumer wake-ups through the eventfd, producers waiting for room,
 * argument checks and allocation failure.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "h2/errors.h"
#include "service/mailbox.h"
#include "support/test_sync.h"
#include "support/testmem.h"

/* Pointers carried in tests are tags, never dereferenced: producer and sequence. */
static void *tag(unsigned producer, uint32_t seq)
{
    return (void *)(uintptr_t)(((uint64_t)(producer + 1) << 32) | seq);
}
static unsigned tag_producer(void *p)
{
    return (unsigned)(((uint64_t)(uintptr_t)p >> 32) - 1);
}
static uint32_t tag_seq(void *p)
{
    return (uint32_t)(uintptr_t)p;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* Readiness of |fd| after waiting up to |ms|: 1 readable, 0 not. */
static int fd_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    return r > 0 && (p.revents & POLLIN) ? 1 : 0;
}

Test(mailbox, fifo_order_single_producer)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    cr_assert_eq(h2_mailbox_capacity(&mb), 63);
    for (uint32_t i = 0; i < 63; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    cr_assert_eq(h2_mailbox_count(&mb), 63);
    void *out[100];
    size_t n = h2_mailbox_drain(&mb, out, 100);
    cr_assert_eq(n, 63);
    for (uint32_t i = 0; i < 63; i++)
        cr_assert_eq(out[i], tag(0, i), "item %u out of order", i);
    cr_assert_eq(h2_mailbox_drain(&mb, out, 100), 0);
    cr_assert_eq(h2_mailbox_count(&mb), 0);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, drain_respects_max_and_high_water)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 32, NULL), 0);
    for (uint32_t i = 0; i < 20; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    void *out[8];
    uint32_t next = 0;
    size_t sizes[] = {8, 8, 4};
    for (size_t k = 0; k < 3; k++) {
        size_t n = h2_mailbox_drain(&mb, out, 8);
        cr_assert_eq(n, sizes[k]);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[i], tag(0, next++));
    }
    cr_assert_eq(h2_mailbox_drain(&mb, out, 0), 0);
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.drained, 20);
    cr_assert_eq(st.high_water, 20);
    cr_assert_eq(st.full, 0);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, wraps_around_many_times)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 4, NULL), 0);
    uint32_t sent = 0, got = 0;
    void *out[3];
    /* 3 usable slots; batches of 1..3 so head and tail cross the end at
     * every phase, 100k times round a 4-slot ring. */
    for (int round = 0; round < 100000; round++) {
        uint32_t k = (uint32_t)(round % 3) + 1;
        for (uint32_t i = 0; i < k; i++)
            cr_assert_eq(h2_mailbox_post(&mb, tag(0, sent++)), 0);
        size_t n = h2_mailbox_drain(&mb, out, (size_t)(round % 2) + 2);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[i], tag(0, got++));
        n = h2_mailbox_drain(&mb, out, 3);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[i], tag(0, got++));
    }
    cr_assert_eq(got, sent);
    cr_assert_eq(sent, 199999);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, full_ring_returns_eagain_and_loses_nothing)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 16, NULL), 0);
    for (uint32_t i = 0; i < 15; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 15)), H2_EAGAIN);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 15)), H2_EAGAIN);
    cr_assert_eq(h2_mailbox_post_wait(&mb, tag(0, 15), 0), H2_EAGAIN);
    cr_assert_eq(h2_mailbox_count(&mb), 15);
    void *out[16];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 1), 1);
    cr_assert_eq(out[0], tag(0, 0));
    /* Room for exactly one again. */
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 15)), 0);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 16)), H2_EAGAIN);
    cr_assert_eq(h2_mailbox_drain(&mb, out, 16), 15);
    for (uint32_t i = 0; i < 15; i++)
        cr_assert_eq(out[i], tag(0, i + 1));
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.full, 4);
    cr_assert_eq(st.drained, 16);
    cr_assert_eq(st.high_water, 15);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, rejects_bad_arguments)
{
    h2_mailbox mb;
    static const uint32_t bad[] = {
        0, 1, 3, 6, 12, 1000, 65535, (1u << 30) + 1, 1u << 31, UINT32_MAX,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(h2_mailbox_init(&mb, bad[i], NULL), H2_EINVAL, "capacity %u", bad[i]);
        cr_assert_eq(h2_mailbox_fd(&mb), -1);
        h2_mailbox_destroy(&mb); /* harmless after a failed init */
    }
    cr_assert_eq(h2_mailbox_init(NULL, 8, NULL), H2_EINVAL);
    cr_assert_eq(h2_mailbox_init(&mb, 2, NULL), 0);
    cr_assert_eq(h2_mailbox_capacity(&mb), 1);
    cr_assert_eq(h2_mailbox_post(&mb, NULL), H2_EINVAL);
    cr_assert_eq(h2_mailbox_post(NULL, tag(0, 0)), H2_EINVAL);
    cr_assert_eq(h2_mailbox_post_wait(&mb, NULL, 10), H2_EINVAL);
    cr_assert_eq(h2_mailbox_count(&mb), 0);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 0)), 0);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 1)), H2_EAGAIN);
    h2_mailbox_destroy(&mb);
    cr_assert_eq(h2_mailbox_fd(&mb), -1);
    h2_mailbox_destroy(&mb); /* and after a destroy */
}

static int init_scenario(testmem *tm, void *arg)
{
    (void)arg;
    h2_mailbox mb;
    int rv = h2_mailbox_init(&mb, 256, &tm->mem);
    if (rv == H2_ENOMEM)
        return tm->n_calls == tm->n_alloc + 1 ? 0 : 1; /* failed only because of us */
    if (rv != 0)
        return 1;
    if (tm->live_blocks != 1 || tm->live_bytes < 256 * sizeof(void *))
        return 1;
    int ok = h2_mailbox_post(&mb, tag(0, 7)) == 0;
    void *out[1];
    ok = ok && h2_mailbox_drain(&mb, out, 1) == 1 && out[0] == tag(0, 7);
    h2_mailbox_destroy(&mb);
    return ok ? 0 : 1;
}

Test(mailbox, allocation_failure_is_enomem)
{
    testmem tm;
    testmem_init(&tm);
    tm.fail_at = 1;
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 1024, &tm.mem), H2_ENOMEM);
    cr_assert_eq(tm.live_blocks, 0);
    cr_assert_eq(h2_mailbox_fd(&mb), -1);
    h2_mailbox_destroy(&mb);
    cr_assert_eq(testmem_sweep(init_scenario, NULL), 1);
}

/* ---- many producers ------------------------------------------------------ */

#define N_PRODUCERS 4
#define PER_PRODUCER 100000u

struct producer_arg {
    h2_mailbox *mb;
    unsigned id;
    uint32_t count;
    int wait_mode; /* 0: post + yield on H2_EAGAIN; 1: post_wait without limit */
    uint64_t eagain;
    int errors; /* checked by the main thread: assertions stay there */
};

static void *producer_main(void *p)
{
    struct producer_arg *a = p;
    for (uint32_t i = 0; i < a->count; i++) {
        if (a->wait_mode) {
            if (h2_mailbox_post_wait(a->mb, tag(a->id, i), -1) != 0)
                a->errors++;
        } else {
            while (h2_mailbox_post(a->mb, tag(a->id, i)) == H2_EAGAIN) {
                a->eagain++;
                sched_yield();
            }
        }
    }
    return NULL;
}

/* Consumes |total| items, checking each producer's sequence is 0,1,2... */
static void consume_and_check(h2_mailbox *mb, unsigned producers, uint32_t per_producer)
{
    uint32_t next[N_PRODUCERS] = {0};
    uint64_t total = (uint64_t)producers * per_producer, got = 0;
    void *out[64];
    while (got < total) {
        size_t n = h2_mailbox_drain(mb, out, 64);
        if (n == 0) {
            int w = h2_mailbox_wait(mb, 5000);
            cr_assert_eq(w, 1, "consumer starved after %llu of %llu items", (unsigned long long)got,
                         (unsigned long long)total);
            h2_mailbox_ack_wakeup(mb);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned p = tag_producer(out[i]);
            cr_assert_lt(p, producers, "bad producer tag");
            cr_assert_eq(tag_seq(out[i]), next[p], "producer %u: got %u, expected %u", p,
                         tag_seq(out[i]), next[p]);
            next[p]++;
        }
        got += n;
    }
    for (unsigned p = 0; p < producers; p++)
        cr_assert_eq(next[p], per_producer);
    void *extra[1];
    cr_assert_eq(h2_mailbox_drain(mb, extra, 1), 0, "an item was delivered twice or invented");
}

static void run_producers(uint32_t capacity, int wait_mode, uint32_t per_producer)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, capacity, NULL), 0);
    pthread_t th[N_PRODUCERS];
    struct producer_arg args[N_PRODUCERS];
    for (unsigned i = 0; i < N_PRODUCERS; i++) {
        args[i] = (struct producer_arg){
            .mb = &mb, .id = i, .count = per_producer, .wait_mode = wait_mode};
        cr_assert_eq(pthread_create(&th[i], NULL, producer_main, &args[i]), 0);
    }
    consume_and_check(&mb, N_PRODUCERS, per_producer);
    for (unsigned i = 0; i < N_PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].errors, 0);
    }
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.drained, (uint64_t)N_PRODUCERS * per_producer);
    cr_assert_leq(st.high_water, capacity - 1);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, many_producers_every_item_once_in_order, .timeout = 120)
{
    run_producers(1024, 0, PER_PRODUCER);
}

Test(mailbox, many_producers_post_wait_small_ring, .timeout = 120)
{
    /* A 8-slot ring keeps producers blocked in post_wait most of the time. */
    run_producers(8, 1, PER_PRODUCER / 4);
}

/* Commands with real contents: written by the producer, read and freed by
 * the consumer. Under ThreadSanitizer this checks that a post hands the
 * memory over (happens-before from the producer's writes to the consumer's
 * reads), and it checks no command arrives twice or torn. */
struct command {
    unsigned producer;
    uint32_t seq;
    uint64_t payload[4];
};

#define CMD_PER_PRODUCER 20000u

static void *command_producer(void *p)
{
    struct producer_arg *a = p;
    for (uint32_t i = 0; i < a->count; i++) {
        struct command *c = malloc(sizeof *c);
        if (c == NULL) {
            a->errors++;
            return NULL;
        }
        c->producer = a->id;
        c->seq = i;
        for (int k = 0; k < 4; k++)
            c->payload[k] = ((uint64_t)a->id << 40) ^ ((uint64_t)i * 2654435761u) ^ (uint64_t)k;
        if (h2_mailbox_post_wait(a->mb, c, -1) != 0) {
            free(c);
            a->errors++;
        }
    }
    return NULL;
}

Test(mailbox, commands_are_handed_over_whole, .timeout = 120)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    pthread_t th[2];
    struct producer_arg args[2];
    for (unsigned i = 0; i < 2; i++) {
        args[i] = (struct producer_arg){.mb = &mb, .id = i, .count = CMD_PER_PRODUCER};
        cr_assert_eq(pthread_create(&th[i], NULL, command_producer, &args[i]), 0);
    }
    uint32_t next[2] = {0, 0};
    void *out[32];
    int bad = 0;
    while (next[0] + next[1] < 2 * CMD_PER_PRODUCER && !bad) {
        size_t n = h2_mailbox_drain(&mb, out, 32);
        if (n == 0) {
            cr_assert_eq(h2_mailbox_wait(&mb, 5000), 1);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            struct command *c = out[i];
            if (c->producer >= 2 || c->seq != next[c->producer]) {
                bad = 1;
            } else {
                for (int k = 0; k < 4; k++)
                    if (c->payload[k] != (((uint64_t)c->producer << 40) ^
                                          ((uint64_t)c->seq * 2654435761u) ^ (uint64_t)k))
                        bad = 1;
                next[c->producer]++;
            }
            free(c);
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].errors, 0);
    }
    cr_assert_eq(bad, 0, "a command arrived out of order or with wrong contents");
    cr_assert_eq(next[0], CMD_PER_PRODUCER);
    cr_assert_eq(next[1], CMD_PER_PRODUCER);
    h2_mailbox_destroy(&mb);
}

/* ---- consumer wake-up -------------------------------------------------- */

Test(mailbox, busy_consumer_costs_no_eventfd_write)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    void *out[64];
    uint32_t got = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
        if (i % 7 == 6) {
            size_t n = h2_mailbox_drain(&mb, out, 64);
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(out[k], tag(0, got++));
        }
    }
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.wakeups, 0);
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 0), 0);
    cr_assert_eq(h2_mailbox_ack_wakeup(&mb), false);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, one_eventfd_write_per_sleep_announcement)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    cr_assert_eq(h2_mailbox_prepare_park(&mb), true);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.wakeups, 1);
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 0), 1);
    cr_assert_eq(h2_mailbox_ack_wakeup(&mb), true);
    cr_assert_eq(h2_mailbox_ack_wakeup(&mb), false);
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 0), 0);

    /* Items queued: the consumer must not sleep, and no announcement stays. */
    cr_assert_eq(h2_mailbox_prepare_park(&mb), false);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 5)), 0);
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.wakeups, 1);

    void *out[8];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 8), 6);
    /* Announce, then withdraw: producers go back to no system call. */
    cr_assert_eq(h2_mailbox_prepare_park(&mb), true);
    h2_mailbox_cancel_park(&mb);
    cr_assert_eq(h2_mailbox_post(&mb, tag(0, 6)), 0);
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.wakeups, 1);
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 0), 0);
    h2_mailbox_destroy(&mb);
}

/* Posts |count| tags once the consumer is about to block (|go| raised). */
struct delayed_post {
    h2_mailbox *mb;
    tsync go;
    uint32_t count;
    int errors;
};

static void *delayed_poster(void *p)
{
    struct delayed_post *d = p;
    cr_assert(tsync_wait_geq(&d->go, 1, 5000));
    for (uint32_t i = 0; i < d->count; i++)
        if (h2_mailbox_post(d->mb, tag(1, i)) != 0)
            d->errors++;
    return NULL;
}

Test(mailbox, sleeping_consumer_is_woken_through_fd)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);
    cr_assert_eq(h2_mailbox_prepare_park(&mb), true);
    struct delayed_post d = {.mb = &mb, .count = 1};
    tsync_init(&d.go);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, delayed_poster, &d), 0);
    /* Nothing posted yet: the fd stays quiet until the post. */
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 0), 0);
    /* Block on the fd the way an epoll loop would. */
    tsync_add(&d.go, 1);
    cr_assert_eq(fd_readable(h2_mailbox_fd(&mb), 5000), 1);
    cr_assert_eq(h2_mailbox_ack_wakeup(&mb), true);
    pthread_join(th, NULL);
    tsync_destroy(&d.go);
    cr_assert_eq(d.errors, 0);
    void *out[2];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 2), 1);
    cr_assert_eq(out[0], tag(1, 0));
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.wakeups, 1);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, wait_returns_on_post_and_on_timeout)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 64, NULL), 0);

    int64_t t0 = mono_ms();
    cr_assert_eq(h2_mailbox_wait(&mb, 60), 0);
    int64_t waited = mono_ms() - t0;
    cr_assert_geq(waited, 59);
    cr_assert_lt(waited, 2000);

    struct delayed_post d = {.mb = &mb, .count = 3};
    tsync_init(&d.go);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, delayed_poster, &d), 0);
    tsync_add(&d.go, 1);
    cr_assert_eq(h2_mailbox_wait(&mb, -1), 1);
    pthread_join(th, NULL);
    tsync_destroy(&d.go);
    cr_assert_eq(d.errors, 0);
    /* Already queued: returns at once. */
    cr_assert_eq(h2_mailbox_wait(&mb, -1), 1);
    void *out[4];
    size_t got = 0;
    while (got < 3)
        got += h2_mailbox_drain(&mb, out + got, 4 - got);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(out[i], tag(1, i));
    h2_mailbox_destroy(&mb);
}

/* ---- producers waiting for room ------------------------------------------ */

struct waiter {
    h2_mailbox *mb;
    void *item;
    int timeout_ms;
    int rv;
    atomic_int done;
    atomic_long tid; /* the poster's kernel thread id, 0 until known */
};

static void *waiting_poster(void *p)
{
    struct waiter *w = p;
    atomic_store(&w->tid, (long)syscall(SYS_gettid));
    w->rv = h2_mailbox_post_wait(w->mb, w->item, w->timeout_ms);
    atomic_store(&w->done, 1);
    return NULL;
}

/* The scheduler state of thread |tid| ('R', 'S', ...), from /proc. */
static char thread_state(long tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return '?';
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
    return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

/*
 * Until |w|'s producer found the ring full and went to sleep in the kernel
 * (it blocks nowhere else after that). A thread falling asleep signals
 * nothing, so this looks at its scheduler state, yielding in between.
 */
static void wait_asleep_after_full(h2_mailbox *mb, struct waiter *w)
{
    int64_t end = mono_ms() + 5000;
    for (;;) {
        h2_mailbox_stats st;
        h2_mailbox_get_stats(mb, &st);
        long tid = atomic_load(&w->tid);
        if (st.full >= 1 && tid != 0 && thread_state(tid) == 'S')
            return;
        cr_assert_eq(atomic_load(&w->done), 0, "post_wait returned while the ring was full");
        cr_assert_lt(mono_ms(), end, "the producer never went to sleep");
        sched_yield();
    }
}

Test(mailbox, post_wait_blocks_while_full_and_proceeds_after_drain)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 8, NULL), 0);
    for (uint32_t i = 0; i < 7; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    struct waiter w = {.mb = &mb, .item = tag(0, 7), .timeout_ms = -1};
    atomic_init(&w.done, 0);
    atomic_init(&w.tid, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, waiting_poster, &w), 0);
    wait_asleep_after_full(&mb, &w);
    cr_assert_eq(atomic_load(&w.done), 0, "post_wait returned while the ring was full");
    cr_assert_eq(h2_mailbox_count(&mb), 7);

    /* Waiting producers are woken once the ring is at most half full:
     * 6 of 8 left is not enough yet. */
    void *out[8];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 1), 1);
    cr_assert_eq(out[0], tag(0, 0));
    /* Not woken: still asleep in the kernel, not done. */
    wait_asleep_after_full(&mb, &w);
    cr_assert_eq(atomic_load(&w.done), 0);
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.space_signals, 0);

    cr_assert_eq(h2_mailbox_drain(&mb, out + 1, 2), 2); /* 4 left */
    pthread_join(th, NULL);
    cr_assert_eq(w.rv, 0);
    cr_assert_eq(h2_mailbox_drain(&mb, out + 3, 5), 5);
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(out[i], tag(0, i));
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.space_signals, 1);
    cr_assert_eq(st.full, 1);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, post_wait_times_out_with_eagain)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 4, NULL), 0);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
    int64_t t0 = mono_ms();
    cr_assert_eq(h2_mailbox_post_wait(&mb, tag(0, 3), 80), H2_EAGAIN);
    int64_t waited = mono_ms() - t0;
    cr_assert_geq(waited, 79);
    cr_assert_lt(waited, 2000);
    cr_assert_eq(h2_mailbox_count(&mb), 3);
    void *out[4];
    cr_assert_eq(h2_mailbox_drain(&mb, out, 4), 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(out[i], tag(0, i));
    /* Nobody was waiting any more: draining signalled no one. */
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.space_signals, 0);
    h2_mailbox_destroy(&mb);
}

Test(mailbox, no_space_signal_without_waiters)
{
    h2_mailbox mb;
    cr_assert_eq(h2_mailbox_init(&mb, 4, NULL), 0);
    void *out[4];
    for (uint32_t round = 0; round < 1000; round++) {
        for (uint32_t i = 0; i < 3; i++)
            cr_assert_eq(h2_mailbox_post(&mb, tag(0, i)), 0);
        cr_assert_eq(h2_mailbox_post(&mb, tag(0, 3)), H2_EAGAIN);
        cr_assert_eq(h2_mailbox_drain(&mb, out, 4), 3);
    }
    h2_mailbox_stats st;
    h2_mailbox_get_stats(&mb, &st);
    cr_assert_eq(st.space_signals, 0);
    cr_assert_eq(st.full, 1000);
    h2_mailbox_destroy(&mb);
}
