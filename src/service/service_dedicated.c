/*
 * Service: dedicated workers. A connection attached with |dedicated| gets
 * a worker thread of its own, running the same loop as the shared
 * workers. The service keeps a fixed array of slots; a slot's worker
 * structure is allocated on first use and kept (with its ring and buffers)
 * until the service is freed, so a late post never meets freed memory.
 *
 * Slot life: FREE -> STARTING (claimed by an attach) -> LIVE (thread
 * running) -> DRAINING (its connection ended; the thread answers what is
 * left in its ring) -> EXITED (the thread put itself on the service's reap
 * list and woke shared worker 0, which joins it and frees the slot) ->
 * FREE. At shutdown, threads not joined yet are joined by
 * h2_svc_free().
 *
 * An attach may run on another thread (an event callback on a dedicated
 * worker) while h2_svc_free() shuts the dedicated workers down. The
 * attach claims its slot (FREE -> STARTING) and only then checks
 * |closing|; the free sets |closing| and only then reads the slots' states.
 * Both pairs are seq_cst, so either the attach sees |closing| and gives the
 * slot back without starting a thread, or the free sees the slot STARTING
 * and waits until the attach ends it (LIVE with |started| set, or FREE).
 * So every thread an attach starts is stopped and joined by the free.
 * Posts to a slot that is not LIVE go to shared worker 0, which answers
 * commands for connections it does not know with COMMAND_FAILED, as for any
 * closed connection.
 */
#include <errno.h>
#include <sched.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/mailbox.h"
#include "service/svc_attach.h"
#include "service/svc_conn.h"
#include "service/svc_dedicated.h"
#include "service/svc_live.h"
#include "service/svc_post.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

svc_worker *svc_dedicated_of(h2_svc *svc, unsigned slot)
{
    if (slot >= svc->n_slots)
        return NULL;
    return atomic_load_explicit(&svc->slots[slot].worker, memory_order_acquire);
}

int svc_dedicated_post(h2_svc *svc, svc_worker *w, void *ptr, int wait_ms)
{
    svc_slot *s = w->slot;
    atomic_fetch_add_explicit(&s->posters, 1, memory_order_seq_cst);
    h2_mailbox *mb = &w->mb;
    if (atomic_load_explicit(&s->state, memory_order_seq_cst) != SVC_SLOT_LIVE)
        mb = &svc->workers[0].mb;
    int rv = wait_ms == 0 ? h2_mailbox_post(mb, ptr) : h2_mailbox_post_wait(mb, ptr, wait_ms);
    atomic_fetch_sub_explicit(&s->posters, 1, memory_order_seq_cst);
    return rv;
}

/* Claims a FREE slot; returns its index or -1 (none free, or closing). */
static int claim(h2_svc *svc)
{
    if (atomic_load_explicit(&svc->closing, memory_order_acquire))
        return -1;
    for (unsigned i = 0; i < svc->n_slots; i++) {
        svc_slot *s = &svc->slots[i];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st != SVC_SLOT_FREE)
            continue;
        if (!atomic_compare_exchange_strong_explicit(&s->state, &st, SVC_SLOT_STARTING,
                                                     memory_order_seq_cst, memory_order_acquire))
            continue;
        /* Claimed; now the free may not have seen it (see the top). */
        if (atomic_load_explicit(&svc->closing, memory_order_seq_cst)) {
            atomic_store_explicit(&s->state, SVC_SLOT_FREE, memory_order_release);
            return -1;
        }
        return (int)i;
    }
    return -1;
}

/* The slot's worker, ready for a new thread: joined, reset, or created. */
static int slot_worker(h2_svc *svc, unsigned i, svc_worker **out)
{
    svc_slot *s = &svc->slots[i];
    svc_worker *w = atomic_load_explicit(&s->worker, memory_order_acquire);
    if (w != NULL) {
        /* Its previous thread was joined before the slot became FREE. */
        atomic_store_explicit(&w->stop, false, memory_order_relaxed);
        w->stopping = false;
        w->served = false;
        *out = w;
        return 0;
    }
    w = h2_mem_calloc(&svc->mem, 1, sizeof(*w));
    if (w == NULL)
        return H2_ENOMEM;
    w->epfd = -1;
    int rv = svc_worker_init(svc, w, SVC_ID_DEDICATED | i, svc->mailbox_capacity);
    if (rv != 0) {
        int saved = errno;
        svc_worker_destroy(w);
        h2_mem_free(&svc->mem, w);
        errno = saved;
        return rv;
    }
    w->slot = s;
    atomic_store_explicit(&s->worker, w, memory_order_release);
    *out = w;
    return 0;
}

int svc_attach_dedicated(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, h2_svc_conn_id *id)
{
    *id = 0;
    int i = claim(svc);
    if (i < 0)
        return H2_EAGAIN;
    svc_slot *s = &svc->slots[i];
    svc_worker *w = NULL;
    int rv = slot_worker(svc, (unsigned)i, &w);
    svc_conn *c = NULL;
    if (rv == 0)
        rv = svc_conn_prepare(svc, fd, cfg, SVC_ID_DEDICATED | (unsigned)i, &c);
    svc_cmd *cmd = NULL;
    if (rv == 0) {
        cmd = svc_cmd_new(svc, H2_SVC_CMD_ATTACH, c->id, 0, NULL);
        if (cmd == NULL)
            rv = H2_ENOMEM;
    }
    h2_svc_conn_id cid = c != NULL ? c->id : 0;
    if (rv == 0) {
        cmd->attach = c;
        /* While the slot is STARTING, posters go elsewhere: the ring is ours. */
        rv = h2_mailbox_post(&w->mb, cmd);
    }
    if (rv == 0) {
        int e = pthread_create(&w->thread, NULL, svc_worker_main, w);
        if (e != 0) {
            void *p = NULL;
            (void)h2_mailbox_drain(&w->mb, &p, 1);
            errno = e;
            rv = H2_EINTERNAL;
        } else {
            atomic_store_explicit(&w->started, true, memory_order_release);
        }
    }
    if (rv != 0) {
        if (cmd != NULL)
            svc_cmd_free(cmd);
        if (c != NULL) {
            c->fd = -1; /* the caller keeps its socket and its transport */
            svc_conn_destroy(c);
        }
        atomic_store_explicit(&s->state, SVC_SLOT_FREE, memory_order_release);
        return rv;
    }
    /* |c| and |cmd| belong to the new thread now. */
    *id = cid;
    atomic_store_explicit(&s->state, SVC_SLOT_LIVE, memory_order_seq_cst);
    return 0;
}

void svc_dedicated_reap(h2_svc *svc)
{
    if (atomic_load_explicit(&svc->reap, memory_order_relaxed) == NULL)
        return;
    svc_worker *w = atomic_exchange_explicit(&svc->reap, NULL, memory_order_acquire);
    while (w != NULL) {
        svc_worker *next = w->reap_next;
        pthread_join(w->thread, NULL); /* it has returned, or is about to */
        atomic_store_explicit(&w->started, false, memory_order_relaxed);
        atomic_store_explicit(&w->slot->state, SVC_SLOT_FREE, memory_order_release);
        w = next;
    }
}

/* True when |w| has a thread that was not joined yet (acquire: pairs with
 * the release that set it after pthread_create()). */
static bool has_thread(const svc_worker *w)
{
    return w != NULL && atomic_load_explicit(&w->started, memory_order_acquire);
}

void svc_dedicated_shutdown(h2_svc *svc)
{
    /* |closing| is set: attaches in progress end soon, and none starts. */
    for (unsigned i = 0; i < svc->n_slots; i++)
        while (atomic_load_explicit(&svc->slots[i].state, memory_order_seq_cst) ==
               SVC_SLOT_STARTING)
            sched_yield();
    for (unsigned i = 0; i < svc->n_slots; i++) {
        svc_worker *w = atomic_load_explicit(&svc->slots[i].worker, memory_order_acquire);
        if (!has_thread(w))
            continue;
        atomic_store_explicit(&w->stop, true, memory_order_seq_cst);
        h2_mailbox_notify(&w->mb);
    }
    for (unsigned i = 0; i < svc->n_slots; i++) {
        svc_worker *w = atomic_load_explicit(&svc->slots[i].worker, memory_order_acquire);
        if (!has_thread(w))
            continue;
        pthread_join(w->thread, NULL);
        atomic_store_explicit(&w->started, false, memory_order_relaxed);
    }
}

void svc_dedicated_free(h2_svc *svc)
{
    for (unsigned i = 0; i < svc->n_slots; i++) {
        svc_worker *w = atomic_load_explicit(&svc->slots[i].worker, memory_order_acquire);
        if (w == NULL)
            continue;
        svc_worker_destroy(w);
        h2_mem_free(&svc->mem, w);
    }
}
