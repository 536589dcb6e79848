/*
 * Service: recycled record blocks (see svc_pool.h for the scheme).
 *
 * A pooled block is allocated at its class's full size, so any block of a
 * class serves any record of that class; |pool| and |pool_class| in its
 * record say where it goes back. Free blocks are linked through their
 * record's |next|.
 */
#include "service/svc_pool.h"

#include <string.h>

#include "core/mem.h"
#include "service/svc_retbox.h"

static const size_t class_bytes[SVC_POOL_CLASSES] = {256, 512, 1024, 2048};

/* The pool of the worker running on this thread, NULL elsewhere. */
static _Thread_local svc_pool *current_pool;

void svc_pool_bind(svc_pool *p)
{
    current_pool = p;
}

void svc_pool_init(svc_pool *p, const h2_mem *mem, bool on)
{
    memset(p, 0, sizeof(*p));
    p->mem = *mem;
    /* Without its rings a worker only loses the recycling. */
    p->ring = on ? h2_mem_malloc(mem, SVC_POOL_CLASSES * sizeof(*p->ring)) : NULL;
    p->on = p->ring != NULL;
    for (int i = 0; p->on && i < SVC_POOL_CLASSES; i++) {
        atomic_init(&p->ring[i].head, 0);
        atomic_init(&p->ring[i].tail, 0);
        for (unsigned k = 0; k < SVC_POOL_RING; k++)
            atomic_init(&p->ring[i].slot[k], NULL);
    }
}

/* Head room of the record, as svc_rec_alloc() lays the block out. */
static size_t head_of(size_t size)
{
    return (size + 15u) & ~(size_t)15u;
}

/* The class of a block of |bytes|, or -1: larger than the largest class. */
static int class_of(size_t bytes)
{
    for (int i = 0; i < SVC_POOL_CLASSES; i++)
        if (bytes <= class_bytes[i])
            return i;
    return -1;
}

/* Makes |block| (of class |cls|, from |p|) a fresh record. */
static svc_event_rec *prepare(svc_pool *p, void *block, int cls, size_t size, uint8_t **tail)
{
    svc_event_rec *rec = block;
    memset(rec, 0, size);
    rec->mem = p->mem;
    rec->block = block;
    rec->pool = p;
    rec->pool_class = (uint8_t)(cls + 1);
    if (tail != NULL)
        *tail = (uint8_t *)block + head_of(size);
    return rec;
}

/* A new block of class |cls| from the allocator, or NULL. */
static void *fresh(svc_pool *p, int cls)
{
    return h2_mem_malloc(&p->mem, class_bytes[cls]);
}

/* Any thread: a block of |cls| from the ring, or NULL when it is empty. */
static void *ring_take(svc_pool_ring *r)
{
    unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        unsigned tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head == tail)
            return NULL;
        /* The slot is rewritten only once head moved past it, and then
         * the compare-exchange below fails. */
        void *block =
            atomic_load_explicit(&r->slot[head & (SVC_POOL_RING - 1u)], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&r->head, &head, head + 1u, memory_order_acquire,
                                                  memory_order_relaxed))
            return block;
    }
}

/* The class of a record of |size| with |extra| tail bytes, or -1: not pooled. */
static int class_for(const svc_pool *p, size_t size, size_t extra)
{
    size_t head = head_of(size);
    return p->on && extra <= SIZE_MAX - head ? class_of(head + extra) : -1;
}

svc_event_rec *svc_pool_alloc_shared(svc_pool *p, size_t size, size_t extra, uint8_t **tail)
{
    int cls = class_for(p, size, extra);
    if (cls < 0)
        return svc_rec_alloc(&p->mem, size, extra, tail);
    void *block = ring_take(&p->ring[cls]);
    if (block == NULL && (block = fresh(p, cls)) == NULL)
        return NULL;
    return prepare(p, block, cls, size, tail);
}

svc_event_rec *svc_pool_alloc(svc_pool *p, size_t size, size_t extra, uint8_t **tail)
{
    int cls = class_for(p, size, extra);
    if (cls < 0 || p->local[cls] == NULL)
        return svc_pool_alloc_shared(p, size, extra, tail);
    svc_event_rec *block = p->local[cls];
    p->local[cls] = block->next;
    p->local_n[cls]--;
    return prepare(p, block, cls, size, tail);
}

void svc_pool_put(svc_pool *p, svc_event_rec *rec)
{
    svc_event_drop_ack(rec);
    int cls = rec->pool_class - 1;
    void *block = rec->block;
    if (rec->pool != p || cls < 0 || p->local_n[cls] >= SVC_POOL_KEEP + SVC_POOL_RING) {
        h2_mem mem = rec->mem;
        h2_mem_free(&mem, block);
        return;
    }
    svc_event_rec *b = block;
    b->next = p->local[cls];
    p->local[cls] = b;
    p->local_n[cls]++;
}

void svc_pool_refill(svc_pool *p)
{
    if (!p->on)
        return;
    for (int i = 0; i < SVC_POOL_CLASSES; i++) {
        svc_pool_ring *r = &p->ring[i];
        unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        unsigned head = atomic_load_explicit(&r->head, memory_order_acquire);
        unsigned room = SVC_POOL_RING - (tail - head);
        unsigned put = 0;
        /* The worker keeps a few for its own events. */
        while (put < room && p->local_n[i] > SVC_POOL_KEEP / 8u) {
            svc_event_rec *b = p->local[i];
            p->local[i] = b->next;
            p->local_n[i]--;
            atomic_store_explicit(&r->slot[(tail + put) & (SVC_POOL_RING - 1u)], b,
                                  memory_order_relaxed);
            put++;
        }
        if (put > 0)
            atomic_store_explicit(&r->tail, tail + put, memory_order_release);
    }
}

void svc_pool_free(svc_pool *p)
{
    for (int i = 0; i < SVC_POOL_CLASSES; i++) {
        while (p->local[i] != NULL) {
            svc_event_rec *b = p->local[i];
            p->local[i] = b->next;
            h2_mem_free(&p->mem, b);
        }
        p->local_n[i] = 0;
        void *block;
        while (p->ring != NULL && (block = ring_take(&p->ring[i])) != NULL)
            h2_mem_free(&p->mem, block);
    }
    if (p->ring != NULL)
        h2_mem_free(&p->mem, p->ring);
    p->ring = NULL;
    p->on = false;
    while (p->streams != NULL) {
        void *s = p->streams;
        memcpy(&p->streams, s, sizeof(void *));
        h2_mem_free(&p->mem, s);
    }
    p->n_streams = 0;
}

bool svc_rec_free_here(svc_event_rec *rec)
{
    if (rec->pool == NULL || rec->pool != current_pool)
        return false;
    svc_pool_put(current_pool, rec);
    return true;
}

void svc_rec_free(svc_event_rec *rec)
{
    if (!svc_rec_free_here(rec))
        svc_event_free(rec);
}
