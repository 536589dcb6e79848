/*
 * Service: connection ids and the table of live ones.
 *
 * Every connection has an entry from the moment its id exists until it is
 * freed. Posting threads count themselves in the entry (svc_post()), so a
 * connection that ends knows when no post to it is under way any more;
 * h2_svc_shutdown() (service.c) waits for the number of entries in use
 * to reach 0.
 * Entries live in chunks that are never moved or freed before the
 * service, so a late post always reads valid memory.
 */
#include <time.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dedicated.h"
#include "service/svc_live.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

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
                    atomic_init(&chunk[i].id, 0);
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
    atomic_store_explicit(&e->id, c->id, memory_order_relaxed);
    atomic_store_explicit(&e->key, c->id >> SVC_ID_BITS, memory_order_seq_cst);
    atomic_fetch_add_explicit(&svc->n_live, 1, memory_order_relaxed);
    return 0;
}

void svc_conn_rehome(svc_conn *c, unsigned wi)
{
    c->id = (c->id & ~(uint64_t)((1u << SVC_ID_BITS) - 1u)) | wi;
    if (c->live != NULL)
        atomic_store_explicit(&c->live->id, c->id, memory_order_relaxed);
}

int h2_svc_conns(h2_svc *svc, h2_svc_conn_id *ids, size_t cap, size_t *n)
{
    if (svc == NULL || n == NULL || (ids == NULL && cap > 0))
        return H2_EINVAL;
    pthread_mutex_lock(&svc->live_lock);
    uint32_t used = svc->live_used;
    pthread_mutex_unlock(&svc->live_lock);
    size_t found = 0;
    for (uint32_t index = 0; index < used; index++) {
        svc_live *chunk = atomic_load_explicit(&svc->live_chunks[index >> LIVE_CHUNK_BITS],
                                               memory_order_acquire);
        if (chunk == NULL)
            continue;
        svc_live *e = &chunk[index & (LIVE_CHUNK - 1u)];
        uint64_t key = atomic_load_explicit(&e->key, memory_order_seq_cst);
        if (key == 0)
            continue;
        uint64_t id = atomic_load_explicit(&e->id, memory_order_relaxed);
        /* An entry taken again between the two loads shows its new id. */
        if (id >> SVC_ID_BITS != key)
            continue;
        if (found < cap)
            ids[found] = id;
        found++;
    }
    *n = found;
    return 0;
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

svc_worker *svc_worker_of(h2_svc *svc, h2_svc_conn_id id)
{
    uint64_t wi = id & ((1u << SVC_ID_BITS) - 1u);
    if (id == 0)
        return NULL;
    if ((wi & SVC_ID_DEDICATED) != 0)
        return svc_dedicated_of(svc, (unsigned)(wi & ~(uint64_t)SVC_ID_DEDICATED));
    if (wi >= svc->n_workers)
        return NULL;
    return &svc->workers[wi];
}
