/*
 * Connection service benchmarks, three parts run one after the other:
 *
 *   commands  command throughput into one worker (below);
 *             RESULT service-commands (2 producers), -1p, -4p
 *   e2e       end-to-end requests/s over loopback TCP, two services against
 *             an nghttp2 server thread and client thread
 *             (bench/bench_service_e2e.h); RESULT service-e2e
 *   memory    allocator bytes per idle service connection against nghttp2
 *             server sessions (bench/bench_service_mem.h);
 *             RESULT service-conn-memory
 *
 * Service command throughput: how fast application threads can hand
 * commands to one worker thread, through libh2's mailbox (a C11-atomics MPSC ring +
 * eventfd, src/service/mailbox.h) against a bounded queue built on a mutex
 * and two condition variables, both of the same capacity.
 *
 * A command is a small struct owned by its producer until posted. Each
 * producer cycles through its own pool of commands (4 times the queue
 * capacity, so a command is reused long after the worker has handled it)
 * and posts them as fast as it can, blocking while the queue is full. The
 * worker takes commands in batches of up to 64 and handles each one with a
 * small fixed amount of work (adds its value to a sum), blocking while the
 * queue is empty. At the end every producer posts a stop command; the
 * worker ends after one from each producer. The sum is checked against what
 * the producers posted, so nothing may be lost or duplicated.
 *
 * Baseline, written as a careful engineer would: one lock; producers wait on
 * "not full" and signal "not empty" only when the worker is waiting; the
 * worker moves a whole batch out under one lock acquisition and wakes
 * producers only when some are waiting.
 *
 * One sample runs the producers for about 200 ms of wall time and counts
 * commands handled per second (from the common start to the worker's last
 * command). Rounds alternate the two queues (and which goes first); the
 * figures are medians over the rounds, for 1, 2 and 4 producers. The table
 * also gives the CPU time of the whole process per command (all threads,
 * spinning and system calls included), which a shared machine disturbs
 * less than wall time.
 *
 * usage: bench_service [--quick] [--part commands|e2e|memory]... [--only ours|baseline]
 *                      [--rounds N] [--capacity POW2]
 *                      [--e2e-rounds N] [--conns K] [--streams M] [--body B] [--requests N]
 *                      [--mem-conns N]
 * Defaults: 7 rounds of commands; e2e 7 rounds of K=4 x M=32, B=64, N=300000;
 * memory N=2000. --quick (or BENCH_QUICK=1) makes every part tiny for a
 * smoke run (1 round, 20 ms command samples, e2e 2 x 4 streams and 2000
 * requests, 50 idle connections). --part (repeatable) runs only the parts
 * named. --only runs one side: ours, or the baseline (mutex, nghttp2).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h2/errors.h"
#include "service/mailbox.h"

#include "bench_service_common.h"
#include "bench_service_e2e.h"
#include "bench_service_mem.h"

/* Wall time of one command-throughput sample (--quick: 20 ms). */
static long sample_ms = 200;
#define BATCH 64
#define MAX_PRODUCERS 8

typedef struct command {
    uint64_t value;
    uint64_t producer;
} command;

/* Posted once by each producer after its last command. */
static command stop_command;

/* ------------------------------------------------------------------------ */
/* Baseline: bounded queue on a mutex and two condition variables            */
/* ------------------------------------------------------------------------ */

typedef struct mutex_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **slots;
    size_t mask;
    size_t head; /* next slot to take */
    size_t count;
    int consumer_waiting;
    int producers_waiting;
} mutex_queue;

static int mq_init(mutex_queue *q, size_t capacity)
{
    memset(q, 0, sizeof *q);
    q->slots = calloc(capacity, sizeof(void *));
    if (q->slots == NULL)
        return -1;
    q->mask = capacity - 1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

static void mq_destroy(mutex_queue *q)
{
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q->slots);
}

static void mq_post(mutex_queue *q, void *p)
{
    pthread_mutex_lock(&q->lock);
    while (q->count > q->mask) {
        q->producers_waiting++;
        pthread_cond_wait(&q->not_full, &q->lock);
        q->producers_waiting--;
    }
    q->slots[(q->head + q->count) & q->mask] = p;
    q->count++;
    if (q->consumer_waiting)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Blocks until at least one command is queued; moves up to |max| out. */
static size_t mq_take(mutex_queue *q, void **out, size_t max)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0) {
        q->consumer_waiting = 1;
        pthread_cond_wait(&q->not_empty, &q->lock);
        q->consumer_waiting = 0;
    }
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++)
        out[i] = q->slots[(q->head + i) & q->mask];
    q->head = (q->head + n) & q->mask;
    q->count -= n;
    if (q->producers_waiting) {
        if (n == 1)
            pthread_cond_signal(&q->not_full);
        else
            pthread_cond_broadcast(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ------------------------------------------------------------------------ */
/* One sample                                                                */
/* ------------------------------------------------------------------------ */

enum impl { IMPL_OURS, IMPL_MUTEX };

typedef struct run {
    enum impl impl;
    unsigned producers;
    size_t pool_size; /* commands per producer, a power of two */
    h2_mailbox mb;
    mutex_queue mq;
    pthread_barrier_t start;
    atomic_int stop;
    /* results */
    uint64_t posted_sum[MAX_PRODUCERS];
    uint64_t posted_count[MAX_PRODUCERS];
    uint64_t handled_sum;
    uint64_t handled_count;
    struct timespec end;
    int error;
} run;

typedef struct producer_ctx {
    run *r;
    unsigned id;
    command *pool;
} producer_ctx;

static void post_one(run *r, void *p)
{
    if (r->impl == IMPL_MUTEX) {
        mq_post(&r->mq, p);
    } else if (h2_mailbox_post_wait(&r->mb, p, -1) != 0) {
        r->error = 1;
    }
}

static void *producer_main(void *arg)
{
    producer_ctx *pc = arg;
    run *r = pc->r;
    size_t mask = r->pool_size - 1;
    uint64_t sum = 0, count = 0;
    pthread_barrier_wait(&r->start);
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        command *c = &pc->pool[count & mask];
        c->value = count * 7 + pc->id;
        c->producer = pc->id;
        sum += c->value;
        count++;
        post_one(r, c);
    }
    post_one(r, &stop_command);
    r->posted_sum[pc->id] = sum;
    r->posted_count[pc->id] = count;
    return NULL;
}

static void *worker_main(void *arg)
{
    run *r = arg;
    void *batch[BATCH];
    uint64_t sum = 0, count = 0;
    unsigned stops = 0;
    pthread_barrier_wait(&r->start);
    while (stops < r->producers) {
        size_t n;
        if (r->impl == IMPL_MUTEX) {
            n = mq_take(&r->mq, batch, BATCH);
        } else {
            n = h2_mailbox_drain(&r->mb, batch, BATCH);
            if (n == 0) {
                if (h2_mailbox_wait(&r->mb, -1) < 0)
                    r->error = 1;
                continue;
            }
        }
        for (size_t i = 0; i < n; i++) {
            const command *c = batch[i];
            if (c == &stop_command) {
                stops++;
                continue;
            }
            sum += c->value;
            count++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &r->end);
    r->handled_sum = sum;
    r->handled_count = count;
    return NULL;
}

typedef struct result {
    double rate;   /* commands per second of wall time; negative on error */
    double cpu_ns; /* CPU time of the whole process per command, in ns */
} result;

static result sample(enum impl impl, unsigned producers, uint32_t capacity)
{
    result res = {-1, 0};
    run *r = calloc(1, sizeof *r);
    producer_ctx pcs[MAX_PRODUCERS];
    pthread_t threads[MAX_PRODUCERS + 1];
    if (r == NULL)
        return res;
    r->impl = impl;
    r->producers = producers;
    r->pool_size = (size_t)capacity * 4;
    atomic_init(&r->stop, 0);
    if (impl == IMPL_OURS) {
        if (h2_mailbox_init(&r->mb, capacity, NULL) != 0) {
            free(r);
            return res;
        }
    } else if (mq_init(&r->mq, capacity) != 0) {
        free(r);
        return res;
    }
    pthread_barrier_init(&r->start, NULL, producers + 2);
    for (unsigned i = 0; i < producers; i++) {
        pcs[i].r = r;
        pcs[i].id = i;
        pcs[i].pool = calloc(r->pool_size, sizeof(command));
        if (pcs[i].pool == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        pthread_create(&threads[i], NULL, producer_main, &pcs[i]);
    }
    pthread_create(&threads[producers], NULL, worker_main, r);

    struct timespec t0, cpu0, cpu1;
    pthread_barrier_wait(&r->start);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    sleep_ms(sample_ms);
    atomic_store(&r->stop, 1);
    for (unsigned i = 0; i <= producers; i++)
        pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);

    uint64_t sum = 0, count = 0;
    for (unsigned i = 0; i < producers; i++) {
        sum += r->posted_sum[i];
        count += r->posted_count[i];
        free(pcs[i].pool);
    }
    if (r->error || sum != r->handled_sum || count != r->handled_count) {
        fprintf(stderr,
                "%s, %u producers: posted %llu commands (sum %llu), handled %llu (sum %llu)%s\n",
                impl == IMPL_OURS ? "mailbox" : "mutex", producers, (unsigned long long)count,
                (unsigned long long)sum, (unsigned long long)r->handled_count,
                (unsigned long long)r->handled_sum, r->error ? ", post or wait failed" : "");
    } else {
        res.rate = (double)count / elapsed_s(&t0, &r->end);
        res.cpu_ns = elapsed_s(&cpu0, &cpu1) * 1e9 / (double)count;
    }
    pthread_barrier_destroy(&r->start);
    if (impl == IMPL_OURS)
        h2_mailbox_destroy(&r->mb);
    else
        mq_destroy(&r->mq);
    free(r);
    return res;
}

/* ------------------------------------------------------------------------ */
/* Rounds, medians, report                                                   */
/* ------------------------------------------------------------------------ */

#define MAX_ROUNDS 99

/* Command throughput for 1, 2 and 4 producers; |only|: -1 both, IMPL_OURS or IMPL_MUTEX. */
static int commands_part(int rounds, uint32_t capacity, int only)
{
    static const unsigned producer_counts[] = {1, 2, 4};
    enum { N_CONFIGS = 3 };
    double med[N_CONFIGS][2] = {{0}};

    printf("queue capacity %u, batch %d, %ld ms per sample, %d rounds\n\n", capacity, BATCH,
           sample_ms, rounds);
    printf("producers  queue       min cmds/s  median cmds/s     max cmds/s  CPU ns/cmd\n");
    for (int k = 0; k < N_CONFIGS; k++) {
        unsigned p = producer_counts[k];
        double v[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS];
        /* One unmeasured warm-up sample of each. */
        for (int impl = 0; impl < 2; impl++)
            if (only < 0 || only == impl)
                sample((enum impl)impl, p, capacity);
        for (int round = 0; round < rounds; round++) {
            for (int j = 0; j < 2; j++) {
                int impl = (round + j) % 2;
                if (only >= 0 && only != impl)
                    continue;
                result res = sample((enum impl)impl, p, capacity);
                if (res.rate < 0)
                    return -1;
                v[impl][round] = res.rate;
                cpu[impl][round] = res.cpu_ns;
            }
        }
        for (int impl = 0; impl < 2; impl++) {
            if (only >= 0 && only != impl)
                continue;
            med[k][impl] = median(v[impl], rounds);
            double cpu_med = median(cpu[impl], rounds);
            printf("%-10u %-8s %14.0f %14.0f %14.0f %11.1f\n", p,
                   impl == IMPL_OURS ? "mailbox" : "mutex", v[impl][0], med[k][impl],
                   v[impl][rounds - 1], cpu_med);
        }
        fflush(stdout);
    }
    if (only >= 0)
        return 0;
    printf("\n");
    static const char *const names[N_CONFIGS] = {"service-commands-1p", "service-commands",
                                                 "service-commands-4p"};
    /* 2 producers first: the headline figure. */
    static const int order[N_CONFIGS] = {1, 0, 2};
    for (int i = 0; i < N_CONFIGS; i++) {
        int k = order[i];
        printf("RESULT %s ours=%.0f mutex=%.0f better=%.2f\n", names[k], med[k][IMPL_OURS],
               med[k][IMPL_MUTEX], med[k][IMPL_OURS] / med[k][IMPL_MUTEX]);
    }
    fflush(stdout);
    return 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--quick] [--part commands|e2e|memory]... [--only ours|baseline]\n"
            "       [--rounds N] [--capacity POW2]              (commands)\n"
            "       [--e2e-rounds N] [--conns K] [--streams M] [--body B] [--requests N] (e2e)\n"
            "       [--mem-conns N]                             (memory)\n"
            "--quick (or BENCH_QUICK=1 in the environment): every part tiny, a smoke run.\n"
            "--only mutex and --only nghttp2 are accepted for --only baseline.\n",
            argv0);
}

int main(int argc, char **argv)
{
    int rounds = 7;
    uint32_t capacity = 1024;
    int only = -1; /* 0: ours only, 1: the baseline only */
    int e2e_rounds = 7;
    e2e_params ep = {.conns = 4, .streams = 32, .body = 64, .requests = 300000};
    unsigned mem_conns = 2000;
    unsigned parts = 0; /* bit 0 commands, 1 e2e, 2 memory; none given: all */
    bool quick = getenv("BENCH_QUICK") != NULL && strcmp(getenv("BENCH_QUICK"), "0") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
    }
    if (quick) {
        rounds = 1;
        sample_ms = 20;
        e2e_rounds = 1;
        ep.conns = 2;
        ep.streams = 4;
        ep.requests = 2000;
        mem_conns = 50;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--quick") == 0) {
            continue;
        } else if (strcmp(a, "--rounds") == 0 && has_value) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(a, "--capacity") == 0 && has_value) {
            capacity = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--only") == 0 && has_value) {
            i++;
            only = strcmp(argv[i], "ours") == 0 ? 0 : 1;
        } else if (strcmp(a, "--part") == 0 && has_value) {
            i++;
            if (strcmp(argv[i], "commands") == 0) {
                parts |= 1u;
            } else if (strcmp(argv[i], "e2e") == 0) {
                parts |= 2u;
            } else if (strcmp(argv[i], "memory") == 0) {
                parts |= 4u;
            } else {
                usage(argv[0]);
                return 2;
            }
        } else if (strcmp(a, "--e2e-rounds") == 0 && has_value) {
            e2e_rounds = atoi(argv[++i]);
        } else if (strcmp(a, "--conns") == 0 && has_value) {
            ep.conns = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--streams") == 0 && has_value) {
            ep.streams = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--body") == 0 && has_value) {
            ep.body = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--requests") == 0 && has_value) {
            ep.requests = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--mem-conns") == 0 && has_value) {
            mem_conns = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (parts == 0)
        parts = 7u;
    if (rounds < 1 || rounds > MAX_ROUNDS || capacity < 2 || (capacity & (capacity - 1)) != 0) {
        fprintf(stderr, "bad --rounds or --capacity\n");
        return 2;
    }
    if (mem_conns < 1 || mem_conns > 8000) {
        fprintf(stderr, "bad --mem-conns (1..8000)\n");
        return 2;
    }

    if ((parts & 1u) && commands_part(rounds, capacity,
                                      only < 0 ? -1
                                      : only   ? IMPL_MUTEX
                                               : IMPL_OURS) != 0)
        return 1;
    if ((parts & 2u) && e2e_part(&ep, e2e_rounds, only < 0 ? -1 : only ? E2E_NGHTTP2 : E2E_OURS))
        return 1;
    if ((parts & 4u) && mem_part(mem_conns, only < 0 ? -1 : only ? MEM_NGHTTP2 : MEM_OURS) != 0)
        return 1;
    return 0;
}
