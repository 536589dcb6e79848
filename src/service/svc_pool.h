/*
 * Service: recycled record blocks (svc_pool.c).
 *
 * Every request crosses threads twice: an event record built by a worker
 * is released by an application thread, and a command record built by an
 * application thread is freed by a worker. With plain malloc and free each
 * of those is an allocation on one thread and a free on another, which
 * the allocator pays for (remote frees, heaps that shrink and grow). A
 * shared worker therefore keeps the blocks of the records it is done with
 * and hands them out again, in four size classes (256 to 2048 bytes):
 *
 *   - its own lists, used only on its thread: blocks of the commands it
 *     carried out and of the events that came back to it; its events are
 *     built from them;
 *   - per class a bounded ring that the worker fills once per turn and
 *     application threads take from (one producer, many consumers) when
 *     they build a command for one of its connections;
 *   - events go back through the worker's retbox (svc_retbox.h) when
 *     released on another thread, without waking the worker; released on
 *     the worker's own thread (event callbacks), straight to its lists.
 *
 * A block that finds no room (lists full, or the worker gone) goes back to
 * the allocator, and a class with no block ready takes a new one from it,
 * so memory stays bounded: a worker's lists hold at most SVC_POOL_KEEP +
 * SVC_POOL_RING blocks per class and its ring SVC_POOL_RING more (at most
 * about 5 MiB in all, reached only with that many records in flight); they
 * are freed with the worker. Dedicated workers, which come and go with
 * their connection, do not pool.
 */
#ifndef H2_SERVICE_SVC_POOL_H
#define H2_SERVICE_SVC_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "h2/common.h"
#include "service/svc_record.h"

#define SVC_POOL_CLASSES 4
#define SVC_POOL_RING 512u /* blocks per class offered to application threads */
#define SVC_POOL_KEEP 256u /* blocks per class the worker keeps for itself */

/* One class's blocks for application threads: a single-producer,
 * multi-consumer ring of pointers. */
typedef struct svc_pool_ring {
    atomic_uint head; /* blocks taken (consumers, CAS) */
    /* head and tail a cache line apart, without asking the allocator for
     * more than its usual alignment (workers are allocated in an array) */
    char apart[64];
    atomic_uint tail; /* blocks offered (the worker) */
    _Atomic(void *) slot[SVC_POOL_RING];
} svc_pool_ring;

typedef struct svc_pool {
    bool on; /* false: dedicated worker, every block goes to the allocator */
    h2_mem mem;
    svc_event_rec *local[SVC_POOL_CLASSES]; /* the worker's lists */
    uint32_t local_n[SVC_POOL_CLASSES];
    svc_pool_ring *ring; /* SVC_POOL_CLASSES rings (about 16 KiB), NULL when not pooling */
    /* Freed stream records of the worker's held sends (worker_send.c),
     * linked through their first pointer; at most SVC_POOL_KEEP. */
    void *streams;
    uint32_t n_streams;
} svc_pool;

/* The worker thread's pool (svc_rec_free() puts blocks back there); set
 * once by each worker thread when it starts. */
void svc_pool_bind(svc_pool *p);

/* Prepares |p| (pooling when |on| and its rings could be allocated) for
 * blocks of |mem|. */
void svc_pool_init(svc_pool *p, const h2_mem *mem, bool on);

/*
 * The owning worker's thread: a record of |size| bytes and |extra| after
 * it, as svc_rec_alloc(), from the worker's lists when its class has a
 * block. NULL: no memory.
 */
svc_event_rec *svc_pool_alloc(svc_pool *p, size_t size, size_t extra, uint8_t **tail);

/* Any thread: the same from the class's ring (for a command to the worker). */
svc_event_rec *svc_pool_alloc_shared(svc_pool *p, size_t size, size_t extra, uint8_t **tail);

/* The owning worker's thread: keeps |rec|'s block (or frees it); drops its
 * retbox reference first. */
void svc_pool_put(svc_pool *p, svc_event_rec *rec);

/* The owning worker's thread, once per turn: offers kept blocks to the rings. */
void svc_pool_refill(svc_pool *p);

/* Frees every kept block (no thread takes from the rings any more). */
void svc_pool_free(svc_pool *p);

/* Puts |rec| back when this thread runs the worker whose pool made it;
 * false (nothing done) otherwise. */
bool svc_rec_free_here(svc_event_rec *rec);

/*
 * Any thread: frees record |rec| (the whole block). On the thread of the
 * worker whose pool made it, the block goes back to that pool.
 */
void svc_rec_free(svc_event_rec *rec);

#endif /* H2_SERVICE_SVC_POOL_H */
