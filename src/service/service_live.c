/*
 * Service: the table of live connection ids, and the whole-service
 * graceful shutdown that waits for it to empty.
 *
 * Every connection has an entry from the moment its id exists until it is
 * freed. Posting threads count themselves in the entry (svc_post()), so a
 * connection that ends knows when no post to it is under way any more;
 * h2_svc_shutdown() waits for the number of entries in use to reach 0.
 * Entries live in chunks that are never moved or freed before the
 * service, so a late post always reads valid memory.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

/*
 * Connection ids: bits 0-15 name the worker (SVC_ID_BITS), bits 16-39 the
 * entry in the live table, bits 40-63 that entry's generation (from 1). An
 * entry whose generations ran out is not used again, so no id repeats.
 */
#define LIVE_INDEX_BITS 24u
#define LIVE_CHUNK_BITS 12u
#define LIVE_CHUNK (1u << LIVE_CHUNK_BITS)
#define LIVE_CHUNKS (1u << (LIVE_INDEX_BITS - LIVE_CHUNK_BITS))
#define LIVE_GEN_MAX ((1u << 24) - 1u)

void svc_live_table_free(h2_svc *svc)
{
    if (svc->live_chunks == NULL)
        return;
    for (unsigned i = 0; i < LIVE_CHUNKS; i++)
        h2_mem_free(&svc->mem, atomic_load_explicit(&svc->live_chunks[i], memory_order_relaxed));
    h2_mem_free(&svc->mem, (void *)svc->live_chunks);
    pthread_mutex_destroy(&svc->live_lock);
    pthread_mutex_destroy(&svc->drain_lock);
    pthread_cond_destroy(&svc->drain_cond);
}

int svc_live_table_init(h2_svc *svc)
{
    svc->live_chunks = h2_mem_calloc(&svc->mem, LIVE_CHUNKS, sizeof(*svc->live_chunks));
    if (svc->live_chunks == NULL)
        return H2_ENOMEM;
    for (unsigned i = 0; i < LIVE_CHUNKS; i++)
        atomic_init(&svc->live_chunks[i], NULL);
    pthread_mutex_init(&svc->live_lock, NULL);
    pthread_mutex_init(&svc->drain_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&svc->drain_cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&svc->n_live, 0);
    atomic_init(&svc->drain, 0);
    atomic_init(&svc->drain_deadline, 0);
    atomic_init(&svc->drain_waiting, false);
    return 0;
}

/* The live-table entry an id names, or NULL. */
svc_live *svc_live_of(h2_svc *svc, h2_svc_conn_id id)
{
    uint32_t index = (uint32_t)(id >> SVC_ID_BITS) & ((1u << LIVE_INDEX_BITS) - 1u);
    svc_live *chunk =
        atomic_load_explicit(&svc->live_chunks[index >> LIVE_CHUNK_BITS], memory_order_acquire);
    return chunk == NULL ? NULL : &chunk[index & (LIVE_CHUNK - 1u)];
}

int svc_conn_new_id(h2_svc *svc, svc_conn *c, unsigned wi)
{
    pthread_mutex_lock(&svc->live_lock);
    uint32_t index;
    svc_live *e;
    if (svc->live_free != 0) {
        index = svc->live_free - 1u;
        e = &atomic_load_explicit(&svc->live_chunks[index >> LIVE_CHUNK_BITS],
                                  memory_order_relaxed)[index & (LIVE_CHUNK - 1u)];
        svc->live_free = e->next_free;
    } else {
        index = svc->live_used;
        unsigned ci = index >> LIVE_CHUNK_BITS;
        svc_live *chunk = NULL;
        if (index < (1u << LIVE_INDEX_BITS)) {
            chunk = atomic_load_explicit(&svc->live_chunks[ci], memory_order_relaxed);
            if (chunk == NULL) {
                chunk = h2_mem_malloc(&svc->mem, LIVE_CHUNK * sizeof(*chunk));
                for (uint32_t i = 0; chunk != NULL && i < LIVE_CHUNK; i++) {
                    atomic_init(&chunk[i].key, 0);
                    atomic_init(&chunk[i].posters, 0);
                    atomic_init(&chunk[i].feed, 0);
                    atomic_init(&chunk[i].send, 0);
                    chunk[i].gen = 1;
                    chunk[i].next_free = 0;
                }
                if (chunk != NULL)
                    atomic_store_explicit(&svc->live_chunks[ci], chunk, memory_order_release);
            }
        }
        if (chunk == NULL) {
            pthread_mutex_unlock(&svc->live_lock);
            return H2_ENOMEM;
        }
        svc->live_used++;
        e = &chunk[index & (LIVE_CHUNK - 1u)];
    }
    uint64_t gen = e->gen++;
    pthread_mutex_unlock(&svc->live_lock);
    c->id = gen << 40 | (uint64_t)index << SVC_ID_BITS | wi;
    c->live = e;
    c->svc = svc;
    atomic_store_explicit(&e->key, c->id >> SVC_ID_BITS, memory_order_seq_cst);
    atomic_fetch_add_explicit(&svc->n_live, 1, memory_order_relaxed);
    return 0;
}

h2_svc_conn_id svc_id_rehome(h2_svc_conn_id id, unsigned wi)
{
    return (id & ~(uint64_t)((1u << SVC_ID_BITS) - 1u)) | wi;
}

void svc_live_end(svc_conn *c)
{
    if (c->live != NULL)
        atomic_store_explicit(&c->live->key, 0, memory_order_seq_cst);
}

void svc_live_release(h2_svc *svc, svc_conn *c)
{
    svc_live *e = c->live;
    c->live = NULL;
    atomic_store_explicit(&e->key, 0, memory_order_seq_cst);
    uint32_t index = (uint32_t)(c->id >> SVC_ID_BITS) & ((1u << LIVE_INDEX_BITS) - 1u);
    pthread_mutex_lock(&svc->live_lock);
    if (e->gen <= LIVE_GEN_MAX) {
        e->next_free = svc->live_free;
        svc->live_free = index + 1u;
    }
    pthread_mutex_unlock(&svc->live_lock);
    if (atomic_fetch_sub_explicit(&svc->n_live, 1, memory_order_seq_cst) == 1)
        svc_drain_notify(svc);
}

void svc_drain_notify(h2_svc *svc)
{
    if (!atomic_load_explicit(&svc->drain_waiting, memory_order_seq_cst))
        return;
    pthread_mutex_lock(&svc->drain_lock);
    pthread_cond_broadcast(&svc->drain_cond);
    pthread_mutex_unlock(&svc->drain_lock);
}

/* Validates the common arguments and returns the connection's worker. */
svc_worker *svc_target(h2_svc *svc, h2_svc_conn_id conn)
{
    if (svc == NULL)
        return NULL;
    return svc_worker_of(svc, conn);
}

int svc_post_simple(h2_svc *svc, h2_svc_conn_id conn, int kind, uint32_t stream_id,
                    uint32_t error_code, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, kind, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->stream_id = stream_id;
    cmd->error_code = error_code;
    cmd->user = user;
    if (kind == H2_SVC_CMD_END_STREAM)
        cmd->flags = H2_SEND_END_STREAM;
    return svc_post(svc, w, cmd);
}

/* Wakes every worker thread (shared and dedicated) to look at |drain|. */
static void wake_workers(h2_svc *svc)
{
    for (unsigned i = 0; i < svc->n_workers; i++)
        h2_mailbox_notify(&svc->workers[i].mb);
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
    int64_t deadline = timeout_ms < 0 ? -1 : svc_mono_ms() + timeout_ms;
    atomic_store_explicit(&svc->drain_waiting, true, memory_order_seq_cst);
    int expect = 0;
    (void)atomic_compare_exchange_strong_explicit(&svc->drain, &expect, SVC_DRAIN_GOAWAY,
                                                  memory_order_seq_cst, memory_order_seq_cst);
    wake_workers(svc);
    int rv = 0;
    if (!wait_no_conn(svc, deadline)) {
        uint64_t left = atomic_load_explicit(&svc->n_live, memory_order_seq_cst);
        if (left > INT_MAX)
            left = INT_MAX;
        /* The deadline passed: what is left ends now (H2_SVC_CLOSE_SHUTDOWN). */
        atomic_store_explicit(&svc->drain, SVC_DRAIN_CUT, memory_order_seq_cst);
        wake_workers(svc);
        (void)wait_no_conn(svc, -1);
        rv = (int)left;
    }
    return rv;
}

