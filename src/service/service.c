/*
 * Service: its lifetime. Creation starts the shared workers; the graceful
 * shutdown (h2_svc_shutdown()) sends GOAWAY everywhere and waits for
 * the live-id table (service_live.c) to empty, cutting what is left at its
 * deadline; the free stops and joins every worker thread, answers what was
 * posted too late (svc_service_sweep()) and frees everything.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/abi.h"
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_config.h"
#include "service/svc_clock.h"
#include "service/svc_dedicated.h"
#include "service/svc_live.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

#define DEFAULT_MAILBOX 4096u
#define DEFAULT_READ_BUFFER 65536u
#define MIN_READ_BUFFER 1024u
#define DEFAULT_FEED_HOLD (1u << 20)
#define DEFAULT_SEND_HOLD (64u << 20)
/* Per connection: a 64th of the worker totals, so that 64 connections
 * holding their full share at once still fit under them. */
#define DEFAULT_FEED_HOLD_CONN (16u << 10)
#define DEFAULT_SEND_HOLD_CONN (1u << 20)
/* Flow-control stall floor: 256 bytes a second, 15 KiB per default interval. */
#define DEFAULT_FLOW_MIN_RATE 256u


void svc_service_config_defaults(h2_svc_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->workers = 0;
    cfg->mailbox_capacity = DEFAULT_MAILBOX;
    cfg->read_buffer_size = DEFAULT_READ_BUFFER;
    cfg->max_dedicated = 64;
    cfg->feed_hold_limit = DEFAULT_FEED_HOLD;
    cfg->send_hold_limit = DEFAULT_SEND_HOLD;
    cfg->feed_hold_conn_limit = DEFAULT_FEED_HOLD_CONN;
    cfg->send_hold_conn_limit = DEFAULT_SEND_HOLD_CONN;
    cfg->clock = NULL; /* CLOCK_MONOTONIC */
    cfg->clock_user = NULL;
    cfg->tcp_nodelay = true;
}

void svc_conn_config_defaults(h2_svc_conn_config *cfg, h2_role role)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    h2_conn_config_init(&cfg->conn, role);
    cfg->worker = -1;
    cfg->idle_timeout_ms = 180000;
    cfg->settings_timeout_ms = 10000;
    cfg->header_timeout_ms = 20000;
    cfg->close_timeout_ms = 30000;
    cfg->write_timeout_ms = 60000;
    cfg->flow_timeout_ms = 60000;
    cfg->preface_timeout_ms = 10000;
    cfg->flow_min_rate = DEFAULT_FLOW_MIN_RATE;
}

unsigned h2_svc_workers(const h2_svc *svc)
{
    return svc == NULL ? 0 : svc->n_workers;
}

static void stop_workers(h2_svc *svc)
{
    for (unsigned i = 0; i < svc->n_workers; i++) {
        svc_worker *w = &svc->workers[i];
        if (!atomic_load_explicit(&w->started, memory_order_acquire))
            continue;
        atomic_store_explicit(&w->stop, true, memory_order_seq_cst);
        h2_mailbox_notify(&w->mb);
    }
    for (unsigned i = 0; i < svc->n_workers; i++) {
        svc_worker *w = &svc->workers[i];
        if (atomic_load_explicit(&w->started, memory_order_acquire))
            pthread_join(w->thread, NULL);
        atomic_store_explicit(&w->started, false, memory_order_relaxed);
    }
}

static void service_destroy(h2_svc *svc)
{
    atomic_store_explicit(&svc->closing, true, memory_order_seq_cst);
    stop_workers(svc);
    svc_dedicated_shutdown(svc);
    svc_service_sweep(svc);
    svc_dedicated_free(svc);
    h2_mem mem = svc->mem;
    if (svc->workers != NULL) {
        for (unsigned i = 0; i < svc->n_workers; i++)
            if (svc->workers[i].svc != NULL)
                svc_worker_destroy(&svc->workers[i]);
        h2_mem_free(&mem, svc->workers);
    }
    h2_mem_free(&mem, svc->slots);
    svc_live_table_free(svc);
    h2_mem_free(&mem, svc);
}

/* The number of shared workers: |cfg->workers|, or one per CPU online. */
static unsigned worker_count(const h2_svc_config *cfg)
{
    unsigned n = cfg->workers;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1u : (unsigned)cpus;
        if (n > H2_SVC_MAX_WORKERS)
            n = H2_SVC_MAX_WORKERS;
    }
    return n;
}

/* The workers, the dedicated slots and the live-id table of |svc|; on
 * failure frees what it allocated and returns H2_ENOMEM. */
static int alloc_tables(h2_svc *svc, const h2_mem *mem, unsigned n)
{
    svc->workers = h2_mem_calloc(mem, n, sizeof(*svc->workers));
    if (svc->workers == NULL)
        return H2_ENOMEM;
    for (unsigned i = 0; i < n; i++)
        svc->workers[i].epfd = -1;
    if (svc->n_slots > 0) {
        svc->slots = h2_mem_calloc(mem, svc->n_slots, sizeof(*svc->slots));
        if (svc->slots == NULL) {
            h2_mem_free(mem, svc->workers);
            return H2_ENOMEM;
        }
        for (unsigned i = 0; i < svc->n_slots; i++) {
            atomic_init(&svc->slots[i].state, SVC_SLOT_FREE);
            atomic_init(&svc->slots[i].posters, 0);
            atomic_init(&svc->slots[i].worker, NULL);
        }
    }
    atomic_init(&svc->reap, NULL);
    if (svc_live_table_init(svc) != 0) {
        h2_mem_free(mem, svc->slots);
        h2_mem_free(mem, svc->workers);
        return H2_ENOMEM;
    }
    return 0;
}

/* Prepares and starts the shared workers; 0, or an error with errno kept. */
static int start_workers(h2_svc *svc, uint32_t cap)
{
    int rv = 0;
    for (unsigned i = 0; i < svc->n_workers && rv == 0; i++)
        rv = svc_worker_init(svc, &svc->workers[i], i, cap);
    for (unsigned i = 0; i < svc->n_workers && rv == 0; i++) {
        svc_worker *w = &svc->workers[i];
        int e = pthread_create(&w->thread, NULL, svc_worker_main, w);
        if (e != 0) {
            errno = e;
            rv = H2_EINTERNAL;
        } else {
            atomic_store_explicit(&w->started, true, memory_order_release);
        }
    }
    return rv;
}

int h2_svc_new(h2_svc **out, const h2_svc_config *cfg)
{
    if (out == NULL)
        return H2_EINVAL;
    *out = NULL;
    h2_svc_config imported;
    if (svc_service_config_import(&imported, cfg) != 0)
        return H2_EINVAL;
    cfg = &imported;
    unsigned n = worker_count(cfg);
    uint32_t cap = cfg->mailbox_capacity;
    if (n > H2_SVC_MAX_WORKERS || cap < H2_MAILBOX_MIN_CAPACITY ||
        cap > H2_MAILBOX_MAX_CAPACITY || (cap & (cap - 1)) != 0 ||
        cfg->read_buffer_size < MIN_READ_BUFFER || cfg->feed_hold_limit == 0 ||
        cfg->send_hold_limit == 0 || cfg->feed_hold_conn_limit == 0 ||
        cfg->send_hold_conn_limit == 0)
        return H2_EINVAL;

    const h2_mem *mem = h2_mem_or_default(cfg->mem);
    h2_svc *svc = h2_mem_calloc(mem, 1, sizeof(*svc));
    if (svc == NULL)
        return H2_ENOMEM;
    svc->mem = *mem;
    svc->n_workers = n;
    svc->queue = cfg->queue;
    svc->on_event = cfg->on_event;
    svc->on_event_user = cfg->on_event_user;
    svc->read_buffer_size = cfg->read_buffer_size;
    svc->mailbox_capacity = cap;
    svc->post_wait_ms = cfg->post_wait_ms;
    svc->feed_hold_limit = cfg->feed_hold_limit;
    svc->send_hold_limit = cfg->send_hold_limit;
    svc->feed_hold_conn_limit = cfg->feed_hold_conn_limit;
    svc->send_hold_conn_limit = cfg->send_hold_conn_limit;
    svc->clock = cfg->clock;
    svc->clock_user = cfg->clock_user;
    svc->tcp_nodelay = cfg->tcp_nodelay;
    svc->n_slots = cfg->max_dedicated;
    atomic_init(&svc->next_id, 1);
    atomic_init(&svc->next_worker, 0);
    if (alloc_tables(svc, mem, n) != 0) {
        h2_mem_free(mem, svc);
        return H2_ENOMEM;
    }
    int rv = start_workers(svc, cap);
    if (rv != 0) {
        int saved = errno;
        service_destroy(svc);
        errno = saved;
        return rv;
    }
    *out = svc;
    return 0;
}

void h2_svc_free(h2_svc *svc)
{
    if (svc != NULL)
        service_destroy(svc);
}

void svc_drain_notify(h2_svc *svc)
{
    if (!atomic_load_explicit(&svc->drain_waiting, memory_order_seq_cst))
        return;
    pthread_mutex_lock(&svc->drain_lock);
    pthread_cond_broadcast(&svc->drain_cond);
    pthread_mutex_unlock(&svc->drain_lock);
}

void svc_wake_workers(h2_svc *svc)
{
    for (unsigned i = 0; i < svc->n_workers; i++)
        h2_mailbox_notify(&svc->workers[i].mb);
    /* A slot's worker structure lives as long as the service. */
    for (unsigned i = 0; i < svc->n_slots; i++) {
        svc_worker *w = svc_dedicated_of(svc, i);
        if (w != NULL)
            h2_mailbox_notify(&w->mb);
    }
}

/* Waits until no connection is left or |deadline| (ms, -1: none) passed. */
static bool wait_no_conn(h2_svc *svc, int64_t deadline)
{
    bool done = true;
    pthread_mutex_lock(&svc->drain_lock);
    while (atomic_load_explicit(&svc->n_live, memory_order_seq_cst) != 0) {
        if (deadline < 0) {
            pthread_cond_wait(&svc->drain_cond, &svc->drain_lock);
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000),
                              .tv_nsec = (long)(deadline % 1000) * 1000000L};
        if (pthread_cond_timedwait(&svc->drain_cond, &svc->drain_lock, &ts) == ETIMEDOUT &&
            atomic_load_explicit(&svc->n_live, memory_order_seq_cst) != 0) {
            done = false;
            break;
        }
    }
    pthread_mutex_unlock(&svc->drain_lock);
    return done;
}

int h2_svc_shutdown(h2_svc *svc, int timeout_ms)
{
    if (svc == NULL || svc_on_worker_thread(svc))
        return H2_EINVAL;
    int64_t deadline = svc_deadline_ms(timeout_ms);
    atomic_store_explicit(&svc->drain_waiting, true, memory_order_seq_cst);
    int expect = 0;
    (void)atomic_compare_exchange_strong_explicit(&svc->drain, &expect, SVC_DRAIN_GOAWAY,
                                                  memory_order_seq_cst, memory_order_seq_cst);
    svc_wake_workers(svc);
    int rv = 0;
    if (!wait_no_conn(svc, deadline)) {
        uint64_t left = atomic_load_explicit(&svc->n_live, memory_order_seq_cst);
        if (left > INT_MAX)
            left = INT_MAX;
        /* The deadline passed: what is left ends now (H2_SVC_CLOSE_SHUTDOWN). */
        atomic_store_explicit(&svc->drain, SVC_DRAIN_CUT, memory_order_seq_cst);
        svc_wake_workers(svc);
        (void)wait_no_conn(svc, -1);
        rv = (int)left;
    }
    return rv;
}
